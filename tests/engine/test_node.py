"""MeshNode, the engine's façade: two real nodes and a fake GATT link / advertising air.

A "controller" (Home Assistant's role: a proxy client with no features) talks to a "device"
(a proxy server on the advertising bearer) over a GATT link; more devices hear each other on
the air. The tests play the devices' model servers by hand, so every assertion is about the
node: SEQ reservations held until stored, requests matched and retransmitted, the proxy filter,
segmentation, beacons and a whole IV Update.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from custom_components.ble_mesh.mesh.access import encode_message
from custom_components.ble_mesh.mesh.beacons import SecureNetworkBeacon
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.models.config import (
    ConfigCompositionDataGet,
    ConfigCompositionDataStatus,
)
from custom_components.ble_mesh.mesh.models.generic import (
    GenericOnOffGet,
    GenericOnOffSet,
    GenericOnOffStatus,
)
from custom_components.ble_mesh.mesh.models.remote_provisioning import (
    RemoteProvisioningLinkReport,
    RemoteProvisioningLinkState,
    RemoteProvisioningStatus,
)
from custom_components.ble_mesh.mesh.network import (
    DEFAULT_UNKNOWN_SOURCES,
    HOUR,
    IvIndexState,
    NetworkKeyring,
)
from custom_components.ble_mesh.mesh.node import (
    Bearer,
    IvIndexChanged,
    MeshNode,
    MessageReceived,
    NodeFeatures,
    NodeState,
    ProxyFilterStatusReceived,
    ProxyProtocolError,
    ReplayListReserved,
    RequestTimedOut,
    ResponseReceived,
    SequenceReserved,
    UndecodableMessage,
)
from custom_components.ble_mesh.mesh.proxy_config import FilterType
from custom_components.ble_mesh.mesh.transport import (
    Heartbeat,
    SegmentAck,
    SegmentedAccessPdu,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
)

NET_KEY = bytes.fromhex("7dd7364cd842ad18c17c2b820c84c3d6")
APP_KEY = bytes.fromhex("63964771734fbd76e3b40519d1d94a48")
OTHER_NET_KEY = bytes(range(16))
DEV_KEY = {0x0001: bytes(16 * [1]), 0x0002: bytes(16 * [2]), 0x0003: bytes(16 * [3])}
GROUP = 0xC001
DEVICE_FEATURES = NodeFeatures(proxy_server=True, relay=True, advertising=True)


def _keys(net_key: bytes = NET_KEY) -> NetworkKeyring:
    keys = NetworkKeyring()
    keys.add(0, net_key)
    return keys


def controller(**kwargs: object) -> MeshNode:
    """Home Assistant's node at 0x0001: device keys of the nodes it configures (not its own);
    the nodes of the network are its known sources."""
    kwargs.setdefault("known_sources", [address for address in DEV_KEY if address != 0x0001])
    node = MeshNode(address=0x0001, net_keys=_keys(), **kwargs)  # type: ignore[arg-type]
    node.set_app_key(0, APP_KEY)
    for address, key in DEV_KEY.items():
        if address != 0x0001:
            node.set_device_key(address, 1, key)
    return node


def device(address: int, **kwargs: object) -> MeshNode:
    """A mesh device: proxy server, relay, on the air; its own device key."""
    node = MeshNode(
        address=address,
        net_keys=_keys(),
        features=DEVICE_FEATURES,
        persist_state=False,
        **kwargs,  # type: ignore[arg-type]
    )
    node.set_app_key(0, APP_KEY)
    node.set_device_key(address, 1, DEV_KEY[address])
    return node


@dataclass
class Net:
    """A controller connected over GATT to the first device; every device on one air."""

    ha: MeshNode
    devices: list[MeshNode]
    now: float = 1000.0
    events: dict[int, list[object]] = field(default_factory=dict)
    gatt_writes: int = 0
    connected: bool = True
    disk: NodeState | None = None
    """Home Assistant's state as last stored (when a reservation asked for it)."""

    def connect(self, mtu: int = 23) -> None:
        self.ha.connection_made(mtu, now=self.now)
        self.devices[0].connection_made(mtu, now=self.now)
        self.connected = True
        self.pump()

    def persist_all(self) -> None:
        """Home Assistant's side: every reservation is stored at once."""
        while events := self.ha.events():
            for event in events:
                if isinstance(event, SequenceReserved | ReplayListReserved):
                    self.disk = NodeState.from_json(self.ha.snapshot().to_json())
                    self.ha.state_persisted(event.token)
                self.events.setdefault(self.ha.address, []).append(event)

    def pump(self, *, rounds: int = 50) -> None:
        """Move everything each node has to send until nothing moves."""
        for _ in range(rounds):
            self.persist_all()
            moved = False
            for transmission in self.ha.data_to_send():
                assert transmission.bearer is Bearer.GATT
                moved = True
                self.gatt_writes += 1
                if self.connected:
                    self.devices[0].receive(transmission.data, self.now)
            for dev in self.devices:
                for transmission in dev.data_to_send():
                    moved = True
                    if transmission.bearer is Bearer.GATT:
                        if self.connected and dev is self.devices[0]:
                            self.ha.receive(transmission.data, self.now)
                    else:
                        for other in self.devices:
                            if other is not dev:
                                other.receive(
                                    transmission.data, self.now, bearer=transmission.bearer
                                )
                self.events.setdefault(dev.address, []).extend(dev.events())
            if not moved:
                self.persist_all()
                return
        raise AssertionError("the network never went quiet")

    def advance(self, seconds: float) -> None:
        """Let time pass, running every node's timer when it falls due."""
        end = self.now + seconds
        while True:
            timers = [
                (t, node)
                for node in (self.ha, *self.devices)
                if (t := node.get_timer()) is not None and t <= end
            ]
            if not timers:
                break
            when, node = min(timers, key=lambda x: x[0])
            self.now = max(self.now, when)
            node.handle_timer(self.now)
            self.pump()
        self.now = end
        self.pump()

    def take(self, address: int, kind: type) -> list:
        """The events of one kind a node reported (and forget them)."""
        events = self.events.get(address, [])
        found = [e for e in events if isinstance(e, kind)]
        self.events[address] = [e for e in events if not isinstance(e, kind)]
        return found


