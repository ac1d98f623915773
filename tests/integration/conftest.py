"""Fixtures for tests that run Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, FormData
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.virtual_proxy import VirtualProxy

from .flows import Uploader, async_add_network
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
    return await async_add_network(hass, hass_storage, "Home mesh")


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


@pytest.fixture(name="upload")
async def upload_fixture(
    hass: HomeAssistant, hass_client: Callable[[], Awaitable[ClientSession]]
) -> Uploader:
    """Upload bytes through Home Assistant's real file_upload endpoint (as a form's file field
    does: a Mesh CDB export, a photo of a QR code); returns the file id."""
    # Set up what registers HTTP routes before the test client freezes the router.
    assert await async_setup_component(hass, "bluetooth_adapters", {})
    assert await async_setup_component(hass, "file_upload", {})
    client = await hass_client()

    async def _upload(content: bytes) -> str:
        form = FormData()
        form.add_field("file", content, filename="upload", content_type="application/octet-stream")
        response = await client.post("/api/file_upload", data=form)
        assert response.status == 200
        return str((await response.json())["file_id"])

    return _upload
