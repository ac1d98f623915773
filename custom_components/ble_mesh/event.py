"""Event entities: wall switches and remotes (Generic OnOff, Level and Scene clients).

A battery wall switch has no state to show: it *sends* Generic OnOff Set (and Level or Scene
Recall) when pressed, to its publication address: Home Assistant's unicast address by the
automatic configuration, or a group Home Assistant also hears. Each press becomes an event
(``turned_on``, ``turned_off``, ``level_changed``, ``scene_recalled``) an automation can
trigger on, with no light listening. A switch repeats an unacknowledged message with the
same TID; within 6 s that is the same press (MshMDL 1.1 §3.3.2.2.3), fired once.
"""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import MeshElementEntity, async_setup_node_entities
from .mesh.access import Message
from .mesh.database import CdbElement, Node
from .mesh.models import generic as gen, model_ids as ids, scenes as sc
from .runtime import MeshConfigEntry, MeshRuntime

PARALLEL_UPDATES = 0

TURNED_ON = "turned_on"
TURNED_OFF = "turned_off"
LEVEL_CHANGED = "level_changed"
SCENE_RECALLED = "scene_recalled"

# The events each client model can send.
CLIENT_EVENTS: dict[int, tuple[str, ...]] = {
    ids.GENERIC_ONOFF_CLIENT: (TURNED_ON, TURNED_OFF),
    ids.GENERIC_LEVEL_CLIENT: (LEVEL_CHANGED,),
    ids.SCENE_CLIENT: (SCENE_RECALLED,),
}

TID_WINDOW = 6.0
"""Seconds within which a message with the same TID from the same source is a repeat."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One event entity per element with a switch client model."""

    def _events(runtime: MeshRuntime, node: Node) -> list[SwitchEvents]:
        entities = []
        for element in node.elements:
            types = [
                event
                for model_id, events in CLIENT_EVENTS.items()
                if element.model(model_id) is not None
                for event in events
            ]
            if types:
                entities.append(SwitchEvents(runtime, node, element, types, len(node.elements)))
        return entities

    async_setup_node_entities(hass, entry, async_add_entities, _events)


class SwitchEvents(MeshElementEntity, EventEntity):
    """What one element of a wall switch or remote sends (see the module)."""

    _attr_translation_key = "switch_events"

    def __init__(
        self,
        runtime: MeshRuntime,
        node: Node,
        element: CdbElement,
        event_types: list[str],
        elements: int,
    ) -> None:
        """The events of ``element`` (numbered when the node has several elements)."""
        super().__init__(runtime, node, element)
        self._attr_unique_id = f"{self._attr_unique_id}_events"
        self._attr_event_types = event_types
        if elements > 1:
            self._attr_translation_key = "element_switch_events"
            self._attr_translation_placeholders = {"number": str(element.index + 1)}
        self._last: tuple[int, int, float] | None = None  # opcode, TID, time

    def state_reads(self) -> list[Message]:
        """A switch has no state to read."""
        return []

    def apply(self, message: Message) -> bool:
        """Fire the event a client message stands for (once per transaction)."""
        event = _event_of(message)
        if event is None:
            return False
        event_type, attributes = event
        tid = getattr(message, "tid", None)
        now = self.hass.loop.time()
        if tid is not None:
            last = self._last
            if (
                last is not None
                and last[:2] == (message.OPCODE, tid)
                and now - last[2] < TID_WINDOW
            ):
                return False  # a repeat of the same press
            self._last = (message.OPCODE, tid, now)
        self._trigger_event(event_type, attributes)
        return True


def _event_of(message: Message) -> tuple[str, dict[str, int]] | None:
    """The event type and attributes of a client message, or None."""
    if isinstance(message, gen.GenericOnOffSet | gen.GenericOnOffSetUnacknowledged):
        return (TURNED_ON if message.on else TURNED_OFF), {}
    if isinstance(message, gen.GenericLevelSet | gen.GenericLevelSetUnacknowledged):
        return LEVEL_CHANGED, {"level": message.level}
    if isinstance(message, gen.GenericDeltaSet | gen.GenericDeltaSetUnacknowledged):
        return LEVEL_CHANGED, {"delta": message.delta_level}
    if isinstance(message, gen.GenericMoveSet | gen.GenericMoveSetUnacknowledged):
        return LEVEL_CHANGED, {"move": message.delta_level}
    if isinstance(message, sc.SceneRecall | sc.SceneRecallUnacknowledged):
        return SCENE_RECALLED, {"scene": message.scene_number}
    return None
