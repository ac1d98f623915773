"""Switch entities: elements with Generic OnOff and no light model (MshMDL 1.1 §3.1.1).

A plug or a relay is a switch; the network's options can show one as a light instead
(:func:`.entity.onoff_platform`). State is pushed like a light's: the node publishes its
Generic OnOff Status to Home Assistant, so a press on the plug's own button shows at once.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchDeviceClass, SwitchEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .devices import element_unique_id
from .entity import (
    MeshElementEntity,
    async_setup_node_entities,
    forget_other_platform,
    onoff_platform,
)
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models.generic import GenericOnOffGet, GenericOnOffSet, GenericOnOffStatus
from .runtime import MeshConfigEntry, MeshRuntime

# Commands are queued by the runtime on one proxy link; let HA run them concurrently.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One switch per on/off element that is not a light, now and for nodes configured later."""

    def _switches(runtime: MeshRuntime, node: Node) -> list[MeshSwitch]:
        elements = [e for e in node.elements if onoff_platform(entry, node, e) is Platform.SWITCH]
        for element in elements:
            address = node.unicast_address + element.index
            forget_other_platform(
                hass, Platform.SWITCH, element_unique_id(runtime.mesh_uuid, address)
            )
        return [MeshSwitch(runtime, node, e, numbered=len(elements) > 1) for e in elements]

    async_setup_node_entities(hass, entry, async_add_entities, _switches)


class MeshSwitch(MeshElementEntity, SwitchEntity):
    """The Generic OnOff Server of one element that is not a light."""

    _attr_device_class = SwitchDeviceClass.OUTLET

    def __init__(
        self, runtime: MeshRuntime, node: Node, element: CdbElement, *, numbered: bool
    ) -> None:
        """The switch of ``element``; named after the device unless the node has several."""
        super().__init__(runtime, node, element)
        if numbered:
            self._attr_translation_key = "element_switch"
            self._attr_translation_placeholders = {"number": str(element.index + 1)}
        else:
            self._attr_name = None
        self._attr_is_on = None

    def state_reads(self) -> list[Message]:
        """Generic OnOff Get."""
        return [GenericOnOffGet()]

    def apply(self, message: Message) -> bool:
        """Take a Generic OnOff Status (the target state while it changes)."""
        if not isinstance(message, GenericOnOffStatus):
            return False
        target = message.target_on
        self._attr_is_on = bool(message.present_on if target is None else target)
        return True

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Generic OnOff Set on."""
        await self._async_set(on=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Generic OnOff Set off."""
        await self._async_set(on=False)

    async def _async_set(self, *, on: bool) -> None:
        tid = self._runtime.next_tid(self.address)
        await self._async_command(GenericOnOffSet(on=on, tid=tid))
