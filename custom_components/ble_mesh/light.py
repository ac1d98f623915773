"""Light entities: one per element that has a light server (MshMDL 1.1 §6).

Colour modes follow the element's models: Light HSL -> hs, Light xyL -> xy, Light CTL ->
color_temp (kelvin, within the node's range), Light Lightness -> brightness, Generic OnOff
alone -> onoff. State is pushed: status messages (replies and the node's publications) update
the entity at once, so a wall switch or the vendor app shows up without polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_COLOR_TEMP_KELVIN,
    ATTR_HS_COLOR,
    ATTR_TRANSITION,
    ATTR_XY_COLOR,
    LightEntity,
)
from homeassistant.components.light.const import ColorMode, LightEntityFeature
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_state_change_event

from . import conversions as conv
from .const import DOMAIN, SIGNAL_GROUP_ADDED, SIGNAL_GROUP_REMOVED
from .devices import element_unique_id
from .entity import (
    MeshElementEntity,
    MeshEntity,
    async_setup_node_entities,
    forget_other_platform,
    onoff_platform,
)
from .groups import group_unique_id, members
from .mesh.access import Message
from .mesh.database import CdbElement, Group, Node
from .mesh.models.common import TRANSITION_SECONDS_MAX, TransitionTime
from .mesh.models.generic import (
    GenericOnOffSet,
    GenericOnOffSetUnacknowledged,
    GenericOnOffStatus,
)
from .mesh.models.lighting import (
    LightCtlSet,
    LightCtlSetUnacknowledged,
    LightCtlStatus,
    LightCtlTemperatureRangeGet,
    LightCtlTemperatureRangeStatus,
    LightHslSet,
    LightHslSetUnacknowledged,
    LightHslStatus,
    LightLightnessSet,
    LightLightnessSetUnacknowledged,
    LightLightnessStatus,
    LightXylSet,
    LightXylSetUnacknowledged,
    LightXylStatus,
)
from .mesh.models.registry import LightRole, light_roles
from .runtime import MeshConfigEntry, MeshRuntime

# Commands are queued by the runtime on one proxy link; let HA run them concurrently.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, slots=True)
class LightFeatures:
    """What one element's models let a light entity do."""

    onoff: bool
    lightness: bool
    ctl: bool
    hsl: bool
    xyl: bool

    @classmethod
    def of(cls, element: CdbElement) -> LightFeatures | None:
        """The features of an element, or None when it is not a light (see the registry)."""
        roles = light_roles(element.sig_model_ids)
        if not roles:
            return None
        return cls(
            onoff=LightRole.ONOFF in roles,
            lightness=LightRole.LIGHTNESS in roles,
            ctl=LightRole.CTL in roles,
            hsl=LightRole.HSL in roles,
            xyl=LightRole.XYL in roles,
        )

    @property
    def color_modes(self) -> set[ColorMode]:
        """HA colour modes; HA requires onoff/brightness to stand alone."""
        modes: set[ColorMode] = set()
        if self.hsl:
            modes.add(ColorMode.HS)
        if self.xyl:
            modes.add(ColorMode.XY)
        if self.ctl:
            modes.add(ColorMode.COLOR_TEMP)
        if modes:
            return modes
        if self.lightness:
            return {ColorMode.BRIGHTNESS}
        return {ColorMode.ONOFF}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MeshConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create light entities for the nodes we know, and for nodes configured later."""
    runtime = entry.runtime_data
    known: set[str] = set()

    def _node_lights(runtime: MeshRuntime, node: Node) -> list[MeshLight]:
        lights: list[tuple[CdbElement, LightFeatures]] = []
        for element in node.elements:
            features = LightFeatures.of(element)
            if features is None:
                continue
            unique_id = element_unique_id(runtime.mesh_uuid, node.unicast_address + element.index)
            if onoff_platform(entry, node, element) is Platform.LIGHT:
                forget_other_platform(hass, Platform.LIGHT, unique_id)
                lights.append((element, features))
        return [
            MeshLight(runtime, node, element, features, numbered=len(lights) > 1)
            for element, features in lights
        ]

    async_setup_node_entities(hass, entry, async_add_entities, _node_lights)

    # One light per mesh group, appearing and going with the group (options flow).
    @callback
    def _add_group(group: Group) -> None:
        unique_id = group_unique_id(runtime.mesh_uuid, group.destination)
        if unique_id not in known:
            known.add(unique_id)
            async_add_entities([MeshGroupLight(runtime, group)])

    @callback
    def _remove_group(address: int) -> None:
        unique_id = group_unique_id(runtime.mesh_uuid, address)
        known.discard(unique_id)
        registry = er.async_get(hass)
        if entity_id := registry.async_get_entity_id("light", DOMAIN, unique_id):
            registry.async_remove(entity_id)  # removes the entity from Home Assistant too

    for group in runtime.network.groups:
        _add_group(group)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_GROUP_ADDED.format(entry.entry_id), _add_group)
    )
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_GROUP_REMOVED.format(entry.entry_id), _remove_group)
    )


class MeshLight(MeshElementEntity, LightEntity):
    """A light on one element of a mesh node."""

    def __init__(
        self,
        runtime: MeshRuntime,
        node: Node,
        element: CdbElement,
        features: LightFeatures,
        *,
        numbered: bool,
    ) -> None:
        """Describe the light from the element's models."""
        super().__init__(runtime, node, element)
        self._features = features
        if numbered:
            self._attr_translation_key = "element_light"
            self._attr_translation_placeholders = {"number": str(element.index + 1)}
        else:
            self._attr_name = None  # the device's name
        self._attr_supported_color_modes = features.color_modes
        self._attr_color_mode = next(iter(sorted(features.color_modes)))
        if ColorMode.COLOR_TEMP in features.color_modes:
            self._attr_min_color_temp_kelvin = conv.TEMPERATURE_MIN_K
            self._attr_max_color_temp_kelvin = conv.TEMPERATURE_MAX_K
        self._attr_supported_features = LightEntityFeature.TRANSITION
        self._attr_is_on = None
        self._lightness = 0

    def state_reads(self) -> list[Message]:
        """The colour temperature range first (it bounds the temperature), then the state."""
        reads = super().state_reads()
        return [LightCtlTemperatureRangeGet(), *reads] if self._features.ctl else reads

    def apply(self, message: Message) -> bool:
        """Take a status of the element's light models into the entity's state."""
        if isinstance(message, GenericOnOffStatus):
            self._attr_is_on = bool(
                message.target_on if message.target_on is not None else message.present_on
            )
        elif isinstance(message, LightLightnessStatus):
            target = message.target_lightness
            self._set_lightness(message.present_lightness if target is None else target)
        elif isinstance(message, LightCtlStatus):
            target = message.target_lightness
            self._set_lightness(message.present_lightness if target is None else target)
            temperature = message.target_temperature or message.present_temperature
            self._attr_color_temp_kelvin = temperature
            self._attr_color_mode = ColorMode.COLOR_TEMP
        elif isinstance(message, LightHslStatus):
            self._set_lightness(message.lightness)
            self._attr_hs_color = (
                conv.hue_to_degrees(message.hue),
                conv.saturation_to_percent(message.saturation),
            )
            self._attr_color_mode = ColorMode.HS
        elif isinstance(message, LightXylStatus):
            self._set_lightness(message.lightness)
            self._attr_xy_color = (conv.uint16_to_unit(message.x), conv.uint16_to_unit(message.y))
            self._attr_color_mode = ColorMode.XY
        elif isinstance(message, LightCtlTemperatureRangeStatus):
            self._attr_min_color_temp_kelvin = message.range_min
            self._attr_max_color_temp_kelvin = message.range_max
        else:
            return False
        return True

    def _set_lightness(self, lightness: int) -> None:
        self._attr_is_on = lightness > 0
        if lightness > 0:
            self._lightness = lightness
            self._attr_brightness = conv.lightness_to_brightness(lightness)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn on, with brightness/colour when given; one acknowledged mesh message."""
        features = self._features
        transition = _transition(kwargs)
        lightness = (
            conv.brightness_to_lightness(kwargs[ATTR_BRIGHTNESS])
            if ATTR_BRIGHTNESS in kwargs
            else (self._lightness or 0xFFFF)
        )
        tid = self._runtime.next_tid(self.address)
        message: Message | None = _colour_set(
            kwargs,
            features,
            lightness,
            tid,
            transition,
            acknowledged=True,
            # Read the kelvin range only where there is one: Home Assistant before 2026 reports
            # a light without colour temperature that reads it as "using mireds".
            kelvin_range=(self.min_color_temp_kelvin, self.max_color_temp_kelvin)
            if features.ctl
            else (conv.TEMPERATURE_MIN_K, conv.TEMPERATURE_MAX_K),
        )
        if message is None:
            if features.lightness or features.ctl or features.hsl or features.xyl:
                message = LightLightnessSet(lightness=lightness, tid=tid, transition=transition)
            else:
                message = GenericOnOffSet(on=True, tid=tid, transition=transition)
        await self._async_command(message)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn off (Generic OnOff, which every light server binds to)."""
        tid = self._runtime.next_tid(self.address)
        if self._features.onoff:
            message: Message = GenericOnOffSet(on=False, tid=tid, transition=_transition(kwargs))
        else:
            message = LightLightnessSet(lightness=0, tid=tid, transition=_transition(kwargs))
        await self._async_command(message)


