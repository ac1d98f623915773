"""Remote Provisioning over the simulated, ranged air (MshPRT 1.1 §4.4.5 Remote Provisioning
Server, §4.3.4 messages, §5.2.3 PB-Remote, §5.2.1/§5.3 PB-ADV, §3.10.2 beacons).

The engine's PbRemoteClient (what Home Assistant runs) talks through a proxy node A to the
Remote Provisioning Server S of another light; the device D is in S's radio range only, never
in A's, so every PDU crosses: client -GATT- A -air- S -PB-ADV- D. Time is a fake clock: every
scheduled callback (air deliveries, node timers) runs in order, the client's timers too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from custom_components.ble_mesh.compat import vol
from custom_components.ble_mesh.mesh.access import Message, encode_message
from custom_components.ble_mesh.mesh.beacons import (
    COMPLETE_LOCAL_NAME_AD_TYPE,
    URI_AD_TYPE,
    OobInformation,
    uri_data,
    uri_hash,
)
from custom_components.ble_mesh.mesh.models import config as cfg
from custom_components.ble_mesh.mesh.models.composition import CompositionDataPage0
from custom_components.ble_mesh.mesh.models.model_ids import REMOTE_PROVISIONING_SERVER
from custom_components.ble_mesh.mesh.models.remote_provisioning import (
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
    RemoteProvisioningScanReport,
    RemoteProvisioningScanStart,
    RemoteProvisioningScanState,
    RemoteProvisioningScanStatus,
    RemoteProvisioningScanStop,
    RemoteProvisioningStatus,
    ad_structures,
)
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    CapabilitiesReceived,
    Completed,
    Failed,
    FailureReason,
    InputAction,
    InputKind,
    NodeRefresh,
    NppiProcedure,
    OutputAction,
    PduType,
    Provisioner,
    ProvisionerResult,
    ProvisioningErrorCode,
    ProvisioningFailure,
    ProvisioningInvite,
    ProvisioningStart,
    PublicKeyMethod,
    RequestInput,
    ShowValue,
)
from custom_components.ble_mesh.mesh.provisioning.pb_adv import CloseReason
from custom_components.ble_mesh.mesh.provisioning.pb_remote import (
    OUTBOUND_REPORT_TIMEOUT,
    PbRemoteAction,
    PbRemoteClient,
    PbRemoteState,
    SendRemoteMessage,
)
from custom_components.ble_mesh.mesh.transport import DeviceKey
from simulator.air import MeshAir
from simulator.demo import arrange_air, demo_lights
from simulator.faults import DeviceFaults, ServerFaults
from simulator.node import NodeFaults, NodeStatus, OobCapabilities, SimulatedNode

from .harness import FakeClock, provision, provisioning_data
from .proxy_client import ProxyClient, Received

A, S, D = 0x0100, 0x0200, 0x0300
RANGE = 10.0
STATIC = bytes(range(1, 17))
URI = "https://example.com/far-light"
CMAC = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
HMAC = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
ALGORITHMS = pytest.mark.parametrize("algorithm", [CMAC, HMAC], ids=["cmac", "hmac"])


class Clock(FakeClock):
    """The harness clock, telling when its next callback is due."""

    def next_due(self) -> float | None:
        return min((entry[0] for entry in self._pending), default=None)


@dataclass
class World:
    """A proxy node A, a light S with a Remote Provisioning Server, devices only S hears."""

    clock: Clock
    air: MeshAir
    proxy: SimulatedNode
    server: SimulatedNode
    client: ProxyClient
    keys: dict[int, bytes]
    seen: int = 0
    on_message: Callable[[Received], None] | None = None

    def send(self, dst: int, message: Message) -> None:
        key = DeviceKey(self.keys[dst], dst, 1)
        self.client.stack.add_device_key(key)  # replies are opened with the key last used
        actions = self.client.stack.send_access(
            dst, encode_message(message), key=key, now=self.clock.now
        )
        self.client._perform(list(actions))

    def step(self, extra: float | None = None) -> bool:
        """Run the next thing due (a callback, a client timer); False when nothing is."""
        stack_deadline = self.client.stack.next_deadline()
        times = [t for t in (self.clock.next_due(), stack_deadline, extra) if t is not None]
        if not times:
            return False
        self.clock.now = max(self.clock.now, min(times))
        self.clock.run_due()
        if stack_deadline is not None and self.clock.now >= stack_deadline:
            self.client._perform(list(self.client.stack.handle_timeout(self.clock.now)))
        self.client.pump()
        while self.seen < len(self.client.received):
            received = self.client.received[self.seen]
            self.seen += 1
            if self.on_message is not None:
                self.on_message(received)
        return True

    def run_until(self, done: Callable[[], bool], seconds: float = 300.0) -> None:
        end = self.clock.now + seconds
        while not done() and self.clock.now < end and self.step():
            pass

    def run_for(self, seconds: float) -> None:
        end = self.clock.now + seconds
        while self.clock.now < end and self.step(end):
            pass

    def messages_of[M: Message](self, kind: type[M]) -> list[M]:
        return self.client.messages_of(kind)

    def request[M: Message](self, dst: int, message: Message, expect: type[M]) -> M:
        start = len(self.client.received)
        self.send(dst, message)
        self.run_until(
            lambda: any(isinstance(r.message, expect) for r in self.client.received[start:]), 10
        )
        found = [r.message for r in self.client.received[start:] if isinstance(r.message, expect)]
        assert found, f"no {expect.__name__}"
        return found[0]


def _provisioned(address: int, clock: Clock, **kwargs: object) -> tuple[SimulatedNode, bytes]:
    node = SimulatedNode("dimmable", clock=clock, schedule=clock.schedule, **kwargs)  # type: ignore[arg-type]
    # No OOB with the best algorithm the node has (§5.4.2.3: HMAC whenever it is offered).
    choice = ProvisioningStart(algorithm=max(node.oob.algorithms))
    run = provision(node, choice=choice, clock=clock, unicast=address)
    assert run.result is not None
    return node, run.result.device_key


def _world(
    *, delay: float = 0.0, relays: int = 0, server_oob: OobCapabilities | None = None
) -> World:
    """A at 0 m, ``relays`` lights every 8 m, S 8 m further; a device at S + 8 m hears S only."""
    clock = Clock()
    air = MeshAir(schedule=clock.schedule, delay=delay, radio_range=RANGE)
    proxy, proxy_key = _provisioned(A, clock)
    air.join(proxy, position=(0.0, 0.0))
    for index in range(relays):
        relay, _ = _provisioned(A + 0x10 * (index + 1), clock)
        air.join(relay, position=(8.0 * (index + 1), 0.0))
    server, server_key = _provisioned(S, clock, remote_provisioning=True, oob=server_oob)
    air.join(server, position=(8.0 * (relays + 1), 0.0))
    client = ProxyClient(proxy, proxy_key, clock)
    client.stack.add_device_key(DeviceKey(server_key, S, 1))
    return World(clock, air, proxy, server, client, {A: proxy_key, S: server_key})


def _device(
    world: World, *, position: tuple[float, float] | None = None, **kwargs: object
) -> SimulatedNode:
    if position is None:
        server = world.air.position(world.server)
        assert server is not None
        position = (server[0] + 8.0, 0.0)
    node = SimulatedNode(
        "dimmable",
        clock=world.clock,
        schedule=world.clock.schedule,
        **kwargs,  # type: ignore[arg-type]
    )
    world.air.join(node, position=position)
    return node


@dataclass
class RemoteRun:
    """One PB-Remote session of the engine's client through the world's server."""

    world: World
    device: SimulatedNode | None
    pb: PbRemoteClient
    choice: ProvisioningStart | None = None
    static_oob: bytes | None = None
    device_public_key: bytes | None = None
    result: ProvisionerResult | None = None
    failure: ProvisioningFailure | None = None
    pdu_sends: set[int] = field(default_factory=set)
    link_reports: list[RemoteProvisioningLinkReport] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def finished(self) -> bool:
        return self.result is not None or self.failure is not None

    def on_message(self, received: Received) -> None:
        if isinstance(received.message, RemoteProvisioningLinkReport):
            self.link_reports.append(received.message)
        self.perform(self.pb.receive(received.src, received.message, self.world.clock.now))

    def perform(self, actions: list[PbRemoteAction]) -> None:
        now = self.world.clock.now
        for action in actions:
            if isinstance(action, SendRemoteMessage):
                number = getattr(action.message, "outbound_pdu_number", None)
                if number is not None:
                    self.pdu_sends.add(number)
                self.world.send(action.dst, action.message)
            elif isinstance(action, CapabilitiesReceived):
                choice = self.choice or action.suggested
                assert choice is not None
                self.perform(
                    self.pb.choose(
                        choice,
                        now,
                        static_oob=self.static_oob,
                        device_public_key=self.device_public_key,
                    )
                )
            elif isinstance(action, RequestInput):
                if action.kind is InputKind.OUTPUT_OOB:
                    assert self.device is not None
                    value = self.device.shown_oob_value
                    assert value is not None, "the device shows no Output OOB value"
                    self.perform(self.pb.provide_oob(value, now))
                elif action.kind is InputKind.STATIC_OOB:
                    assert self.static_oob is not None
                    self.perform(self.pb.provide_oob(self.static_oob, now))
            elif isinstance(action, ShowValue):
                assert self.device is not None
                self.device.enter_input_oob(action.value, now)  # a person types it in
            elif isinstance(action, Completed):
                assert isinstance(action.result, ProvisionerResult)
                self.result = action.result
            elif isinstance(action, Failed):
                self.failure = action.reason

    def run(self, seconds: float = 600.0) -> RemoteRun:
        world = self.world
        world.on_message = self.on_message
        self.started_at = world.clock.now
        if self.pb.state is PbRemoteState.IDLE:
            self.perform(self.pb.open(world.clock.now))
        end = world.clock.now + seconds
        while not self.finished and world.clock.now < end:
            deadline = self.pb.next_deadline()
            if deadline is not None and world.clock.now >= deadline:
                self.perform(self.pb.timeout(world.clock.now))
                continue
            if not world.step(deadline):
                break
        self.finished_at = world.clock.now
        world.run_for(1.0)  # the Link Close and its reports settle
        return self


def _remote(
    world: World,
    device: SimulatedNode,
    *,
    choice: ProvisioningStart | None = None,
    static_oob: bytes | None = None,
    device_public_key: bytes | None = None,
) -> RemoteRun:
    provisioner = Provisioner(provisioning_data(D))
    pb = PbRemoteClient(provisioner, server=S, uuid=device.device_uuid)
    return RemoteRun(
        world,
        device,
        pb,
        choice=choice,
        static_oob=static_oob,
        device_public_key=device_public_key,
    ).run()


# --- the air ------------------------------------------------------------------------------


def test_range_decides_who_hears_whom() -> None:
    world = _world()
    far = _device(world)
    near_proxy = _device(world, position=(-4.0, 0.0))
    air = world.air
    assert air.in_range(world.proxy, world.server)
    assert air.in_range(world.server, far)
    assert not air.in_range(world.proxy, far)
    assert not air.in_range(world.server, near_proxy)
    assert air.neighbours(far) == (world.server,)
    # Explicit neighbours win over geometry, both ways.
    hidden = SimulatedNode("dimmable")
    air.join(hidden, position=(0.0, 0.0), near=[far])
    assert air.neighbours(hidden) == (far,)
    assert not air.in_range(world.proxy, hidden)


def test_default_air_has_no_range() -> None:
    air = MeshAir()
    a, b = SimulatedNode("dimmable", air=air), SimulatedNode("dimmable")
    air.join(b, position=(1000.0, 0.0))
    assert air.in_range(a, b)


def test_a_quiet_air_stays_quiet() -> None:
    """No scan, no beacons: unprovisioned devices only answer a scanner."""
    world = _world()
    _device(world)
    world.run_for(30.0)
    assert [t for t in world.air.history if t.beacon and t.data[:1] == b"\x00"] == []
    assert not any(t.pb_adv for t in world.air.history)


# --- scanning -----------------------------------------------------------------------------


def test_composition_lists_the_server_model() -> None:
    world = _world()
    status = world.request(S, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    page = CompositionDataPage0.from_bytes(status.data)
    assert REMOTE_PROVISIONING_SERVER in page.elements[0].sig_models
    assert REMOTE_PROVISIONING_SERVER not in world.proxy.profile.elements[0].models


def test_scan_finds_only_devices_in_the_servers_range() -> None:
    world = _world()
    far = _device(world, uri=URI, oob_information=OobInformation.ELECTRONIC_URI, rssi=-70)
    _device(world, position=(-4.0, 0.0))  # near the proxy only
    caps = world.request(
        S, RemoteProvisioningScanCapabilitiesGet(), RemoteProvisioningScanCapabilitiesStatus
    )
    assert caps.max_scanned_items >= 4
    assert caps.active_scan
    status = world.request(S, RemoteProvisioningScanStart(0, 5), RemoteProvisioningScanStatus)
    assert status.status is RemoteProvisioningStatus.SUCCESS
    assert status.scan_state is RemoteProvisioningScanState.MULTIPLE_DEVICES
    world.run_for(6.0)
    reports = world.messages_of(RemoteProvisioningScanReport)
    assert [r.uuid for r in reports] == [far.device_uuid]
    (report,) = reports
    assert report.rssi == -70
    assert report.oob_information == int(OobInformation.ELECTRONIC_URI)
    assert report.uri_hash == uri_hash(URI)
    # The scan ended with its timeout.
    assert world.server.remote_provisioning_server is not None
    assert world.server.remote_provisioning_server.scan_state is RemoteProvisioningScanState.IDLE


def test_scan_for_one_uuid_and_a_device_that_appears_later() -> None:
    world = _world()
    wanted = SimulatedNode("dimmable", clock=world.clock, schedule=world.clock.schedule)
    _device(world, position=(12.0, 0.0))
    status = world.request(
        S, RemoteProvisioningScanStart(1, 10, wanted.device_uuid), RemoteProvisioningScanStatus
    )
    assert status.scan_state is RemoteProvisioningScanState.SINGLE_DEVICE
    world.run_for(3.0)
    assert world.messages_of(RemoteProvisioningScanReport) == []
    world.air.join(wanted, position=(14.0, 2.0))  # switched on mid-scan
    world.run_for(3.0)
    assert [r.uuid for r in world.messages_of(RemoteProvisioningScanReport)] == [wanted.device_uuid]


def test_scan_limit() -> None:
    world = _world()
    for y in (0.0, 2.0, 4.0):
        _device(world, position=(15.0, y))
    refused = world.request(S, RemoteProvisioningScanStart(200, 5), RemoteProvisioningScanStatus)
    assert refused.status is RemoteProvisioningStatus.LIMITED_RESOURCES
    status = world.request(S, RemoteProvisioningScanStart(2, 5), RemoteProvisioningScanStatus)
    assert status.scanned_items_limit == 2
    world.run_for(6.0)
    assert len(world.messages_of(RemoteProvisioningScanReport)) == 2
    stopped = world.request(S, RemoteProvisioningScanStop(), RemoteProvisioningScanStatus)
    assert stopped.scan_state is RemoteProvisioningScanState.IDLE


def test_extended_scan_reads_uri_and_name() -> None:
    world = _world()
    far = _device(world, uri=URI, name="Far Light", oob_information=OobInformation.ELECTRONIC_URI)
    world.send(
        S,
        RemoteProvisioningExtendedScanStart(
            bytes((URI_AD_TYPE, COMPLETE_LOCAL_NAME_AD_TYPE)), far.device_uuid, 5
        ),
    )
    world.run_until(lambda: bool(world.messages_of(RemoteProvisioningExtendedScanReport)), 10)
    (report,) = world.messages_of(RemoteProvisioningExtendedScanReport)
    assert report.status is RemoteProvisioningStatus.SUCCESS
    assert report.oob_information == int(OobInformation.ELECTRONIC_URI)
    assert report.adv_structures is not None
    assert dict(ad_structures(report.adv_structures)) == {
        URI_AD_TYPE: uri_data(URI),
        COMPLETE_LOCAL_NAME_AD_TYPE: b"Far Light",
    }


def test_extended_scan_of_a_device_out_of_range_reports_nothing_found() -> None:
    world = _world()
    near_proxy = _device(world, position=(-4.0, 0.0))
    world.send(
        S,
        RemoteProvisioningExtendedScanStart(
            bytes((COMPLETE_LOCAL_NAME_AD_TYPE,)), near_proxy.device_uuid, 2
        ),
    )
    world.run_for(4.0)
    (report,) = world.messages_of(RemoteProvisioningExtendedScanReport)
    assert report.oob_information is None
    assert report.adv_structures is None


# --- provisioning through the server ------------------------------------------------------


def _gatt_log(
    oob: OobCapabilities, choice: ProvisioningStart, **kwargs: object
) -> list[tuple[str, PduType]]:
    """The PDUs of the same method over PB-GATT (a twin device, the harness's provisioner)."""
    twin = SimulatedNode("dimmable", oob=oob, oob_private_key=kwargs.pop("oob_private_key", None))  # type: ignore[arg-type]
    run = provision(twin, choice=choice, **kwargs)  # type: ignore[arg-type]
    assert run.result is not None
    return twin.provisioning_log


def _check_remote(run: RemoteRun, device: SimulatedNode, gatt: list[tuple[str, PduType]]) -> None:
    assert run.failure is None
    assert run.result is not None
    assert device.state is NodeStatus.PROVISIONED
    assert device.unicast_address == D
    assert device.provisioning_log == gatt
    server = run.world.server.remote_provisioning_server
    assert server is not None
    sent = [pdu_type for direction, pdu_type in gatt if direction == "in"]
    received = [pdu_type for direction, pdu_type in gatt if direction == "out"]
    assert [PduType(p[0]) for p in server.outbound_pdus] == sent
    assert [PduType(p[0]) for p in server.inbound_pdus] == received
    assert run.pdu_sends == set(range(1, len(sent) + 1))
    # The new node answers through the relay with its new device key.
    world = run.world
    world.keys[D] = run.result.device_key
    status = world.request(D, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    assert CompositionDataPage0.from_bytes(status.data).elements


@ALGORITHMS
def test_no_oob(algorithm: Algorithm) -> None:
    oob = OobCapabilities(algorithms=frozenset({algorithm}))
    choice = ProvisioningStart(algorithm=algorithm)
    world = _world()
    device = _device(world, oob=oob)
    _check_remote(_remote(world, device, choice=choice), device, _gatt_log(oob, choice))


@ALGORITHMS
def test_static_oob(algorithm: Algorithm) -> None:
    oob = OobCapabilities(algorithms=frozenset({algorithm}), static_oob=STATIC)
    choice = ProvisioningStart(algorithm=algorithm, auth_method=AuthMethod.STATIC_OOB)
    world = _world()
    device = _device(world, oob=oob)
    run = _remote(world, device, choice=choice, static_oob=STATIC)
    _check_remote(run, device, _gatt_log(oob, choice, static_oob=STATIC))


@ALGORITHMS
def test_output_oob_numeric(algorithm: Algorithm) -> None:
    oob = OobCapabilities(
        algorithms=frozenset({algorithm}),
        output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}),
        output_size=6,
    )
    choice = ProvisioningStart(
        algorithm=algorithm,
        auth_method=AuthMethod.OUTPUT_OOB,
        auth_action=OutputAction.OUTPUT_NUMERIC,
        auth_size=6,
    )
    world = _world()
    device = _device(world, oob=oob)
    _check_remote(_remote(world, device, choice=choice), device, _gatt_log(oob, choice))


