"""Runtime state of one mesh network config entry (``entry.runtime_data``)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .devices import async_register_node
from .mesh.database import MeshNetwork, Node
from .storage import MeshStore


@dataclass(slots=True)
class MeshRuntime:
    """What a loaded mesh network entry holds while Home Assistant runs."""

    hass: HomeAssistant
    entry_id: str
    network: MeshNetwork
    store: MeshStore

    @property
    def mesh_uuid(self) -> str:
        """The network's MshCDB meshUUID (32 hex digits), the entry's unique id."""
        return self.network.mesh_uuid.hex

    @callback
    def async_node_added(self, node: Node) -> None:
        """A node was provisioned into this network: it becomes a device."""
        async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)


type MeshConfigEntry = ConfigEntry[MeshRuntime]
