"""Driving provisioning dialogs from tests (a helper module: no tests here)."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN, PROVISIONER_NAME
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.storage import now_iso
from simulator.node import SimulatedNode
from tests.simulator_fixtures import AddPeripheral


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
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    for _ in range(20):
        if result["type"] not in (FlowResultType.SHOW_PROGRESS, FlowResultType.SHOW_PROGRESS_DONE):
            return result
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(flow_id)
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
