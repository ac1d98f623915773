"""Bluetooth Mesh simulator (demo): simulated mesh lights behind a virtual Bluetooth proxy.

A development helper, never shipped: ``scripts/develop`` copies this package into
``config/custom_components/ble_mesh_sim`` and puts the repository on ``PYTHONPATH`` so that
``simulator`` is importable. Everything happens in :mod:`simulator.demo`; this module only
connects it to Home Assistant's YAML setup and shutdown.

``configuration.yaml``::

    ble_mesh_sim:
      latency: 0.03          # seconds per GATT write through the virtual proxy
      lights:
        - name: Kitchen Light
          profile: ctl       # onoff_plug, dimmable, ctl, hsl, xyl, two_element, smart_plug,
                             # multi_sensor, wall_switch
          oob: static        # none, static, public_key, blink, beep, vibrate, output_numeric,
                             # output_alphanumeric, push, twist, input_numeric, input_alphanumeric

Each light is also a device of its own, "<name> (simulated light)" (plug, sensor, switch),
whose page is the light as a person holds it: its display (what it blinks or shows for Output
OOB, what it waits for), its keypad (Input OOB), its label (the QR code's text), its reset
button, power cycle and fault buttons (and a switch's own button). Open it in a second browser
tab while the Bluetooth Mesh dialog covers the first. The devices belong to one config
entry, made from the YAML block (an import flow) and removed when the block is.
"""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.typing import ConfigType

from simulator.demo import CONFIG_SCHEMA, DOMAIN, DemoHandle, async_setup_demo

__all__ = ["CONFIG_SCHEMA", "DOMAIN", "async_setup"]  # HA reads CONFIG_SCHEMA from here

PLATFORMS = [Platform.BUTTON, Platform.SENSOR, Platform.TEXT]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start the simulated lights from the ``ble_mesh_sim:`` block; stop them with HA."""
    if DOMAIN not in config:
        return True
    handle = await async_setup_demo(hass, config[DOMAIN])

    async def _async_stop(_event: Event) -> None:
        await handle.async_stop()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop)
    if not hass.config_entries.async_entries(DOMAIN):
        # The lights' own devices need a config entry: one, made from the YAML block.
        hass.async_create_task(
            hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT}, data={}),
            f"{DOMAIN} import",
        )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """The lights' devices and entities (the demo runs: ``async_setup`` started it)."""
    if not isinstance(hass.data.get(DOMAIN), DemoHandle):
        # The ble_mesh_sim: block was removed: the lights are gone, and so is their entry.
        hass.async_create_task(
            hass.config_entries.async_remove(entry.entry_id), f"{DOMAIN} remove entry"
        )
        return False
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Remove the entities (the demo itself stops with Home Assistant)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
