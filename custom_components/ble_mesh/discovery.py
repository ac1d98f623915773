"""Which devices the integration's page offers to add, kept true as nodes come and go.

A device that advertises the Mesh Provisioning service (0x1827) gets a discovery flow
(``config_flow.py``) whose unique ID is its Device UUID: a card under *Discovered* on the
*Bluetooth Mesh* page. Home Assistant's Bluetooth matcher starts such a flow only when an
address shows a service it has not shown before (notes §2.2), and its scanners merge what a
device advertised over time. So the page has to be told when the truth changes:

* A device became a node (a dialog added it, or a network loaded with nodes the page still
  offers, e.g. one set up after the device was seen): :func:`async_end_offers` ends the
  flows that offer it and asks the matcher to look at its address again, so that a device
  that is in fact unprovisioned (reset by hand) comes back as an offer to add it again.
* A node was reset (Config Node Reset when it is removed): :func:`async_rediscover` asks
  the matcher to look at its address again, so its card comes back at once, although the
  scanner's merged advertisement shows nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from uuid import UUID

from homeassistant.components import bluetooth
from homeassistant.config_entries import SOURCE_BLUETOOTH, SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN

STEP_OFFER: Final = "bluetooth_confirm"
"""The discovery flow's offer to add the device to a network."""
STEP_OFFER_NEW_NETWORK: Final = "bluetooth_new_network"
"""The same offer while no network is loaded: adding the device creates one."""
STEP_OFFER_AGAIN: Final = "bluetooth_readd"
"""The offer to add a node again that was reset by hand: it replaces the node's record."""
STEP_REMOTE_OFFER: Final = "remote_confirm"
"""The offer of a device found through a node's Remote Provisioning Server (remote_scan.py)."""
ADD_OFFERS: Final = frozenset({STEP_OFFER, STEP_OFFER_NEW_NETWORK, STEP_REMOTE_OFFER})
"""Steps at which a flow offers a device as new; nobody has started to provision it yet."""


@callback
def async_end_offers(hass: HomeAssistant, device_uuids: Iterable[UUID]) -> None:
    """End the flows that offer one of these devices (now nodes) as a new device.

    The matcher then sees each address again: the flow it starts decides from the network
    as it is now (a node whose advertisement shows it unprovisioned is offered again).
    """
    wanted = {u.hex for u in device_uuids}
    flows = hass.config_entries.flow
    for flow in flows.async_progress_by_handler(DOMAIN):
        context = flow["context"]
        if (
            context.get("source") not in (SOURCE_BLUETOOTH, SOURCE_INTEGRATION_DISCOVERY)
            or context.get("unique_id") not in wanted
            or flow.get("step_id") not in ADD_OFFERS
        ):
            continue
        flows.async_abort(flow["flow_id"])
        if (key := context.get("discovery_key")) is not None and isinstance(key.key, str):
            async_rediscover(hass, key.key)


@callback
def async_rediscover(hass: HomeAssistant, address: str | None) -> None:
    """Have Home Assistant's Bluetooth matcher look at ``address`` as if new.

    ``bluetooth.async_rediscover_address`` (2025.4 and 2026 alike) forgets what the matcher
    saw at the address and starts the matching discovery flows at once from the last
    advertisement the Bluetooth stack holds for it (merged, so still carrying the Device UUID).
    """
    if address is not None:
        bluetooth.async_rediscover_address(hass, address)
