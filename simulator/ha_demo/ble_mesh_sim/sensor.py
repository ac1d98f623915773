"""What a simulated light shows: its display (Output OOB, or what it waits for) and its label."""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from simulator.demo import DOMAIN, INPUT_MODES, OOB_PUBLIC_KEY, OOB_STATIC, OUTPUT_MODES, DemoHandle

from .entity import SimulatedLightEntity

IDLE = "idle"
"""The display's state between provisioning attempts."""


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """A display for lights with Output or Input OOB, a label for those with a QR code."""
    handle: DemoHandle = hass.data[DOMAIN]
    entities: list[SensorEntity] = []
    for light in handle.lights.values():
        if light.oob_mode in OUTPUT_MODES or light.oob_mode in INPUT_MODES:
            entities.append(LightDisplay(handle, light))
        if light.oob_mode in (OOB_STATIC, OOB_PUBLIC_KEY):
            entities.append(LightLabel(handle, light))
    async_add_entities(entities)


class LightDisplay(SimulatedLightEntity, SensorEntity):
    """What the light blinks, beeps or shows now ("blinks 3 times"), or what it waits for."""

    key = "display"
    _attr_name = "Display"
    _attr_icon = "mdi:led-on"

    @property
    def native_value(self) -> str:
        """The light's output for the running provisioning attempt, else ``idle``."""
        return self._handle.showing(self._light.name) or IDLE


class LightLabel(SimulatedLightEntity, SensorEntity):
    """The text of the QR code on the light's label (Device UUID, static OOB, public key)."""

    key = "label"
    _attr_name = "Label"
    _attr_icon = "mdi:qrcode"

    @property
    def native_value(self) -> str:
        """The QR text, to paste into the Bluetooth Mesh dialog."""
        return self._handle.qr_text(self._light.name)
