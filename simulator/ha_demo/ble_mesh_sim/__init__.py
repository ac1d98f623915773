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
          profile: ctl       # onoff_plug, dimmable, ctl, hsl, xyl, two_element
          oob: static        # none, static, public_key, blink, beep, vibrate, output_numeric,
                             # output_alphanumeric, push, twist, input_numeric, input_alphanumeric
"""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers.typing import ConfigType

from simulator.demo import CONFIG_SCHEMA, DOMAIN, async_setup_demo

__all__ = ["CONFIG_SCHEMA", "DOMAIN", "async_setup"]  # HA reads CONFIG_SCHEMA from here


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start the simulated lights from the ``ble_mesh_sim:`` block; stop them with HA."""
    if DOMAIN not in config:
        return True
    handle = await async_setup_demo(hass, config[DOMAIN])

    async def _async_stop(_event: Event) -> None:
        await handle.async_stop()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _async_stop)
    return True
