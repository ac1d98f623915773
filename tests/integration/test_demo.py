"""The demo wiring (simulator.demo and the ble_mesh_sim helper integration) in a test Home Assistant.

The demo's own virtual proxy plugs into HA's real Bluetooth stack; provisioning runs through
``ble_mesh``'s real config flow, exactly as in a running Home Assistant started by
``scripts/develop``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch
import uuid

from homeassistant import loader
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    get_scheduled_timer_handles,
)
import yaml

from custom_components.ble_mesh.compat import vol
from custom_components.ble_mesh.const import DOMAIN as MESH_DOMAIN
from custom_components.ble_mesh.mesh.models.model_ids import GENERIC_ONOFF_CLIENT
from custom_components.ble_mesh.mesh.provisioning import InputAction, OutputAction
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_SERVICE_UUID,
    MESH_PROXY_SERVICE_UUID,
)
from simulator import demo
from simulator.demo import DOMAIN, DemoHandle, async_setup_demo
from simulator.node import SimulatedNode
from simulator.profiles import PROFILES
from simulator.servers import Publication
from tests.integration.flows import configure, configure_until_input_oob

ROOT = Path(__file__).parent.parent.parent
PACKAGE = ROOT / "simulator" / "ha_demo" / "ble_mesh_sim"

CONFIG: dict[str, Any] = {
    "latency": 0,
    "lights": [
        {"name": "Colour Bulb", "profile": "hsl", "oob": "output_numeric"},
        {"name": "Hall Lamp", "profile": "dimmable", "oob": "input_numeric"},
        {"name": "Mesh Plug", "profile": "onoff_plug", "oob": "none"},
    ],
}

type StartDemo = Callable[..., Awaitable[DemoHandle]]


@pytest.fixture(name="config_dir")
def config_dir_fixture(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Give the test Home Assistant its own configuration directory (the demo writes there)."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.fixture(name="start_demo")
async def start_demo_fixture(
    hass: HomeAssistant, enable_bluetooth: None, config_dir: Path
) -> AsyncGenerator[StartDemo]:
    """Start demos and wait for HA to process their advertisements; stop them after the test."""
    handles: list[DemoHandle] = []

    async def _start(config: dict[str, Any] | None = None) -> DemoHandle:
        handle = await async_setup_demo(hass, CONFIG if config is None else config)
        handles.append(handle)
        await hass.async_block_till_done(wait_background_tasks=True)
        return handle

    yield _start
    for handle in handles:
        await handle.async_stop()
    await hass.async_block_till_done()


def _flows(hass: HomeAssistant, node: SimulatedNode) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(MESH_DOMAIN)
        if flow["context"].get("unique_id") == node.device_uuid.hex()
    ]


def _notifications(hass: HomeAssistant) -> dict[str, Any]:
    return dict(persistent_notification._async_get_or_create_notifications(hass))


def _demo_notifications(hass: HomeAssistant) -> list[str]:
    return [n["message"] for k, n in _notifications(hass).items() if k.startswith(DOMAIN)]


async def _provision(hass: HomeAssistant, handle: DemoHandle, name: str) -> SimulatedNode:
    """Provision a No OOB or Output OOB light through ble_mesh's config flow."""
    node = handle.nodes[name]
    (flow,) = _flows(hass, node)
    flow_id = flow["flow_id"]
    result = await configure(hass, flow_id, {})
    assert result["step_id"] == "method"
    if node.oob.output_actions:
        result = await configure(hass, flow_id, {"method": "output_oob"})
        assert result["step_id"].startswith("output_oob_")
        result = await configure(hass, flow_id, {"value": str(node.shown_oob_value)})
    else:
        result = await configure(hass, flow_id, {"method": "no_oob"})
        result = await configure(hass, flow_id, {})
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    assert node.is_provisioned
    await _configured(hass, node)
    return node


async def _configured(hass: HomeAssistant, node: SimulatedNode) -> None:
    """Wait until Home Assistant finished configuring ``node`` (keys, binds, publication).

    The configuration runs on its own against the simulated node (whose replies take real
    time); every step changes the node, which schedules a save of the demo. Tests that look
    at the saved file wait for the end of it first, whatever the machine's load.
    """
    (entry,) = hass.config_entries.async_entries(MESH_DOMAIN)
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        record = entry.runtime_data.network.node_by_uuid(uuid.UUID(bytes=node.device_uuid))
        if record is not None and record.config_complete:
            await hass.async_block_till_done()
            return
        await hass.async_block_till_done()
        await asyncio.sleep(0.01)
    raise AssertionError(f"{node.name} was not configured within 30 s")


