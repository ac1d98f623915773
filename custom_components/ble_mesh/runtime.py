"""Runtime of one mesh network config entry (``entry.runtime_data``): Home Assistant's node.

:class:`MeshRuntime` drives the engine's :class:`~.mesh.node.MeshNode` (the whole protocol:
SEQ, encryption, segmentation, requests and retransmissions, the proxy filter, beacons, the IV
Update) with I/O, timers and Home Assistant glue; no protocol byte is built or parsed here.
Around it: the GATT connection to a proxy node (:mod:`.proxy_connection`), the ordered output
(:mod:`.outbox`: a SEQ reservation is on disk before a PDU that uses it is written, so a crash
never sends a SEQ twice), the node's state file (:mod:`.storage`), the network database and
its single writer (:mod:`.network_store`, whose changes the runtime hands on to the node, the
devices and the platforms), the background configuration and Key Refresh
(:mod:`.configuration`) and the idle release (:mod:`.idle_release`).

What entities and services use: :meth:`MeshRuntime.async_send`,
:meth:`~MeshRuntime.async_subscribe`, :meth:`~MeshRuntime.async_add_connection_listener` with
:attr:`~MeshRuntime.connected` / :attr:`~MeshRuntime.available`, :meth:`~MeshRuntime.next_tid`,
and for nodes :attr:`~MeshRuntime.nodes` (remove one, reconfigure one, refresh the keys).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from .availability import Availability, ConnectionCallback
from .clock import SchedulerClock
from .configuration import ConfigurationManager
from .const import (
    APP_KEY_INDEX,
    SIGNAL_GROUP_ADDED,
    SIGNAL_GROUP_REMOVED,
    SIGNAL_NODE_CONFIGURED,
)
from .devices import async_register_node, bluetooth_address
from .exceptions import (
    MeshNotConnectedError,
    MeshSendError,
    MeshTimeoutError,
)
from .idle_release import IdleTimer
from .mesh.access import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Message
from .mesh.beacons import matches_network, matches_node
from .mesh.database import MeshNetwork, Node
from .mesh.errors import MeshError
from .mesh.models.common import TidCounter
from .mesh.node import (
    IvIndexChanged,
    MeshNode,
    MessageReceived,
    ProxyFilterStatusReceived,
    ProxyProtocolError,
    ReplayListReserved,
    RequestTimedOut,
    ResponseReceived,
    SequenceReserved,
    TransferFailed,
    UndecodableMessage,
)
from .network_store import (
    Change,
    NetworkStore,
    StoreChange,
    build_mesh_node,
    load_keys,
    node_addresses,
)
from .outbox import Outbox, Outgoing, Write
from .proxy_connection import ProxyConnection
from .proxy_link import LinkError
from .remote_scan import RemoteScanner
from .state_reader import StateReader
from .subscriptions import MessageCallback, Subscriptions

_LOGGER = logging.getLogger(__name__)


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
        self._mesh = build_mesh_node(network, own, store.files) if own is not None else None
        self.tids = TidCounter()
        self._waiters: dict[int, asyncio.Future[Message]] = {}
        self._subscriptions = Subscriptions()
        self._state = Availability(network.mesh_name)
        self._outbox = Outbox(
            hass, network.mesh_name, perform=self._async_perform, start=self._start
        )
        self._clock = SchedulerClock()
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._idle = IdleTimer(
            hass,
            active=lambda: self._state.connected and self._started,
            busy=self._busy,
            release=self._release,
        )
        self._iv_known = asyncio.Event()  # set once the IV Index is known (see async_send)
        if self._mesh is not None and self._mesh.iv_index_known:
            self._iv_known.set()
        self._started = False
        self.state_reader = StateReader(hass, self, network.mesh_name)
        """Entities' state reads after a (re)connection, one element at a time."""
        self.relay_links: set[int] = set()
        """Servers a remote provisioning session holds (see RemoteProvisioningSession)."""
        self.remote_scanner = RemoteScanner(hass, self, entry_id)
        """Scans through the network's Remote Provisioning Servers (remote_scan.py)."""
        self.nodes = ConfigurationManager(
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
        self.nodes.async_start()
        # A migrated or recovered state is written at once, in the current form.
        self._outbox.append(Write(state=True))
        self._proxy.async_start()

    async def async_stop(self, *_args: Any) -> None:
        """Close the connection, cancel every task and timer, write what is pending."""
        if not self._started:
            return
        self._started = False
        self._unsubscribe_store()
        self._cancel_timers()
        self._idle.cancel()
        await self.nodes.async_stop()
        await self.state_reader.async_stop()
        await self._outbox.async_stop()
        for future in self._waiters.values():
            if not future.done():
                future.cancel()
        self._waiters.clear()
        self._state.cancel_waiters()
        await self._proxy.async_stop()
        self._state.set(False, released=False)
        # The current reservation covers whatever the cancelled writer did not get to; the
        # replay list is stored as accepted (a clean stop loses no message of a node).
        await self.store.files.async_save_state(self._node.snapshot(final=True))

    # --- public API: connection ----------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a proxy node is reachable (the link is up)."""
        return self._state.connected

    @property
    def available(self) -> bool:
        """True while connected, or while the link is released on purpose (idle release)."""
        return self._state.available

    @property
    def released(self) -> bool:
        """True while the link is released on purpose (idle release)."""
        return self._state.released

    @property
    def proxy_address(self) -> str | None:
        """Bluetooth address of the proxy node we are connected to."""
        return self._proxy.address

    @callback
    def async_add_connection_listener(self, listener: ConnectionCallback) -> CALLBACK_TYPE:
        """Call ``listener()`` whenever :attr:`connected` or :attr:`available` changes."""
        return self._state.add_listener(listener)

    def diagnostics(self) -> dict[str, Any]:
        """The runtime's state for diagnostics (no key material)."""
        node = self._mesh
        return {
            "unicast_address": f"{self.unicast_address:04X}",
            "connected": self._state.connected,
            "released": self._state.released,
            "proxy_address": self._proxy.address,
            "proxy_candidates": self._proxy.candidates,
            "iv_index": node.iv_index if node is not None else None,
            "iv_update_in_progress": node.iv_update_in_progress if node is not None else None,
            "next_seq": node.next_seq if node is not None else None,
            "replay_protection_entries": node.replay_list_size if node is not None else 0,
            "pending_requests": node.pending_requests if node is not None else 0,
            **self.nodes.diagnostics(),
        }

    # --- public API: messages ------------------------------------------------------------

    @callback
    def async_subscribe(
        self, subscriber: MessageCallback, *, src: int | None = None
    ) -> CALLBACK_TYPE:
        """Call ``subscriber(src, message)`` for every received access message, once.

        With ``src``, only for the messages from that source address. Call the result to
        unsubscribe.
        """
        return self._subscriptions.add(subscriber, src)

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

        ``device_key``: encrypt with the device key of the node owning ``dst`` instead of
        AppKey 0. ``expect``: a response class (e.g. ``GenericOnOffStatus``): wait for the
        matching response from ``dst`` (any source for a group) and return it; unanswered
        attempts are retransmitted ``retries`` times, ``timeout`` seconds apart (the same
        message, so the same TID: never a second transaction). Without ``expect``, return None
        once written. ``background``: work nobody waits for (state reads, configuration, Key
        Refresh), handed to the node only when nothing else waits to be written.

        Raises MeshNotConnectedError (no proxy node reachable), MeshTimeoutError (nothing
        answered), MeshSendError (cannot be sent, e.g. no key for ``dst``). After an idle
        release it connects again first.
        """
        if not self._started:
            raise MeshNotConnectedError(self.network.mesh_name)
        if not self._state.connected:
            if not self._state.released:
                raise MeshNotConnectedError(self.network.mesh_name)
            # Released on purpose: connect again, within what the send itself may take.
            await self._state.async_wait_link(self._resume, timeout * (retries + 1))
        if not self._node.iv_index_known:
            # An imported network: the proxy node's first beacon tells the IV Index (§3.11.5.2).
            try:
                async with asyncio.timeout(timeout * (retries + 1)):
                    await self._iv_known.wait()
            except TimeoutError:
                raise MeshTimeoutError(dst) from None
        app_key_index = None if device_key else APP_KEY_INDEX
        if device_key and not self._node.has_device_key(dst):
            raise MeshSendError(dst, "no device key for this address")
        if not device_key and self._node.app_key(APP_KEY_INDEX) is None:
            raise MeshSendError(dst, "the network has no application key")
        future: asyncio.Future[Message | None] = self.hass.loop.create_future()
        item = Outgoing(dst, message, app_key_index, expect, timeout, retries, future)
        if background:
            self._outbox.append_background(item)
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

    def _start(self, item: Outgoing) -> None:
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
            self._outbox.append(Write(done=item.future))
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
        if mesh is not None and kind in (
            Change.NODE_ADDED,
            Change.NODE_CHANGED,
            Change.NODE_REMOVED,
        ):
            # Replay protection entries of the network's nodes are never evicted (§3.9.8).
            mesh.set_known_sources(node_addresses(self.network))
        if kind is Change.NODE_ADDED and node is not None:
            async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
            if mesh is not None and node.device_key is not None:
                mesh.set_device_key(node.unicast_address, node.element_count, node.device_key)
            # Configure it over its own proxy service when we know its Bluetooth address (its
            # old provisioning advertisement still carries its Device UUID).
            self._proxy.async_prefer(bluetooth_address(self.hass, node))
            self._resume()
            self.nodes.async_schedule()
        elif kind in (Change.NODE_CHANGED, Change.NODE_CONFIGURED) and node is not None:
            async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
            if mesh is not None and node.device_key is not None:  # refreshed in place (NPPI)
                mesh.set_device_key(node.unicast_address, node.element_count, node.device_key)
            if kind is Change.NODE_CONFIGURED or node.cid is not None:
                # Platforms add the entities of elements they did not know yet.
                async_dispatcher_send(self.hass, SIGNAL_NODE_CONFIGURED.format(self.entry_id), node)
        elif kind is Change.NODE_REMOVED and node is not None:
            if mesh is not None:
                mesh.remove_device_key(node.unicast_address)
            self.nodes.async_node_removed(node)
        elif kind is Change.KEYS_CHANGED and mesh is not None:
            load_keys(mesh, self.network)
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
    def _on_link_down(self) -> None:
        self._node.connection_lost()

    @callback
    def _on_reachable(self, reachable: bool) -> None:
        # After a release, the attempt that follows decides: connected, or unavailable.
        self._state.reachable(reachable)
        if reachable:
            self._idle.restart()
            self.nodes.async_schedule()

    # --- the node's events and output --------------------------------------------------------

    @callback
    def _on_data(self, value: bytes) -> None:
        self._node.receive(value, self._now())
        self._pump()

    def _pump(self) -> None:
        """Act on the node's events, queue what it has to send, re-arm its timer."""
        node = self._node
        traffic = False
        writes: list[Write] = []
        for event in node.events():
            if isinstance(event, SequenceReserved | ReplayListReserved):
                # Stored before the node releases the PDUs that use a SEQ reservation, or the
                # messages behind a replay list one (the writer's turn).
                writes.append(Write(persist=event.token))
            elif isinstance(event, ResponseReceived):
                traffic = True
                future = self._waiters.get(event.handle)
                if future is not None and not future.done():
                    future.set_result(event.message)
                self._subscriptions.dispatch(event.src, event.message)
            elif isinstance(event, MessageReceived):
                traffic = True
                self._subscriptions.dispatch(event.src, event.message)
            elif isinstance(event, RequestTimedOut):
                future = self._waiters.get(event.handle)
                if future is not None and not future.done():
                    future.set_exception(MeshTimeoutError(event.dst))
            elif isinstance(event, IvIndexChanged):
                if node.iv_index_known:
                    self._iv_known.set()
                _LOGGER.info(
                    "Mesh network %s: IV Index %d%s%s",
                    self.network.mesh_name,
                    event.iv_index,
                    " (IV Update in progress)" if event.update_in_progress else "",
                    ", started by Home Assistant" if event.initiated else "",
                )
                writes.append(Write(state=True))
            elif isinstance(event, ProxyProtocolError):
                # MshPRT 1.1 §6.5: a proxy protocol violation closes the connection.
                _LOGGER.debug("Proxy protocol error from %s: %s", self._proxy.address, event)
                self._proxy.async_drop()
            elif isinstance(event, ProxyFilterStatusReceived):
                _LOGGER.debug("Proxy filter: %s", event)
            elif isinstance(event, TransferFailed | UndecodableMessage):
                _LOGGER.debug("Mesh network %s: %s", self.network.mesh_name, event)
        writes.extend(Write(value=t.data) for t in node.data_to_send())
        if traffic:
            self._idle.restart()
        self._outbox.append(*writes)
        self._schedule_timer()

    async def _async_perform(self, item: Write) -> None:
        if item.persist is not None:
            # On disk before the node releases what waits for the reservation; when the write
            # fails, that stays held (requests time out) until a later one works. One write
            # covers every reservation made before its snapshot: a burst costs one or two.
            node = self._node
            if item.persist <= node.stored_reservation:
                return
            token = node.latest_reservation
            await self.store.files.async_save_state(node.snapshot())
            node.state_persisted(token)
            self._pump()
        elif item.state:
            await self.store.files.async_save_state(self._node.snapshot())
        elif item.value is not None:
            if self._proxy.link is not None:  # lost: requests retransmit after reconnecting
                self._idle.restart()
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
        self._idle.configure(idle_seconds)
        if idle_seconds is None:
            self._resume()

    def _busy(self) -> bool:
        """Something still uses the link: a request, queued output, configuration work."""
        return bool(
            self._outbox.busy
            or self._waiters
            or (self._mesh is not None and self._mesh.pending_requests)
            or self.nodes.busy
        )

    @callback
    def _release(self, idle_seconds: float) -> None:
        _LOGGER.debug(
            "Mesh network %s: releasing the proxy connection to %s after %s s without traffic",
            self.network.mesh_name,
            self._proxy.address,
            idle_seconds,
        )
        self._state.set(False, released=True)
        self._proxy.async_release()

    def _resume(self) -> None:
        """Connect again after an idle release (the attempt's outcome ends ``released``)."""
        if self._state.released and self._started and self._proxy.released:
            _LOGGER.debug("Mesh network %s: reconnecting on demand", self.network.mesh_name)
            self._proxy.async_resume()

    # --- timers --------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.now()

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
            delay = max(0.0, deadline - self._now())
            self._cancel_timer = async_call_later(self.hass, delay, self._on_timer)

    @callback
    def _on_timer(self, fired_at: datetime) -> None:
        self._cancel_timer = None
        self._node.handle_timer(self._clock.fired(fired_at))
        self._pump()


type MeshConfigEntry = ConfigEntry[MeshRuntime]
