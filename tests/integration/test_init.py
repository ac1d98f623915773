"""Setting up, unloading and removing a mesh network entry; storage failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.loader import async_get_bluetooth, async_get_integration
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN
from custom_components.ble_mesh.devices import manufacturer_name
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.storage import (
    STORE_MAX_DEPTH,
    Unstorable,
    UnstorableError,
    ensure_storable,
)

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


async def test_an_invalid_node_is_not_left_out_without_a_copy(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """An invalid node could be left out, but only once the original is copied aside: with
    no file to copy, nothing loads and nothing is written over."""
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


@pytest.fixture(name="config_dir")
def config_dir_fixture(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A configuration folder of the test's own, where the stored files really are."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


def _store_file(hass_storage: dict[str, Any], config_dir: Path, data: Any) -> Path:
    """Store ``data`` as Home Assistant's Store would, also on disk (the copy's source)."""
    _store(hass_storage, data)
    path = config_dir / ".storage" / f"{DOMAIN}.{MESH_UUID}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(hass_storage[f"{DOMAIN}.{MESH_UUID}"], indent=2))
    return path


def _invalid_records(data: dict[str, Any]) -> dict[str, Any]:
    data["nodes"][1]["deviceKey"] = "not a key"  # Kitchen Light, 0002-0003
    data["groups"][1]["address"] = "C000"  # Living Room Lamps: the address of Living Room
    data["scenes"].append({"name": "Night", "addresses": [], "number": "0000"})
    return data


async def test_a_database_failing_validation_loads_its_valid_part(
    hass: HomeAssistant, hass_storage: dict[str, Any], config_dir: Path, freezer: Any
) -> None:
    """Invalid nodes, groups and scenes are left out, each named in a repair issue; the
    original is kept beside the store, never over an earlier copy, and the rest loads."""
    freezer.move_to("2026-12-03T10:00:00+00:00")
    path = _store_file(hass_storage, config_dir, _invalid_records(json.loads(FIXTURE.read_text())))
    original = path.read_bytes()
    earlier = path.with_name(f"{path.name}.corrupt-20261203100000")
    earlier.write_text("an earlier copy of something else")
    entry = _entry(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    backup = path.with_name(f"{path.name}.corrupt-20261203100000-2")
    assert backup.read_bytes() == original
    assert backup.stat().st_mode & 0o777 == 0o600  # it holds the keys
    assert earlier.read_text() == "an earlier copy of something else"
    issues = ir.async_get(hass)
    expected = {
        "node_1": ("Kitchen Light", "nodes[1].deviceKey: not a 128-bit key (32 hex digits)"),
        "group_1": ("Living Room Lamps", "groups[1].address: duplicate address"),
        "scene_1": ("Night", "scenes[1].number: scene number 0000 is prohibited"),
    }
    for suffix, (name, error) in expected.items():
        issue = issues.async_get_issue(DOMAIN, f"storage_dropped_{entry.entry_id}_{suffix}")
        assert issue is not None, suffix
        assert issue.translation_key == f"storage_dropped_{suffix.split('_')[0]}"
        assert issue.is_persistent
        placeholders = issue.translation_placeholders or {}
        assert placeholders["name"] == name
        assert placeholders["error"].startswith(error)
        assert placeholders["backup"] == str(backup)
        assert placeholders["path"] == str(path)
        assert placeholders["network"] == "Home Mesh"
    assert issues.async_get_issue(DOMAIN, f"storage_corrupt_{entry.entry_id}") is None

    network = entry.runtime_data.network
    assert [g.name for g in network.groups] == ["Living Room"]
    assert [s.name for s in network.scenes] == ["Evening"]
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert sorted(d.name for d in devices) == ["Hall Lamp", "Wall Switch"]
    # The device may still use its addresses: no new device is given them.
    assert (2, 3) in network.reserved_addresses()
    # The valid part was written back: the next load has nothing to leave out or copy.
    stored = MeshNetwork.from_json(hass_storage[f"{DOMAIN}.{MESH_UUID}"]["data"])
    assert "Kitchen Light" not in {n.name for n in stored.nodes}
    assert (2, 3) in stored.reserved_addresses()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert sorted(p.name for p in path.parent.glob("*.corrupt-*")) == [earlier.name, backup.name]

    # Deleting the network deletes what it said about its left-out records.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for (d, i) in issues.issues if d == DOMAIN and i.startswith("storage_dropped")]


async def test_an_unreadable_network_key_does_not_load(
    hass: HomeAssistant, hass_storage: dict[str, Any], config_dir: Path
) -> None:
    """Without its key the network cannot be used: a setup error that says why, the file
    untouched and copied aside (once, however often setup is tried)."""
    data = _invalid_records(json.loads(FIXTURE.read_text()))
    data["netKeys"][0]["key"] = "not a key"
    path = _store_file(hass_storage, config_dir, data)
    original = path.read_bytes()
    entry = _entry(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"storage_corrupt_{entry.entry_id}")
    assert issue is not None
    placeholders = issue.translation_placeholders or {}
    assert placeholders["error"] == "netKeys[0].key: not a 128-bit key (32 hex digits)"
    (backup,) = path.parent.glob("*.corrupt-*")
    assert placeholders["backup"] == str(backup)
    assert backup.read_bytes() == original
    assert path.read_bytes() == original
    assert hass_storage[f"{DOMAIN}.{MESH_UUID}"]["data"] == data

    assert not await hass.config_entries.async_reload(entry.entry_id)
    assert list(path.parent.glob("*.corrupt-*")) == [backup]


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


def test_what_the_store_can_keep() -> None:
    """The limits :func:`ensure_storable` names are the Store's own (orjson's), exactly."""
    ensure_storable({"a": json.loads("[" * (STORE_MAX_DEPTH - 1) + "]" * (STORE_MAX_DEPTH - 1))})
    ensure_storable({"a": [2**64 - 1, -(2**63), 1.5e308, "\u00e9"]})
    too_deep = {"a": json.loads("[" * STORE_MAX_DEPTH + "]" * STORE_MAX_DEPTH)}
    cases: list[tuple[dict[str, Any], Unstorable, str]] = [
        (too_deep, Unstorable.DEPTH, "a[0][0][0]…"),
        ({"a": [2**64]}, Unstorable.NUMBER, "a[0]"),
        ({"a": {"b": -(2**63) - 1}}, Unstorable.NUMBER, "a.b"),
        ({"a": {"\ud800": 1}}, Unstorable.TEXT, "a"),
        ({"a": {1, 2}}, Unstorable.OTHER, "a"),  # written as a list: not the same back
        ({"a": {1: 2}}, Unstorable.OTHER, "a"),
    ]
    for data, problem, path in cases:
        with pytest.raises(UnstorableError) as err:
            ensure_storable(data)
        assert (err.value.problem, err.value.path) == (problem, path)