def _colour_set(
    kwargs: dict[str, Any],
    features: LightFeatures,
    lightness: int,
    tid: int,
    transition: TransitionTime | None,
    *,
    acknowledged: bool,
    kelvin_range: tuple[int, int],
) -> Message | None:
    """The HSL/xyL/CTL Set for a turn_on with a colour, or None when it asks for none.

    Element lights send the acknowledged form to one node; group lights the unacknowledged
    form to a group address (one message, no N responses to wait for).
    """
    if ATTR_HS_COLOR in kwargs and features.hsl:
        hue, saturation = kwargs[ATTR_HS_COLOR]
        hsl = LightHslSet if acknowledged else LightHslSetUnacknowledged
        return hsl(
            lightness=lightness,
            hue=conv.degrees_to_hue(hue),
            saturation=conv.percent_to_saturation(saturation),
            tid=tid,
            transition=transition,
        )
    if ATTR_XY_COLOR in kwargs and features.xyl:
        x, y = kwargs[ATTR_XY_COLOR]
        xyl = LightXylSet if acknowledged else LightXylSetUnacknowledged
        return xyl(
            lightness=lightness,
            x=conv.unit_to_uint16(x),
            y=conv.unit_to_uint16(y),
            tid=tid,
            transition=transition,
        )
    if ATTR_COLOR_TEMP_KELVIN in kwargs and features.ctl:
        ctl = LightCtlSet if acknowledged else LightCtlSetUnacknowledged
        return ctl(
            lightness=lightness,
            temperature=conv.clamp_kelvin(kwargs[ATTR_COLOR_TEMP_KELVIN], *kelvin_range),
            delta_uv=0,
            tid=tid,
            transition=transition,
        )
    return None


