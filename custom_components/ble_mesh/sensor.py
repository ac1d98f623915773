"""Sensor entities: readings of sensor nodes, battery levels, and how each node was provisioned.

* One sensor per Mesh Device Property a node's Sensor Server measures (its descriptors are read
  during the automatic configuration), with the device class, unit and state class of what it
  measures (MshDP, GATT Specification Supplement). The node publishes its Sensor Status to
  Home Assistant (every 10 s); Motion Sensed is a binary sensor (:mod:`.binary_sensor`).
* Battery: the Generic Battery Server's level (MshMDL 1.1 §3.1.6), published hourly.
* "Authentication" (Authenticated / Not authenticated) is a fact of the network database
  (MshCDB node ``security``), not a reading from the node: it is known without a connection,
  so the entity stays available, and it changes only when the node is added again (see
  :mod:`.node_security` for why it is shown).
"""

from __future__ import annotations

from uuid import UUID

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .compat import PARTS_PER_MILLION
from .devices import node_identifier
from .entity import (
    MeshElementEntity,
    MeshPropertyEntity,
    async_setup_node_entities,
    sensor_properties,
)
from .mesh.access import Message
from .mesh.database import CdbElement, Node, Security
from .mesh.models.generic import GenericBatteryGet, GenericBatteryStatus
from .mesh.models.model_ids import GENERIC_BATTERY_SERVER
from .mesh.models.properties import DeviceProperty, Quantity
from .network_store import Change, StoreChange
from .runtime import MeshConfigEntry, MeshRuntime

# Readings are pushed; the security sensor's state comes from the database.
PARALLEL_UPDATES = 0

# What each measured quantity is in Home Assistant: device class, unit, state class. The unit
# is the property's own (MshDP): values are not converted. Motion is a binary sensor.
QUANTITIES: dict[Quantity, tuple[SensorDeviceClass | None, str | None, SensorStateClass]] = {
    Quantity.TEMPERATURE: (
        SensorDeviceClass.TEMPERATURE,
        UnitOfTemperature.CELSIUS,
        SensorStateClass.MEASUREMENT,
    ),
    Quantity.HUMIDITY: (SensorDeviceClass.HUMIDITY, PERCENTAGE, SensorStateClass.MEASUREMENT),
    Quantity.ILLUMINANCE: (
        SensorDeviceClass.ILLUMINANCE,
        LIGHT_LUX,
        SensorStateClass.MEASUREMENT,
    ),
    Quantity.COUNT: (None, None, SensorStateClass.MEASUREMENT),
    Quantity.POWER: (SensorDeviceClass.POWER, UnitOfPower.WATT, SensorStateClass.MEASUREMENT),
    Quantity.ENERGY: (
        SensorDeviceClass.ENERGY,
        UnitOfEnergy.KILO_WATT_HOUR,
        SensorStateClass.TOTAL_INCREASING,
    ),
    Quantity.CO2: (SensorDeviceClass.CO2, PARTS_PER_MILLION, SensorStateClass.MEASUREMENT),
    Quantity.VOLTAGE: (
        SensorDeviceClass.VOLTAGE,
        UnitOfElectricPotential.VOLT,
        SensorStateClass.MEASUREMENT,
    ),
    Quantity.CURRENT: (
        SensorDeviceClass.CURRENT,
        UnitOfElectricCurrent.AMPERE,
        SensorStateClass.MEASUREMENT,
    ),
}


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

    def _readings(runtime: MeshRuntime, node: Node) -> list[SensorEntity]:
        entities: list[SensorEntity] = [
            PropertySensor(runtime, node, element, prop)
            for element, prop in sensor_properties(node)
            if prop.quantity in QUANTITIES
        ]
        entities.extend(
            BatterySensor(runtime, node, element)
            for element in node.elements
            if element.model(GENERIC_BATTERY_SERVER) is not None
        )
        return entities

    async_setup_node_entities(hass, entry, async_add_entities, _readings)


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


class PropertySensor(MeshPropertyEntity, SensorEntity):
    """A reading of an element's Sensor Server (see the module)."""

    def __init__(
        self, runtime: MeshRuntime, node: Node, element: CdbElement, prop: DeviceProperty
    ) -> None:
        """Describe the sensor from what the property measures."""
        super().__init__(runtime, node, element, prop)
        device_class, unit, state_class = QUANTITIES[prop.quantity]
        self._attr_device_class = device_class
        self._attr_native_unit_of_measurement = unit
        self._attr_state_class = state_class
        if device_class is None:
            self._attr_translation_key = prop.quantity.value  # named by its translation

    @property
    def native_value(self) -> int | float | None:
        """The last value the node reported (None: not known)."""
        return self.value


class BatterySensor(MeshElementEntity, SensorEntity):
    """The battery level of an element's Generic Battery Server."""

    _attr_device_class = SensorDeviceClass.BATTERY
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """The battery of ``element``."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_battery"
        self._attr_native_value = None

    def state_reads(self) -> list[Message]:
        """Generic Battery Get."""
        return [GenericBatteryGet()]

    def apply(self, message: Message) -> bool:
        """Take a Generic Battery Status (0xFF: level not known)."""
        if not isinstance(message, GenericBatteryStatus):
            return False
        self._attr_native_value = message.level
        return True