async def _saved(hass: HomeAssistant, handle: DemoHandle) -> dict[str, Any]:
    """Let the debounced save run; return the file's content.

    Home Assistant may still be talking to a provisioned node (configuring it through the
    proxy), which schedules further saves: move time on until they are done.
    """
    for step in range(1, 11):
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=step * (demo.SAVE_DELAY + 1))
        )
        await hass.async_block_till_done()
        if not handle.save_pending:
            break
    assert not handle.save_pending
    data: dict[str, Any] = json.loads(handle.storage_path.read_text(encoding="utf-8"))
    return data


# --- configuration --------------------------------------------------------------------------


def test_lights_have_stable_identities() -> None:
    first = demo.demo_lights(CONFIG)
    again = demo.demo_lights(CONFIG)
    assert [light.device_uuid for light in first] == [light.device_uuid for light in again]
    assert first[0].uuid_text == str(uuid.uuid5(demo.DEMO_NAMESPACE, "Colour Bulb"))
    # The QR text of an OOB public key light never changes (fixed key pair per name).
    (desk,) = demo.demo_lights({"lights": [{"name": "Desk Lamp", "oob": "public_key"}]})
    assert desk.new_node().qr_text() == desk.new_node().qr_text()
    assert "PUBKEY:" in desk.new_node().qr_text()
    assert f"OOB:{demo.DEMO_STATIC_OOB.hex()}" in desk.new_node().qr_text()


def test_defaults_cover_every_profile_and_oob_kind() -> None:
    lights = demo.demo_lights(None)
    assert {light.profile for light in lights} == set(PROFILES)
    kinds = {light.oob_mode for light in lights}
    assert {"none", "static", "public_key"} <= kinds
    assert kinds & set(demo.OUTPUT_MODES)
    assert kinds & set(demo.INPUT_MODES)


