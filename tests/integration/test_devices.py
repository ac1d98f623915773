"""Beyond lights: sensors, plugs, wall switches, batteries and health, through the simulator.

Each node is provisioned into the test network, configured by Home Assistant (descriptors
read, publications set) and then driven from both ends: Home Assistant's entities, and the
simulated device's own operations (a press, a fault, time passing).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_ENTITY_ID,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.ble_mesh.binary_sensor import BatteryChargingSensor, BatteryLowSensor
from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.diagnostics import async_get_config_entry_diagnostics
from custom_components.ble_mesh.event import SwitchEvents
from custom_components.ble_mesh.mesh.models import generic as gen, scenes as sc
from custom_components.ble_mesh.mesh.models.generic import (
    BatteryCharging,
    BatteryFlags,
    BatteryIndicator,
    BatteryPresence,
    GenericBatteryStatus,
)
from custom_components.ble_mesh.mesh.models.model_ids import HEALTH_SERVER, SENSOR_SERVER
from custom_components.ble_mesh.mesh.models.sensors import SensorStatus
from simulator.node import SimulatedNode

from .mesh_testbed import MeshTestbed


def _entity(
    hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode, domain: str, suffix: str = ""
) -> str:
    address = bed.stored_node(node).unicast_address
    entity_id = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, f"{bed.mesh_uuid}_{address:04x}{suffix}"
    )
    assert entity_id is not None, (domain, suffix)
    return entity_id


def _state(hass: HomeAssistant, entity_id: str) -> Any:
    state = hass.states.get(entity_id)
    assert state is not None
    return state


async def _publish_later(hass: HomeAssistant, node: SimulatedNode, seconds: float) -> None:
    """Let the node's clock run ``seconds`` ahead, firing its periodic publications."""
    deadline = node.next_deadline()
    assert deadline is not None  # a periodic publication is armed
    node.tick(deadline + seconds)
    await hass.async_block_till_done()


async def test_sensor_entities_keep_home_assistants_rules(
    hass: HomeAssistant, bed: MeshTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    """Every property's device class, unit and state class pass the sensor component's checks
    (it logs a warning for a unit or state class its device class does not allow)."""
    await bed.async_setup_configured("multi_sensor", "smart_plug", "wall_switch")
    sensors = [
        state
        for state in hass.states.async_all("sensor")
        if state.attributes.get(ATTR_DEVICE_CLASS) not in (None, "enum")
    ]
    assert len(sensors) >= 6  # temperature, humidity, illuminance, power, energy, battery
    for state in sensors:
        assert state.state not in (STATE_UNKNOWN, "unavailable"), state
    component = [r for r in caplog.records if r.name.startswith("homeassistant.components.sensor")]
    assert [r.getMessage() for r in component if r.levelname in ("WARNING", "ERROR")] == []


async def test_a_multi_sensor_is_sensors_read_and_pushed(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (sensor,) = await bed.async_setup_configured("multi_sensor")
    record = bed.stored_node(sensor)
    model = record.elements[0].model(SENSOR_SERVER)
    assert model is not None
    assert sorted(model.sensor_properties or []) == [0x0042, 0x004E, 0x004F, 0x0076]
    assert model.publish is not None  # to Home Assistant, every 10 s
    assert model.publish.period.number_of_steps * model.publish.period.resolution == 10_000

    expected = {
        "_004f": ("temperature", "°C"),
        "_0076": ("humidity", "%"),
        "_004e": ("illuminance", "lx"),
    }
    before: dict[str, float] = {}
    for suffix, (device_class, unit) in expected.items():
        state = _state(hass, _entity(hass, bed, sensor, "sensor", suffix))
        assert state.attributes[ATTR_DEVICE_CLASS] == device_class
        assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == unit
        assert state.attributes["state_class"] == SensorStateClass.MEASUREMENT
        before[suffix] = float(state.state)  # read when the link came up
    motion = _state(hass, _entity(hass, bed, sensor, "binary_sensor", "_0042"))
    assert motion.attributes[ATTR_DEVICE_CLASS] == "motion"
    assert motion.state in (STATE_ON, STATE_OFF)

    # Time passes on the node: it publishes new readings, and the entities follow.
    await _publish_later(hass, sensor, 1800)
    after = {s: float(_state(hass, _entity(hass, bed, sensor, "sensor", s)).state) for s in before}
    assert after != before


async def test_a_smart_plug_switches_measures_and_sets_its_power_on_behaviour(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (plug,) = await bed.async_setup_configured("smart_plug")
    switch = _entity(hass, bed, plug, "switch")
    power = _entity(hass, bed, plug, "sensor", "_0052")
    energy = _entity(hass, bed, plug, "sensor", "_0072")
    assert _state(hass, switch).state == STATE_OFF
    assert float(_state(hass, power).state) == 0
    assert _state(hass, energy).attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert _state(hass, energy).attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"

    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: switch}, blocking=True)
    assert plug.lights[0].on
    await _publish_later(hass, plug, 600)
    assert 42 <= float(_state(hass, power).state) <= 58
    assert float(_state(hass, energy).state) > 0

    select = _entity(hass, bed, plug, "select", "_power_on_behavior")
    assert _state(hass, select).state == "off"
    assert _state(hass, select).attributes["options"] == ["off", "on", "restore"]
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: select, "option": "restore"}, blocking=True
    )
    assert plug.lights[0].on_power_up == 2
    assert _state(hass, select).state == "restore"
    plug.power_cycle()
    await hass.async_block_till_done()
    assert plug.lights[0].on  # restored


