"""A Bluetooth Mesh node: the engine's one façade (MshPRT 1.1 §3 "Mesh networking", §6 "Proxy
protocol", §3.10 "Beacons", §3.11.5 "IV Update procedure").

Everything outside the engine (Home Assistant's runtime, the simulator's devices, the packet
CLI) drives a :class:`MeshNode`; nobody else wires the layers behind it together.

Theory of operation
-------------------

The node is sans-IO, in the manner of h11 and aioquic: bytes in, events and bytes out, time
passed in and never read.

* :meth:`MeshNode.receive` takes what a bearer delivered: a Mesh Proxy characteristic value
  (a Proxy PDU, possibly one segment of a message, §6.3) from the GATT bearer, or a Network PDU
  or a beacon from the advertising bearer (§3.3).
* :meth:`MeshNode.send` takes an access message (or its encoded payload) for a destination and
  returns a handle. SEQ allocation, upper transport encryption, segmentation and, with
  ``expect``, matching the response and retransmitting the request happen inside.
* :meth:`MeshNode.events` drains what happened: messages received, responses, time-outs,
  failed transfers, IV Index changes, proxy filter status, and the reservations to store
  (:class:`SequenceReserved`, :class:`ReplayListReserved`).
* :meth:`MeshNode.data_to_send` drains what to transmit, in order, as :class:`Transmission`
  values ready for a bearer (Proxy PDUs sized for the connection's ATT_MTU).
* :meth:`MeshNode.get_timer` is the ONE deadline for everything timed (SAR, request retries,
  the proxy SAR timer, IV Update phases); call :meth:`MeshNode.handle_timer` at that time.
* :meth:`MeshNode.snapshot` is the persistent security state (IV Index and IV Update state,
  the SEQ reservation, the replay protection list); a node built with ``state=`` continues
  from it.
* Tools (the packet CLI, tests) look inside PDUs through the node too, without changing its
  state: :meth:`MeshNode.inspect` opens one Network PDU layer by layer with the node's keys
  (a :class:`PduInspection`), :meth:`MeshNode.encode` builds the PDUs of a message with the
  SEQ numbers given (a retransmission, a sample from the specification).

SEQ numbers are never reused (§3.9.3): they are reserved in blocks, and a reservation is an
explicit :class:`SequenceReserved` event. Every transmission that uses a SEQ of that block stays
held until the caller reports the reservation stored (:meth:`MeshNode.state_persisted`).
Likewise no message is accepted twice, even across a crash (§3.9.8): the stored replay
protection list reaches ``replay_margin`` SEQ numbers ahead of what each source sent (see
:class:`~.network.ReplayProtectionList`); a message beyond it moves the mark, which is an
explicit :class:`ReplayListReserved` event, and that message and every event after it stay
held in :meth:`MeshNode.events` until the caller reports it stored. One token sequence serves
both: a snapshot stored covers every reservation made before it was taken. A node that needs
no persistence (a simulated device) is built with ``persist_state=False``.

Roles. A node acting as a GATT proxy *client* (Home Assistant) sends everything over its one
proxy connection and, when the connection is made, sets the proxy filter to an accept list of
its own address and the groups it was given (§6.7). A node with the proxy *server* feature (a
mesh device) keeps the filter its client configures, answers with Filter Status, sends a Secure
Network beacon per subnet to a new client, and forwards between the GATT and advertising
bearers; with the relay feature it retransmits what it hears on the advertising bearer
(§3.4.6.3).

IV Update (§3.11.5). The node initiates an IV Update itself once its SEQ passes
``iv_update_threshold`` (default :data:`IV_UPDATE_SEQ_THRESHOLD`, see there why) and 96 hours
have passed since the last IV state change; it returns to Normal Operation 96 hours later (or
when the rest of the network does, from a beacon), beaconing each change on its bearers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
import contextlib
from dataclasses import dataclass
from enum import Enum
import itertools
from typing import Any, Self

from .access import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Message,
    RequestCompleted,
    RequestTracker,
    SendRequest,
    TrackedRequestTimedOut,
    TrackerEvent,
    UnknownOpcodeError,
    UnsolicitedMessage,
    decode_message,
    encode_message,
)
from .beacons import (
    MeshBeacon,
    MeshPrivateBeacon,
    NetworkBeaconInfo,
    SecureNetworkBeacon,
    authenticate_network_beacon,
    decode_beacon,
)
from .errors import DecodeError, MeshError, UsageError
from .network import (
    DEFAULT_REPLAY_MARGIN,
    IV_UPDATE_MIN_DURATION,
    IvIndexChange,
    IvIndexState,
    KeyRefreshPhase,
    NetworkKeyring,
    ReceivedNetworkPdu,
    ReplayProtectionList,
    SequenceAllocator,
    is_unicast,
)
from .proxy import (
    ATT_HEADER_SIZE,
    DEFAULT_ATT_MTU,
    ProxyMessageType,
    ProxySarError,
    Reassembler,
    segment,
)
from .proxy_config import (
    MAX_ADDRESSES,
    AddAddresses,
    FilterStatus,
    FilterType,
    ProxyConfigMessage,
    RemoveAddresses,
    SetFilterType,
    decode_proxy_config,
    encrypt_proxy_config,
)
from .transport import (
    SEQ_ZERO_MASK,
    AccessMessage,
    AppKey,
    AppKeyring,
    DeviceKey,
    Heartbeat,
    LowerTransportPdu,
    MeshStack,
    PersistSequence,
    ReplayProtectionUpdated,
    SarConfig,
    SegmentAck,
    SegmentedAccessPdu,
    SegmentedTransferFailed,
    SendPdu,
    StackAction,
    TransferBusyError,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
    decode_lower_transport,
)

__all__ = [
    "IV_UPDATE_SEQ_THRESHOLD",
    "BeaconInspection",
    "Bearer",
    "Event",
    "IvIndexChanged",
    "MeshNode",
    "MessageReceived",
    "NodeFeatures",
    "NodeState",
    "PduInspection",
    "ProxyFilterStatusReceived",
    "ProxyProtocolError",
    "ReplayListReserved",
    "RequestTimedOut",
    "ResponseReceived",
    "SequenceReserved",
    "TransferFailed",
    "Transmission",
    "UndecodableMessage",
]

IV_UPDATE_SEQ_THRESHOLD = 0x800000
"""SEQ at which the node initiates an IV Update (§3.11.5: "when the sequence number is close to
exhaustion"). Half the 24-bit space, as Zephyr does: the update takes 96 to 144 hours, during
which the node keeps transmitting with the old IV Index, so the 8.4 million SEQ numbers left
must last that long. They do up to 16 messages per second without a pause for six days, far
more than a home's lights send; a threshold of 0xC00000 would leave 4.2 million, fewer than
ten messages per second for 144 hours."""


class Bearer(Enum):
    """Where a :class:`Transmission` goes, or where :meth:`MeshNode.receive` data came from."""

    GATT = "gatt"
    """The Mesh Proxy Data In/Out characteristic: one Proxy PDU per value (§6.3)."""
    ADV_NETWORK = "adv_network"
    """A Network PDU on the advertising bearer (Mesh Message AD type, §3.3.1)."""
    ADV_BEACON = "adv_beacon"
    """A mesh beacon on the advertising bearer (Mesh Beacon AD type, §3.10)."""


@dataclass(frozen=True, slots=True)
class NodeFeatures:
    """The node's features (§3.4.6.3, §6.7); Home Assistant's node has none of them."""

    proxy_server: bool = False
    """Serve a GATT proxy client: its filter, beacons on connect, GATT <-> advertising."""
    relay: bool = False
    """Retransmit Network PDUs heard on the advertising bearer (TTL - 1)."""
    advertising: bool = False
    """The node is on the advertising bearer: its own PDUs and beacons go there too."""


@dataclass(frozen=True, slots=True)
class Transmission:
    """Bytes for a bearer, in the order they must leave."""

    bearer: Bearer
    data: bytes


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SequenceReserved:
    """Store this SEQ reservation, then call :meth:`MeshNode.state_persisted` with ``token``.

    Transmissions that use these SEQ numbers are held until then: a crash after a PDU left but
    before its SEQ was stored would otherwise let a restart send that SEQ again (§3.9.3).
    ``seq`` is the reservation limit: every SEQ below it may be used.
    """

    token: int
    iv_index: int
    seq: int


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """An access message addressed to us that answers none of our requests."""

    src: int
    dst: int
    message: Message
    app_key_index: int | None
    """The AppKey that opened it, or None for a device key."""
    net_key_index: int
    ttl: int


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The response to request ``handle`` (from :meth:`MeshNode.send` with ``expect``)."""

    handle: int
    src: int
    message: Message


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """Every attempt of request ``handle`` went unanswered."""

    handle: int
    dst: int
    message: Message


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """A segmented message of ours to a unicast address was not acknowledged (§3.5.3.3)."""

    handle: int
    dst: int
    reason: str


@dataclass(frozen=True, slots=True)
class UndecodableMessage:
    """An access message that opened but did not decode (unknown opcode or malformed)."""

    src: int
    dst: int
    opcode: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class IvIndexChanged:
    """The IV Index or the IV Update state changed (store :meth:`MeshNode.snapshot` now)."""

    iv_index: int
    update_in_progress: bool
    initiated: bool
    """True when this node started or ended the IV Update itself (SEQ threshold, 96 hours)."""


@dataclass(frozen=True, slots=True)
class ReplayListReserved:
    """Store :meth:`MeshNode.snapshot`, then call :meth:`MeshNode.state_persisted` with ``token``.

    A message passed what the stored replay protection list covers for its source. It and every
    event after it are held until then: a crash after it was acted on but before its replay
    protection was stored would let a restart accept it again (§3.9.8).
    """

    token: int


@dataclass(frozen=True, slots=True)
class ProxyFilterStatusReceived:
    """The proxy server reported its filter (§6.6.2.4)."""

    filter_type: FilterType
    list_size: int


@dataclass(frozen=True, slots=True)
class ProxyProtocolError:
    """The GATT peer broke the proxy protocol (§6.5): close the connection."""

    reason: str


type Event = (
    SequenceReserved
    | MessageReceived
    | ResponseReceived
    | RequestTimedOut
    | TransferFailed
    | UndecodableMessage
    | IvIndexChanged
    | ReplayListReserved
    | ProxyFilterStatusReceived
    | ProxyProtocolError
)


# --- inspection -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PduInspection:
    """One Network PDU opened layer by layer (:meth:`MeshNode.inspect`)."""

    network: ReceivedNetworkPdu
    """The network layer (§3.4.4) and the NetKey / IV Index that opened it."""
    proxy_configuration: ProxyConfigMessage | None = None
    """A proxy configuration message (§6.6, proxy nonce): then there is no transport layer."""
    lower: LowerTransportPdu | None = None
    """The Lower Transport PDU (§3.5.2)."""
    control: SegmentAck | Heartbeat | None = None
    """An unsegmented transport control message the engine knows (§3.6.5), decoded."""
    upper_transport_pdu: bytes | None = None
    """The Upper Transport Access PDU (§3.6.2) when this PDU holds all of it: unsegmented, or
    the only segment of a segmented message. None otherwise (other segments are needed)."""
    seq_auth: int | None = None
    """SeqAuth of that Upper Transport PDU (its nonce's SEQ, §3.5.3.1)."""
    szmic: bool = False
    """True for a 64-bit TransMIC."""
    access: AccessMessage | None = None
    """The access payload with the key (and Label UUID) that opened it, if one of ours did."""
    error: str | None = None
    """Why the transport layer did not decode (a malformed Lower Transport PDU or control
    message); the network layer is still given."""


@dataclass(frozen=True, slots=True)
class BeaconInspection:
    """A mesh beacon and which of our NetKeys authenticates it (:meth:`MeshNode.inspect_beacon`)."""

    beacon: MeshBeacon
    net_key_index: int | None
    """The NetKey that authenticates it; None: none of ours does, or not a network beacon."""
    new_key: bool = False
    """True when the new key of a Key Refresh authenticates it."""


# --- persistent state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeState:
    """What a node must keep across restarts (:meth:`MeshNode.snapshot`), JSON-able."""

    iv: IvIndexState
    sequence: dict[str, int]
    """The SEQ reservation: ``{"iv_index": ..., "seq": ...}`` (see :class:`SequenceReserved`)."""
    replay_list: dict[str, list[int]]
    """Per source an (IV Index, SEQ) at or above the last one accepted, as
    :meth:`ReplayProtectionList.to_dict`: a restored node accepts nothing at or below it."""

    def to_json(self) -> dict[str, Any]:
        """Plain data for storage."""
        return {
            "iv": self.iv.to_dict(),
            "sequence": dict(self.sequence),
            "replay_list": {src: list(entry) for src, entry in self.replay_list.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read :meth:`to_json` output back; DecodeError on anything malformed."""
        if not isinstance(data, dict):
            raise DecodeError("NodeState", None, "not an object")
        try:
            iv = IvIndexState.from_dict(data["iv"])
            sequence = data["sequence"]
            replay = data["replay_list"]
        except KeyError as err:
            raise DecodeError("NodeState", str(err.args[0]), "missing") from None
        if not isinstance(replay, dict) or not isinstance(sequence, dict):
            raise DecodeError("NodeState", None, "sequence and replay_list must be objects")
        SequenceAllocator.restore(sequence, iv.tx_iv_index)  # raises DecodeError when malformed
        ReplayProtectionList.from_dict(replay)  # likewise
        return cls(iv, dict(sequence), {str(k): list(v) for k, v in replay.items()})


# --- the node ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Proxy:
    """The GATT proxy connection, when one is up."""

    att_mtu: int
    reassembler: Reassembler
    # Proxy server: the filter the client configured (§6.7; a new connection: empty accept list).
    filter_type: FilterType = FilterType.ACCEPT_LIST
    addresses: set[int] | None = None

    def passes(self, dst: int) -> bool:
        addresses = self.addresses or set()
        if self.filter_type is FilterType.ACCEPT_LIST:
            return dst in addresses
        return dst not in addresses


class MeshNode:
    """One mesh node: network, transport, access and proxy layers behind one object.

    ``address``/``element_count``: our unicast addresses. ``net_keys``, ``app_keys`` and
    ``device_keys`` are the keys we hold (a provisioner holds the device keys of the nodes it
    configures; a device its own). ``subscriptions`` are the group and virtual addresses we
    accept (None: all of them, what a controller wants); ``proxy_filter`` the groups a proxy
    client asks its proxy server to forward. ``state`` continues from a :meth:`snapshot`.
    ``known_sources``: the unicast addresses of the network's nodes (:meth:`set_known_sources`);
    ``replay_margin``: SEQ numbers of a source one stored replay list covers (see the module's
    notes). ``persist_state=False``: the caller stores nothing before use (no reservation is
    reported or waited for).
    """

    def __init__(
        self,
        *,
        address: int,
        element_count: int = 1,
        net_keys: NetworkKeyring,
        app_keys: AppKeyring | Iterable[AppKey] = (),
        device_keys: Iterable[DeviceKey] = (),
        state: NodeState | None = None,
        subscriptions: Iterable[int] | None = None,
        label_uuids: Iterable[bytes] = (),
        proxy_filter: Iterable[int] = (),
        features: NodeFeatures | None = None,
        default_ttl: int = 5,
        sar: SarConfig | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        request_retries: int = DEFAULT_RETRIES,
        sequence_block: int = 256,
        iv_update_threshold: int = IV_UPDATE_SEQ_THRESHOLD,
        known_sources: Iterable[int] = (),
        replay_margin: int = DEFAULT_REPLAY_MARGIN,
        persist_state: bool = True,
    ) -> None:
        if state is not None:
            iv = state.iv.copy()
            seq = SequenceAllocator.restore(
                state.sequence,
                iv.tx_iv_index,
                block_size=sequence_block,
                iv_update_threshold=iv_update_threshold,
            )
            rpl = ReplayProtectionList.from_dict(
                state.replay_list, margin=replay_margin, known=known_sources
            )
        else:
            iv = IvIndexState()
            seq = SequenceAllocator(
                0, 0, block_size=sequence_block, iv_update_threshold=iv_update_threshold
            )
            rpl = ReplayProtectionList(margin=replay_margin, known=known_sources)
        self._stack = MeshStack(
            primary_address=address,
            element_count=element_count,
            net_keys=net_keys,
            device_keys=device_keys,
            iv=iv,
            seq=seq,
            rpl=rpl,
            subscriptions=subscriptions,
            label_uuids=label_uuids,
            default_ttl=default_ttl,
            sar=sar,
        )
        if isinstance(app_keys, AppKeyring):
            self._stack.app_keys = app_keys  # shared with its owner (a Configuration Server)
        else:
            for key in app_keys:
                self._stack.app_keys.add(key)
        self.features = features or NodeFeatures()
        self._tracker = RequestTracker(timeout=request_timeout, retries=request_retries)
        self._proxy_filter: set[int] = set(proxy_filter)
        self._persist = persist_state
        self._events: list[Event] = []
        # Events held behind a replay list reservation: (token, index in _events), oldest first.
        self._holds: deque[tuple[int, int]] = deque()
        # Output, in order; each item carries the reservation token it waits for (0: none).
        self._out: deque[tuple[int, Bearer, ProxyMessageType | None, bytes]] = deque()
        self._tokens = itertools.count(1)
        self._latest = 0  # the newest reservation token handed out (SEQ or replay list)
        self._awaited = 0  # the newest SEQ reservation token handed out and not yet stored
        self._stored = 0  # every token up to this one is stored
        self._handles = itertools.count(1)
        self._transfers: dict[tuple[int, int], int] = {}  # (dst, SeqAuth) -> handle
        self._requests: dict[int, dict[str, Any]] = {}  # handle -> how to resend it
        self._proxy: _Proxy | None = None
        self._iv_initiated = False

    def __repr__(self) -> str:
        return f"MeshNode(address=0x{self.address:04x}, iv_index={self.iv_index})"

    # --- what the node is -------------------------------------------------------------------

    @property
    def address(self) -> int:
        """Our primary element's unicast address."""
        return self._stack.primary_address

    @property
    def element_count(self) -> int:
        """How many elements (consecutive unicast addresses) we have."""
        return self._stack.element_count

    @property
    def iv_index(self) -> int:
        """The current IV Index (§3.11.5)."""
        return self._stack.iv.iv_index

    @property
    def iv_update_in_progress(self) -> bool:
        """True during the IV Update in Progress state."""
        return self._stack.iv.update_in_progress

    @property
    def iv_index_known(self) -> bool:
        """False until the first authenticated beacon when the IV Index is unknown (an imported
        network): nothing sent before could be opened by the network, so wait for it."""
        return self._stack.iv.known

    @property
    def next_seq(self) -> int:
        """The SEQ our next transmission uses."""
        return self._stack.seq.next_seq

    @property
    def replay_list_size(self) -> int:
        """Sources in the replay protection list."""
        return len(self._stack.rpl)

    @property
    def pending_requests(self) -> int:
        """Acknowledged requests still waiting for their response."""
        return self._tracker.pending

    @property
    def connected(self) -> bool:
        """True while a GATT proxy connection is up."""
        return self._proxy is not None

    @property
    def default_ttl(self) -> int:
        """The TTL of our messages unless :meth:`send` says otherwise."""
        return self._stack.default_ttl

    @default_ttl.setter
    def default_ttl(self, ttl: int) -> None:
        self._stack.default_ttl = ttl

    @property
    def net_keys(self) -> NetworkKeyring:
        """Our NetKeys with their Key Refresh state."""
        return self._stack.net_keys

    def is_own_address(self, address: int) -> bool:
        """Whether ``address`` is one of our elements."""
        return self._stack.is_own_unicast(address)

    @property
    def latest_reservation(self) -> int:
        """The newest reservation token (0: none): a :meth:`snapshot` taken now covers it and
        every earlier one, so storing that snapshot may report this token stored."""
        return self._latest

    @property
    def stored_reservation(self) -> int:
        """The newest reservation token reported stored (:meth:`state_persisted`; 0: none)."""
        return self._stored

    def snapshot(self, *, final: bool = False) -> NodeState:
        """The state to store: restore it with ``MeshNode(..., state=...)``.

        ``final``: the node stops (a clean shutdown). The replay list is then what was
        accepted, without the margin reserved ahead, so a restart loses no message a source
        had not sent yet; a node that carries on reserves again with its next messages.
        """
        if final:
            self._stack.rpl.release_marks()
        iv = self._stack.iv
        return NodeState(
            iv.copy(),
            self._stack.seq.persisted_state(),
            self._stack.rpl.to_dict(),
        )

    # --- keys and addresses -----------------------------------------------------------------

    def set_net_key(
        self,
        index: int,
        key: bytes,
        *,
        new_key: bytes | None = None,
        phase: KeyRefreshPhase = KeyRefreshPhase.NORMAL,
    ) -> None:
        """Hold NetKey ``index`` (old ``key``, ``new_key`` during a Key Refresh, §3.11.4)."""
        keys = self._stack.net_keys
        keys.remove(index)
        keys.add(index, key)
        if new_key is not None:
            keys.update(index, new_key)
            if phase is KeyRefreshPhase.USING_NEW_KEYS:
                keys.set_phase(index, 2)

    def remove_net_key(self, index: int) -> None:
        """Forget NetKey ``index``."""
        self._stack.net_keys.remove(index)

    def set_app_key(
        self, index: int, key: bytes, *, net_key_index: int = 0, new_key: bytes | None = None
    ) -> None:
        """Hold AppKey ``index`` bound to ``net_key_index`` (``new_key``: Key Refresh)."""
        self._stack.app_keys.add(AppKey(index, key, net_key_index))
        if new_key is not None:
            self._stack.app_keys.update(AppKey(index, new_key, net_key_index))

    def remove_app_key(self, index: int) -> None:
        """Forget AppKey ``index``."""
        self._stack.app_keys.remove(index)

    def app_key(self, index: int) -> AppKey | None:
        """AppKey ``index`` as we transmit with it now, if we hold it."""
        return self._stack.app_keys.lookup(index)

    def set_device_key(self, address: int, element_count: int, key: bytes) -> None:
        """Hold the device key of the node at ``address`` (ours, or one we configure)."""
        self._stack.add_device_key(DeviceKey(key, address, element_count))

    def remove_device_key(self, address: int) -> None:
        """Forget the device key of the node at ``address``."""
        self._stack.device_keys = [k for k in self._stack.device_keys if k.address != address]

    def has_device_key(self, address: int) -> bool:
        """Whether we can talk to ``address`` with a device key."""
        return any(k.covers(address) for k in self._stack.device_keys)

    def set_known_sources(self, addresses: Iterable[int]) -> None:
        """The unicast addresses of the network's nodes (every element of each).

        Their replay protection entries are kept as long as they are known; other sources
        share a small list in which the least recently heard gives way (§3.9.8, see
        :class:`~.network.ReplayProtectionList`), so spoofed sources cannot crowd them out.
        """
        self._stack.rpl.set_known(addresses)

    def set_subscriptions(self, addresses: Iterable[int] | None) -> None:
        """The group/virtual addresses we accept (None: all of them)."""
        self._stack.subscriptions = None if addresses is None else set(addresses)

    def set_label_uuids(self, label_uuids: Iterable[bytes]) -> None:
        """The Label UUIDs of the virtual addresses we know."""
        self._stack.label_uuids = list(label_uuids)

    def use_app_keyring(self, ring: AppKeyring) -> None:
        """Transmit and receive with ``ring`` (a Configuration Server's, which it edits)."""
        self._stack.app_keys = ring

    # --- the GATT proxy connection ------------------------------------------------------------

    def connection_made(self, att_mtu: int = DEFAULT_ATT_MTU, *, now: float) -> None:
        """A GATT proxy connection came up (§6.7); a proxy client sets its filter now."""
        self._proxy = _Proxy(att_mtu, Reassembler())
        if self.features.proxy_server:
            self._proxy.addresses = set()
            for entry in self._stack.net_keys:
                self._beacon(entry.index, gatt=True, adv=False)
        else:
            self._send_proxy_filter()

    def _send_proxy_filter(self) -> None:
        """Proxy client: our address and the groups we listen to (§6.7). With the IV Index not
        known yet, it waits for the beacon that tells it (the proxy could not open it)."""
        if self._proxy is None or self.features.proxy_server or not self._stack.iv.known:
            return
        addresses = [self.address, *sorted(self._proxy_filter - {self.address})]
        for start in range(0, len(addresses), MAX_ADDRESSES):
            self._send_proxy_config(AddAddresses(tuple(addresses[start : start + MAX_ADDRESSES])))

    def connection_lost(self) -> None:
        """The GATT proxy connection went down: what was queued for it is dropped."""
        self._proxy = None
        self._out = deque(item for item in self._out if item[1] is not Bearer.GATT)

    def proxy_filter_add(self, addresses: Iterable[int]) -> None:
        """Proxy client: also receive what is sent to these groups (§6.6.2.2)."""
        new = tuple(sorted(set(addresses) - self._proxy_filter))
        self._proxy_filter.update(new)
        if self._proxy is not None and not self.features.proxy_server and self.iv_index_known:
            for start in range(0, len(new), MAX_ADDRESSES):
                self._send_proxy_config(AddAddresses(new[start : start + MAX_ADDRESSES]))

    def proxy_filter_remove(self, addresses: Iterable[int]) -> None:
        """Proxy client: stop receiving what is sent to these groups (§6.6.2.3)."""
        gone = tuple(sorted(set(addresses) & self._proxy_filter))
        self._proxy_filter.difference_update(gone)
        if self._proxy is not None and not self.features.proxy_server and self.iv_index_known:
            for start in range(0, len(gone), MAX_ADDRESSES):
                self._send_proxy_config(RemoveAddresses(gone[start : start + MAX_ADDRESSES]))

    @property
    def proxy_filter(self) -> frozenset[int]:
        """Proxy client: the groups we ask our proxy server to forward."""
        return frozenset(self._proxy_filter)

    @property
    def served_filter(self) -> tuple[FilterType, frozenset[int]] | None:
        """Proxy server: the filter our client configured (None: no client connected)."""
        proxy = self._proxy
        if proxy is None or proxy.addresses is None:
            return None
        return proxy.filter_type, frozenset(proxy.addresses)

    # --- looking inside PDUs (tools) ----------------------------------------------------------

    def inspect(self, data: bytes) -> PduInspection:
        """Open an on-air Network PDU with our keys, layer by layer, changing no state.

        Unlike :meth:`receive` nothing is filtered (any destination, replays, our own PDUs)
        and nothing is remembered: for tools and logs. A PDU that opens only with the proxy
        nonce is a proxy configuration message. Every key we hold is tried on the upper
        transport PDU (device keys for the source, then for the destination).
        Raises :class:`MeshError` when the Network PDU does not open (the error of the
        network nonce); a malformed transport layer is reported in :attr:`PduInspection.error`.
        """
        stack = self._stack
        try:
            received = stack.open_network_pdu(data)
        except MeshError as network_error:
            try:
                received = stack.open_network_pdu(data, proxy=True)
            except MeshError:
                raise network_error from None
            message = decode_proxy_config(received.pdu.transport_pdu)
            return PduInspection(received, proxy_configuration=message)
        pdu = received.pdu
        try:
            lower = decode_lower_transport(pdu.ctl, pdu.transport_pdu)
            control: SegmentAck | Heartbeat | None = None
            if isinstance(lower, UnsegmentedControlPdu) and lower.opcode == SegmentAck.OPCODE:
                control = SegmentAck.from_parameters(lower.parameters)
            elif isinstance(lower, UnsegmentedControlPdu) and lower.opcode == Heartbeat.OPCODE:
                control = Heartbeat.from_parameters(lower.parameters)
        except DecodeError as err:
            return PduInspection(received, error=str(err))
        if isinstance(lower, UnsegmentedControlPdu):
            return PduInspection(received, lower=lower, control=control)
        if isinstance(lower, UnsegmentedAccessPdu):
            upper, szmic, seq_auth = lower.upper_transport_pdu, False, pdu.seq
        elif isinstance(lower, SegmentedAccessPdu) and lower.seg_n == 0:
            upper, szmic = lower.segment, lower.szmic
            seq_auth = pdu.seq - ((pdu.seq - lower.seq_zero) & SEQ_ZERO_MASK)
            if len(upper) <= (8 if szmic else 4) or seq_auth < 0:
                return PduInspection(received, lower=lower)  # no room for its TransMIC
        else:
            return PduInspection(received, lower=lower)
        access = stack.open_access(
            src=pdu.src,
            dst=pdu.dst,
            ttl=pdu.ttl,
            net_key_index=received.net_key_index,
            iv_index=received.iv_index,
            akf=lower.akf,
            aid=lower.aid,
            szmic=szmic,
            seq=seq_auth,
            upper=upper,
            segmented=isinstance(lower, SegmentedAccessPdu),
        )
        return PduInspection(
            received,
            lower=lower,
            upper_transport_pdu=upper,
            seq_auth=seq_auth,
            szmic=szmic,
            access=access,
        )

    def inspect_beacon(self, data: bytes) -> BeaconInspection:
        """Decode a mesh beacon (§3.10) and authenticate it with our NetKeys, changing no state
        (:meth:`receive` acts on it). Raises :class:`DecodeError` when it is malformed."""
        beacon = decode_beacon(data)
        if not isinstance(beacon, SecureNetworkBeacon | MeshPrivateBeacon):
            return BeaconInspection(beacon, None)
        found = self._authenticate_beacon(beacon)
        if found is None:
            return BeaconInspection(beacon, None)
        (net_key_index, new_key), _info = found
        return BeaconInspection(beacon, net_key_index, new_key)

    def encode(
        self,
        dst: int,
        payload: bytes,
        *,
        seq: int,
        app_key_index: int | None = 0,
        control: bool = False,
        seq_auth: int | None = None,
        segments: Iterable[int] | None = None,
        szmic: bool = False,
        segmented: bool = False,
        src: int | None = None,
        ttl: int | None = None,
        label_uuid: bytes | None = None,
        net_key_index: int = 0,
    ) -> list[bytes]:
        """The on-air Network PDUs of one message with SEQ numbers from ``seq``; no state
        changes and nothing is queued (use :meth:`send` to send).

        ``payload`` is an access payload (opcode + parameters) encrypted with AppKey
        ``app_key_index`` or, for None, a device key as :meth:`send` picks it; with
        ``control`` it is a transport control message (opcode octet 0x00..0x7f, then the
        parameters, §3.6.5). Segmented when it does not fit one PDU, with ``szmic`` or with
        ``segmented``; ``seq_auth`` and ``segments`` encode a retransmission of some
        segments with new SEQ numbers (§3.5.3.3). ``src`` may be any unicast address (default:
        ours); a virtual ``dst`` without ``label_uuid`` uses the Label UUID we know for it. Uses the transmit IV Index and the NetKey's flooding credentials. Raises
        :class:`UsageError`.
        """
        key = None if control else self._key(dst, app_key_index)
        return self._stack.encode_pdus(
            dst,
            payload,
            seq=seq,
            key=key,
            seq_auth=seq_auth,
            segments=None if segments is None else list(segments),
            szmic=szmic,
            segmented=segmented,
            src=src,
            ttl=ttl,
            label_uuid=label_uuid,
            net_key_index=net_key_index,
        )

    # --- sending ------------------------------------------------------------------------------

    def send(
        self,
        dst: int,
        message: Message | bytes,
        *,
        now: float,
        app_key_index: int | None = 0,
        src: int | None = None,
        ttl: int | None = None,
        expect: type[Message] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        label_uuid: bytes | None = None,
    ) -> int:
        """Send an access message; returns its handle.

        ``app_key_index`` None sends with a device key: the destination's, or our own when we
        answer our provisioner. With ``expect`` (a response class) the message is an
        acknowledged request: it is retransmitted every ``timeout`` seconds up to ``retries``
        times until :class:`ResponseReceived` or :class:`RequestTimedOut` ends it. Raises
        :class:`UsageError` for what cannot be sent (no such key, a bad address or TTL, SEQ
        space exhausted).
        """
        key = self._key(dst, app_key_index)
        context = {"key": key, "src": src, "ttl": ttl, "label_uuid": label_uuid}
        if expect is None:
            payload = message if isinstance(message, bytes) else encode_message(message)
            handle = next(self._handles)
            self._transmit(handle, dst, payload, context, now)
            return handle
        if isinstance(message, bytes):
            raise UsageError("an acknowledged request needs the message, not its payload")
        request = self._tracker.send(
            dst, message, now=now, expect=expect, timeout=timeout, retries=retries
        )
        self._requests[request.request_id] = context
        try:
            self._transmit(request.request_id, dst, request.payload, context, now)
        except MeshError:
            self.cancel(request.request_id)
            raise
        return request.request_id

    def cancel(self, handle: int) -> None:
        """Stop waiting for the response to request ``handle`` (no event follows)."""
        self._tracker.cancel(handle)
        self._requests.pop(handle, None)

    def _key(self, dst: int, app_key_index: int | None) -> AppKey | DeviceKey:
        if app_key_index is not None:
            key = self._stack.app_keys.lookup(app_key_index)
            if key is None:
                raise UsageError(f"no AppKey {app_key_index}")
            return key
        keys = self._stack.device_keys
        for device_key in keys:
            if device_key.covers(dst):
                return device_key
        for device_key in keys:
            if device_key.covers(self.address):
                return device_key  # a node answering its provisioner uses its own device key
        raise UsageError(f"no device key for 0x{dst:04x}")

    def _transmit(
        self, handle: int, dst: int, payload: bytes, context: dict[str, Any], now: float
    ) -> None:
        stack = self._stack
        kwargs: dict[str, Any] = {
            "key": context["key"],
            "now": now,
            "src": context["src"],
            "ttl": context["ttl"],
            "label_uuid": context["label_uuid"],
        }
        try:
            actions = stack.send_access(dst, payload, **kwargs)
        except TransferBusyError:
            # A retransmission while the previous segmented attempt still runs: replace it.
            actions = stack.cancel_transfer(dst)
            actions += stack.send_access(dst, payload, **kwargs)
        for action in actions:
            if isinstance(action, SendPdu):
                self._route_own(action.data, dst)
            elif isinstance(action, PersistSequence):
                self._reserved(action.state)
            elif isinstance(action, SegmentedTransferFailed):
                self._transfer_failed(action)
        # A segmented transfer still awaiting acknowledgment reports by handle.
        seq_auth = stack.outgoing_seq_auth(dst)
        if seq_auth is not None:
            self._transfers[(dst, seq_auth)] = handle
        self._check_iv_update(now)

    def _reserved(self, state: dict[str, int]) -> None:
        if not self._persist:
            return
        token = self._latest = next(self._tokens)
        self._awaited = token
        self._events.append(SequenceReserved(token, state["iv_index"], state["seq"]))

    def _replay_reserved(self) -> None:
        token = self._latest = next(self._tokens)
        self._events.append(ReplayListReserved(token))
        self._holds.append((token, len(self._events)))

    def state_persisted(self, token: int) -> None:
        """A snapshot covering reservation ``token`` (:class:`SequenceReserved`,
        :class:`ReplayListReserved`) is stored: release what waited for it."""
        self._stored = max(self._stored, token)

    def _queue(self, bearer: Bearer, kind: ProxyMessageType | None, data: bytes) -> None:
        self._out.append((self._awaited if self._awaited > self._stored else 0, bearer, kind, data))

    def _route_own(self, data: bytes, dst: int) -> None:
        """One of our own Network PDUs: to the proxy connection and/or the advertising bearer."""
        proxy = self._proxy
        if proxy is not None and (not self.features.proxy_server or proxy.passes(dst)):
            self._queue(Bearer.GATT, ProxyMessageType.NETWORK_PDU, data)
        if self.features.advertising:
            self._queue(Bearer.ADV_NETWORK, None, data)

    def _send_proxy_config(
        self, message: AddAddresses | RemoveAddresses | SetFilterType | FilterStatus
    ) -> None:
        stack = self._stack
        actions: list[StackAction] = []
        seq, iv_index = stack.allocate_seq(1, actions)
        for action in actions:
            if isinstance(action, PersistSequence):
                self._reserved(action.state)
        net_key_index = next(iter(stack.net_keys)).index
        data = encrypt_proxy_config(
            message,
            stack.net_keys.tx_credentials(net_key_index),
            iv_index=iv_index,
            seq=seq,
            src=self.address,
        )
        self._queue(Bearer.GATT, ProxyMessageType.PROXY_CONFIGURATION, data)

    def _beacon(self, net_key_index: int, *, gatt: bool, adv: bool) -> None:
        entry = self._stack.net_keys.get(net_key_index)
        iv = self._stack.iv
        beacon = SecureNetworkBeacon.create(
            entry.tx_key,
            iv.iv_index,
            key_refresh=entry.phase is KeyRefreshPhase.USING_NEW_KEYS,
            iv_update=iv.update_in_progress,
        ).to_bytes()
        if gatt and self._proxy is not None:
            self._queue(Bearer.GATT, ProxyMessageType.MESH_BEACON, beacon)
        if adv and self.features.advertising:
            self._queue(Bearer.ADV_BEACON, None, beacon)

    def data_to_send(self) -> list[Transmission]:
        """What to transmit now, in order (held back behind unstored SEQ reservations)."""
        out: list[Transmission] = []
        queue = self._out
        while queue and queue[0][0] <= self._stored:
            _token, bearer, kind, data = queue.popleft()
            if bearer is not Bearer.GATT:
                out.append(Transmission(bearer, data))
                continue
            proxy = self._proxy
            if proxy is None or kind is None:
                continue
            out.extend(
                Transmission(Bearer.GATT, value)
                for value in segment(kind, data, proxy.att_mtu - ATT_HEADER_SIZE)
            )
        return out

    def events(self) -> list[Event]:
        """What happened since the last call, in order, up to a :class:`ReplayListReserved`
        not yet stored (what follows it comes once it is)."""
        holds = self._holds
        while holds and holds[0][0] <= self._stored:
            holds.popleft()
        if not holds:
            events, self._events = self._events, []
            return events
        cut = holds[0][1]
        events = self._events[:cut]
        del self._events[:cut]
        self._holds = deque((token, index - cut) for token, index in holds)
        return events

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, data: bytes, now: float, *, bearer: Bearer = Bearer.GATT) -> None:
        """Take what a bearer delivered (see :class:`Bearer`). Never raises for bad input."""
        if bearer is Bearer.ADV_NETWORK:
            self._receive_network(data, now, from_gatt=False)
        elif bearer is Bearer.ADV_BEACON:
            self._receive_beacon(data, now)
        else:
            self._receive_gatt(data, now)

    def _receive_gatt(self, value: bytes, now: float) -> None:
        proxy = self._proxy
        if proxy is None:
            return
        try:
            message = proxy.reassembler.receive(value, now)
        except ProxySarError as err:
            # §6.5: an RFU message type is ignored; every other violation closes the link.
            if err.field == "message_type" and "RFU" in err.reason:
                return
            self._events.append(ProxyProtocolError(str(err)))
            return
        if message is None:
            return
        kind = message.message_type
        if kind is ProxyMessageType.NETWORK_PDU:
            self._receive_network(message.data, now, from_gatt=True)
        elif kind is ProxyMessageType.MESH_BEACON:
            self._receive_beacon(message.data, now)
        elif kind is ProxyMessageType.PROXY_CONFIGURATION:
            self._receive_proxy_config(message.data)

    def _receive_network(self, data: bytes, now: float, *, from_gatt: bool) -> None:
        stack = self._stack
        try:
            received = stack.open_network_pdu(data)
        except MeshError:
            return  # another network, or malformed
        pdu = received.pdu
        proxy = self._proxy
        if from_gatt and proxy is not None and proxy.addresses is not None:
            # §6.7: the client's own address joins an accept list, leaves a reject list.
            if proxy.filter_type is FilterType.ACCEPT_LIST:
                proxy.addresses.add(pdu.src)
            else:
                proxy.addresses.discard(pdu.src)
        if stack.is_own_unicast(pdu.src):
            return  # our own transmission, relayed back
        if stack.cache.seen(pdu.src, pdu.seq, received.iv_index):
            return
        self._forward(received, from_gatt=from_gatt)
        self._handle_actions(stack.process(received, now, cached=True), now)
        self._check_iv_update(now)

    def _forward(self, received: ReceivedNetworkPdu, *, from_gatt: bool) -> None:
        """Relay and proxy forwarding (§3.4.6.3): TTL - 1, never back where it came from."""
        features = self.features
        pdu = received.pdu
        if pdu.ttl < 2 or (is_unicast(pdu.dst) and self._stack.is_own_unicast(pdu.dst)):
            return
        to_adv = features.advertising and (
            (from_gatt and features.proxy_server) or (not from_gatt and features.relay)
        )
        proxy = self._proxy
        to_gatt = (
            not from_gatt and features.proxy_server and proxy is not None and proxy.passes(pdu.dst)
        )
        if not (to_adv or to_gatt):
            return
        relayed = pdu.relayed()
        if relayed is None:
            return
        for index, new_key, credentials in self._stack.net_keys.candidates(pdu.nid):
            if index == received.net_key_index and new_key == received.new_key:
                data = relayed.encrypt(credentials, received.iv_index)
                break
        else:
            return
        if to_adv:
            self._queue(Bearer.ADV_NETWORK, None, data)
        if to_gatt:
            self._queue(Bearer.GATT, ProxyMessageType.NETWORK_PDU, data)

    def _handle_actions(self, actions: list[StackAction], now: float) -> None:
        for action in actions:
            if isinstance(action, SendPdu):
                # Segment acknowledgments to the sender of a segmented message.
                self._route_own(action.data, action.dst)
            elif isinstance(action, PersistSequence):
                self._reserved(action.state)
            elif isinstance(action, ReplayProtectionUpdated):
                # Before the message it protects is delivered: held until stored.
                if self._persist and self._stack.rpl.reserve(
                    action.src, action.seq, action.iv_index
                ):
                    self._replay_reserved()
            elif isinstance(action, AccessMessage):
                self._deliver(action, now)
            elif isinstance(action, SegmentedTransferFailed):
                self._transfer_failed(action)

    def _deliver(self, access: AccessMessage, now: float) -> None:
        try:
            message = decode_message(access.payload)
        except UnknownOpcodeError as err:
            self._events.append(
                UndecodableMessage(access.src, access.dst, err.opcode, "unknown opcode")
            )
            return
        except DecodeError as err:
            self._events.append(UndecodableMessage(access.src, access.dst, None, str(err)))
            return
        if message.DEVICE_KEY_ONLY and access.app_key_index is not None:
            # Any node holds the AppKey: it must not pass for the source's configuration or
            # remote provisioning (a forged status, a forged relayed provisioning PDU).
            self._events.append(
                UndecodableMessage(
                    access.src, access.dst, message.OPCODE, "needs the source's device key"
                )
            )
            return
        for event in self._tracker.receive(access.src, message, now=now):
            self._tracker_event(event, access, now)

    def _tracker_event(self, event: TrackerEvent, access: AccessMessage | None, now: float) -> None:
        if isinstance(event, RequestCompleted):
            self._requests.pop(event.request_id, None)
            self._events.append(ResponseReceived(event.request_id, event.src, event.response))
        elif isinstance(event, UnsolicitedMessage) and access is not None:
            self._events.append(
                MessageReceived(
                    access.src,
                    access.dst,
                    event.message,
                    access.app_key_index,
                    access.net_key_index,
                    access.ttl,
                )
            )
        elif isinstance(event, SendRequest):
            context = self._requests.get(event.request_id)
            if context is not None:
                # A retransmission that cannot go (keys changed meanwhile) times out instead.
                with contextlib.suppress(MeshError):
                    self._transmit(event.request_id, event.dst, event.payload, context, now)
        elif isinstance(event, TrackedRequestTimedOut):
            self._requests.pop(event.request_id, None)
            self._events.append(RequestTimedOut(event.request_id, event.dst, event.request))

    def _transfer_failed(self, failed: SegmentedTransferFailed) -> None:
        handle = self._transfers.pop((failed.dst, failed.seq_auth), None)
        if handle is not None and handle not in self._requests:
            self._events.append(TransferFailed(handle, failed.dst, failed.reason))

    def _receive_proxy_config(self, data: bytes) -> None:
        stack = self._stack
        try:
            received = stack.open_network_pdu(data, proxy=True)
            pdu = received.pdu
            if not pdu.ctl or pdu.ttl != 0 or pdu.dst != 0 or not is_unicast(pdu.src):
                return
            message = decode_proxy_config(pdu.transport_pdu)
        except MeshError:
            return
        if not stack.rpl.accept(pdu.src, pdu.seq, received.iv_index):
            return
        if self._persist and stack.rpl.reserve(pdu.src, pdu.seq, received.iv_index):
            self._replay_reserved()
        proxy = self._proxy
        if not self.features.proxy_server:
            if isinstance(message, FilterStatus):
                self._events.append(
                    ProxyFilterStatusReceived(message.filter_type, message.list_size)
                )
            return
        if proxy is None or proxy.addresses is None:
            return
        if isinstance(message, SetFilterType):
            proxy.filter_type = message.filter_type
            proxy.addresses.clear()
        elif isinstance(message, AddAddresses):
            proxy.addresses.update(message.addresses)
        elif isinstance(message, RemoveAddresses):
            proxy.addresses.difference_update(message.addresses)
        else:
            return
        self._send_proxy_config(FilterStatus(proxy.filter_type, len(proxy.addresses)))

    def _authenticate_beacon(
        self, beacon: SecureNetworkBeacon | MeshPrivateBeacon
    ) -> tuple[tuple[int, bool], NetworkBeaconInfo] | None:
        keys = {
            (entry.index, new): key
            for entry in self._stack.net_keys
            for key, new in entry.rx_keys()
        }
        return authenticate_network_beacon(beacon, keys)

    def _receive_beacon(self, data: bytes, now: float) -> None:
        try:
            beacon = decode_beacon(data)
        except DecodeError:
            return
        if not isinstance(beacon, SecureNetworkBeacon | MeshPrivateBeacon):
            return
        found = self._authenticate_beacon(beacon)
        if found is None:
            return
        (net_key_index, _new), info = found
        learning = not self._stack.iv.known
        # §3.11.5: only the primary subnet (NetKey Index 0) moves the IV Index forward.
        change = self._stack.iv.on_beacon(
            info.iv_index, info.iv_update, now, primary_subnet=net_key_index == 0
        )
        if change is not None:
            self._iv_initiated = False
            self._iv_changed(change, initiated=False)
            if learning:
                self._send_proxy_filter()

    # --- IV Update (§3.11.5) ------------------------------------------------------------------

    def start_iv_update(self, now: float) -> None:
        """Initiate an IV Update now (UsageError within 96 hours of the last IV change)."""
        change = self._stack.iv.start_update(now)
        self._iv_initiated = True
        self._iv_changed(change, initiated=True)

    def _check_iv_update(self, now: float) -> None:
        iv = self._stack.iv
        if (
            iv.update_in_progress
            or not self._stack.seq.iv_update_needed
            or (iv.changed_at is not None and now - iv.changed_at < IV_UPDATE_MIN_DURATION)
        ):
            return
        self.start_iv_update(now)

    def _iv_deadline(self) -> float | None:
        iv = self._stack.iv
        if iv.update_in_progress:
            if iv.changed_at is None:
                return None
            if self._iv_initiated:
                return iv.changed_at + IV_UPDATE_MIN_DURATION
            return iv.next_deadline()
        if self._stack.seq.iv_update_needed and iv.changed_at is not None:
            return iv.changed_at + IV_UPDATE_MIN_DURATION
        return None

    def _iv_timer(self, now: float) -> None:
        iv = self._stack.iv
        if iv.update_in_progress:
            pending = self._stack.transfers_pending
            if self._iv_initiated:
                change = iv.complete_update(now, transfers_pending=pending)
            else:
                change = iv.poll(now, transfers_pending=pending)
            if change is not None:
                self._iv_initiated = False
                self._iv_changed(change, initiated=True)
        else:
            self._check_iv_update(now)

    def _iv_changed(self, change: IvIndexChange, *, initiated: bool) -> None:
        # A grown transmit IV Index restarts SEQ at 0 with the next allocation (which reserves
        # and reports the new block); the snapshot taken on this event records the IV Index.
        self._stack.rpl.forget_older_than(self._stack.iv.iv_index)
        self._events.append(
            IvIndexChanged(change.iv_index, change.update_in_progress, initiated=initiated)
        )
        # Tell the network: a beacon per subnet on every bearer we have (§3.10.2).
        for entry in self._stack.net_keys:
            self._beacon(entry.index, gatt=True, adv=True)

    # --- time ---------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` has work next (None: nothing is timed)."""
        deadlines = [
            self._stack.next_deadline(),
            self._tracker.next_deadline(),
            self._iv_deadline(),
            self._proxy.reassembler.next_deadline() if self._proxy is not None else None,
        ]
        return min((d for d in deadlines if d is not None), default=None)

    def handle_timer(self, now: float) -> None:
        """Run everything due at ``now``."""
        proxy = self._proxy
        if proxy is not None and proxy.reassembler.expire(now):
            # §6.5: a partial proxy message timed out; the connection is closed.
            self._events.append(ProxyProtocolError("proxy SAR timeout"))
        self._handle_actions(self._stack.handle_timeout(now), now)
        for event in self._tracker.poll(now):
            self._tracker_event(event, None, now)
        self._iv_timer(now)