def _answer_onoff(net: Net, dev: MeshNode, on: bool) -> None:
    """Play the device's Generic OnOff Server: answer every Get/Set with a status."""
    for event in net.take(dev.address, MessageReceived):
        if isinstance(event.message, GenericOnOffGet | GenericOnOffSet):
            dev.send(event.src, GenericOnOffStatus(on), now=net.now)
    net.pump()


@pytest.fixture(name="net")
def net_fixture() -> Net:
    net = Net(controller(), [device(0x0002), device(0x0003)])
    net.connect()
    return net


def test_request_response_over_the_proxy(net: Net) -> None:
    """An acknowledged Get reaches the device; its Status completes the request."""
    handle = net.ha.send(0x0002, GenericOnOffGet(), now=net.now, expect=GenericOnOffStatus)
    net.pump()
    [got] = net.take(0x0002, MessageReceived)
    assert got.src == 0x0001
    assert got.app_key_index == 0
    assert isinstance(got.message, GenericOnOffGet)
    net.devices[0].send(0x0001, GenericOnOffStatus(True), now=net.now)
    net.pump()
    assert net.take(0x0001, ResponseReceived) == [
        ResponseReceived(handle, 0x0002, GenericOnOffStatus(True))
    ]
    assert net.ha.pending_requests == 0
    # The status was the response: it is not also reported as an unsolicited message.
    assert net.take(0x0001, MessageReceived) == []


def test_relayed_request_to_a_device_on_the_air(net: Net) -> None:
    """0x0003 is reached through the proxy node (GATT -> advertising) and answers back."""
    handle = net.ha.send(
        0x0003, GenericOnOffSet(True, tid=1), now=net.now, expect=GenericOnOffStatus
    )
    net.pump()
    _answer_onoff(net, net.devices[1], on=True)
    [response] = net.take(0x0001, ResponseReceived)
    assert response.handle == handle
    assert response.src == 0x0003