async def test_health_faults_show_as_a_problem_and_clear(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (plug,) = await bed.async_setup_configured("smart_plug")
    health = _entity(hass, bed, plug, "binary_sensor", "_health")
    assert _state(hass, health).state == STATE_OFF  # no registered fault (Health Fault Get)
    assert _state(hass, health).attributes["faults"] == []
    plug.raise_fault(0x0D)  # Overheat Warning: published at once
    await hass.async_block_till_done()
    state = _state(hass, health)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_DEVICE_CLASS] == "problem"
    assert state.attributes["faults"] == ["Overheat Warning"]
    plug.raise_fault(0x95)  # a vendor's own fault: its number
    await hass.async_block_till_done()
    assert _state(hass, health).attributes["faults"] == ["Overheat Warning", "0x95"]
    plug.clear_fault()
    await hass.async_block_till_done()
    assert _state(hass, health).state == STATE_OFF


async def test_identify_starts_the_attention_timer(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    button = _entity(hass, bed, light, "button", "_identify")
    assert _state(hass, button).attributes[ATTR_DEVICE_CLASS] == "identify"
    models = light.models
    assert models is not None
    assert models.attention_until is None
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    assert models.attention_until is not None

    # A node configured by an earlier version has no Health binding: the button binds it first.
    health = bed.stored_node(light).elements[0].model(HEALTH_SERVER)
    assert health is not None
    assert health.bind == [0]
    health.bind.clear()
    models.attention_until = None
    await hass.services.async_call("button", "press", {ATTR_ENTITY_ID: button}, blocking=True)
    assert health.bind == [0]
    assert models.attention_until is not None


async def test_a_wall_switch_is_events_and_a_battery(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (wall,) = await bed.async_setup_configured("wall_switch")
    battery = _state(hass, _entity(hass, bed, wall, "sensor", "_battery"))
    assert battery.state == "87"
    assert battery.attributes[ATTR_DEVICE_CLASS] == "battery"
    assert _state(hass, _entity(hass, bed, wall, "binary_sensor", "_battery_low")).state == (
        STATE_OFF
    )
    events = _entity(hass, bed, wall, "event", "_events")
    assert _state(hass, events).state == STATE_UNKNOWN
    assert _state(hass, events).attributes["event_types"] == ["turned_on", "turned_off"]

    seen: list[str] = []
    for on in (True, False, True):
        assert wall.press(on=on)  # published to Home Assistant by the configuration
        await hass.async_block_till_done()
        seen.append(_state(hass, events).attributes["event_type"])
    assert seen == ["turned_on", "turned_off", "turned_on"]


async def test_properties_without_an_entity_are_listed_in_diagnostics(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (sensor,) = await bed.async_setup_configured("multi_sensor")
    record = bed.stored_node(sensor)
    model = record.elements[0].model(SENSOR_SERVER)
    assert model is not None
    assert bed.entry is not None
    diagnostics = await async_get_config_entry_diagnostics(hass, bed.entry)
    assert diagnostics["sensor_properties_without_entity"] == {}
    # A property the engine has no table entry for (a vendor's, or a newer specification's).
    model.sensor_properties = [*(model.sensor_properties or []), 0x07FF]
    diagnostics = await async_get_config_entry_diagnostics(hass, bed.entry)
    address = f"{record.unicast_address:04X}"
    assert diagnostics["sensor_properties_without_entity"] == {address: ["07FF"]}


async def test_what_each_message_does_to_the_entities(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The rules of the new entities, message by message (flags, repeats, bad readings)."""
    sensor, wall = await bed.async_setup_configured("multi_sensor", "wall_switch")
    runtime = bed.runtime
    wall_node = bed.stored_node(wall)
    element = wall_node.elements[0]

    def battery(indicator: BatteryIndicator, charging: BatteryCharging) -> GenericBatteryStatus:
        flags = BatteryFlags(BatteryPresence.PRESENT_REMOVABLE, indicator, charging)
        return GenericBatteryStatus(50, 0xFFFFFF, 0xFFFFFF, flags)

    low = BatteryLowSensor(runtime, wall_node, element)
    charging = BatteryChargingSensor(runtime, wall_node, element)
    cases = [
        (BatteryIndicator.CRITICALLY_LOW, BatteryCharging.CHARGING, True, True),
        (BatteryIndicator.GOOD, BatteryCharging.NOT_CHARGING, False, False),
        (BatteryIndicator.UNKNOWN, BatteryCharging.NOT_CHARGEABLE, None, None),
    ]
    for indicator, charge, is_low, is_charging in cases:
        status = battery(indicator, charge)
        assert low.apply(status)
        assert charging.apply(status)
        assert (low.is_on, charging.is_on) == (is_low, is_charging)
    assert not low.apply(gen.GenericOnOffStatus(True))

    # A wall switch's messages: one event per transaction (a repeated TID is the same press).
    events = SwitchEvents(runtime, wall_node, element, ["turned_on"], elements=2)
    events.hass = hass
    assert events.translation_placeholders == {"number": "1"}
    press = gen.GenericOnOffSetUnacknowledged(True, 7)
    assert events.apply(press)
    assert not events.apply(press)  # the switch repeating it
    assert events.apply(gen.GenericOnOffSetUnacknowledged(True, 8))
    for message, fired in (
        (gen.GenericLevelSetUnacknowledged(-100, 9), ("level_changed", {"level": -100})),
        (gen.GenericDeltaSetUnacknowledged(250, 10), ("level_changed", {"delta": 250})),
        (gen.GenericMoveSetUnacknowledged(40, 11), ("level_changed", {"move": 40})),
        (sc.SceneRecallUnacknowledged(3, 12), ("scene_recalled", {"scene": 3})),
    ):
        events._attr_event_types = [fired[0]]
        assert events.apply(message)
        assert events.state_attributes == {"event_type": fired[0], **fired[1]}
    assert not events.apply(gen.GenericOnOffStatus(True))

    # A reading that cannot be decoded changes nothing; a sensor the element lacks is unknown.
    sensor_node = bed.stored_node(sensor)
    humidity = next(
        e
        for e in hass.data["entity_components"]["sensor"].entities
        if e.unique_id == f"{bed.mesh_uuid}_{sensor_node.unicast_address:04x}_0076"
    )
    before = humidity.native_value
    assert before is not None
    bad = SensorStatus.of([(0x0076, (20000).to_bytes(2, "little"))])  # above 100 %
    assert not humidity.apply(bad)
    assert humidity.native_value == before
    assert not humidity.apply(SensorStatus.of([(0x004F, bytes([40]))]))  # not this property
    assert humidity.apply(SensorStatus.of([(0x0076, b"")]))
    assert humidity.native_value is None
