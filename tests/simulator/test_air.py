"""Simulated nodes on one advertising bearer (simulator.air): a client connected to one node
reaches the others through it (relay and proxy features, MshPRT 1.1 §3.4.6.3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from custom_components.ble_mesh.mesh.access import Message, encode_message
from custom_components.ble_mesh.mesh.models import config as cfg, generic as gen
from custom_components.ble_mesh.mesh.models.common import ModelId, PublishPeriod, Retransmit
from custom_components.ble_mesh.mesh.models.composition import CompositionDataPage0
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkKeyring,
    NetworkPdu,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.node import MessageReceived
from custom_components.ble_mesh.mesh.provisioning import (
    Provisioner,
    ProvisioningData,
    ProvisioningStart,
)
from custom_components.ble_mesh.mesh.proxy_config import AddAddresses
from custom_components.ble_mesh.mesh.transport import DeviceKey
from simulator.air import MeshAir
from simulator.node import SimulatedNode

from .harness import IV_INDEX, NET_KEY, NET_KEY_INDEX, FakeClock, ProvisioningRun, provision
from .proxy_client import APP_KEY, APP_KEY_INDEX, CLIENT_ADDRESS, ProxyClient, Received

A, B, C = 0x0B0C, 0x0B20, 0x0B30
GROUP = 0xC001
ONOFF_SERVER = 0x1000


class MeshClient(ProxyClient):
    """A proxy client holding every node's device key; pumps scheduled air deliveries."""

    def __init__(
        self,
        proxy: SimulatedNode,
        device_keys: dict[int, bytes],
        clock: FakeClock,
        nodes: list[SimulatedNode],
        *,
        mtu: int = 23,
    ) -> None:
        self.nodes = nodes
        assert proxy.unicast_address is not None
        super().__init__(proxy, device_keys[proxy.unicast_address], clock, mtu=mtu)
        for address, key in device_keys.items():
            self.stack.add_device_key(DeviceKey(key, address, 1))

    def pump(self) -> None:
        for _ in range(1000):
            self.clock.run_due()
            if not self.link.notifications:
                return
            super().pump()
        raise AssertionError("the mesh never settled")

    def advance(self, seconds: float) -> None:
        """Let time pass for every node's timers (not just the proxy node's)."""
        self.clock.now += seconds
        self.clock.run_due()
        for node in self.nodes:
            deadline = node.next_deadline()
            if deadline is not None and self.clock.now >= deadline:
                node.tick(self.clock.now)
        self._perform(list(self.stack.handle_timeout(self.clock.now)))
        self.pump()

    def configure(self, address: int, message: Message) -> list[Received]:
        """A Configuration Server request with ``address``'s device key; the replies."""
        start = len(self.received)
        key = next(k for k in self.stack.device_keys if k.address == address)
        actions = self.stack.send_access(
            address, encode_message(message), key=key, now=self.clock.now
        )
        self._perform(list(actions))
        self.pump()
        return [r for r in self.received[start:] if r.src == address]

    def config_to[M: Message](self, address: int, message: Message, expect: type[M]) -> M:
        replies = [r.message for r in self.configure(address, message)]
        found = [m for m in replies if isinstance(m, expect)]
        assert found, f"no {expect.__name__} from 0x{address:04x}"
        return found[-1]


def _node(
    address: int,
    air: MeshAir | None,
    clock: FakeClock,
    *,
    scheduled: bool,
    profile: str = "dimmable",
) -> tuple[SimulatedNode, bytes]:
    node = SimulatedNode(profile, clock=clock, schedule=clock.schedule if scheduled else None)
    run = provision(node, choice=ProvisioningStart(), clock=clock, unicast=address)
    assert run.result is not None
    if air is not None:
        air.join(node)
    return node, run.result.device_key


