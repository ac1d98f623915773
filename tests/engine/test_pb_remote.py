"""PB-Remote (MshPRT 1.1 §5.2.3, §4.4.5/§4.4.6): the engine's Provisioner through PbRemoteClient
against the engine's Device, relayed by a small Remote Provisioning Server written here.

The relay is a test helper, not shipped: it answers Link Open/Close like a server, hands each
PDU Send to the Device, reports it outbound, and reports every Device PDU inbound. Its switches
make it misbehave (drop the link, skip a PDU number, never report outbound, go silent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import itertools
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.access import Message, decode_message, encode_message
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.models.remote_provisioning import (
    RemoteProvisioningLinkClose,
    RemoteProvisioningLinkOpen,
    RemoteProvisioningLinkReport,
    RemoteProvisioningLinkState,
    RemoteProvisioningLinkStatus,
    RemoteProvisioningPduOutboundReport,
    RemoteProvisioningPduReport,
    RemoteProvisioningPduSend,
    RemoteProvisioningStatus,
)
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    Completed,
    Device,
    DeviceResult,
    Failed,
    FailureReason,
    InputAction,
    NodeRefresh,
    NppiProcedure,
    OutputAction,
    Provisioner,
    ProvisionerResult,
    ProvisionerState,
    ProvisioningCapabilities,
    ProvisioningData,
    ProvisioningErrorCode,
    ProvisioningStart,
    ProvisioningUsageError,
    PublicKeyMethod,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
    capabilities,
    oob_public_key,
)
from custom_components.ble_mesh.mesh.provisioning.pb_adv import CloseReason
from custom_components.ble_mesh.mesh.provisioning.pb_gatt import PbGattBearer
from custom_components.ble_mesh.mesh.provisioning.pb_remote import (
    OUTBOUND_REPORT_TIMEOUT,
    OUTBOUND_RETRANSMIT_INTERVAL,
    SERVER_RESPONSE_TIME,
    PbRemoteClient,
    PbRemoteState,
    SendRemoteMessage,
)
from tests.provisioning_pair import CMAC, DATA, OOB_PRIVATE, STATIC16, STATIC32, run

SERVER = 0x0100
UUID = bytes(range(0xA0, 0xB0))

Active = RemoteProvisioningLinkState.LINK_ACTIVE
Idle = RemoteProvisioningLinkState.IDLE
Success = RemoteProvisioningStatus.SUCCESS


def _wire(message: Message) -> Message:
    """Every message crosses the air as bytes: encode, then decode with the registry."""
    return decode_message(encode_message(message))


@dataclass
class Relay:
    """A Remote Provisioning Server in front of one Device (test helper)."""

    device: Device
    uuid: bytes = UUID
    drop_after: int | None = None  # close the link (by device) when PDU Send #n+1 arrives
    skip_inbound: bool = False  # number the inbound PDUs 1, 3, 4, ... (one is skipped)
    outbound_reports: bool = True
    device_talks: bool = True  # False: the device's PDUs are lost
    answer_link_open: bool = True
    lose_first_outbound_report: bool = False  # the mesh loses Outbound Report #1 once
    repeat_reports: bool = False  # every PDU Report arrives twice
    outbox: list[Message] = field(default_factory=list)
    state: RemoteProvisioningLinkState = Idle
    tx: int = 0
    rx: int = 0
    opened_with: RemoteProvisioningLinkOpen | None = None
    closed_with: CloseReason | None = None
    delivered: list[bytes] = field(default_factory=list)  # PDUs handed to the device
    reported: list[bytes] = field(default_factory=list)  # PDUs reported to the client
    shown: Any = None
    request: RequestInput | None = None
    result: DeviceResult | None = None
    failed: Failed | None = None

    def handle(self, message: Message, now: float) -> None:
        if isinstance(message, RemoteProvisioningLinkOpen):
            self.opened_with = message
            if not self.answer_link_open:
                return
            if message.uuid is not None and message.uuid != self.uuid:
                self._out(
                    RemoteProvisioningLinkStatus(RemoteProvisioningStatus.LINK_CANNOT_OPEN, Idle)
                )
                return
            self.state = Active
            self._out(
                RemoteProvisioningLinkStatus(Success, RemoteProvisioningLinkState.LINK_OPENING)
            )
            self._out(RemoteProvisioningLinkReport(Success, Active))
        elif isinstance(message, RemoteProvisioningLinkClose):
            self.closed_with = message.reason
            self._out(
                RemoteProvisioningLinkStatus(Success, RemoteProvisioningLinkState.LINK_CLOSING)
            )
            self._out(
                RemoteProvisioningLinkReport(RemoteProvisioningStatus.LINK_CLOSED_BY_CLIENT, Idle)
            )
            self.state = Idle
        elif isinstance(message, RemoteProvisioningPduSend) and self.state is Active:
            if message.outbound_pdu_number != self.tx + 1:
                if self.outbound_reports:
                    self._out(RemoteProvisioningPduOutboundReport(self.tx))
                return
            if self.drop_after is not None and self.tx >= self.drop_after:
                self.state = Idle
                self._out(
                    RemoteProvisioningLinkReport(
                        RemoteProvisioningStatus.LINK_CLOSED_BY_DEVICE, Idle, CloseReason.FAIL
                    )
                )
                return
            self.tx = message.outbound_pdu_number
            self.delivered.append(message.pdu)
            actions = self.device.receive(message.pdu, now)
            if self.lose_first_outbound_report and self.tx == 1:
                self.lose_first_outbound_report = False
            elif self.outbound_reports:
                self._out(RemoteProvisioningPduOutboundReport(self.tx))
            self.device_actions(actions)

    def device_actions(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                if not self.device_talks:
                    continue
                self.rx += 2 if self.skip_inbound and self.rx == 1 else 1
                self.reported.append(action.data)
                self._out(RemoteProvisioningPduReport(self.rx, action.data))
                if self.repeat_reports:
                    self._out(RemoteProvisioningPduReport(self.rx, action.data))
            elif isinstance(action, ShowValue):
                self.shown = action.value
            elif isinstance(action, RequestInput):
                self.request = action
            elif isinstance(action, Completed):
                self.result = action.result
            elif isinstance(action, Failed):
                self.failed = action

    def _out(self, message: Message) -> None:
        self.outbox.append(_wire(message))


@dataclass
class Session:
    """PbRemoteClient and a Relay wired together, with a person who copies shown values."""

    client: PbRemoteClient
    relay: Relay
    now: float = 0.0
    to_server: list[Message] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    shown: Any = None
    request: RequestInput | None = None
    result: ProvisionerResult | None = None
    failed: Failed | None = None

    def take(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, SendRemoteMessage):
                assert action.dst == SERVER
                self.sent.append(action.message)
                self.to_server.append(_wire(action.message))
            elif isinstance(action, ShowValue):
                self.shown = action.value
            elif isinstance(action, RequestInput):
                self.request = action
            elif isinstance(action, Completed):
                self.result = action.result
            elif isinstance(action, Failed):
                self.failed = action

    def pump(self) -> Session:
        progress = True
        while progress:
            progress = False
            if self.request is not None and self.relay.shown is not None:
                self.request = None
                self.take(self.client.provide_oob(self.relay.shown, self.now))
                progress = True
            if self.relay.request is not None and self.shown is not None:
                self.relay.request = None
                self.relay.device_actions(self.relay.device.provide_oob(self.shown, self.now))
                progress = True
            if self.to_server:
                self.relay.handle(self.to_server.pop(0), self.now)
                progress = True
            if self.relay.outbox:
                message = self.relay.outbox.pop(0)
                self.take(self.client.receive(SERVER, message, self.now))
                progress = True
        return self

    def run_clock(self, limit: float = 1000.0) -> Session:
        """Let time pass, deadline by deadline, until the client has no timer left."""
        steps = 0
        while (deadline := self.client.next_deadline()) is not None:
            assert deadline <= limit, "a deadline keeps moving away: the session would hang"
            self.now = deadline
            self.take(self.client.timeout(self.now))
            self.pump()
            steps += 1
            assert steps < 100
        return self

    def pdu_sends(self) -> list[RemoteProvisioningPduSend]:
        return [m for m in self.sent if isinstance(m, RemoteProvisioningPduSend)]

    def link_closes(self) -> list[CloseReason]:
        return [m.reason for m in self.sent if isinstance(m, RemoteProvisioningLinkClose)]


def _session(
    caps: ProvisioningCapabilities,
    *,
    static: bytes | None = None,
    oob_key: bool = False,
    start: ProvisioningStart | None = None,
    relay: dict[str, Any] | None = None,
    data: ProvisioningData = DATA,
    refresh: NodeRefresh | None = None,
) -> Session:
    device = Device(
        caps, static_oob=static, oob_private_key=OOB_PRIVATE if caps.public_key_oob else None
    )
    provisioner = Provisioner(
        data,
        static_oob=static,
        device_public_key=oob_public_key(OOB_PRIVATE) if oob_key else None,
        auto_select=start is None,
        refresh=refresh,
    )
    client = PbRemoteClient(provisioner, server=SERVER, uuid=None if refresh else UUID)
    session = Session(client, Relay(device, **(relay or {})))
    session.take(client.open(0.0))
    session.pump()
    if start is not None and provisioner.state is ProvisionerState.WAIT_CHOICE:
        session.take(client.choose(start, session.now))
        session.pump()
    return session


# --- every method, both algorithms ----------------------------------------------------------

METHODS: list[tuple[AuthMethod, OutputAction | InputAction | None]] = [
    (AuthMethod.NO_OOB, None),
    (AuthMethod.STATIC_OOB, None),
    (AuthMethod.OUTPUT_OOB, OutputAction.OUTPUT_NUMERIC),
    (AuthMethod.OUTPUT_OOB, OutputAction.BLINK),
    (AuthMethod.INPUT_OOB, InputAction.INPUT_ALPHANUMERIC),
    (AuthMethod.INPUT_OOB, InputAction.PUSH),
]
CASES = list(itertools.product(Algorithm, PublicKeyMethod, METHODS))


def _case_id(case: tuple[Algorithm, PublicKeyMethod, Any]) -> str:
    algorithm, public_key, (method, action) = case
    return (
        f"{algorithm.name[14:18]}-{public_key.name}-{method.name}-{action.name if action else ''}"
    )


def _case(
    case: tuple[Algorithm, PublicKeyMethod, Any],
) -> tuple[ProvisioningCapabilities, bytes | None, ProvisioningStart]:
    algorithm, public_key, (method, action) = case
    size = 0 if action is None else 2 if action in (OutputAction.BLINK, InputAction.PUSH) else 6
    caps = capabilities(
        2,
        algorithms=frozenset({algorithm}),
        public_key_oob=public_key is PublicKeyMethod.OOB,
        static_oob=method is AuthMethod.STATIC_OOB,
        output_actions=frozenset({action}) if isinstance(action, OutputAction) else frozenset(),
        output_oob_size=size,
        input_actions=frozenset({action}) if isinstance(action, InputAction) else frozenset(),
        input_oob_size=size,
    )
    static = (STATIC16 if algorithm is CMAC else STATIC32) if caps.static_oob else None
    return caps, static, ProvisioningStart(algorithm, public_key, method, action, size)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_every_method_and_algorithm_over_pb_remote(
    case: tuple[Algorithm, PublicKeyMethod, Any],
) -> None:
    caps, static, start = _case(case)
    oob_key = start.public_key is PublicKeyMethod.OOB
    session = _session(caps, static=static, oob_key=oob_key, start=start)
    assert session.failed is None, session.failed
    result, device_result = session.result, session.relay.result
    assert result is not None
    assert device_result is not None
    assert result.device_key == device_result.device_key
    assert result.algorithm is start.algorithm is device_result.algorithm
    assert result.auth_method is start.auth_method
    assert result.refresh is None
    assert device_result.unicast_address == DATA.unicast_address
    assert session.relay.opened_with == RemoteProvisioningLinkOpen(uuid=UUID)
    # After Provisioning Complete the client closes the link with Success, and stops its timers.
    assert session.link_closes() == [CloseReason.SUCCESS]
    assert session.relay.closed_with is CloseReason.SUCCESS
    assert session.client.state is PbRemoteState.CLOSED
    assert session.client.next_deadline() is None
    # PDU Send numbers count from 1, one per Provisioner PDU, none resent on a clean link.
    sends = session.pdu_sends()
    assert [s.outbound_pdu_number for s in sends] == list(range(1, len(sends) + 1))
    # The same Provisioning PDUs as over PB-GATT, method by method.
    gatt = _over_pb_gatt(caps, static, oob_key, start)
    remote = [("P", s.pdu[0]) for s in sends] + [("D", d[0]) for d in session.relay.reported]
    assert len(remote) == len(gatt)
    assert sorted(remote) == sorted(gatt)
    assert session.relay.delivered == [s.pdu for s in sends]
    # ... and the same as the in-order pair the session tests use.
    assert len(run(caps, static_oob=static, oob_key=oob_key, start=start).wire) == len(gatt)


def _over_pb_gatt(
    caps: ProvisioningCapabilities, static: bytes | None, oob_key: bool, start: ProvisioningStart
) -> list[tuple[str, int]]:
    """Provision the same device over two PB-GATT bearers at ATT_MTU 23: (sender, PDU type)."""
    device = Device(
        caps, static_oob=static, oob_private_key=OOB_PRIVATE if caps.public_key_oob else None
    )
    provisioner = Provisioner(
        DATA, static_oob=static, device_public_key=oob_public_key(OOB_PRIVATE) if oob_key else None
    )
    sessions: dict[str, Any] = {"P": provisioner, "D": device}
    bearers = {"P": PbGattBearer(23), "D": PbGattBearer(23)}
    writes: list[tuple[str, bytes]] = []  # (receiver, GATT value)
    carried: list[tuple[str, int]] = []
    shown: dict[str, Any] = {}
    waiting: set[str] = set()

    def take(role: str, actions: list[Any]) -> None:
        peer = "D" if role == "P" else "P"
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                writes.extend((peer, value) for value in bearers[role].send(action.data))
            elif isinstance(action, ShowValue):
                shown[role] = action.value
            elif isinstance(action, RequestInput):
                waiting.add(role)
            elif isinstance(action, Failed):
                raise AssertionError(action)

    take("P", provisioner.start(0.0))
    while writes or waiting or provisioner.state is ProvisionerState.WAIT_CHOICE:
        for role in sorted(waiting):
            peer = "D" if role == "P" else "P"
            if peer in shown:
                waiting.discard(role)
                take(role, sessions[role].provide_oob(shown[peer], 0.0))
        if provisioner.state is ProvisionerState.WAIT_CHOICE:
            take("P", provisioner.choose(start, 0.0))
        if not writes:
            continue
        receiver, value = writes.pop(0)
        pdu = bearers[receiver].receive(value, 0.0)
        if pdu is not None:
            carried.append(("D" if receiver == "P" else "P", pdu[0]))
            take(receiver, sessions[receiver].receive(pdu, 0.0))
    assert provisioner.state is ProvisionerState.COMPLETED
    return carried


def test_auto_selected_method_and_capabilities_pass_through() -> None:
    session = _session(capabilities(static_oob=True), static=STATIC32)
    assert session.result is not None
    assert session.result.auth_method is AuthMethod.STATIC_OOB
    assert session.relay.result is not None
    assert session.result.device_key == session.relay.result.device_key


# --- a server that misbehaves ends in a clear failure, never a hang --------------------------


def _assert_failed(session: Session, reason: FailureReason, words: str) -> Failed:
    failed = session.failed
    assert failed is not None
    assert failed.failure.reason is reason, failed
    assert words in failed.failure.text, failed.failure.text
    assert session.result is None
    assert session.client.provisioner.state is ProvisionerState.FAILED
    assert session.client.state is PbRemoteState.CLOSED
    assert session.client.next_deadline() is None
    return failed


def test_link_dropped_mid_way_fails_with_the_servers_reason() -> None:
    session = _session(capabilities(), relay={"drop_after": 2}).run_clock()
    _assert_failed(session, FailureReason.LINK_CLOSED, "LINK_CLOSED_BY_DEVICE")
    assert "0x02" in session.failed.failure.text  # type: ignore[union-attr]
    assert session.link_closes() == []  # the link is already gone: nothing to close


def test_inbound_pdus_out_of_order_fail_and_close_the_link() -> None:
    session = _session(capabilities(), relay={"skip_inbound": True}).run_clock()
    _assert_failed(session, FailureReason.LINK_CLOSED, "out of order")
    assert session.link_closes() == [CloseReason.FAIL]


def test_missing_outbound_report_resends_then_times_out() -> None:
    session = _session(capabilities(), relay={"outbound_reports": False})
    assert session.failed is None
    assert session.client.next_deadline() == OUTBOUND_RETRANSMIT_INTERVAL
    session.run_clock()
    _assert_failed(session, FailureReason.TIMEOUT, "Outbound Report for PDU #1")
    assert session.now == OUTBOUND_REPORT_TIMEOUT
    sends = session.pdu_sends()
    # PDU #1 (Invite) resent with the same number until the deadline, never PDU #2.
    assert {s.outbound_pdu_number for s in sends} == {1}
    assert len(sends) == OUTBOUND_REPORT_TIMEOUT / OUTBOUND_RETRANSMIT_INTERVAL
    assert session.link_closes() == [CloseReason.FAIL]


def test_silent_device_ends_in_the_provisioning_protocol_timeout() -> None:
    session = _session(capabilities(), relay={"device_talks": False}).run_clock()
    _assert_failed(session, FailureReason.TIMEOUT, "provisioning protocol timer")
    assert session.link_closes() == [CloseReason.FAIL]  # never 0x01 Timeout on PB-Remote


def test_server_that_never_opens_the_link_times_out() -> None:
    session = _session(capabilities(), relay={"answer_link_open": False}).run_clock()
    _assert_failed(session, FailureReason.TIMEOUT, "did not report the link open")
    assert session.now == 10 + SERVER_RESPONSE_TIME
    assert session.link_closes() == [CloseReason.FAIL]


def test_link_open_refused_fails_with_the_status() -> None:
    session = _session(capabilities(), relay={"uuid": bytes(16)}).run_clock()
    _assert_failed(session, FailureReason.LINK_CLOSED, "LINK_CANNOT_OPEN")
    assert session.link_closes() == []


def test_cancel_closes_the_link() -> None:
    session = _session(capabilities(), relay={"device_talks": False})
    assert session.client.state is PbRemoteState.OPEN  # waiting for Capabilities
    session.take(session.client.cancel(session.now))
    _assert_failed(session, FailureReason.CANCELLED, "cancelled")
    assert session.link_closes() == [CloseReason.FAIL]
    assert session.client.cancel(session.now) == []


def test_lost_outbound_report_is_recovered_by_resending_the_same_number() -> None:
    session = _session(capabilities(), relay={"lose_first_outbound_report": True})
    assert session.result is None  # stalled on PDU #1
    session.run_clock()
    assert session.failed is None, session.failed
    assert session.result is not None
    numbers = [s.outbound_pdu_number for s in session.pdu_sends()]
    assert numbers[:2] == [1, 1]  # resent once with its number; the server re-reported it
    assert numbers[1:] == list(range(1, len(numbers)))
    # The device saw each Provisioning PDU once.
    assert len(session.relay.delivered) == len(numbers) - 1


def test_repeated_pdu_reports_are_delivered_once() -> None:
    session = _session(capabilities(), relay={"repeat_reports": True})
    assert session.failed is None, session.failed
    assert session.result is not None
    assert session.relay.result is not None
    assert session.result.device_key == session.relay.result.device_key


def test_duplicates_and_strangers_are_ignored() -> None:
    session = _session(capabilities(), relay={"device_talks": False})
    client = session.client
    assert client.state is PbRemoteState.OPEN
    before = client.next_deadline()
    assert client.receive(0x0999, RemoteProvisioningPduReport(1, b"\x01"), 1.0) == []
    assert client.receive(SERVER, RemoteProvisioningPduOutboundReport(1), 1.0) == []
    assert client.receive(SERVER, RemoteProvisioningLinkReport(Success, Active), 1.0) == []
    assert client.next_deadline() == before
    # An Outbound Report for a PDU never sent is a broken server.
    session.take(client.receive(SERVER, RemoteProvisioningPduOutboundReport(9), 1.0))
    _assert_failed(session, FailureReason.LINK_CLOSED, "never sent")


def test_usage_errors() -> None:
    provisioner = Provisioner(DATA)
    with pytest.raises(UsageError):
        PbRemoteClient(provisioner, server=0xC000, uuid=UUID)
    with pytest.raises(UsageError):
        PbRemoteClient(provisioner, server=SERVER)
    with pytest.raises(UsageError):
        PbRemoteClient(provisioner, server=SERVER, uuid=UUID, link_open_timeout=61)
    refresh = Provisioner(DATA, refresh=NodeRefresh(NppiProcedure.DEVICE_KEY_REFRESH, 0x0200))
    with pytest.raises(UsageError):
        PbRemoteClient(refresh, server=SERVER, uuid=UUID)
    client = PbRemoteClient(provisioner, server=SERVER, uuid=UUID, link_open_timeout=20)
    assert client.receive(SERVER, RemoteProvisioningLinkReport(Success, Active), 0.0) == []
    (action,) = client.open(0.0)
    assert isinstance(action, SendRemoteMessage)
    assert action.message == RemoteProvisioningLinkOpen(uuid=UUID, timeout=20)
    assert client.next_deadline() == 20 + SERVER_RESPONSE_TIME
    with pytest.raises(UsageError):
        client.open(0.0)


# --- Node Provisioning Protocol Interface ---------------------------------------------------


def _provisioned() -> tuple[ProvisioningCapabilities, DeviceResult]:
    caps = capabilities(static_oob=True)
    first = _session(caps, static=STATIC32)
    assert first.relay.result is not None
    return caps, first.relay.result


def test_device_key_refresh_gives_a_new_key_both_sides_agree_on() -> None:
    caps, old = _provisioned()
    session = _session(
        caps,
        static=STATIC32,
        refresh=NodeRefresh(NppiProcedure.DEVICE_KEY_REFRESH, old.unicast_address),
    )
    assert session.relay.opened_with == RemoteProvisioningLinkOpen(
        procedure=NppiProcedure.DEVICE_KEY_REFRESH
    )
    result, device = session.result, session.relay.result
    assert result is not None
    assert device is not None
    assert result.refresh is NppiProcedure.DEVICE_KEY_REFRESH
    assert result.device_key == device.device_key != old.device_key
    assert device.unicast_address == old.unicast_address
    assert device.net_key == old.net_key
    assert device.iv_index == old.iv_index
    # The whole protocol ran, Provisioning Data included.
    assert [s.pdu[0] for s in session.pdu_sends()] == [0x00, 0x02, 0x03, 0x05, 0x06, 0x07]
    assert session.link_closes() == [CloseReason.SUCCESS]


def test_node_address_refresh_moves_the_node() -> None:
    caps, old = _provisioned()
    moved = ProvisioningData(DATA.net_key, DATA.key_index, DATA.iv_index, 0x0300)
    session = _session(
        caps,
        static=STATIC32,
        data=moved,
        refresh=NodeRefresh(NppiProcedure.NODE_ADDRESS_REFRESH, old.unicast_address),
    )
    assert session.result is not None
    assert session.relay.result is not None
    assert session.relay.result.unicast_address == session.result.unicast_address == 0x0300
    assert session.result.device_key == session.relay.result.device_key != old.device_key


@pytest.mark.parametrize(
    ("procedure", "address", "problem"),
    [
        (NppiProcedure.DEVICE_KEY_REFRESH, 0x0300, "keeps the node's address"),
        (NppiProcedure.NODE_COMPOSITION_REFRESH, 0x0201, "keeps the node's address"),
        (NppiProcedure.NODE_ADDRESS_REFRESH, 0x0201, "outside the node's current range"),
    ],
)
def test_refresh_address_rules(procedure: NppiProcedure, address: int, problem: str) -> None:
    data = ProvisioningData(DATA.net_key, DATA.key_index, DATA.iv_index, address)
    with pytest.raises(ProvisioningUsageError, match=problem):
        Provisioner(data, refresh=NodeRefresh(procedure, 0x0200, elements=2))
    # choose() applies the same rule to an address given after Capabilities.
    ok = 0x0200 if procedure is not NppiProcedure.NODE_ADDRESS_REFRESH else 0x0300
    good = ProvisioningData(DATA.net_key, DATA.key_index, DATA.iv_index, ok)
    session = _session(
        capabilities(),
        data=good,
        refresh=NodeRefresh(procedure, 0x0200, elements=2),
        start=ProvisioningStart(
            Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM,
            PublicKeyMethod.NO_OOB,
            AuthMethod.NO_OOB,
            None,
            0,
        ),
    )
    assert session.result is not None


def test_refresh_choose_refuses_a_bad_address() -> None:
    provisioner = Provisioner(
        DATA, refresh=NodeRefresh(NppiProcedure.DEVICE_KEY_REFRESH, DATA.unicast_address)
    )
    client = PbRemoteClient(provisioner, server=SERVER)
    session = Session(client, Relay(Device(capabilities())))
    session.take(client.open(0.0))
    session.pump()
    assert provisioner.state is ProvisionerState.WAIT_CHOICE
    start = ProvisioningStart(
        Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM,
        PublicKeyMethod.NO_OOB,
        AuthMethod.NO_OOB,
        None,
        0,
    )
    with pytest.raises(ProvisioningUsageError, match="keeps the node's address"):
        client.choose(start, 0.0, unicast_address=0x0400)
    assert provisioner.state is ProvisionerState.WAIT_CHOICE


def _refresh_session(
    procedure: NppiProcedure, old: DeviceResult, data: ProvisioningData, address: int
) -> Session:
    """An NPPI session in which the device checks the Data against its current state."""
    caps = capabilities(static_oob=True)
    device = Device(caps, static_oob=STATIC32, refresh=procedure, node=old)
    provisioner = Provisioner(
        data,
        static_oob=STATIC32,
        auto_select=True,
        refresh=NodeRefresh(procedure, address, old.number_of_elements),
    )
    client = PbRemoteClient(provisioner, server=SERVER)
    session = Session(client, Relay(device))
    session.take(client.open(0.0))
    return session.pump()


@pytest.mark.parametrize("procedure", list(NppiProcedure))
def test_the_node_checks_the_refresh_data(procedure: NppiProcedure) -> None:
    _, old = _provisioned()
    address = 0x0300 if procedure is NppiProcedure.NODE_ADDRESS_REFRESH else old.unicast_address
    data = ProvisioningData(DATA.net_key, DATA.key_index, DATA.iv_index, address)
    session = _refresh_session(procedure, old, data, old.unicast_address)
    assert session.result is not None
    assert session.relay.result is not None
    assert session.result.device_key == session.relay.result.device_key != old.device_key
    assert session.result.refresh is procedure


@pytest.mark.parametrize(
    "data",
    [
        ProvisioningData(b"\x11" * 16, DATA.key_index, DATA.iv_index, DATA.unicast_address),
        ProvisioningData(DATA.net_key, DATA.key_index, DATA.iv_index + 1, DATA.unicast_address),
        ProvisioningData(DATA.net_key, DATA.key_index + 1, DATA.iv_index, DATA.unicast_address),
    ],
    ids=["net_key", "iv_index", "key_index"],
)
def test_refresh_with_data_the_node_does_not_hold_is_invalid_data(
    data: ProvisioningData,
) -> None:
    _, old = _provisioned()
    session = _refresh_session(NppiProcedure.DEVICE_KEY_REFRESH, old, data, old.unicast_address)
    failed = session.failed
    assert failed is not None
    assert failed.failure.reason is FailureReason.REMOTE_FAILED
    assert failed.failure.code is ProvisioningErrorCode.INVALID_DATA
    assert session.relay.result is None
    assert session.link_closes() == [CloseReason.FAIL]


def test_device_refuses_a_half_given_refresh() -> None:
    _, old = _provisioned()
    with pytest.raises(ProvisioningUsageError):
        Device(capabilities(), refresh=NppiProcedure.DEVICE_KEY_REFRESH)
    with pytest.raises(ProvisioningUsageError):
        Device(capabilities(), node=old)


_SERVER_OPCODES = [0x805B, 0x805C, 0x805E, 0x805F]


@settings(max_examples=150, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.sampled_from(_SERVER_OPCODES), st.binary(max_size=24)), max_size=12
    ),
    opened=st.booleans(),
)
def test_fuzzed_server_never_raises_and_every_session_ends(
    frames: list[tuple[int, bytes]], opened: bool
) -> None:
    client = PbRemoteClient(Provisioner(DATA, auto_select=True), server=SERVER, uuid=UUID)
    client.open(0.0)
    now = 0.0
    if opened:
        client.receive(SERVER, RemoteProvisioningLinkReport(Success, Active), now)
    for opcode, params in frames:
        try:
            message = decode_message(opcode.to_bytes(2, "big") + params)
        except DecodeError:
            continue
        now += 0.5
        client.receive(SERVER, message, now)
    steps = 0
    while (deadline := client.next_deadline()) is not None:
        now = max(now, deadline)
        client.timeout(now)
        steps += 1
        assert steps < 50
    assert client.state is PbRemoteState.CLOSED
    assert client.provisioner.finished


def test_a_late_idle_report_of_the_previous_link_does_not_end_the_next() -> None:
    """A session just closed its link; the next one's Link Open goes out before the server's
    Link Report (Idle) of the old link arrives: that report is not about the new link."""
    client = PbRemoteClient(Provisioner(DATA), server=SERVER, uuid=UUID)
    client.open(0.0)
    stale = RemoteProvisioningLinkReport(
        RemoteProvisioningStatus.SUCCESS, RemoteProvisioningLinkState.IDLE, 0x00
    )
    assert client.receive(SERVER, stale, 0.1) == []
    assert client.state is PbRemoteState.OPENING
    opening = RemoteProvisioningLinkStatus(
        RemoteProvisioningStatus.SUCCESS, RemoteProvisioningLinkState.LINK_OPENING
    )
    assert client.receive(SERVER, opening, 0.2) == []
    # Once the server answered the new Link Open, an Idle report is this link's end.
    failed = [a for a in client.receive(SERVER, stale, 0.3) if isinstance(a, Failed)]
    assert failed
    assert client.state is PbRemoteState.CLOSED