def test_device_key_messages(net: Net) -> None:
    """Configuration with the device's device key; the device answers with its own."""
    handle = net.ha.send(
        0x0002,
        ConfigCompositionDataGet(0),
        now=net.now,
        app_key_index=None,
        expect=ConfigCompositionDataStatus,
    )
    net.pump()
    [get] = net.take(0x0002, MessageReceived)
    assert get.app_key_index is None
    # A composition page of 60 octets: segmented (5 segments), acknowledged by the controller.
    page = bytes(range(60))
    net.devices[0].send(
        0x0001, ConfigCompositionDataStatus(0, page), now=net.now, app_key_index=None
    )
    net.pump()
    net.advance(1.0)  # the controller's segment acknowledgment timer
    [response] = net.take(0x0001, ResponseReceived)
    assert response.handle == handle
    assert response.message == ConfigCompositionDataStatus(0, page)
    with pytest.raises(UsageError, match="no device key"):
        net.ha.send(0x0100, ConfigCompositionDataGet(0), now=net.now, app_key_index=None)


def test_sequence_is_held_until_its_reservation_is_stored() -> None:
    """No PDU leaves before the caller stored the SEQ reservation it uses (§3.9.3)."""
    ha = controller(sequence_block=4)
    ha.connection_made(185, now=0.0)  # one value per message
    [reserved] = [e for e in ha.events() if isinstance(e, SequenceReserved)]
    assert ha.data_to_send() == []  # the filter setup waits for the reservation
    ha.state_persisted(reserved.token)
    assert len(ha.data_to_send()) == 1
    for tid in range(4):
        ha.send(0x0002, GenericOnOffSet(True, tid=tid), now=0.0)
    # SEQ 0..3 were reserved (the filter setup took 0); the fourth message needs SEQ 4: a new
    # reservation, which holds that message back.
    reservations = [e for e in ha.events() if isinstance(e, SequenceReserved)]
    assert len(reservations) == 1
    assert reservations[0].seq > 4
    released = ha.data_to_send()
    assert len(released) == 3  # the messages of the stored block
    ha.state_persisted(reservations[0].token)
    assert len(ha.data_to_send()) == 1
    # What the snapshot holds is never below a SEQ that left.
    state = ha.snapshot()
    assert state.sequence["seq"] >= ha.next_seq


def test_restart_from_a_snapshot_never_reuses_a_sequence_number() -> None:
    first = controller(sequence_block=8)
    first.connection_made(23, now=0.0)
    for tid in range(20):
        first.send(0x0002, GenericOnOffSet(True, tid=tid), now=0.0)
    used = first.next_seq
    stored = NodeState.from_json(first.snapshot().to_json())
    # A crash: nothing else was stored. The restarted node continues above every reservation.
    second = controller(sequence_block=8, state=stored)
    second.send(0x0002, GenericOnOffSet(True, tid=99), now=0.0)
    assert second.next_seq - 1 >= used


def test_snapshot_rejects_malformed_state() -> None:
    good = controller().snapshot().to_json()
    for broken in (
        "not a dict",
        {**good, "iv": {"iv_index": -1, "update_in_progress": False}},
        {**good, "sequence": {"iv_index": 0, "seq": "x"}},
        {**good, "replay_list": {"zz": [0, 1]}},
        {k: v for k, v in good.items() if k != "sequence"},
        {**good, "sequence": {"iv_index": 5, "seq": 0}},  # for an IV Index not yet reached
    ):
        with pytest.raises(DecodeError):
            NodeState.from_json(broken)


