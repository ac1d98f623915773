"""Diagnostics: the network and runtime state, and never a key."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


async def test_diagnostics_contain_no_key_material(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, bed: MeshTestbed
) -> None:
    node = bed.provision("ctl")
    bed.add(node)
    entry = await bed.async_setup()
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics).lower()

    network = bed.runtime.network
    secrets = [k.key for k in network.net_keys] + [k.key for k in network.app_keys]
    secrets += [n.device_key for n in network.nodes if n.device_key]
    assert secrets
    for secret in secrets:
        assert secret.hex() not in text
    assert "**redacted**" in text
    # What helps a person debugging is there.
    assert diagnostics["entry"]["mesh_uuid"] == bed.runtime.mesh_uuid
    assert len(diagnostics["network"]["nodes"]) == len(network.nodes)
    assert diagnostics["runtime"]["connected"] is True


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    enable_bluetooth: None,
    snapshot: SnapshotAssertion,
) -> None:
    """The imported nRF network (no proxy in reach): a stable, key-free document."""
    from pathlib import Path

    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN

    mesh_uuid = "8f2d4c1a5b6e4f709a1b2c3d4e5f6a7b"
    fixture = Path(__file__).parent.parent / "fixtures" / "nrf_mesh_export.json"
    hass_storage[f"{DOMAIN}.{mesh_uuid}"] = {
        "version": 1,
        "key": f"{DOMAIN}.{mesh_uuid}",
        "data": json.loads(fixture.read_text()),
    }
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home Mesh", unique_id=mesh_uuid, data={CONF_MESH_UUID: mesh_uuid}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot
    assert await hass.config_entries.async_unload(entry.entry_id)
