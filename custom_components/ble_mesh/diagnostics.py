"""Diagnostics of a mesh network entry: the network database with every key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .runtime import MeshConfigEntry

# Every field of the Mesh Configuration Database that holds key material (NetKeys and AppKeys
# use "key"/"oldKey", nodes "deviceKey"); the runtime's diagnostics hold none.
TO_REDACT = {"key", "oldKey", "deviceKey"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: MeshConfigEntry
) -> dict[str, Any]:
    """The network as stored (keys redacted) and the runtime's state."""
    runtime = entry.runtime_data
    network = runtime.network
    data: dict[str, Any] = {
        "entry": {"title": entry.title, "mesh_uuid": runtime.mesh_uuid},
        "network": async_redact_data(network.to_json(), TO_REDACT),
        "runtime": runtime.diagnostics(),
    }
    return data
