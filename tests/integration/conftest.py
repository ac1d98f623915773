"""Fixtures for tests that run Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN, PROVISIONER_NAME
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.storage import now_iso
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom integrations in every test of this folder."""


@pytest.fixture(autouse=True)
def auto_mock_bluetooth(mock_bluetooth: None) -> None:
    """Our integration depends on Bluetooth: run it on mocked adapters (no D-Bus, no radio)."""


@pytest.fixture(name="network_entry")
async def network_entry_fixture(
    hass: HomeAssistant, hass_storage: dict[str, Any], enable_bluetooth: None
) -> MockConfigEntry:
    """A loaded mesh network entry (no node yet), created the way the user flow creates one."""
    network = MeshNetwork.create("Home mesh", PROVISIONER_NAME, now_iso())
    mesh_uuid = network.mesh_uuid.hex
    hass_storage[f"{DOMAIN}.{mesh_uuid}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{mesh_uuid}",
        "data": network.to_json(),
    }
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home mesh", unique_id=mesh_uuid, data={CONF_MESH_UUID: mesh_uuid}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture(name="bed")
async def bed_fixture(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    enable_bluetooth: None,
    virtual_proxy: VirtualProxy,
) -> AsyncGenerator[MeshTestbed]:
    """A network with no node yet: tests provision simulated nodes, then set it up."""
    testbed = MeshTestbed(hass, hass_storage, virtual_proxy)
    yield testbed
    if testbed.entry is not None and testbed.entry.state is ConfigEntryState.LOADED:
        await testbed.async_unload()
    testbed.cleanup()
