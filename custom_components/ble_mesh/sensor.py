"""Diagnostic sensors of mesh nodes: how each node was provisioned.

"Authentication" (Authenticated / Not authenticated) is a fact of the network database (MshCDB
node ``security``), not a reading from the node: it is known without a connection, so the
entity stays available, and it changes only when the node is added again (see
:mod:`.node_security` for why it is shown).
"""

from __future__ import annotations

from uuid import UUID

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .devices import node_identifier
from .mesh.database import Node, Security
from .network_store import Change, StoreChange
from .runtime import MeshConfigEntry, MeshRuntime

# Nothing is sent: the state comes from the database.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One security sensor per node, now and for every node added later."""
    runtime = entry.runtime_data
    known: set[str] = set()

    @callback
    def _add(nodes: list[Node]) -> None:
        entities = [
            sensor
            for node in nodes
            if (sensor := ProvisioningSecuritySensor(runtime, node)).unique_id not in known
        ]
        known.update(str(sensor.unique_id) for sensor in entities)
        if entities:
            async_add_entities(entities)

    @callback
    def _on_change(change: StoreChange) -> None:
        if change.node is None:
            return
        if change.change is Change.NODE_ADDED:
            _add([change.node])
        elif change.change is Change.NODE_REMOVED:
            known.discard(security_unique_id(runtime, change.node))

    _add(runtime.network.device_nodes())
    entry.async_on_unload(runtime.store.async_add_listener(_on_change))


def security_unique_id(runtime: MeshRuntime, node: Node) -> str:
    """The unique id of a node's security sensor (network and Device UUID)."""
    return f"{runtime.mesh_uuid}_{node.uuid.hex}_security"


class ProvisioningSecuritySensor(SensorEntity):
    """Whether a node was provisioned with OOB authentication (see the module)."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "provisioning_security"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, runtime: MeshRuntime, node: Node) -> None:
        """The sensor of ``node``, on its device."""
        self._runtime = runtime
        self._node_uuid: UUID = node.uuid
        self._attr_options = [str(security) for security in Security]
        self._attr_unique_id = security_unique_id(runtime, node)
        self._attr_device_info = {"identifiers": {node_identifier(runtime.mesh_uuid, node)}}

    async def async_added_to_hass(self) -> None:
        """Follow the database (the node may be removed, or added again)."""
        self.async_on_remove(self._runtime.store.async_add_listener(self._on_change))

    @callback
    def _on_change(self, change: StoreChange) -> None:
        if change.node is not None and change.node.uuid == self._node_uuid:
            self.async_write_ha_state()

    @property
    def native_value(self) -> str | None:
        """``secure`` or ``insecure``, as the database says (None once the node is gone)."""
        node = self._runtime.network.node_by_uuid(self._node_uuid)
        return str(node.security) if node is not None else None