@ALGORITHMS
def test_input_oob(algorithm: Algorithm) -> None:
    oob = OobCapabilities(
        algorithms=frozenset({algorithm}),
        input_actions=frozenset({InputAction.INPUT_NUMERIC}),
        input_size=4,
    )
    choice = ProvisioningStart(
        algorithm=algorithm,
        auth_method=AuthMethod.INPUT_OOB,
        auth_action=InputAction.INPUT_NUMERIC,
        auth_size=4,
    )
    world = _world()
    device = _device(world, oob=oob)
    run = _remote(world, device, choice=choice)
    _check_remote(run, device, _gatt_log(oob, choice))
    assert ("out", PduType.INPUT_COMPLETE) in device.provisioning_log


@ALGORITHMS
def test_oob_public_key(algorithm: Algorithm) -> None:
    private = 0x1234567890ABCDEF
    oob = OobCapabilities(algorithms=frozenset({algorithm}), public_key_oob=True, static_oob=STATIC)
    choice = ProvisioningStart(
        algorithm=algorithm, public_key=PublicKeyMethod.OOB, auth_method=AuthMethod.STATIC_OOB
    )
    world = _world()
    device = _device(world, oob=oob, oob_private_key=private)
    key = device.oob_public_key
    run = _remote(world, device, choice=choice, static_oob=STATIC, device_public_key=key)
    gatt = _gatt_log(oob, choice, static_oob=STATIC, device_public_key=key, oob_private_key=private)
    _check_remote(run, device, gatt)
    assert run.result is not None
    assert run.result.public_key_method is PublicKeyMethod.OOB
    assert ("out", PduType.PUBLIC_KEY) not in device.provisioning_log