def test_unanswered_request_is_retransmitted_then_times_out(net: Net) -> None:
    handle = net.ha.send(
        0x0003, GenericOnOffGet(), now=net.now, expect=GenericOnOffStatus, timeout=2.0, retries=2
    )
    net.pump()
    net.advance(10.0)
    assert len(net.take(0x0003, MessageReceived)) == 3  # first attempt + 2 retransmissions
    [timed_out] = net.take(0x0001, RequestTimedOut)
    assert timed_out == RequestTimedOut(handle, 0x0003, GenericOnOffGet())
    assert net.ha.pending_requests == 0


def test_proxy_filter(net: Net) -> None:
    """The controller's accept list holds its address, then a group; publications follow it."""
    [status] = net.take(0x0001, ProxyFilterStatusReceived)
    assert status == ProxyFilterStatusReceived(FilterType.ACCEPT_LIST, 1)
    # A device publishes to a group the controller did not ask for: the proxy keeps it.
    net.devices[1].send(GROUP, GenericOnOffStatus(True), now=net.now)
    net.pump()
    assert net.take(0x0001, MessageReceived) == []
    net.ha.proxy_filter_add([GROUP])
    net.pump()
    assert net.take(0x0001, ProxyFilterStatusReceived)[-1].list_size == 2
    net.devices[1].send(GROUP, GenericOnOffStatus(False), now=net.now)
    net.pump()
    [published] = net.take(0x0001, MessageReceived)
    assert published.dst == GROUP
    assert published.message == GenericOnOffStatus(False)
    net.ha.proxy_filter_remove([GROUP])
    net.pump()
    net.devices[1].send(GROUP, GenericOnOffStatus(True), now=net.now)
    net.pump()
    assert net.take(0x0001, MessageReceived) == []


def test_an_unknown_iv_index_waits_for_the_proxys_beacon() -> None:
    """Imported network, devices at IV Index 100: the controller sets no proxy filter the proxy
    could not open; the proxy's beacon on connection tells the IV Index, then the filter goes
    out and a request gets its answer."""
    iv = IvIndexState(known=False)
    ha = controller(state=NodeState(iv, {"iv_index": 0, "seq": 0}, {}))
    devices = [
        device(address, state=NodeState(IvIndexState(100), {"iv_index": 100, "seq": 0}, {}))
        for address in (0x0002, 0x0003)
    ]
    net = Net(ha, devices)
    ha.connection_made(23, now=net.now)
    assert not ha.iv_index_known
    assert ha.data_to_send() == []  # no filter with a guessed IV Index
    devices[0].connection_made(23, now=net.now)  # the proxy server sends its beacon
    net.pump()
    assert ha.iv_index_known
    assert ha.iv_index == 100
    assert net.take(0x0001, IvIndexChanged)
    [status] = net.take(0x0001, ProxyFilterStatusReceived)
    assert status.list_size == 1
    handle = ha.send(0x0003, GenericOnOffGet(), now=net.now, expect=GenericOnOffStatus)
    net.pump()
    _answer_onoff(net, devices[1], True)
    [response] = net.take(0x0001, ResponseReceived)
    assert response.handle == handle


def test_replay_of_a_captured_pdu_is_dropped(net: Net) -> None:
    net.ha.send(0x0002, GenericOnOffSet(True, tid=1), now=net.now)
    captured = [t.data for t in net.ha.data_to_send()]
    for value in captured:
        net.devices[0].receive(value, net.now)
    assert len(net.take(0x0002, MessageReceived)) == 0  # not yet pumped into events
    net.events.setdefault(0x0002, []).extend(net.devices[0].events())
    assert len(net.take(0x0002, MessageReceived)) == 1
    assert net.devices[0].replay_list_size == 1  # a device stores nothing: no reservation
    for value in captured:
        net.devices[0].receive(value, net.now + 1)
    assert [e for e in net.devices[0].events() if isinstance(e, MessageReceived)] == []


def _statuses(dev: MeshNode, count: int) -> list[bytes]:
    """``count`` Generic OnOff Statuses from ``dev`` to Home Assistant, as on the air."""
    pdus = []
    for n in range(count):
        dev.send(0x0001, GenericOnOffStatus(n % 2 == 0), now=0.0)
        pdus += [t.data for t in dev.data_to_send() if t.bearer is Bearer.ADV_NETWORK]
    return pdus


