"""A simulated light's keypad: where the Input OOB value the dialog shows is typed."""

from __future__ import annotations

from homeassistant.components.text import TextEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from simulator.demo import DOMAIN, INPUT_MODES, DemoHandle

from .entity import SimulatedLightEntity

MAX_INPUT = 8
"""The longest Input OOB value (MshPRT 1.1 §5.4.1.2: Input OOB Size 1 to 8)."""


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """A keypad on every light with Input OOB."""
    handle: DemoHandle = hass.data[DOMAIN]
    async_add_entities(
        LightKeypad(handle, light)
        for light in handle.lights.values()
        if light.oob_mode in INPUT_MODES
    )


class LightKeypad(SimulatedLightEntity, TextEntity):
    """Typing a value here is typing it on the light (or pushing/twisting it that often)."""

    key = "keypad"
    _attr_name = "Keypad"
    _attr_icon = "mdi:dialpad"
    _attr_native_max = MAX_INPUT
    _attr_native_value = ""

    async def async_set_value(self, value: str) -> None:
        """Enter ``value``; a light that does not wait for it refuses (the UI says why)."""
        self._handle.enter_input_oob(self._light.name, value)
        self._attr_native_value = value
        self.async_write_ha_state()
