"""A simulated Bluetooth Mesh light: a :class:`~simulator.virtual_proxy.VirtualPeripheral`.

What a real light does over GATT, built on the engine's own codecs and state machines:

* **Unprovisioned** (MshPRT 1.1 §7.1): advertises the Mesh Provisioning Service (0x1827) with
  service data Device UUID (16) || OOB Information (2), serves Mesh Provisioning Data In
  (0x2ADB, write without response) and Data Out (0x2ADC, notify), and runs the device side of
  the provisioning protocol (§5.4, :class:`~custom_components.ble_mesh.mesh.provisioning.Device`)
  over PB-GATT (§5.2.2, :class:`~custom_components.ble_mesh.mesh.provisioning.pb_gatt.PbGattBearer`).
* **Provisioned** (§7.2): advertises the Mesh Proxy Service (0x1828) with its Network ID, or
  with Node Identity for a while after :meth:`SimulatedNode.advertise_node_identity`, and serves
  Mesh Proxy Data In/Out (0x2ADD / 0x2ADE). The GATT table is read once per connection, so the
  switch from the provisioning to the proxy service shows on the next connection (the
  Provisioner drops the provisioning link after Provisioning Complete). Behind it: a proxy
  server (§6.7: Proxy PDU SAR, the proxy filter set by proxy configuration messages, a Secure
  Network beacon per subnet when the client subscribes), the engine's network and transport
  layers (:class:`~custom_components.ble_mesh.mesh.transport.MeshStack` with the node's own
  SEQ, IV Index and replay protection list) and the model servers of
  :mod:`simulator.servers` (Configuration, Health, Generic, Lighting, Scenes). Statuses are
  published to each model's publish address through the proxy connection and, on a
  :class:`~simulator.air.MeshAir`, on the advertising bearer; without either they are lost.
  On the air the node also relays (relay feature) and bridges its GATT client to the other
  nodes (proxy feature, §3.4.6.3), with a message cache against loops. Config
  Node Reset makes the node unprovisioned again (0x1827 advertising, drop the connection).

OOB Information byte order: the service data carries OOB Information **big-endian** (the
specification's byte order for multi-octet fields, what Zephyr sends and the default of
:class:`~custom_components.ble_mesh.mesh.beacons.MeshProvisioningServiceData`). The field is a
UI hint only.

Sans-asyncio: the node never sleeps and owns no event loop. Time comes in with ``write(...,
now)``; the node's timers (provisioning protocol timer, PB-GATT link and SAR timers, the Node
Identity period) are reported by :meth:`SimulatedNode.next_deadline` and run by
:meth:`SimulatedNode.tick`. An owner may instead inject ``schedule(delay, callback)`` (for
example ``loop.call_later``) and ``clock()``: the node then arms its own timers and can delay
its replies (:attr:`NodeFaults.reply_delay`).

Local control: :meth:`SimulatedNode.set_state` is a wall switch (changes a light and publishes
its statuses); :meth:`SimulatedNode.press` is a battery switch's button (its Generic OnOff
Client publishes a Set); :meth:`SimulatedNode.power_cycle` pulls the plug (Generic OnPowerUp
decides what comes back); :meth:`SimulatedNode.raise_fault` / :meth:`SimulatedNode.clear_fault`
change what the Health Server reports. Persistence: :meth:`SimulatedNode.to_dict` / :meth:`SimulatedNode.from_dict`
(JSON-able, keys included).

On a :class:`~simulator.air.MeshAir` an unprovisioned node is also a PB-ADV device (MshPRT
1.1 §5.2.1, §5.3): it answers a Link Open for its UUID and runs the same device role over the
engine's :class:`~custom_components.ble_mesh.mesh.provisioning.pb_adv.PbAdvLink`, and it sends
its Unprovisioned Device beacon (§3.10.2: UUID, OOB Information, URI Hash of ``uri``) when a
scanner in range listens. ``remote_provisioning=True`` gives a node a Remote Provisioning
Server (:mod:`simulator.remote_provisioning`): once provisioned, it scans for such devices
and provisions them through PB-Remote, and runs the NPPI procedures on itself.

Misbehaviour on purpose: :class:`NodeFaults` combines :class:`~simulator.faults.DeviceFaults`
(protocol-level attacks, produced by :class:`~simulator.faults.FaultyDevice` around the engine's
honest device) with link-level faults (drop the link, delay or corrupt replies, stop answering,
lose segments), so tests can prove the Provisioner refuses each one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
import logging
import random
import secrets
from typing import TYPE_CHECKING, Any, Protocol
import uuid

from custom_components.ble_mesh.mesh.access import Message, encode_message
from custom_components.ble_mesh.mesh.beacons import (
    COMPLETE_LOCAL_NAME_AD_TYPE,
    COMPLETE_UUID16_LIST_AD_TYPE,
    MESH_PROVISIONING_SERVICE_UUID16,
    URI_AD_TYPE,
    MeshProvisioningServiceData,
    NetworkIdAdvertisement,
    NodeIdentityAdvertisement,
    OobInformation,
    UnprovisionedDeviceBeacon,
    uri_data,
)
from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.models.config import FeatureState
from custom_components.ble_mesh.mesh.network import IvIndexState, NetworkKeyring
from custom_components.ble_mesh.mesh.node import (
    Bearer,
    MeshNode,
    MessageReceived,
    NodeFeatures,
    NodeState,
    ProxyProtocolError,
    UndecodableMessage,
)
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    Completed,
    Device,
    DeviceResult,
    DeviceState,
    Failed,
    InputAction,
    NppiProcedure,
    OobValue,
    OutputAction,
    PduType,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningFailure,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
    capabilities,
    oob_public_key,
)
from custom_components.ble_mesh.mesh.provisioning.pb_adv import (
    CloseReason,
    Deliver,
    LinkClosed,
    LinkOpened,
    LinkState,
    PbAdvAction,
    PbAdvLink,
    PbAdvRole,
    Transmit,
)
from custom_components.ble_mesh.mesh.provisioning.pb_gatt import PbGattBearer
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROVISIONING_SERVICE_UUID,
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
    MESH_PROXY_SERVICE_UUID,
    ProxySarError,
)
from custom_components.ble_mesh.mesh.qr import format_uuid
from custom_components.ble_mesh.mesh.transport import DeviceKey

from .faults import DeviceFaults, FaultyDevice, ServerFaults
from .profiles import Profile, get_profile, with_remote_provisioning
from .remote_provisioning import (
    REMOTE_PROVISIONING_MESSAGES,
    HeardDevice,
    RemoteProvisioningServer,
)
from .servers import LightState, NodeModels, Outgoing
from .virtual_proxy import Advertisement, VirtualCharacteristic, VirtualService

if TYPE_CHECKING:
    from .air import MeshAir

__all__ = [
    "NodeFaults",
    "NodeLink",
    "NodeStatus",
    "OobCapabilities",
    "ProvisionedState",
    "Scheduler",
    "SimulatedNode",
]

_LOGGER = logging.getLogger(__name__)

type Scheduler = Callable[[float, Callable[[], None]], object]
"""``schedule(delay_seconds, callback)``, e.g. ``loop.call_later``; the result is ignored."""

# P-256 group order; an OOB private key is drawn from [1, n/2] like the engine's key pairs.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_PERSISTENCE_VERSION = 1


class NodeLink(Protocol):
    """The peripheral's end of one connection (``simulator.virtual_proxy.PeripheralLink``)."""

    @property
    def mtu(self) -> int:
        """The ATT_MTU of the connection."""
        ...

    @property
    def is_connected(self) -> bool:
        """Whether the connection is still up."""
        ...

    def notify(self, char_uuid: str, data: bytes) -> bool:
        """Send one notification value (at most ATT_MTU - 3 octets)."""
        ...

    def disconnect(self) -> None:
        """Drop the connection from the device side."""
        ...


