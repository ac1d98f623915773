"""Mesh groups and scenes: the options flow, the group light and the scene actions.

Through Home Assistant's flow manager and service registry, the virtual proxy and simulated
nodes on one shared mesh air; nothing of ours is mocked. A node "out of reach" stops
answering (the simulator's fault mode); a node that "refuses" is one whose database record
claims a model it does not have.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_MODE,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_HS_COLOR,
    ATTR_SUPPORTED_COLOR_MODES,
    ATTR_XY_COLOR,
)
from homeassistant.components.light.const import DOMAIN as LIGHT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.ble_mesh.compat import vol
from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.database import Model
from custom_components.ble_mesh.mesh.models import model_ids as ids
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkKeyring,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROXY_DATA_IN_UUID,
    ProxyMessageType,
    Reassembler,
)
from custom_components.ble_mesh.services import SERVICE_SCENE_RECALL, SERVICE_SCENE_STORE
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .flows import configure_options, open_options
from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")

GROUP_MODELS = (
    ids.GENERIC_ONOFF_SERVER,
    ids.LIGHT_LIGHTNESS_SERVER,
    ids.SCENE_SERVER,
    ids.SCENE_SETUP_SERVER,
)


def _light(hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode, element: int = 0) -> str:
    """The on/off entity of an element: its light, or its switch (a plug)."""
    address = bed.stored_node(node).unicast_address + element
    registry = er.async_get(hass)
    unique_id = f"{bed.mesh_uuid}_{address:04x}"
    entity_id = registry.async_get_entity_id(
        LIGHT_DOMAIN, DOMAIN, unique_id
    ) or registry.async_get_entity_id("switch", DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


def _group_light(hass: HomeAssistant, bed: MeshTestbed, address: int) -> str | None:
    return er.async_get(hass).async_get_entity_id(
        LIGHT_DOMAIN, DOMAIN, f"{bed.mesh_uuid}_group_{address:04x}"
    )


def _subscriptions(node: SimulatedNode, model: int, element: int = 0) -> list[int]:
    assert node.models is not None
    return node.models.subscriptions.get((element, model), [])


async def _create(hass: HomeAssistant, bed: MeshTestbed, name: str, *lights: str) -> Any:
    form = await open_options(hass, bed.entry, "create_group")
    assert form["type"] is FlowResultType.FORM
    return await configure_options(hass, form["flow_id"], {"name": name, "lights": list(lights)})


async def _delete(hass: HomeAssistant, bed: MeshTestbed, address: int) -> Any:
    form = await open_options(hass, bed.entry, "delete_group")
    assert form["type"] is FlowResultType.FORM
    return await configure_options(hass, form["flow_id"], {"group": f"{address:04x}"})


async def _light_call(hass: HomeAssistant, service: str, entity_id: str, **data: Any) -> None:
    await hass.services.async_call(
        LIGHT_DOMAIN, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )
    await hass.async_block_till_done()


async def _scene(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)
    await hass.async_block_till_done()


def _network_pdus(bed: MeshTestbed, start: int) -> list[int]:
    """The destination of every Network PDU Home Assistant wrote since log entry ``start``."""
    keys = NetworkKeyring()
    for net_key in bed.network.net_keys:
        keys.add(net_key.index, net_key.key)
    iv = IvIndexState(iv_index=bed.iv_index)
    reassembler = Reassembler()
    destinations = []
    for record in bed.proxy.stats.log[start:]:
        if record.direction != "write" or record.char_uuid.lower() != MESH_PROXY_DATA_IN_UUID:
            continue
        message = reassembler.receive(record.data, record.time)
        if message is not None and message.message_type is ProxyMessageType.NETWORK_PDU:
            destinations.append(decrypt_with_keyring(message.data, keys, iv).pdu.dst)
    return destinations


async def _advance(hass: HomeAssistant, seconds: int) -> None:
    """Fire the timers due within ``seconds`` without waiting for the flow's task.

    (``TimeMachine`` waits for every task at each step, the flow's among them, which only
    ends once the retransmission timers fire.)
    """
    for second in range(1, seconds + 1):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=second))
        for _ in range(10):
            await asyncio.sleep(0)


def _writes(bed: MeshTestbed, start: int) -> int:
    return sum(
        1
        for record in bed.proxy.stats.log[start:]
        if record.direction == "write" and record.char_uuid.lower() == MESH_PROXY_DATA_IN_UUID
    )


def _state(hass: HomeAssistant, entity_id: str) -> Any:
    state = hass.states.get(entity_id)
    assert state is not None
    return state


# --- the story ------------------------------------------------------------------------------


async def test_group_story(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """Create a group of two lights, switch it, store and recall a scene, delete it."""
    dimmable, ctl = await bed.async_setup_configured("dimmable", "ctl")
    first, second = _light(hass, bed, dimmable), _light(hass, bed, ctl)

    result = await _create(hass, bed, " Living room ", first, second)
    # The outcome is a result step with its own title (an abort has none in the options
    # dialog); Finish ends the flow and leaves the options as they were.
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "group_created"
    assert result["description_placeholders"] == {"name": "Living room", "address": "C000"}
    assert result["data_schema"] is None or not result["data_schema"].schema
    # A fetch of the step (no input: the frontend may fetch twice after a progress step) shows
    # it again; only Finish (a submit) ends the flow.
    again = await hass.config_entries.options.async_configure(result["flow_id"])
    assert again["type"] is FlowResultType.FORM, again
    assert again["step_id"] == "group_created"
    assert again["description_placeholders"] == result["description_placeholders"]
    assert bed.entry is not None
    options = dict(bed.entry.options)
    done = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert bed.entry.options == options

    # The nodes hold the subscriptions, and the database says so.
    for node in (dimmable, ctl):
        for model in GROUP_MODELS:
            assert _subscriptions(node, model) == [0xC000], (node.name, hex(model))
        assert _subscriptions(node, ids.GENERIC_LEVEL_SERVER) == []
    assert _subscriptions(ctl, ids.LIGHT_CTL_SERVER) == [0xC000]
    saved = bed.saved_network()
    assert [(g.name, g.address) for g in saved.groups] == [("Living room", 0xC000)]
    record = saved.node_by_uuid(bed.stored_node(ctl).uuid)
    assert record is not None
    assert record.elements[0].model(ids.LIGHT_CTL_SERVER).subscribe == [0xC000]  # type: ignore[union-attr]
    # The proxy forwards what is sent to the group (its accept list has it).
    assert 0xC000 in dimmable.proxy_filter

    # One light for the group, named after it, with what both members can do.
    group = _group_light(hass, bed, 0xC000)
    assert group is not None
    state = _state(hass, group)
    assert state.name == "Living room"
    assert state.attributes[ATTR_SUPPORTED_COLOR_MODES] == ["brightness"]
    assert state.attributes[ATTR_ENTITY_ID] == [first, second]

    # Turning the group on is one Network PDU, to the group address, however many members.
    start = len(bed.proxy.stats.log)
    await _light_call(hass, "turn_on", group, **{ATTR_BRIGHTNESS: 100})
    assert _network_pdus(bed, start) == [0xC000]
    # At ATT MTU 23 (20 octets a write) even the smallest Network PDU with an access message
    # does not fit one write: this 23-octet one (9 header, 1 + 5 + 4 transport, 4 NetMIC) is
    # one Proxy PDU in two SAR segments (MshPRT 1.1 §6.3.2), and nothing else is written.
    assert _writes(bed, start) == 2
    # The proxy node acts at once; the other member hears it relayed over the mesh air.
    await until(hass, lambda: ctl.lights[0].lightness == 100 * 257, "relayed")
    assert dimmable.lights[0].lightness == 100 * 257
    # The members published their new state: their entities and the group follow by push.
    await until(hass, lambda: _state(hass, second).attributes.get(ATTR_BRIGHTNESS) == 100)
    assert _state(hass, first).attributes[ATTR_BRIGHTNESS] == 100
    assert _state(hass, group).state == STATE_ON
    assert _state(hass, group).attributes[ATTR_BRIGHTNESS] == 100

    start = len(bed.proxy.stats.log)
    await _light_call(hass, "turn_off", group)
    assert _network_pdus(bed, start) == [0xC000]
    await until(hass, lambda: not dimmable.lights[0].on and not ctl.lights[0].on, "off")
    await until(hass, lambda: _state(hass, group).state == STATE_OFF)
    await _light_call(hass, "turn_on", group)  # each member back to its last brightness
    await until(hass, lambda: ctl.lights[0].lightness == 100 * 257, "last brightness")
    assert dimmable.lights[0].lightness == 100 * 257

    # A scene stored in the lights themselves, recalled with one message.
    await _light_call(hass, "turn_on", first, **{ATTR_BRIGHTNESS: 200})
    await _light_call(hass, "turn_on", second, **{ATTR_BRIGHTNESS: 50})
    start = len(bed.proxy.stats.log)
    await _scene(hass, SERVICE_SCENE_STORE, entity_id=group, scene=5, name="Evening")
    assert _network_pdus(bed, start) == [0xC000]
    await until(hass, lambda: 5 in ctl.models.scenes, "stored")  # type: ignore[union-attr]
    assert 5 in dimmable.models.scenes  # type: ignore[union-attr]
    await until(hass, lambda: _state(hass, group).attributes.get(ATTR_BRIGHTNESS) == 125)
    await _light_call(hass, "turn_on", group, **{ATTR_BRIGHTNESS: 10})
    await until(hass, lambda: _state(hass, first).attributes.get(ATTR_BRIGHTNESS) == 10)
    start = len(bed.proxy.stats.log)
    await _scene(hass, SERVICE_SCENE_RECALL, entity_id=group, scene=5, transition=0)
    assert _network_pdus(bed, start) == [0xC000]
    await until(hass, lambda: ctl.lights[0].lightness == 50 * 257, "recalled")
    assert dimmable.lights[0].lightness == 200 * 257
    await until(hass, lambda: _state(hass, first).attributes.get(ATTR_BRIGHTNESS) == 200)
    await until(hass, lambda: _state(hass, second).attributes.get(ATTR_BRIGHTNESS) == 50)
    scene = bed.saved_network().scene(5)
    assert scene is not None
    assert scene.name == "Evening"
    assert scene.addresses == [
        bed.stored_node(dimmable).unicast_address,
        bed.stored_node(ctl).unicast_address,
    ]

    # Deleting: the nodes stop listening, the group and its light go.
    result = await _delete(hass, bed, 0xC000)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "group_deleted"
    done = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    for node in (dimmable, ctl):
        for model in GROUP_MODELS:
            assert _subscriptions(node, model) == []
    assert bed.saved_network().groups == []
    saved_ctl = bed.saved_network().node_by_uuid(record.uuid)
    assert saved_ctl is not None
    assert all(0xC000 not in m.subscribe for e in saved_ctl.elements for m in e.models)
    assert _group_light(hass, bed, 0xC000) is None
    assert hass.states.get(group) is None
    assert 0xC000 not in dimmable.proxy_filter


async def test_groups_come_back_after_a_restart(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """The group light is set up from the database; the accept list has the group again."""
    light, plug = await bed.async_setup_configured("dimmable", "onoff_plug")
    result = await _create(hass, bed, "Hall", _light(hass, bed, light), _light(hass, bed, plug))
    assert result["step_id"] == "group_created"
    await bed.async_unload()
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "reconnected")
    group = _group_light(hass, bed, 0xC000)
    assert group is not None
    await until(hass, lambda: _state(hass, group).state == STATE_OFF, "state from the members")
    assert _state(hass, group).attributes[ATTR_SUPPORTED_COLOR_MODES] == ["onoff"]
    await until(hass, lambda: 0xC000 in light.proxy_filter, "accept list")
    await _light_call(hass, "turn_on", group, **{ATTR_BRIGHTNESS: 80})  # onoff: no brightness
    await until(hass, lambda: bool(light.lights[0].on and plug.lights[0].on), "on")
    await until(hass, lambda: _state(hass, group).state == STATE_ON)


@pytest.mark.parametrize(
    ("profiles", "modes", "command", "check"),
    [
        (
            ("ctl", "ctl"),
            ["color_temp"],
            {ATTR_COLOR_TEMP_KELVIN: 3000, ATTR_BRIGHTNESS: 255},
            lambda light: light.temperature == 3000 and light.lightness == 0xFFFF,
        ),
        (
            ("hsl", "hsl"),
            ["hs"],
            {ATTR_HS_COLOR: (180, 100)},
            lambda light: light.hue == 32768 and light.saturation == 0xFFFF,
        ),
        (
            ("xyl", "xyl"),
            ["xy"],
            {ATTR_XY_COLOR: (0.3, 0.4)},
            lambda light: light.x == round(0.3 * 65535),
        ),
    ],
    ids=["ctl", "hsl", "xyl"],
)
async def test_group_colour_modes(
    hass: HomeAssistant,
    bed: MeshTestbed,
    profiles: tuple[str, str],
    modes: list[str],
    command: dict[str, Any],
    check: Any,
) -> None:
    """A group of colour lights offers their common colour mode, as one group message."""
    nodes = await bed.async_setup_configured(*profiles)
    result = await _create(hass, bed, "Colour", *(_light(hass, bed, n) for n in nodes))
    assert result["step_id"] == "group_created"
    group = _group_light(hass, bed, 0xC000)
    assert group is not None
    assert _state(hass, group).attributes[ATTR_SUPPORTED_COLOR_MODES] == modes
    start = len(bed.proxy.stats.log)
    await _light_call(hass, "turn_on", group, **command)
    assert _network_pdus(bed, start) == [0xC000]
    await until(hass, lambda: all(check(n.lights[0]) for n in nodes), "colour")
    await until(hass, lambda: _state(hass, group).attributes.get(ATTR_COLOR_MODE) == modes[0])


# --- the options flow's other paths ----------------------------------------------------------


async def test_create_form_errors(hass: HomeAssistant, bed: MeshTestbed) -> None:
    light, _plug = await bed.async_setup_configured("dimmable", "onoff_plug")
    form = await open_options(hass, bed.entry, "create_group")
    result = await configure_options(hass, form["flow_id"], {"name": "  ", "lights": []})
    assert result["errors"] == {"name": "name_required"}
    result = await configure_options(hass, form["flow_id"], {"name": "Den", "lights": []})
    assert result["errors"] == {"lights": "no_lights_selected"}
    # A light of another integration is not offered, so not accepted.
    with pytest.raises(vol.Invalid):
        await configure_options(hass, form["flow_id"], {"name": "Den", "lights": ["light.other"]})
    # No free group address in Home Assistant's range.
    provisioner = bed.runtime.network.local_provisioner
    assert provisioner is not None
    ranges, provisioner.group_ranges = provisioner.group_ranges, []
    result = await configure_options(
        hass, form["flow_id"], {"name": "Den", "lights": [_light(hass, bed, light)]}
    )
    assert result["step_id"] == "create_group"
    assert result["errors"] == {"base": "no_free_group_address"}
    provisioner.group_ranges = ranges
    assert bed.runtime.network.groups == []
    # The menu offers no deletion while there is no group.
    menu = await hass.config_entries.options.async_init(bed.entry.entry_id)  # type: ignore[union-attr]
    assert menu["menu_options"] == ["create_group", "remove_node", "settings"]


async def test_create_when_a_node_does_not_answer(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """The group is not created, and what the answering node subscribed is taken back."""
    light, silent = await bed.async_setup_configured("dimmable", "dimmable")
    first, second = _light(hass, bed, light), _light(hass, bed, silent)
    silent.faults.stop_answering = True
    form = await open_options(hass, bed.entry, "create_group")
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"name": "Den", "lights": [first, second]}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "create_group"
    await _advance(hass, 30)
    result = await configure_options(hass, form["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "node_no_reply"}
    node = bed.stored_node(silent)
    assert result["description_placeholders"] == {
        "node": f"{node.name} ({node.unicast_address:04X})"
    }
    assert _subscriptions(light, ids.GENERIC_ONOFF_SERVER) == []  # rolled back
    assert bed.runtime.network.groups == []
    assert bed.saved_network().groups == []
    assert _group_light(hass, bed, 0xC000) is None
    # The form keeps what was entered; once the node is back the same submit works.
    silent.faults.stop_answering = False
    result = await configure_options(
        hass, form["flow_id"], {"name": "Den", "lights": [first, second]}
    )
    assert result["step_id"] == "group_created"
    assert _subscriptions(silent, ids.GENERIC_ONOFF_SERVER) == [0xC000]


async def test_create_when_a_node_refuses(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    entity_id = _light(hass, bed, light)
    # The record claims a model the node does not have: it answers Invalid Model.
    element = bed.stored_node(light).elements[0]
    element.models.append(Model(ids.LIGHT_XYL_SERVER))
    form = await open_options(hass, bed.entry, "create_group")
    result = await configure_options(hass, form["flow_id"], {"name": "Den", "lights": [entity_id]})
    assert result["errors"] == {"base": "node_refused"}
    assert result["description_placeholders"]["reason"] == "Model Subscription Add: INVALID_MODEL"
    assert _subscriptions(light, ids.GENERIC_ONOFF_SERVER) == []
    assert all(0xC000 not in m.subscribe for m in element.models)
    assert bed.runtime.network.groups == []


async def test_create_and_delete_without_a_connection(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    light, plug = await bed.async_setup_configured("dimmable", "onoff_plug")
    result = await _create(hass, bed, "Den", _light(hass, bed, light))
    assert result["step_id"] == "group_created"
    create = await open_options(hass, bed.entry, "create_group")
    delete = await open_options(hass, bed.entry, "delete_group")
    for node in (light, plug):
        virtual_proxy.set_unreachable(node.address, True)
        virtual_proxy.drop_connection(node.address)
    await until(hass, lambda: not bed.runtime.connected, "disconnected")
    result = await configure_options(
        hass, create["flow_id"], {"name": "Hall", "lights": [_light(hass, bed, plug)]}
    )
    assert result["errors"] == {"base": "not_connected"}
    result = await configure_options(hass, delete["flow_id"], {"group": "c000"})
    assert result["step_id"] == "delete_group"
    assert result["errors"] == {"base": "not_connected"}
    assert [g.name for g in bed.runtime.network.groups] == ["Den"]
    assert _subscriptions(light, ids.GENERIC_ONOFF_SERVER) == [0xC000]


async def test_delete_when_a_node_does_not_answer(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """The group goes; the node out of reach is named and keeps its (recorded) subscription."""
    light, gone = await bed.async_setup_configured("dimmable", "onoff_plug")
    result = await _create(hass, bed, "Den", _light(hass, bed, light), _light(hass, bed, gone))
    assert result["step_id"] == "group_created"
    gone.faults.stop_answering = True
    form = await open_options(hass, bed.entry, "delete_group")
    result = await hass.config_entries.options.async_configure(form["flow_id"], {"group": "c000"})
    assert result["progress_action"] == "delete_group"
    await _advance(hass, 30)
    result = await configure_options(hass, form["flow_id"])
    assert result["step_id"] == "group_deleted_unreachable"
    assert result["description_placeholders"]["nodes"] == bed.stored_node(gone).name
    done = await hass.config_entries.options.async_configure(form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert _subscriptions(light, ids.GENERIC_ONOFF_SERVER) == []
    assert _subscriptions(gone, ids.GENERIC_ONOFF_SERVER) == [0xC000]
    model = bed.stored_node(gone).elements[0].model(ids.GENERIC_ONOFF_SERVER)
    assert model is not None
    assert model.subscribe == [0xC000]  # the database says what the node holds
    assert bed.runtime.network.groups == []
    assert _group_light(hass, bed, 0xC000) is None


async def test_delete_a_group_that_went_meanwhile(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    await _create(hass, bed, "Den", _light(hass, bed, light))
    stale = await open_options(hass, bed.entry, "delete_group")
    assert (await _delete(hass, bed, 0xC000))["step_id"] == "group_deleted"
    result = await configure_options(hass, stale["flow_id"], {"group": "c000"})
    assert result["errors"] == {"group": "group_gone"}


async def test_options_without_lights_or_when_not_loaded(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    await bed.async_setup()  # no node yet
    result = await open_options(hass, bed.entry, "create_group")
    # Titled steps, not aborts: Back returns to the menu (no device to remove either).
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "no_lights"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["create_group", "settings"]
    await bed.async_unload()
    assert bed.entry is not None
    result = await hass.config_entries.options.async_init(bed.entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "not_loaded"
    assert result["description_placeholders"] == {"network": "Home mesh"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["step_id"] == "not_loaded"  # still not running
    await bed.async_setup()
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.MENU  # Try again, once it runs


# --- scenes for the whole network, and bad targets -------------------------------------------


async def test_scene_for_all_nodes(hass: HomeAssistant, bed: MeshTestbed) -> None:
    light, plug = await bed.async_setup_configured("dimmable", "onoff_plug")
    assert bed.entry is not None
    await _light_call(hass, "turn_on", _light(hass, bed, light), **{ATTR_BRIGHTNESS: 128})
    await _light_call(hass, "turn_off", _light(hass, bed, plug))
    start = len(bed.proxy.stats.log)
    await _scene(hass, SERVICE_SCENE_STORE, config_entry_id=bed.entry.entry_id, scene=7)
    assert _network_pdus(bed, start) == [0xFFFF]
    assert bed.saved_network().scene(7).name == "Scene 7"  # type: ignore[union-attr]
    await _scene(
        hass, SERVICE_SCENE_STORE, config_entry_id=bed.entry.entry_id, scene=7, name="Night"
    )
    await _light_call(hass, "turn_off", _light(hass, bed, light))
    await _light_call(hass, "turn_on", _light(hass, bed, plug))
    await _scene(hass, SERVICE_SCENE_RECALL, config_entry_id=bed.entry.entry_id, scene=7)
    await until(hass, lambda: light.lights[0].lightness == 128 * 257 and not plug.lights[0].on)
    scene = bed.saved_network().scene(7)
    assert scene is not None
    assert scene.name == "Night"  # named when stored again
    assert scene.addresses == sorted(bed.stored_node(n).unicast_address for n in (light, plug))


async def test_scene_targets_are_checked(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (light,) = await bed.async_setup_configured("dimmable")
    with pytest.raises(ServiceValidationError) as err:
        await _scene(hass, SERVICE_SCENE_RECALL, entity_id=_light(hass, bed, light), scene=1)
    assert err.value.translation_key == "invalid_group"
    with pytest.raises(ServiceValidationError):
        await _scene(hass, SERVICE_SCENE_RECALL, entity_id="light.nothing", scene=1)
    with pytest.raises(vol.Invalid):
        await _scene(hass, SERVICE_SCENE_STORE, scene=1)  # no target
    with pytest.raises(vol.Invalid):
        await _scene(hass, SERVICE_SCENE_STORE, entity_id="light.x", config_entry_id="y", scene=1)
    with pytest.raises(vol.Invalid):
        await _scene(hass, SERVICE_SCENE_STORE, config_entry_id="y", scene=0)


async def test_group_from_the_database(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """A group imported with the network, no light of ours in it: a light all the same."""
    bed.network.add_group("Imported", 0xC005)
    (light,) = await bed.async_setup_configured("dimmable")
    await until(hass, lambda: 0xC005 in light.proxy_filter, "accept list")
    group = _group_light(hass, bed, 0xC005)
    assert group is not None
    state = _state(hass, group)
    assert state.name == "Imported"
    assert state.attributes[ATTR_SUPPORTED_COLOR_MODES] == ["onoff"]
    assert state.attributes[ATTR_ENTITY_ID] == []


async def test_scene_setup_server_bound_for_older_nodes(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """A node configured before the Scene Setup Server was bound gets it bound on joining."""
    (light,) = await bed.async_setup_configured("dimmable")
    setup = bed.stored_node(light).elements[0].model(ids.SCENE_SETUP_SERVER)
    assert setup is not None
    assert light.models is not None
    setup.bind.clear()
    light.models.bindings[(0, ids.SCENE_SETUP_SERVER)].clear()
    result = await _create(hass, bed, "Den", _light(hass, bed, light))
    assert result["step_id"] == "group_created"
    assert setup.bind == [0]
    assert 0 in light.models.bindings[(0, ids.SCENE_SETUP_SERVER)]
