"""Node removal and the Key Refresh procedure (the Configuration Manager's job).

Removing a node (MshPRT 1.1 §3.11.4, "trash-can attack"): Config Node Reset to the node
(device key), then the node leaves the database (its addresses go to the exclusion list),
then a Key Refresh replaces every NetKey the node knew, and the AppKeys bound to them, on
every remaining node. A node that cannot be reached for the reset is removed all the same:
once the refresh is done its keys open nothing.

Key Refresh, per NetKey (MshPRT 1.1 §3.11.4, §4.4.1.2):

* Phase 1, key distribution: new NetKey and AppKeys from ``secrets``; the database keeps the
  old ones in ``NetKey.old_key`` / ``AppKey.old_key`` with ``NetKey.phase = 1`` (written
  *before* anything is sent). Every remaining node gets Config NetKey Update and Config
  AppKey Update (device key); ``NodeKey.updated`` records each confirmed key at once.
  Home Assistant transmits with the old keys and receives with both.
* Phase 2, use the new keys: once every node has both new keys, ``NetKey.phase = 2`` and Home
  Assistant transmits with the new keys; every node gets Key Refresh Phase Set (transition 2).
* Phase 3, revoke the old keys: every node gets Key Refresh Phase Set (transition 3); once
  all have answered, the old keys are dropped (``phase = 0``, no ``old_key``, every
  ``updated`` flag cleared).

Resumable: the runtime calls :func:`async_refresh_keys` whenever it is connected and a refresh
is in progress (after a restart too). Phase 1 skips what ``updated`` records; in phase 2 both
Phase Set transitions are idempotent on the node (a node that already revoked its old keys
answers transition 2 with phase 0, which can only happen after transition 3). A node that
does not answer stops the procedure in its phase (:class:`KeyRefreshStuckError`, a repair
issue in the runtime) until it answers or is removed: it is never silently skipped.

Provisioners' own nodes (Home Assistant's, a phone's) are not configured over the mesh: Home
Assistant switches its own keys locally, and another provisioner gets the new keys with the
next export of the network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
import secrets
from typing import TYPE_CHECKING

from .exceptions import MeshCommunicationError
from .mesh.database import KeyRefreshPhase, MeshNetwork, NetKey, Node, NodeKey
from .mesh.models.config import (
    ConfigAppKeyStatus,
    ConfigAppKeyUpdate,
    ConfigKeyRefreshPhaseSet,
    ConfigKeyRefreshPhaseStatus,
    ConfigNetKeyStatus,
    ConfigNetKeyUpdate,
    ConfigNodeReset,
    ConfigNodeResetStatus,
    ConfigStatus,
    KeyRefreshPhase as NodePhase,
)
from .node_config import ConfigurationRefusedError

if TYPE_CHECKING:
    from .runtime import MeshRuntime

_LOGGER = logging.getLogger(__name__)

# Config Node Reset: fewer retransmissions than a normal request, so that deleting the device
# of a node that is gone does not keep the user waiting long (the node is removed anyway).
NODE_RESET_TIMEOUT = 3.0
NODE_RESET_RETRIES = 1
# Phase Set 3 answered "phase 2" (a late status of transition 2): how often to ask.
STALE_STATUS_ATTEMPTS = 3


class KeyRefreshStuckError(MeshCommunicationError):
    """Nodes did not take a step of the Key Refresh: the procedure waits in its phase."""

    def __init__(self, nodes: list[Node], phase: int) -> None:
        """``nodes`` are the nodes that did not answer (or refused)."""
        self.nodes = nodes
        self.phase = phase
        super().__init__("key_refresh_stuck", nodes=", ".join(node_label(n) for n in nodes))


def node_label(node: Node) -> str:
    """A node's name for messages: its name and address."""
    address = f"{node.unicast_address:04X}"
    return f"{node.name} ({address})" if node.name else address


def in_progress(network: MeshNetwork) -> bool:
    """Whether a Key Refresh runs (any NetKey in phase 1 or 2)."""
    return any(_refreshing(k) for k in network.net_keys)


def work_pending(network: MeshNetwork) -> bool:
    """Whether the runtime has Key Refresh work: one in progress, or one owed."""
    ext = network.extension
    return in_progress(network) or (ext is not None and ext.key_refresh_pending)


def _refreshing(net_key: NetKey) -> bool:
    return net_key.old_key is not None or net_key.phase != KeyRefreshPhase.NORMAL


def _provisioner_uuids(network: MeshNetwork) -> set[object]:
    return {p.uuid for p in network.provisioners}


def targets(network: MeshNetwork, net_key_index: int) -> list[Node]:
    """The nodes a refresh of ``net_key_index`` configures (not provisioners, not excluded)."""
    provisioners = _provisioner_uuids(network)
    return [
        n
        for n in network.nodes
        if n.has_net_key(net_key_index) and not n.excluded and n.uuid not in provisioners
    ]


def _node_key(keys: list[NodeKey], index: int) -> NodeKey | None:
    return next((k for k in keys if k.index == index), None)


