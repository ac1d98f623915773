"""Devices beyond lights: the wall switch's press, power cycles (Generic OnPowerUp), Health
faults; driven through the engine's client classes like a Home Assistant would."""

from __future__ import annotations

import json

import pytest

from custom_components.ble_mesh.mesh.access import Message, encode_message
from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.models import (
    config as cfg,
    generic as gen,
    health as hl,
    lighting as li,
    sensors as se,
)
from custom_components.ble_mesh.mesh.models.common import (
    ModelId,
    PublishPeriod,
    Retransmit,
    StepResolution,
)
from custom_components.ble_mesh.mesh.models.composition import COMPANY_ID_TEST
from custom_components.ble_mesh.mesh.models.model_ids import (
    GENERIC_ONOFF_CLIENT,
    GENERIC_ONOFF_SERVER,
    HEALTH_SERVER,
    SENSOR_SERVER,
)
from custom_components.ble_mesh.mesh.models.properties import (
    MOTION_SENSED,
    PRECISE_TOTAL_DEVICE_ENERGY_USE,
    PRESENT_AMBIENT_LIGHT_LEVEL,
    PRESENT_AMBIENT_RELATIVE_HUMIDITY,
    PRESENT_AMBIENT_TEMPERATURE,
    PRESENT_DEVICE_INPUT_POWER,
    decode_sensor_status,
)
from custom_components.ble_mesh.mesh.provisioning import ProvisioningStart
from custom_components.ble_mesh.mesh.proxy_config import AddAddresses
from custom_components.ble_mesh.mesh.transport import DeviceKey
from simulator.air import MeshAir
from simulator.node import SimulatedNode

from .harness import NET_KEY_INDEX, UNICAST, FakeClock, provision
from .proxy_client import APP_KEY, APP_KEY_INDEX, CLIENT_ADDRESS, ProxyClient

GROUP = 0xC005
SWITCH = 0x0B40


def _node(
    profile: str, clock: FakeClock, *, unicast: int = UNICAST, air: MeshAir | None = None
) -> tuple[SimulatedNode, bytes]:
    node = SimulatedNode(profile, clock=clock, air=air)
    run = provision(node, choice=ProvisioningStart(), clock=clock, unicast=unicast)
    assert run.result is not None
    return node, run.result.device_key


def _config(client: ProxyClient, dst: int, message: Message) -> list[Message]:
    """A Configuration Server request to ``dst`` with its device key; every reply from it."""
    key = next(k for k in client.stack.device_keys if k.address == dst)
    start = len(client.received)
    client._perform(
        list(client.stack.send_access(dst, encode_message(message), key=key, now=client.clock.now))
    )
    client.pump()
    return [r.message for r in client.received[start:] if r.src == dst]


def _setup(client: ProxyClient, node: SimulatedNode, publish: dict[int, int]) -> None:
    """AppKey Add; bind every model of the node's primary element; publish some of them."""
    address = node.unicast_address
    assert address is not None
    replies = _config(client, address, cfg.ConfigAppKeyAdd(NET_KEY_INDEX, APP_KEY_INDEX, APP_KEY))
    assert any(isinstance(r, cfg.ConfigAppKeyStatus) and r.status.value == 0 for r in replies)
    for model in node.profile.models_of(0)[1:]:  # all but the Configuration Server
        _config(client, address, cfg.ConfigModelAppBind(address, APP_KEY_INDEX, ModelId(model)))
    for model, publish_to in publish.items():
        (status,) = _config(
            client,
            address,
            cfg.ConfigModelPublicationSet(
                address,
                publish_to,
                APP_KEY_INDEX,
                False,
                0xFF,
                PublishPeriod(0),
                Retransmit(0, 0),
                ModelId(model),
            ),
        )
        assert isinstance(status, cfg.ConfigModelPublicationStatus)
        assert status.status is cfg.ConfigStatus.SUCCESS
    client.clear()


def _connect(profile: str, publish: dict[int, int]) -> ProxyClient:
    clock = FakeClock()
    node, device_key = _node(profile, clock)
    client = ProxyClient(node, device_key, clock)
    _setup(client, node, publish)
    return client


# --- the wall switch --------------------------------------------------------------------------


