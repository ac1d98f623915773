"""Node removal and the Key Refresh procedure (the Configuration Manager's job).

Removing a node (MshPRT 1.1 §3.11.4, "trash-can attack"): Config Node Reset to the node
(device key), then the node leaves the database (its addresses go to the exclusion list),
then a Key Refresh replaces every NetKey the node knew, and the AppKeys bound to them, on
every remaining node. A node that cannot be reached for the reset is removed all the same:
once the refresh is done its keys open nothing.

Key Refresh, per NetKey (MshPRT 1.1 §3.11.4, §4.4.1.2):

* Phase 1, key distribution: new NetKey and AppKeys from ``secrets``; the database keeps the
  old ones in ``NetKey.old_key`` / ``AppKey.old_key`` with ``NetKey.phase = 1`` (written
  *before* anything is sent). Every database step is a command of the network store
  (:mod:`.network_store`); this module drives the procedure on the air. Every remaining node gets Config NetKey Update and Config
  AppKey Update (device key); ``NodeKey.updated`` records each confirmed key at once.
  Home Assistant transmits with the old keys and receives with both.
* Phase 2, use the new keys: once every node has both new keys, ``NetKey.phase = 2`` and Home
  Assistant transmits with the new keys; every node gets Key Refresh Phase Set (transition 2).
* Phase 3, revoke the old keys: every node gets Key Refresh Phase Set (transition 3); once
  all have answered, the old keys are dropped (``phase = 0``, no ``old_key``, every
  ``updated`` flag cleared).

Resumable: the configuration manager calls :func:`async_refresh_keys` whenever it is
connected and a refresh is in progress (after a restart too). Phase 1 skips what ``updated`` records; in phase 2 both
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
from typing import TYPE_CHECKING

from .exceptions import MeshCommunicationError
from .mesh.database import NetKey, Node
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
)
from .mesh.network import KeyRefreshPhase
from .mesh.provisioning import PROTOCOL_TIMEOUT
from .network_store import distributed, in_progress, node_key, refreshing, targets
from .node_config import ConfigurationRefusedError

if TYPE_CHECKING:
    from .client import MeshClient

_LOGGER = logging.getLogger(__name__)

OLD_KEYS_LIMIT = PROTOCOL_TIMEOUT + 10.0
"""How long the switch to the new keys waits for a device sent the old ones: its session
ends by its protocol timer (60 s without an answer) if nothing else ends it first."""

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


# --- removal ---------------------------------------------------------------------------------


async def async_reset_node(client: MeshClient, node: Node) -> bool:
    """Send Config Node Reset; False (and a log line) when the node cannot be reached."""
    try:
        await client.async_send(
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
            client.store.network.mesh_name,
        )
        return False
    _LOGGER.info("Mesh node %s was reset", node_label(node))
    return True


# --- the procedure ---------------------------------------------------------------------------


async def async_refresh_keys(client: MeshClient) -> None:
    """Run (or resume) every Key Refresh in progress, then an owed one; raises on a stuck node.

    Raises :class:`KeyRefreshStuckError` naming the nodes that did not take the current step,
    or :class:`~.exceptions.MeshNotConnectedError` when the connection is lost.
    """
    store = client.store
    network = store.network
    while True:
        for net_key in network.net_keys:
            if refreshing(net_key):
                await _async_refresh_subnet(client, net_key)
        extension = network.extension
        if extension is None or not extension.key_refresh_pending or in_progress(network):
            return
        await store.async_begin_key_refresh()
        _LOGGER.info("Mesh network %s: another key refresh starts", network.mesh_name)


async def _async_refresh_subnet(client: MeshClient, net_key: NetKey) -> None:
    store = client.store
    if net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION:
        # Until every node has them: a device provisioned meanwhile got the old keys
        # (key_for_new_node) and takes the new ones here, like the others. A device being
        # provisioned may get them too: the switch waits for it (async_use_new_keys).
        while True:
            while not distributed(store.network, net_key):
                await _async_each(client, net_key, 1, _async_distribute)
            if await store.async_use_new_keys(net_key):  # Home Assistant transmits with them
                break
            await store.async_wait_old_keys_settled(OLD_KEYS_LIMIT)
        _LOGGER.debug("NetKey index %d: every node has the new keys (phase 2)", net_key.index)
    await _async_each(client, net_key, 2, _async_use_new_keys)
    await _async_each(client, net_key, 3, _async_revoke_old_keys)
    await store.async_finish_key_refresh(net_key)
    _LOGGER.info(
        "Mesh network %s: key refresh of NetKey %d complete",
        store.network.mesh_name,
        net_key.index,
    )


async def _async_each(
    client: MeshClient,
    net_key: NetKey,
    phase: int,
    step: Callable[[MeshClient, Node, NetKey], Awaitable[None]],
) -> None:
    """Run ``step`` on every target node; raise naming those that did not take it."""
    stuck: list[Node] = []
    network = client.store.network
    for node in targets(network, net_key.index):
        if network.node_by_uuid(node.uuid) is None:
            continue  # removed while the step ran
        if not client.connected:
            raise KeyRefreshStuckError([node], phase)
        try:
            await step(client, node, net_key)
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


async def _async_distribute(client: MeshClient, node: Node, net_key: NetKey) -> None:
    """Phase 1: Config NetKey Update, then Config AppKey Update of every bound AppKey."""
    store = client.store
    own_key = node_key(node.net_keys, net_key.index)
    if own_key is not None and not own_key.updated:
        status = await client.async_send(
            node.unicast_address,
            ConfigNetKeyUpdate(net_key.index, net_key.key),
            device_key=True,
            expect=ConfigNetKeyStatus,
            background=True,
        )
        assert isinstance(status, ConfigNetKeyStatus)
        if status.status is not ConfigStatus.SUCCESS:
            raise _refused(node, "NetKey Update", status.status)
        await store.async_key_updated(node, net_key=net_key.index)
    for app_key in store.network.app_keys:
        if app_key.bound_net_key != net_key.index or app_key.old_key is None:
            continue
        node_app = node_key(node.app_keys, app_key.index)
        if node_app is None or node_app.updated:
            continue
        app_status = await client.async_send(
            node.unicast_address,
            ConfigAppKeyUpdate(net_key.index, app_key.index, app_key.key),
            device_key=True,
            expect=ConfigAppKeyStatus,
            background=True,
        )
        assert isinstance(app_status, ConfigAppKeyStatus)
        if app_status.status is not ConfigStatus.SUCCESS:
            raise _refused(node, "AppKey Update", app_status.status)
        await store.async_key_updated(node, app_key=app_key.index)


async def _async_set_phase(
    client: MeshClient, node: Node, net_key: NetKey, transition: int
) -> ConfigKeyRefreshPhaseStatus:
    status = await client.async_send(
        node.unicast_address,
        ConfigKeyRefreshPhaseSet(net_key.index, transition),
        device_key=True,
        expect=ConfigKeyRefreshPhaseStatus,
        background=True,
    )
    assert isinstance(status, ConfigKeyRefreshPhaseStatus)
    return status


async def _async_use_new_keys(client: MeshClient, node: Node, net_key: NetKey) -> None:
    """Phase 2: Key Refresh Phase Set, transition 2 (phase 0 = already revoked, see above)."""
    status = await _async_set_phase(client, node, net_key, 2)
    if status.phase in (KeyRefreshPhase.USING_NEW_KEYS, KeyRefreshPhase.NORMAL):
        return
    raise _refused(node, "Key Refresh Phase Set 2", status.status)


async def _async_revoke_old_keys(client: MeshClient, node: Node, net_key: NetKey) -> None:
    """Phase 3: Key Refresh Phase Set, transition 3 (back to phase 0 with the new keys)."""
    for _attempt in range(STALE_STATUS_ATTEMPTS):
        status = await _async_set_phase(client, node, net_key, 3)
        if status.status is ConfigStatus.SUCCESS and status.phase is KeyRefreshPhase.NORMAL:
            return
        if status.status is not ConfigStatus.SUCCESS:
            break
        # SUCCESS in phase 2: a late answer to a retransmitted transition 2 (same opcode,
        # same NetKey Index) was taken for this one. Ask again.
    raise _refused(node, "Key Refresh Phase Set 3", status.status)