def test_static_oob_time_at_30_ms_per_hop() -> None:
    """Each air hop (A -> S, S -> D and back, every PB-ADV segment) takes 30 ms; one more
    relay between the proxy and the server adds a hop to every access message."""
    oob = OobCapabilities(algorithms=frozenset({HMAC}), static_oob=STATIC)
    choice = ProvisioningStart(algorithm=HMAC, auth_method=AuthMethod.STATIC_OOB)
    times = {}
    for delay, relays in ((0.0, 0), (0.03, 0), (0.03, 1)):
        world = _world(delay=delay, relays=relays)
        device = _device(world, oob=oob)
        assert world.air.neighbours(device) == (world.server,)
        run = _remote(world, device, choice=choice, static_oob=STATIC)
        assert run.result is not None
        times[delay, relays] = run.finished_at - run.started_at
    assert times[0.0, 0] == 0.0  # without latency nothing waits: no timer is needed
    # Simulated time, HMAC static OOB: 0.84 s with one mesh hop, 1.26 s with two
    # (+0.42 s: 14 sequential crossings of the extra 30 ms hop).
    assert times[0.03, 0] == pytest.approx(0.84, abs=0.01)
    assert times[0.03, 1] == pytest.approx(1.26, abs=0.01)


# --- misbehaviour -------------------------------------------------------------------------