def test_press_publishes_onoff_set_unacknowledged_to_the_publish_address() -> None:
    client = _connect("wall_switch", {GENERIC_ONOFF_CLIENT: CLIENT_ADDRESS})
    switch = client.node
    assert switch.press() is True
    assert switch.press() is True
    assert switch.press(on=True) is True
    client.pump()
    sent = [r for r in client.received if isinstance(r.message, gen.GenericOnOffSetUnacknowledged)]
    assert [(r.src, r.dst, r.app_key_index) for r in sent] == [
        (UNICAST, CLIENT_ADDRESS, APP_KEY_INDEX)
    ] * 3
    messages = [r.message for r in sent]
    assert [m.on for m in messages] == [True, False, True]  # toggles, then the upper half
    tids = [m.tid for m in messages]
    assert len(set(tids)) == 3  # a new transaction each press


def test_press_without_publication_sends_nothing() -> None:
    client = _connect("wall_switch", {})
    assert client.node.press() is False
    client.pump()
    assert client.messages_of(gen.GenericOnOffSetUnacknowledged) == []
    with pytest.raises(MeshError, match="OnOff Client"):
        client.node.press(element=1)
    plug = _connect("onoff_plug", {})
    with pytest.raises(MeshError, match="OnOff Client"):
        plug.node.press()
    with pytest.raises(MeshError, match="not provisioned"):
        SimulatedNode("wall_switch").press()


def test_the_switch_turns_a_plug_on_across_the_air() -> None:
    """The story: a switch publishing to a group, a plug subscribed to it, one air."""
    clock = FakeClock()
    air = MeshAir()
    plug, plug_key = _node("onoff_plug", clock, air=air)
    switch, switch_key = _node("wall_switch", clock, unicast=SWITCH, air=air)
    client = ProxyClient(plug, plug_key, clock)
    client.stack.add_device_key(DeviceKey(switch_key, SWITCH, 1))
    _setup(client, plug, {GENERIC_ONOFF_SERVER: CLIENT_ADDRESS})
    _config(client, UNICAST, cfg.ConfigModelSubscriptionAdd(UNICAST, GROUP, ModelId(0x1000)))
    _setup(client, switch, {GENERIC_ONOFF_CLIENT: GROUP})
    client.proxy_config(AddAddresses((GROUP,)))
    client.clear()
    assert switch.press() is True
    client.pump()
    assert plug.lights[0].on == 1
    # Home Assistant hears both: the switch's Set (through the filter) and the plug's status.
    assert [m.on for m in client.messages_of(gen.GenericOnOffSetUnacknowledged)] == [True]
    assert [m.present_on for m in client.messages_of(gen.GenericOnOffStatus)] == [True]
    switch.press()
    client.pump()
    assert plug.lights[0].on == 0


def test_switch_state_survives_a_save() -> None:
    client = _connect("wall_switch", {GENERIC_ONOFF_CLIENT: CLIENT_ADDRESS})
    client.node.press()
    copy = SimulatedNode.from_dict(json.loads(json.dumps(client.node.to_dict())))
    assert copy.models is not None
    assert copy.models.switch_on == {0: True}
    assert copy.models.client_tid == client.node.models.client_tid  # type: ignore[union-attr]


# --- power cycles (MshMDL 1.1 §3.1.4) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("on_power_up", "before", "after"),
    [
        (gen.OnPowerUp.OFF, True, False),
        (gen.OnPowerUp.DEFAULT, False, True),
        (gen.OnPowerUp.RESTORE, True, True),
        (gen.OnPowerUp.RESTORE, False, False),
    ],
)
def test_power_cycle_honours_on_power_up(
    on_power_up: gen.OnPowerUp, before: bool, after: bool
) -> None:
    client = _connect("onoff_plug", {GENERIC_ONOFF_SERVER: CLIENT_ADDRESS})
    node = client.node
    status = client.request(
        UNICAST, gen.GenericOnPowerUpSet(on_power_up), gen.GenericOnPowerUpStatus
    )
    assert status.on_power_up is on_power_up
    client.request(UNICAST, gen.GenericOnOffSet(before, 1), gen.GenericOnOffStatus)
    saved = node.to_dict()
    node.power_cycle()
    assert not client.link.is_connected  # the power cut dropped the connection
    assert node.lights[0].on == int(after)
    # A node restored from its saved state and powered up does the same.
    copy = SimulatedNode.from_dict(json.loads(json.dumps(saved)))
    copy.power_cycle()
    assert copy.lights[0].on == int(after)
    # Home Assistant reconnects and reads the state the node came back with.
    again = ProxyClient(node, client.device_key, client.clock)
    again.stack = client.stack  # its SEQ goes on (the node's replay protection remembers)
    status = again.request(UNICAST, gen.GenericOnOffGet(), gen.GenericOnOffStatus)
    assert status.present_on is after


