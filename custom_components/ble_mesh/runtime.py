"""Runtime of one mesh network config entry (``entry.runtime_data``).

:class:`MeshRuntime` is Home Assistant's node in the mesh network: it drives the engine's
:class:`~.mesh.node.MeshNode` (the whole protocol: SEQ, encryption, segmentation, requests and
retransmissions, the proxy filter, beacons, the IV Update), holds the one GATT connection to a
proxy node (:mod:`.proxy_connection`), persists the node's state (:mod:`.storage`) and runs
the automatic configuration of new nodes (:mod:`.node_config`) and the Key Refresh
(:mod:`.key_refresh`). It does I/O, timers and Home Assistant glue; no protocol byte is built
or parsed here.

Messaging API (what entities use)
---------------------------------

``await runtime.async_send(dst, message, *, device_key=False, expect=None, timeout=5.0,
retries=2, background=False) -> Message | None``
    Send ``message`` (an engine :class:`~.mesh.access.Message`) with AppKey 0, or with the
    device key of the node owning ``dst`` when ``device_key``, through the proxy. With
    ``expect`` (a response class, e.g. ``GenericOnOffStatus``) wait for the matching response
    from ``dst`` (any source for a group) and return it; unanswered attempts are retransmitted
    ``retries`` times, each ``timeout`` seconds apart: the same message, so the same TID, never
    a second transaction. Without ``expect`` return None once written.
    Raises :class:`~.exceptions.MeshNotConnectedError` when no proxy node is reachable,
    :class:`~.exceptions.MeshTimeoutError` when nothing answered,
    :class:`~.exceptions.MeshSendError` when it cannot be sent (no key for ``dst``).
    ``background=True`` is for work nobody waits for (state reads, node configuration, Key
    Refresh): it is handed to the node only when nothing else waits to be written, so a
    user's command never queues behind it.

``runtime.async_subscribe(callback, *, src=None) -> CALLBACK_TYPE``
    ``callback(src, message)`` for every access message received and decoded, once: responses
    to our requests and publications alike (a wall switch, a status a node publishes to us).
    With ``src``, only the messages from that address. Call the result to unsubscribe.

``runtime.async_add_connection_listener(callback) -> CALLBACK_TYPE``, ``runtime.connected``
and ``runtime.available``
    ``connected`` is True while a proxy node is reachable (the link is up); ``available`` is
    True while it is, or while the link is released on purpose (below): what entities show.
    ``callback()`` runs when either changes. A dropped link that reconnects at once does not
    flip them: entities go unavailable only when no proxy node can be reached.

Idle release (the ``release_when_idle`` option, :meth:`MeshRuntime.async_set_idle_release`)
    Many nodes accept one GATT connection, which the vendor's app may want too. When enabled,
    the link is closed after ``idle_seconds`` without a message sent or received (beacons do
    not count) and nothing pending; the network stays ``available``. The next
    :meth:`async_send` (or work such as a node to configure) connects again.

``runtime.next_tid(dst) -> int`` (and ``runtime.tids``)
    A new transaction identifier for a Set message to ``dst``.

Node removal and Key Refresh (:mod:`.key_refresh`)
--------------------------------------------------

``await runtime.async_remove_node(node)`` resets ``node``, removes it from the database and
starts the Key Refresh that evicts its keys from the remaining nodes;
``await runtime.async_start_key_refresh()`` refreshes every NetKey without removing a node.
The database (:mod:`.network_store`, its single writer) is the truth for the keys: after every
change of them the store tells the runtime, which hands the NetKeys and AppKeys, with their Key
Refresh phase, to the node. The configuration of new nodes and the Key Refresh run in the
background (:mod:`.configuration`).

Ordered output
--------------

Everything that leaves goes through one ordered queue, written by one task: GATT writes, node
state writes and database saves. The node reports each SEQ reservation
(:class:`~.mesh.node.SequenceReserved`) and holds the PDUs that use it; the writer stores the
node's snapshot, *then* tells the node, which releases them. A crash can therefore never send
a SEQ twice. The replay protection list is written in the background (coalesced) and at stop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.components import bluetooth
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from . import key_refresh
from .configuration import ConfigurationManager
from .const import (
    MESH_PROVISIONING_SERVICE_UUID,
    SIGNAL_GROUP_ADDED,
    SIGNAL_GROUP_REMOVED,
    SIGNAL_NODE_CONFIGURED,
)
from .devices import async_register_node
from .exceptions import (
    MeshNotConnectedError,
    MeshSendError,
    MeshTimeoutError,
)
from .mesh.access import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Message
from .mesh.beacons import MeshProvisioningServiceData, matches_network, matches_node
from .mesh.database import MeshNetwork, Node
from .mesh.errors import DecodeError, MeshError
from .mesh.models.common import TidCounter
from .mesh.network import KeyRefreshPhase, NetworkKeyring
from .mesh.node import (
    IvIndexChanged,
    MeshNode,
    MessageReceived,
    ProxyFilterStatusReceived,
    ProxyProtocolError,
    ReplayListChanged,
    RequestTimedOut,
    ResponseReceived,
    SequenceReserved,
    TransferFailed,
    UndecodableMessage,
)
from .network_store import Change, NetworkStore, StoreChange, in_progress
from .node_config import reset_configuration
from .proxy_connection import ProxyConnection
from .proxy_link import LinkError
from .storage import MeshStore

_LOGGER = logging.getLogger(__name__)

APP_KEY_INDEX = 0
# The replay protection list is written in the background: a burst of statuses costs one
# write (HA writes pending data at shutdown too).
RPL_SAVE_DELAY = 30.0

type MessageCallback = Callable[[int, Message], None]
type ConnectionCallback = Callable[[], None]


@dataclass(slots=True)
class _Write:
    """One item of the ordered output.

    ``value``: a Proxy PDU to write; ``persist``: store the node state, then release the
    reservation with this token; ``state``: store the node state; ``done`` (when set) is
    resolved once the item (and everything before it) is performed.
    """

    value: bytes | None = None
    persist: int | None = None
    state: bool = False
    done: asyncio.Future[Any] | None = None


@dataclass(slots=True, eq=False)
class _Background:
    """A background message waiting for its turn; handed to the node only then."""

    dst: int
    message: Message
    app_key_index: int | None
    expect: type[Message] | None
    timeout: float
    retries: int
    future: asyncio.Future[Message | None]
    handle: int | None = None


def _load_keys(node: MeshNode, network: MeshNetwork) -> None:
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


def _build_node(network: MeshNetwork, own: Node, store: MeshStore) -> MeshNode:
    groups = {g.destination for g in network.groups if g.destination != 0}
    node = MeshNode(
        address=own.unicast_address,
        element_count=own.element_count,
        net_keys=NetworkKeyring(),
        state=store.node_state,
        subscriptions=None,  # a controller listens to every group
        proxy_filter=groups,
    )
    _load_keys(node, network)
    for other in network.nodes:
        if other is not own and other.device_key is not None:
            node.set_device_key(other.unicast_address, other.element_count, other.device_key)
    return node


class MeshRuntime:
    """What a loaded mesh network entry holds while Home Assistant runs."""

    def __init__(self, *, hass: HomeAssistant, entry_id: str, store: NetworkStore) -> None:
        """Build the node from the stored network and state; nothing connects before start."""
        self.hass = hass
        self.entry_id = entry_id
        self.store = store
        network = store.network
        own = self._own_node()
        # 0 (unassigned) when the database has no node for us (a raw export): nothing is sent.
        self.unicast_address = own.unicast_address if own is not None else 0
        self._mesh = _build_node(network, own, store.files) if own is not None else None
        self.tids = TidCounter()
        self._waiters: dict[int, asyncio.Future[Message]] = {}
        self._subscribers: list[MessageCallback] = []
        self._subscribers_by_src: dict[int, list[MessageCallback]] = {}
        self._connection_listeners: list[ConnectionCallback] = []
        self._output: deque[_Write] = deque()
        self._background: deque[_Background] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._writing = False
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._timer_deadline = 0.0
        self._connected = False
        self._released = False  # the link is closed on purpose (idle release)
        self._idle_seconds: float | None = None  # idle release off
        self._cancel_idle: CALLBACK_TYPE | None = None
        # Restarted on every message while enabled: one job, not one per restart.
        self._idle_job = HassJob(self._on_idle, cancel_on_shutdown=True)
        self._link_waiters: set[asyncio.Future[None]] = set()
        self._started = False
        self._config = ConfigurationManager(
            hass, entry_id, self, wake=self._resume, all_configured=self._all_configured
        )
        self._unsubscribe_store = store.async_add_listener(self._on_store_change)
        self._proxy = ProxyConnection(
            hass,
            network.mesh_name,
            is_ours=self._is_our_proxy,
            on_data=self._on_data,
            on_link_up=self._on_link_up,
            on_link_down=self._on_link_down,
            on_reachable=self._on_reachable,
        )

    @property
    def network(self) -> MeshNetwork:
        """The network database, to read (it changes through :attr:`store` only)."""
        return self.store.network

    @property
    def mesh_uuid(self) -> str:
        """The network's MshCDB meshUUID (32 hex digits), the entry's unique id."""
        return self.network.mesh_uuid.hex

    def _own_node(self) -> Node | None:
        provisioner = self.network.local_provisioner
        return self.network.node_by_uuid(provisioner.uuid) if provisioner is not None else None

    @property
    def _node(self) -> MeshNode:
        assert self._mesh is not None
        return self._mesh

    @property
    def iv_index(self) -> int:
        """The network's current IV Index (0 while Home Assistant has no node in it)."""
        return self._mesh.iv_index if self._mesh is not None else 0

    @property
    def iv_update_in_progress(self) -> bool:
        """Whether the network is in the IV Update in Progress state."""
        return self._mesh.iv_update_in_progress if self._mesh is not None else False

    # --- lifecycle -----------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Store the node state as loaded, look for proxy nodes and connect to the best."""
        if self._mesh is None:
            _LOGGER.warning(
                "Mesh network %s has no node for Home Assistant: it cannot send messages",
                self.network.mesh_name,
            )
            return
        self._started = True
        self._config.async_start()
        # A migrated or recovered state is written at once, in the current form.
        self._output.append(_Write(state=True))
        self._kick_writer()
        self._proxy.async_start()

    async def async_stop(self, *_args: Any) -> None:
        """Close the connection, cancel every task and timer, write what is pending."""
        if not self._started:
            return
        self._started = False
        self._unsubscribe_store()
        self._cancel_timers()
        self._cancel_idle_timer()
        await self._config.async_stop()
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._writer = None
        futures: list[asyncio.Future[Any]] = [
            *self._waiters.values(),
            *(item.future for item in self._background),
            *(item.done for item in self._output if item.done is not None),
            *self._link_waiters,
        ]
        for future in futures:
            if not future.done():
                future.cancel()
        self._waiters.clear()
        self._background.clear()
        self._output.clear()
        self._link_waiters.clear()
        await self._proxy.async_stop()
        self._set_connected(False, released=False)
        # The current reservation covers whatever the cancelled writer did not get to.
        await self.store.files.async_save_state(self._node.snapshot())

    # --- public API: connection ----------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a proxy node is reachable (the link is up)."""
        return self._connected

    @property
    def available(self) -> bool:
        """True while connected, or while the link is released on purpose (idle release)."""
        return self._connected or self._released

    @property
    def released(self) -> bool:
        """True while the link is released on purpose (idle release)."""
        return self._released

    @property
    def proxy_address(self) -> str | None:
        """Bluetooth address of the proxy node we are connected to."""
        return self._proxy.address

    @callback
    def async_add_connection_listener(self, listener: ConnectionCallback) -> CALLBACK_TYPE:
        """Call ``listener()`` whenever :attr:`connected` or :attr:`available` changes."""
        self._connection_listeners.append(listener)

        @callback
        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._connection_listeners.remove(listener)

        return remove

    def diagnostics(self) -> dict[str, Any]:
        """The runtime's state for diagnostics (no key material)."""
        node = self._mesh
        return {
            "unicast_address": f"{self.unicast_address:04X}",
            "connected": self._connected,
            "released": self._released,
            "proxy_address": self._proxy.address,
            "proxy_candidates": self._proxy.candidates,
            "iv_index": node.iv_index if node is not None else None,
            "iv_update_in_progress": node.iv_update_in_progress if node is not None else None,
            "next_seq": node.next_seq if node is not None else None,
            "replay_protection_entries": node.replay_list_size if node is not None else 0,
            "pending_requests": node.pending_requests if node is not None else 0,
            **self._config.diagnostics(),
        }

    # --- public API: messages ------------------------------------------------------------

    @callback
    def async_subscribe(
        self, subscriber: MessageCallback, *, src: int | None = None
    ) -> CALLBACK_TYPE:
        """Call ``subscriber(src, message)`` for every received access message.

        With ``src``, only for the messages from that source address.
        """
        subscribers = (
            self._subscribers if src is None else self._subscribers_by_src.setdefault(src, [])
        )
        subscribers.append(subscriber)

        @callback
        def remove() -> None:
            with contextlib.suppress(ValueError):
                subscribers.remove(subscriber)
            if (
                src is not None
                and not subscribers
                and self._subscribers_by_src.get(src) is subscribers
            ):
                del self._subscribers_by_src[src]

        return remove

    def next_tid(self, dst: int) -> int:
        """A new Transaction Identifier for a transaction with ``dst``."""
        return self.tids.next(dst)

    async def async_send(
        self,
        dst: int,
        message: Message,
        *,
        device_key: bool = False,
        expect: type[Message] | None = None,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per attempt, run by the engine
        retries: int = DEFAULT_RETRIES,
        background: bool = False,
    ) -> Message | None:
        """Send ``message`` to ``dst``; with ``expect`` wait for and return the response.

        ``background``: after every other message (see the module's documentation).
        """
        if not self._started:
            raise MeshNotConnectedError(self.network.mesh_name)
        if not self._connected:
            if not self._released:
                raise MeshNotConnectedError(self.network.mesh_name)
            # Released on purpose: connect again, within what the send itself may take.
            await self._async_reconnect(timeout * (retries + 1))
        app_key_index = None if device_key else APP_KEY_INDEX
        if device_key and not self._node.has_device_key(dst):
            raise MeshSendError(dst, "no device key for this address")
        if not device_key and self._node.app_key(APP_KEY_INDEX) is None:
            raise MeshSendError(dst, "the network has no application key")
        future: asyncio.Future[Message | None] = self.hass.loop.create_future()
        item = _Background(dst, message, app_key_index, expect, timeout, retries, future)
        if background:
            self._background.append(item)
            self._kick_writer()
        else:
            self._start(item)
        try:
            return await future
        finally:
            if item.handle is not None:
                self._waiters.pop(item.handle, None)
                self._node.cancel(item.handle)
                self._schedule_timer()
            elif not future.done():
                future.cancel()  # not started: the writer skips it

    def _start(self, item: _Background) -> None:
        """Hand a message to the node (at once, or at its turn for a background one)."""
        if item.future.done():
            return  # its caller went away
        try:
            handle = self._node.send(
                item.dst,
                item.message,
                now=self._now(),
                app_key_index=item.app_key_index,
                expect=item.expect,
                timeout=item.timeout,
                retries=item.retries,
            )
        except MeshError as err:
            item.future.set_exception(MeshSendError(item.dst, str(err)))
            return
        if item.expect is None:
            self._pump()
            self._output.append(_Write(done=item.future))
            self._kick_writer()
            return
        item.handle = handle
        self._waiters[handle] = item.future  # type: ignore[assignment]
        self._pump()

    # --- the network store's changes ------------------------------------------------------

    @callback
    def _on_store_change(self, change: StoreChange) -> None:
        """Keep devices, the node's keys, the proxy filter and the platforms in step."""
        node, mesh = change.node, self._mesh
        kind = change.change
        if kind is Change.NODE_ADDED and node is not None:
            async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
            if mesh is not None and node.device_key is not None:
                mesh.set_device_key(node.unicast_address, node.element_count, node.device_key)
            # Configure it over its own proxy service when we know its Bluetooth address (its
            # old provisioning advertisement still carries its Device UUID).
            self._proxy.async_prefer(self._bluetooth_address(node))
            self._resume()
            self._config.async_schedule()
        elif kind in (Change.NODE_CHANGED, Change.NODE_CONFIGURED) and node is not None:
            async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
            if kind is Change.NODE_CONFIGURED or node.cid is not None:
                # Platforms add the entities of elements they did not know yet.
                async_dispatcher_send(self.hass, SIGNAL_NODE_CONFIGURED.format(self.entry_id), node)
        elif kind is Change.NODE_REMOVED and node is not None:
            if mesh is not None:
                mesh.remove_device_key(node.unicast_address)
            self._config.async_node_removed(node)
        elif kind is Change.KEYS_CHANGED and mesh is not None:
            _load_keys(mesh, self.network)
        elif kind is Change.GROUP_ADDED and change.address is not None:
            if mesh is not None:
                mesh.proxy_filter_add([change.address])  # MshPRT 1.1 §6.6
                self._pump()
            async_dispatcher_send(self.hass, SIGNAL_GROUP_ADDED.format(self.entry_id), change.group)
        elif kind is Change.GROUP_REMOVED and change.address is not None:
            if mesh is not None:
                mesh.proxy_filter_remove([change.address])
                self._pump()
            async_dispatcher_send(
                self.hass, SIGNAL_GROUP_REMOVED.format(self.entry_id), change.address
            )

    # --- nodes ---------------------------------------------------------------------------

    async def async_remove_node(self, node: Node) -> None:
        """Reset ``node``, remove it from the network and refresh the keys of the others.

        The node is removed even when it cannot be reset (out of reach, no proxy): the Key
        Refresh that follows makes the keys it still holds useless.
        """
        if self._mesh is not None and self.available:  # released: the send reconnects
            await key_refresh.async_reset_node(self, node)
        else:
            _LOGGER.warning(
                "Mesh node %s cannot be reset (no proxy node of %s is reachable); it is removed "
                "anyway, and the key refresh makes the keys it still holds useless",
                key_refresh.node_label(node),
                self.network.mesh_name,
            )
        if self.network.node_by_uuid(node.uuid) is None:
            return  # removed meanwhile (a second request for the same node)
        started = await self.store.async_remove_node(node, iv_index=self.iv_index)
        _LOGGER.info(
            "Mesh node %s removed from network %s%s",
            key_refresh.node_label(node),
            self.network.mesh_name,
            "; key refresh started" if started else "",
        )
        self._config.async_kick()

    async def async_start_key_refresh(self) -> bool:
        """Start a Key Refresh of every NetKey; False when one is already in progress."""
        if in_progress(self.network):
            return False
        await self.store.async_begin_key_refresh()
        self._config.async_kick()
        return True

    async def async_reconfigure_node(self, node: Node) -> None:
        """Run the automatic configuration of ``node`` again (see node_config)."""
        await self.store.async_update_node(node, reset_configuration)
        self._config.async_forget_attempts(node)
        self._config.async_kick()

    def _bluetooth_address(self, node: Node) -> str | None:
        for info in bluetooth.async_discovered_service_info(self.hass, connectable=True):
            raw = info.service_data.get(MESH_PROVISIONING_SERVICE_UUID)
            if not raw:
                continue
            try:
                data = MeshProvisioningServiceData.from_bytes(bytes(raw))
            except DecodeError:
                continue
            if data.uuid == node.uuid:
                return info.address
        return None

    @callback
    def _all_configured(self) -> None:
        self._proxy.preferred = None

    # --- connection events ---------------------------------------------------------------

    def _is_our_proxy(self, service_data: bytes) -> bool:
        net_keys = [k for entry in self._node.net_keys for k, _new in entry.rx_keys()]
        if matches_network(service_data, net_keys):
            return True
        return any(
            matches_node(service_data, key, node.unicast_address)
            for node in self.network.nodes
            for key in net_keys
        )

    @callback
    def _on_link_up(self) -> None:
        link = self._proxy.link
        if link is None:
            return
        # The node sets the proxy filter: our address and the groups we listen to (§6.7).
        self._node.connection_made(link.att_mtu, now=self._now())
        self._pump()

    @callback
    def async_add_group_to_filter(self, address: int) -> None:
        """A group was created: let the proxy forward what is sent to it (MshPRT 1.1 §6.6)."""
        if self._mesh is not None:
            self._mesh.proxy_filter_add([address])
            self._pump()

    @callback
    def async_remove_group_from_filter(self, address: int) -> None:
        """A group was deleted: take it off the proxy's accept list."""
        if self._mesh is not None:
            self._mesh.proxy_filter_remove([address])
            self._pump()

    @callback
    def _on_link_down(self) -> None:
        self._node.connection_lost()

    @callback
    def _on_reachable(self, reachable: bool) -> None:
        # After a release, the attempt that follows decides: connected, or unavailable.
        self._set_connected(reachable, released=False)
        for waiter in list(self._link_waiters):
            if not waiter.done():
                if reachable:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(MeshNotConnectedError(self.network.mesh_name))
        if reachable:
            self._restart_idle_timer()
            self._config.async_schedule()

    def _set_connected(self, connected: bool, *, released: bool) -> None:
        before = (self._connected, self.available)
        self._connected = connected
        self._released = released
        if (self._connected, self.available) == before:
            return
        for listener in list(self._connection_listeners):
            try:
                listener()
            except Exception:
                _LOGGER.exception("Error in a mesh connection listener")

    # --- the node's events and output --------------------------------------------------------

    @callback
    def _on_data(self, value: bytes) -> None:
        self._node.receive(value, self._now())
        self._pump()

    def _pump(self) -> None:
        """Act on the node's events, queue what it has to send, re-arm its timer."""
        node = self._node
        traffic = False
        for event in node.events():
            if isinstance(event, SequenceReserved):
                # Stored before the node releases the PDUs that use it (the writer's turn).
                self._output.append(_Write(persist=event.token))
            elif isinstance(event, ResponseReceived):
                traffic = True
                future = self._waiters.get(event.handle)
                if future is not None and not future.done():
                    future.set_result(event.message)
                self._dispatch(event.src, event.message)
            elif isinstance(event, MessageReceived):
                traffic = True
                self._dispatch(event.src, event.message)
            elif isinstance(event, RequestTimedOut):
                future = self._waiters.get(event.handle)
                if future is not None and not future.done():
                    future.set_exception(MeshTimeoutError(event.dst))
            elif isinstance(event, ReplayListChanged):
                self.store.files.async_schedule_state_save(node.snapshot, RPL_SAVE_DELAY)
            elif isinstance(event, IvIndexChanged):
                _LOGGER.info(
                    "Mesh network %s: IV Index %d%s%s",
                    self.network.mesh_name,
                    event.iv_index,
                    " (IV Update in progress)" if event.update_in_progress else "",
                    ", started by Home Assistant" if event.initiated else "",
                )
                self._output.append(_Write(state=True))
            elif isinstance(event, ProxyProtocolError):
                # MshPRT 1.1 §6.5: a proxy protocol violation closes the connection.
                _LOGGER.debug("Proxy protocol error from %s: %s", self._proxy.address, event)
                self._proxy.async_drop()
            elif isinstance(event, ProxyFilterStatusReceived):
                _LOGGER.debug("Proxy filter: %s", event)
            elif isinstance(event, TransferFailed | UndecodableMessage):
                _LOGGER.debug("Mesh network %s: %s", self.network.mesh_name, event)
        self._output.extend(_Write(value=t.data) for t in node.data_to_send())
        if traffic:
            self._restart_idle_timer()
        if self._output or self._background:
            self._kick_writer()
        self._schedule_timer()

    def _dispatch(self, src: int, message: Message) -> None:
        for subscriber in (*self._subscribers, *self._subscribers_by_src.get(src, ())):
            try:
                subscriber(src, message)
            except Exception:
                _LOGGER.exception("Error in a mesh message subscriber")

    def _kick_writer(self) -> None:
        # The writer starts eagerly: while it runs (and starts a background message, which
        # queues its output and kicks), ``self._writer`` may not name it yet.
        if self._writing:
            return
        if self._writer is None or self._writer.done():
            self._writer = self.hass.async_create_background_task(
                self._async_write_all(), f"ble_mesh {self.network.mesh_name} writes"
            )

    async def _async_write_all(self) -> None:
        """Perform the ordered output; a background message starts only when it is empty."""
        self._writing = True
        try:
            while True:
                if self._output:
                    item = self._output.popleft()
                elif self._background:
                    self._start(self._background.popleft())
                    continue
                else:
                    return
                try:
                    await self._async_perform(item)
                except Exception as err:
                    _LOGGER.exception("Mesh output of %s failed", self.network.mesh_name)
                    if item.done is not None and not item.done.done():
                        item.done.set_exception(err)
                    continue
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)
        finally:
            self._writing = False

    async def _async_perform(self, item: _Write) -> None:
        if item.persist is not None:
            # On disk before the node releases a PDU using the reservation; when the write
            # fails, those PDUs stay held (their requests time out) until a later one works.
            await self.store.files.async_save_state(self._node.snapshot())
            self._node.sequence_persisted(item.persist)
            self._pump()
        elif item.state:
            await self.store.files.async_save_state(self._node.snapshot())
        elif item.value is not None:
            if self._proxy.link is not None:  # lost: requests retransmit after reconnecting
                self._restart_idle_timer()
                try:
                    await self._proxy.async_write(item.value)
                except LinkError as err:
                    _LOGGER.debug("Write to the proxy failed: %s", err)

    # --- idle release --------------------------------------------------------------------

    @callback
    def async_set_idle_release(self, idle_seconds: float | None) -> None:
        """Release the link after ``idle_seconds`` without traffic; None: keep it (default).

        Applied at once: turning it off while released connects again.
        """
        self._idle_seconds = idle_seconds
        if idle_seconds is None:
            self._cancel_idle_timer()
            self._resume()
        else:
            self._restart_idle_timer()

    def _cancel_idle_timer(self) -> None:
        if self._cancel_idle is not None:
            self._cancel_idle()
            self._cancel_idle = None

    def _restart_idle_timer(self) -> None:
        """Traffic (or a new link): the idle time starts again."""
        if self._idle_seconds is None or not self._connected or not self._started:
            return
        self._cancel_idle_timer()
        self._cancel_idle = async_call_later(self.hass, self._idle_seconds, self._idle_job)

    def _busy(self) -> bool:
        """Something still uses the link: a request, queued output, configuration work."""
        return bool(
            self._output
            or self._background
            or self._writing
            or self._waiters
            or (self._mesh is not None and self._mesh.pending_requests)
            or self._config.busy
        )

    @callback
    def _on_idle(self, _now: object) -> None:
        self._cancel_idle = None
        if self._idle_seconds is None or not self._connected or not self._started:
            return
        if self._busy():
            self._restart_idle_timer()
            return
        _LOGGER.debug(
            "Mesh network %s: releasing the proxy connection to %s after %s s without traffic",
            self.network.mesh_name,
            self._proxy.address,
            self._idle_seconds,
        )
        self._set_connected(False, released=True)
        self._proxy.async_release()

    def _resume(self) -> None:
        """Connect again after an idle release (the attempt's outcome ends ``released``)."""
        if self._released and self._started and self._proxy.released:
            _LOGGER.debug("Mesh network %s: reconnecting on demand", self.network.mesh_name)
            self._proxy.async_resume()

    async def _async_reconnect(self, limit: float) -> None:
        """Connect again after an idle release; MeshNotConnectedError when it does not."""
        waiter: asyncio.Future[None] = self.hass.loop.create_future()
        self._link_waiters.add(waiter)
        self._resume()
        try:
            async with asyncio.timeout(limit):
                await waiter
        except TimeoutError as err:
            raise MeshNotConnectedError(self.network.mesh_name) from err
        finally:
            self._link_waiters.discard(waiter)

    # --- timers --------------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        # Wall-clock seconds: the node's IV Update timing (96 hours) survives restarts.
        return dt_util.utcnow().timestamp()

    def _cancel_timers(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _schedule_timer(self) -> None:
        self._cancel_timers()
        if not self._started or self._mesh is None:
            return
        deadline = self._mesh.get_timer()
        if deadline is not None:
            self._timer_deadline = deadline
            delay = max(0.0, deadline - self._now())
            self._cancel_timer = async_call_later(self.hass, delay, self._on_timer)

    @callback
    def _on_timer(self, _now: object) -> None:
        self._cancel_timer = None
        # The timer fires at the deadline it was set for (tests move HA's scheduler, not the
        # clock), like the provisioning session does.
        self._node.handle_timer(max(self._now(), self._timer_deadline))
        self._pump()


type MeshConfigEntry = ConfigEntry[MeshRuntime]