def _drain(node: MeshNode, disk: list[NodeState]) -> list[object]:
    """The caller's loop: every reservation is stored (appended to ``disk``) when asked."""
    seen: list[object] = []
    while events := node.events():
        for event in events:
            if isinstance(event, SequenceReserved | ReplayListReserved):
                disk.append(NodeState.from_json(node.snapshot().to_json()))
                node.state_persisted(event.token)
        seen += events
    return seen


def test_a_message_waits_until_its_replay_protection_is_stored() -> None:
    """A message beyond what the stored replay list covers asks for a write first; it (and
    what follows) is held until the write is reported; then ``margin`` more need none."""
    ha = controller(replay_margin=4)
    first, *rest = _statuses(device(0x0002), 6)
    seq = ha.inspect(first).network.pdu.seq
    ha.receive(first, 0.0, bearer=Bearer.ADV_NETWORK)
    [reserved] = ha.events()
    assert isinstance(reserved, ReplayListReserved)
    assert ha.events() == []  # the status waits
    stored = ha.snapshot()
    assert stored.replay_list == {"0002": [0, seq + 4]}
    assert ha.latest_reservation == reserved.token
    ha.state_persisted(reserved.token)
    [status] = ha.events()
    assert isinstance(status, MessageReceived)
    disk: list[NodeState] = []
    for pdu in rest[:4]:  # SEQ + 1 .. SEQ + 4: covered, delivered at once
        ha.receive(pdu, 0.0, bearer=Bearer.ADV_NETWORK)
        assert [type(e) for e in ha.events()] == [MessageReceived]
    ha.receive(rest[4], 0.0, bearer=Bearer.ADV_NETWORK)
    assert [type(e) for e in _drain(ha, disk)] == [ReplayListReserved, MessageReceived]
    assert disk[-1].replay_list == {"0002": [0, seq + 9]}


def test_no_message_is_accepted_again_after_a_kill() -> None:
    """Home Assistant's node is killed after any message: restarted from what it stored, it
    refuses every message it acted on when an attacker replays them (§3.9.8)."""
    pdus = _statuses(device(0x0002), 40)
    disk: list[NodeState] = []
    ha = controller(replay_margin=8)
    acted = 0
    for index, pdu in enumerate(pdus):
        ha.receive(pdu, 0.0, bearer=Bearer.ADV_NETWORK)
        acted += sum(isinstance(e, MessageReceived) for e in _drain(ha, disk))
        restarted = controller(replay_margin=8, state=disk[-1])
        for captured in pdus[: index + 1]:
            restarted.receive(captured, 1.0, bearer=Bearer.ADV_NETWORK)
        assert not any(isinstance(e, MessageReceived) for e in _drain(restarted, []))
    assert acted == 40
    assert len(disk) == 5  # one write per 9 messages


def test_a_clean_stop_loses_no_message_a_kill_at_most_the_margin() -> None:
    pdus = _statuses(device(0x0002), 4)
    ha = controller(replay_margin=8)
    for pdu in pdus[:3]:
        ha.receive(pdu, 0.0, bearer=Bearer.ADV_NETWORK)
    _drain(ha, [])
    killed = controller(replay_margin=8, state=ha.snapshot())
    stopped = controller(replay_margin=8, state=ha.snapshot(final=True))
    for node in (killed, stopped):
        node.receive(pdus[2], 0.0, bearer=Bearer.ADV_NETWORK)  # a replay
        node.receive(pdus[3], 0.0, bearer=Bearer.ADV_NETWORK)  # the next real status
    assert not any(isinstance(e, MessageReceived) for e in _drain(killed, []))
    assert [type(e) for e in _drain(stopped, [])] == [ReplayListReserved, MessageReceived]
    # After the final snapshot the node reserves again (it may still be used).
    ha.receive(pdus[3], 0.0, bearer=Bearer.ADV_NETWORK)
    assert [type(e) for e in _drain(ha, [])] == [ReplayListReserved, MessageReceived]


