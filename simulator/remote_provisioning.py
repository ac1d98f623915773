"""The Remote Provisioning Server of a simulated node (MshPRT 1.1 §4.4.5 Remote Provisioning
Server model, messages §4.3.4, PB-Remote §5.2.3; its PB-ADV link §5.2.1/§5.3; beacons §3.10.2).

A provisioned :class:`~simulator.node.SimulatedNode` built with ``remote_provisioning=True``
has SIG model 0x0004 on its primary element and one :class:`RemoteProvisioningServer`. The
messages are device-key secured (the node checks that); everything else is here, built on the
engine's codecs and state machines, never on hand-made bytes:

* **Scanning.** Scan Capabilities Get -> Status (:data:`MAX_SCANNED_ITEMS` devices, active
  scan supported). Scan Start (limit, timeout 1-255 s, optional UUID) -> Scan Status, then one
  Scan Report (RSSI, UUID, OOB Information, URI Hash) per new Unprovisioned Device beacon
  heard, until the limit (or, for one UUID, the first report) or the timeout ends it; Scan
  Get/Stop -> Scan Status. A scanning server solicits beacons on the air every
  :data:`SOLICIT_INTERVAL` s (:meth:`simulator.air.MeshAir.solicit`): a quiet simulation stays
  quiet (no periodic beacons while nobody scans), a device that appears mid-scan is found.
* **Extended scanning** (active): Extended Scan Start with a UUID looks for that device in
  radio range every :data:`SOLICIT_INTERVAL` s until its timeout and answers one Extended
  Scan Report with its OOB Information and the AD structures asked for (URI, Complete Local
  Name, the complete 16-bit Service UUID list, ...), or without them when it was not found;
  without a UUID, with the server node's own.
* **The link.** Link Open (UUID [, timeout]) -> Link Status (Success, Link Opening), the
  engine's :class:`~custom_components.ble_mesh.mesh.provisioning.pb_adv.PbAdvLink`
  (provisioner role) opens a PB-ADV link on the air, Link Report (Success, Link Active) once
  the device acknowledged it, or (Link Open Failed, Idle) when the timeout passes. Link Close
  -> Link Close on the air, Link Status (Success, Link Closing), Link Report (Link Closed by
  Client, Idle). The device closing the link: Link Report (Link Closed by Device, Idle, its
  reason); a transaction the device never acknowledges: (Link Closed as Cannot Send PDU).
  Link Get -> Link Status. A second Link Open while a link runs: the current state (the same
  client and device or procedure), Invalid State (a PDU in transfer) or Link Cannot Open.
* **Provisioning PDUs.** PDU Send #n (n = last + 1) is sent on the PB-ADV link (state
  Outbound Packet Transfer) and answered by PDU Outbound Report #n once the device
  acknowledged the transaction; any other number (a repeat: the client did not get the
  report) is answered with the last Outbound Report again; a PDU Send while one is in
  transfer, or from another client, is ignored. Every Provisioning PDU the device sends becomes PDU Report #m (m = 1, 2, ...).
* **NPPI** (Link Open with an NPPI procedure, §4.4.5.4): the "device" is the server node
  itself -- the engine's :class:`~custom_components.ble_mesh.mesh.provisioning.Device` with
  ``refresh=`` and ``node=`` -- active at once (Link Report and Link Status, Success, Link
  Active; every PDU Send reported outbound at once). A composition refresh when page 128
  equals page 0 (no firmware update pending) cannot open (Link Cannot Open). When the client closes the link with reason Success after
  Provisioning Complete, the node adopts the outcome (:meth:`ServerHost.nppi_adopt`): the new
  device key for Device Key Refresh, key and primary address for Node Address Refresh, key
  and the new composition (Composition Data page 128 becomes page 0) for Node Composition
  Refresh. The simulator adopts the key at that moment for every procedure (Zephyr does so
  for the address refresh and keeps the key as a candidate until first use otherwise); from
  then on only the new device key secures configuration messages.

Misbehaviour for tests: :class:`~simulator.faults.ServerFaults` (close the link mid-way, fall
silent, skip or reuse a PDU Report number).

Sans-IO like the rest of the simulator: time comes in (``now``), :meth:`next_deadline` /
:meth:`timeout`; what goes out is done through the :class:`ServerHost` (the node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from typing import Protocol

from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.beacons import UnprovisionedDeviceBeacon, ad_structure
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.models.remote_provisioning import (
    LINK_OPEN_TIMEOUT_DEFAULT,
    MAX_SCANNED_ITEMS_MIN,
    RemoteProvisioningExtendedScanReport,
    RemoteProvisioningExtendedScanStart,
    RemoteProvisioningLinkClose,
    RemoteProvisioningLinkGet,
    RemoteProvisioningLinkOpen,
    RemoteProvisioningLinkReport,
    RemoteProvisioningLinkState,
    RemoteProvisioningLinkStatus,
    RemoteProvisioningPduOutboundReport,
    RemoteProvisioningPduReport,
    RemoteProvisioningPduSend,
    RemoteProvisioningScanCapabilitiesGet,
    RemoteProvisioningScanCapabilitiesStatus,
    RemoteProvisioningScanGet,
    RemoteProvisioningScanReport,
    RemoteProvisioningScanStart,
    RemoteProvisioningScanState,
    RemoteProvisioningScanStatus,
    RemoteProvisioningScanStop,
    RemoteProvisioningStatus,
)
from custom_components.ble_mesh.mesh.provisioning import (
    Completed,
    Device,
    DeviceResult,
    Failed,
    NppiProcedure,
    ProvisioningAction,
    SendProvisioningPdu,
)
from custom_components.ble_mesh.mesh.provisioning.pb_adv import (
    CloseReason,
    Deliver,
    LinkClosed,
    LinkOpened,
    PbAdvAction,
    PbAdvLink,
    PbAdvRole,
    Transmit,
)

from .faults import ServerFaults

__all__ = [
    "MAX_SCANNED_ITEMS",
    "REMOTE_PROVISIONING_MESSAGES",
    "SOLICIT_INTERVAL",
    "HeardDevice",
    "RemoteProvisioningServer",
    "ServerHost",
]

_LOGGER = logging.getLogger(__name__)

MAX_SCANNED_ITEMS = 2 * MAX_SCANNED_ITEMS_MIN
"""Scan Capabilities: devices one scan reports (the specification asks for at least 4)."""
SOLICIT_INTERVAL = 1.0
"""Seconds between two beacon solicitations (and extended scan looks) while scanning."""

REMOTE_PROVISIONING_MESSAGES = (
    RemoteProvisioningScanCapabilitiesGet,
    RemoteProvisioningScanGet,
    RemoteProvisioningScanStart,
    RemoteProvisioningScanStop,
    RemoteProvisioningExtendedScanStart,
    RemoteProvisioningLinkGet,
    RemoteProvisioningLinkOpen,
    RemoteProvisioningLinkClose,
    RemoteProvisioningPduSend,
)
"""The messages the server model receives (the client's requests)."""

_Link = RemoteProvisioningLinkState
_Status = RemoteProvisioningStatus


@dataclass(frozen=True, slots=True)
class HeardDevice:
    """An unprovisioned device in radio range, as a scan sees it."""

    uuid: bytes
    oob_information: int
    rssi: int
    uri: str | None = None
    ad_structures: dict[int, bytes] = field(default_factory=dict)
    """Its advertising data and scan response: AD type -> data (for Extended Scan)."""


class ServerHost(Protocol):
    """What the server needs from its node (:class:`~simulator.node.SimulatedNode`)."""

    def rp_send(self, dst: int, message: Message, now: float) -> None:
        """Send ``message`` to the client ``dst`` with the node's device key."""
        ...

    def rp_transmit(self, payloads: tuple[bytes, ...], now: float) -> None:
        """Put PB-ADV payloads on the air, in order."""
        ...

    def rp_solicit(self, now: float) -> None:
        """Listen: the unprovisioned devices in range beacon (see ``MeshAir.solicit``)."""
        ...

    def rp_find(self, uuid: bytes | None) -> HeardDevice | None:
        """The device ``uuid`` if it is in radio range (None: the node itself)."""
        ...

    def nppi_device(self, procedure: NppiProcedure) -> Device | None:
        """The node's device role for an NPPI procedure, or None when it cannot run."""
        ...

    def nppi_adopt(self, procedure: NppiProcedure, result: DeviceResult, now: float) -> None:
        """The NPPI procedure completed and the client closed the link with Success."""
        ...

    def nppi_action(self, action: ProvisioningAction, now: float) -> None:
        """A person-facing action of the node's NPPI device role (ShowValue, RequestInput)."""
        ...


@dataclass(slots=True)
class _Scan:
    client: int
    limit: int
    timeout: int
    started: float
    uuid: bytes | None
    next_solicit: float
    reported: list[bytes] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started + self.timeout


@dataclass(slots=True)
class _ExtendedScan:
    client: int
    uuid: bytes
    ad_types: bytes
    deadline: float
    next_look: float


@dataclass(slots=True)
class _ProvLink:
    client: int
    uuid: bytes | None
    procedure: NppiProcedure | None
    adv: PbAdvLink | None = None
    device: Device | None = None
    state: RemoteProvisioningLinkState = _Link.LINK_OPENING
    delivered: int = 0  # the last outbound PDU number reported delivered
    in_transfer: int | None = None  # the outbound PDU number on the air now
    reported: int = 0  # the last inbound PDU Report number sent
    sends: int = 0  # PDU Sends accepted on this link (for the faults)
    result: DeviceResult | None = None  # NPPI: what the node's device role completed with
    silent: bool = False


class RemoteProvisioningServer:
    """One node's Remote Provisioning Server (one link and one scan at a time)."""

    def __init__(self, host: ServerHost, *, faults: ServerFaults | None = None) -> None:
        self.host = host
        self.faults = faults or ServerFaults()
        self._scan: _Scan | None = None
        self._extended: list[_ExtendedScan] = []
        self._link: _ProvLink | None = None
        self.outbound_pdus: list[bytes] = []
        """Provisioning PDUs relayed to the device on the current (or last) link."""
        self.inbound_pdus: list[bytes] = []
        """Provisioning PDUs of the device reported to the client on the current (or last) link."""

    def __repr__(self) -> str:
        return f"RemoteProvisioningServer(link={self.link_state.name}, scan={self.scan_state.name})"

    @property
    def link_state(self) -> RemoteProvisioningLinkState:
        """The Remote Provisioning Link state."""
        return self._link.state if self._link is not None else _Link.IDLE

    @property
    def scan_state(self) -> RemoteProvisioningScanState:
        """The Remote Provisioning Scan state."""
        scan = self._scan
        if scan is None:
            return RemoteProvisioningScanState.IDLE
        if scan.uuid is not None:
            return RemoteProvisioningScanState.SINGLE_DEVICE
        return RemoteProvisioningScanState.MULTIPLE_DEVICES

    # --- the client's messages --------------------------------------------------------

    def handle(self, src: int, message: Message, now: float) -> None:
        """One device-key secured request from the client ``src``."""
        link = self._link
        if link is not None and link.silent:
            return  # fault: the server went silent
        if isinstance(message, RemoteProvisioningScanCapabilitiesGet):
            self._send(src, RemoteProvisioningScanCapabilitiesStatus(MAX_SCANNED_ITEMS, True), now)
        elif isinstance(message, RemoteProvisioningScanStart):
            self._scan_start(src, message, now)
        elif isinstance(message, RemoteProvisioningScanGet):
            self._send(src, self._scan_status(_Status.SUCCESS, now), now)
        elif isinstance(message, RemoteProvisioningScanStop):
            self._scan = None
            self._send(src, self._scan_status(_Status.SUCCESS, now), now)
        elif isinstance(message, RemoteProvisioningExtendedScanStart):
            self._extended_scan_start(src, message, now)
        elif isinstance(message, RemoteProvisioningLinkGet):
            self._send(src, RemoteProvisioningLinkStatus(_Status.SUCCESS, self.link_state), now)
        elif isinstance(message, RemoteProvisioningLinkOpen):
            self._link_open(src, message, now)
        elif isinstance(message, RemoteProvisioningLinkClose):
            self._link_close(src, message.reason, now)
        elif isinstance(message, RemoteProvisioningPduSend):
            self._pdu_send(src, message, now)

    # --- scanning ---------------------------------------------------------------------

    def _scan_status(self, status: RemoteProvisioningStatus, now: float) -> Message:
        scan = self._scan
        if scan is None:
            return RemoteProvisioningScanStatus(status, RemoteProvisioningScanState.IDLE, 0, 0)
        remaining = max(0, round(scan.deadline - now))
        return RemoteProvisioningScanStatus(status, self.scan_state, scan.limit, remaining)

    def _scan_start(self, src: int, message: RemoteProvisioningScanStart, now: float) -> None:
        if message.scanned_items_limit > MAX_SCANNED_ITEMS:
            self._send(src, self._scan_status(_Status.LIMITED_RESOURCES, now), now)
            return
        limit = message.scanned_items_limit or MAX_SCANNED_ITEMS
        self._scan = _Scan(src, limit, message.timeout, now, message.uuid, now)
        self._send(src, self._scan_status(_Status.SUCCESS, now), now)
        self._solicit(now)

    def _solicit(self, now: float) -> None:
        scan = self._scan
        if scan is not None:
            scan.next_solicit = now + SOLICIT_INTERVAL
        self.host.rp_solicit(now)

    def beacon_heard(self, data: bytes, now: float) -> None:
        """An Unprovisioned Device beacon heard on the air (the node hands every one)."""
        scan = self._scan
        if scan is None:
            return
        try:
            beacon = UnprovisionedDeviceBeacon.from_bytes(data)
        except DecodeError:
            return
        uuid = beacon.device_uuid
        if uuid in scan.reported or (scan.uuid is not None and uuid != scan.uuid):
            return
        heard = self.host.rp_find(uuid)
        rssi = heard.rssi if heard is not None else -90
        scan.reported.append(uuid)
        report = RemoteProvisioningScanReport(
            rssi, uuid, int(beacon.oob_information), beacon.uri_hash
        )
        self._send(scan.client, report, now)
        if len(scan.reported) >= scan.limit or scan.uuid is not None:
            self._scan = None  # §4.4.5: the scan ends with its limit (or its one device)

    def _extended_scan_start(
        self, src: int, message: RemoteProvisioningExtendedScanStart, now: float
    ) -> None:
        if message.uuid is None:
            own = self.host.rp_find(None)
            if own is not None:
                self._extended_report(src, own.uuid, message.ad_types, own, now)
            return
        timeout = message.timeout or 1
        scan = _ExtendedScan(src, message.uuid, message.ad_types, now + timeout, now)
        self._extended.append(scan)
        self._extended_look(scan, now)

    def _extended_look(self, scan: _ExtendedScan, now: float) -> None:
        found = self.host.rp_find(scan.uuid)
        if found is not None or now >= scan.deadline:
            self._extended.remove(scan)
            self._extended_report(scan.client, scan.uuid, scan.ad_types, found, now)
        else:
            scan.next_look = now + SOLICIT_INTERVAL

    def _extended_report(
        self, client: int, uuid: bytes, ad_types: bytes, found: HeardDevice | None, now: float
    ) -> None:
        if found is None:
            self._send(client, RemoteProvisioningExtendedScanReport(_Status.SUCCESS, uuid), now)
            return
        structures = b"".join(
            ad_structure(ad_type, found.ad_structures[ad_type])
            for ad_type in ad_types
            if ad_type in found.ad_structures
        )
        report = RemoteProvisioningExtendedScanReport(
            _Status.SUCCESS, uuid, found.oob_information, structures or None
        )
        self._send(client, report, now)

    # --- the link ---------------------------------------------------------------------

    def _link_open(self, src: int, message: RemoteProvisioningLinkOpen, now: float) -> None:
        link = self._link
        if link is not None:
            if link.state is _Link.OUTBOUND_PACKET_TRANSFER:
                status = _Status.INVALID_STATE
            elif (
                link.client == src
                and link.uuid == message.uuid
                and link.procedure == message.procedure
            ):
                status = _Status.SUCCESS  # the same link again: its state
            else:
                status = _Status.LINK_CANNOT_OPEN
            self._send(src, RemoteProvisioningLinkStatus(status, link.state), now)
            return
        self.outbound_pdus = []
        self.inbound_pdus = []
        if message.procedure is not None:
            device = self.host.nppi_device(message.procedure)
            if device is None:
                self._send(
                    src, RemoteProvisioningLinkStatus(_Status.LINK_CANNOT_OPEN, _Link.IDLE), now
                )
                return
            self._link = _ProvLink(
                src, None, message.procedure, device=device, state=_Link.LINK_ACTIVE
            )
            # Active at once: Link Report, then Link Status (as Zephyr's rpr_srv.c does).
            self._send(src, RemoteProvisioningLinkReport(_Status.SUCCESS, _Link.LINK_ACTIVE), now)
            self._send(src, RemoteProvisioningLinkStatus(_Status.SUCCESS, _Link.LINK_ACTIVE), now)
            return
        assert message.uuid is not None
        self._scan = None  # one radio: scanning stops while a link runs
        timeout = float(message.timeout or LINK_OPEN_TIMEOUT_DEFAULT)
        adv = PbAdvLink(PbAdvRole.PROVISIONER, message.uuid, link_establishment_timeout=timeout)
        self._link = _ProvLink(src, message.uuid, None, adv=adv)
        self._send(src, RemoteProvisioningLinkStatus(_Status.SUCCESS, _Link.LINK_OPENING), now)
        self._adv(adv.open(now), now)

    def _link_close(self, src: int, reason: CloseReason, now: float) -> None:
        link = self._link
        if link is None:
            self._send(src, RemoteProvisioningLinkStatus(_Status.SUCCESS, _Link.IDLE), now)
            return
        if link.client != src:
            self._send(src, RemoteProvisioningLinkStatus(_Status.INVALID_STATE, link.state), now)
            return
        self._link = None
        self._send(src, RemoteProvisioningLinkStatus(_Status.SUCCESS, _Link.LINK_CLOSING), now)
        if link.adv is not None:
            self._perform_transmits(link.adv.close(reason, now), now)
        device = link.device
        if device is not None and not device.finished:
            device.link_closed(now)
        self._send(
            link.client,
            RemoteProvisioningLinkReport(_Status.LINK_CLOSED_BY_CLIENT, _Link.IDLE),
            now,
        )
        if link.procedure is not None and link.result is not None and reason is CloseReason.SUCCESS:
            self.host.nppi_adopt(link.procedure, link.result, now)

    def _closed(
        self, link: _ProvLink, status: RemoteProvisioningStatus, reason: int | None, now: float
    ) -> None:
        """The link ended without the client asking: Link Report (Idle) to the client."""
        if self._link is link:
            self._link = None
        self._send(link.client, RemoteProvisioningLinkReport(status, _Link.IDLE, reason), now)

    # --- Provisioning PDUs ------------------------------------------------------------

    def _pdu_send(self, src: int, message: RemoteProvisioningPduSend, now: float) -> None:
        link = self._link
        if link is None or link.state is not _Link.LINK_ACTIVE or link.client != src:
            return  # no link, one PDU in transfer already, or another client: ignored
        number = message.outbound_pdu_number
        if number != link.delivered + 1:
            # A repeat (the client missed our report) or a stray number: the last Outbound
            # Report again (§4.4.5.5; Zephyr's rpr_srv.c does the same).
            self._send(link.client, RemoteProvisioningPduOutboundReport(link.delivered), now)
            return
        link.sends += 1
        faults = self.faults
        if faults.close_link_after_pdu is not None and link.sends > faults.close_link_after_pdu:
            _LOGGER.info("fault: the Remote Provisioning Server drops the link")
            if link.adv is not None:
                self._perform_transmits(link.adv.close(CloseReason.FAIL, now), now)
            self._closed(link, _Status.LINK_CLOSED_BY_SERVER, CloseReason.FAIL, now)
            return
        if faults.silent_after_pdu is not None and link.sends > faults.silent_after_pdu:
            _LOGGER.info("fault: the Remote Provisioning Server stops answering")
            link.silent = True
            return
        self.outbound_pdus.append(message.pdu)
        if link.device is not None:
            # NPPI: our own provisioning layer takes it at once.
            link.delivered = number
            self._send(link.client, RemoteProvisioningPduOutboundReport(number), now)
            if not link.device.finished:
                self._device_actions(link, link.device.receive(message.pdu, now), now)
            return
        assert link.adv is not None
        link.in_transfer = number
        link.state = _Link.OUTBOUND_PACKET_TRANSFER
        self._adv(link.adv.send(message.pdu, now), now)

    def _report(self, link: _ProvLink, pdu: bytes, now: float) -> None:
        """One Provisioning PDU from the device: PDU Report #m to the client."""
        link.reported += 1
        number = link.reported
        faults = self.faults
        if faults.skip_report_number is not None and number == faults.skip_report_number:
            link.reported += 1
            number = link.reported
        elif faults.reuse_report_number is not None and number == faults.reuse_report_number:
            number -= 1
        self.inbound_pdus.append(pdu)
        self._send(link.client, RemoteProvisioningPduReport(number, pdu), now)

    def _device_actions(
        self, link: _ProvLink, actions: list[ProvisioningAction], now: float
    ) -> None:
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                self._report(link, action.data, now)
            elif isinstance(action, Completed):
                assert isinstance(action.result, DeviceResult)
                link.result = action.result
            elif isinstance(action, Failed):
                if action.close_link and self._link is link:
                    self._closed(link, _Status.LINK_CLOSED_BY_DEVICE, CloseReason.FAIL, now)
            else:
                self.host.nppi_action(action, now)

    # --- PB-ADV -----------------------------------------------------------------------

    def pb_adv_receive(self, payload: bytes, now: float) -> None:
        """A PB-ADV advertisement heard on the air."""
        link = self._link
        if link is None or link.adv is None or link.silent:
            return
        self._adv(link.adv.receive(payload, now), now)

    def _perform_transmits(self, actions: list[PbAdvAction], now: float) -> None:
        for action in actions:
            if isinstance(action, Transmit):
                self.host.rp_transmit(action.payloads, now)

    def _adv(self, actions: list[PbAdvAction], now: float) -> None:
        link = self._link
        if link is None:
            self._perform_transmits(actions, now)
            return
        for action in actions:
            if isinstance(action, Transmit):
                self.host.rp_transmit(action.payloads, now)
            elif isinstance(action, LinkOpened):
                link.state = _Link.LINK_ACTIVE
                self._send(
                    link.client,
                    RemoteProvisioningLinkReport(_Status.SUCCESS, _Link.LINK_ACTIVE),
                    now,
                )
            elif isinstance(action, Deliver):
                self._report(link, action.pdu, now)
            elif isinstance(action, LinkClosed):
                if link.state is _Link.LINK_OPENING:
                    status = _Status.LINK_OPEN_FAILED
                elif action.by_peer:
                    status = _Status.LINK_CLOSED_BY_DEVICE
                else:
                    status = _Status.LINK_CLOSED_AS_CANNOT_SEND_PDU
                self._closed(link, status, action.reason, now)
                return
        adv = link.adv
        if adv is not None and link.in_transfer is not None and not adv.busy and self._link is link:
            number, link.in_transfer = link.in_transfer, None
            link.delivered = number
            link.state = _Link.LINK_ACTIVE
            self._send(link.client, RemoteProvisioningPduOutboundReport(number), now)

    # --- timers -----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called next, or ``None``."""
        deadlines: list[float] = []
        scan = self._scan
        if scan is not None:
            deadlines += [scan.deadline, scan.next_solicit]
        deadlines += [s.next_look for s in self._extended]
        link = self._link
        if link is not None and not link.silent:
            if link.adv is not None and (d := link.adv.next_deadline()) is not None:
                deadlines.append(d)
            if link.device is not None and (d := link.device.next_deadline()) is not None:
                deadlines.append(d)
        return min(deadlines) if deadlines else None

    def timeout(self, now: float) -> None:
        """Run every timer that has expired at ``now``."""
        scan = self._scan
        if scan is not None:
            if now >= scan.deadline:
                self._scan = None  # the scan ends quietly (§4.4.5.2)
            elif now >= scan.next_solicit:
                self._solicit(now)
        for extended in list(self._extended):
            if now >= extended.next_look:
                self._extended_look(extended, now)
        link = self._link
        if link is None or link.silent:
            return
        if link.adv is not None:
            deadline = link.adv.next_deadline()
            if deadline is not None and now >= deadline:
                self._adv(link.adv.timeout(now), now)
        device = link.device
        if device is not None and not device.finished:
            deadline = device.next_deadline()
            if deadline is not None and now >= deadline:
                self._device_actions(link, device.timeout(now), now)

    def reset(self) -> None:
        """Forget every scan and link (the node was reset or lost power)."""
        self._scan = None
        self._extended = []
        self._link = None

    # --- plumbing ---------------------------------------------------------------------

    def _send(self, dst: int, message: Message, now: float) -> None:
        self.host.rp_send(dst, message, now)
