"""A node added without authentication shows so on its device page and in Repairs.

The diagnostic sensor is the fact (every node has one); the repair issue is the way out: its
fix flow removes the node so it can be added again with authentication.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.database import Node, Security
from custom_components.ble_mesh.node_security import insecure_node_issue_id
from simulator.node import OobCapabilities, SimulatedNode
from tests.simulator_fixtures import AddPeripheral

from .flows import STRINGS, configure, discover
from .mesh_testbed import MeshTestbed, until

STATIC = bytes.fromhex("00112233445566778899aabbccddeeff")


def _security_entity(hass: HomeAssistant, device: dr.DeviceEntry) -> er.RegistryEntry:
    (entry,) = [
        e
        for e in er.async_entries_for_device(er.async_get(hass), device.id)
        if e.domain == "sensor"
    ]
    return entry


def _node(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedNode) -> Node:
    node = entry.runtime_data.network.node_by_uuid(sim.device_uuid.hex())
    assert node is not None
    return node


def _device(hass: HomeAssistant, entry: MockConfigEntry, sim: SimulatedNode) -> dr.DeviceEntry:
    (device,) = [
        d
        for d in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if d.name == sim.name
    ]
    return device


async def test_device_page_and_repairs_show_an_unauthenticated_node(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    plain = SimulatedNode("dimmable", name="Plain Lamp")
    flow_id, result = await discover(hass, add_virtual_peripheral, plain)
    await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["reason"] == "provisioned"
    secure = SimulatedNode("dimmable", name="Safe Lamp", oob=OobCapabilities(static_oob=STATIC))
    flow_id, result = await discover(hass, add_virtual_peripheral, secure)
    result = await configure(hass, flow_id, {"method": "static_oob"})
    result = await configure(hass, flow_id, {"oob_text": STATIC.hex()})
    assert result["reason"] == "provisioned"
    await hass.async_block_till_done()

    # The device page: a diagnostic sensor on every node, with translated states.
    states = {}
    for sim in (plain, secure):
        registry_entry = _security_entity(hass, _device(hass, network_entry, sim))
        assert registry_entry.entity_category is EntityCategory.DIAGNOSTIC
        assert registry_entry.translation_key == "provisioning_security"
        state = hass.states.get(registry_entry.entity_id)
        assert state is not None
        states[sim.name] = state.state
        assert state.attributes["options"] == ["secure", "insecure"]
    assert states == {"Plain Lamp": "insecure", "Safe Lamp": "secure"}
    words = STRINGS["entity"]["sensor"]["provisioning_security"]
    assert words["state"] == {"secure": "Authenticated", "insecure": "Not authenticated"}

    # Repairs: one fixable issue, for the unauthenticated node only.
    issues = {
        issue_id: issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN
    }
    issue_id = insecure_node_issue_id(network_entry.entry_id, _node(hass, network_entry, plain))
    assert set(issues) == {issue_id}
    issue = issues[issue_id]
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "insecure_node"
    assert issue.translation_placeholders == {"name": "Plain Lamp", "network": "Home mesh"}
    text = STRINGS["issues"]["insecure_node"]
    assert text["title"].format(**issue.translation_placeholders) == (
        "Plain Lamp was added without authentication"
    )


async def _fix_flow(hass: HomeAssistant, issue_id: str) -> tuple[Any, dict[str, Any]]:
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    return manager, dict(result)


async def test_fix_flow_removes_the_node_to_add_it_again(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    sim = bed.provision("dimmable")  # provisioned with No OOB
    bed.add(sim)
    keep = bed.provision("onoff_plug")
    bed.add(keep)
    await bed.async_setup()
    for node in (sim, keep):
        await until(hass, lambda n=node: bed.stored_node(n).config_complete, "configured")
    record = bed.stored_node(sim)
    assert record.security is Security.INSECURE
    device_id = bed.device(sim).id
    issue_id = insecure_node_issue_id(bed.runtime.entry_id, record)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    manager, result = await _fix_flow(hass, issue_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"]["name"] == record.name
    result = dict(await manager.async_configure(result["flow_id"], {}))
    assert result["type"] is FlowResultType.CREATE_ENTRY

    # Reset (it can be discovered and added again), removed, its device gone, keys refreshed.
    assert not sim.is_provisioned
    assert bed.runtime.network.node_by_uuid(record.uuid) is None
    assert dr.async_get(hass).async_get(device_id) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    network = bed.runtime.network
    await until(hass, lambda: network.net_keys[0].old_key is None, "keys refreshed")
    # The other (also unauthenticated) node keeps its own issue.
    other = insecure_node_issue_id(bed.runtime.entry_id, bed.stored_node(keep))
    assert ir.async_get(hass).async_get_issue(DOMAIN, other) is not None


async def test_fix_flow_needs_the_network_loaded(hass: HomeAssistant, bed: MeshTestbed) -> None:
    sim = bed.provision("dimmable")
    bed.add(sim)
    await bed.async_setup()
    issue_id = insecure_node_issue_id(bed.runtime.entry_id, bed.stored_node(sim))
    await bed.async_unload()
    # The issue stays while the network is unloaded (the node is still unauthenticated) ...
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    _manager, result = await _fix_flow(hass, issue_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    assert result["description_placeholders"] == {"name": sim.name, "network": "Home mesh"}
    # ... and goes with the network.
    assert bed.entry is not None
    await hass.config_entries.async_remove(bed.entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_fix_flow_of_a_node_removed_meanwhile(hass: HomeAssistant, bed: MeshTestbed) -> None:
    sim = bed.provision("dimmable")
    bed.add(sim)
    await bed.async_setup()
    record = bed.stored_node(sim)
    issue_id = insecure_node_issue_id(bed.runtime.entry_id, record)
    manager, result = await _fix_flow(hass, issue_id)
    assert result["step_id"] == "confirm"
    await bed.runtime.store.async_remove_node(record, iv_index=bed.iv_index)
    result = dict(await manager.async_configure(result["flow_id"], {}))
    assert result["type"] is FlowResultType.CREATE_ENTRY  # nothing left to fix
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
