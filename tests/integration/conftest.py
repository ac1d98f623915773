"""Fixtures for tests that run Home Assistant."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.virtual_proxy import VirtualProxy

from .flows import async_add_network
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
