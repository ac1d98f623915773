"""Binary sensor entities: a node's health (MshPRT 1.1 §4.2.14 Health Fault, §4.4.3 Health Server).

*Problem* is on while the node reports faults. The node publishes Health Current Status to
Home Assistant when a fault appears or clears (the automatic configuration sets that
publication up); after a (re)connection Home Assistant reads the registered faults (Health
Fault Get), which hold every fault since they were last cleared. The fault names are the
SIG's (Assigned Numbers); a vendor's own codes are shown as numbers.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import MeshElementEntity, async_setup_node_entities
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models.health import (
    HealthCurrentStatus,
    HealthFaultGet,
    HealthFaultStatus,
    fault_codes,
    fault_name,
)
from .mesh.models.model_ids import HEALTH_SERVER
from .runtime import MeshConfigEntry, MeshRuntime

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One health sensor per node with a Health Server on its primary element."""

    def _sensors(runtime: MeshRuntime, node: Node) -> list[HealthProblemSensor]:
        primary = node.elements[0] if node.elements else None
        if primary is None or primary.model(HEALTH_SERVER) is None:
            return []
        return [HealthProblemSensor(runtime, node, primary)]

    async_setup_node_entities(hass, entry, async_add_entities, _sensors)


class HealthProblemSensor(MeshElementEntity, BinarySensorEntity):
    """On while the node reports faults; their names are the ``faults`` attribute."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _attr_translation_key = "health"

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """The sensor of ``node``; faults are asked with the node's Company ID."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_health"
        self._company_id = node.cid or 0
        self._attr_is_on = None
        self._faults: list[int] = []

    def state_reads(self) -> list[Message]:
        """Health Fault Get: the registered faults."""
        return [HealthFaultGet(company_id=self._company_id)]

    def apply(self, message: Message) -> bool:
        """Take a Health Current Status (faults now) or Fault Status (registered faults)."""
        if not isinstance(message, HealthCurrentStatus | HealthFaultStatus):
            return False
        self._faults = fault_codes(message.faults)
        self._attr_is_on = bool(self._faults)
        return True

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The faults by name (a vendor's own codes as numbers)."""
        return {"faults": [fault_name(code) for code in self._faults]}
