"""Repair flows of the fixable issues.

``insecure_node_*`` (:mod:`.node_security`): the person confirms, and the node added without
authentication is removed (Config Node Reset, removal, Key Refresh of the others) and its device
goes, so that it can be added again, with authentication, from *Discovered*.
``node_not_reset``: a plain confirmation that a node removed without being reset was reset by
hand. The other issues clear themselves once Home Assistant reaches the node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .compat import device_by_identifier, vol
from .devices import node_identifier
from .node_security import ISSUE_INSECURE_NODE

if TYPE_CHECKING:
    from homeassistant.components.repairs import RepairsFlowResult

    from .runtime import MeshConfigEntry


class InsecureNodeRepairFlow(RepairsFlow):
    """Remove a node added without authentication, so that it can be added again with it."""

    def __init__(self, entry_id: str, node_uuid: str, placeholders: dict[str, str]) -> None:
        """The node (Device UUID hex) of the network entry ``entry_id``; the issue's words."""
        self._entry_id = entry_id
        self._node_uuid = UUID(hex=node_uuid)
        self._placeholders = placeholders

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """The only step: what removing does, and why."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Explain; on submit remove the node and its device."""
        entry: MeshConfigEntry | None = self.hass.config_entries.async_get_entry(self._entry_id)
        issue = self._placeholders
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded", description_placeholders=issue)
        runtime = entry.runtime_data
        node = runtime.network.node_by_uuid(self._node_uuid)
        if user_input is None or node is None:
            if node is None:  # removed meanwhile: nothing left to fix
                return self.async_create_entry(data={})
            return self.async_show_form(
                step_id="confirm", data_schema=vol.Schema({}), description_placeholders=issue
            )
        registry = dr.async_get(self.hass)
        device = device_by_identifier(
            registry, node_identifier(runtime.mesh_uuid, node), entry.entry_id
        )
        await runtime.nodes.async_remove_node(node)
        if device is not None:
            registry.async_remove_device(device.id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The flow of a fixable issue (see the module)."""
    if issue_id.startswith(f"{ISSUE_INSECURE_NODE}_") and data is not None:
        placeholders = {"name": str(data["name"]), "network": str(data["network"])}
        return InsecureNodeRepairFlow(str(data["entry_id"]), str(data["node"]), placeholders)
    return ConfirmRepairFlow()
