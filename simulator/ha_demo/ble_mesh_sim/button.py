"""A simulated device's buttons: its reset button, its power plug, a fault to raise and clear,
and a battery switch's own button."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from custom_components.ble_mesh.mesh.models.model_ids import GENERIC_ONOFF_CLIENT
from simulator.demo import DOMAIN, DemoHandle
from simulator.profiles import PROFILES

from .entity import SimulatedLightEntity


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Reset, power cycle and fault buttons on every device; a push button on switches."""
    handle: DemoHandle = hass.data[DOMAIN]
    entities: list[ButtonEntity] = []
    for light in handle.lights.values():
        entities.append(LightResetButton(handle, light))
        entities.append(PowerCycleButton(handle, light))
        entities.append(RaiseFaultButton(handle, light))
        entities.append(ClearFaultsButton(handle, light))
        if PROFILES[light.profile].elements[0].has_model(GENERIC_ONOFF_CLIENT):
            entities.append(SwitchButton(handle, light))
    async_add_entities(entities)


class LightResetButton(SimulatedLightEntity, ButtonEntity):
    """Pressing it is the light's factory reset (``ble_mesh_sim.factory_reset``)."""

    key = "reset"
    _attr_name = "Reset button"
    _attr_icon = "mdi:restore"
    _attr_entity_category = EntityCategory.CONFIG

    async def async_press(self) -> None:
        """Reset the light."""
        self._handle.factory_reset(self._light.name)


class PowerCycleButton(SimulatedLightEntity, ButtonEntity):
    """Pull the device's plug and put it back (``ble_mesh_sim.power_cycle``)."""

    key = "power_cycle"
    _attr_name = "Power cycle"
    _attr_icon = "mdi:power-plug-off"
    _attr_entity_category = EntityCategory.CONFIG

    async def async_press(self) -> None:
        """Power cycle the device."""
        self._handle.power_cycle(self._light.name)


class RaiseFaultButton(SimulatedLightEntity, ButtonEntity):
    """An Overheat Warning appears on the device (``ble_mesh_sim.raise_fault``)."""

    key = "raise_fault"
    _attr_name = "Raise fault"
    _attr_icon = "mdi:alert"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    async def async_press(self) -> None:
        """Raise the demo fault (the device must be provisioned)."""
        self._handle.raise_fault(self._light.name)


class ClearFaultsButton(SimulatedLightEntity, ButtonEntity):
    """Every present fault is gone (``ble_mesh_sim.clear_fault``)."""

    key = "clear_faults"
    _attr_name = "Clear faults"
    _attr_icon = "mdi:alert-remove"
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    async def async_press(self) -> None:
        """Clear the device's current faults (the device must be provisioned)."""
        self._handle.clear_fault(self._light.name)


class SwitchButton(SimulatedLightEntity, ButtonEntity):
    """The battery switch's own button: each press toggles (``ble_mesh_sim.press``)."""

    key = "press"
    _attr_name = "Switch button"
    _attr_icon = "mdi:light-switch"

    async def async_press(self) -> None:
        """Press it: Generic OnOff Set Unacknowledged to its publish address."""
        self._handle.press(self._light.name)
