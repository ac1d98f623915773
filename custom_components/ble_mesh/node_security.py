"""Nodes added without authentication: shown on their device page and in Repairs.

A node provisioned with No OOB (the person confirmed the warning) or imported with MshCDB
``"security": "insecure"`` had nothing prove that its key exchange was with the device and not
with a man-in-the-middle in Bluetooth range (MshPRT 1.1 §5.4.2.4: without OOB authentication
the provisioning is not protected against it), who would then hold the network's keys. The
database records it (:attr:`~.mesh.database.Node.security`); two places show it, each with
its own role:

* the diagnostic sensor "Authentication" (:mod:`.sensor`), on every node's device page:
  the fact, for authenticated and unauthenticated nodes alike, where a person looks at a
  device;
* one repair issue per unauthenticated node (here): the call to act. Its fix flow
  (:mod:`.repairs`) removes the node (Config Node Reset, then the Key Refresh that makes any
  copied key useless) so that it can be added again with authentication. A person who keeps
  the node as it is (a device with no OOB method at all) ignores the issue.
"""

from __future__ import annotations

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .mesh.database import MeshNetwork, Node
from .network_store import Change, NetworkStore, StoreChange

ISSUE_INSECURE_NODE = "insecure_node"
"""The translation key of the issue, and the start of its issue ids."""


def insecure_node_issue_id(entry_id: str, node: Node) -> str:
    """The repair issue of an unauthenticated node (one per node and network entry)."""
    return f"{ISSUE_INSECURE_NODE}_{entry_id}_{node.uuid.hex}"


@callback
def async_sync_insecure_node_issues(
    hass: HomeAssistant, entry_id: str, network: MeshNetwork
) -> None:
    """One issue per unauthenticated node of ``network``; none for nodes that are gone."""
    wanted = {
        insecure_node_issue_id(entry_id, node): node
        for node in network.device_nodes()
        if not node.is_authenticated
    }
    async_delete_insecure_node_issues(hass, entry_id, keep=set(wanted))
    for issue_id, node in wanted.items():
        placeholders = {
            "name": node.name or f"{node.unicast_address:04X}",
            "network": network.mesh_name,
        }
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_INSECURE_NODE,
            translation_placeholders=placeholders,
            # What the fix flow needs (repairs.py), the words too: the network may be unloaded.
            data={"entry_id": entry_id, "node": node.uuid.hex, **placeholders},
        )


@callback
def async_delete_insecure_node_issues(
    hass: HomeAssistant, entry_id: str, keep: set[str] | None = None
) -> None:
    """Delete the network's unauthenticated-node issues (but those in ``keep``)."""
    prefix = f"{ISSUE_INSECURE_NODE}_{entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix) and issue_id not in (keep or ()):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_track_insecure_nodes(
    hass: HomeAssistant, entry_id: str, store: NetworkStore
) -> CALLBACK_TYPE:
    """Raise the issues now and whenever a node is added or removed; returns the stop."""
    async_sync_insecure_node_issues(hass, entry_id, store.network)

    @callback
    def _on_change(change: StoreChange) -> None:
        if change.change in (Change.NODE_ADDED, Change.NODE_REMOVED):
            async_sync_insecure_node_issues(hass, entry_id, store.network)

    return store.async_add_listener(_on_change)