def _mesh(
    *, scheduled: bool = False, addresses: tuple[int, ...] = (A, B, C), mtu: int = 23
) -> tuple[MeshClient, list[SimulatedNode], MeshAir]:
    """Nodes on one air, a client connected to the first; every node has the AppKey."""
    clock = FakeClock()
    air = MeshAir()
    nodes, keys = [], {}
    for address in addresses:
        node, key = _node(address, air, clock, scheduled=scheduled)
        nodes.append(node)
        keys[address] = key
    client = MeshClient(nodes[0], keys, clock, nodes, mtu=mtu)
    for address in addresses:
        added = client.config_to(
            address,
            cfg.ConfigAppKeyAdd(NET_KEY_INDEX, APP_KEY_INDEX, APP_KEY),
            cfg.ConfigAppKeyStatus,
        )
        assert added.status is cfg.ConfigStatus.SUCCESS
        bound = client.config_to(
            address,
            cfg.ConfigModelAppBind(address, APP_KEY_INDEX, ModelId(ONOFF_SERVER)),
            cfg.ConfigModelAppStatus,
        )
        assert bound.status is cfg.ConfigStatus.SUCCESS
    client.clear()
    return client, nodes, air


def _opened(air: MeshAir) -> list[tuple[str, NetworkPdu]]:
    """Every transmission on the air, decrypted: (sender's BLE address, PDU)."""
    keys = NetworkKeyring()
    keys.add(NET_KEY_INDEX, NET_KEY)
    iv = IvIndexState(iv_index=IV_INDEX)
    return [(t.sender, decrypt_with_keyring(t.data, keys, iv).pdu) for t in air.history]


def _count_access(node: SimulatedNode) -> list[MessageReceived]:
    """Record every access message the node's models handle."""
    seen: list[MessageReceived] = []
    original: Callable[[MessageReceived, float], None] = node._on_access

    def counting(message: MessageReceived, now: float) -> None:
        seen.append(message)
        original(message, now)

    node._on_access = counting  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("scheduled", [False, True], ids=["synchronous", "scheduled"])