def _failing(world: World, **kwargs: object) -> RemoteRun:
    device = _device(world, **kwargs)  # type: ignore[arg-type]
    run = _remote(world, device)
    assert run.result is None
    assert run.failure is not None
    assert device.state is NodeStatus.UNPROVISIONED
    return run


def test_server_closes_the_link_mid_way() -> None:
    world = _world()
    world.server.faults.remote_provisioning = ServerFaults(close_link_after_pdu=2)
    run = _failing(world)
    assert run.failure is not None
    assert run.failure.reason is FailureReason.LINK_CLOSED
    assert run.link_reports[-1].status is RemoteProvisioningStatus.LINK_CLOSED_BY_SERVER
    assert run.link_reports[-1].state is RemoteProvisioningLinkState.IDLE


def test_server_falls_silent() -> None:
    world = _world()
    world.server.faults.remote_provisioning = ServerFaults(silent_after_pdu=2)
    start = world.clock.now
    run = _failing(world)
    assert run.failure is not None
    assert run.failure.reason is FailureReason.TIMEOUT
    assert world.clock.now - start >= OUTBOUND_REPORT_TIMEOUT


def test_server_skips_a_pdu_report_number() -> None:
    world = _world()
    world.server.faults.remote_provisioning = ServerFaults(skip_report_number=2)
    run = _failing(world)
    assert run.failure is not None
    assert run.failure.reason is FailureReason.LINK_CLOSED
    assert "out of order" in run.failure.text


