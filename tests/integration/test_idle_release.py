"""Idle release of the proxy connection (the ``release_when_idle`` option).

Through Home Assistant's flow manager, service registry and Bluetooth stack, the virtual proxy
and simulated nodes; nothing of ours is mocked. Time moves with Home Assistant's scheduler
(:class:`~.mesh_testbed.TimeMachine`).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.light.const import DOMAIN as LIGHT_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from custom_components.ble_mesh.const import (
    CONF_IDLE_SECONDS,
    CONF_RELEASE_WHEN_IDLE,
    CONF_SWITCHES_AS_LIGHTS,
    DEFAULT_IDLE_SECONDS,
    DOMAIN,
)
from custom_components.ble_mesh.exceptions import MeshNotConnectedError, MeshTimeoutError
from custom_components.ble_mesh.mesh.models import generic as gen
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed, TimeMachine, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")

IDLE = 30


async def _ready(
    hass: HomeAssistant, bed: MeshTestbed, options: dict[str, Any] | None = None
) -> SimulatedNode:
    """One configured light, with ``options`` stored before the entry is set up."""
    node = bed.provision("dimmable")
    bed.add(node)
    entry = await bed.async_setup()
    if options is not None:
        hass.config_entries.async_update_entry(entry, options=options)
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured")
    await hass.async_block_till_done(wait_background_tasks=True)  # its state is read
    return node


def _entity_id(hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode) -> str:
    address = bed.stored_node(node).unicast_address
    entity_id = er.async_get(hass).async_get_entity_id(
        LIGHT_DOMAIN, DOMAIN, f"{bed.mesh_uuid}_{address:04x}"
    )
    assert entity_id is not None
    return entity_id


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def _call(hass: HomeAssistant, service: str, entity_id: str) -> None:
    await hass.services.async_call(
        LIGHT_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )
    await hass.async_block_till_done()


async def _open_settings(hass: HomeAssistant, bed: MeshTestbed) -> Any:
    assert bed.entry is not None
    menu = await hass.config_entries.options.async_init(bed.entry.entry_id)
    assert menu["type"] is FlowResultType.MENU
    assert menu["menu_options"] == ["create_group", "remove_node", "settings"]  # no group
    return await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": "settings"}
    )


def _suggested(form: Any) -> dict[str, Any]:
    """The values the form shows: the suggested ones, else the defaults."""
    values: dict[str, Any] = {}
    for key in form["data_schema"].schema:
        suggested = (key.description or {}).get("suggested_value")
        values[str(key)] = suggested if suggested is not None else key.default()
    return values


async def _released(hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode) -> None:
    await until(
        hass,
        lambda: bed.runtime.released and not bed.proxy.is_connected(node.address),
        "released",
    )


async def test_settings_form_round_trip_applies_without_reload(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed)
    runtime = bed.runtime
    form = await _open_settings(hass, bed)
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "settings"
    assert _suggested(form) == {
        CONF_RELEASE_WHEN_IDLE: False,
        CONF_IDLE_SECONDS: DEFAULT_IDLE_SECONDS,
    }
    # Out of range: the selector refuses it.
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            form["flow_id"], {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: 5}
        )
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert bed.entry is not None
    assert bed.entry.options == {
        CONF_RELEASE_WHEN_IDLE: True,
        CONF_IDLE_SECONDS: IDLE,
        CONF_SWITCHES_AS_LIGHTS: [],
    }
    # Applied to the running network: no reload, same runtime, released after the idle time.
    assert bed.entry.state is ConfigEntryState.LOADED
    assert bed.runtime is runtime
    await TimeMachine(hass).advance(IDLE + 2)
    await _released(hass, bed, node)
    # The form shows what is stored.
    form = await _open_settings(hass, bed)
    assert _suggested(form) == {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE}
    # Turned off again: connected again at once, and the link is kept.
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {CONF_RELEASE_WHEN_IDLE: False, CONF_IDLE_SECONDS: IDLE}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await until(hass, lambda: virtual_proxy.is_connected(node.address), "reconnected")
    await until(hass, lambda: runtime.connected and not runtime.released, "connected")
    await TimeMachine(hass).advance(3 * IDLE)
    assert virtual_proxy.is_connected(node.address)
    assert bed.runtime is runtime


async def test_link_released_after_idle_time_entities_stay_available(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    entity_id = _entity_id(hass, bed, node)
    await _call(hass, "turn_on", entity_id)
    assert node.lights[0].on == 1
    assert _state(hass, entity_id) == STATE_ON
    time = TimeMachine(hass)
    await time.advance(IDLE - 5)
    assert virtual_proxy.is_connected(node.address)  # not idle long enough yet
    assert bed.runtime.connected
    await time.advance(10)
    await _released(hass, bed, node)
    runtime = bed.runtime
    assert not runtime.connected  # the link is down...
    assert runtime.available  # ...on purpose: the entity keeps its last state
    assert _state(hass, entity_id) == STATE_ON
    assert runtime.diagnostics()["released"] is True
    # Its advertisements do not bring the link back: only a send does.
    virtual_proxy.advertise_all()
    await time.advance(5)
    assert not virtual_proxy.is_connected(node.address)
    assert _state(hass, entity_id) == STATE_ON


async def test_command_after_release_reconnects_and_reaches_the_node(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    entity_id = _entity_id(hass, bed, node)
    assert _state(hass, entity_id) == STATE_OFF
    shown: list[str] = []
    bed.entry.async_on_unload(  # type: ignore[union-attr]
        async_track_state_change_event(
            hass,
            [entity_id],
            lambda event: shown.append(getattr(event.data["new_state"], "state", "")),
        )
    )
    time = TimeMachine(hass)
    await time.advance(IDLE + 2)
    await _released(hass, bed, node)
    connects = virtual_proxy.stats.connects[node.address.upper()]

    await _call(hass, "turn_on", entity_id)  # waits for the connection, then is answered
    assert node.lights[0].on == 1
    assert _state(hass, entity_id) == STATE_ON
    assert virtual_proxy.is_connected(node.address)
    assert virtual_proxy.stats.connects[node.address.upper()] == connects + 1
    assert bed.runtime.connected
    assert not bed.runtime.released
    assert STATE_UNAVAILABLE not in shown  # released and reconnected without a flicker
    # Idle again: released again; an unacknowledged send reconnects the same way.
    await time.advance(IDLE + 2)
    await _released(hass, bed, node)
    address = bed.stored_node(node).unicast_address
    await bed.runtime.async_send(
        address, gen.GenericOnOffSetUnacknowledged(False, bed.runtime.next_tid(address))
    )
    await until(hass, lambda: node.lights[0].on == 0, "switched off")
    assert virtual_proxy.is_connected(node.address)


async def test_reconnect_failure_after_release_makes_entities_unavailable(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    entity_id = _entity_id(hass, bed, node)
    time = TimeMachine(hass)
    await time.advance(IDLE + 2)
    await _released(hass, bed, node)
    virtual_proxy.set_unreachable(node.address)  # the vendor's app holds the only connection
    with pytest.raises(MeshNotConnectedError):
        await _call(hass, "turn_on", entity_id)
    assert node.lights[0].on == 0
    assert not bed.runtime.available
    assert _state(hass, entity_id) == STATE_UNAVAILABLE
    # The app lets go: the usual reconnection (backoff) brings the network back.
    virtual_proxy.clear_connect_failures()
    await TimeMachine(hass).advance(5)  # (a new one: the old one is past the next idle time)
    await until(hass, lambda: bed.runtime.connected, "reconnected")
    assert _state(hass, entity_id) == STATE_OFF


async def test_default_off_keeps_the_link(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed)
    assert bed.entry is not None
    assert bed.entry.options == {}
    await TimeMachine(hass).advance(3 * DEFAULT_IDLE_SECONDS, step=5.0)
    assert virtual_proxy.is_connected(node.address)
    assert bed.runtime.connected
    assert not bed.runtime.released
    assert virtual_proxy.stats.disconnects[node.address.upper()] == 0


async def test_pending_request_keeps_the_link(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    address = bed.stored_node(node).unicast_address
    node.faults.stop_answering = True
    request = hass.async_create_background_task(
        bed.runtime.async_send(
            address,
            gen.GenericOnOffGet(),
            expect=gen.GenericOnOffStatus,
            timeout=IDLE + 10,
            retries=0,
        ),
        "unanswered request",
    )
    time = TimeMachine(hass)
    await time.advance(IDLE + 5)  # idle, but a request waits for its answer
    assert not request.done()
    assert virtual_proxy.is_connected(node.address)
    await time.advance(10)
    with pytest.raises(MeshTimeoutError):
        await request
    await time.advance(IDLE)  # nothing pending any more
    await _released(hass, bed, node)


async def test_send_that_cannot_wait_for_the_link_fails(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    address = bed.stored_node(node).unicast_address
    await TimeMachine(hass).advance(IDLE + 2)
    await _released(hass, bed, node)
    message = gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
    virtual_proxy.fail_next_connects(1)  # bleak-retry-connector retries: it takes a moment
    with pytest.raises(MeshNotConnectedError):
        await bed.runtime.async_send(address, message, timeout=0.0, retries=0)
    assert node.lights[0].on == 0
    # The connection it asked for still comes up.
    await until(hass, lambda: bed.runtime.connected, "reconnected")
    assert virtual_proxy.is_connected(node.address)


async def test_work_for_the_nodes_reconnects(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = await _ready(hass, bed, {CONF_RELEASE_WHEN_IDLE: True, CONF_IDLE_SECONDS: IDLE})
    await TimeMachine(hass).advance(IDLE + 2)
    await _released(hass, bed, node)
    # Reconfiguring a node (the reconfigure action) needs the link: it connects again.
    await bed.runtime.nodes.async_reconfigure_node(bed.stored_node(node))
    assert not bed.stored_node(node).config_complete
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured again")
    assert virtual_proxy.is_connected(node.address)
    assert bed.runtime.connected
