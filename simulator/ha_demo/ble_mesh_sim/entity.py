"""The base of the simulated lights' entities: one device per light, "<name> (simulated light)"
(or plug, sensor, switch: the profile's kind).

The device page is the light as a person holds it (see the package). Names are plain English:
this development helper has no translations (its services.yaml says so too).
"""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity

from simulator.demo import DOMAIN, DemoHandle, DemoLight
from simulator.profiles import PROFILES

MANUFACTURER = "Bluetooth Mesh simulator"


def light_device_info(light: DemoLight) -> DeviceInfo:
    """The device of a simulated light (its Device UUID identifies it)."""
    return DeviceInfo(
        identifiers={(DOMAIN, light.device_uuid.hex())},
        name=f"{light.name} (simulated {PROFILES[light.profile].kind})",
        manufacturer=MANUFACTURER,
        model=PROFILES[light.profile].name,
    )


class SimulatedLightEntity(Entity):
    """Something on a simulated light; its state is the demo's, pushed on every change."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    key: str = ""
    """The last part of the unique id."""

    def __init__(self, handle: DemoHandle, light: DemoLight) -> None:
        """The entity of ``light`` in the running demo ``handle``."""
        self._handle = handle
        self._light = light
        self._attr_unique_id = f"{light.device_uuid.hex()}_{self.key}"
        self._attr_device_info = light_device_info(light)

    async def async_added_to_hass(self) -> None:
        """Follow the light."""
        self.async_on_remove(self._handle.async_add_listener(self._on_light))

    @callback
    def _on_light(self, name: str) -> None:
        if name == self._light.name:
            self.async_write_ha_state()
