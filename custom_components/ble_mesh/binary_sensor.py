"""Binary sensor entities: health, motion and battery state of mesh nodes.

* *Problem* (MshPRT 1.1 §4.2.14 Health Fault, §4.4.3 Health Server) is on while the node
  reports faults. The node publishes Health Current Status to Home Assistant when a fault
  appears or clears (the automatic configuration sets that publication up); after a
  (re)connection Home Assistant reads the registered faults (Health Fault Get), which hold
  every fault since they were last cleared. The fault names are the SIG's (Assigned Numbers);
  a vendor's own codes are shown as numbers.
* *Motion*: the Motion Sensed property of a Sensor Server (MshDP; on above 0 %).
* *Battery* (low) and *Charging*: the Generic Battery Flags (MshMDL 1.1 §3.1.6.4); Charging is
  disabled by default (most mesh batteries are not chargeable).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    MeshElementEntity,
    MeshPropertyEntity,
    async_setup_node_entities,
    sensor_properties,
)
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models.generic import (
    BatteryCharging,
    BatteryIndicator,
    GenericBatteryGet,
    GenericBatteryStatus,
)
from .mesh.models.health import (
    HealthCurrentStatus,
    HealthFaultGet,
    HealthFaultStatus,
    fault_codes,
    fault_name,
)
from .mesh.models.model_ids import GENERIC_BATTERY_SERVER, HEALTH_SERVER
from .mesh.models.properties import Quantity
from .runtime import MeshConfigEntry, MeshRuntime

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One health sensor per node with a Health Server on its primary element."""

    def _sensors(runtime: MeshRuntime, node: Node) -> list[BinarySensorEntity]:
        entities: list[BinarySensorEntity] = []
        primary = node.elements[0] if node.elements else None
        if primary is not None and primary.model(HEALTH_SERVER) is not None:
            entities.append(HealthProblemSensor(runtime, node, primary))
        entities.extend(
            MotionSensor(runtime, node, element, prop)
            for element, prop in sensor_properties(node)
            if prop.quantity is Quantity.MOTION
        )
        for element in node.elements:
            if element.model(GENERIC_BATTERY_SERVER) is not None:
                entities.append(BatteryLowSensor(runtime, node, element))
                entities.append(BatteryChargingSensor(runtime, node, element))
        return entities

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


class MotionSensor(MeshPropertyEntity, BinarySensorEntity):
    """Motion Sensed above 0 % (the percentage is the ``motion`` attribute)."""

    _attr_device_class = BinarySensorDeviceClass.MOTION

    @property
    def is_on(self) -> bool | None:
        """Motion is sensed."""
        return None if self.value is None else self.value > 0

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """How much motion the node senses (%)."""
        return {"motion": self.value}


class _BatteryFlagSensor(MeshElementEntity, BinarySensorEntity):
    """A flag of an element's Generic Battery Status."""

    _attr_entity_category = EntityCategory.DIAGNOSTIC
    _suffix = ""

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """The flag of ``element``'s battery."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_{self._suffix}"
        self._attr_is_on = None

    def state_reads(self) -> list[Message]:
        """Generic Battery Get (shared with the battery level: sent once)."""
        return [GenericBatteryGet()]

    def apply(self, message: Message) -> bool:
        """Take the flag from a Generic Battery Status."""
        if not isinstance(message, GenericBatteryStatus):
            return False
        self._attr_is_on = self._flag(message)
        return True

    def _flag(self, status: GenericBatteryStatus) -> bool | None:
        raise NotImplementedError


class BatteryLowSensor(_BatteryFlagSensor):
    """On when the node says its battery is low or critically low."""

    _attr_device_class = BinarySensorDeviceClass.BATTERY
    _suffix = "battery_low"

    def _flag(self, status: GenericBatteryStatus) -> bool | None:
        indicator = status.flags.indicator
        if indicator is BatteryIndicator.UNKNOWN:
            return None
        return indicator in (BatteryIndicator.LOW, BatteryIndicator.CRITICALLY_LOW)


class BatteryChargingSensor(_BatteryFlagSensor):
    """On while the battery charges (not known for a battery that cannot be charged)."""

    _attr_device_class = BinarySensorDeviceClass.BATTERY_CHARGING
    _attr_entity_registry_enabled_default = False
    _suffix = "battery_charging"

    def _flag(self, status: GenericBatteryStatus) -> bool | None:
        charging = status.flags.charging
        if charging in (BatteryCharging.UNKNOWN, BatteryCharging.NOT_CHARGEABLE):
            return None
        return charging is BatteryCharging.CHARGING
