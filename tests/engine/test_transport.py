"""Lower and upper transport (MshPRT 1.1 §3.5, §3.6): codecs, SAR, timers, crash safety, fuzzing."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
import random
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.network import (
    HOUR,
    IvIndexState,
    NetworkKeyring,
    ReplayProtectionList,
    SequenceAllocator,
)
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    AppKeyring,
    ControlMessage,
    DeviceKey,
    Heartbeat,
    MeshStack,
    PersistSequence,
    ReplayProtectionUpdated,
    SarConfig,
    SegmentAck,
    SegmentedAccessPdu,
    SegmentedControlPdu,
    SegmentedTransferFailed,
    SendPdu,
    StackAction,
    TransferBusyError,
    TransferCompleted,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
    decode_lower_transport,
    sent_pdus,
)

NET_KEY = bytes.fromhex("7dd7364cd842ad18c17c2b820c84c3d6")
APP_KEY = AppKey(0, bytes.fromhex("63964771734fbd76e3b40519d1d94a48"))
DEV_KEY = bytes.fromhex("9d6dd0e96eb25dc19a40ed9914f8f03f")
A, B = 0x0001, 0x0100
GROUP = 0xC123
LABEL = bytes.fromhex("f4a002c7fb1e4ca0a469a021de0db875")
PATIENT = SarConfig(unicast_retransmissions=40, unicast_retransmissions_without_progress=40)


def make_stack(
    address: int,
    *,
    iv: IvIndexState | None = None,
    seq: SequenceAllocator | None = None,
    rpl: ReplayProtectionList | None = None,
    sar: SarConfig | None = None,
    subscriptions: set[int] | None = None,
) -> MeshStack:
    ring = NetworkKeyring()
    ring.add(0, NET_KEY)
    return MeshStack(
        primary_address=address,
        net_keys=ring,
        app_keys=AppKeyring([APP_KEY]),
        device_keys=[DeviceKey(DEV_KEY, address=B)],
        iv=iv or IvIndexState(iv_index=0x12345678),
        seq=seq,
        rpl=rpl,
        sar=sar,
        subscriptions=subscriptions,
        label_uuids=[LABEL],
    )


def kinds(actions: list[StackAction], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


# --- lower transport codecs -----------------------------------------------------------------


def test_segment_ack_and_heartbeat_codecs() -> None:
    ack = SegmentAck(obo=True, seq_zero=0x09AB, block_ack=2)
    assert ack.to_bytes() == bytes.fromhex("00a6ac00000002")  # MshPRT 1.1 §8.3.7
    assert SegmentAck.from_bytes(ack.to_bytes()) == ack
    with pytest.raises(DecodeError):
        SegmentAck.from_parameters(bytes.fromhex("a6ad00000002"))  # RFU bits
    hb = Heartbeat(init_ttl=5, features=0x000F)
    assert hb.to_bytes() == bytes.fromhex("0a05000f")
    assert Heartbeat.from_parameters(hb.to_parameters()) == hb
    with pytest.raises(DecodeError):
        Heartbeat.from_parameters(bytes.fromhex("85000f"))


def test_lower_transport_validation() -> None:
    with pytest.raises(UsageError):
        UnsegmentedAccessPdu(False, 3, bytes(5))  # AID must be 0 with a device key
    with pytest.raises(UsageError):
        SegmentedAccessPdu(True, 1, False, 0, 3, 2, b"x")  # SegO > SegN
    with pytest.raises(UsageError):
        SegmentedControlPdu(0, 0, 0, 0, b"x")  # a Segment Ack is never segmented
    with pytest.raises(DecodeError):
        decode_lower_transport(False, bytes.fromhex("8026ac62ee"))  # SegO 3 > SegN 2
    with pytest.raises(DecodeError):
        decode_lower_transport(True, bytes.fromhex("80000000aa"))
    with pytest.raises(DecodeError):
        decode_lower_transport(False, bytes.fromhex("05aabbcc"))  # AKF=0 with an AID


lower_pdus = st.one_of(
    st.builds(
        lambda akf, aid, data: UnsegmentedAccessPdu(akf, aid if akf else 0, data),
        st.booleans(),
        st.integers(0, 63),
        st.binary(min_size=5, max_size=15),
    ),
    st.builds(
        lambda akf, aid, szmic, seq_zero, seg_n, seg_o, data: SegmentedAccessPdu(
            akf, aid if akf else 0, szmic, seq_zero, min(seg_o, seg_n), seg_n, data
        ),
        st.booleans(),
        st.integers(0, 63),
        st.booleans(),
        st.integers(0, 0x1FFF),
        st.integers(0, 31),
        st.integers(0, 31),
        st.binary(min_size=1, max_size=12),
    ),
    st.builds(UnsegmentedControlPdu, st.integers(0, 127), st.binary(max_size=11)),
    st.builds(
        lambda opcode, seq_zero, seg_n, seg_o, data: SegmentedControlPdu(
            opcode, seq_zero, min(seg_o, seg_n), seg_n, data
        ),
        st.integers(1, 127),
        st.integers(0, 0x1FFF),
        st.integers(0, 31),
        st.integers(0, 31),
        st.binary(min_size=1, max_size=8),
    ),
)


@settings(max_examples=200)
@given(lower_pdus)
def test_lower_transport_round_trip(pdu: Any) -> None:
    ctl = isinstance(pdu, UnsegmentedControlPdu | SegmentedControlPdu)
    assert decode_lower_transport(ctl, pdu.to_bytes()) == pdu


@settings(max_examples=300)
@given(st.binary(max_size=20), st.booleans())
def test_lower_transport_decoders_raise_only_decode_errors(data: bytes, ctl: bool) -> None:
    for call in (
        lambda: decode_lower_transport(ctl, data),
        lambda: SegmentAck.from_bytes(data),
        lambda: SegmentAck.from_parameters(data),
        lambda: Heartbeat.from_parameters(data),
        lambda: UnsegmentedAccessPdu.from_bytes(data),
        lambda: SegmentedAccessPdu.from_bytes(data),
        lambda: UnsegmentedControlPdu.from_bytes(data),
        lambda: SegmentedControlPdu.from_bytes(data),
    ):
        with contextlib.suppress(DecodeError):
            call()


# --- the stack: basic flows -----------------------------------------------------------------


def test_unsegmented_app_and_device_key_messages() -> None:
    a, b = make_stack(A), make_stack(B)
    delivered = kinds(
        b.receive(sent_pdus(a.send_access(B, b"\x82\x01", key=APP_KEY, now=0))[0], 0), AccessMessage
    )
    assert [(m.payload, m.app_key_index, m.src, m.dst) for m in delivered] == [
        (b"\x82\x01", 0, A, B)
    ]
    # Device key: A configures node B with B's device key; B answers with its own.
    dev = DeviceKey(DEV_KEY, address=B)
    delivered = kinds(
        b.receive(sent_pdus(a.send_access(B, b"\x80\x08", key=dev, now=0))[0], 0), AccessMessage
    )
    assert delivered[0].key == dev
    assert delivered[0].app_key_index is None
    reply = kinds(
        a.receive(sent_pdus(b.send_access(A, b"\x80\x03", key=dev, now=0))[0], 0), AccessMessage
    )
    assert reply[0].payload == b"\x80\x03"


def test_group_and_virtual_destinations() -> None:
    a = make_stack(A)
    listener = make_stack(B, subscriptions={GROUP, crypto.virtual_address(LABEL)})
    stranger = make_stack(0x0200, subscriptions=set())
    pdu = sent_pdus(a.send_access(GROUP, b"\x82\x02\x01\x00", key=APP_KEY, now=0))[0]
    assert kinds(listener.receive(pdu, 0), AccessMessage)[0].dst == GROUP
    assert stranger.receive(pdu, 0) == []
    assert stranger.last_drop_reason == "not addressed to us"
    virtual = crypto.virtual_address(LABEL)
    pdu = sent_pdus(
        a.send_access(virtual, b"\x82\x02\x01\x00", key=APP_KEY, label_uuid=LABEL, now=0)
    )[0]
    message = kinds(listener.receive(pdu, 0), AccessMessage)[0]
    assert message.label_uuid == LABEL
    with pytest.raises(UsageError):
        a.send_access(virtual, b"\x00", key=APP_KEY, now=0)  # needs the label UUID
    # A segmented message to a group is sent several times and never acknowledged.
    actions = a.send_access(GROUP, bytes(range(30)), key=APP_KEY, now=0)
    got = []
    now = 0.0
    while (deadline := a.next_deadline()) is not None:
        now = deadline
        actions += a.handle_timeout(now)
    for data in sent_pdus(actions):
        got += listener.receive(data, now)
    assert [m.payload for m in kinds(got, AccessMessage)] == [bytes(range(30))]
    assert kinds(got, SendPdu) == []  # no acks to a group
    assert len(kinds(actions, TransferCompleted)) == 1
    assert len(sent_pdus(actions)) == 3 * (1 + PATIENT.multicast_retransmissions)


def test_segmented_control_message_and_heartbeat() -> None:
    a, b = make_stack(A), make_stack(B)
    params = bytes(range(20))
    actions = a.send_control(B, 0x0B, params, now=0)
    assert len(sent_pdus(actions)) == 3  # 8-octet segments
    got: list[StackAction] = []
    for data in sent_pdus(actions):
        got += b.receive(data, 0)
    assert [(m.opcode, m.parameters) for m in kinds(got, ControlMessage)] == [(0x0B, params)]
    acks = kinds(got, SendPdu)
    assert len(acks) == 1
    done = a.receive(acks[0].data, 0.01)
    assert kinds(done, TransferCompleted) == [
        TransferCompleted(B, kinds(done, TransferCompleted)[0].seq_auth)
    ]
    hb = Heartbeat(init_ttl=5, features=3)
    got = b.receive(sent_pdus(a.send_control(B, Heartbeat.OPCODE, hb.to_parameters(), now=1))[0], 1)
    assert Heartbeat.from_parameters(kinds(got, ControlMessage)[0].parameters) == hb


def test_one_segmented_transfer_per_destination_and_busy_receiver() -> None:
    a, b = make_stack(A), make_stack(B)
    actions = a.send_access(B, bytes(40), key=APP_KEY, now=0)
    with pytest.raises(TransferBusyError):
        a.send_access(B, bytes(40), key=APP_KEY, now=0)
    # Unsegmented messages are still allowed meanwhile.
    assert sent_pdus(a.send_access(B, b"\x01", key=APP_KEY, now=0))
    # A Segment Ack with BlockAck 0 means "busy": the transfer is cancelled.
    seq_zero = decode_lower_transport(
        False, b.open_network_pdu(sent_pdus(actions)[0]).pdu.transport_pdu
    )
    assert isinstance(seq_zero, SegmentedAccessPdu)
    ack = _ack_from(b, to=A, seq_zero=seq_zero.seq_zero, block_ack=0)
    result = a.receive(ack, 0.1)
    assert kinds(result, SegmentedTransferFailed)[0].reason == "busy"
    assert not a.transfers_pending


def _ack_from(stack: MeshStack, *, to: int, seq_zero: int, block_ack: int) -> bytes:
    actions = stack._send_ack(  # the stack's own ack builder
        src=stack.primary_address,
        dst=to,
        seq_zero=seq_zero,
        block_ack=block_ack,
        ttl=5,
        net_key_index=0,
    )
    return sent_pdus(actions)[0]


def test_retransmission_limit_then_failure() -> None:
    a = make_stack(A, sar=SarConfig(unicast_retransmissions=2))
    actions = a.send_access(B, bytes(30), key=APP_KEY, now=0)
    assert len(sent_pdus(actions)) == 3
    now = 0.0
    while (deadline := a.next_deadline()) is not None:
        now = deadline
        actions += a.handle_timeout(now)
    assert len(sent_pdus(actions)) == 3 * 3  # first send + 2 retransmissions
    assert kinds(actions, SegmentedTransferFailed)[0].reason == "timeout"
    # Retransmissions use new SEQ numbers with the same SeqZero (MshPRT 1.1 §8.3.8).
    opened = [a.open_network_pdu(p).pdu for p in sent_pdus(actions)]
    assert len({p.seq for p in opened}) == 9
    assert len({decode_lower_transport(False, p.transport_pdu).seq_zero for p in opened}) == 1  # type: ignore[union-attr]


def test_partial_ack_resends_only_missing_segments() -> None:
    a, b = make_stack(A), make_stack(B)
    pdus = sent_pdus(a.send_access(B, bytes(range(40)), key=APP_KEY, now=0))
    assert len(pdus) == 4
    got: list[StackAction] = []
    for index in (0, 2):
        got += b.receive(pdus[index], 0.01)
    assert got == []
    deadline = b.next_deadline()
    assert deadline is not None
    ack = sent_pdus(b.handle_timeout(deadline))  # the acknowledgment timer fires
    assert len(ack) == 1
    resent = a.receive(ack[0], deadline)
    resent_pdus = sent_pdus(resent)
    assert len(resent_pdus) == 2
    for data in resent_pdus:
        got += b.receive(data, deadline + 0.01)
    assert [m.payload for m in kinds(got, AccessMessage)] == [bytes(range(40))]
    assert kinds(a.receive(sent_pdus(got)[0], deadline + 0.02), TransferCompleted)


def test_retransmitted_segments_of_a_finished_message_get_one_ack_per_burst() -> None:
    """Our acknowledgment is lost and the sender retransmits its 4 segments (new SEQs, same
    SeqZero): one acknowledgment answers each burst, not one per segment (each costs a SEQ)."""
    a, b = make_stack(A), make_stack(B)
    got: list[StackAction] = []
    for data in sent_pdus(a.send_access(B, bytes(range(40)), key=APP_KEY, now=0)):
        got += b.receive(data, 0.0)
    assert len(kinds(got, AccessMessage)) == 1
    assert len(sent_pdus(got)) == 1  # the acknowledgment, lost on the way
    seq = b.seq.next_seq
    for burst in (1, 2):
        deadline = a.next_deadline()
        assert deadline is not None
        resent = sent_pdus(a.handle_timeout(deadline))
        assert len(resent) == 4
        answers: list[StackAction] = []
        for data in resent:
            answers += b.receive(data, deadline + 0.001)
        assert kinds(answers, AccessMessage) == []  # delivered once only
        assert len(sent_pdus(answers)) == 1, burst
    assert b.seq.next_seq == seq + 2
    assert kinds(a.receive(sent_pdus(answers)[0], a.next_deadline() or 0.0), TransferCompleted)


def test_incomplete_timer_drops_the_message() -> None:
    a, b = make_stack(A), make_stack(B)
    pdus = sent_pdus(a.send_access(B, bytes(20), key=APP_KEY, now=0))
    assert b.receive(pdus[0], 0) == []
    b.handle_timeout(b.sar.ack_delay)
    b.handle_timeout(9.0)
    assert b.next_deadline() is not None
    b.handle_timeout(10.0)  # at least 10 s without a new segment
    assert b.next_deadline() is None
    assert kinds(b.receive(pdus[1], 10.5), AccessMessage) == []
    assert b.last_drop_reason == "segment of a finished message"


# --- SAR under loss -------------------------------------------------------------------------


@dataclass
class Wire:
    """Two stacks and a lossy, reordering medium between them."""

    rng: random.Random
    drops: set[int]
    stacks: dict[int, MeshStack]
    in_flight: list[tuple[float, int, int, bytes]] = field(default_factory=list)
    counter: int = 0
    events: dict[int, list[StackAction]] = field(default_factory=dict)

    def emit(self, sender: int, actions: list[StackAction], now: float) -> None:
        self.events.setdefault(sender, []).extend(actions)
        other = next(k for k in self.stacks if k != sender)
        for data in sent_pdus(actions):
            self.counter += 1
            if self.counter in self.drops:
                continue
            self.in_flight.append((now + self.rng.uniform(0, 0.3), self.counter, other, data))

    def run(self, limit: float = 120.0) -> None:
        now = 0.0
        while now < limit:
            times = [t for t, *_ in self.in_flight]
            times += [d for s in self.stacks.values() if (d := s.next_deadline()) is not None]
            if not times:
                return
            now = max(now, min(times))
            for item in sorted(x for x in self.in_flight if x[0] <= now):
                self.in_flight.remove(item)
                _, _, to, data = item
                self.emit(to, self.stacks[to].receive(data, now), now)
            for address, stack in self.stacks.items():
                self.emit(address, stack.handle_timeout(now), now)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(12, 380),
    drops=st.sets(st.integers(1, 40), max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_sar_under_loss_delivers_exactly_once(size: int, drops: set[int], seed: int) -> None:
    a, b = make_stack(A, sar=PATIENT), make_stack(B, sar=PATIENT)
    wire = Wire(random.Random(seed), drops, {A: a, B: b})
    payload = random.Random(seed).randbytes(size)
    wire.emit(A, a.send_access(B, payload, key=APP_KEY, now=0.0, segmented=True), 0.0)
    wire.run()
    delivered = kinds(wire.events.get(B, []), AccessMessage)
    completed = kinds(wire.events[A], TransferCompleted)
    failed = kinds(wire.events[A], SegmentedTransferFailed)
    assert len(completed) + len(failed) == 1
    assert len(delivered) <= 1
    if completed:
        assert [m.payload for m in delivered] == [payload]
        assert sent_pdus(wire.events[B])  # acknowledgments were sent
    if len(drops) <= 3:
        assert completed  # a few losses never defeat the retransmissions
    assert not a.transfers_pending


# --- crash safety ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 8), st.booleans(), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    block=st.integers(1, 8),
)
def test_restarts_never_reuse_seq_nor_accept_replays(
    plan: list[tuple[int, int, bool, bool]], block: int
) -> None:
    """Sender and receiver restart from persisted state at random points.

    Each step sends one message; the sender's actions are performed up to a random cut (a
    crash may lose the rest); the receiver may restart too. An attacker replays every PDU ever
    seen after each step. Every (IV Index, SEQ) on the air is unique and no message is acted
    on twice.
    """
    seq_disk: dict[int, dict[str, int] | None] = {A: None, B: None}
    rpl_disk: dict[str, list[int]] = {}

    def start(address: int) -> MeshStack:
        return make_stack(
            address,
            iv=IvIndexState(iv_index=7),
            seq=SequenceAllocator.restore(seq_disk[address], 7, block_size=block),
            rpl=ReplayProtectionList.from_dict(rpl_disk) if address == B else None,
        )

    sender, receiver = start(A), start(B)
    air: list[bytes] = []
    used: list[tuple[int, int, int]] = []
    acted: list[bytes] = []

    def transmit(stack: MeshStack, actions: list[StackAction]) -> list[bytes]:
        out = []
        for action in actions:
            if isinstance(action, PersistSequence):
                seq_disk[stack.primary_address] = action.state
            elif isinstance(action, SendPdu):
                opened = stack.open_network_pdu(action.data)
                used.append((opened.pdu.src, opened.iv_index, opened.pdu.seq))
                air.append(action.data)
                out.append(action.data)
        return out

    def deliver(data: bytes) -> None:
        nonlocal rpl_disk
        actions = receiver.receive(data, 0.0)
        for action in actions:
            if isinstance(action, ReplayProtectionUpdated):
                rpl_disk = receiver.rpl.to_dict()
            elif isinstance(action, AccessMessage):
                acted.append(action.payload)
        for ack in transmit(receiver, actions):
            sender.receive(ack, 0.0)

    for number, (size, cut, sender_crash, receiver_crash) in enumerate(plan):
        payload = number.to_bytes(2, "big") + bytes(size)
        sender.cancel_transfer(B)
        actions = sender.send_access(B, payload, key=APP_KEY, now=0.0)
        for data in transmit(sender, actions[:cut] if sender_crash else actions):
            deliver(data)
        if sender_crash:
            sender = start(A)
        if receiver_crash:
            receiver = start(B)
        captured = air.copy()  # deliver() appends the receiver's acks to the air
        for data in captured:  # the attacker replays everything captured so far
            deliver(data)
    assert len(used) == len(set(used))
    assert len(acted) == len(set(acted))


# --- IV Update through the stack ------------------------------------------------------------


def test_iv_update_and_seq_reset_through_the_stack() -> None:
    t0 = 0.0
    a = make_stack(A, iv=IvIndexState(iv_index=100, changed_at=t0))
    b = make_stack(B, iv=IvIndexState(iv_index=100, changed_at=t0))
    first = sent_pdus(a.send_access(B, b"\x01", key=APP_KEY, now=t0))[0]
    assert kinds(b.receive(first, t0), AccessMessage)
    # A starts an IV Update after 96 h; it keeps transmitting with IV Index 100.
    a.iv.start_update(t0 + 96 * HOUR)
    assert b.iv.on_beacon(101, True, t0 + 96 * HOUR) is not None
    during = sent_pdus(a.send_access(B, b"\x02", key=APP_KEY, now=t0 + 97 * HOUR))[0]
    assert b.open_network_pdu(during).iv_index == 100
    assert kinds(b.receive(during, t0 + 97 * HOUR), AccessMessage)
    # Back to Normal after 96 h in progress: IV Index 101 and SEQ from 0.
    assert a.iv.complete_update(t0 + 192 * HOUR, transfers_pending=a.transfers_pending) is not None
    b.iv.on_beacon(101, False, t0 + 192 * HOUR)
    actions = a.send_access(B, b"\x03", key=APP_KEY, now=t0 + 193 * HOUR)
    assert kinds(actions, PersistSequence)[-1].state == {"iv_index": 101, "seq": a.seq.block_size}
    after = b.open_network_pdu(sent_pdus(actions)[0])
    assert (after.iv_index, after.pdu.seq) == (101, 0)
    assert kinds(b.receive(sent_pdus(actions)[0], t0 + 193 * HOUR), AccessMessage)
    # The old PDU is still rejected (replay), and old IV Index PDUs cannot be opened any more.
    assert b.receive(during, t0 + 193 * HOUR) == []
    b.iv.on_beacon(102, True, t0 + 400 * HOUR)
    b.iv.on_beacon(102, False, t0 + 500 * HOUR)
    assert b.receive(first, t0 + 500 * HOUR) == []


# --- fuzzing the stack ------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=32))
def test_stack_receive_never_raises_on_random_bytes(data: bytes) -> None:
    stack = make_stack(B)
    assert stack.receive(data, 0.0) == []  # nothing random authenticates
    assert stack.last_drop_reason is not None
    assert stack.handle_timeout(100.0) == []


def _valid_pdus() -> list[bytes]:
    a = make_stack(A)
    out = sent_pdus(a.send_access(B, bytes(range(50)), key=APP_KEY, now=0))
    out += sent_pdus(a.send_access(B, b"\x82\x01", key=DeviceKey(DEV_KEY, address=B), now=0))
    out += sent_pdus(a.send_control(0x0200, 0x0B, bytes(15), now=0))
    return out


VALID = _valid_pdus()


@settings(max_examples=300)
@given(
    index=st.integers(0, len(VALID) - 1),
    mutations=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 255)), max_size=3),
)
def test_stack_receive_survives_mutated_pdus(index: int, mutations: list[tuple[int, int]]) -> None:
    stack = make_stack(B)
    stack.primary_address, stack.element_count = 0x0100, 0x0101  # accept 0x0100 and 0x0200
    data = bytearray(VALID[index])
    for position, value in mutations:
        if position < len(data):
            data[position] = value
        else:
            del data[position % (len(data) + 1) :]
    try:
        actions = stack.receive(bytes(data), 0.0)
    except MeshError as err:  # pragma: no cover - receive drops instead of raising
        pytest.fail(f"receive raised {err!r}")
    for action in actions:
        assert isinstance(
            action,
            SendPdu | AccessMessage | ControlMessage | ReplayProtectionUpdated | PersistSequence,
        )


def test_undecryptable_segmented_message_is_still_acknowledged() -> None:
    a = make_stack(A)
    b = make_stack(B)
    b.app_keys = AppKeyring()  # B lost the AppKey
    got: list[StackAction] = []
    for data in sent_pdus(a.send_access(B, bytes(30), key=APP_KEY, now=0)):
        got += b.receive(data, 0)
    assert kinds(got, AccessMessage) == []
    assert b.last_drop_reason == "no key opens the upper transport PDU"
    assert kinds(a.receive(sent_pdus(got)[0], 0.01), TransferCompleted)


def test_sequence_threshold_signals_an_iv_update() -> None:
    stack = make_stack(A, iv=IvIndexState(iv_index=3), seq=SequenceAllocator(3, 0xBFFFFF))
    assert not stack.iv_update_needed
    stack.send_access(B, b"\x01", key=APP_KEY, now=0)
    assert stack.iv_update_needed


def test_stack_keeps_the_callers_state_objects() -> None:
    rpl = ReplayProtectionList()  # empty, hence falsy: must still be the stack's list
    seq = SequenceAllocator(0x12345678)
    stack = make_stack(B, rpl=rpl, seq=seq)
    assert stack.rpl is rpl
    assert stack.seq is seq
    a = make_stack(A)
    stack.receive(sent_pdus(a.send_access(B, b"\x01", key=APP_KEY, now=0))[0], 0)
    assert rpl.get(A) is not None