def test_client_controls_nodes_behind_its_proxy(scheduled: bool) -> None:
    client, (a, b, c), _ = _mesh(scheduled=scheduled)
    status = client.request(B, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    assert status.present_on is True
    assert [n.lights[0].on for n in (a, b, c)] == [0, 1, 0]
    status = client.request(C, gen.GenericOnOffSet(True, 2), gen.GenericOnOffStatus)
    assert status.present_on is True
    assert [n.lights[0].on for n in (a, b, c)] == [0, 1, 1]
    status = client.request(A, gen.GenericOnOffSet(True, 3), gen.GenericOnOffStatus)
    assert [n.lights[0].on for n in (a, b, c)] == [1, 1, 1]
    # Exactly one reply per request: no duplicate reached the client.
    assert Counter(r.src for r in client.received) == {A: 1, B: 1, C: 1}


def test_segmented_messages_cross_the_air() -> None:
    """Composition Data (segmented) from B, its segment acks from the client, through A."""
    client, (_, b, _), _ = _mesh()
    status = client.config_to(B, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    page = CompositionDataPage0.from_bytes(status.data)
    assert [e.sig_models for e in page.elements] == [e.models for e in b.profile.elements]


def test_segment_lost_by_the_proxy_is_retransmitted_by_the_far_node() -> None:
    client, (a, _, _), _ = _mesh(mtu=69)  # one Network PDU per notification
    lost_index = a._tx_values + 1  # the second segment of C's reply, forwarded by A
    a.faults.lose_segments = frozenset({lost_index})
    replies = client.configure(C, cfg.ConfigCompositionDataGet(0))
    assert replies == []
    assert a.lost_segments == [lost_index]
    for _ in range(10):
        client.advance(0.5)
    (status,) = client.messages_of(cfg.ConfigCompositionDataStatus)
    assert CompositionDataPage0.from_bytes(status.data).elements


@pytest.mark.parametrize("scheduled", [False, True], ids=["synchronous", "scheduled"])
def test_publications_reach_the_client_through_the_proxy(scheduled: bool) -> None:
    client, (_, b, _), _ = _mesh(scheduled=scheduled)
    pub = client.config_to(
        B,
        cfg.ConfigModelPublicationSet(
            B,
            CLIENT_ADDRESS,
            APP_KEY_INDEX,
            False,
            0xFF,
            PublishPeriod(0),
            Retransmit(0, 0),
            ModelId(ONOFF_SERVER),
        ),
        cfg.ConfigModelPublicationStatus,
    )
    assert pub.status is cfg.ConfigStatus.SUCCESS
    client.clear()
    b.set_state(on=True)
    client.pump()
    published = [r for r in client.received if r.src == B]
    assert [type(r.message) for r in published] == [gen.GenericOnOffStatus]
    assert published[0].dst == CLIENT_ADDRESS


def test_group_publication_passes_the_proxy_filter() -> None:
    client, (_, _, c), _ = _mesh()
    client.config_to(
        C,
        cfg.ConfigModelPublicationSet(
            C,
            GROUP,
            APP_KEY_INDEX,
            False,
            0xFF,
            PublishPeriod(0),
            Retransmit(0, 0),
            ModelId(ONOFF_SERVER),
        ),
        cfg.ConfigModelPublicationStatus,
    )
    client.clear()
    c.set_state(on=True)
    client.pump()
    assert client.received == []  # the accept list holds only the client's address
    client.proxy_config(AddAddresses((GROUP,)))
    c.set_state(on=False)
    client.pump()
    assert [(r.src, r.dst) for r in client.received] == [(C, GROUP)]


@pytest.mark.parametrize("scheduled", [False, True], ids=["synchronous", "scheduled"])
def test_group_message_reaches_every_subscriber_once(scheduled: bool) -> None:
    client, nodes, _ = _mesh(scheduled=scheduled)
    for node in nodes[:2]:  # A and B subscribe, C does not
        address = node.unicast_address
        assert address is not None
        sub = client.config_to(
            address,
            cfg.ConfigModelSubscriptionAdd(address, GROUP, ModelId(ONOFF_SERVER)),
            cfg.ConfigModelSubscriptionStatus,
        )
        assert sub.status is cfg.ConfigStatus.SUCCESS
    client.clear()
    handled = [_count_access(node) for node in nodes]
    client.send(GROUP, gen.GenericOnOffSet(True, 7))
    assert [len(h) for h in handled] == [1, 1, 0]
    assert [n.lights[0].on for n in nodes] == [1, 1, 0]
    assert sorted(r.src for r in client.received) == [A, B]  # one status each


def test_relaying_decrements_ttl_and_never_loops() -> None:
    client, nodes, air = _mesh()
    before = len(air.history)
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 9), ttl=5)
    sent = [
        (sender, pdu)
        for sender, pdu in _opened(air)[before:]
        if pdu.src == CLIENT_ADDRESS and pdu.dst == B
    ]
    by_sender = {sender: pdu.ttl for sender, pdu in sent}
    a, b, c = nodes
    # A (the proxy) forwards it with TTL 4, C relays A's copy with TTL 3; B is the destination
    # and does not relay a message for its own element. Nobody transmits it twice.
    assert by_sender == {a.address: 4, c.address: 3}
    assert len(sent) == 2
    assert len({pdu.seq for _, pdu in sent}) == 1
    assert b.lights[0].on == 1


def test_ttl_limits_the_hops() -> None:
    client, (a, b, _), air = _mesh()
    before = len(air.history)
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 9), ttl=2)
    hops = [pdu.ttl for _, pdu in _opened(air)[before:] if pdu.src == CLIENT_ADDRESS]
    assert hops == [1]  # A forwards with TTL 1, which nobody relays
    assert b.lights[0].on == 1
    before = len(air.history)
    client.send(B, gen.GenericOnOffSetUnacknowledged(False, 10), ttl=0)
    assert [p for _, p in _opened(air)[before:] if p.src == CLIENT_ADDRESS] == []
    assert b.lights[0].on == 1  # TTL 0 stays with A: B never heard it
    assert a.lights[0].on == 0


