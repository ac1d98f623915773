"""Light entities against simulated nodes: commands change the node, statuses update HA.

Everything runs through Home Assistant's Bluetooth stack, the virtual proxy and simulated
nodes provisioned into the network; nothing of ours is mocked.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_MODE,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_HS_COLOR,
    ATTR_MAX_COLOR_TEMP_KELVIN,
    ATTR_MIN_COLOR_TEMP_KELVIN,
    ATTR_SUPPORTED_COLOR_MODES,
    ATTR_TRANSITION,
    ATTR_XY_COLOR,
    DOMAIN as LIGHT_DOMAIN,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_ENTITY_ID,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.models.generic import GenericOnPowerUpGet
from custom_components.ble_mesh.mesh.models.health import HealthFaultGet
from custom_components.ble_mesh.mesh.models.lighting import LightLightnessStatus
from custom_components.ble_mesh.mesh.models.registry import HANDLED_BY
from custom_components.ble_mesh.runtime import MeshRuntime
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


def _entity_ids(
    hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode, domain: str = LIGHT_DOMAIN
) -> list[str]:
    registry = er.async_get(hass)
    runtime = bed.runtime
    base = bed.stored_node(node).unicast_address
    ids = []
    for element in range(node.profile.number_of_elements):
        entity_id = registry.async_get_entity_id(
            domain, DOMAIN, f"{runtime.mesh_uuid}_{base + element:04x}"
        )
        if entity_id:
            ids.append(entity_id)
    return ids


async def _call(hass: HomeAssistant, service: str, entity_id: str, **data: Any) -> None:
    await hass.services.async_call(
        LIGHT_DOMAIN, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )
    await hass.async_block_till_done()


async def test_entities_per_profile(hass: HomeAssistant, bed: MeshTestbed) -> None:
    plug, dimmable, ctl, hsl, xyl, twin = await bed.async_setup_configured(
        "onoff_plug", "dimmable", "ctl", "hsl", "xyl", "two_element"
    )
    expected = {
        plug: [],  # Generic OnOff and no light model: a switch
        dimmable: [["brightness"]],
        ctl: [["color_temp"]],
        hsl: [["hs"]],
        xyl: [["xy"]],
        twin: [["brightness"], ["brightness"]],
    }
    for node, modes in expected.items():
        ids = _entity_ids(hass, bed, node)
        assert len(ids) == len(modes), node  # auxiliary elements (hue, temperature) are no lights
        for entity_id, mode in zip(ids, modes, strict=True):
            state = hass.states.get(entity_id)
            assert state is not None
            assert sorted(state.attributes[ATTR_SUPPORTED_COLOR_MODES]) == mode
    # The twin's lights are "Light 1" and "Light 2" of the device; single lights use its name.
    twin_names = sorted(hass.states.get(e).name for e in _entity_ids(hass, bed, twin))  # type: ignore[union-attr]
    assert twin_names == [f"{twin.name} Light 1", f"{twin.name} Light 2"]
    (switch,) = _entity_ids(hass, bed, plug, SWITCH_DOMAIN)
    assert hass.states.get(switch).name == plug.name  # type: ignore[union-attr]


async def test_onoff_plug_is_a_switch(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (plug,) = await bed.async_setup_configured("onoff_plug")
    assert _entity_ids(hass, bed, plug) == []
    (entity_id,) = _entity_ids(hass, bed, plug, SWITCH_DOMAIN)
    await until(hass, lambda: bed.runtime.state_reader.pending == 0, "state reads")
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_OFF  # read when the link came up
    assert state.attributes[ATTR_DEVICE_CLASS] == "outlet"
    for service, on, expected in (("turn_on", 1, STATE_ON), ("turn_off", 0, STATE_OFF)):
        await hass.services.async_call(
            SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True
        )
        assert plug.lights[0].on == on
        assert hass.states.get(entity_id).state == expected  # type: ignore[union-attr]
    # Its own button (the simulator's wall switch): the node publishes the change.
    plug.set_state(0, on=True)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_ON  # type: ignore[union-attr]


async def test_brightness_and_transition(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    (entity_id,) = _entity_ids(hass, bed, light)
    await _call(hass, "turn_on", entity_id, **{ATTR_BRIGHTNESS: 128})
    assert light.lights[0].lightness == 128 * 257
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_ON
    assert state.attributes[ATTR_BRIGHTNESS] == 128
    await _call(hass, "turn_on", entity_id, **{ATTR_BRIGHTNESS: 255, ATTR_TRANSITION: 0})
    assert light.lights[0].lightness == 0xFFFF
    await _call(hass, "turn_off", entity_id, **{ATTR_TRANSITION: 0})
    assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]


async def test_a_status_reaches_the_entity_once(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """The status answering a command is applied where every message is, not again."""
    (light,) = await bed.async_setup_configured("dimmable")
    (entity_id,) = _entity_ids(hass, bed, light)
    address = bed.stored_node(light).unicast_address
    statuses: list[Message] = []
    writes: list[str] = []
    remove = bed.runtime.async_subscribe(lambda _src, m: statuses.append(m), src=address)

    @callback
    def _ours(data: Any) -> bool:
        return bool(data["entity_id"] == entity_id)

    @callback
    def _written(event: Event[Any]) -> None:
        writes.append(event.event_type)

    stop_changed = hass.bus.async_listen(EVENT_STATE_CHANGED, _written, _ours)
    stop_reported = hass.bus.async_listen(EVENT_STATE_REPORTED, _written, _ours)
    await _call(hass, "turn_on", entity_id, **{ATTR_BRIGHTNESS: 100})
    for stop in (remove, stop_changed, stop_reported):
        stop()
    # The response, and the publication the node makes of its new state (MshMDL 1.1 §7.4).
    lightness = [m for m in statuses if isinstance(m, LightLightnessStatus)]
    assert lightness
    assert len(writes) == len(lightness)


async def test_state_is_read_one_element_at_a_time_on_connection(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """After a restart every light asks for its state when the link comes up: one read in
    flight at a time for the whole network, not one per entity at once."""
    nodes = await bed.async_setup_configured("dimmable", "ctl", "hsl", "onoff_plug", "dimmable")
    await bed.async_unload()
    reads: list[tuple[int, str]] = []
    outstanding = [0]
    most = [0]
    original = MeshRuntime.async_send

    async def counting_send(
        self: MeshRuntime, dst: int, message: Message, **kwargs: Any
    ) -> Message | None:
        if not kwargs.get("background") or type(message) not in HANDLED_BY:
            return await original(self, dst, message, **kwargs)
        if type(message) not in (HealthFaultGet, GenericOnPowerUpGet):  # not a light's
            reads.append((dst, type(message).__name__))
        outstanding[0] += 1
        most[0] = max(most[0], outstanding[0])
        try:
            return await original(self, dst, message, **kwargs)
        finally:
            outstanding[0] -= 1

    with patch.object(MeshRuntime, "async_send", counting_send):
        await bed.async_setup()  # every entity exists before the link is up
        await until(
            hass,
            lambda: len(reads) == len(nodes) + 1 and outstanding[0] == 0,
            "every state read",
        )
    assert most[0] == 1, reads
    addresses = sorted(dst for dst, _ in reads)
    ctl = bed.stored_node(nodes[1]).unicast_address
    assert addresses == sorted([ctl, *(bed.stored_node(n).unicast_address for n in nodes)])
    # The CTL light reads its temperature range, then its state; the others one Get each.
    assert [name for dst, name in reads if dst == ctl] == [
        "LightCtlTemperatureRangeGet",
        "LightCtlGet",
    ]
    await hass.async_block_till_done(wait_background_tasks=True)
    for node in nodes:
        domain = SWITCH_DOMAIN if node.profile.key == "onoff_plug" else LIGHT_DOMAIN
        (entity_id,) = _entity_ids(hass, bed, node, domain)
        assert hass.states.get(entity_id).state == STATE_OFF  # type: ignore[union-attr]


async def test_color_temperature(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("ctl")
    (entity_id,) = _entity_ids(hass, bed, light)
    await _call(hass, "turn_on", entity_id, **{ATTR_COLOR_TEMP_KELVIN: 3000, ATTR_BRIGHTNESS: 200})
    assert light.lights[0].temperature == 3000
    assert light.lights[0].lightness == 200 * 257
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_COLOR_TEMP_KELVIN] == 3000
    assert state.attributes[ATTR_COLOR_MODE] == "color_temp"
    # The slider spans the bulb's own range (its Light CTL Temperature Range).
    assert state.attributes[ATTR_MIN_COLOR_TEMP_KELVIN] == 2700
    assert state.attributes[ATTR_MAX_COLOR_TEMP_KELVIN] == 6500


async def test_hs_colour(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("hsl")
    (entity_id,) = _entity_ids(hass, bed, light)
    await _call(hass, "turn_on", entity_id, **{ATTR_HS_COLOR: (180, 50), ATTR_BRIGHTNESS: 255})
    assert light.lights[0].hue == 32768
    assert light.lights[0].saturation == round(0.5 * 65535)
    state = hass.states.get(entity_id)
    assert state is not None
    hue, saturation = state.attributes[ATTR_HS_COLOR]
    assert round(hue) == 180
    assert round(saturation) == 50


async def test_xy_colour(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("xyl")
    (entity_id,) = _entity_ids(hass, bed, light)
    await _call(hass, "turn_on", entity_id, **{ATTR_XY_COLOR: (0.3, 0.4)})
    assert light.lights[0].x == round(0.3 * 65535)
    assert light.lights[0].y == round(0.4 * 65535)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_XY_COLOR] == pytest.approx((0.3, 0.4), abs=1e-3)


async def test_wall_switch_is_pushed_to_home_assistant(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    (entity_id,) = _entity_ids(hass, bed, light)
    await _call(hass, "turn_off", entity_id)
    # Someone uses the wall switch: the node publishes its status, HA follows, no polling.
    light.set_state(0, on=True, lightness=0x8000)
    await until(hass, lambda: hass.states.get(entity_id).state == STATE_ON, "pushed on")  # type: ignore[union-attr]
    assert hass.states.get(entity_id).attributes[ATTR_BRIGHTNESS] == 128  # type: ignore[union-attr]


async def test_two_element_fixture_is_two_lights(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (twin,) = await bed.async_setup_configured("two_element")
    first, second = _entity_ids(hass, bed, twin)
    await _call(hass, "turn_on", second, **{ATTR_BRIGHTNESS: 51})
    assert twin.lights[1].lightness == 51 * 257
    assert twin.lights[0].lightness == 0
    assert hass.states.get(first).state == STATE_OFF  # type: ignore[union-attr]


async def test_unavailable_without_a_proxy(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    (entity_id,) = _entity_ids(hass, bed, light)
    assert hass.states.get(entity_id).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    virtual_proxy.set_unreachable(light.address, True)
    virtual_proxy.drop_connection(light.address)
    await until(
        hass,
        lambda: hass.states.get(entity_id).state == STATE_UNAVAILABLE,  # type: ignore[union-attr]
        "unavailable",
    )
    virtual_proxy.set_unreachable(light.address, False)
