"""Runtime state of one mesh network config entry (``entry.runtime_data``)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry


@dataclass(slots=True)
class MeshRuntime:
    """What a loaded mesh network entry holds while Home Assistant runs."""

    mesh_uuid: str
    name: str


type MeshConfigEntry = ConfigEntry[MeshRuntime]