def test_power_up_default_uses_the_default_lightness() -> None:
    client = _connect("dimmable", {})
    node = client.node
    client.request(UNICAST, li.LightLightnessDefaultSet(0x3000), li.LightLightnessDefaultStatus)
    client.request(
        UNICAST, gen.GenericOnPowerUpSet(gen.OnPowerUp.DEFAULT), gen.GenericOnPowerUpStatus
    )
    client.request(UNICAST, li.LightLightnessSet(0x9000, 1), li.LightLightnessStatus)
    node.power_cycle()
    assert (node.lights[0].on, node.lights[0].lightness) == (1, 0x3000)


def test_power_cycle_restores_the_target_of_a_running_transition() -> None:
    clock = FakeClock()
    node = SimulatedNode("dimmable", clock=clock, schedule=clock.schedule)
    run = provision(node, choice=ProvisioningStart(), clock=clock)
    assert run.result is not None
    client = ProxyClient(node, run.result.device_key, clock)
    _setup(client, node, {})
    client.request(
        UNICAST, gen.GenericOnPowerUpSet(gen.OnPowerUp.RESTORE), gen.GenericOnPowerUpStatus
    )
    node.set_state(lightness=0x8000, transition=10.0)
    clock.now += 2.0
    node.power_cycle()
    assert node.lights[0].transition is None
    assert node.lights[0].lightness == 0x8000


# --- Health faults (MshPRT 1.1 §4.2, §4.4.2) --------------------------------------------------


def test_raise_and_clear_a_fault() -> None:
    client = _connect("onoff_plug", {HEALTH_SERVER: CLIENT_ADDRESS})
    node = client.node
    empty = client.request(UNICAST, hl.HealthFaultGet(COMPANY_ID_TEST), hl.HealthFaultStatus)
    assert empty.faults == b""
    node.raise_fault(0x05)
    node.raise_fault(0x11)
    client.pump()
    published = client.messages_of(hl.HealthCurrentStatus)
    assert [(m.company_id, m.faults) for m in published] == [
        (COMPANY_ID_TEST, b"\x05"),
        (COMPANY_ID_TEST, b"\x05\x11"),
    ]
    registered = client.request(UNICAST, hl.HealthFaultGet(COMPANY_ID_TEST), hl.HealthFaultStatus)
    assert registered.faults == b"\x05\x11"
    client.clear()
    node.clear_fault(0x05)
    client.pump()
    assert [m.faults for m in client.messages_of(hl.HealthCurrentStatus)] == [b"\x11"]
    # Gone now, but still registered until a Health Fault Clear.
    still = client.request(UNICAST, hl.HealthFaultGet(COMPANY_ID_TEST), hl.HealthFaultStatus)
    assert still.faults == b"\x05\x11"
    cleared = client.request(UNICAST, hl.HealthFaultClear(COMPANY_ID_TEST), hl.HealthFaultStatus)
    assert cleared.faults == b""
    client.clear()
    node.clear_fault()
    client.pump()
    assert [m.faults for m in client.messages_of(hl.HealthCurrentStatus)] == [b""]
    # Another company's faults: the Health Server ignores the request.
    client.clear()
    client.send(UNICAST, hl.HealthFaultGet(0x0059))
    assert client.messages_of(hl.HealthFaultStatus) == []
    with pytest.raises(MeshError, match="fault code"):
        node.raise_fault(0)


