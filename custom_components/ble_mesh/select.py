"""Select entities: the power-on behaviour of Generic Power OnOff (MshMDL 1.1 §3.1.4, §3.3.3).

Generic OnPowerUp says what an element does when power comes back: stay off, turn on, or
restore its last state. The Generic Power OnOff Server reports it; its Setup Server sets it.
"""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import MeshElementEntity, async_setup_node_entities
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models.generic import (
    GenericOnPowerUpGet,
    GenericOnPowerUpSet,
    GenericOnPowerUpStatus,
    OnPowerUp,
)
from .mesh.models.model_ids import GENERIC_POWER_ONOFF_SETUP_SERVER
from .runtime import MeshConfigEntry, MeshRuntime

PARALLEL_UPDATES = 0

# The options, in the order shown; "on" is the state's "Default" (MshMDL 1.1 §3.1.4).
OPTIONS: dict[str, OnPowerUp] = {
    "off": OnPowerUp.OFF,
    "on": OnPowerUp.DEFAULT,
    "restore": OnPowerUp.RESTORE,
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One select per element with a Generic Power OnOff Setup Server."""

    def _selects(runtime: MeshRuntime, node: Node) -> list[PowerOnBehaviorSelect]:
        return [
            PowerOnBehaviorSelect(runtime, node, element)
            for element in node.elements
            if element.model(GENERIC_POWER_ONOFF_SETUP_SERVER) is not None
        ]

    async_setup_node_entities(hass, entry, async_add_entities, _selects)


class PowerOnBehaviorSelect(MeshElementEntity, SelectEntity):
    """What the element does when its power comes back."""

    _attr_entity_category = EntityCategory.CONFIG
    _attr_translation_key = "power_on_behavior"

    def __init__(self, runtime: MeshRuntime, node: Node, element: CdbElement) -> None:
        """The select of ``element`` (its own unique ID next to the element's on/off entity)."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_power_on_behavior"
        self._attr_options = list(OPTIONS)
        self._attr_current_option = None

    def state_reads(self) -> list[Message]:
        """Generic OnPowerUp Get."""
        return [GenericOnPowerUpGet()]

    def apply(self, message: Message) -> bool:
        """Take a Generic OnPowerUp Status."""
        if not isinstance(message, GenericOnPowerUpStatus):
            return False
        self._attr_current_option = next(k for k, v in OPTIONS.items() if v is message.on_power_up)
        return True

    async def async_select_option(self, option: str) -> None:
        """Generic OnPowerUp Set (to the Setup Server)."""
        await self._async_command(GenericOnPowerUpSet(on_power_up=OPTIONS[option]))
