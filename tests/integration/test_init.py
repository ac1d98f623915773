"""Setting up and unloading a mesh network entry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_bluetooth, async_get_integration
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN
from custom_components.ble_mesh.runtime import MeshRuntime


async def test_setup_and_unload(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home mesh", unique_id="cd" * 16, data={CONF_MESH_UUID: "cd" * 16}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data == MeshRuntime(mesh_uuid="cd" * 16, name="Home mesh")

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_home_assistant_loads_our_manifest(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.pkg_path == "custom_components.ble_mesh"
    assert integration.version is not None
    matchers = [m for m in await async_get_bluetooth(hass) if m["domain"] == DOMAIN]
    assert {m["service_uuid"] for m in matchers} == {
        "00001827-0000-1000-8000-00805f9b34fb",
        "00001828-0000-1000-8000-00805f9b34fb",
    }
