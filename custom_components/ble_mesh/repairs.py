"""Repair flows: the person confirms that a node removed without being reset was reset by hand.

``node_not_reset`` is the only fixable issue; the others clear themselves once Home Assistant
reaches the node.
"""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """A confirmation: the issue goes once the person has reset the node (or it is gone)."""
    return ConfirmRepairFlow()