def test_server_reuses_a_pdu_report_number() -> None:
    world = _world()
    world.server.faults.remote_provisioning = ServerFaults(reuse_report_number=2)
    run = _failing(world)
    # The client drops the report as a repeat, so both sides wait for each other until the
    # device's protocol timer closes the PB-ADV link (Timeout), which the server reports.
    assert run.failure is not None
    assert run.failure.reason is FailureReason.LINK_CLOSED
    assert run.finished_at - run.started_at >= 60.0
    last = run.link_reports[-1]
    assert last.status is RemoteProvisioningStatus.LINK_CLOSED_BY_DEVICE
    assert last.reason == CloseReason.TIMEOUT


def test_relayed_device_reflects_the_public_key() -> None:
    world = _world()
    run = _failing(world, faults=_device_faults(reflect_public_key=True))
    assert run.failure is not None
    assert run.failure.reason is FailureReason.REFLECTED_PUBLIC_KEY


def test_relayed_device_reports_provisioning_failed() -> None:
    world = _world()
    faults = NodeFaults(
        device=DeviceFaults(fail_with=ProvisioningErrorCode.UNEXPECTED_ERROR, fail_at=PduType.START)
    )
    run = _failing(world, faults=faults)
    assert run.failure is not None
    assert run.failure.reason is FailureReason.REMOTE_FAILED
    assert run.failure.code is ProvisioningErrorCode.UNEXPECTED_ERROR
    # The client closed the link (Fail); the server said so.
    assert run.link_reports[-1].status is RemoteProvisioningStatus.LINK_CLOSED_BY_CLIENT


