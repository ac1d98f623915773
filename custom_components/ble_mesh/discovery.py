"""Which devices the integration's page offers to add, kept true as nodes come and go.

A device that advertises the Mesh Provisioning service (0x1827) gets a discovery flow
(``config_flow.py``) whose unique ID is its Device UUID: a card under *Discovered* on the
*Bluetooth Mesh* page. Home Assistant's Bluetooth matcher starts such a flow only when an
address shows a service it has not shown before (notes §2.2), and its scanners merge what a
device advertised over time. So the page has to be told when the truth changes.

* A node was reset (Config Node Reset when it is removed): :func:`async_rediscover` asks
  the matcher to look at its address again, so its card comes back at once, although the
  scanner's merged advertisement shows nothing new.
"""

from __future__ import annotations

from typing import Final

from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant, callback

STEP_OFFER: Final = "bluetooth_confirm"
"""The discovery flow's offer to add the device to a network."""
STEP_OFFER_NEW_NETWORK: Final = "bluetooth_new_network"
"""The same offer while no network is loaded: adding the device creates one."""
STEP_OFFER_AGAIN: Final = "bluetooth_readd"
"""The offer to add a node again that was reset by hand: it replaces the node's record."""


@callback
def async_rediscover(hass: HomeAssistant, address: str | None) -> None:
    """Have Home Assistant's Bluetooth matcher look at ``address`` as if new."""
    if address is not None:
        bluetooth.async_rediscover_address(hass, address)