class NodeStatus(Enum):
    """Whether the node has been provisioned."""

    UNPROVISIONED = "unprovisioned"
    PROVISIONED = "provisioned"


@dataclass(frozen=True, slots=True)
class OobCapabilities:
    """What the node announces in Provisioning Capabilities (MshPRT 1.1 §5.4.1.2).

    ``static_oob`` is the static OOB value (1..32 octets; 16 works with both algorithms, a
    32-octet value only with HMAC-SHA256). ``public_key_oob`` makes the node use a static key
    pair whose public key is published out of band (:meth:`SimulatedNode.qr_text`).
    """

    algorithms: frozenset[Algorithm] = frozenset(Algorithm)
    public_key_oob: bool = False
    static_oob: bytes | None = field(default=None, repr=False)
    output_actions: frozenset[OutputAction] = frozenset()
    output_size: int = 0
    input_actions: frozenset[InputAction] = frozenset()
    input_size: int = 0
    only_oob_authenticated: bool = False

    def __post_init__(self) -> None:
        if self.static_oob is not None and not 1 <= len(self.static_oob) <= 32:
            raise ValueError("static_oob must be 1..32 octets")
        if self.output_actions and not 1 <= self.output_size <= 8:
            raise ValueError("output_size must be 1..8 with output actions")
        if self.input_actions and not 1 <= self.input_size <= 8:
            raise ValueError("input_size must be 1..8 with input actions")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the static OOB value included: it is a simulated device)."""
        return {
            "algorithms": sorted(int(a) for a in self.algorithms),
            "public_key_oob": self.public_key_oob,
            "static_oob": self.static_oob.hex() if self.static_oob is not None else None,
            "output_actions": sorted(int(a) for a in self.output_actions),
            "output_size": self.output_size,
            "input_actions": sorted(int(a) for a in self.input_actions),
            "input_size": self.input_size,
            "only_oob_authenticated": self.only_oob_authenticated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OobCapabilities:
        """Inverse of :meth:`to_dict`."""
        static = data.get("static_oob")
        return cls(
            algorithms=frozenset(Algorithm(a) for a in data["algorithms"]),
            public_key_oob=bool(data["public_key_oob"]),
            static_oob=bytes.fromhex(static) if static is not None else None,
            output_actions=frozenset(OutputAction(a) for a in data["output_actions"]),
            output_size=int(data["output_size"]),
            input_actions=frozenset(InputAction(a) for a in data["input_actions"]),
            input_size=int(data["input_size"]),
            only_oob_authenticated=bool(data["only_oob_authenticated"]),
        )


@dataclass(slots=True)
class NodeFaults:
    """Deliberate misbehaviour; every switch does exactly what it names. Mutable at any time.

    * ``device``: protocol-level faults (:class:`~simulator.faults.DeviceFaults`: wrong or
      reflected Confirmation, reflected or off-curve public key, Random equal to the
      Provisioner's, Provisioning Failed with a given code at a given step, truncated,
      oversized or out-of-order PDUs, silence at one step, a rogue device that does not check
      the Provisioner's Confirmation).
    * ``drop_link_after_pdu``: on receiving the Nth Provisioning PDU of a connection (1-based:
      1 = Invite, 2 = Start, 3 = Public Key, ...), drop the link instead of answering.
    * ``reply_delay``: send every reply (and a device-side disconnect) this many seconds late.
      Needs an injected ``schedule``; without one, replies stay synchronous.
    * ``corrupt_pdu``: flip bits of the outgoing Provisioning PDU of this type: the octet at
      ``corrupt_offset`` (default the last) is XORed with ``corrupt_mask``.
    * ``stop_answering``: ignore every write and everything heard on the air (the peer's
      timers must fire).
    * ``lose_segments``: 0-based indices, counted per connection, of outgoing notification
      values (Proxy PDUs, i.e. SAR segments) that are silently dropped.
    * ``segment_loss_probability`` / ``segment_loss_seed``: drop each outgoing notification
      with this probability (seeded per connection, reproducible).
    * ``remote_provisioning``: how the node's Remote Provisioning Server misbehaves
      (:class:`~simulator.faults.ServerFaults`).
    """

    device: DeviceFaults = field(default_factory=DeviceFaults)
    drop_link_after_pdu: int | None = None
    reply_delay: float = 0.0
    corrupt_pdu: PduType | None = None
    corrupt_offset: int = -1
    corrupt_mask: int = 0xFF
    stop_answering: bool = False
    lose_segments: frozenset[int] = frozenset()
    segment_loss_probability: float = 0.0
    segment_loss_seed: int = 0
    remote_provisioning: ServerFaults = field(default_factory=ServerFaults)


@dataclass(slots=True)
class ProvisionedState:
    """What provisioning gave the node (MshPRT 1.1 §5.4.2.5); ``repr`` hides the keys."""

    net_key: bytes = field(repr=False)
    net_key_index: int
    iv_index: int
    unicast_address: int
    device_key: bytes = field(repr=False)
    key_refresh: bool = False
    iv_update: bool = False

    @classmethod
    def from_result(cls, result: DeviceResult) -> ProvisionedState:
        """The state after a successful provisioning session."""
        return cls(
            net_key=result.net_key,
            net_key_index=result.key_index,
            iv_index=result.iv_index,
            unicast_address=result.unicast_address,
            device_key=result.device_key,
            key_refresh=result.key_refresh,
            iv_update=result.iv_update,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, keys included."""
        return {
            "net_key": self.net_key.hex(),
            "net_key_index": self.net_key_index,
            "iv_index": self.iv_index,
            "unicast_address": self.unicast_address,
            "device_key": self.device_key.hex(),
            "key_refresh": self.key_refresh,
            "iv_update": self.iv_update,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProvisionedState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            net_key=bytes.fromhex(data["net_key"]),
            net_key_index=int(data["net_key_index"]),
            iv_index=int(data["iv_index"]),
            unicast_address=int(data["unicast_address"]),
            device_key=bytes.fromhex(data["device_key"]),
            key_refresh=bool(data["key_refresh"]),
            iv_update=bool(data["iv_update"]),
        )


class _Mode(Enum):
    """Which GATT service the current connection was given."""

    PROVISIONING = "provisioning"
    PROXY = "proxy"


def _address_from_uuid(device_uuid: bytes) -> str:
    """A static random address (two top bits set) derived from the Device UUID."""
    raw = bytearray(device_uuid[-6:])
    raw[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in raw)


class SimulatedNode:
    """One simulated mesh light; plug it into a ``VirtualProxy`` or drive it directly.

    Constructor arguments:

    * ``profile``: a :class:`~simulator.profiles.Profile` or its key (``"onoff_plug"``,
      ``"dimmable"``, ``"ctl"``, ``"hsl"``, ``"xyl"``, ``"two_element"``, ``"smart_plug"``,
      ``"multi_sensor"``, ``"wall_switch"``).
    * ``device_uuid`` (16 octets, random by default), ``address`` (derived from the UUID by
      default), ``name`` (the profile name by default), ``rssi``.
    * ``oob``: :class:`OobCapabilities` (No OOB, both algorithms by default).
    * ``oob_private_key``: the static key pair's private value when ``oob.public_key_oob``
      (random by default, persisted).
    * ``oob_information``: the OOB Information advertised (by default "2D code" and "on
      device" when a public key or static value is available out of band, else none).
    * ``faults``: :class:`NodeFaults` (none by default; :attr:`faults` may be changed later).
    * ``schedule`` / ``clock``: optional timer plumbing (``loop.call_later`` / ``loop.time``).
    * ``air``: a :class:`~simulator.air.MeshAir` (the advertising bearer to the other
      simulated nodes) to join; without one the node only talks to its GATT proxy client.
      Place it with ``air.join(node, position=...)`` / ``air.join(node, near=[...])``.
    * ``remote_provisioning``: add a Remote Provisioning Server (SIG model 0x0004) to the
      primary element (:mod:`simulator.remote_provisioning`).
    * ``uri``: the URI the unprovisioned device advertises (its hash is in its beacon, the
      URI itself in its scan response).
    * ``on_show_oob(value, action)``: called when the node "shows" an Output OOB value.
    * ``on_input_oob_requested(action, size)``: called when the node waits for Input OOB.
    * ``on_provisioned(node)``: called when provisioning completed.
    * ``on_reset(node)``: called when a Config Node Reset made the node unprovisioned.
    """

    def __init__(
        self,
        profile: Profile | str = "dimmable",
        *,
        device_uuid: bytes | None = None,
        address: str | None = None,
        name: str | None = None,
        rssi: int = -60,
        oob: OobCapabilities | None = None,
        oob_private_key: int | None = None,
        oob_information: OobInformation | int | None = None,
        faults: NodeFaults | None = None,
        schedule: Scheduler | None = None,
        clock: Callable[[], float] | None = None,
        air: MeshAir | None = None,
        remote_provisioning: bool = False,
        uri: str | None = None,
        on_show_oob: Callable[[OobValue, OutputAction], None] | None = None,
        on_input_oob_requested: Callable[[InputAction, int], None] | None = None,
        on_provisioned: Callable[[SimulatedNode], None] | None = None,
        on_reset: Callable[[SimulatedNode], None] | None = None,
    ) -> None:
        self.remote_provisioning = remote_provisioning
        self.profile = self._composition(get_profile(profile))
        self.pending_profile: Profile | None = None
        """The composition after a firmware update, until a Node Composition Refresh adopts
        it (Composition Data page 128, MshPRT 1.1 §4.2.2.3)."""
        self.uri = uri
        self.device_uuid = device_uuid if device_uuid is not None else uuid.uuid4().bytes
        if len(self.device_uuid) != 16:
            raise ValueError("device_uuid must be 16 octets")
        self._address = (address or _address_from_uuid(self.device_uuid)).upper()
        self._name = name if name is not None else self.profile.name
        self._rssi = rssi
        self.oob = oob or OobCapabilities()
        if self.oob.public_key_oob and oob_private_key is None:
            oob_private_key = secrets.randbelow(_P256_ORDER // 2) + 1
        self._oob_private_key = oob_private_key if self.oob.public_key_oob else None
        if oob_information is None:
            hint = OobInformation(0)
            if self.oob.public_key_oob or self.oob.static_oob is not None:
                hint = OobInformation.MACHINE_READABLE_CODE_2D | OobInformation.ON_DEVICE
            oob_information = hint
        self.oob_information = OobInformation(int(oob_information))
        self.faults = faults or NodeFaults()
        self.schedule = schedule
        self.clock = clock
        self.on_show_oob = on_show_oob
        self.on_input_oob_requested = on_input_oob_requested
        self.on_provisioned = on_provisioned
        self.on_reset = on_reset

        self.provisioned: ProvisionedState | None = None
        self.shown_oob_value: OobValue | None = None
        """The Output OOB value the node currently "shows" (blinks, beeps, displays)."""
        self.input_oob_request: tuple[InputAction, int] | None = None
        """(action, size) while the node waits for a person to enter the Input OOB value."""
        self.last_provisioning_failure: ProvisioningFailure | None = None
        self.attention_duration: int = 0

        self._now = 0.0
        self._link: NodeLink | None = None
        self._mode: _Mode | None = None
        self._session: FaultyDevice | None = None
        self._bearer: PbGattBearer | None = None
        self._bearer_open = False
        self._rx_pdus = 0
        self._tx_values = 0
        self.lost_segments: list[int] = []
        """Indices of the notifications :class:`NodeFaults` dropped on the last connection."""
        self._loss_rng = random.Random(0)  # noqa: S311 - fault injection, not security
        self._node_identity: NodeIdentityAdvertisement | None = None
        self._node_identity_until: float | None = None
        self._timer_generation = 0
        self._armed_deadline: float | None = None
        self._timer_handle: object = None
        self._pending: dict[object, object] = {}
        # Provisioned: the node (network to proxy layers) and its model servers.
        self._mesh: MeshNode | None = None
        self._models: NodeModels | None = None
        self._proxy_ready = False  # the client subscribed to Proxy Data Out
        self._gatt_backlog: list[bytes] = []  # values for the client before it subscribed
        self._reset_pending = False
        # PB-ADV (device role) and the Remote Provisioning Server.
        self._adv_link: PbAdvLink | None = None
        self._rp_server: RemoteProvisioningServer | None = None
        self.provisioning_log: list[tuple[str, PduType]] = []
        """("in" | "out", PDU type) of every Provisioning PDU of the last session (any bearer)."""
        # The advertising bearer (simulator.air): runtime wiring, never persisted.
        self._air: MeshAir | None = None
        if air is not None:
            air.join(self)

    def __repr__(self) -> str:
        return (
            f"SimulatedNode(address={self._address}, profile={self.profile.key}, "
            f"state={self.state.value})"
        )

    # --- identity ---------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The Bluetooth address HA sees."""
        return self._address

    @property
    def name(self) -> str | None:
        """The name from the scan response."""
        return self._name

    @property
    def rssi(self) -> int:
        """Signal strength of each advertisement."""
        return self._rssi

    @rssi.setter
    def rssi(self, value: int) -> None:
        self._rssi = value

    @property
    def state(self) -> NodeStatus:
        """Unprovisioned or provisioned."""
        return NodeStatus.PROVISIONED if self.provisioned is not None else NodeStatus.UNPROVISIONED

    @property
    def is_provisioned(self) -> bool:
        """Whether the node holds a network key and an address."""
        return self.provisioned is not None

    @property
    def unicast_address(self) -> int | None:
        """The primary element's address once provisioned."""
        return self.provisioned.unicast_address if self.provisioned is not None else None

    @property
    def capabilities(self) -> ProvisioningCapabilities:
        """The Provisioning Capabilities PDU the node sends."""
        oob = self.oob
        return capabilities(
            self.profile.number_of_elements,
            algorithms=oob.algorithms,
            public_key_oob=oob.public_key_oob,
            static_oob=oob.static_oob is not None,
            only_oob_authenticated=oob.only_oob_authenticated,
            output_actions=oob.output_actions,
            output_oob_size=oob.output_size,
            input_actions=oob.input_actions,
            input_oob_size=oob.input_size,
        )

    @property
    def oob_public_key(self) -> bytes | None:
        """The static public key (64 octets X || Y) published out of band, if any."""
        if self._oob_private_key is None:
            return None
        return oob_public_key(self._oob_private_key)

    def qr_text(self) -> str:
        """What the node's QR label says, in the ``key:value;...`` form ``mesh.qr`` parses.

        ``UUID:<canonical uuid>`` always, ``PUBKEY:<hex>`` with an OOB public key and
        ``OOB:<hex>`` with a static OOB value (zero padded to 16 or 32 octets, exactly what
        the AuthValue pads it to, because the parser wants the full length).
        """
        parts = [f"UUID:{format_uuid(self.device_uuid)}"]
        public_key = self.oob_public_key
        if public_key is not None:
            parts.append(f"PUBKEY:{public_key.hex()}")
        static = self.oob.static_oob
        if static is not None:
            padded = static.ljust(16 if len(static) <= 16 else 32, b"\x00")
            parts.append(f"OOB:{padded.hex()}")
        return ";".join(parts)

    @property
    def provisioning_state(self) -> DeviceState | None:
        """The state of the provisioning session on the current connection, if any."""
        return self._session.state if self._session is not None else None

    @property
    def connected_link(self) -> NodeLink | None:
        """The current connection, if any."""
        return self._link

    # --- advertising and GATT ---------------------------------------------------------

    def advertisement(self) -> Advertisement | None:
        """Mesh Provisioning service data when unprovisioned, Mesh Proxy service data after."""
        state = self.provisioned
        if state is None:
            data = MeshProvisioningServiceData(self.device_uuid, self.oob_information)
            return Advertisement(
                service_uuids=(MESH_PROVISIONING_SERVICE_UUID,),
                service_data={MESH_PROVISIONING_SERVICE_UUID: data.to_bytes()},
            )
        identity = self._node_identity
        payload = (
            identity.to_bytes()
            if identity is not None
            else NetworkIdAdvertisement.create(self._network_key()).to_bytes()
        )
        return Advertisement(
            service_uuids=(MESH_PROXY_SERVICE_UUID,),
            service_data={MESH_PROXY_SERVICE_UUID: payload},
        )

    def gatt_services(self) -> Sequence[VirtualService]:
        """The Mesh Provisioning service when unprovisioned, the Mesh Proxy service after."""
        if self.provisioned is None:
            uuids = (
                MESH_PROVISIONING_SERVICE_UUID,
                MESH_PROVISIONING_DATA_IN_UUID,
                MESH_PROVISIONING_DATA_OUT_UUID,
            )
        else:
            uuids = (MESH_PROXY_SERVICE_UUID, MESH_PROXY_DATA_IN_UUID, MESH_PROXY_DATA_OUT_UUID)
        service, data_in, data_out = uuids
        return [
            VirtualService(
                service,
                [
                    VirtualCharacteristic(data_in, ["write-without-response"]),
                    VirtualCharacteristic(data_out, ["notify"]),
                ],
            )
        ]

    def advertise_node_identity(self, seconds: float = 60.0, now: float | None = None) -> None:
        """Advertise Node Identity (§7.2.2.2.3) instead of the Network ID for ``seconds``."""
        state = self.provisioned
        if state is None:
            raise MeshError("only a provisioned node advertises Node Identity")
        now = self._time(now)
        self._node_identity = NodeIdentityAdvertisement.create(state.net_key, state.unicast_address)
        self._node_identity_until = now + seconds
        self._rearm(now)

    @property
    def advertising_node_identity(self) -> bool:
        """Whether the advertisement currently carries Node Identity."""
        return self._node_identity is not None

    # --- connection events (VirtualPeripheral) -----------------------------------------

    def connected(self, link: NodeLink) -> None:
        """A central connected: start a fresh PB-GATT session or proxy connection."""
        self._link = link
        self._rx_pdus = 0
        self._tx_values = 0
        self.lost_segments = []
        self._loss_rng = random.Random(  # noqa: S311 - reproducible fault injection
            self.faults.segment_loss_seed
        )
        if self.provisioned is None:
            self._mode = _Mode.PROVISIONING
            self._bearer = PbGattBearer(link.mtu)
            self._bearer_open = False
            self._session = self._new_session()
            self.shown_oob_value = None
            self.input_oob_request = None
        else:
            self._mode = _Mode.PROXY
            self._proxy_ready = False
            self._gatt_backlog = []
            if self._mesh is not None:
                # §6.7: a new connection, an empty accept list; beacons for the client.
                self._mesh.connection_made(link.mtu, now=self._now)
        _LOGGER.debug("%s: connected (%s, MTU %d)", self._address, self._mode.value, link.mtu)

    def subscription_changed(self, char_uuid: str, enabled: bool) -> None:
        """Notifications on Data Out enabled: the PB-GATT link is open (§5.2.2), or the
        proxy client is ready for the Secure Network beacons (§6.7)."""
        uuid_ = char_uuid.lower()
        if enabled and uuid_ == MESH_PROXY_DATA_OUT_UUID and self._mode is _Mode.PROXY:
            self._proxy_ready = True
            backlog, self._gatt_backlog = self._gatt_backlog, []
            for value in backlog:
                self._send_value(MESH_PROXY_DATA_OUT_UUID, value)
            self._flush(self._now)
            return
        if (
            enabled
            and uuid_ == MESH_PROVISIONING_DATA_OUT_UUID
            and self._mode is _Mode.PROVISIONING
            and self._bearer is not None
            and not self._bearer_open
            and self.clock is not None
        ):
            now = self._time(None)
            self._bearer.open(now)
            self._bearer_open = True
            self._rearm(now)

    def write(self, char_uuid: str, data: bytes, now: float) -> None:
        """The central wrote ``data`` to Data In."""
        self._now = now
        if self.faults.stop_answering or self._link is None:
            return
        uuid_ = char_uuid.lower()
        if self._mode is _Mode.PROVISIONING and uuid_ == MESH_PROVISIONING_DATA_IN_UUID:
            self._provisioning_write(bytes(data), now)
        elif self._mode is _Mode.PROXY and uuid_ == MESH_PROXY_DATA_IN_UUID:
            self._proxy_write(bytes(data), now)
        else:
            _LOGGER.debug("%s: write to %s ignored", self._address, uuid_)
        self._rearm(now)

    def disconnected(self) -> None:
        """The connection ended: an unfinished provisioning session fails."""
        session = self._session
        if session is not None and not session.finished:
            session.link_closed(self._now)
            self.last_provisioning_failure = session.failure
        if self._bearer is not None:
            self._bearer.close()
        self._link = None
        self._mode = None
        self._session = None
        self._bearer = None
        self._bearer_open = False
        if self._mesh is not None:
            self._mesh.connection_lost()
        self._proxy_ready = False
        self._gatt_backlog = []
        self.input_oob_request = None
        _LOGGER.debug("%s: disconnected", self._address)
        self._rearm(self._now)

    # --- people -----------------------------------------------------------------------

    def enter_input_oob(self, value: OobValue, now: float | None = None) -> None:
        """A person typed/pushed ``value`` into the device (Input OOB); sends Input Complete.

        Raises the engine's ``InvalidOobValueError`` for a malformed value and
        ``InvalidStateError`` when no value was requested.
        """
        session = self._session
        if session is None:
            raise MeshError("no provisioning session is running")
        now = self._time(now)
        actions = session.provide_oob(value, now)
        self.input_oob_request = None
        self._perform(actions, now)
        self._rearm(now)

    # --- timers -----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must be called next, or ``None``."""
        deadlines: list[float] = []
        if self._session is not None and (d := self._session.next_deadline()) is not None:
            deadlines.append(d)
        if self._bearer is not None and (d := self._bearer.next_deadline()) is not None:
            deadlines.append(d)
        if self._node_identity_until is not None:
            deadlines.append(self._node_identity_until)
        if self._mesh is not None and (d := self._mesh.get_timer()) is not None:
            deadlines.append(d)
        if self._models is not None and (d := self._models.next_deadline()) is not None:
            deadlines.append(d)
        if self._adv_link is not None and (d := self._adv_link.next_deadline()) is not None:
            deadlines.append(d)
        if self._rp_server is not None and (d := self._rp_server.next_deadline()) is not None:
            deadlines.append(d)
        return min(deadlines) if deadlines else None

    def tick(self, now: float) -> None:
        """Run every timer that has expired at ``now``."""
        self._now = max(self._now, now)
        if self._node_identity_until is not None and now >= self._node_identity_until:
            self._node_identity = None
            self._node_identity_until = None
            if self._models is not None:
                # §4.2.12: Node Identity returns to "stopped" when its period ends.
                self._models.node_identity = FeatureState.DISABLED
        bearer = self._bearer
        if bearer is not None and (expiry := bearer.timeout(now)) is not None:
            _LOGGER.info("%s: PB-GATT %s, disconnecting", self._address, expiry.value)
            self._disconnect()
        session = self._session
        if session is not None and not session.finished:
            self._perform(session.timeout(now), now)
        if self._mesh is not None:
            self._mesh.handle_timer(now)
            self._flush(now)
        if self._models is not None:
            self._send_outgoing(self._models.tick(now), now)
        adv = self._adv_link
        if adv is not None and (d := adv.next_deadline()) is not None and now >= d:
            self._adv_actions(adv.timeout(now), now)
        server = self._rp_server
        if server is not None and (d := server.next_deadline()) is not None and now >= d:
            server.faults = self.faults.remote_provisioning
            server.timeout(now)
        self._rearm(now)

    # --- provisioning -----------------------------------------------------------------

    def _new_session(self) -> FaultyDevice:
        """The engine's device role, behind the protocol-level faults (none by default)."""
        return FaultyDevice(
            self.capabilities,
            static_oob=self.oob.static_oob,
            oob_private_key=self._oob_private_key,
            faults=self.faults.device,
        )

    def _provisioning_write(self, data: bytes, now: float) -> None:
        bearer, session = self._bearer, self._session
        if bearer is None or session is None or bearer.is_closed:
            return
        if not self._bearer_open:
            bearer.open(now)
            self._bearer_open = True
        try:
            pdu = bearer.receive(data, now)
        except ProxySarError as err:
            _LOGGER.info("%s: PB-GATT protocol error (%s), disconnecting", self._address, err)
            self._disconnect()
            return
        if pdu is None:
            return
        self._rx_pdus += 1
        drop_after = self.faults.drop_link_after_pdu
        if drop_after is not None and self._rx_pdus >= drop_after:
            _LOGGER.info("%s: fault: dropping the link at PDU %d", self._address, self._rx_pdus)
            self._disconnect()
            return
        if session.finished:
            return
        session.faults = self.faults.device
        self._log("in", pdu)
        actions = session.receive(pdu, now)
        self.attention_duration = session.attention_duration or 0
        self._perform(actions, now)

    def _perform(self, actions: list[Any], now: float) -> None:
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                self._send_provisioning_pdu(action.data)
            elif isinstance(action, ShowValue):
                assert isinstance(action.action, OutputAction)
                self.shown_oob_value = action.value
                # The value is what the light blinks or displays to a person, not a key.
                _LOGGER.info(
                    "%s shows Output OOB value %s (%s)",
                    self._address,
                    action.value,
                    action.action.name.lower(),
                )
                if self.on_show_oob is not None:
                    self.on_show_oob(action.value, action.action)
            elif isinstance(action, RequestInput):
                assert isinstance(action.action, InputAction)
                self.input_oob_request = (action.action, action.size)
                _LOGGER.info(
                    "%s waits for Input OOB (%s, %d)",
                    self._address,
                    action.action.name.lower(),
                    action.size,
                )
                if self.on_input_oob_requested is not None:
                    self.on_input_oob_requested(action.action, action.size)
            elif isinstance(action, Completed):
                assert isinstance(action.result, DeviceResult)
                self._on_provisioned(action.result)
            elif isinstance(action, Failed):
                self.last_provisioning_failure = action.reason
                _LOGGER.info("%s: provisioning failed: %s", self._address, action.reason)
                adv = self._adv_link
                if action.close_link and adv is not None and adv.state is LinkState.OPEN:
                    reason = CloseReason.TIMEOUT if action.reason.is_timeout else CloseReason.FAIL
                    self._adv_actions(adv.close(reason, now), now)
                elif action.close_link:
                    self._emit(partial(self._disconnect, self._link))

    def _on_provisioned(self, result: DeviceResult) -> None:
        self.provisioned = ProvisionedState.from_result(result)
        self._build_network(None)
        self.shown_oob_value = None
        self.input_oob_request = None
        self.last_provisioning_failure = None
        _LOGGER.info(
            "%s: provisioned as 0x%04x (%d elements)",
            self._address,
            result.unicast_address,
            result.number_of_elements,
        )
        if self.on_provisioned is not None:
            self.on_provisioned(self)

    def _send_provisioning_pdu(self, pdu: bytes) -> None:
        bearer, adv = self._bearer, self._adv_link
        on_adv = adv is not None and adv.state is LinkState.OPEN
        if (bearer is None or bearer.is_closed) and not on_adv:
            return
        faults = self.faults
        if faults.corrupt_pdu is not None and pdu and pdu[0] == faults.corrupt_pdu:
            corrupted = bytearray(pdu)
            corrupted[faults.corrupt_offset] ^= faults.corrupt_mask
            pdu = bytes(corrupted)
        self._log("out", pdu)
        if bearer is not None and not bearer.is_closed:
            for value in bearer.send(pdu):
                self._send_value(MESH_PROVISIONING_DATA_OUT_UUID, value)
        elif adv is not None:
            self._adv_actions(adv.send(pdu, self._now), self._now)

    def _log(self, direction: str, pdu: bytes) -> None:
        if pdu and pdu[0] in PduType._value2member_map_:
            self.provisioning_log.append((direction, PduType(pdu[0])))
            _LOGGER.debug(
                "%s: provisioning PDU %s %s", self._address, direction, PduType(pdu[0]).name
            )

    # --- PB-ADV, device role (MshPRT 1.1 §5.2.1, §5.3) -----------------------------------

    def unprovisioned_beacon(self) -> bytes | None:
        """The Unprovisioned Device beacon (§3.10.2) while unprovisioned (for ``MeshAir``)."""
        if self.provisioned is not None or self.faults.stop_answering:
            return None
        beacon = UnprovisionedDeviceBeacon.create(self.device_uuid, self.oob_information, self.uri)
        return beacon.to_bytes()

    def heard_as(self, rssi: int | None = None) -> HeardDevice:
        """What a scanner learns of this device: beacon fields and scan response."""
        structures = {
            COMPLETE_UUID16_LIST_AD_TYPE: MESH_PROVISIONING_SERVICE_UUID16.to_bytes(2, "little"),
            COMPLETE_LOCAL_NAME_AD_TYPE: (self._name or "").encode(),
        }
        if self.uri is not None:
            structures[URI_AD_TYPE] = uri_data(self.uri)
        return HeardDevice(
            self.device_uuid,
            int(self.oob_information),
            self._rssi if rssi is None else rssi,
            self.uri,
            structures,
        )

    def pb_adv_receive(self, data: bytes, now: float | None = None) -> None:
        """A PB-ADV advertisement heard on the air (for ``MeshAir``)."""
        now = self._time(now)
        if self.faults.stop_answering:
            return
        adv = self._adv_link
        if adv is not None and adv.state is LinkState.OPEN:
            self._adv_actions(adv.receive(data, now), now)
        elif self._rp_server is not None:
            self._rp_server.faults = self.faults.remote_provisioning
            self._rp_server.pb_adv_receive(data, now)
        elif self.provisioned is None:
            # Idle: only a Link Open for our UUID starts a link (§5.3.2).
            fresh = PbAdvLink(PbAdvRole.DEVICE, self.device_uuid)
            actions = fresh.receive(data, now)
            if fresh.state is LinkState.OPEN:
                self._adv_link = fresh
                self._adv_actions(actions, now)
        self._rearm(now)

    def _adv_actions(self, actions: list[PbAdvAction], now: float) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                if self._air is not None:
                    for payload in action.payloads:
                        self._air.transmit(self, payload, now, pb_adv=True)
            elif isinstance(action, LinkOpened):
                self._session = self._new_session()
                self.provisioning_log = []
                self.shown_oob_value = None
                self.input_oob_request = None
                _LOGGER.debug("%s: PB-ADV link 0x%08x open", self._address, action.link_id)
            elif isinstance(action, Deliver):
                session = self._session
                if session is None or session.finished:
                    continue
                session.faults = self.faults.device
                self._log("in", action.pdu)
                self._perform(session.receive(action.pdu, now), now)
            elif isinstance(action, LinkClosed):
                session = self._session
                if session is not None and not session.finished:
                    session.link_closed(now)
                    self.last_provisioning_failure = session.failure
                self._adv_link = None
                if self._link is None:
                    self._session = None
                self.input_oob_request = None

    # --- the Remote Provisioning Server's host (simulator.remote_provisioning) ----------

    def _composition(self, profile: Profile) -> Profile:
        return with_remote_provisioning(profile) if self.remote_provisioning else profile

    @property
    def remote_provisioning_server(self) -> RemoteProvisioningServer | None:
        """The Remote Provisioning Server, once provisioned with ``remote_provisioning``."""
        return self._rp_server

    def update_firmware(self, profile: Profile | str) -> None:
        """A firmware update changed what the node is: ``profile`` is its Composition Data
        page 128 until a Node Composition Refresh (NPPI) makes it page 0."""
        self.pending_profile = self._composition(get_profile(profile))

    def rp_send(self, dst: int, message: Message, now: float) -> None:
        """Send a Remote Provisioning Server message to ``dst`` with our device key."""
        models = self._models
        if models is None:
            return
        self._send_outgoing(
            [Outgoing(models.primary_address, dst, encode_message(message), None)], now
        )

    def rp_transmit(self, payloads: tuple[bytes, ...], now: float) -> None:
        """PB-ADV payloads of the server's link, on the air in order."""
        air = self._air
        if air is not None:
            for payload in payloads:
                air.transmit(self, payload, now, pb_adv=True)

    def rp_solicit(self, now: float) -> None:
        """The server scans: the devices in range beacon."""
        if self._air is not None:
            self._air.solicit(self, now)

    def rp_find(self, uuid: bytes | None) -> HeardDevice | None:
        """The unprovisioned device ``uuid`` in radio range (None: this node itself)."""
        if uuid is None:
            return self.heard_as()
        air = self._air
        if air is None:
            return None
        for other in air.neighbours(self):
            if (
                isinstance(other, SimulatedNode)
                and other.device_uuid == uuid
                and other.unprovisioned_beacon() is not None
            ):
                return other.heard_as()
        return None

    def nppi_device(self, procedure: NppiProcedure) -> Device | None:
        """Our device role for an NPPI procedure (MshPRT 1.1 §4.4.5.4), or None."""
        state, mesh = self.provisioned, self._mesh
        if state is None or mesh is None:
            return None
        if procedure is NppiProcedure.NODE_COMPOSITION_REFRESH and self.pending_profile is None:
            return None  # page 128 equals page 0: nothing to refresh
        self.provisioning_log = []
        current = DeviceResult(
            net_key=self._network_key(),
            key_index=state.net_key_index,
            key_refresh=False,
            iv_update=False,
            iv_index=mesh.iv_index,
            unicast_address=state.unicast_address,
            device_key=state.device_key,
            number_of_elements=self.profile.number_of_elements,
            algorithm=Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM,
            auth_method=AuthMethod.NO_OOB,
        )
        return Device(
            self.capabilities,
            static_oob=self.oob.static_oob,
            oob_private_key=self._oob_private_key,
            refresh=procedure,
            node=current,
        )

    def nppi_adopt(self, procedure: NppiProcedure, result: DeviceResult, now: float) -> None:
        """The NPPI procedure succeeded: take the new device key (and address, composition)."""
        state, mesh = self.provisioned, self._mesh
        if state is None or mesh is None:
            return
        state.device_key = result.device_key
        _LOGGER.info("%s: %s done", self._address, procedure.name)
        if procedure is NppiProcedure.DEVICE_KEY_REFRESH:
            mesh.set_device_key(
                state.unicast_address, self.profile.number_of_elements, state.device_key
            )
            return
        if procedure is NppiProcedure.NODE_ADDRESS_REFRESH:
            state.unicast_address = result.unicast_address
        elif self.pending_profile is not None:
            self.profile, self.pending_profile = self.pending_profile, None
        saved = self._network_dict()
        self._build_network(saved)
        if self._link is not None and self._mode is _Mode.PROXY and self._mesh is not None:
            self._mesh.connection_made(self._link.mtu, now=now)

    def nppi_action(self, action: ProvisioningAction, now: float) -> None:
        """What the node's NPPI device role shows a person."""
        self._perform([action], now)

    # --- provisioned: the node's MeshNode and its model servers (MshPRT 1.1 §3, §6.7) ----

    def _build_network(self, saved: Mapping[str, Any] | None) -> None:
        state = self.provisioned
        assert state is not None
        if saved is None:
            keys = NetworkKeyring()
            keys.add(state.net_key_index, state.net_key)
            iv = IvIndexState(iv_index=state.iv_index, update_in_progress=state.iv_update)
            node_state = NodeState(iv, {"iv_index": iv.tx_iv_index, "seq": 0}, {})
        else:
            keys = NetworkKeyring.from_dict(saved["net_keys"])
            node_state = NodeState(
                IvIndexState.from_dict(saved["iv"]), dict(saved["seq"]), dict(saved["rpl"])
            )
        count = self.profile.number_of_elements
        models = NodeModels(
            self.profile,
            state.unicast_address,
            keys,
            deferred_transitions=self.schedule is not None,
            on_reset=self._request_reset,
            on_node_identity=self._node_identity_requested,
        )
        if saved is not None:
            models.load(saved["models"])
        self._models = models
        if self.remote_provisioning and self._rp_server is None:
            self._rp_server = RemoteProvisioningServer(self, faults=self.faults.remote_provisioning)
        self._mesh = MeshNode(
            address=state.unicast_address,
            element_count=count,
            net_keys=keys,
            app_keys=models.app_keys,
            device_keys=[DeviceKey(state.device_key, state.unicast_address, count)],
            state=node_state,
            subscriptions=models.group_addresses(),
            label_uuids=models.label_uuids.values(),
            features=self._features(),
            default_ttl=models.default_ttl,
            persist_state=False,  # a simulated device: its state is saved as a whole
        )

    def _features(self) -> NodeFeatures:
        models = self._models
        return NodeFeatures(
            proxy_server=models is not None and models.gatt_proxy is FeatureState.ENABLED,
            relay=models is not None and models.relay is FeatureState.ENABLED,
            advertising=self._air is not None,
        )

    def _sync_node(self) -> None:
        """Hand the Configuration Server's changes to the node."""
        mesh, models = self._mesh, self._models
        if mesh is None or models is None:
            return
        mesh.use_app_keyring(models.app_keys)
        mesh.set_subscriptions(models.group_addresses())
        mesh.set_label_uuids(models.label_uuids.values())
        mesh.default_ttl = models.default_ttl
        mesh.features = self._features()

    def _network_key(self) -> bytes:
        """The NetKey the node advertises with (the new one from Key Refresh phase 2)."""
        state = self.provisioned
        assert state is not None
        mesh = self._mesh
        if mesh is None:
            return state.net_key
        entries = list(mesh.net_keys)
        for entry in entries:
            if entry.index == state.net_key_index:
                return entry.tx_key
        return entries[0].tx_key if entries else state.net_key

    @property
    def iv_state(self) -> tuple[int, bool] | None:
        """(IV Index, IV Update in progress) once provisioned (MshPRT 1.1 §3.11.5)."""
        mesh = self._mesh
        return (mesh.iv_index, mesh.iv_update_in_progress) if mesh is not None else None

    @property
    def proxy_filter(self) -> frozenset[int]:
        """The proxy filter addresses the connected proxy client configured (§6.7)."""
        served = self._mesh.served_filter if self._mesh is not None else None
        return served[1] if served is not None else frozenset()

    def _proxy_write(self, data: bytes, now: float) -> None:
        """Proxy Data In: one Proxy PDU (a message, or one segment of one) from the client."""
        mesh = self._mesh
        if mesh is None:
            return
        self._rx_pdus += 1
        drop_after = self.faults.drop_link_after_pdu
        if drop_after is not None and self._rx_pdus >= drop_after:
            _LOGGER.info(
                "%s: fault: dropping the link at Proxy PDU %d", self._address, self._rx_pdus
            )
            self._disconnect()
            return
        mesh.receive(data, now)
        self._flush(now)

    # --- the advertising bearer (simulator.air) ----------------------------------------

    @property
    def air(self) -> MeshAir | None:
        """The :class:`~simulator.air.MeshAir` the node is on, if any."""
        return self._air

    def air_attached(self, air: MeshAir | None) -> None:
        """Called by :meth:`MeshAir.join` / :meth:`MeshAir.leave` (use those)."""
        old = self._air
        if old is not None and old is not air and air is not None:
            old.leave(self)
        self._air = air
        if self._mesh is not None:
            self._mesh.features = self._features()

    def air_receive(self, data: bytes, now: float | None = None, *, beacon: bool = False) -> None:
        """A Network PDU (or a beacon) heard on the advertising bearer (MshPRT 1.1 §3.4.6.3).

        The node's MeshNode decides: it drops what it cannot decrypt (another network), its
        own PDUs relayed back and what its message cache has seen; delivers what is for us;
        relays (relay feature, TTL >= 2, decremented) and forwards to the GATT proxy client
        (proxy feature, TTL >= 2, decremented, the client's filter permitting).
        """
        now = self._time(now)
        mesh = self._mesh
        if mesh is None or self.faults.stop_answering:
            return
        server = self._rp_server
        if beacon and server is not None and data[:1] == b"\x00":
            server.beacon_heard(data, now)  # an Unprovisioned Device beacon: for the scan
            self._rearm(now)
            return
        mesh.receive(data, now, bearer=Bearer.ADV_BEACON if beacon else Bearer.ADV_NETWORK)
        self._flush(now)
        self._rearm(now)

    def _flush(self, now: float) -> None:
        """Act on what the node reported and transmit what it has to send."""
        mesh = self._mesh
        while mesh is not None:
            events = mesh.events()
            for event in events:
                if isinstance(event, MessageReceived):
                    self._on_access(event, now)
                elif isinstance(event, ProxyProtocolError):
                    _LOGGER.info("%s: %s, disconnecting", self._address, event.reason)
                    self._disconnect()
                elif isinstance(event, UndecodableMessage):
                    _LOGGER.debug("%s: access message not understood: %s", self._address, event)
            for transmission in mesh.data_to_send():
                if transmission.bearer is Bearer.GATT:
                    if self._proxy_ready:
                        self._send_value(MESH_PROXY_DATA_OUT_UUID, transmission.data)
                    else:
                        self._gatt_backlog.append(transmission.data)
                else:
                    self._air_out(
                        transmission.data, now, beacon=transmission.bearer is Bearer.ADV_BEACON
                    )
            if self._reset_pending:
                self._factory_reset()
                return
            if not events:
                return
            mesh = self._mesh  # handling the events may have produced more

    def _air_out(self, data: bytes, now: float, *, beacon: bool) -> None:
        """One of our Network PDUs (or beacons) on the air (subject to the reply delay)."""
        air = self._air
        if air is None:
            return
        self._emit(partial(air.transmit, self, data, now, beacon=beacon))

    def _on_access(self, message: MessageReceived, now: float) -> None:
        models = self._models
        if models is None:
            return
        decoded = message.message
        server = self._rp_server
        if isinstance(decoded, REMOTE_PROVISIONING_MESSAGES):
            # §4.4.5: device key secured, to the primary element.
            if (
                server is not None
                and message.app_key_index is None
                and message.dst == models.primary_address
            ):
                server.faults = self.faults.remote_provisioning
                server.handle(message.src, decoded, now)
            return
        tid = getattr(decoded, "tid", None)
        outs = models.handle(
            decoded,
            src=message.src,
            dst=message.dst,
            app_key_index=message.app_key_index,
            now=now,
            tid=tid if isinstance(tid, int) else None,
        )
        self._sync_node()
        self._send_outgoing(outs, now)

    def _send_outgoing(self, outs: Sequence[Outgoing], now: float) -> None:
        mesh = self._mesh
        if mesh is None:
            return
        for out in outs:
            try:
                mesh.send(
                    out.dst,
                    out.payload,
                    now=now,
                    app_key_index=out.app_key_index,
                    src=out.src,
                    ttl=out.ttl,
                    label_uuid=out.label_uuid,
                )
            except MeshError as err:
                _LOGGER.info("%s: cannot send to 0x%04x: %s", self._address, out.dst, err)
        self._flush(now)

    def _request_reset(self) -> None:
        self._reset_pending = True

    def _node_identity_requested(self, seconds: int) -> None:
        if seconds:
            self.advertise_node_identity(float(seconds))
        else:
            self._node_identity = None
            self._node_identity_until = None

    def _factory_reset(self) -> None:
        """Config Node Reset (MshPRT 1.1 §4.4.1.2.6): forget the network, advertise 0x1827."""
        self._reset_pending = False
        self.provisioned = None
        self._mesh = None
        self._models = None
        if self._rp_server is not None:
            self._rp_server.reset()
        self._rp_server = None
        self._node_identity = None
        self._node_identity_until = None
        _LOGGER.info("%s: node reset, unprovisioned again", self._address)
        self._emit(partial(self._disconnect, self._link))
        if self.on_reset is not None:
            self.on_reset(self)

    # --- local control and inspection -------------------------------------------------

    @property
    def models(self) -> NodeModels | None:
        """The model servers (configuration and light states) once provisioned."""
        return self._models

    @property
    def lights(self) -> list[LightState]:
        """The light states (one per light; a two-element fixture has two)."""
        return self._models.lights if self._models is not None else []

    def set_state(
        self,
        light: int = 0,
        *,
        transition: float | None = None,
        now: float | None = None,
        **states: int | bool,
    ) -> None:
        """Change a light locally (a wall switch) and publish the statuses.

        ``states``: any of ``on``, ``lightness``, ``temperature``, ``delta_uv``, ``hue``,
        ``saturation``, ``x``, ``y``. ``on`` alone restores the last/default lightness.
        """
        models = self._models
        if models is None:
            raise MeshError("the node is not provisioned")
        now = self._time(now)
        outs = models.set_state(
            light, {k: int(v) for k, v in states.items()}, transition=transition, now=now
        )
        self._send_outgoing(outs, now)
        self._rearm(now)

    def _provisioned_models(self) -> NodeModels:
        models = self._models
        if models is None:
            raise MeshError("the node is not provisioned")
        return models

    def press(self, element: int = 0, *, on: bool | None = None, now: float | None = None) -> bool:
        """Press the switch's button (Generic OnOff Client on ``element``): it sends Generic
        OnOff Set Unacknowledged with a new TID to its publish address. ``on`` None toggles
        what the last press sent; True/False is the rocker's upper/lower half.

        Returns whether anything was sent (False: no publication is configured yet).
        """
        models = self._provisioned_models()
        now = self._time(now)
        outs = models.press(element, on)  # UsageError (a MeshError): no OnOff Client there
        self._send_outgoing(outs, now)
        self._rearm(now)
        return bool(outs)

    def raise_fault(self, code: int, now: float | None = None) -> None:
        """A fault appears on the node (Health Fault state, MshPRT 1.1 §4.2): it is current and
        registered; the Health Server publishes Health Current Status if it has a publication."""
        models = self._provisioned_models()
        now = self._time(now)
        self._send_outgoing(models.raise_fault(code), now)

    def clear_fault(self, code: int | None = None, now: float | None = None) -> None:
        """The fault ``code`` (None: every fault) is no longer present; it stays registered
        until a Health Fault Clear. Publishes Health Current Status like :meth:`raise_fault`."""
        models = self._provisioned_models()
        now = self._time(now)
        self._send_outgoing(models.clear_fault(code), now)

    def power_cycle(self, now: float | None = None) -> None:
        """Pull the plug and put it back: the connection (and a PB-ADV link, a Remote
        Provisioning scan or link) drops, a provisioning session fails, Node Identity stops, and once provisioned each light comes back as its Generic
        OnPowerUp says (MshMDL 1.1 §3.1.4) and publishes its state."""
        now = self._time(now)
        self._disconnect()
        adv = self._adv_link
        if adv is not None:
            adv.close(CloseReason.FAIL, now)  # nothing goes on the air: the radio is off
            self._adv_actions([LinkClosed(CloseReason.FAIL, by_peer=False)], now)
        if self._rp_server is not None:
            self._rp_server.reset()  # its scan and link are gone with the power
        self._node_identity = None
        self._node_identity_until = None
        models = self._models
        if models is not None:
            models.node_identity = FeatureState.DISABLED
            self._send_outgoing(models.power_up(now), now)
        self._rearm(now)

    # --- link plumbing ----------------------------------------------------------------

    def _send_value(self, char_uuid: str, value: bytes) -> None:
        """One notification, subject to segment loss and reply delay."""
        index = self._tx_values
        self._tx_values += 1
        faults = self.faults
        if index in faults.lose_segments or (
            faults.segment_loss_probability > 0
            and self._loss_rng.random() < faults.segment_loss_probability
        ):
            _LOGGER.debug("%s: fault: notification %d lost", self._address, index)
            self.lost_segments.append(index)
            return
        link = self._link
        if link is None:
            return

        def deliver() -> None:
            if link.is_connected:
                link.notify(char_uuid, value)

        self._emit(deliver)

    def _emit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` now, or after :attr:`NodeFaults.reply_delay` with a scheduler."""
        delay = self.faults.reply_delay
        if delay <= 0 or self.schedule is None:
            callback()
            return
        token = object()

        def run() -> None:
            self._pending.pop(token, None)
            callback()

        self._pending[token] = self.schedule(delay, run)

    def _disconnect(self, link: NodeLink | None = None) -> None:
        if link is None:
            link = self._link
        elif link is not self._link:
            return  # a delayed disconnect of a connection that is already gone
        if link is not None and link.is_connected:
            link.disconnect()
        if self._link is link and link is not None:
            # The link did not report back (a bare fake): finish the bookkeeping ourselves.
            self.disconnected()

    def _time(self, now: float | None) -> float:
        if now is not None:
            self._now = max(self._now, now)
            return now
        if self.clock is not None:
            self._now = max(self._now, self.clock())
        return self._now

    def _rearm(self, now: float) -> None:
        """With a scheduler, keep exactly one callback armed for the next deadline."""
        if self.schedule is None:
            return
        deadline = self.next_deadline()
        if deadline == self._armed_deadline:
            return
        self._cancel_timer()
        if deadline is None:
            return
        generation = self._timer_generation
        self._armed_deadline = deadline

        def fire() -> None:
            if generation == self._timer_generation:
                self._timer_handle = None
                self._armed_deadline = None
                now = deadline if self.clock is None else max(deadline, self.clock())
                self.tick(now)

        self._timer_handle = self.schedule(max(0.0, deadline - now), fire)

    def _cancel_timer(self) -> None:
        self._timer_generation += 1
        self._armed_deadline = None
        handle, self._timer_handle = self._timer_handle, None
        cancel = getattr(handle, "cancel", None)
        if callable(cancel):
            cancel()

    def cancel_timers(self) -> None:
        """Cancel every scheduled callback (timers and delayed replies).

        Call it when the owner stops (end of a Home Assistant test, demo shutdown): the
        scheduler's handles (``loop.call_later``) would otherwise outlive it.
        """
        self._cancel_timer()
        if self._air is not None:
            self._air.cancel(self)
        pending, self._pending = self._pending, {}
        for handle in pending.values():
            cancel = getattr(handle, "cancel", None)
            if callable(cancel):
                cancel()

    # --- persistence ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The node's full state as JSON-able data (keys included: a simulated device).

        Faults, callbacks, the scheduler and the air are runtime wiring and are not saved.
        """
        return {
            "version": _PERSISTENCE_VERSION,
            "profile": self.profile.key,
            "device_uuid": self.device_uuid.hex(),
            "address": self._address,
            "name": self._name,
            "rssi": self._rssi,
            "oob": self.oob.to_dict(),
            "oob_private_key": (
                f"{self._oob_private_key:064x}" if self._oob_private_key is not None else None
            ),
            "oob_information": int(self.oob_information),
            "remote_provisioning": self.remote_provisioning,
            "uri": self.uri,
            "pending_profile": (
                self.pending_profile.key if self.pending_profile is not None else None
            ),
            "provisioned": self.provisioned.to_dict() if self.provisioned is not None else None,
            "network": self._network_dict(),
        }

    def _network_dict(self) -> dict[str, Any] | None:
        mesh, models = self._mesh, self._models
        if mesh is None or models is None:
            return None
        models.observe(self._time(None))  # the energy meter reads up to now
        state = mesh.snapshot()
        return {
            "net_keys": mesh.net_keys.to_dict(),
            "iv": state.iv.to_dict(),
            "seq": state.sequence,
            "rpl": state.replay_list,
            "models": models.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **runtime: Any) -> SimulatedNode:
        """Rebuild a node from :meth:`to_dict`; ``runtime`` takes the constructor's wiring
        arguments (``faults``, ``schedule``, ``clock``, ``air``, ``on_*`` callbacks)."""
        if data.get("version") != _PERSISTENCE_VERSION:
            raise ValueError(f"unsupported simulated node data version {data.get('version')!r}")
        private = data.get("oob_private_key")
        node = cls(
            data["profile"],
            device_uuid=bytes.fromhex(data["device_uuid"]),
            address=data["address"],
            name=data["name"],
            rssi=int(data["rssi"]),
            oob=OobCapabilities.from_dict(data["oob"]),
            oob_private_key=int(private, 16) if private is not None else None,
            oob_information=int(data["oob_information"]),
            remote_provisioning=bool(data.get("remote_provisioning", False)),
            uri=data.get("uri"),
            **runtime,
        )
        pending = data.get("pending_profile")
        if pending is not None:
            node.update_firmware(pending)
        provisioned = data.get("provisioned")
        if provisioned is not None:
            node.provisioned = ProvisionedState.from_dict(provisioned)
            node._build_network(data.get("network"))
        return node