def test_spoofed_sources_cannot_crowd_out_a_known_node() -> None:
    """1100 control messages from addresses no node has (anyone holding the NetKey can send
    them) do not fill the replay list nor cost a write: the real node's next status still
    arrives, also after a restart."""
    ha = controller(known_sources=[0x0002, 0x0003])
    first, second, third = _statuses(device(0x0002), 3)
    spoofer = device(0x0003)
    heartbeat = Heartbeat(5, 0).to_bytes()
    disk: list[NodeState] = []
    ha.receive(first, 0.0, bearer=Bearer.ADV_NETWORK)
    _drain(ha, disk)
    assert len(disk) == 1
    for n in range(1100):
        [pdu] = spoofer.encode(0x0001, heartbeat, seq=n, control=True, src=0x1000 + n)
        ha.receive(pdu, 0.0, bearer=Bearer.ADV_NETWORK)
    _drain(ha, disk)
    assert len(disk) == 1  # the flood asks for no write
    assert ha.replay_list_size == 1 + DEFAULT_UNKNOWN_SOURCES
    ha.receive(second, 0.0, bearer=Bearer.ADV_NETWORK)
    assert [type(e) for e in _drain(ha, disk)] == [MessageReceived]
    stopped = ha.snapshot(final=True)
    assert len(stopped.replay_list) == 1 + DEFAULT_UNKNOWN_SOURCES  # what is stored too
    restarted = controller(known_sources=[0x0002, 0x0003], state=stopped)
    restarted.receive(first, 0.0, bearer=Bearer.ADV_NETWORK)
    restarted.receive(third, 0.0, bearer=Bearer.ADV_NETWORK)
    [reserved, status] = _drain(restarted, [])
    assert isinstance(reserved, ReplayListReserved)
    assert isinstance(status, MessageReceived)
    assert status.message == GenericOnOffStatus(True)  # the third; the first was refused


def test_bad_input_from_the_air_is_reported_or_ignored(net: Net) -> None:
    dev = net.devices[0]
    # An opcode nobody registered, sent with real keys: opened, then reported undecodable.
    net.ha.send(0x0002, bytes.fromhex("ea0102"), now=net.now)
    net.pump()
    [undecodable] = net.take(0x0002, UndecodableMessage)
    assert undecodable.src == 0x0001
    assert undecodable.opcode is not None
    # Garbage on the air and a beacon of another network change nothing.
    dev.receive(b"\x00" * 20, net.now, bearer=Bearer.ADV_NETWORK)
    from custom_components.ble_mesh.mesh.beacons import SecureNetworkBeacon

    foreign = SecureNetworkBeacon.create(OTHER_NET_KEY, 7, iv_update=True).to_bytes()
    dev.receive(foreign, net.now, bearer=Bearer.ADV_BEACON)
    assert dev.events() == []
    assert dev.iv_index == 0
    # A continuation segment without a first one breaks the proxy protocol (§6.5).
    net.ha.receive(bytes([0x80, 0x01]), net.now)
    assert net.ha.events() == [
        ProxyProtocolError("ProxyPdu.sar: continuation segment without a first segment")
    ]