def test_many_relays_transmit_each_pdu_at_most_once() -> None:
    """A dense mesh of relays, maximum TTL: bounded traffic, no recursion, no duplicates."""
    addresses = tuple(0x0100 + 0x10 * i for i in range(12))
    client, nodes, air = _mesh(addresses=addresses)
    handled = [_count_access(node) for node in nodes]
    before = len(air.history)
    client.send(0xFFFF, gen.GenericOnOffSetUnacknowledged(True, 11), ttl=127)
    copies = Counter(sender for sender, pdu in _opened(air)[before:] if pdu.src == CLIENT_ADDRESS)
    assert set(copies) == {n.address for n in nodes}
    assert set(copies.values()) == {1}
    assert [len(h) for h in handled] == [1] * len(nodes)
    assert all(n.lights[0].on == 1 for n in nodes)


def test_own_transmissions_are_not_heard_back() -> None:
    client, (_, b, _), air = _mesh()
    own = [t.data for t in air.history if t.sender == b.address]
    assert own  # B's configuration replies went on the air
    heard: list[bytes] = []
    original = b.air_receive

    def recording(data: bytes, now: float | None = None, *, beacon: bool = False) -> None:
        heard.append(data)
        original(data, now, beacon=beacon)

    b.air_receive = recording  # type: ignore[method-assign]
    handled = _count_access(b)
    before = len(air.history)
    air.transmit(b, own[-1])  # B does not hear itself; A and C have it in their cache
    assert heard == []
    assert len(air.history) == before + 1  # nobody relayed the repeat
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 12))
    assert len(handled) == 1
    before = len(air.history)
    for transmission in list(air.history):
        b.air_receive(transmission.data)  # replay everything: own PDUs and cached ones
    assert len(handled) == 1
    assert len(air.history) == before


def test_other_networks_are_ignored_and_not_relayed() -> None:
    client, (_, b, _), air = _mesh()
    clock = client.clock
    stranger = SimulatedNode("dimmable", clock=clock)
    data = ProvisioningData(
        net_key=bytes(range(16)), key_index=0, iv_index=IV_INDEX, unicast_address=B
    )
    run = ProvisioningRun(stranger, Provisioner(data), clock).start()
    assert run.result is not None
    air.join(stranger)
    handled = _count_access(stranger)
    before = len(air.history)
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 13))
    assert handled == []
    senders = {t.sender for t in list(air.history)[before:]}
    assert stranger.address not in senders
    assert b.lights[0].on == 1


def test_relay_feature_disabled() -> None:
    client, (a, b, c), air = _mesh()
    relay = client.config_to(C, cfg.ConfigRelaySet(False, Retransmit(0, 0)), cfg.ConfigRelayStatus)
    assert relay.state is cfg.FeatureState.DISABLED
    before = len(air.history)
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 14))
    senders = {t.sender for t in list(air.history)[before:]}
    assert c.address not in senders
    assert a.address in senders
    assert b.lights[0].on == 1


def test_stop_answering_node_is_deaf_on_the_air() -> None:
    client, (_, b, _), _ = _mesh()
    b.faults.stop_answering = True
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 15))
    assert b.lights[0].on == 0


def test_leaving_the_air_and_persistence() -> None:
    client, (a, b, c), air = _mesh()
    assert b.air is air
    saved = b.to_dict()
    assert "air" not in saved
    air.leave(b)
    assert b.air is None
    assert air.nodes == (a, c)
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 16))
    assert b.lights[0].on == 0
    restored = SimulatedNode.from_dict(saved, clock=client.clock, air=air)
    assert restored.air is air
    client.send(B, gen.GenericOnOffSetUnacknowledged(True, 17))
    assert restored.lights[0].on == 1


def test_scheduled_deliveries_are_cancelled_with_the_node_timers() -> None:
    clock = FakeClock()
    air = MeshAir()
    a, _ = _node(A, air, clock, scheduled=True)
    b, _ = _node(B, air, clock, scheduled=True)
    air.transmit(a, b"\x00" * 20)  # noise: B drops it, but it is delivered
    assert air.deliveries == 0  # scheduled, not synchronous
    clock.run_due()
    assert air.deliveries == 1
    air.transmit(a, b"\x00" * 20)
    a.cancel_timers()  # what an owner does when it stops (end of a test)
    b.cancel_timers()
    clock.run_due()
    assert air.deliveries == 1