def test_configuration_yaml_demo_block() -> None:
    """config/configuration.yaml's block is valid and equals the documented default set."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_constructor("!include", lambda _loader, _node: None)
    text = (ROOT / "config" / "configuration.yaml").read_text(encoding="utf-8")
    block = yaml.load(text, Loader=_Loader)[DOMAIN]
    assert demo.demo_lights(block) == demo.demo_lights(None)
    lights = demo.CONFIG_SCHEMA({DOMAIN: None})[DOMAIN]["lights"]
    assert [light["name"] for light in lights] == [light["name"] for light in demo.DEFAULT_LIGHTS]


@pytest.mark.parametrize(
    "config",
    [
        {"lights": [{"name": "A"}, {"name": "a"}]},
        {"lights": [{"name": "A", "profile": "toaster"}]},
        {"lights": [{"name": "A", "oob": "telepathy"}]},
        {"lights": [{"name": "A", "oob": "static", "static_oob": "xyz"}]},
        {"lights": [{"name": "A", "oob": "static", "static_oob": "00" * 33}]},
        {"lights": [{"name": "A", "oob": "none", "static_oob": "0011"}]},
        {"lights": [{"name": "A", "oob": "blink", "output_size": 9}]},
        {"latency": -1},
        {"mtu": 600},
    ],
)
def test_invalid_configuration(config: dict[str, Any]) -> None:
    with pytest.raises(vol.Invalid):
        demo.CONFIG_SCHEMA({DOMAIN: config})


def test_light_options() -> None:
    kitchen, knob, code = demo.demo_lights(
        {
            "lights": [
                {"name": "Kitchen", "oob": "static", "static_oob": "0x01:02:03"},
                {"name": "Knob", "oob": "twist"},
                {"name": "Code", "oob": "output_alphanumeric", "output_size": 6},
            ]
        }
    )
    assert kitchen.oob.static_oob == b"\x01\x02\x03"
    assert knob.oob.input_size == 1
    assert knob.describe_oob() == "Input OOB: twist (1 to 9 times)"
    assert code.describe_oob() == "Output OOB: output_alphanumeric (6 characters)"
    assert "QR text `UUID:" in demo.readme_table()
    defaults = demo.DEMO_SCHEMA({})
    assert defaults["latency"] == demo.DEFAULT_LATENCY == 0.03
    assert defaults["mtu"] == demo.DEFAULT_MTU


# --- running in Home Assistant --------------------------------------------------------------


async def test_every_light_is_discovered(
    hass: HomeAssistant, start_demo: StartDemo, caplog: pytest.LogCaptureFixture
) -> None:
    handle = await start_demo()
    assert handle.proxy.started
    assert handle.proxy.latency == 0
    assert handle.storage_path == Path(hass.config.path(".ble_mesh_sim.json"))
    for name, node in handle.nodes.items():
        assert node.name == name
        assert node.schedule is not None
        assert node.clock is handle.proxy.clock
        flows = _flows(hass, node)
        assert len(flows) == 1, name
        assert flows[0]["context"]["source"] == "bluetooth"
    # Lookup by name (any case), address or Device UUID.
    bulb = handle.nodes["Colour Bulb"]
    assert handle.node("colour bulb") is bulb
    assert handle.node(bulb.address.lower()) is bulb
    assert handle.node(bulb.device_uuid.hex()) is bulb
    with pytest.raises(KeyError):
        handle.node("Nope")
    with pytest.raises(HomeAssistantError, match="already running"):
        await async_setup_demo(hass, CONFIG)
    # Shortly after start the demo says what Bluetooth Mesh offers to add.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=demo.REPORT_DELAY + 1))
    await hass.async_block_till_done()
    assert (
        "ble_mesh discovery flow(s) for simulated lights: Colour Bulb, Hall Lamp, Mesh Plug; "
        "provisioned: none"
    ) in caplog.text


async def test_output_oob_value_is_shown_in_a_notification(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    start_demo: StartDemo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle = await start_demo()
    node = handle.nodes["Colour Bulb"]
    (flow,) = _flows(hass, node)
    result = await configure(hass, flow["flow_id"], {})
    result = await configure(hass, flow["flow_id"], {"method": "output_oob"})
    assert result["step_id"] == "output_oob_number"
    value = node.shown_oob_value
    assert value is not None
    assert _demo_notifications(hass) == [
        f"**Colour Bulb** shows {value}.\n\nThis is what the real light would show you: "
        "type it into the Bluetooth Mesh dialog in Home Assistant. While the dialog is open, "
        "see the light in a second browser tab: *Settings → Devices & services → Devices → "
        "Colour Bulb (simulated light)* shows its display and keypad."
    ]
    assert f"Colour Bulb shows {value} (Output OOB" in caplog.text
    result = await configure(hass, flow["flow_id"], {"value": str(value)})
    assert result["reason"] == "provisioned"
    # Provisioned: the notification is gone and the light advertises the Mesh Proxy service.
    await hass.async_block_till_done()
    assert _demo_notifications(hass) == []
    adv = node.advertisement()
    assert adv is not None
    assert adv.service_uuids == (MESH_PROXY_SERVICE_UUID,)


def test_output_and_input_wording() -> None:
    assert demo.output_text(OutputAction.BLINK, 4) == "blinks 4 times"
    assert demo.output_text(OutputAction.BEEP, 1) == "beeps once"
    assert demo.output_text(OutputAction.VIBRATE, 2) == "vibrates 2 times"
    assert demo.output_text(OutputAction.OUTPUT_ALPHANUMERIC, "AB12") == "shows AB12"
    assert demo.input_text(InputAction.PUSH, 1) == (
        "waits for its button to be pushed (1 to 9 times)"
    )
    assert "knob" in demo.input_text(InputAction.TWIST, 1)
    assert demo.input_text(InputAction.INPUT_ALPHANUMERIC, 6) == (
        "waits for a code (up to 6 characters)"
    )


async def test_closing_the_dialog_takes_the_notification_down(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    node = handle.nodes["Colour Bulb"]
    (flow,) = _flows(hass, node)
    await configure(hass, flow["flow_id"], {})
    await configure(hass, flow["flow_id"], {"method": "output_oob"})
    assert len(_demo_notifications(hass)) == 1
    hass.config_entries.flow.async_abort(flow["flow_id"])
    await hass.async_block_till_done()
    assert _demo_notifications(hass) == []
    assert not node.is_provisioned


async def test_enter_input_oob_action_reaches_the_node(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    node = handle.nodes["Hall Lamp"]
    with pytest.raises(ServiceValidationError, match="not waiting"):
        await hass.services.async_call(
            DOMAIN, "enter_input_oob", {"device": "Hall Lamp", "value": "1"}, blocking=True
        )
    (flow,) = _flows(hass, node)
    await configure(hass, flow["flow_id"], {})
    result = await configure_until_input_oob(hass, flow["flow_id"], {"method": "input_oob"})
    assert node.input_oob_request is not None
    (message,) = _demo_notifications(hass)
    assert message.startswith("**Hall Lamp** waits for a number (up to 4 digits).")
    assert "ble_mesh_sim.enter_input_oob" in message
    assert "*Keypad* of its device page" in message
    for bad in ("x", "123456789"):
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                DOMAIN, "enter_input_oob", {"device": "Hall Lamp", "value": bad}, blocking=True
            )
    with pytest.raises(ServiceValidationError, match="No simulated light"):
        await hass.services.async_call(
            DOMAIN, "enter_input_oob", {"device": "Attic", "value": "1"}, blocking=True
        )
    value = result["description_placeholders"]["value"]
    await hass.services.async_call(
        DOMAIN, "enter_input_oob", {"device": "hall lamp", "value": value}, blocking=True
    )
    assert node.input_oob_request is None
    assert _demo_notifications(hass) == []
    await hass.async_block_till_done()
    result = await configure(hass, flow["flow_id"])
    assert result["reason"] == "provisioned"
    assert node.is_provisioned


async def test_provisioned_lights_survive_a_restart(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    node = await _provision(hass, handle, "Mesh Plug")
    saved = await _saved(hass, handle)
    entry = saved["nodes"][node.device_uuid.hex()]
    assert entry["provisioned"]["unicast_address"] == node.unicast_address
    assert handle.storage_path.stat().st_mode & 0o077 == 0  # it holds network keys
    await handle.async_stop()
    await hass.async_block_till_done()

    again = await start_demo()
    plug = again.nodes["Mesh Plug"]
    assert plug is not node
    assert plug.is_provisioned
    assert plug.unicast_address == node.unicast_address
    assert plug.provisioned is not None
    assert node.provisioned is not None
    assert plug.provisioned.device_key == node.provisioned.device_key
    adv = plug.advertisement()
    assert adv is not None
    assert adv.service_uuids == (MESH_PROXY_SERVICE_UUID,)
    assert again.proxy.stats.advertisements[plug.address] >= 1
    # The others are still unprovisioned and discoverable.
    bulb = again.nodes["Colour Bulb"]
    assert not bulb.is_provisioned
    adv = bulb.advertisement()
    assert adv is not None
    assert adv.service_uuids == (MESH_PROVISIONING_SERVICE_UUID,)
    # The provisioned node keeps working after the restart: the wall switch.
    await hass.services.async_call(
        DOMAIN, "set_state", {"device": "Mesh Plug", "on": True}, blocking=True
    )
    assert plug.lights[0].on == 1


async def test_changed_configuration_starts_afresh(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    await _provision(hass, handle, "Mesh Plug")
    await handle.async_stop()
    changed = {
        "latency": 0,
        "lights": [{"name": "Mesh Plug", "profile": "dimmable", "oob": "none"}],
    }
    again = await start_demo(changed)
    assert not again.nodes["Mesh Plug"].is_provisioned
    # Saved state of lights no longer configured is kept, not thrown away.
    await again.async_stop()
    saved = json.loads(again.storage_path.read_text(encoding="utf-8"))
    assert len(saved["nodes"]) == 3


async def test_unreadable_state_file_is_ignored(
    hass: HomeAssistant, start_demo: StartDemo, config_dir: Path
) -> None:
    (config_dir / ".ble_mesh_sim.json").write_text("{not json", encoding="utf-8")
    handle = await start_demo()
    assert not any(node.is_provisioned for node in handle.nodes.values())
    (config_dir / ".ble_mesh_sim.json").write_text('{"version": 99}', encoding="utf-8")
    await handle.async_stop()
    handle = await start_demo()
    assert len(handle.nodes) == 3


async def test_set_state_is_a_wall_switch(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    with pytest.raises(ServiceValidationError, match="not provisioned"):
        await hass.services.async_call(
            DOMAIN, "set_state", {"device": "Colour Bulb", "on": True}, blocking=True
        )
    node = await _provision(hass, handle, "Colour Bulb")
    await hass.services.async_call(
        DOMAIN,
        "set_state",
        {"device": "Colour Bulb", "brightness": 255, "hs_color": [180, 50]},
        blocking=True,
    )
    light = node.lights[0]
    assert light.on == 1
    assert light.lightness == 0xFFFF
    assert light.hue == 0x8000
    assert light.saturation == round(0xFFFF / 2)
    await hass.services.async_call(
        DOMAIN, "set_state", {"device": "Colour Bulb", "on": False}, blocking=True
    )
    assert light.on == 0
    saved = await _saved(hass, handle)
    (stored_light,) = saved["nodes"][node.device_uuid.hex()]["network"]["models"]["lights"]
    assert stored_light["on"] == 0
    assert stored_light["hue"] == 0x8000
    await hass.services.async_call(
        DOMAIN, "set_state", {"device": "Colour Bulb", "lightness": 1000}, blocking=True
    )
    assert light.lightness == 1000
    # Colour the light does not have, a light index it does not have, nothing to change.
    with pytest.raises(ServiceValidationError, match="colour temperature"):
        await hass.services.async_call(
            DOMAIN,
            "set_state",
            {"device": "Colour Bulb", "color_temp_kelvin": 3000},
            blocking=True,
        )
    with pytest.raises(ServiceValidationError, match="1 light"):
        await hass.services.async_call(
            DOMAIN, "set_state", {"device": "Colour Bulb", "light": 1, "on": True}, blocking=True
        )
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "set_state", {"device": "Colour Bulb"}, blocking=True
        )


@pytest.mark.parametrize(
    ("profile", "data", "expected"),
    [
        ("ctl", {"color_temp_kelvin": 3000, "brightness": 128}, {"temperature": 3000}),
        ("xyl", {"xy_color": [0.25, 0.5]}, {"x": round(0.25 * 0xFFFF), "y": round(0.5 * 0xFFFF)}),
        ("two_element", {"light": 1, "brightness": 51}, {"lightness": 51 * 257}),
    ],
)
async def test_set_state_colours(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    start_demo: StartDemo,
    profile: str,
    data: dict[str, Any],
    expected: dict[str, int],
) -> None:
    handle = await start_demo({"latency": 0, "lights": [{"name": "Lamp", "profile": profile}]})
    node = await _provision(hass, handle, "Lamp")
    await hass.services.async_call(DOMAIN, "set_state", {"device": "Lamp", **data}, blocking=True)
    light = node.lights[data.get("light", 0)]
    for name, value in expected.items():
        assert getattr(light, name) == value, name


async def test_factory_reset_action(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    old = await _provision(hass, handle, "Mesh Plug")
    await hass.services.async_call(DOMAIN, "factory_reset", {"device": "Mesh Plug"}, blocking=True)
    node = handle.nodes["Mesh Plug"]
    assert node is not old
    assert not node.is_provisioned
    assert node.device_uuid == old.device_uuid
    assert handle.proxy.get(node.address) is node
    saved = await _saved(hass, handle)
    assert saved["nodes"][node.device_uuid.hex()]["provisioned"] is None


async def _until(hass: HomeAssistant, condition: Callable[[], bool]) -> None:
    """Let the loop run (the air delivers on loop.call_later) until ``condition`` holds."""
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await hass.async_block_till_done()
        await asyncio.sleep(0.01)


SWITCH_CONFIG: dict[str, Any] = {
    "latency": 0,
    "lights": [
        {"name": "Mesh Plug", "profile": "onoff_plug", "oob": "none"},
        {"name": "Wall Switch", "profile": "wall_switch", "oob": "none"},
    ],
}


async def test_press_the_wall_switch_to_turn_a_plug_on(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    start_demo: StartDemo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle = await start_demo(SWITCH_CONFIG)
    with pytest.raises(ServiceValidationError, match="not provisioned"):
        await hass.services.async_call(DOMAIN, "press", {"device": "Wall Switch"}, blocking=True)
    plug = await _provision(hass, handle, "Mesh Plug")
    switch = await _provision(hass, handle, "Wall Switch")
    assert switch.models is not None
    assert plug.unicast_address is not None
    # Home Assistant's configuration points the switch's Generic OnOff Client at itself (its
    # presses are events there): a press does not reach the plug.
    await _until(hass, lambda: (0, GENERIC_ONOFF_CLIENT) in switch.models.publications)  # type: ignore[union-attr]
    await hass.services.async_call(DOMAIN, "press", {"device": "Wall Switch"}, blocking=True)
    assert plug.lights[0].on == 0
    # Publish to the plug (what a configuration tool would set) and press again: the upper
    # half, then toggle. The Set crosses the simulated air to the plug.
    switch.models.publications[(0, GENERIC_ONOFF_CLIENT)] = Publication(
        address=plug.unicast_address, app_key_index=0
    )
    await hass.services.async_call(
        DOMAIN, "press", {"device": "Wall Switch", "on": True}, blocking=True
    )
    await _until(hass, lambda: plug.lights[0].on == 1)
    await hass.services.async_call(DOMAIN, "press", {"device": "Wall Switch"}, blocking=True)
    await _until(hass, lambda: plug.lights[0].on == 0)
    # A plug has no switch button; a switch has no light to set.
    with pytest.raises(ServiceValidationError, match="OnOff Client"):
        await hass.services.async_call(DOMAIN, "press", {"device": "Mesh Plug"}, blocking=True)
    with pytest.raises(ServiceValidationError, match="no light or relay"):
        await hass.services.async_call(
            DOMAIN, "set_state", {"device": "Wall Switch", "on": True}, blocking=True
        )
    saved = await _saved(hass, handle)
    models = saved["nodes"][switch.device_uuid.hex()]["network"]["models"]
    assert models["switch_on"] == {"0": False}


async def test_power_cycle_and_fault_actions(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    plug = await _provision(hass, handle, "Mesh Plug")
    assert plug.models is not None
    await hass.services.async_call(
        DOMAIN, "set_state", {"device": "Mesh Plug", "on": True}, blocking=True
    )
    plug.models.lights[0].on_power_up = 0  # Generic OnPowerUp: Off
    await hass.services.async_call(DOMAIN, "power_cycle", {"device": "Mesh Plug"}, blocking=True)
    assert plug.lights[0].on == 0
    # An unprovisioned device just restarts.
    await hass.services.async_call(DOMAIN, "power_cycle", {"device": "Hall Lamp"}, blocking=True)
    with pytest.raises(ServiceValidationError, match="not provisioned"):
        await hass.services.async_call(
            DOMAIN, "raise_fault", {"device": "Hall Lamp"}, blocking=True
        )
    await hass.services.async_call(DOMAIN, "raise_fault", {"device": "Mesh Plug"}, blocking=True)
    await hass.services.async_call(
        DOMAIN, "raise_fault", {"device": "Mesh Plug", "code": 3}, blocking=True
    )
    assert plug.models.current_faults == [demo.DEMO_FAULT, 3]
    await hass.services.async_call(
        DOMAIN, "clear_fault", {"device": "Mesh Plug", "code": 3}, blocking=True
    )
    assert plug.models.current_faults == [demo.DEMO_FAULT]
    await hass.services.async_call(DOMAIN, "clear_fault", {"device": "Mesh Plug"}, blocking=True)
    assert plug.models.current_faults == []
    assert plug.models.registered_faults == [demo.DEMO_FAULT, 3]
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "raise_fault", {"device": "Mesh Plug", "code": 0}, blocking=True
        )
    saved = await _saved(hass, handle)
    models = saved["nodes"][plug.device_uuid.hex()]["network"]["models"]
    assert models["registered_faults"] == [demo.DEMO_FAULT, 3]


async def test_stop_leaves_no_timers_and_saves(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    handle = await start_demo()
    node = await _provision(hass, handle, "Mesh Plug")
    # A transition keeps a node timer armed; a change keeps the save timer armed.
    await hass.services.async_call(
        DOMAIN,
        "set_state",
        {"device": "Mesh Plug", "on": True, "transition": 30},
        blocking=True,
    )
    assert handle.save_pending
    await handle.async_stop()
    await handle.async_stop()  # twice is harmless
    assert handle.stopped
    assert not handle.save_pending
    assert not handle.proxy.started
    assert DOMAIN not in hass.data
    assert not hass.services.has_service(DOMAIN, "set_state")
    ours = [
        timer
        for timer in get_scheduled_timer_handles(hass.loop)
        if not timer.cancelled()
        and getattr(timer._callback, "__module__", "").startswith("simulator")
    ]
    assert ours == []
    saved = json.loads(handle.storage_path.read_text(encoding="utf-8"))
    assert saved["nodes"][node.device_uuid.hex()]["provisioned"] is not None


# --- the helper integration -----------------------------------------------------------------


@pytest.fixture(name="sim_integration")
def sim_integration_fixture(hass: HomeAssistant) -> loader.Integration:
    """Let Home Assistant load ``ble_mesh_sim`` from the repository, as scripts/develop installs it.

    The package is imported by its repository path (``simulator.ha_demo.ble_mesh_sim``); its
    manifest is the template scripts/develop turns into manifest.json.
    """
    manifest = json.loads((PACKAGE / "manifest.json.template").read_text(encoding="utf-8"))
    integration = loader.Integration(
        hass,
        "simulator.ha_demo.ble_mesh_sim",
        PACKAGE,
        manifest,
        {path.name for path in PACKAGE.iterdir()},
    )
    hass.data[loader.DATA_INTEGRATIONS][DOMAIN] = integration
    return integration


SIM_CONFIG: dict[str, Any] = {
    "latency": 0,
    "lights": [
        *CONFIG["lights"],
        {"name": "Kitchen Light", "profile": "ctl", "oob": "static"},
        {"name": "Wall Switch", "profile": "wall_switch", "oob": "static"},
    ],
}


def _sim_entities(hass: HomeAssistant, light: str) -> dict[str, str]:
    """The entities of a simulated light's own device, by name ("Display", "Keypad"...)."""
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    (device,) = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, demo.device_uuid_for(light).hex()) in d.identifiers
    ]
    kind = PROFILES[handle_profile(hass, light)].kind
    assert device.name == f"{light} (simulated {kind})"
    registry = er.async_get(hass)
    names = {}
    for entry in er.async_entries_for_device(registry, device.id):
        state = hass.states.get(entry.entity_id)
        assert state is not None
        names[str(state.attributes["friendly_name"]).removeprefix(f"{device.name} ")] = (
            entry.entity_id
        )
    return names