def test_a_whole_iv_update_and_back_to_normal() -> None:
    """The controller's SEQ passes the threshold: it starts an IV Update; the network follows,
    96 hours later everyone returns to Normal with the new IV Index; messages flow throughout."""
    net = Net(
        controller(iv_update_threshold=40, sequence_block=16), [device(0x0002), device(0x0003)]
    )
    net.connect()

    def round_trip() -> None:
        handle = net.ha.send(0x0003, GenericOnOffGet(), now=net.now, expect=GenericOnOffStatus)
        net.pump()
        _answer_onoff(net, net.devices[1], on=False)
        assert [r.handle for r in net.take(0x0001, ResponseReceived)] == [handle]

    while net.ha.next_seq < 40:
        round_trip()
    round_trip()  # the send that passes the threshold starts the update
    [started] = net.take(0x0001, IvIndexChanged)
    assert started == IvIndexChanged(1, update_in_progress=True, initiated=True)
    for dev in net.devices:  # the proxy node from the controller's beacon, the other on the air
        assert net.take(dev.address, IvIndexChanged) == [IvIndexChanged(1, True, initiated=False)]
        assert dev.iv_update_in_progress
        assert dev.iv_index == 1
    seq_before = net.ha.next_seq
    round_trip()  # still the old IV Index for transmission (§3.11.5)
    assert net.ha.next_seq > seq_before
    net.advance(95 * HOUR)
    assert net.ha.iv_update_in_progress
    net.advance(2 * HOUR)
    [done] = net.take(0x0001, IvIndexChanged)
    assert done == IvIndexChanged(1, update_in_progress=False, initiated=True)
    for dev in net.devices:
        assert not dev.iv_update_in_progress
        assert dev.iv_index == 1
    round_trip()  # the new IV Index: SEQ starts again near 0
    assert net.ha.next_seq < 10
    assert net.ha.snapshot().iv.iv_index == 1


def test_iv_update_cannot_start_within_96_hours_of_the_last() -> None:
    node = controller()
    node.start_iv_update(0.0)
    node.handle_timer(96 * HOUR)
    assert not node.iv_update_in_progress
    with pytest.raises(UsageError, match="96 hours"):
        node.start_iv_update(100 * HOUR)
    node.start_iv_update(192 * HOUR)
    assert node.iv_index == 2


def test_connection_lost_drops_what_was_queued_for_it(net: Net) -> None:
    net.ha.send(0x0002, GenericOnOffSet(True, tid=5), now=net.now)
    net.ha.connection_lost()
    assert net.ha.data_to_send() == []
    assert not net.ha.connected


# --- looking inside PDUs (inspect, inspect_beacon, encode) ----------------------------------


def _air(node: MeshNode) -> list[bytes]:
    return [t.data for t in node.data_to_send() if t.bearer is Bearer.ADV_NETWORK]


def test_inspect_opens_every_layer_and_changes_nothing() -> None:
    sender, reader = device(0x0002), device(0x0003)
    sender.send(0x0002 + 0x100, GenericOnOffSet(on=True, tid=7), now=0.0)  # not for the reader
    [pdu] = _air(sender)
    for _ in range(2):  # inspecting twice: no replay protection, no message cache
        found = reader.inspect(pdu)
        assert found.network.pdu.src == 0x0002
        assert found.network.pdu.dst == 0x0102
        assert isinstance(found.lower, UnsegmentedAccessPdu)
        assert found.seq_auth == found.network.pdu.seq
        assert found.access is not None
        assert found.access.payload == encode_message(GenericOnOffSet(on=True, tid=7))
        assert found.access.app_key_index == 0
    assert reader.replay_list_size == 0
    assert reader.events() == []
    # A PDU the node cannot open raises, like a malformed one.
    with pytest.raises(MeshError):
        controller().inspect(bytes(20))
    stranger = MeshNode(address=0x0005, net_keys=_keys(), persist_state=False)
    assert stranger.inspect(pdu).access is None  # no AppKey: the upper transport stays closed


def test_inspect_segments_and_control_messages() -> None:
    node = device(0x0002)
    payload = bytes(range(0x20, 0x20 + 20))
    first, second = node.encode(0x0003, payload, seq=50, app_key_index=None, src=0x0002)
    found = node.inspect(first)
    assert isinstance(found.lower, SegmentedAccessPdu)
    assert (found.lower.seg_o, found.lower.seg_n) == (0, 1)
    assert found.upper_transport_pdu is None  # needs segment 1 too
    assert found.access is None
    assert node.inspect(second).network.pdu.seq == 51
    [ack] = node.encode(
        0x0003, bytes([0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x03]), seq=9, control=True
    )
    control = node.inspect(ack)
    assert isinstance(control.lower, UnsegmentedControlPdu)
    assert isinstance(control.control, SegmentAck)
    assert (control.control.seq_zero, control.control.block_ack) == (0x10, 3)


