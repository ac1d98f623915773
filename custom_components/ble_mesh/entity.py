"""Base classes of this integration's entities.

:class:`MeshEntity` is an entity of one mesh network: available while a proxy node is
reachable (or the link is released on purpose), with a state written whenever that changes.
:class:`MeshElementEntity` is the entity of one element of a node: it hears every message
from the element's unicast address once (responses and publications alike: a status reaches
it exactly once, in :meth:`MeshElementEntity.apply`) and asks for its state after every
(re)connection through the network's :class:`~.state_reader.StateReader`, with the Gets the
model registry names (:mod:`.mesh.models.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import logging

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SWITCHES_AS_LIGHTS, DOMAIN, SIGNAL_NODE_CONFIGURED
from .devices import element_unique_id, node_identifier
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.errors import DecodeError
from .mesh.models.model_ids import SENSOR_SERVER
from .mesh.models.properties import (
    PROPERTIES,
    DeviceProperty,
    PropertyValue,
    decode_sensor_status,
)
from .mesh.models.registry import is_switch, light_roles, primary_light_model
from .mesh.models.sensors import SensorGet, SensorStatus
from .runtime import MeshConfigEntry, MeshRuntime

_LOGGER = logging.getLogger(__name__)


class MeshEntity(Entity):
    """An entity of one mesh network (see the module)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, runtime: MeshRuntime, address: int) -> None:
        """``address``: the unicast or group address the entity stands for."""
        self._runtime = runtime
        self.address = address

    @property
    def available(self) -> bool:
        """Available while a proxy connection is up, or released on purpose when idle."""
        return self._runtime.available

    async def async_added_to_hass(self) -> None:
        """Follow the proxy connection."""
        self.async_on_remove(self._runtime.async_add_connection_listener(self._on_connection))

    @callback
    def _on_connection(self) -> None:
        self.async_write_ha_state()


class MeshElementEntity(MeshEntity):
    """The entity of one element of a node (see the module)."""

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """Identify the entity by network and element address; attach it to the node's device."""
        super().__init__(runtime, node.unicast_address + element.index)
        self._model_ids = element.sig_model_ids
        self._attr_unique_id = element_unique_id(runtime.mesh_uuid, self.address)
        self._attr_device_info = {"identifiers": {node_identifier(runtime.mesh_uuid, node)}}

    async def async_added_to_hass(self) -> None:
        """Hear the element's messages; ask for the current state."""
        await super().async_added_to_hass()
        self.async_on_remove(self._runtime.async_subscribe(self._on_message, src=self.address))
        if self._runtime.connected:
            self._request_state()

    @callback
    def _on_connection(self) -> None:
        super()._on_connection()
        if self._runtime.connected:
            self._request_state()

    def state_reads(self) -> list[Message]:
        """The Gets that read this entity's state (default: its richest model's Get)."""
        spec = primary_light_model(self._model_ids)
        return [spec.get()] if spec is not None and spec.get is not None else []

    @callback
    def _request_state(self) -> None:
        self._runtime.state_reader.async_request(self.address, self.state_reads())

    @callback
    def _on_message(self, src: int, message: Message) -> None:
        if src == self.address and self.apply(message):
            self.async_write_ha_state()

    def apply(self, message: Message) -> bool:
        """Take ``message`` into the entity's state; True when it was one of its statuses."""
        raise NotImplementedError

    async def _async_command(self, message: Message) -> None:
        """Send an acknowledged message; its status arrives through :meth:`apply`."""
        await self._runtime.async_send(self.address, message, expect=message.RESPONSE)


def async_setup_node_entities(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities_of: Callable[[MeshRuntime, Node], Sequence[Entity]],
) -> None:
    """Add the entities ``entities_of`` gives each configured node, now and as nodes get so.

    A node counts once it is bound to our AppKey (``config_complete``): before, it could not
    answer. Entities already added are not added again (a node is configured again after a
    reset of its configuration, or its composition is refreshed).
    """
    runtime = entry.runtime_data
    known: set[str] = set()

    @callback
    def _add_node(node: Node) -> None:
        if not node.config_complete:
            return
        entities = [e for e in entities_of(runtime, node) if e.unique_id not in known]
        known.update(e.unique_id for e in entities if e.unique_id)
        if entities:
            async_add_entities(entities)

    for node in runtime.network.device_nodes():
        _add_node(node)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_NODE_CONFIGURED.format(entry.entry_id), _add_node)
    )


def switches_as_lights(entry: MeshConfigEntry) -> frozenset[str]:
    """The unique IDs of on/off elements the options show as lights (see ``onoff_platform``)."""
    return frozenset(entry.options.get(CONF_SWITCHES_AS_LIGHTS, []))


def onoff_platform(entry: MeshConfigEntry, node: Node, element: CdbElement) -> Platform | None:
    """The platform of an element's on/off entity: light, switch, or None (no on/off model).

    An element with Generic OnOff and no light model (a plug, a relay) is a switch unless the
    options show it as a light; an element with a light model is a light.
    """
    model_ids = element.sig_model_ids
    if not light_roles(model_ids):
        return None
    if not is_switch(model_ids):
        return Platform.LIGHT
    unique_id = element_unique_id(
        entry.runtime_data.mesh_uuid, node.unicast_address + element.index
    )
    return Platform.LIGHT if unique_id in switches_as_lights(entry) else Platform.SWITCH


def forget_other_platform(hass: HomeAssistant, platform: Platform, unique_id: str) -> None:
    """Drop the registry entry of an on/off element under the platform it no longer uses."""
    other = Platform.SWITCH if platform is Platform.LIGHT else Platform.LIGHT
    registry = er.async_get(hass)
    if entity_id := registry.async_get_entity_id(other, DOMAIN, unique_id):
        registry.async_remove(entity_id)


class MeshPropertyEntity(MeshElementEntity):
    """One Mesh Device Property of an element's Sensor Server (MshMDL 1.1 §4; MshDP).

    Every property entity of an element reads its state with the same Sensor Get (all
    properties: the state reader sends it once) and takes its own value from each Sensor
    Status the element sends, answered or published. A status that cannot be decoded changes
    nothing (the node keeps its last good value).
    """

    def __init__(
        self, runtime: MeshRuntime, node: Node, element: CdbElement, prop: DeviceProperty
    ) -> None:
        """The entity of ``prop`` on ``element``."""
        super().__init__(runtime, node, element)
        self.property = prop
        self._attr_unique_id = f"{self._attr_unique_id}_{prop.property_id:04x}"
        self.value: PropertyValue = None

    def state_reads(self) -> list[Message]:
        """Sensor Get (every property of the element)."""
        return [SensorGet()]

    def apply(self, message: Message) -> bool:
        """Take this property's value from a Sensor Status."""
        if not isinstance(message, SensorStatus):
            return False
        try:
            readings = decode_sensor_status(message)
        except DecodeError as err:
            _LOGGER.debug("Sensor Status from %04X not understood: %s", self.address, err)
            return False
        prop = self.property.property_id
        if prop in readings.values:
            self.value = readings.values[prop]
        elif prop in readings.absent:
            self.value = None
        else:
            return False
        return True


def sensor_properties(node: Node) -> list[tuple[CdbElement, DeviceProperty]]:
    """The known properties the node's Sensor Servers measure (unknown ones get no entity)."""
    return [
        (element, PROPERTIES[property_id])
        for element in node.elements
        if (sensor := element.model(SENSOR_SERVER)) is not None
        for property_id in sensor.sensor_properties or []
        if property_id in PROPERTIES
    ]