def _transition(kwargs: dict[str, Any]) -> TransitionTime | None:
    if ATTR_TRANSITION not in kwargs:
        return None
    seconds = max(0.0, min(float(kwargs[ATTR_TRANSITION]), TRANSITION_SECONDS_MAX))
    return TransitionTime.from_seconds(seconds)


def group_features(features: list[LightFeatures]) -> LightFeatures:
    """What every member can do (a group without light members is switched on and off)."""
    if not features:
        return LightFeatures(onoff=True, lightness=False, ctl=False, hsl=False, xyl=False)
    return LightFeatures(
        onoff=all(f.onoff for f in features),
        lightness=all(f.lightness for f in features),
        ctl=all(f.ctl for f in features),
        hsl=all(f.hsl for f in features),
        xyl=all(f.xyl for f in features),
    )


class MeshGroupLight(MeshEntity, LightEntity):
    """A mesh group as one light: one group-addressed message switches every member.

    Commands are unacknowledged Sets to the group address (MshMDL 1.1 §3.1.1.2, §6.3): one
    Network PDU however many members, and no waiting for N responses. Members publish their
    new status to Home Assistant, so their own entities update by push, and this entity's
    state follows theirs: on when any member is on, the members' average brightness.
    """

    _attr_translation_key = "group_light"

    def __init__(self, runtime: MeshRuntime, group: Group) -> None:
        """Describe the group from what all its members can do."""
        super().__init__(runtime, group.destination)
        self._attr_unique_id = group_unique_id(runtime.mesh_uuid, self.address)
        self._attr_translation_placeholders = {"name": group.name}
        member_list = members(runtime.network, self.address)
        self._member_addresses = [m.address for m in member_list]
        self._features = group_features(
            [f for m in member_list if (f := LightFeatures.of(m.element)) is not None]
        )
        self._attr_supported_color_modes = self._features.color_modes
        self._attr_color_mode = next(iter(sorted(self._features.color_modes)))
        if ColorMode.COLOR_TEMP in self._features.color_modes:
            self._attr_min_color_temp_kelvin = conv.TEMPERATURE_MIN_K
            self._attr_max_color_temp_kelvin = conv.TEMPERATURE_MAX_K
        self._attr_supported_features = LightEntityFeature.TRANSITION
        self._attr_extra_state_attributes = {"group_address": f"{self.address:04X}"}
        self._member_ids: list[str] = []

    async def async_added_to_hass(self) -> None:
        """Follow the members' entities and the proxy connection."""
        await super().async_added_to_hass()
        registry = er.async_get(self.hass)
        self._member_ids = [
            entity_id
            for address in self._member_addresses
            if (
                entity_id := registry.async_get_entity_id(
                    "light", DOMAIN, element_unique_id(self._runtime.mesh_uuid, address)
                )
            )
        ]
        self._attr_extra_state_attributes["entity_id"] = list(self._member_ids)
        self.async_on_remove(
            async_track_state_change_event(self.hass, self._member_ids, self._on_member_state)
        )
        self._update_from_members()

    @callback
    def _on_member_state(self, _event: Event[EventStateChangedData]) -> None:
        self._update_from_members()
        self.async_write_ha_state()

    def _update_from_members(self) -> None:
        states = [
            state
            for entity_id in self._member_ids
            if (state := self.hass.states.get(entity_id)) is not None
            and state.state in (STATE_ON, STATE_OFF)
        ]
        on = [state for state in states if state.state == STATE_ON]
        self._attr_is_on = bool(on) if states else None
        brightness = [b for s in on if (b := s.attributes.get(ATTR_BRIGHTNESS)) is not None]
        self._attr_brightness = round(sum(brightness) / len(brightness)) if brightness else None
        modes = [s.attributes.get("color_mode") for s in on]
        mode = next((m for m in modes if m in self._features.color_modes), None)
        if mode is not None:
            self._attr_color_mode = ColorMode(mode)
        kelvin = [k for s in on if (k := s.attributes.get(ATTR_COLOR_TEMP_KELVIN)) is not None]
        self._attr_color_temp_kelvin = round(sum(kelvin) / len(kelvin)) if kelvin else None
        self._attr_hs_color = _mean_pair([s.attributes.get(ATTR_HS_COLOR) for s in on])
        self._attr_xy_color = _mean_pair([s.attributes.get(ATTR_XY_COLOR) for s in on])

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn every member on, with brightness/colour when given: one group message."""
        features = self._features
        transition = _transition(kwargs)
        tid = self._runtime.next_tid(self.address)
        lightness = conv.brightness_to_lightness(
            kwargs.get(ATTR_BRIGHTNESS, self._attr_brightness or 255)
        )
        message: Message | None = _colour_set(
            kwargs,
            features,
            lightness,
            tid,
            transition,
            acknowledged=False,
            kelvin_range=(conv.TEMPERATURE_MIN_K, conv.TEMPERATURE_MAX_K),
        )
        if message is None:
            if ATTR_BRIGHTNESS in kwargs and features.lightness:
                message = LightLightnessSetUnacknowledged(
                    lightness=lightness, tid=tid, transition=transition
                )
            else:
                # Each member goes back to its own last brightness (MshMDL 1.1 §6.1.2.2.3).
                message = GenericOnOffSetUnacknowledged(on=True, tid=tid, transition=transition)
        await self._runtime.async_send(self.address, message)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn every member off: one Generic OnOff Set Unacknowledged to the group."""
        tid = self._runtime.next_tid(self.address)
        await self._runtime.async_send(
            self.address,
            GenericOnOffSetUnacknowledged(on=False, tid=tid, transition=_transition(kwargs)),
        )


def _mean_pair(values: list[Any]) -> tuple[float, float] | None:
    pairs = [v for v in values if v is not None]
    if not pairs:
        return None
    return (sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs))