def handle_profile(hass: HomeAssistant, light: str) -> str:
    """The profile of a light of the running demo."""
    handle: DemoHandle = hass.data[DOMAIN]
    return handle.lights[light].profile


BUTTONS = {"Reset button", "Power cycle", "Raise fault", "Clear faults"}
"""The buttons on every simulated device's page."""


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_each_light_is_a_device_with_its_display_keypad_label_and_reset_button(
    hass: HomeAssistant,
    enable_bluetooth: None,
    config_dir: Path,
    network_entry: MockConfigEntry,
    sim_integration: loader.Integration,
) -> None:
    """The light as a person holds it, on a page a second browser tab can show while the
    Bluetooth Mesh dialog covers the first: what it blinks or shows, a keypad, its label."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: SIM_CONFIG})
    await hass.async_block_till_done(wait_background_tasks=True)
    handle: DemoHandle = hass.data[DOMAIN]
    try:
        (entry,) = hass.config_entries.async_entries(DOMAIN)
        assert entry.state is ConfigEntryState.LOADED
        bulb = _sim_entities(hass, "Colour Bulb")
        lamp = _sim_entities(hass, "Hall Lamp")
        kitchen = _sim_entities(hass, "Kitchen Light")
        assert set(bulb) == {"Display", *BUTTONS}
        assert set(lamp) == {"Display", "Keypad", *BUTTONS}
        assert set(kitchen) == {"Label", *BUTTONS}
        assert set(_sim_entities(hass, "Mesh Plug")) == BUTTONS
        switch = _sim_entities(hass, "Wall Switch")
        assert set(switch) == {"Label", "Switch button", *BUTTONS}
        with pytest.raises(ServiceValidationError, match="not provisioned"):
            await hass.services.async_call(
                "button", "press", {"entity_id": switch["Switch button"]}, blocking=True
            )
        assert _state(hass, kitchen["Label"]) == handle.qr_text("Kitchen Light")
        assert "OOB:00112233445566778899aabbccddeeff" in _state(hass, kitchen["Label"])

        # Output OOB: the display shows what the light shows, and goes idle with the dialog.
        assert _state(hass, bulb["Display"]) == "idle"
        node = handle.nodes["Colour Bulb"]
        (flow,) = _flows(hass, node)
        await configure(hass, flow["flow_id"], {})
        await configure(hass, flow["flow_id"], {"method": "output_oob"})
        assert _state(hass, bulb["Display"]) == f"shows {node.shown_oob_value}"
        hass.config_entries.flow.async_abort(flow["flow_id"])
        await hass.async_block_till_done()
        assert _state(hass, bulb["Display"]) == "idle"

        # Input OOB: the display says what the light waits for; the keypad takes the value.
        node = handle.nodes["Hall Lamp"]
        with pytest.raises(ServiceValidationError, match="not waiting"):
            await hass.services.async_call(
                "text", "set_value", {"entity_id": lamp["Keypad"], "value": "1"}, blocking=True
            )
        (flow,) = _flows(hass, node)
        await configure(hass, flow["flow_id"], {})
        result = await configure_until_input_oob(hass, flow["flow_id"], {"method": "input_oob"})
        assert _state(hass, lamp["Display"]) == "waits for a number (up to 4 digits)"
        value = result["description_placeholders"]["value"]
        await hass.services.async_call(
            "text", "set_value", {"entity_id": lamp["Keypad"], "value": value}, blocking=True
        )
        assert _state(hass, lamp["Display"]) == "idle"
        await hass.async_block_till_done()
        result = await configure(hass, flow["flow_id"])
        assert result["reason"] == "provisioned"
        assert node.is_provisioned

        # The fault and power buttons.
        assert node.models is not None
        await hass.services.async_call(
            "button", "press", {"entity_id": lamp["Raise fault"]}, blocking=True
        )
        assert node.models.current_faults == [demo.DEMO_FAULT]
        await hass.services.async_call(
            "button", "press", {"entity_id": lamp["Clear faults"]}, blocking=True
        )
        assert node.models.current_faults == []
        node.models.lights[0].on_power_up = 1  # Generic OnPowerUp: Default (on)
        await hass.services.async_call(
            "button", "press", {"entity_id": lamp["Power cycle"]}, blocking=True
        )
        assert node.lights[0].on == 1

        # The reset button: the light forgets the network and is offered again.
        await hass.services.async_call(
            "button", "press", {"entity_id": lamp["Reset button"]}, blocking=True
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        assert not handle.nodes["Hall Lamp"].is_provisioned
        assert handle.nodes["Hall Lamp"] is not node
    finally:
        await handle.async_stop()


async def test_the_lights_devices_go_with_the_yaml_block(
    hass: HomeAssistant,
    enable_bluetooth: None,
    config_dir: Path,
    sim_integration: loader.Integration,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, title="Simulated lights")
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})  # no ble_mesh_sim: block
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_helper_integration_sets_up_and_stops_with_home_assistant(
    hass: HomeAssistant,
    enable_bluetooth: None,
    config_dir: Path,
    sim_integration: loader.Integration,
) -> None:
    from simulator.ha_demo import ble_mesh_sim

    config = ble_mesh_sim.CONFIG_SCHEMA({DOMAIN: CONFIG, "homeassistant": {}})
    assert await ble_mesh_sim.async_setup(hass, {"homeassistant": {}})
    assert DOMAIN not in hass.data
    # Firing the real stop event would stop the test's Home Assistant: catch the listener.
    listeners: dict[Any, Any] = {}
    with patch.object(
        type(hass.bus),
        "async_listen_once",
        lambda _bus, event, listener: listeners.setdefault(event, listener),
    ):
        assert await ble_mesh_sim.async_setup(hass, config)
    handle = hass.data[DOMAIN]
    assert isinstance(handle, DemoHandle)
    assert set(handle.nodes) == {"Colour Bulb", "Hall Lamp", "Mesh Plug"}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(hass.config_entries.flow.async_progress_by_handler(MESH_DOMAIN)) == 3
    await listeners[EVENT_HOMEASSISTANT_STOP](Event(EVENT_HOMEASSISTANT_STOP))
    assert handle.stopped
    assert DOMAIN not in hass.data
    # "ble_mesh_sim:" with nothing under it: the default lights.
    config = ble_mesh_sim.CONFIG_SCHEMA({DOMAIN: None})
    assert len(config[DOMAIN]["lights"]) == len(demo.DEFAULT_LIGHTS)


def test_helper_package_files() -> None:
    assert not (PACKAGE / "manifest.json").exists()  # hassfest must not see it
    manifest = json.loads((PACKAGE / "manifest.json.template").read_text(encoding="utf-8"))
    assert manifest["domain"] == DOMAIN
    assert manifest["name"] == "Bluetooth Mesh simulator (demo)"
    assert manifest["dependencies"] == ["bluetooth"]
    assert manifest["requirements"] == []
    assert manifest["iot_class"] == "local_push"
    assert manifest["version"] == "0.1.0"
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    assert set(services) == set(demo.SERVICES)
    set_state_fields = set(services["set_state"]["fields"])
    assert set_state_fields == {
        "device",
        "light",
        "on",
        "brightness",
        "lightness",
        "color_temp_kelvin",
        "hs_color",
        "xy_color",
        "transition",
    }
    develop = (ROOT / "scripts" / "develop").read_text(encoding="utf-8")
    assert "manifest.json.template" in develop
    # Its own icon on the integration cards (Home Assistant 2026 serves a custom integration's
    # brand/ folder; the browser test checks that it shows).
    assert (PACKAGE / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "*/brand) cp -r" in develop
    assert "PYTHONPATH" in develop


REMOTE_CONFIG: dict[str, Any] = {
    "lights": [
        {"name": "Mesh Plug", "profile": "onoff_plug", "oob": "none", "remote_provisioning": True},
        {"name": "Garage Light", "profile": "dimmable", "oob": "none", "near": "Mesh Plug"},
    ],
}


async def test_a_light_near_another_only_is_found_through_it(
    hass: HomeAssistant, network_entry: MockConfigEntry, start_demo: StartDemo
) -> None:
    """The demo's ``near`` light: no discovery flow (Home Assistant's Bluetooth never hears
    it); once its neighbour (with a Remote Provisioning Server) is a node, a scan through it
    finds the light."""
    handle = await start_demo(REMOTE_CONFIG)
    garage = handle.nodes["Garage Light"]
    assert _flows(hass, garage) == []
    await _provision(hass, handle, "Mesh Plug")
    scanner = network_entry.runtime_data.remote_scanner
    found = await scanner.async_scan(seconds=1)
    assert [d.device_uuid.bytes for d in found] == [garage.device_uuid]