def test_relayed_device_with_a_wrong_confirmation() -> None:
    world = _world()
    run = _failing(world, faults=_device_faults(wrong_confirmation=True))
    assert run.failure is not None
    assert run.failure.reason is FailureReason.CONFIRMATION_FAILED


def test_device_out_of_range_fails_to_open() -> None:
    world = _world()
    device = _device(world, position=(-4.0, 0.0))
    provisioner = Provisioner(provisioning_data(D))
    pb = PbRemoteClient(provisioner, server=S, uuid=device.device_uuid, link_open_timeout=2)
    run = RemoteRun(world, device, pb).run()
    assert run.failure is not None
    assert run.failure.reason is FailureReason.LINK_CLOSED
    assert run.link_reports[-1].status is RemoteProvisioningStatus.LINK_OPEN_FAILED


def test_device_vanishing_mid_way_ends_the_session() -> None:
    """The device stops answering after the Invite: nothing acknowledges the next PDU."""
    world = _world()
    device = _device(world)
    provisioner = Provisioner(provisioning_data(D))
    pb = PbRemoteClient(provisioner, server=S, uuid=device.device_uuid)
    run = RemoteRun(world, device, pb)
    world.on_message = run.on_message
    run.perform(pb.open(world.clock.now))
    world.run_until(lambda: ("out", PduType.CAPABILITIES) in device.provisioning_log, 10)
    device.faults.stop_answering = True
    run.run()  # the link is open: from here run() only drives the clock
    # PB-ADV gives up on the unacknowledged transaction after 30 s (§5.3.3); the server
    # reports it before the client's own Outbound Report timer would have.
    assert run.failure is not None
    assert run.failure.reason is FailureReason.LINK_CLOSED
    last = run.link_reports[-1]
    assert last.status is RemoteProvisioningStatus.LINK_CLOSED_AS_CANNOT_SEND_PDU
    assert last.reason == CloseReason.TIMEOUT
    server = world.server.remote_provisioning_server
    assert server is not None
    assert server.link_state is RemoteProvisioningLinkState.IDLE


