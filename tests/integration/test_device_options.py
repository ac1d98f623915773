"""The network options for plugs and wall switches: a switch shown as a light, and where a wall
switch sends its presses (Home Assistant, or a group it drives through the mesh)."""

from __future__ import annotations

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er

from custom_components.ble_mesh.const import CONF_SWITCHES_AS_LIGHTS, DOMAIN
from custom_components.ble_mesh.mesh.database import address_value
from custom_components.ble_mesh.mesh.models.model_ids import GENERIC_ONOFF_CLIENT
from simulator.node import SimulatedNode

from .flows import configure_options, open_options
from .mesh_testbed import MeshTestbed, TimeMachine, until


def _uid(bed: MeshTestbed, node: SimulatedNode, suffix: str = "") -> str:
    return f"{bed.mesh_uuid}_{bed.stored_node(node).unicast_address:04x}{suffix}"


def _entity(hass: HomeAssistant, domain: str, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)


def _event_type(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return state.attributes.get("event_type") if state is not None else None


async def test_a_plug_shown_as_a_light_and_back(hass: HomeAssistant, bed: MeshTestbed) -> None:
    plug, lamp = await bed.async_setup_configured("onoff_plug", "dimmable")
    plug_id = _uid(bed, plug)
    assert _entity(hass, "switch", plug_id) is not None
    assert _entity(hass, "light", plug_id) is None

    form = await open_options(hass, bed.entry, "settings")
    options = form["data_schema"].schema[CONF_SWITCHES_AS_LIGHTS].config["options"]
    # Only the on/off elements are offered (the dimmable lamp is a light anyway).
    assert options == [{"value": plug_id, "label": f"{plug.name} ({plug_id[-4:].upper()})"}]
    done = await configure_options(
        hass,
        form["flow_id"],
        {
            CONF_SWITCHES_AS_LIGHTS: [plug_id],
            "release_when_idle": False,
            "idle_seconds": 60,
        },
    )
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert done["data"][CONF_SWITCHES_AS_LIGHTS] == [plug_id]
    await hass.async_block_till_done(wait_background_tasks=True)  # the reload
    light = _entity(hass, "light", plug_id)
    assert light is not None
    assert _entity(hass, "switch", plug_id) is None  # the old entity is gone, not orphaned
    await hass.services.async_call("light", "turn_on", {ATTR_ENTITY_ID: light}, blocking=True)
    assert plug.lights[0].on

    form = await open_options(hass, bed.entry, "settings")
    await configure_options(
        hass,
        form["flow_id"],
        {CONF_SWITCHES_AS_LIGHTS: [], "release_when_idle": False, "idle_seconds": 60},
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _entity(hass, "switch", plug_id) is not None
    assert _entity(hass, "light", plug_id) is None
    assert _entity(hass, "light", _uid(bed, lamp)) is not None


async def test_settings_without_switches_offer_no_choice(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    await bed.async_setup_configured("dimmable")
    form = await open_options(hass, bed.entry, "settings")
    assert CONF_SWITCHES_AS_LIGHTS not in form["data_schema"].schema
    menu = await hass.config_entries.options.async_init(bed.entry.entry_id)  # type: ignore[union-attr]
    assert "wall_switch" not in menu["menu_options"]  # no wall switch in this network


async def test_a_wall_switch_drives_a_group_and_home_assistant_hears_it(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    lamp, wall = await bed.async_setup_configured("dimmable", "wall_switch")
    lamp_light = _entity(hass, "light", _uid(bed, lamp))
    form = await open_options(hass, bed.entry, "create_group")
    created = await configure_options(
        hass, form["flow_id"], {"name": "Hall", "lights": [lamp_light]}
    )
    assert created["step_id"] == "group_created", created
    group = bed.runtime.network.groups[0]

    form = await open_options(hass, bed.entry, "wall_switch")
    assert form["step_id"] == "wall_switch"
    switch_key = _uid(bed, wall)[-4:]
    result = await configure_options(
        hass, form["flow_id"], {"switch": switch_key, "target": f"{group.destination:04x}"}
    )
    assert result["step_id"] == "switch_target_set"
    assert result["description_placeholders"]["target"] == "Hall"
    done = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    client = bed.stored_node(wall).elements[0].model(GENERIC_ONOFF_CLIENT)
    assert client is not None
    assert client.publish is not None
    assert address_value(client.publish.address) == group.destination

    # A press: the lamp obeys through the mesh, and Home Assistant's event fires too.
    events = _entity(hass, "event", _uid(bed, wall, "_events"))
    assert events is not None
    assert wall.press(on=True)
    await until(hass, lambda: bool(lamp.lights[0].on), "the lamp obeys the switch")
    await until(hass, lambda: _event_type(hass, events) == "turned_on", "the press is an event")

    # Back to Home Assistant only: the lamp no longer follows the switch.
    form = await open_options(hass, bed.entry, "wall_switch")
    result = await configure_options(
        hass, form["flow_id"], {"switch": switch_key, "target": "home_assistant"}
    )
    assert result["description_placeholders"]["target"] == "Home mesh"
    assert address_value(client.publish.address) == bed.runtime.unicast_address
    assert wall.press(on=False)
    await until(hass, lambda: _event_type(hass, events) == "turned_off", "the press is an event")
    assert lamp.lights[0].on


async def test_wall_switch_form_errors(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """A group deleted or a switch removed while the form is open; a switch that is silent."""
    lamp, wall = await bed.async_setup_configured("dimmable", "wall_switch")
    switch_key = _uid(bed, wall)[-4:]
    form = await open_options(hass, bed.entry, "create_group")
    lamp_light = _entity(hass, "light", _uid(bed, lamp))
    await configure_options(hass, form["flow_id"], {"name": "Hall", "lights": [lamp_light]})
    group = bed.runtime.network.groups[0]
    target = f"{group.destination:04x}"

    form = await open_options(hass, bed.entry, "wall_switch")
    await bed.runtime.store.async_remove_group(group)
    result = await configure_options(
        hass, form["flow_id"], {"switch": switch_key, "target": target}
    )
    assert result["errors"] == {"target": "group_gone"}

    wall.faults.stop_answering = True
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"switch": switch_key, "target": "home_assistant"}
    )
    assert result["progress_action"] == "wall_switch"
    await TimeMachine(hass).advance(30)
    result = await configure_options(hass, form["flow_id"])
    assert result["step_id"] == "wall_switch"
    assert result["errors"] == {"base": "node_no_reply"}
    assert result["description_placeholders"]["node"].startswith(wall.name)

    await bed.runtime.nodes.async_remove_node(bed.stored_node(wall))
    result = await configure_options(
        hass, form["flow_id"], {"switch": switch_key, "target": "home_assistant"}
    )
    assert result["errors"] == {"switch": "node_gone"}