def test_encode_numbers_from_the_given_seq_and_changes_nothing() -> None:
    sender, receiver = device(0x0002), device(0x0003)
    before = sender.next_seq
    [pdu] = sender.encode(0x0003, encode_message(GenericOnOffSet(on=False, tid=1)), seq=1234)
    assert sender.next_seq == before
    assert sender.data_to_send() == []
    assert sender.inspect(pdu).network.pdu.seq == 1234
    receiver.receive(pdu, 0.0, bearer=Bearer.ADV_NETWORK)
    [received] = [e for e in receiver.events() if isinstance(e, MessageReceived)]
    assert received.message == GenericOnOffSet(on=False, tid=1)
    # A retransmission of segment 1 only, with a new SEQ and the first SeqAuth.
    payload = bytes(30)
    whole = sender.encode(0x0003, payload, seq=100)
    [again] = sender.encode(0x0003, payload, seq=103, seq_auth=100, segments=[1])
    assert len(whole) == 3
    assert sender.inspect(again).lower == sender.inspect(whole[1]).lower
    with pytest.raises(UsageError):
        sender.encode(0x0003, payload, seq=99, seq_auth=100)  # SEQ before SeqAuth
    with pytest.raises(UsageError):
        sender.encode(0x0003, b"\x82\x01", seq=1, segments=[1])  # unsegmented: no segment 1
    with pytest.raises(UsageError):
        sender.encode(0x0003, b"", seq=1)


def test_inspect_beacon() -> None:
    node = controller()
    beacon = SecureNetworkBeacon.create(NET_KEY, 0x01020304, key_refresh=False, iv_update=True)
    found = node.inspect_beacon(beacon.to_bytes())
    assert found.beacon == beacon
    assert (found.net_key_index, found.new_key) == (0, False)
    other = SecureNetworkBeacon.create(OTHER_NET_KEY, 7, key_refresh=False, iv_update=False)
    assert node.inspect_beacon(other.to_bytes()).net_key_index is None
    assert node.iv_index == 0  # inspecting is not receiving
    with pytest.raises(DecodeError):
        node.inspect_beacon(b"\x01\x00")


def test_inspect_reports_a_malformed_transport_layer() -> None:
    node = device(0x0002)
    # A Segment Acknowledgment with one octet of parameters: the network layer opens.
    [pdu] = node.encode(0x0003, b"\x00\x01", seq=3, control=True)
    found = node.inspect(pdu)
    assert found.network.pdu.seq == 3
    assert found.lower is None
    assert found.error is not None


def test_configuration_under_an_application_key_is_ignored(net: Net) -> None:
    """Any node holds the AppKey: a Config status under it is not the node's answer (a forged
    Composition Data), nor is a Remote Provisioning report; under its device key it is."""
    handle = net.ha.send(
        0x0002,
        ConfigCompositionDataGet(0),
        now=net.now,
        app_key_index=None,
        expect=ConfigCompositionDataStatus,
    )
    net.pump()
    net.take(0x0002, MessageReceived)
    forged = ConfigCompositionDataStatus(0, bytes(10))
    net.devices[0].send(0x0001, forged, now=net.now, app_key_index=0)
    report = RemoteProvisioningLinkReport(
        RemoteProvisioningStatus.SUCCESS, RemoteProvisioningLinkState.IDLE
    )
    net.devices[0].send(0x0001, report, now=net.now, app_key_index=0)
    net.pump()
    assert net.take(0x0001, ResponseReceived) == []
    assert net.take(0x0001, MessageReceived) == []
    ignored = net.take(0x0001, UndecodableMessage)
    assert [e.reason for e in ignored] == ["needs the source's device key"] * 2
    net.devices[0].send(0x0001, forged, now=net.now, app_key_index=None)
    net.pump()
    [response] = net.take(0x0001, ResponseReceived)
    assert response.handle == handle
