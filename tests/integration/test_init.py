"""Setting up, unloading and removing a mesh network entry; storage failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.loader import async_get_bluetooth, async_get_integration
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN
from custom_components.ble_mesh.devices import manufacturer_name
from custom_components.ble_mesh.mesh.database import MeshNetwork

FIXTURE = Path(__file__).parent.parent / "fixtures" / "nrf_mesh_export.json"
MESH_UUID = "8f2d4c1a5b6e4f709a1b2c3d4e5f6a7b"


def _entry(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home Mesh", unique_id=MESH_UUID, data={CONF_MESH_UUID: MESH_UUID}
    )
    entry.add_to_hass(hass)
    return entry


def _store(hass_storage: dict[str, Any], data: Any) -> None:
    hass_storage[f"{DOMAIN}.{MESH_UUID}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{MESH_UUID}",
        "data": data,
    }


async def test_setup_creates_a_device_per_node_and_unloads(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    _store(hass_storage, json.loads(FIXTURE.read_text()))
    entry = _entry(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.network, MeshNetwork)
    assert entry.runtime_data.mesh_uuid == MESH_UUID

    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    # Three device nodes; the nRF provisioner's own node is not a device.
    assert sorted(d.name for d in devices) == ["Hall Lamp", "Kitchen Light", "Wall Switch"]
    kitchen = next(d for d in devices if d.name == "Kitchen Light")
    assert kitchen.manufacturer == "Nordic Semiconductor ASA"  # CID 0x0059
    assert kitchen.model == "Product ID 0x0001"
    assert kitchen.sw_version == "0x0002"  # the card reads "Firmware: 0x0002"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_corrupt_storage_is_kept_and_reported(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    data = json.loads(FIXTURE.read_text())
    data["nodes"][1]["unicastAddress"] = "zz"
    _store(hass_storage, data)
    entry = _entry(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_corrupt_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "storage_corrupt"
    # Nothing was overwritten: the unreadable data is still there for recovery.
    assert hass_storage[f"{DOMAIN}.{MESH_UUID}"]["data"]["nodes"][1]["unicastAddress"] == "zz"


async def test_missing_storage_is_reported(hass: HomeAssistant) -> None:
    entry = _entry(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_corrupt_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "storage_missing"


async def test_removing_the_entry_deletes_its_keys(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    _store(hass_storage, json.loads(FIXTURE.read_text()))
    entry = _entry(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{MESH_UUID}" not in hass_storage


async def test_home_assistant_loads_our_manifest(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.pkg_path == "custom_components.ble_mesh"
    assert integration.version is not None
    matchers = [m for m in await async_get_bluetooth(hass) if m["domain"] == DOMAIN]
    assert {m["service_uuid"] for m in matchers} == {
        "00001827-0000-1000-8000-00805f9b34fb",
        "00001828-0000-1000-8000-00805f9b34fb",
    }


def test_unknown_company_id_is_named_plainly() -> None:
    assert manufacturer_name(0x0059) == "Nordic Semiconductor ASA"
    assert manufacturer_name(0xFFFE) == "Company ID 0xFFFE"
    # 0xFFFF is no company's (tests, prototypes, the simulated lights): no manufacturer.
    assert manufacturer_name(0xFFFF) is None