def test_faults_without_publication_are_still_registered_and_saved() -> None:
    client = _connect("onoff_plug", {})
    node = client.node
    node.raise_fault(0x2A)
    client.pump()
    assert client.messages_of(hl.HealthCurrentStatus) == []
    copy = SimulatedNode.from_dict(json.loads(json.dumps(node.to_dict())))
    assert copy.models is not None
    assert (copy.models.current_faults, copy.models.registered_faults) == ([0x2A], [0x2A])


# --- sensors (MshMDL 1.1 §4) and the battery (§3.1.6) -------------------------------------------


def _readings(status: se.SensorStatus) -> dict[int, float | int | None]:
    readings = decode_sensor_status(status)
    assert not readings.absent
    assert not readings.unknown
    return readings.values


def test_plug_power_and_energy() -> None:
    client = _connect("smart_plug", {})
    node = client.node
    get = se.SensorGet()
    off = _readings(client.request(UNICAST, get, se.SensorStatus))
    assert off == {PRESENT_DEVICE_INPUT_POWER: 0.0, PRECISE_TOTAL_DEVICE_ENERGY_USE: 0.0}
    client.request(UNICAST, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    powers, energies = [], []
    for _ in range(40):
        client.clock.now += 90.0
        values = _readings(client.request(UNICAST, get, se.SensorStatus))
        powers.append(values[PRESENT_DEVICE_INPUT_POWER])
        energies.append(values[PRECISE_TOTAL_DEVICE_ENERGY_USE])
    assert all(42.0 <= p <= 58.0 for p in powers)
    assert max(powers) - min(powers) > 5.0  # it varies
    assert energies == sorted(energies)  # never decreases
    # One hour at about 50 W: about 0.05 kWh (the wave averages out over whole periods).
    assert energies[-1] == pytest.approx(0.050, abs=0.002)
    # Off: no power, the counter stands still, and it survives a save and a restore.
    client.request(UNICAST, gen.GenericOnOffSet(False, 2), gen.GenericOnOffStatus)
    client.clock.now += 600.0
    stopped = _readings(client.request(UNICAST, get, se.SensorStatus))
    assert stopped[PRESENT_DEVICE_INPUT_POWER] == 0.0
    assert stopped[PRECISE_TOTAL_DEVICE_ENERGY_USE] == pytest.approx(energies[-1], abs=0.001)
    assert node.models is not None
    copy = SimulatedNode.from_dict(json.loads(json.dumps(node.to_dict())))
    assert copy.models is not None
    assert copy.models.meter.energy_kwh == pytest.approx(node.models.meter.energy_kwh)
    # A restored meter starts counting afresh: the new clock's origin is meaningless.
    copy.models.lights[0].on = 1
    assert copy.models.sensor_value(PRECISE_TOTAL_DEVICE_ENERGY_USE, 10.0) == pytest.approx(
        stopped[PRECISE_TOTAL_DEVICE_ENERGY_USE], abs=0.001
    )
    assert (
        copy.models.sensor_value(PRECISE_TOTAL_DEVICE_ENERGY_USE, 3610.0)
        > stopped[PRECISE_TOTAL_DEVICE_ENERGY_USE] + 0.04
    )


def test_multi_sensor_values_drift_with_time() -> None:
    client = _connect("multi_sensor", {})
    samples = []
    for _ in range(12):
        samples.append(_readings(client.request(UNICAST, se.SensorGet(), se.SensorStatus)))
        client.clock.now += 110.0
    for pid, (low, high) in {
        PRESENT_AMBIENT_TEMPERATURE: (18.5, 23.5),
        PRESENT_AMBIENT_RELATIVE_HUMIDITY: (37.0, 53.0),
        PRESENT_AMBIENT_LIGHT_LEVEL: (40.0, 600.0),
        MOTION_SENSED: (0.0, 100.0),
    }.items():
        values = [s[pid] for s in samples]
        assert all(v is not None and low <= v <= high for v in values), pid
        assert len(set(values)) > 1, f"0x{pid:04x} is flat"
    # Deterministic: the same clock gives the same values.
    other = _connect("multi_sensor", {})
    assert _readings(other.request(UNICAST, se.SensorGet(), se.SensorStatus)) == samples[0]
    # One property; a property the node does not have; the descriptors.
    one = client.request(UNICAST, se.SensorGet(PRESENT_AMBIENT_TEMPERATURE), se.SensorStatus)
    assert [pid for pid, _ in one.values()] == [PRESENT_AMBIENT_TEMPERATURE]
    missing = client.request(UNICAST, se.SensorGet(PRESENT_DEVICE_INPUT_POWER), se.SensorStatus)
    assert missing.values() == [(PRESENT_DEVICE_INPUT_POWER, b"")]
    descriptors = client.request(UNICAST, se.SensorDescriptorGet(), se.SensorDescriptorStatus)
    assert [d.property_id for d in descriptors.descriptors] == [
        PRESENT_AMBIENT_TEMPERATURE,
        PRESENT_AMBIENT_RELATIVE_HUMIDITY,
        PRESENT_AMBIENT_LIGHT_LEVEL,
        MOTION_SENSED,
    ]
    absent = client.request(
        UNICAST, se.SensorDescriptorGet(PRESENT_DEVICE_INPUT_POWER), se.SensorDescriptorStatus
    )
    assert absent.missing_property_id == PRESENT_DEVICE_INPUT_POWER
    cadence = client.request(
        UNICAST, se.SensorCadenceGet(PRESENT_AMBIENT_TEMPERATURE), se.SensorCadenceStatus
    )
    assert cadence.cadence is None


def test_sensor_status_is_published_every_period() -> None:
    client = _connect("multi_sensor", {})
    _config(
        client,
        UNICAST,
        cfg.ConfigModelPublicationSet(
            UNICAST,
            CLIENT_ADDRESS,
            APP_KEY_INDEX,
            False,
            0xFF,
            PublishPeriod(1, StepResolution.S_10),
            Retransmit(0, 0),
            ModelId(SENSOR_SERVER),
        ),
    )
    client.clear()
    for _ in range(3):
        client.advance(10.0)
    published = client.messages_of(se.SensorStatus)
    assert len(published) == 3
    assert len({_readings(m)[PRESENT_AMBIENT_LIGHT_LEVEL] for m in published}) == 3


def test_wall_switch_battery() -> None:
    client = _connect("wall_switch", {})
    status = client.request(UNICAST, gen.GenericBatteryGet(), gen.GenericBatteryStatus)
    assert status.level == 87
    assert status.flags.presence is gen.BatteryPresence.PRESENT_REMOVABLE
    assert status.flags.indicator is gen.BatteryIndicator.GOOD
    assert status.time_to_charge == gen.BATTERY_TIME_UNKNOWN
    assert status.time_to_discharge > 0


def test_health_current_status_is_published_faster_while_a_fault_is_present() -> None:
    client = _connect("onoff_plug", {})
    client.request(UNICAST, hl.HealthPeriodSet(2), hl.HealthPeriodStatus)  # divide by 4
    _config(
        client,
        UNICAST,
        cfg.ConfigModelPublicationSet(
            UNICAST,
            CLIENT_ADDRESS,
            APP_KEY_INDEX,
            False,
            0xFF,
            PublishPeriod(4, StepResolution.S_10),  # 40 s
            Retransmit(0, 0),
            ModelId(HEALTH_SERVER),
        ),
    )
    client.clear()
    for _ in range(4):
        client.advance(10.0)
    assert [m.faults for m in client.messages_of(hl.HealthCurrentStatus)] == [b""]
    client.node.raise_fault(0x0D)
    client.clear()
    for _ in range(4):
        client.advance(10.0)
    published = client.messages_of(hl.HealthCurrentStatus)
    assert [m.faults for m in published] == [b"\x0d"] * 5  # at once, then every 10 s


def test_saving_reads_the_meter_up_to_the_clock() -> None:
    """No message for an hour: the saved counter still holds the hour's energy."""
    client = _connect("smart_plug", {})
    client.request(UNICAST, gen.GenericOnOffSet(True, 1), gen.GenericOnOffStatus)
    client.clock.now += 3600.0  # the node's clock (FakeClock) moves; nobody asks it anything
    saved = client.node.to_dict()
    assert saved["network"]["models"]["energy_kwh"] == pytest.approx(0.050, abs=0.002)