def begin(network: MeshNetwork, net_key_indexes: set[int] | None = None) -> list[int]:
    """Start phase 1 for the NetKeys in ``net_key_indexes`` (all when None) not yet refreshing.

    New keys come from ``secrets`` (MshPRT 1.1 §3.11.1). Only the database changes: the caller
    saves it, then mirrors the keys into its stack, before any message leaves. Returns the
    NetKey Indexes whose refresh started.
    """
    own = network.local_provisioner
    own_node = network.node_by_uuid(own.uuid) if own is not None else None
    started: list[int] = []
    for net_key in network.net_keys:
        if net_key_indexes is not None and net_key.index not in net_key_indexes:
            continue
        if _refreshing(net_key):
            continue
        net_key.old_key, net_key.key = net_key.key, secrets.token_bytes(16)
        net_key.phase = KeyRefreshPhase.KEY_DISTRIBUTION
        bound = [a for a in network.app_keys if a.bound_net_key == net_key.index]
        for app_key in bound:
            app_key.old_key, app_key.key = app_key.key, secrets.token_bytes(16)
        for node in network.nodes:
            mine = node is own_node  # Home Assistant holds the new keys from now on
            for key in node.net_keys:
                if key.index == net_key.index:
                    key.updated = mine
            for key in node.app_keys:
                if any(a.index == key.index for a in bound):
                    key.updated = mine
        started.append(net_key.index)
    return started


def _finish(network: MeshNetwork, net_key: NetKey) -> None:
    """Phase 3 done: the old keys are gone, the new ones are simply the keys."""
    net_key.old_key = None
    net_key.phase = KeyRefreshPhase.NORMAL
    bound = {a.index for a in network.app_keys if a.bound_net_key == net_key.index}
    for app_key in network.app_keys:
        if app_key.index in bound:
            app_key.old_key = None
    for node in network.nodes:
        for key in node.net_keys:
            if key.index == net_key.index:
                key.updated = False
        for key in node.app_keys:
            if key.index in bound:
                key.updated = False


def holds_new_keys(network: MeshNetwork, node: Node) -> bool:
    """Whether ``node`` may already hold the new keys of a running refresh."""
    for net_key in network.net_keys:
        if not _refreshing(net_key) or not node.has_net_key(net_key.index):
            continue
        if net_key.phase != KeyRefreshPhase.KEY_DISTRIBUTION:
            return True
        if any(k.updated for k in node.net_keys if k.index == net_key.index):
            return True
    return False


def node_added_during_refresh(network: MeshNetwork, node: Node) -> None:
    """A node provisioned during a refresh got the database's (new) NetKey: record it."""
    for key in node.net_keys:
        net_key = network.net_key(key.index)
        if net_key is not None and _refreshing(net_key):
            key.updated = True


# --- removal ---------------------------------------------------------------------------------


async def async_reset_node(runtime: MeshRuntime, node: Node) -> bool:
    """Send Config Node Reset; False (and a log line) when the node cannot be reached."""
    try:
        await runtime.async_send(
            node.unicast_address,
            ConfigNodeReset(),
            device_key=True,
            expect=ConfigNodeResetStatus,
            timeout=NODE_RESET_TIMEOUT,
            retries=NODE_RESET_RETRIES,
        )
    except MeshCommunicationError as err:
        _LOGGER.warning(
            "Mesh node %s could not be reset (%s); it is removed from network %s anyway, "
            "and the key refresh makes the keys it still holds useless",
            node_label(node),
            err,
            runtime.network.mesh_name,
        )
        return False
    _LOGGER.info("Mesh node %s was reset", node_label(node))
    return True


def remove_from_network(network: MeshNetwork, node: Node, *, iv_index: int) -> list[int]:
    """Drop ``node`` from the database and arrange the Key Refresh that evicts its keys.

    Returns the NetKey Indexes whose refresh started now. When a refresh already runs and the
    node may hold its new keys, another refresh is owed (``keyRefreshPending``, persisted).
    """
    compromised = holds_new_keys(network, node)
    indexes = {k.index for k in node.net_keys} or {0}
    network.remove_node(node.uuid, iv_index=iv_index)
    ext = network.extension
    if compromised and ext is not None:
        ext.key_refresh_pending = True
    if in_progress(network):
        return []  # the running refresh evicts it (or the owed one does)
    return begin(network, indexes)


# --- the procedure ---------------------------------------------------------------------------


async def async_refresh_keys(runtime: MeshRuntime) -> None:
    """Run (or resume) every Key Refresh in progress, then an owed one; raises on a stuck node.

    Raises :class:`KeyRefreshStuckError` naming the nodes that did not take the current step,
    or :class:`~.exceptions.MeshNotConnectedError` when the connection is lost.
    """
    network = runtime.network
    while True:
        for net_key in network.net_keys:
            if _refreshing(net_key):
                await _async_refresh_subnet(runtime, net_key)
        ext = network.extension
        if ext is None or not ext.key_refresh_pending or in_progress(network):
            return
        ext.key_refresh_pending = False
        begin(network)
        runtime.async_keys_changed()
        await runtime.async_save()
        _LOGGER.info("Mesh network %s: another key refresh starts", network.mesh_name)


