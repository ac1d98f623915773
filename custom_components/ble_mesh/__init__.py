"""The Bluetooth Mesh integration: Home Assistant as a mesh provisioner and controller.

One config entry is one mesh network. The protocol lives in the sans-IO engine
(``custom_components.ble_mesh.mesh``); this package only wires it to Home Assistant.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant

from .const import CONF_MESH_UUID
from .runtime import MeshConfigEntry, MeshRuntime

_LOGGER = logging.getLogger(__name__)


async def async_setup_entry(hass: HomeAssistant, entry: MeshConfigEntry) -> bool:
    """Set up one mesh network."""
    entry.runtime_data = MeshRuntime(mesh_uuid=entry.data[CONF_MESH_UUID], name=entry.title)
    _LOGGER.debug("Mesh network %s loaded", entry.title)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: MeshConfigEntry) -> bool:
    """Unload one mesh network."""
    _LOGGER.debug("Mesh network %s unloaded", entry.title)
    return True