def test_repeated_pdu_send_is_answered_with_the_same_outbound_report() -> None:
    world = _world()
    device = _device(world)
    world.send(S, RemoteProvisioningLinkOpen(uuid=device.device_uuid))
    world.run_until(lambda: bool(world.messages_of(RemoteProvisioningLinkReport)), 10)
    (opened,) = world.messages_of(RemoteProvisioningLinkReport)
    assert opened.state is RemoteProvisioningLinkState.LINK_ACTIVE
    invite = ProvisioningInvite(0).to_bytes()
    world.send(S, RemoteProvisioningPduSend(1, invite))
    world.run_for(2.0)
    world.send(S, RemoteProvisioningPduSend(1, invite))  # our report "got lost"
    world.run_for(2.0)
    world.send(S, RemoteProvisioningPduSend(3, invite))  # a stray number: not sent either
    world.run_for(2.0)
    outbound = world.messages_of(RemoteProvisioningPduOutboundReport)
    assert [r.outbound_pdu_number for r in outbound] == [1, 1, 1]
    reports = world.messages_of(RemoteProvisioningPduReport)
    assert [(r.inbound_pdu_number, PduType(r.pdu[0])) for r in reports] == [
        (1, PduType.CAPABILITIES)
    ]
    assert device.provisioning_log == [("in", PduType.INVITE), ("out", PduType.CAPABILITIES)]
    status = world.request(S, RemoteProvisioningLinkGet(), RemoteProvisioningLinkStatus)
    assert status.state is RemoteProvisioningLinkState.LINK_ACTIVE
    other = world.request(
        S, RemoteProvisioningLinkOpen(uuid=bytes(16)), RemoteProvisioningLinkStatus
    )
    assert other.status is RemoteProvisioningStatus.LINK_CANNOT_OPEN
    closing = world.request(
        S, RemoteProvisioningLinkClose(CloseReason.FAIL), RemoteProvisioningLinkStatus
    )
    assert (closing.status, closing.state) == (
        RemoteProvisioningStatus.SUCCESS,
        RemoteProvisioningLinkState.LINK_CLOSING,
    )
    world.run_for(2.0)
    closed = world.messages_of(RemoteProvisioningLinkReport)[-1]
    assert (closed.status, closed.state) == (
        RemoteProvisioningStatus.LINK_CLOSED_BY_CLIENT,
        RemoteProvisioningLinkState.IDLE,
    )
    assert device.provisioning_state is None  # the device heard Link Close: its session ended
    assert device.last_provisioning_failure is not None


def _device_faults(**switches: bool) -> NodeFaults:
    return NodeFaults(device=DeviceFaults(**switches))  # type: ignore[arg-type]


# --- NPPI -----------------------------------------------------------------------------------


def _nppi(
    world: World,
    procedure: NppiProcedure,
    address: int = S,
    *,
    choice: ProvisioningStart | None = None,
    static_oob: bytes | None = None,
) -> RemoteRun:
    data = provisioning_data(address)
    provisioner = Provisioner(data, refresh=NodeRefresh(procedure, S, 1))
    pb = PbRemoteClient(provisioner, server=S)
    return RemoteRun(world, None, pb, choice=choice, static_oob=static_oob).run()


