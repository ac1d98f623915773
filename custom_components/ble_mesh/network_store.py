"""The single writer of one network's database (the Mesh Configuration Database).

Every change to the network goes through a command of :class:`NetworkStore`: it changes the
database, saves it, then tells the listeners (the runtime: devices, the node's keys, the proxy
filter, the platforms), in that order and in one place. Commands run one at a time (a lock),
so two provisioning dialogs, a group being created and a Key Refresh step cannot interleave
half-made changes. Everyone may *read* :attr:`NetworkStore.network`; nobody else writes it.

Addresses are reserved before they are used on the air: a provisioning dialog reserves the
unicast range it is about to send in Provisioning Data (:meth:`NetworkStore.async_reserve_unicast`,
written to the database before it returns), so a second dialog gets another range, and a
device that received the address is never given to anyone else even if Home Assistant stops
before the node is recorded. The reservation ends with :meth:`~NetworkStore.async_commit_node`
or :meth:`~NetworkStore.async_release`. Group addresses are reserved the same way while the
members are subscribed (in memory: nothing was sent that names them yet).

The Key Refresh's database steps (MshPRT 1.1 §3.11.4, with MshCDB's ``oldKey``, ``phase`` and
per-node ``updated`` flags) are commands too; :mod:`.key_refresh` drives the procedure on the
air and calls them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
import logging
import secrets
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .mesh.database import (
    AllocationError,
    CdbAppKey,
    Group,
    MeshNetwork,
    NetKey,
    Node,
    NodeKey,
    Scene,
)
from .mesh.network import IvIndexState, KeyRefreshPhase, NetworkKeyring
from .mesh.node import MeshNode, NodeState
from .storage import MeshStore, now_iso

_LOGGER = logging.getLogger(__name__)


class Change(Enum):
    """What a command changed (what listeners are told)."""

    NODE_ADDED = "node_added"
    NODE_CHANGED = "node_changed"
    NODE_CONFIGURED = "node_configured"
    NODE_REMOVED = "node_removed"
    KEYS_CHANGED = "keys_changed"
    GROUP_ADDED = "group_added"
    GROUP_REMOVED = "group_removed"
    SCENES_CHANGED = "scenes_changed"


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One change, for listeners."""

    change: Change
    node: Node | None = None
    group: Group | None = None
    address: int | None = None


@dataclass(frozen=True, slots=True)
class AddressReservation:
    """Unicast addresses ``first .. first + count - 1``, held for a device being provisioned."""

    first: int
    count: int

    @property
    def last(self) -> int:
        """The last address of the range."""
        return self.first + self.count - 1


type StoreListener = Callable[[StoreChange], None]


