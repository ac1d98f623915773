"""Driving provisioning dialogs from tests (a helper module: no tests here)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import SOURCE_BLUETOOTH, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import (
    EVENT_DATA_ENTRY_FLOW_PROGRESSED,
    FlowManager,
    FlowResultType,
)
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN, PROVISIONER_NAME
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.storage import now_iso
from simulator.node import SimulatedNode
from tests.simulator_fixtures import AddPeripheral

STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / "ble_mesh" / "strings.json").read_text()
)
"""The integration's strings.json: what the UI says."""

type Uploader = Callable[[bytes], Awaitable[str]]
"""The ``upload`` fixture: bytes in, Home Assistant's file_upload id out."""


def flow_for(hass: HomeAssistant, node: SimulatedNode) -> dict[str, Any]:
    """The one discovery dialog of a simulated node."""
    flows = [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"]["source"] == SOURCE_BLUETOOTH
        and f["context"].get("unique_id") == node.device_uuid.hex()
    ]
    assert len(flows) == 1, flows
    return flows[0]


async def configure(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Submit a step, then follow progress steps until the dialog needs the person again."""
    return await _follow(hass, hass.config_entries.flow, flow_id, user_input)


async def configure_options(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`configure` for an options flow (the network's Configure dialog)."""
    return await _follow(hass, hass.config_entries.options, flow_id, user_input)


async def open_options(hass: HomeAssistant, entry: ConfigEntry | None, step: str) -> dict[str, Any]:
    """Open the network's Configure dialog and pick ``step`` from its menu."""
    assert entry is not None
    menu = await hass.config_entries.options.async_init(entry.entry_id)
    assert menu["type"] is FlowResultType.MENU
    assert step in menu["menu_options"], menu["menu_options"]
    return await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": step}
    )


async def _follow(
    hass: HomeAssistant,
    manager: FlowManager[Any, Any, Any],
    flow_id: str,
    user_input: dict[str, Any] | None,
) -> dict[str, Any]:
    result: dict[str, Any] = dict(await manager.async_configure(flow_id, user_input))
    for _ in range(20):
        if result["type"] not in (FlowResultType.SHOW_PROGRESS, FlowResultType.SHOW_PROGRESS_DONE):
            return result
        await hass.async_block_till_done()
        result = dict(await manager.async_configure(flow_id))
    raise AssertionError(f"flow stuck in progress: {result}")


async def configure_until_input_oob(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Like :func:`configure`, but stop at the Input OOB progress step or any other form.

    (Waiting for the whole event loop there would wait for the person, i.e. the timeout.)
    """
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    for _ in range(20):
        if result["type"] is FlowResultType.SHOW_PROGRESS:
            if result["progress_action"].startswith("input_oob_"):
                return result
            await hass.async_block_till_done()
        elif result["type"] is not FlowResultType.SHOW_PROGRESS_DONE:
            return result
        result = await hass.config_entries.flow.async_configure(flow_id)
    raise AssertionError(f"flow stuck in progress: {result}")


class FrontendDialog:
    """A config-flow dialog driven the way Home Assistant's frontend drives it.

    The dialog leaves a progress step only when a ``data_entry_flow_progressed`` event names
    its flow, and it subscribes to that event only once it shows the progress step. The
    frontend of Home Assistant 2025.4 (hass_frontend 20250411.0, ``dialog-data-entry-flow``)
    never fetches the flow by itself, so an event fired before its subscription is lost and
    the dialog shows the progress step forever. :meth:`submit` subscribes as late as possible,
    after everything the submit set going has run (a device that answers at once), and raises
    where the browser would hang.
    """

    def __init__(self, hass: HomeAssistant, flow_id: str) -> None:
        """Drive the dialog of ``flow_id``."""
        self._hass = hass
        self.flow_id = flow_id

    async def submit(
        self,
        user_input: dict[str, Any] | None = None,
        *,
        person: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Submit a step (the form's Submit button) and leave progress steps as the dialog can.

        ``person`` acts during a progress step that waits for a person (a value to enter on
        the device); the dialog has subscribed by then: it subscribes as it shows the step.
        """
        hass = self._hass
        result = await hass.config_entries.flow.async_configure(self.flow_id, user_input)
        while result["type"] is FlowResultType.SHOW_PROGRESS:
            if person is None:
                await hass.async_block_till_done()
            events = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESSED)
            if person is not None:
                person(result)
                person = None
            await hass.async_block_till_done()
            if not any(event.data["flow_id"] == self.flow_id for event in events):
                raise AssertionError(
                    f"the dialog shows progress step {result['progress_action']!r} forever: "
                    "its flow moved on before the dialog could hear of it"
                )
            result = await hass.config_entries.flow.async_configure(self.flow_id)
        return result


async def discover(
    hass: HomeAssistant, add_virtual_peripheral: AddPeripheral, node: SimulatedNode
) -> tuple[str, dict[str, Any]]:
    """Let Home Assistant see ``node``, open its dialog and confirm it (up to the method)."""
    await add_virtual_peripheral(node)
    flow = flow_for(hass, node)
    assert flow["step_id"] == "bluetooth_confirm"
    result = await configure(hass, flow["flow_id"], {})
    return flow["flow_id"], result


async def async_add_network(
    hass: HomeAssistant, hass_storage: dict[str, Any], name: str
) -> MockConfigEntry:
    """A loaded mesh network entry with no node, stored the way the user flow stores one."""
    network = MeshNetwork.create(name, PROVISIONER_NAME, now_iso())
    mesh_uuid = network.mesh_uuid.hex
    hass_storage[f"{DOMAIN}.{mesh_uuid}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{mesh_uuid}",
        "data": network.to_json(),
    }
    entry = MockConfigEntry(
        domain=DOMAIN, title=name, unique_id=mesh_uuid, data={CONF_MESH_UUID: mesh_uuid}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