async def _async_refresh_subnet(runtime: MeshRuntime, net_key: NetKey) -> None:
    network = runtime.network
    if net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION:
        await _async_each(runtime, net_key, 1, _async_distribute)
        net_key.phase = KeyRefreshPhase.USING_NEW_KEYS
        runtime.async_keys_changed()  # Home Assistant transmits with the new keys
        await runtime.async_save()
        index = net_key.index
        _LOGGER.debug("NetKey index %d: every node has the new keys (phase 2)", index)
    await _async_each(runtime, net_key, 2, _async_use_new_keys)
    await _async_each(runtime, net_key, 3, _async_revoke_old_keys)
    _finish(network, net_key)
    runtime.async_keys_changed()
    await runtime.async_save()
    _LOGGER.info(
        "Mesh network %s: key refresh of NetKey %d complete", network.mesh_name, net_key.index
    )


async def _async_each(
    runtime: MeshRuntime,
    net_key: NetKey,
    phase: int,
    step: Callable[[MeshRuntime, Node, NetKey], Awaitable[None]],
) -> None:
    """Run ``step`` on every target node; raise naming those that did not take it."""
    stuck: list[Node] = []
    for node in targets(runtime.network, net_key.index):
        if runtime.network.node_by_uuid(node.uuid) is None:
            continue  # removed while the step ran
        if not runtime.connected:
            raise KeyRefreshStuckError([node], phase)
        try:
            await step(runtime, node, net_key)
        except MeshCommunicationError as err:
            _LOGGER.info(
                "Key refresh phase %d: mesh node %s did not take the step: %s",
                phase,
                node_label(node),
                err,
            )
            stuck.append(node)
    if stuck:
        raise KeyRefreshStuckError(stuck, phase)


def _refused(node: Node, step: str, status: ConfigStatus) -> ConfigurationRefusedError:
    return ConfigurationRefusedError(node.unicast_address, step, status)


async def _async_distribute(runtime: MeshRuntime, node: Node, net_key: NetKey) -> None:
    """Phase 1: Config NetKey Update, then Config AppKey Update of every bound AppKey."""
    network = runtime.network
    own_key = _node_key(node.net_keys, net_key.index)
    if own_key is not None and not own_key.updated:
        status = await runtime.async_send(
            node.unicast_address,
            ConfigNetKeyUpdate(net_key.index, net_key.key),
            device_key=True,
            expect=ConfigNetKeyStatus,
            background=True,
        )
        assert isinstance(status, ConfigNetKeyStatus)
        if status.status is not ConfigStatus.SUCCESS:
            raise _refused(node, "NetKey Update", status.status)
        own_key.updated = True
        await runtime.async_save()
    for app_key in network.app_keys:
        if app_key.bound_net_key != net_key.index or app_key.old_key is None:
            continue
        node_app = _node_key(node.app_keys, app_key.index)
        if node_app is None or node_app.updated:
            continue
        app_status = await runtime.async_send(
            node.unicast_address,
            ConfigAppKeyUpdate(net_key.index, app_key.index, app_key.key),
            device_key=True,
            expect=ConfigAppKeyStatus,
            background=True,
        )
        assert isinstance(app_status, ConfigAppKeyStatus)
        if app_status.status is not ConfigStatus.SUCCESS:
            raise _refused(node, "AppKey Update", app_status.status)
        node_app.updated = True
        await runtime.async_save()


async def _async_set_phase(
    runtime: MeshRuntime, node: Node, net_key: NetKey, transition: int
) -> ConfigKeyRefreshPhaseStatus:
    status = await runtime.async_send(
        node.unicast_address,
        ConfigKeyRefreshPhaseSet(net_key.index, transition),
        device_key=True,
        expect=ConfigKeyRefreshPhaseStatus,
        background=True,
    )
    assert isinstance(status, ConfigKeyRefreshPhaseStatus)
    return status


async def _async_use_new_keys(runtime: MeshRuntime, node: Node, net_key: NetKey) -> None:
    """Phase 2: Key Refresh Phase Set, transition 2 (phase 0 = already revoked, see above)."""
    status = await _async_set_phase(runtime, node, net_key, 2)
    if status.phase in (NodePhase.SECOND, NodePhase.NORMAL):
        return
    raise _refused(node, "Key Refresh Phase Set 2", status.status)


async def _async_revoke_old_keys(runtime: MeshRuntime, node: Node, net_key: NetKey) -> None:
    """Phase 3: Key Refresh Phase Set, transition 3 (back to phase 0 with the new keys)."""
    for _attempt in range(STALE_STATUS_ATTEMPTS):
        status = await _async_set_phase(runtime, node, net_key, 3)
        if status.status is ConfigStatus.SUCCESS and status.phase is NodePhase.NORMAL:
            return
        if status.status is not ConfigStatus.SUCCESS:
            break
        # SUCCESS in phase 2: a late answer to a retransmitted transition 2 (same opcode,
        # same NetKey Index) was taken for this one. Ask again.
    raise _refused(node, "Key Refresh Phase Set 3", status.status)
