"""Button entities: *Identify*, the Health Server's attention timer (MshPRT 1.1 §4.2.12).

Pressing it makes the node draw attention to itself (blink, beep) for a few seconds, so a
person can tell which light in the room is which. Every node has a Health Server on its
primary element.
"""

from __future__ import annotations

from homeassistant.components.button import ButtonDeviceClass, ButtonEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import MeshElementEntity, async_setup_node_entities
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models.health import HealthAttentionSet
from .mesh.models.model_ids import HEALTH_SERVER
from .node_config import async_ensure_health_bound
from .runtime import MeshConfigEntry, MeshRuntime

PARALLEL_UPDATES = 0

IDENTIFY_SECONDS = 5
"""How long the node draws attention (the identify action takes any duration)."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One Identify button per node with a Health Server on its primary element."""

    def _buttons(runtime: MeshRuntime, node: Node) -> list[IdentifyButton]:
        primary = node.elements[0] if node.elements else None
        if primary is None or primary.model(HEALTH_SERVER) is None:
            return []
        return [IdentifyButton(runtime, node, primary)]

    async_setup_node_entities(hass, entry, async_add_entities, _buttons)


class IdentifyButton(MeshElementEntity, ButtonEntity):
    """Health Attention Set on the node's primary element."""

    _attr_device_class = ButtonDeviceClass.IDENTIFY
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """The button of ``node`` (its own unique ID next to the element's other entities)."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_identify"

    def state_reads(self) -> list[Message]:
        """A button has no state to read."""
        return []

    def apply(self, message: Message) -> bool:
        """Nothing the node sends changes a button."""
        return False

    async def async_press(self) -> None:
        """Start the node's attention timer (binding Health first on an older node)."""
        node = self._runtime.network.node_for_element(self.address)
        if node is not None:
            await async_ensure_health_bound(self._runtime, node)
        await self._async_command(HealthAttentionSet(IDENTIFY_SECONDS))
