"""Diagnostics of a mesh network entry: the network database with every key redacted, the
runtime's state, and the sensor properties nodes report that get no entity (not in the
engine's Mesh Device Properties table)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .mesh.database import MeshNetwork
from .mesh.models.model_ids import SENSOR_SERVER
from .mesh.models.properties import PROPERTIES
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
        "sensor_properties_without_entity": _unknown_properties(network),
    }
    return data


def _unknown_properties(network: MeshNetwork) -> dict[str, list[str]]:
    """Per element address, the properties its Sensor Server reports that we cannot read."""
    found: dict[str, list[str]] = {}
    for node in network.nodes:
        for element in node.elements:
            sensor = element.model(SENSOR_SERVER)
            unknown = (
                [f"{p:04X}" for p in (sensor.sensor_properties or []) if p not in PROPERTIES]
                if sensor is not None
                else []
            )
            if unknown:
                found[f"{node.unicast_address + element.index:04X}"] = unknown
    return found
