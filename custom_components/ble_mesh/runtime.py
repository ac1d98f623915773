"""Runtime state of one mesh network config entry (``entry.runtime_data``)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .mesh.database import MeshNetwork
from .storage import MeshStore


@dataclass(slots=True)
class MeshRuntime:
    """What a loaded mesh network entry holds while Home Assistant runs."""

    network: MeshNetwork
    store: MeshStore

    @property
    def mesh_uuid(self) -> str:
        """The network's MshCDB meshUUID (32 hex digits), the entry's unique id."""
        return self.network.mesh_uuid.hex


type MeshConfigEntry = ConfigEntry[MeshRuntime]
