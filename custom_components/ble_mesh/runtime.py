"""Runtime of one mesh network config entry (``entry.runtime_data``).

:class:`MeshRuntime` is Home Assistant's node in the mesh network. It owns the engine's
:class:`~.mesh.transport.MeshStack` (network, lower and upper transport at the provisioner's
unicast address), the one GATT connection to a proxy node (:mod:`.proxy_connection`), the
persistence of the IV Index, the sequence number and the replay protection list, and the
automatic configuration of new nodes (:mod:`.node_config`). The engine builds and parses every
byte; this module does the I/O and the timers.

Messaging API (what entities use)
---------------------------------

``await runtime.async_send(dst, message, *, device_key=False, expect=None, timeout=5.0,
retries=2, background=False) -> Message | None``
    Encrypt ``message`` (an engine :class:`~.mesh.access.Message`) with AppKey 0, or with the
    device key of the node owning ``dst`` when ``device_key``; send it through the proxy.
    With ``expect`` (a response class, e.g. ``GenericOnOffStatus``) wait for the matching
    response from ``dst`` (any source for a group) and return it; unanswered attempts are
    retransmitted ``retries`` times, each ``timeout`` seconds apart: the same message, so the
    same TID, never a second transaction. Without ``expect`` return None once written.
    Raises :class:`~.exceptions.MeshNotConnectedError` when no proxy node is reachable,
    :class:`~.exceptions.MeshTimeoutError` when nothing answered,
    :class:`~.exceptions.MeshSendError` when it cannot be sent (no key for ``dst``).
    ``background=True`` is for work nobody waits for (state reads, node configuration, Key
    Refresh): it goes out only when no other message is waiting, so a user's command never
    queues behind it. A background message is encrypted (given its SEQ) and its request
    started (its timeout running) only when its turn comes: SEQ numbers leave in order.

``runtime.async_subscribe(callback, *, src=None) -> CALLBACK_TYPE``
    ``callback(src, message)`` for every access message received and decoded: responses to
    our requests and publications alike (a wall switch, a status a node publishes to us).
    With ``src``, only the messages from that address (what an entity of one element wants).
    Entities update by push from here; nothing polls. Call the result to unsubscribe.

``runtime.async_add_connection_listener(callback) -> CALLBACK_TYPE``, ``runtime.connected``
and ``runtime.available``
    ``connected`` is True while a proxy node is reachable (the link is up); ``available`` is
    True while it is, or while the link is released on purpose (below): what entities show.
    ``callback()`` runs when either changes (read them in it). A dropped link that
    reconnects at once does not flip them: entities go unavailable only when no proxy node
    can be reached.

Idle release (the ``release_when_idle`` option, :meth:`MeshRuntime.async_set_idle_release`)
    Many nodes accept one GATT connection, which the vendor's app may want too. When enabled,
    the link is closed after ``idle_seconds`` without a message sent or received (beacons do
    not count) and nothing pending; the network stays ``available``. The next
    :meth:`async_send` (or work such as a node to configure) connects again, waiting for the
    link within the send's time budget. While released, nothing published (a wall switch,
    a status) is received.

``runtime.next_tid(dst) -> int`` (and ``runtime.tids``, a :class:`~.mesh.models.common.TidCounter`)
    A new transaction identifier for a Set message to ``dst``.

Node removal and Key Refresh (:mod:`.key_refresh`)
--------------------------------------------------

``await runtime.async_remove_node(node)``
    Config Node Reset (a node out of reach is removed anyway, with a log line), removal from
    the database, and the Key Refresh that evicts the node's keys from the remaining nodes.
``await runtime.async_start_key_refresh()``
    A Key Refresh of every NetKey without removing a node (False: one already runs).

The database is the truth for the keys: :meth:`async_keys_changed` mirrors its NetKeys and
AppKeys, with their Key Refresh phase, into the engine's keyrings (``_load_keys``), at start
and after every step of the procedure, so what Home Assistant transmits with always matches
what is stored. The procedure runs in the same background task as the automatic
configuration, whenever a proxy node is reachable: an interrupted refresh resumes after a
restart or a reconnection. Nodes that do not take a step raise the ``key_refresh_stuck``
repair issue; the refresh waits in its phase and is retried like a failed configuration.

Persistence: SEQ numbers are reserved in blocks (the engine's :class:`SequenceAllocator`,
256 per block); each reservation is written to the small runtime-state store
(:mod:`.storage`) *before* a message using it leaves, so there is one small write per block,
and a restart continues after the last reservation (no SEQ is ever reused). IV Index changes
are written there at once; the replay protection list in the background (coalesced) and at
shutdown. The database itself is written only when the network changes; it carries a copy of
these values in its extension, as of its last save.
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
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later

from . import key_refresh
from .const import DOMAIN, MESH_PROVISIONING_SERVICE_UUID, SIGNAL_NODE_CONFIGURED
from .devices import async_register_node
from .exceptions import (
    MeshCommunicationError,
    MeshNotConnectedError,
    MeshSendError,
    MeshTimeoutError,
)
from .mesh.access import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    Message,
    MessageReceived,
    RequestCompleted,
    RequestTimedOut,
    RequestTracker,
    SendRequest,
    TrackerEvent,
    encode_message,
)
from .mesh.beacons import (
    MeshPrivateBeacon,
    MeshProvisioningServiceData,
    SecureNetworkBeacon,
    authenticate_network_beacon,
    decode_beacon,
    matches_network,
    matches_node,
)
from .mesh.database import MeshNetwork, Node
from .mesh.errors import DecodeError, MeshError
from .mesh.models.common import TidCounter
from .mesh.network import IvIndexState, NetworkKeyring, ReplayProtectionList, SequenceAllocator
from .mesh.proxy import ProxyMessageType, ProxySarError, Reassembler, segment
from .mesh.proxy_config import (
    MAX_ADDRESSES,
    AddAddresses,
    RemoveAddresses,
    receive_proxy_config,
    send_proxy_config,
)
from .mesh.transport import (
    AccessMessage,
    Action,
    AppKey,
    DeviceKey,
    MeshStack,
    PersistSequence,
    ReplayProtectionUpdated,
    SendPdu,
    TransferBusyError,
    TransferFailed,
)
from .node_config import async_configure_node, reset_configuration
from .proxy_connection import ProxyConnection
from .proxy_link import LinkError
from .storage import MeshStore, apply_state, state_data

_LOGGER = logging.getLogger(__name__)

# How far SEQ jumps when the runtime-state store is lost (65536 = 256 reservation blocks);
# the database's own copy of the reservation is at most DATABASE_SEQ_COPY_DELAY behind.
SEQ_RECOVERY_MARGIN = 0x10000
DATABASE_SEQ_COPY_DELAY = 600.0

APP_KEY_INDEX = 0
# The replay protection list is written in the background: a burst of statuses costs one
# write (HA writes pending data at shutdown too).
RPL_SAVE_DELAY = 30.0
# Automatic configuration: attempts before a repair issue, and the wait between attempts.
CONFIG_ATTEMPTS_BEFORE_ISSUE = 3
CONFIG_RETRY_DELAY = 30.0

type MessageCallback = Callable[[int, Message], None]
type ConnectionCallback = Callable[[], None]


@dataclass(slots=True)
class _Write:
    """One item of the ordered output: persist the runtime state, save, or write a PDU.

    ``done`` (when set) is resolved once the item is performed.
    """

    kind: ProxyMessageType | None = None
    data: bytes = b""
    persist: dict[str, int] | None = None
    save: bool = False
    state: bool = False
    done: asyncio.Future[None] | None = None


@dataclass(slots=True, eq=False)
class _Background:
    """A background message waiting for its turn; encrypted and started only then."""

    dst: int
    message: Message
    key: AppKey | DeviceKey
    expect: type[Message] | None
    timeout: float
    retries: int
    future: asyncio.Future[Message | None]
    request_id: int | None = None


def _load_keys(stack: MeshStack, network: MeshNetwork) -> None:
    """Mirror the database's NetKeys and AppKeys into the stack, Key Refresh state included.

    During a refresh the database holds the new key in ``key`` and the old one in
    ``old_key`` (MshCDB); the keyrings hold the old key with the new one beside it, in the
    same phase, so the stack transmits with the old keys in phase 1 and with the new ones in
    phase 2 (NetKey and bound AppKeys alike, MshPRT 1.1 §3.11.4), and receives with both.
    """
    keys = stack.net_keys
    for net_key in network.net_keys:
        keys.remove(net_key.index)
        keys.add(net_key.index, net_key.old_key or net_key.key)
        if net_key.old_key is not None:
            keys.update(net_key.index, net_key.key)
            if int(net_key.phase) == 2:
                keys.set_phase(net_key.index, 2)
    for app_key in network.app_keys:
        stack.app_keys.add(
            AppKey(app_key.index, app_key.old_key or app_key.key, app_key.bound_net_key)
        )
        if app_key.old_key is not None:
            stack.app_keys.update(AppKey(app_key.index, app_key.key, app_key.bound_net_key))


def _build_stack(network: MeshNetwork, own: Node) -> MeshStack:
    keys = NetworkKeyring()
    ext = network.extension
    iv = IvIndexState(iv_index=network.iv_index, update_in_progress=network.iv_update_active)
    stored_seq = network.sequence_number(own.unicast_address)
    seq_iv = ext.sequence_iv_index if ext is not None else None
    seq = SequenceAllocator.restore(
        {"iv_index": iv.tx_iv_index if seq_iv is None else seq_iv, "seq": stored_seq},
        iv.tx_iv_index,
    )
    rpl = ReplayProtectionList()
    if ext is not None:
        rpl = ReplayProtectionList.from_dict(
            {f"{src:04x}": [iv_, seq_] for src, (iv_, seq_) in ext.replay_protection.items()}
        )
    stack = MeshStack(
        primary_address=own.unicast_address,
        net_keys=keys,
        iv=iv,
        seq=seq,
        rpl=rpl,
        element_count=own.element_count,
        subscriptions=None,  # a controller listens to every group
    )
    _load_keys(stack, network)
    for node in network.nodes:
        if node is not own and node.device_key is not None:
            stack.add_device_key(
                DeviceKey(node.device_key, node.unicast_address, node.element_count)
            )
    return stack


class MeshRuntime:
    """What a loaded mesh network entry holds while Home Assistant runs."""

    def __init__(
        self, *, hass: HomeAssistant, entry_id: str, network: MeshNetwork, store: MeshStore
    ) -> None:
        """Build the engine from the stored network; nothing connects before async_start."""
        self.hass = hass
        self.entry_id = entry_id
        self.network = network
        self.store = store
        own = self._own_node()
        # 0 (unassigned) when the database has no node for us (a raw export): nothing is sent.
        self.unicast_address = own.unicast_address if own is not None else 0
        if own is not None and store.state is not None:
            apply_state(network, store.state, own.unicast_address)  # the newer values win
        elif own is not None and own.unicast_address in network.extension_sequence_numbers():
            # The runtime-state store is missing (deleted, or moved aside by Home Assistant as
            # unreadable) but this network has sent before: the database's copy of the SEQ
            # reservation may be behind what was used, so skip well past it rather than risk
            # sending a SEQ twice (MshPRT 1.1 §3.9.3).
            seq = network.sequence_number(own.unicast_address)
            network.set_sequence_number(
                own.unicast_address, min(seq + SEQ_RECOVERY_MARGIN, 0xFFFFFF)
            )
            _LOGGER.warning(
                "Mesh network %s: no runtime state was stored; sequence numbers continue "
                "%d above the last recorded value to be safe",
                network.mesh_name,
                SEQ_RECOVERY_MARGIN,
            )
        self._engine = _build_stack(network, own) if own is not None else None
        self.tids = TidCounter()
        self._tracker = RequestTracker()
        self._waiters: dict[int, asyncio.Future[Message]] = {}
        self._reassembler = Reassembler()
        self._subscribers: list[MessageCallback] = []
        self._subscribers_by_src: dict[int, list[MessageCallback]] = {}
        self._connection_listeners: list[ConnectionCallback] = []
        # The ordered output: batches (one message's PDUs stay together, in order) before the
        # background messages, which are encrypted only when the batches are all written.
        self._writes: deque[list[_Write]] = deque()
        self._background: deque[_Background] = deque()
        self._marks: set[asyncio.Future[None]] = set()
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
        self._config_task: asyncio.Task[None] | None = None
        self._config_attempts: dict[str, int] = {}
        self._cancel_config_retry: CALLBACK_TYPE | None = None
        self._refresh_stuck: list[Node] = []
        self._work_again = False
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
    def mesh_uuid(self) -> str:
        """The network's MshCDB meshUUID (32 hex digits), the entry's unique id."""
        return self.network.mesh_uuid.hex

    def _own_node(self) -> Node | None:
        provisioner = self.network.local_provisioner
        return self.network.node_by_uuid(provisioner.uuid) if provisioner is not None else None

    @property
    def _stack(self) -> MeshStack:
        assert self._engine is not None
        return self._engine

    # --- lifecycle -----------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Start looking for proxy nodes and connect to the best one."""
        if self._engine is None:
            _LOGGER.warning(
                "Mesh network %s has no node for Home Assistant: it cannot send messages",
                self.network.mesh_name,
            )
            return
        self._started = True
        self._proxy.async_start()

    async def async_stop(self, *_args: Any) -> None:
        """Close the connection, cancel every task and timer, write what is pending."""
        if not self._started:
            return
        self._started = False
        self._cancel_timers()
        self._cancel_idle_timer()
        if self._cancel_config_retry is not None:
            self._cancel_config_retry()
            self._cancel_config_retry = None
        for task in (self._config_task, self._writer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._config_task = self._writer = None
        futures: list[asyncio.Future[Any]] = [
            *self._waiters.values(),
            *(item.future for item in self._background),
            *self._marks,
            *self._link_waiters,
        ]
        for future in futures:
            if not future.done():
                future.cancel()
        self._waiters.clear()
        self._background.clear()
        self._writes.clear()
        self._marks.clear()
        self._link_waiters.clear()
        await self._proxy.async_stop()
        self._set_connected(False, released=False)
        # Whatever the cancelled writer did not get to: the current reservation covers it.
        self._record_sequence(self._stack.seq.persisted_state())
        await self.store.async_save_state(self._state_data())
        await self.store.async_flush()  # a coalesced database save still pending

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
        engine = self._engine
        return {
            "unicast_address": f"{self.unicast_address:04X}",
            "connected": self._connected,
            "released": self._released,
            "proxy_address": self._proxy.address,
            "proxy_candidates": self._proxy.candidates,
            "iv_index": engine.iv.iv_index if engine is not None else None,
            "iv_update_in_progress": engine.iv.update_in_progress if engine else None,
            "next_seq": engine.seq.next_seq if engine is not None else None,
            "replay_protection_entries": len(engine.rpl) if engine is not None else 0,
            "pending_requests": self._tracker.pending,
            "unconfigured_nodes": [f"{n.unicast_address:04X}" for n in self._unconfigured()],
            "configuration_attempts": dict(self._config_attempts),
            # Key Refresh (no key material, and no "key" in the names: the tests search for it)
            "refresh_phases": {
                str(k.index): int(k.phase) for k in self.network.net_keys if k.old_key is not None
            },
            "refresh_pending": key_refresh.work_pending(self.network),
            "refresh_waiting_for": [f"{n.unicast_address:04X}" for n in self._refresh_stuck],
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
        key = self._key_for(dst, device_key=device_key)
        if background:
            return await self._async_send_background(
                _Background(
                    dst,
                    message,
                    key,
                    expect,
                    timeout,
                    retries,
                    self.hass.loop.create_future(),
                )
            )
        if expect is None:
            try:
                self._transmit(dst, encode_message(message), key)
            except MeshError as err:
                raise MeshSendError(dst, str(err)) from err
            await self._async_written()
            return None
        try:
            request = self._tracker.send(
                dst,
                message,
                now=self._now(),
                expect=expect,
                timeout=timeout,
                retries=retries,
                context=key,
            )
        except MeshError as err:
            raise MeshSendError(dst, str(err)) from err
        future: asyncio.Future[Message] = self.hass.loop.create_future()
        self._waiters[request.request_id] = future
        try:
            self._send_request(request)
            return await future
        finally:
            self._waiters.pop(request.request_id, None)
            self._tracker.cancel(request.request_id)
            self._schedule_timer()

    async def _async_send_background(self, item: _Background) -> Message | None:
        """Queue ``item`` behind everything else; the writer starts it (:meth:`_start`)."""
        self._background.append(item)
        self._kick_writer()
        try:
            return await item.future
        finally:
            if item.request_id is not None:
                self._waiters.pop(item.request_id, None)
                self._tracker.cancel(item.request_id)
                self._schedule_timer()
            elif not item.future.done():
                item.future.cancel()  # not started: the writer skips it

    def _start(self, item: _Background) -> None:
        """Encrypt and queue a background message, start its request (the writer's turn)."""
        if item.future.done():
            return  # its caller went away
        if item.expect is None:
            try:
                self._transmit(item.dst, encode_message(item.message), item.key)
            except MeshError as err:
                item.future.set_exception(MeshSendError(item.dst, str(err)))
                return
            item.future.set_result(None)
            return
        try:
            request = self._tracker.send(
                item.dst,
                item.message,
                now=self._now(),
                expect=item.expect,
                timeout=item.timeout,
                retries=item.retries,
                context=item.key,
            )
        except MeshError as err:
            item.future.set_exception(MeshSendError(item.dst, str(err)))
            return
        item.request_id = request.request_id
        self._waiters[request.request_id] = item.future  # type: ignore[assignment]
        self._send_request(request)

    def _key_for(self, dst: int, *, device_key: bool) -> AppKey | DeviceKey:
        if device_key:
            for device in self._stack.device_keys:
                if device.covers(dst):
                    return device
            raise MeshSendError(dst, "no device key for this address")
        app = self._stack.app_keys.lookup(APP_KEY_INDEX)
        if app is None:
            raise MeshSendError(dst, "the network has no application key")
        return app

    # --- nodes ---------------------------------------------------------------------------

    @callback
    def async_node_added(self, node: Node) -> None:
        """A node was provisioned into this network: a device, then configured automatically."""
        async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
        # Provisioned during a Key Refresh: it was given the database's (new) NetKey.
        key_refresh.node_added_during_refresh(self.network, node)
        if self._engine is None:
            return
        if node.device_key is not None:
            self._stack.add_device_key(
                DeviceKey(node.device_key, node.unicast_address, node.element_count)
            )
        # Configure it over its own proxy service when we know its Bluetooth address (its
        # old provisioning advertisement still carries its Device UUID).
        self._proxy.async_prefer(self._bluetooth_address(node))
        self._resume()
        self._schedule_configuration()

    @callback
    def async_node_changed(self, node: Node) -> None:
        """The database record of ``node`` changed (composition data): update the device."""
        async_register_node(self.hass, self.entry_id, self.mesh_uuid, node)
        # Platforms add the entities of elements they did not know yet (dynamic devices).
        async_dispatcher_send(self.hass, SIGNAL_NODE_CONFIGURED.format(self.entry_id), node)
        if node.device_key is not None:
            self._stack.add_device_key(
                DeviceKey(node.device_key, node.unicast_address, node.element_count)
            )

    @callback
    def async_keys_changed(self) -> None:
        """The database's keys or Key Refresh phases changed: mirror them into the stack."""
        if self._engine is not None:
            _load_keys(self._engine, self.network)

    async def async_remove_node(self, node: Node) -> None:
        """Reset ``node``, remove it from the network and refresh the keys of the others.

        The node is removed even when it cannot be reset (out of reach, no proxy): the Key
        Refresh that follows makes the keys it still holds useless.
        """
        if self._engine is not None and self.available:  # released: the send reconnects
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
        started = key_refresh.remove_from_network(self.network, node)
        if self._engine is not None:
            self._stack.device_keys = [
                k for k in self._stack.device_keys if k.address != node.unicast_address
            ]
        self._config_attempts.pop(node.uuid.hex, None)
        ir.async_delete_issue(
            self.hass, DOMAIN, f"node_not_configured_{self.entry_id}_{node.uuid.hex}"
        )
        self._refresh_stuck = [n for n in self._refresh_stuck if n is not node]
        self.async_keys_changed()
        await self.async_save()
        _LOGGER.info(
            "Mesh node %s removed from network %s%s",
            key_refresh.node_label(node),
            self.network.mesh_name,
            "; key refresh started" if started else "",
        )
        self._kick_work()

    async def async_start_key_refresh(self) -> bool:
        """Start a Key Refresh of every NetKey; False when one is already in progress."""
        if key_refresh.in_progress(self.network):
            return False
        key_refresh.begin(self.network)
        self.async_keys_changed()
        await self.async_save()
        self._kick_work()
        return True

    @callback
    def async_reconfigure_node(self, node: Node) -> None:
        """Run the automatic configuration of ``node`` again (see node_config)."""
        reset_configuration(node)
        self._config_attempts.pop(node.uuid.hex, None)
        self.store.async_schedule_save(self.network, 0)
        self._kick_work()

    @callback
    def _kick_work(self) -> None:
        """Run pending work now rather than after the retry delay (connecting if released)."""
        if self._cancel_config_retry is not None:
            self._cancel_config_retry()
            self._cancel_config_retry = None
        if self._unconfigured() or key_refresh.work_pending(self.network):
            self._resume()
        self._schedule_configuration()

    async def async_save(self) -> None:
        """Write the network now (through the ordered output, after pending SEQ writes)."""
        self._writes.append([_Write(save=True)])
        await self._async_written()

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

    def _unconfigured(self) -> list[Node]:
        provisioners = {p.uuid for p in self.network.provisioners}
        return [
            n
            for n in self.network.nodes
            if not n.config_complete and not n.excluded and n.uuid not in provisioners
        ]

    @callback
    def _schedule_configuration(self) -> None:
        if not self._started or not self._connected:
            return
        if self._config_task is not None and not self._config_task.done():
            self._work_again = True  # picked up when the running pass ends
            return
        if not self._unconfigured() and not key_refresh.work_pending(self.network):
            return
        self._config_task = self.hass.async_create_background_task(
            self._async_work(), f"ble_mesh {self.network.mesh_name} configuration"
        )

    async def _async_work(self) -> None:
        """One pass of the Configuration Manager: configure new nodes, then refresh keys."""
        self._work_again = False
        failed = await self._async_configure_pending()
        if self._connected and key_refresh.work_pending(self.network):
            failed = not await self._async_refresh_keys() or failed
        if self._work_again and self._started:
            self.hass.loop.call_soon(self._schedule_configuration)  # asked for during the pass
        elif failed and self._started:
            if self._cancel_config_retry is not None:
                self._cancel_config_retry()
            self._cancel_config_retry = async_call_later(
                self.hass, CONFIG_RETRY_DELAY, self._retry_configuration
            )

    async def _async_refresh_keys(self) -> bool:
        """Run the Key Refresh; False (and the repair issue) when nodes did not take a step."""
        issue_id = f"key_refresh_stuck_{self.entry_id}"
        try:
            await key_refresh.async_refresh_keys(self)
        except key_refresh.KeyRefreshStuckError as err:
            if not self._connected:
                return False  # the connection went away: resumed on the next one
            self._refresh_stuck = err.nodes
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="key_refresh_stuck",
                translation_placeholders={
                    "network": self.network.mesh_name,
                    "phase": str(err.phase),
                    "nodes": ", ".join(key_refresh.node_label(n) for n in err.nodes),
                },
            )
            return False
        except MeshCommunicationError as err:
            _LOGGER.info("Key refresh of %s interrupted: %s", self.network.mesh_name, err)
            return False
        self._refresh_stuck = []
        ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        return True

    async def _async_configure_pending(self) -> bool:
        """Configure every unconfigured node; True when one of them failed."""
        failed = False
        for node in self._unconfigured():
            if not self._connected:
                return failed
            if self.network.node_by_uuid(node.uuid) is None:
                continue  # removed meanwhile
            key = node.uuid.hex
            issue_id = f"node_not_configured_{self.entry_id}_{key}"
            try:
                await async_configure_node(self, node)
            except MeshCommunicationError as err:
                failed = True
                attempts = self._config_attempts.get(key, 0) + 1
                self._config_attempts[key] = attempts
                _LOGGER.info(
                    "Configuring mesh node %04X failed (attempt %d): %s",
                    node.unicast_address,
                    attempts,
                    err,
                )
                if attempts >= CONFIG_ATTEMPTS_BEFORE_ISSUE:
                    ir.async_create_issue(
                        self.hass,
                        DOMAIN,
                        issue_id,
                        is_fixable=False,
                        severity=ir.IssueSeverity.WARNING,
                        translation_key="node_not_configured",
                        translation_placeholders={
                            "name": node.name or f"{node.unicast_address:04X}",
                            "address": f"{node.unicast_address:04X}",
                            "network": self.network.mesh_name,
                            "error": str(err),
                        },
                    )
                continue
            self._config_attempts.pop(key, None)
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            if self._proxy.preferred is not None and not self._unconfigured():
                self._proxy.preferred = None
            _LOGGER.debug("Mesh node %04X configured", node.unicast_address)
        return failed

    @callback
    def _retry_configuration(self, _now: object) -> None:
        self._cancel_config_retry = None
        self._schedule_configuration()

    # --- connection events ---------------------------------------------------------------

    def _is_our_proxy(self, service_data: bytes) -> bool:
        net_keys = [k for e in self._stack.net_keys for k, _new in e.rx_keys()]
        if matches_network(service_data, net_keys):
            return True
        return any(
            matches_node(service_data, key, node.unicast_address)
            for node in self.network.nodes
            for key in net_keys
        )

    @callback
    def _on_link_up(self) -> None:
        self._reassembler.reset()
        # MshPRT 1.1 §6.7: a new connection starts with an empty accept list (so no Set Filter
        # Type); ours holds our own address and the groups we listen to (5 addresses per
        # message, §6.6.2).
        groups = sorted({g.destination for g in self.network.groups if g.destination != 0})
        addresses = [self.unicast_address, *groups]
        messages = [
            AddAddresses(tuple(addresses[start : start + MAX_ADDRESSES]))
            for start in range(0, len(addresses), MAX_ADDRESSES)
        ]
        for message in messages:
            self._queue_actions(
                send_proxy_config(self._stack, message), ProxyMessageType.PROXY_CONFIGURATION
            )
        self._kick_writer()

    @callback
    def async_add_group_to_filter(self, address: int) -> None:
        """A group was created: let the proxy forward what is sent to it (MshPRT 1.1 §6.6)."""
        self._update_filter(AddAddresses((address,)))

    @callback
    def async_remove_group_from_filter(self, address: int) -> None:
        """A group was deleted: take it off the proxy's accept list."""
        self._update_filter(RemoveAddresses((address,)))

    def _update_filter(self, message: AddAddresses | RemoveAddresses) -> None:
        # Without a link there is nothing to update: the next connection's accept list is
        # built from the database's groups (_on_link_up).
        if self._engine is None or self._proxy.link is None:
            return
        self._queue_actions(
            send_proxy_config(self._stack, message), ProxyMessageType.PROXY_CONFIGURATION
        )
        self._kick_writer()

    @callback
    def _on_link_down(self) -> None:
        self._reassembler.reset()

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
            self._schedule_configuration()

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

    # --- receive -------------------------------------------------------------------------

    @callback
    def _on_data(self, value: bytes) -> None:
        now = self._now()
        try:
            message = self._reassembler.receive(value, now)
        except ProxySarError as err:
            # MshPRT 1.1 §6.5: a SAR violation closes the connection.
            _LOGGER.debug("Proxy protocol error from %s: %s", self._proxy.address, err)
            self._proxy.async_drop()
            return
        if message is None:
            self._schedule_timer()
            return
        if message.message_type is not ProxyMessageType.MESH_BEACON:
            self._restart_idle_timer()  # traffic (beacons do not keep the link)
        if message.message_type is ProxyMessageType.NETWORK_PDU:
            self._handle(self._stack.receive(message.data, now))
        elif message.message_type is ProxyMessageType.MESH_BEACON:
            self._on_beacon(message.data, now)
        elif message.message_type is ProxyMessageType.PROXY_CONFIGURATION:
            received, actions = receive_proxy_config(self._stack, message.data)
            self._handle(actions)
            if received is not None:
                _LOGGER.debug("Proxy filter: %s", received.message)
        self._schedule_timer()

    def _on_beacon(self, data: bytes, now: float) -> None:
        try:
            beacon = decode_beacon(data)
        except DecodeError:
            return
        if not isinstance(beacon, SecureNetworkBeacon | MeshPrivateBeacon):
            return
        keys = {
            (entry.index, new): key
            for entry in self._stack.net_keys
            for key, new in entry.rx_keys()
        }
        found = authenticate_network_beacon(beacon, keys)
        if found is None:
            _LOGGER.debug("Ignored a beacon no key of ours authenticates")
            return
        (net_key_index, _new), info = found
        iv = self._stack.iv
        change = iv.on_beacon(info.iv_index, info.iv_update, now, primary_subnet=net_key_index == 0)
        if change is None:
            return
        _LOGGER.info(
            "Mesh network %s: IV Index %d -> %d%s",
            self.network.mesh_name,
            change.old_iv_index,
            change.iv_index,
            " (IV Update in progress)" if change.update_in_progress else "",
        )
        self.network.set_iv_index(iv.iv_index, update_active=iv.update_in_progress)
        self._writes.append([_Write(state=True)])
        self._kick_writer()

    def _handle(self, actions: list[Action]) -> None:
        messages: list[AccessMessage] = []
        output: list[Action] = []
        for action in actions:
            if isinstance(action, SendPdu | PersistSequence):
                output.append(action)
            elif isinstance(action, ReplayProtectionUpdated):
                ext = self.network._ext()  # noqa: SLF001 - our own extension record
                ext.replay_protection[action.src] = (action.iv_index, action.seq)
                self.store.async_schedule_state_save(self._state_data, RPL_SAVE_DELAY)
            elif isinstance(action, AccessMessage):
                messages.append(action)
            elif isinstance(action, TransferFailed):
                _LOGGER.debug("Segmented message to %04X failed: %s", action.dst, action.reason)
        # One batch: the segments of a message leave together and in order.
        self._queue_actions(output, ProxyMessageType.NETWORK_PDU)
        if self._writes:
            self._kick_writer()
        for access in messages:
            self._tracker_events(self._tracker.receive(access.src, access.payload, now=self._now()))

    def _tracker_events(self, events: list[TrackerEvent]) -> None:
        for event in events:
            if isinstance(event, RequestCompleted):
                future = self._waiters.get(event.request_id)
                if future is not None and not future.done():
                    future.set_result(event.response)
                self._dispatch(event.src, event.response)
            elif isinstance(event, MessageReceived):
                self._dispatch(event.src, event.message)
            elif isinstance(event, SendRequest):
                self._send_request(event)
            elif isinstance(event, RequestTimedOut):
                future = self._waiters.get(event.request_id)
                if future is not None and not future.done():
                    future.set_exception(MeshTimeoutError(event.dst))
            else:  # unknown or malformed: nothing to deliver (and nothing of it logged)
                _LOGGER.debug("Undecodable access message from %04X", event.src)

    def _dispatch(self, src: int, message: Message) -> None:
        for subscriber in (*self._subscribers, *self._subscribers_by_src.get(src, ())):
            try:
                subscriber(src, message)
            except Exception:
                _LOGGER.exception("Error in a mesh message subscriber")

    # --- transmit ------------------------------------------------------------------------

    def _send_request(self, request: SendRequest) -> None:
        key = request.context
        assert isinstance(key, AppKey | DeviceKey)
        try:
            self._transmit(request.dst, request.payload, key)
        except MeshError as err:
            _LOGGER.debug("Cannot send to %04X: %s", request.dst, err)
        self._schedule_timer()

    def _transmit(self, dst: int, payload: bytes, key: AppKey | DeviceKey) -> None:
        now = self._now()
        try:
            actions = self._stack.send_access(dst, payload, key=key, now=now)
        except TransferBusyError:
            # A retransmission while the previous segmented attempt still runs: replace it.
            actions = self._stack.cancel_transfer(dst)
            actions += self._stack.send_access(dst, payload, key=key, now=now)
        self._handle(actions)
        self._schedule_timer()

    def _queue_actions(self, actions: list[Action], kind: ProxyMessageType) -> None:
        batch: list[_Write] = []
        for action in actions:
            if isinstance(action, PersistSequence):
                batch.append(_Write(persist=action.state))
            elif isinstance(action, SendPdu):
                batch.append(_Write(kind=kind, data=action.data))
        if batch:
            self._writes.append(batch)

    def _kick_writer(self) -> None:
        # The writer starts eagerly: while it runs (and starts a background message, which
        # queues its PDUs and kicks), ``self._writer`` may not name it yet.
        if self._writing:
            return
        if self._writer is None or self._writer.done():
            self._writer = self.hass.async_create_background_task(
                self._async_write_all(), f"ble_mesh {self.network.mesh_name} writes"
            )

    async def _async_written(self) -> None:
        """Wait until every batch queued so far is written (not the background messages)."""
        done: asyncio.Future[None] = self.hass.loop.create_future()
        self._marks.add(done)
        self._writes.append([_Write(done=done)])
        self._kick_writer()
        try:
            await done
        finally:
            self._marks.discard(done)

    def _record_sequence(self, reservation: dict[str, int]) -> None:
        """Keep the SEQ reservation in the extension (the database's copy, as of its saves)."""
        self.network.set_sequence_number(self.unicast_address, reservation["seq"])
        self.network._ext().sequence_iv_index = reservation["iv_index"]  # noqa: SLF001

    def _state_data(self) -> dict[str, Any]:
        return state_data(self.network._ext(), self.unicast_address)  # noqa: SLF001

    async def _async_write_all(self) -> None:
        """Perform the ordered output: SEQ reservations are stored before the PDUs using them.

        Batches first, in order, each whole; a background message is started only when no
        batch waits (its PDUs become the next batch), so its SEQ numbers follow every SEQ
        already handed out.
        """
        self._writing = True
        try:
            await self._async_write_batches()
        finally:
            self._writing = False

    async def _async_write_batches(self) -> None:
        while True:
            if self._writes:
                batch = self._writes.popleft()
            elif self._background:
                self._start(self._background.popleft())
                continue
            else:
                return
            for item in batch:
                try:
                    await self._async_perform(item)
                except Exception as err:
                    _LOGGER.exception("Mesh output of %s failed", self.network.mesh_name)
                    if item.done is not None and not item.done.done():
                        item.done.set_exception(err)
                    if item.persist is not None:
                        break  # never send PDUs whose SEQ reservation was not stored

    async def _async_perform(self, item: _Write) -> None:
        if item.persist is not None:
            self._record_sequence(item.persist)
            await self.store.async_save_state(self._state_data())
            # Keep the database's copy of the reservation roughly current too (coalesced,
            # rarely written): it bounds how far SEQ_RECOVERY_MARGIN must reach.
            # Only when none is pending: rescheduling would push the write back forever.
            if not self.store.save_pending:
                self.store.async_schedule_save(self.network, DATABASE_SEQ_COPY_DELAY)
        elif item.state:
            await self.store.async_save_state(self._state_data())
        elif item.save:
            await self.store.async_save(self.network)
        elif item.kind is not None:
            link = self._proxy.link
            if link is not None:  # lost: acknowledged requests retransmit after reconnecting
                self._restart_idle_timer()
                try:
                    for value in segment(item.kind, item.data, link.att_mtu - 3):
                        await self._proxy.async_write(value)
                except LinkError as err:
                    _LOGGER.debug("Write to the proxy failed: %s", err)
        if item.done is not None and not item.done.done():
            item.done.set_result(None)

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
            self._writes
            or self._background
            or self._writing
            or self._waiters
            or self._tracker.pending
            or (self._config_task is not None and not self._config_task.done())
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

    def _now(self) -> float:
        return self.hass.loop.time()

    def _cancel_timers(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _schedule_timer(self) -> None:
        self._cancel_timers()
        if not self._started:
            return
        deadlines = [
            d
            for d in (
                self._stack.next_deadline(),
                self._tracker.next_deadline(),
                self._reassembler.next_deadline(),
            )
            if d is not None
        ]
        if deadlines:
            self._timer_deadline = min(deadlines)
            delay = max(0.0, self._timer_deadline - self._now())
            self._cancel_timer = async_call_later(self.hass, delay, self._on_timer)

    @callback
    def _on_timer(self, _now: object) -> None:
        self._cancel_timer = None
        # The timer fires at the deadline it was set for (tests move HA's scheduler, not the
        # loop clock), like the provisioning session does.
        now = max(self._now(), self._timer_deadline)
        if self._reassembler.expire(now):
            self._proxy.async_drop()
        self._handle(self._stack.handle_timeout(now))
        self._tracker_events(self._tracker.poll(now))
        self._schedule_timer()


type MeshConfigEntry = ConfigEntry[MeshRuntime]
