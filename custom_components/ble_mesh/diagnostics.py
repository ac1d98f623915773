"""Diagnostics of a mesh network entry: the network database with every key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .runtime import MeshConfigEntry

# Every field of the Mesh Configuration Database that holds key material, and our own
# extension's fields that would help an attacker (none today, listed for the future).
TO_REDACT = {"key", "oldKey", "deviceKey", "netKey", "appKey", "devKey", "staticOob"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: MeshConfigEntry
) -> dict[str, Any]:
    """The network as stored (keys redacted) and the runtime's state."""
    runtime = entry.runtime_data
    network = runtime.network
    data: dict[str, Any] = {
        "entry": {"title": entry.title, "mesh_uuid": runtime.mesh_uuid},
        "network": async_redact_data(network.to_json(), TO_REDACT),
        "runtime": runtime.diagnostics() if hasattr(runtime, "diagnostics") else {},
    }
    return data