class NetworkStore:
    """The network database and the only way to change it (see the module's notes)."""

    def __init__(self, hass: HomeAssistant, store: MeshStore, network: MeshNetwork) -> None:
        """Own ``network``; ``store`` writes it."""
        self._hass = hass
        self._store = store
        self._network = network
        self._lock = asyncio.Lock()
        self._listeners: list[StoreListener] = []
        self._group_reservations: set[int] = set()
        self._old_keys_given: set[AddressReservation] = set()
        """Devices being provisioned that were sent a refresh's old keys (not recorded yet)."""
        self._none_given = asyncio.Event()
        self._none_given.set()

    @property
    def network(self) -> MeshNetwork:
        """The database, to read (write it with the commands only)."""
        return self._network

    @property
    def files(self) -> MeshStore:
        """The files behind it (the node state shares them)."""
        return self._store

    @callback
    def async_add_listener(self, listener: StoreListener) -> CALLBACK_TYPE:
        """Call ``listener(change)`` after every saved change."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    async def _async_commit(self, *changes: StoreChange) -> None:
        """Save (the caller holds the lock), then tell the listeners."""
        self._network.touch(now_iso())
        await self._store.async_save(self._network)
        for change in changes:
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    _LOGGER.exception("Error in a mesh network store listener")

    # --- unicast addresses and nodes ---------------------------------------------------------

    def _local_provisioner_uuid(self) -> Any:
        provisioner = self._network.local_provisioner
        if provisioner is None:
            raise AllocationError("Home Assistant is not a provisioner of this network")
        return provisioner.uuid

    async def async_reserve_unicast(
        self, element_count: int, *, iv_index: int
    ) -> AddressReservation:
        """Reserve the lowest free range for a node of ``element_count`` elements (on disk)."""
        async with self._lock:
            network = self._network
            first = network.allocate_unicast(
                self._local_provisioner_uuid(), element_count, iv_index=iv_index
            )
            reservation = AddressReservation(first, element_count)
            network.reserve_addresses(reservation.first, reservation.last)
            await self._async_commit()
            return reservation

    @callback
    def old_keys_given(self, reservation: AddressReservation) -> None:
        """The device provisioned at ``reservation`` was sent a Key Refresh's old keys (phase
        1): the refresh must not switch to the new ones before it is recorded or released."""
        self._old_keys_given.add(reservation)
        self._none_given.clear()

    def _settled(self, reservation: AddressReservation) -> None:
        self._old_keys_given.discard(reservation)
        if not self._old_keys_given:
            self._none_given.set()

    async def async_wait_old_keys_settled(self, limit: float) -> None:
        """Wait until every device sent the old keys is recorded or released, ``limit``
        seconds at most: a provisioning session cannot outlive its protocol timer, so one
        still listed by then is gone (its dialog left open, say) and no longer counts."""

        @callback
        def expire(_now: Any) -> None:
            if self._old_keys_given:
                _LOGGER.debug("No longer waiting for %d device(s)", len(self._old_keys_given))
                self._old_keys_given.clear()
                self._none_given.set()

        cancel = async_call_later(self._hass, limit, expire)
        try:
            await self._none_given.wait()
        finally:
            cancel()

    async def async_release(self, reservation: AddressReservation) -> None:
        """The device was not provisioned: its range is free again."""
        try:
            async with self._lock:
                self._network.release_addresses(reservation.first, reservation.last)
                await self._async_commit()
        finally:
            self._settled(reservation)

    async def async_commit_node(
        self,
        node: Node,
        *,
        iv_index: int,
        reservation: AddressReservation | None = None,
        replaces: Node | None = None,
    ) -> None:
        """Record a provisioned node (at its reserved range), save, tell the listeners.

        ``replaces``: the record of the same device from before it was reset by hand. It goes
        in the same change, and only now that the device is provisioned again: its addresses
        join the exclusion list as any removed node's do (the new node got a new, reserved
        range and is configured afresh); its device in Home Assistant stays (same Device UUID).
        """
        if replaces is not None and reservation is None:
            raise AllocationError("a node that replaces another needs a reserved range")
        try:
            await self._async_commit_node(node, iv_index, reservation, replaces)
        finally:
            if reservation is not None:
                self._settled(reservation)  # recorded, or never will be: not provisioning

    async def _async_commit_node(
        self,
        node: Node,
        iv_index: int,
        reservation: AddressReservation | None,
        replaces: Node | None,
    ) -> None:
        async with self._lock:
            network = self._network
            if reservation is not None:
                if (reservation.first, reservation.last) != (
                    node.unicast_address,
                    node.last_address,
                ):
                    raise AllocationError("the node does not occupy the range reserved for it")
                network.release_addresses(reservation.first, reservation.last)
            stale = network.node_by_uuid(replaces.uuid) if replaces is not None else None
            if stale is not None:
                # The reserved range was free of nodes and excluded addresses and held since,
                # so adding the node below cannot fail once the old record is gone.
                network.remove_node(stale.uuid, iv_index=iv_index)
            network.add_node(node, iv_index=iv_index)
            changes = [StoreChange(Change.NODE_ADDED, node=node)]
            if stale is not None:
                changes.insert(0, StoreChange(Change.NODE_REMOVED, node=stale))
            await self._async_commit(*changes)

    async def async_update_node(self, node: Node, change: Callable[[Node], None]) -> None:
        """Record something about ``node`` (composition, keys, bindings, subscriptions...)."""
        async with self._lock:
            if self._network.node_by_uuid(node.uuid) is None:
                return  # removed meanwhile: nothing to record
            change(node)
            await self._async_commit(StoreChange(Change.NODE_CHANGED, node=node))

    async def async_node_configured(self, node: Node) -> None:
        """The automatic configuration of ``node`` finished."""
        async with self._lock:
            if self._network.node_by_uuid(node.uuid) is None:
                return
            node.config_complete = True
            await self._async_commit(StoreChange(Change.NODE_CONFIGURED, node=node))

    async def async_remove_node(self, node: Node, *, iv_index: int) -> list[int]:
        """Drop ``node`` and arrange the Key Refresh that evicts its keys (MshPRT 1.1 §3.11.4).

        Returns the NetKey Indexes whose refresh started now. When a refresh already runs and
        the node may hold its new keys, another refresh is owed (``keyRefreshPending``).
        """
        async with self._lock:
            network = self._network
            if network.node_by_uuid(node.uuid) is None:
                return []
            compromised = holds_new_keys(network, node)
            indexes = {k.index for k in node.net_keys} or {0}
            network.remove_node(node.uuid, iv_index=iv_index)
            extension = network.extension
            if compromised and extension is not None:
                extension.key_refresh_pending = True
            started = [] if in_progress(network) else _begin(network, indexes)
            await self._async_commit(
                StoreChange(Change.NODE_REMOVED, node=node), StoreChange(Change.KEYS_CHANGED)
            )
            return started

    # --- groups and scenes --------------------------------------------------------------------

    def reserve_group_address(self) -> int:
        """A free group address, held (in memory) while the members are subscribed to it."""
        network = self._network
        taken = self._group_reservations
        provisioner = self._local_provisioner_uuid()
        address = network.allocate_group_address(provisioner, besides=taken)
        taken.add(address)
        return address

    def release_group_address(self, address: int) -> None:
        """The group was not created."""
        self._group_reservations.discard(address)

    async def async_add_group(self, name: str, address: int) -> Group:
        """Record a group whose members are subscribed (its address was reserved)."""
        async with self._lock:
            group = self._network.add_group(name, address)
            self._group_reservations.discard(address)
            await self._async_commit(StoreChange(Change.GROUP_ADDED, group=group, address=address))
            return group

    async def async_remove_group(self, group: Group) -> None:
        """Forget a group (the members were told, or are named as unreachable)."""
        async with self._lock:
            address = group.destination
            self._network.remove_group(group.address)
            await self._async_commit(StoreChange(Change.GROUP_REMOVED, address=address))

    async def async_store_scene(
        self, number: int, addresses: list[int], name: str | None = None
    ) -> Scene:
        """Record that ``addresses`` store scene ``number`` (MshCDB scenes)."""
        async with self._lock:
            network = self._network
            scene = network.scene(number)
            if scene is None:
                scene = network.add_scene(name or f"Scene {number}", number, addresses)
            else:
                scene.addresses = sorted({*scene.addresses, *addresses})
                if name is not None:
                    scene.name = name
            await self._async_commit(StoreChange(Change.SCENES_CHANGED))
            return scene

    # --- Key Refresh (MshPRT 1.1 §3.11.4) -------------------------------------------------------

    async def async_begin_key_refresh(self, indexes: set[int] | None = None) -> list[int]:
        """Phase 1 with new keys for these NetKeys (all when None) not yet refreshing."""
        async with self._lock:
            extension = self._network.extension
            if indexes is None and extension is not None:
                extension.key_refresh_pending = False  # the owed refresh is this one
            started = _begin(self._network, indexes)
            await self._async_commit(StoreChange(Change.KEYS_CHANGED))
            return started

    async def async_key_updated(
        self, node: Node, *, net_key: int | None = None, app_key: int | None = None
    ) -> None:
        """``node`` confirmed the new NetKey or AppKey of a running refresh."""

        def mark(changed: Node) -> None:
            keys = changed.net_keys if net_key is not None else changed.app_keys
            index = net_key if net_key is not None else app_key
            for key in keys:
                if key.index == index:
                    key.updated = True

        await self.async_update_node(node, mark)

    async def async_use_new_keys(self, net_key: NetKey) -> bool:
        """Phase 2: every node has the new keys; Home Assistant transmits with them.

        Checked and switched in one step (False: not now). A node committed since the caller
        looked may hold only the old keys, and so may a device being provisioned that was
        sent them (:meth:`old_keys_given`): switching then would cut them off, Home
        Assistant's next proxy node among them.
        """
        async with self._lock:
            if self._old_keys_given or not distributed(self._network, net_key):
                return False
            net_key.phase = KeyRefreshPhase.USING_NEW_KEYS
            await self._async_commit(StoreChange(Change.KEYS_CHANGED))
            return True

    async def async_finish_key_refresh(self, net_key: NetKey) -> None:
        """Phase 3 done: the old keys are gone, the new ones are simply the keys."""
        async with self._lock:
            network = self._network
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
            await self._async_commit(StoreChange(Change.KEYS_CHANGED))

    async def async_save(self) -> None:
        """Write the database as it is (a settings change that touches nothing else)."""
        async with self._lock:
            await self._async_commit()


async def async_create_network(
    hass: HomeAssistant, network: MeshNetwork, *, iv: IvIndexState | None = None
) -> None:
    """Write a new network's database before its config entry exists (the first writer).

    ``iv``: the IV Index to start Home Assistant's node with (an imported network; a Mesh CDB
    file carries none, so it may be unknown until the first authenticated beacon). None: a new
    network, which starts at IV Index 0.
    """
    store = MeshStore(hass, network.mesh_uuid.hex)
    await store.async_save_new(network)
    if iv is not None:
        await store.async_save_state(NodeState(iv, {"iv_index": iv.tx_iv_index, "seq": 0}, {}))


# --- Key Refresh state, read from the database -------------------------------------------------


def refreshing(net_key: NetKey) -> bool:
    """Whether ``net_key`` is in a Key Refresh (phase 1 or 2, or old key still held)."""
    return net_key.old_key is not None or net_key.phase != KeyRefreshPhase.NORMAL


def key_for_new_node(net_key: NetKey) -> tuple[bytes, bool]:
    """The NetKey and Key Refresh flag to provision a device with now (MshPRT 1.1 §3.11.4).

    A new node must hear the network at once, so it gets the key the network transmits with:
    in phase 1 the old key (flag 0; the refresh's own distribution then gives it the new key,
    like every other node), from phase 2 on the new key with the Key Refresh flag set.
    """
    if net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION and net_key.old_key is not None:
        return net_key.old_key, False
    return net_key.key, net_key.phase == KeyRefreshPhase.USING_NEW_KEYS


def app_key_for_new_node(network: MeshNetwork, app_key: CdbAppKey) -> tuple[bytes, bool]:
    """The AppKey to add to a node now, and whether it is the new key of a running refresh.

    As for the NetKey (:func:`key_for_new_node`): the old key while its NetKey is in phase 1
    (the refresh's distribution updates it), the current key otherwise.
    """
    net_key = network.net_key(app_key.bound_net_key)
    if app_key.old_key is None:
        return app_key.key, False
    if net_key is not None and net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION:
        return app_key.old_key, False
    return app_key.key, True


def in_progress(network: MeshNetwork) -> bool:
    """Whether a Key Refresh runs (any NetKey in phase 1 or 2)."""
    return any(refreshing(k) for k in network.net_keys)


def work_pending(network: MeshNetwork) -> bool:
    """Whether there is Key Refresh work: one in progress, or one owed."""
    extension = network.extension
    return in_progress(network) or (extension is not None and extension.key_refresh_pending)


def targets(network: MeshNetwork, net_key_index: int) -> list[Node]:
    """The nodes a refresh of ``net_key_index`` configures (not provisioners, not excluded)."""
    return [n for n in network.device_nodes() if n.has_net_key(net_key_index) and not n.excluded]


def distributed(network: MeshNetwork, net_key: NetKey) -> bool:
    """Whether every target node confirmed the new NetKey and its bound AppKeys (phase 1)."""
    app_keys = {
        a.index
        for a in network.app_keys
        if a.bound_net_key == net_key.index and a.old_key is not None
    }
    for node in targets(network, net_key.index):
        keys = [k for k in node.net_keys if k.index == net_key.index]
        keys += [k for k in node.app_keys if k.index in app_keys]
        if not all(k.updated for k in keys):
            return False
    return True


def holds_new_keys(network: MeshNetwork, node: Node) -> bool:
    """Whether ``node`` may already hold the new keys of a running refresh."""
    for net_key in network.net_keys:
        if not refreshing(net_key) or not node.has_net_key(net_key.index):
            continue
        if net_key.phase != KeyRefreshPhase.KEY_DISTRIBUTION:
            return True
        if any(k.updated for k in node.net_keys if k.index == net_key.index):
            return True
    return False


def node_key(keys: list[NodeKey], index: int) -> NodeKey | None:
    """The entry of key ``index`` in a node's key list."""
    return next((k for k in keys if k.index == index), None)


def _begin(network: MeshNetwork, net_key_indexes: set[int] | None) -> list[int]:
    """Phase 1 in the database: new keys from ``secrets`` (MshPRT 1.1 §3.11.1)."""
    own = network.local_provisioner
    own_node = network.node_by_uuid(own.uuid) if own is not None else None
    started: list[int] = []
    for net_key in network.net_keys:
        if net_key_indexes is not None and net_key.index not in net_key_indexes:
            continue
        if refreshing(net_key):
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


# --- the database as the engine's node holds it ---------------------------------------


def load_keys(node: MeshNode, network: MeshNetwork) -> None:
    """Hand the database's NetKeys and AppKeys to the node, Key Refresh state included.

    During a refresh the database holds the new key in ``key`` and the old one in
    ``old_key`` (MshCDB); the node holds the old key with the new one beside it, in the same
    phase, so it transmits with the old keys in phase 1 and with the new ones in phase 2
    (NetKey and bound AppKeys alike, MshPRT 1.1 §3.11.4), and receives with both.
    """
    for net_key in network.net_keys:
        refreshing = net_key.old_key is not None
        node.set_net_key(
            net_key.index,
            net_key.old_key or net_key.key,
            new_key=net_key.key if refreshing else None,
            phase=KeyRefreshPhase(int(net_key.phase)) if refreshing else KeyRefreshPhase.NORMAL,
        )
    for app_key in network.app_keys:
        node.set_app_key(
            app_key.index,
            app_key.old_key or app_key.key,
            net_key_index=app_key.bound_net_key,
            new_key=app_key.key if app_key.old_key is not None else None,
        )


def node_addresses(network: MeshNetwork) -> list[int]:
    """Every element address of the network's nodes (the sources the replay list keeps)."""
    return [address for node in network.nodes for address in node.addresses]


def build_mesh_node(network: MeshNetwork, own: Node, store: MeshStore) -> MeshNode:
    """Home Assistant's node (``own``) as the engine runs it: state, keys, device keys."""
    groups = {g.destination for g in network.groups if g.destination != 0}
    node = MeshNode(
        address=own.unicast_address,
        element_count=own.element_count,
        net_keys=NetworkKeyring(),
        state=store.node_state,
        subscriptions=None,  # a controller listens to every group
        proxy_filter=groups,
        known_sources=node_addresses(network),
    )
    load_keys(node, network)
    for other in network.nodes:
        if other is not own and other.device_key is not None:
            node.set_device_key(other.unicast_address, other.element_count, other.device_key)
    return node
