"""A simulated light's reset button: it forgets its network and can be added again."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from simulator.demo import DOMAIN, DemoHandle

from .entity import SimulatedLightEntity


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """A reset button on every light."""
    handle: DemoHandle = hass.data[DOMAIN]
    async_add_entities(LightResetButton(handle, light) for light in handle.lights.values())


class LightResetButton(SimulatedLightEntity, ButtonEntity):
    """Pressing it is the light's factory reset (``ble_mesh_sim.factory_reset``)."""

    key = "reset"
    _attr_name = "Reset button"
    _attr_icon = "mdi:restore"
    _attr_entity_category = EntityCategory.CONFIG

    async def async_press(self) -> None:
        """Reset the light."""
        self._handle.factory_reset(self._light.name)
