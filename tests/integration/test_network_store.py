"""The network store, the single writer of the database: reservations, one change at a time."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.database import AllocationError, MeshNetwork
from custom_components.ble_mesh.mesh.network import KeyRefreshPhase
from custom_components.ble_mesh.mesh.provisioning import InputAction, OutputAction
from custom_components.ble_mesh.network_store import (
    AddressReservation,
    Change,
    StoreChange,
    app_key_for_new_node,
    key_for_new_node,
)
from simulator.node import OobCapabilities, SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .flows import configure, configure_until_input_oob, flow_for


async def test_two_dialogs_at_once_get_two_address_ranges(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    """Two lights added from two dialogs at the same time: each gets its own addresses, both
    are recorded, and nothing is left reserved."""
    oob = OobCapabilities(input_actions=frozenset({InputAction.PUSH}), input_size=1)
    first, second = SimulatedNode("two_element", oob=oob), SimulatedNode("dimmable", oob=oob)
    # Both are seen first: once a dialog holds a link, its provisioning timer is a
    # background task that add_virtual_peripheral's wait would sit out.
    for node in (first, second):
        await add_virtual_peripheral(node)
    flows = []
    for node in (first, second):
        flow_id = flow_for(hass, node)["flow_id"]
        result = await configure(hass, flow_id, {})
        assert result["step_id"] == "method"
        flows.append(flow_id)
    # Both choose (each reserves its range there) and wait for the person on the device
    # before either has finished provisioning.
    waiting = [
        await configure_until_input_oob(hass, flow_id, {"method": "input_oob"}) for flow_id in flows
    ]
    assert all(r["type"] is FlowResultType.SHOW_PROGRESS for r in waiting)
    network: MeshNetwork = network_entry.runtime_data.network
    assert network.reserved_addresses() == [(0x0002, 0x0003), (0x0004, 0x0004)]
    for node, shown in zip((first, second), waiting, strict=True):
        node.enter_input_oob(shown["description_placeholders"]["value"])
    await hass.async_block_till_done()
    results = await asyncio.gather(*(configure(hass, flow_id) for flow_id in flows))
    assert [r["reason"] for r in results] == ["provisioned", "provisioned"]
    assert first.unicast_address is not None
    assert second.unicast_address is not None
    taken_first = set(range(first.unicast_address, first.unicast_address + 2))
    assert second.unicast_address not in taken_first
    assert {n.unicast_address for n in network.nodes} >= {
        first.unicast_address,
        second.unicast_address,
    }
    assert network.reserved_addresses() == []


async def test_a_failed_dialog_releases_its_range(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    hass_storage: dict[str, Any],
) -> None:
    node = SimulatedNode(
        "dimmable",
        oob=OobCapabilities(output_actions=frozenset({OutputAction.BLINK}), output_size=4),
    )
    await add_virtual_peripheral(node)
    flow_id = flow_for(hass, node)["flow_id"]
    await configure(hass, flow_id, {})
    result = await configure(hass, flow_id, {"method": "output_oob"})
    assert result["step_id"] == "output_oob_blink"  # the light blinks; the person is counting
    network: MeshNetwork = network_entry.runtime_data.network
    assert network.reserved_addresses() == [(0x0002, 0x0002)]
    # On disk before the Provisioning Data that names the address can be sent.
    key = f"{DOMAIN}.{network.mesh_uuid.hex}"
    stored = hass_storage[key]["data"]["x-ble-mesh"]["reservedAddresses"]
    assert stored == [{"lowAddress": "0002", "highAddress": "0002"}]
    hass.config_entries.flow.async_abort(flow_id)  # the person closes the dialog
    await hass.async_block_till_done()
    assert network.reserved_addresses() == []
    assert "reservedAddresses" not in hass_storage[key]["data"]["x-ble-mesh"]


async def test_commands_save_then_tell_listeners_one_at_a_time(
    hass: HomeAssistant, network_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    store = network_entry.runtime_data.store
    seen: list[tuple[Change, bool]] = []
    key = f"{DOMAIN}.{store.network.mesh_uuid.hex}"

    def listener(change: StoreChange) -> None:
        # Saved before anyone hears of it.
        on_disk = hass_storage[key]["data"]
        seen.append((change.change, any(g["name"] == "Hall" for g in on_disk.get("groups", []))))

    remove = store.async_add_listener(listener)
    address = store.reserve_group_address()
    other = store.reserve_group_address()
    assert other != address  # a reserved group address is not handed out twice
    store.release_group_address(other)
    group = await store.async_add_group("Hall", address)
    await store.async_remove_group(group)
    remove()
    await store.async_begin_key_refresh()
    assert seen == [(Change.GROUP_ADDED, True), (Change.GROUP_REMOVED, False)]
    reservations = await asyncio.gather(
        *(store.async_reserve_unicast(3, iv_index=0) for _ in range(4))
    )
    ranges = sorted((r.first, r.last) for r in reservations)
    for (_, high), (low, _) in pairwise(ranges):
        assert high < low  # no two overlap
    # A node is recorded only at the range reserved for it.
    own_node = store.network.nodes[0]  # Home Assistant's own provisioner node
    wrong = AddressReservation(own_node.unicast_address + 0x100, own_node.element_count)
    with pytest.raises(AllocationError):
        await store.async_commit_node(own_node, iv_index=0, reservation=wrong)


def test_a_new_node_gets_the_keys_the_network_transmits_with() -> None:
    """Phase 0: the key; phase 1: the old keys, flag 0; phase 2: the new keys, flag 1."""
    network = MeshNetwork.create("Home mesh", "Home Assistant", "2026-12-04T00:00:00Z")
    net_key, app_key = network.net_keys[0], network.app_keys[0]
    assert key_for_new_node(net_key) == (net_key.key, False)
    assert app_key_for_new_node(network, app_key) == (app_key.key, False)

    old_net, old_app = net_key.key, app_key.key
    net_key.old_key, net_key.key = old_net, bytes(16)
    app_key.old_key, app_key.key = old_app, bytes(range(16))
    net_key.phase = KeyRefreshPhase.KEY_DISTRIBUTION
    assert key_for_new_node(net_key) == (old_net, False)
    assert app_key_for_new_node(network, app_key) == (old_app, False)

    net_key.phase = KeyRefreshPhase.USING_NEW_KEYS
    assert key_for_new_node(net_key) == (bytes(16), True)
    assert app_key_for_new_node(network, app_key) == (bytes(range(16)), True)