def test_device_key_refresh() -> None:
    world = _world()
    old = world.keys[S]
    run = _nppi(world, NppiProcedure.DEVICE_KEY_REFRESH)
    assert run.failure is None
    assert run.result is not None
    new = run.result.device_key
    assert new != old
    assert world.server.provisioned is not None
    assert world.server.provisioned.device_key == new
    # The new key is answered ...
    world.keys[S] = new
    status = world.request(S, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    assert status.data
    # ... and the old one refused.
    world.keys[S] = old
    start = len(world.client.received)
    world.send(S, cfg.ConfigCompositionDataGet(0))
    world.run_for(5.0)
    assert [r for r in world.client.received[start:] if r.src == S] == []


def test_node_address_refresh() -> None:
    world = _world()
    run = _nppi(world, NppiProcedure.NODE_ADDRESS_REFRESH, address=0x0250)
    assert run.result is not None
    assert world.server.unicast_address == 0x0250
    world.keys[0x0250] = run.result.device_key
    status = world.request(0x0250, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    assert status.data
    # Nothing answers at the old address any more.
    world.keys[S] = run.result.device_key
    start = len(world.client.received)
    world.send(S, cfg.ConfigCompositionDataGet(0))
    world.run_for(5.0)
    assert world.client.received[start:] == []


@ALGORITHMS
def test_device_key_refresh_with_static_oob(algorithm: Algorithm) -> None:
    """NPPI runs the whole protocol, OOB included: the node's own static OOB value."""
    oob = OobCapabilities(algorithms=frozenset({algorithm}), static_oob=STATIC)
    world = _world(server_oob=oob)
    choice = ProvisioningStart(algorithm=algorithm, auth_method=AuthMethod.STATIC_OOB)
    run = _nppi(world, NppiProcedure.DEVICE_KEY_REFRESH, choice=choice, static_oob=STATIC)
    assert run.failure is None
    assert run.result is not None
    assert run.result.auth_method is AuthMethod.STATIC_OOB
    assert world.server.provisioned is not None
    assert world.server.provisioned.device_key == run.result.device_key
    world.keys[S] = run.result.device_key  # the next procedure talks with the new key
    wrong = _nppi(world, NppiProcedure.DEVICE_KEY_REFRESH, choice=choice, static_oob=bytes(16))
    # The node checks the Provisioner's Confirmation first and refuses it.
    assert wrong.failure is not None
    assert wrong.failure.reason is FailureReason.REMOTE_FAILED
    assert wrong.failure.code is ProvisioningErrorCode.CONFIRMATION_FAILED
    assert world.server.provisioned.device_key == run.result.device_key  # unchanged


def test_composition_refresh_after_a_firmware_update() -> None:
    world = _world()
    closed = _nppi(world, NppiProcedure.NODE_COMPOSITION_REFRESH)
    assert closed.failure is not None  # nothing changed: the server cannot open that link
    world.server.update_firmware("ctl")
    run = _nppi(world, NppiProcedure.NODE_COMPOSITION_REFRESH)
    assert run.result is not None
    assert world.server.profile.key == "ctl"
    assert world.server.pending_profile is None
    world.keys[S] = run.result.device_key
    status = world.request(S, cfg.ConfigCompositionDataGet(0), cfg.ConfigCompositionDataStatus)
    page = CompositionDataPage0.from_bytes(status.data)
    assert len(page.elements) == 2
    assert REMOTE_PROVISIONING_SERVER in page.elements[0].sig_models


def test_persistence_keeps_the_server_and_pending_firmware() -> None:
    world = _world()
    world.server.update_firmware("hsl")
    data = world.server.to_dict()
    again = SimulatedNode.from_dict(data)
    assert again.remote_provisioning
    assert again.remote_provisioning_server is not None
    assert again.pending_profile is not None
    assert again.pending_profile.key == "hsl"
    assert again.to_dict()["remote_provisioning"] is True


# --- the demo's configuration ---------------------------------------------------------------


def test_demo_config_places_a_light_near_another_only() -> None:
    lights = demo_lights(
        {
            "lights": [
                {"name": "Hall Lamp", "remote_provisioning": True},
                {"name": "Porch Light"},
                {"name": "Garage Light", "oob": "static", "near": "hall lamp", "uri": URI},
            ]
        }
    )
    by_name = {light.name: light for light in lights}
    garage = by_name["Garage Light"]
    assert garage.near == "Hall Lamp"
    assert by_name["Hall Lamp"].remote_provisioning
    assert by_name["Porch Light"].near is None
    air = MeshAir()
    nodes = {light.name: light.new_node(air=air) for light in lights}
    arrange_air(air, by_name, nodes)
    assert air.neighbours(nodes["Garage Light"]) == (nodes["Hall Lamp"],)
    assert air.in_range(nodes["Hall Lamp"], nodes["Porch Light"])
    assert nodes["Garage Light"].uri == URI
    assert nodes["Hall Lamp"].remote_provisioning
    with pytest.raises(vol.Invalid, match="no other light"):
        demo_lights({"lights": [{"name": "Lonely", "near": "Nobody"}]})


def test_power_cycled_device_fails_the_remote_session() -> None:
    """The device loses power mid-way: its session and link are gone, the client ends."""
    world = _world()
    device = _device(world)
    provisioner = Provisioner(provisioning_data(D))
    pb = PbRemoteClient(provisioner, server=S, uuid=device.device_uuid)
    run = RemoteRun(world, device, pb)
    world.on_message = run.on_message
    run.perform(pb.open(world.clock.now))
    world.run_until(lambda: ("out", PduType.CAPABILITIES) in device.provisioning_log, 10)
    device.power_cycle()
    assert device.provisioning_state is None
    assert device.last_provisioning_failure is not None
    run.run()
    assert run.failure is not None
    assert device.state is NodeStatus.UNPROVISIONED
