"""The one long-lived GATT connection of a mesh network to a proxy node.

A proxy node is any node advertising the Mesh Proxy service (0x1828) with service data that
is ours: our Network ID (or Private Network Identity), or the Node Identity of one of our
nodes (MshPRT 1.1 §7.2.2.2). Home Assistant's Bluetooth stack reports them (local adapters,
ESPHome proxies or the virtual proxy alike); :class:`ProxyConnection` keeps a list of them
with their RSSI and holds a :class:`~.proxy_link.GattLink` to the best one.

Theory of operation (no long-lived task; every step is a short task or a timer):

* a connection attempt picks the best candidate: the *preferred* address first (a node that
  still has to be configured), then the fewest recent failures, then the strongest RSSI;
* when the attempt fails and another candidate has failed less, it is tried at once (this is
  how a vanished proxy node fails over to another one); otherwise the network counts as
  unreachable and the next attempt waits for the backoff timer (1 s, 2 s, 5 s ... 60 s) or
  for a new advertisement of ours, whichever comes first;
* when an established link drops, it is reconnected at once; only a failed attempt makes the
  network unreachable, so a short drop does not make entities unavailable;
* :meth:`ProxyConnection.async_release` closes the link on purpose (the runtime's idle
  release) and makes no attempt until :meth:`ProxyConnection.async_resume`; ``reachable``
  is unknown (None) meanwhile, so the next attempt reports its outcome either way.

It moves opaque bytes only: Proxy PDU SAR and everything above belong to the runtime and the
engine.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
import logging

from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .mesh.proxy import MESH_PROXY_SERVICE_UUID
from .proxy_link import PROXY, GattLink, LinkError

_LOGGER = logging.getLogger(__name__)

# Seconds before the next attempt once every candidate failed (the last value repeats).
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ProxyConnection:
    """Find the best proxy node of one network and keep a GATT connection to it."""

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        *,
        is_ours: Callable[[bytes], bool],
        on_data: Callable[[bytes], None],
        on_link_up: Callable[[], None],
        on_link_down: Callable[[], None],
        on_reachable: Callable[[bool], None],
        link_factory: Callable[..., GattLink] = GattLink,
    ) -> None:
        """Prepare; nothing happens until :meth:`async_start`."""
        self._hass = hass
        self._name = name
        self._is_ours = is_ours
        self._on_data = on_data
        self._on_link_up = on_link_up
        self._on_link_down = on_link_down
        self._on_reachable = on_reachable
        self._link_factory = link_factory
        self._candidates: dict[str, int] = {}  # address -> last RSSI
        self._failures: Counter[str] = Counter()
        self._rounds = 0  # consecutive rounds in which every candidate failed
        self._link: GattLink | None = None
        self._attempt: asyncio.Task[None] | None = None
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._cancel_callback: CALLBACK_TYPE | None = None
        self._running = False
        self._released = False  # closed on purpose: no attempt until async_resume
        self._disconnecting: asyncio.Task[None] | None = None
        self._idle = False  # no candidate was present at the last attempt
        self.reachable: bool | None = None  # None: not known yet (no attempt finished)
        self.preferred: str | None = None

    # --- state -------------------------------------------------------------------------

    @property
    def link(self) -> GattLink | None:
        """The established link, if any."""
        link = self._link
        return link if link is not None and link.is_connected else None

    @property
    def address(self) -> str | None:
        """The Bluetooth address of the connected proxy node."""
        link = self.link
        return link.address if link is not None else None

    @property
    def released(self) -> bool:
        """True while the link is closed on purpose (see :meth:`async_release`)."""
        return self._released

    @property
    def candidates(self) -> dict[str, int]:
        """Proxy nodes of ours seen so far (address -> RSSI)."""
        return dict(self._candidates)

    # --- lifecycle ---------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Collect what Home Assistant already saw, watch for more, connect."""
        self._running = True
        for info in bluetooth.async_discovered_service_info(self._hass, connectable=True):
            self._consider(info)
        self._cancel_callback = bluetooth.async_register_callback(
            self._hass,
            self._on_advertisement,
            bluetooth.BluetoothCallbackMatcher(
                service_data_uuid=MESH_PROXY_SERVICE_UUID, connectable=True
            ),
            bluetooth.BluetoothScanningMode.PASSIVE,
        )
        self._schedule(0.0)

    async def async_stop(self) -> None:
        """Close the link and cancel every timer and task (idempotent)."""
        self._running = False
        if self._cancel_callback is not None:
            self._cancel_callback()
            self._cancel_callback = None
        self._cancel_pending_timer()
        attempt, self._attempt = self._attempt, None
        if attempt is not None and not attempt.done():
            attempt.cancel()
        link, self._link = self._link, None
        if link is not None:
            await link.async_disconnect()
        disconnecting, self._disconnecting = self._disconnecting, None
        if disconnecting is not None:
            await disconnecting

    @callback
    def async_release(self) -> None:
        """Close the link on purpose and stay disconnected until :meth:`async_resume`."""
        if not self._running or self._released:
            return
        self._released = True
        self.reachable = None
        self._cancel_pending_timer()
        attempt, self._attempt = self._attempt, None
        if attempt is not None and not attempt.done():
            attempt.cancel()
        link, self._link = self._link, None
        if link is None:
            return
        self._on_link_down()
        self._disconnecting = self._hass.async_create_background_task(
            self._async_disconnect(link), f"ble_mesh {self._name} release proxy"
        )

    async def _async_disconnect(self, link: GattLink) -> None:
        try:
            await link.async_disconnect()  # no disconnect callback for our own disconnect
        finally:
            self._disconnecting = None

    @callback
    def async_resume(self) -> None:
        """Connect again after :meth:`async_release` (the next attempt starts at once)."""
        if not self._released:
            return
        self._released = False
        self._schedule(0.0)

    @callback
    def async_prefer(self, address: str | None) -> None:
        """Prefer ``address`` (a node to configure); switch to it if it is a candidate."""
        self.preferred = address
        self._switch_to_preferred()

    def _switch_to_preferred(self) -> None:
        address = self.preferred
        if address is None or not self._running or address not in self._candidates:
            return
        if self.address not in (None, address):
            _LOGGER.debug("%s: switching proxy to %s", self._name, address)
            self._hass.async_create_background_task(
                self._async_drop(), f"ble_mesh {self._name} switch proxy"
            )

    async def _async_drop(self) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        self._on_link_down()
        await link.async_disconnect()  # no disconnect callback for our own disconnect
        if self._running:
            self._schedule(0.0)

    @callback
    def async_drop(self) -> None:
        """Drop the link (the other side broke the protocol); it is reconnected."""
        if self._link is not None:
            self._hass.async_create_background_task(
                self._async_drop(), f"ble_mesh {self._name} drop proxy"
            )

    async def async_write(self, value: bytes) -> None:
        """Write one Proxy PDU; raises LinkError when there is no link."""
        link = self.link
        if link is None:
            raise LinkError("not_connected")
        await link.async_write(value)

    # --- candidates --------------------------------------------------------------------

    @callback
    def _on_advertisement(
        self, info: bluetooth.BluetoothServiceInfoBleak, _change: bluetooth.BluetoothChange
    ) -> None:
        known = info.address in self._candidates
        if not self._consider(info) or not self._running:
            return
        if self._link is None:
            # A new proxy of ours, or one while there was none: do not wait for the backoff.
            # (A known one that keeps failing keeps its backoff, however often it advertises.)
            if not self._attempt_running() and (not known or self._idle):
                self._schedule(0.0)
        elif info.address == self.preferred:
            self._switch_to_preferred()

    def _consider(self, info: bluetooth.BluetoothServiceInfoBleak) -> bool:
        data = info.service_data.get(MESH_PROXY_SERVICE_UUID)
        if not data or not self._is_ours(bytes(data)):
            return False
        if info.address not in self._candidates:
            _LOGGER.debug("%s: proxy node %s (RSSI %d)", self._name, info.address, info.rssi)
        self._candidates[info.address] = info.rssi
        return True

    def _present(self) -> list[str]:
        return [
            address
            for address in self._candidates
            if bluetooth.async_ble_device_from_address(self._hass, address, connectable=True)
            is not None
        ]

    def _rssi(self, address: str) -> int:
        info = bluetooth.async_last_service_info(self._hass, address, connectable=True)
        return info.rssi if info is not None else self._candidates.get(address, -127)

    def _best(self) -> str | None:
        present = self._present()
        if not present:
            return None
        return min(present, key=lambda a: (a != self.preferred, self._failures[a], -self._rssi(a)))

    # --- attempts ----------------------------------------------------------------------

    def _cancel_pending_timer(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _schedule(self, delay: float) -> None:
        self._cancel_pending_timer()
        if not self._running or self._released:
            return
        if delay <= 0:
            self._start_attempt()
            return
        self._cancel_timer = async_call_later(self._hass, delay, self._on_timer)

    @callback
    def _on_timer(self, _now: object) -> None:
        self._cancel_timer = None
        if self._running and self._link is None:
            self._start_attempt()

    def _attempt_running(self) -> bool:
        return self._attempt is not None and not self._attempt.done()

    def _start_attempt(self) -> None:
        if self._attempt_running() or self._link is not None or self._released:
            return
        self._attempt = self._hass.async_create_background_task(
            self._async_attempt(), f"ble_mesh {self._name} proxy connect"
        )

    async def _async_attempt(self) -> None:
        if self._disconnecting is not None:  # the released link is still being closed
            await self._disconnecting
        try:
            delay = await self._async_connect_best()
        finally:
            if self._attempt is asyncio.current_task():
                self._attempt = None  # (not a newer attempt, after a release cancelled this one)
        if delay is not None and self._running and self._link is None:
            self._schedule(delay)

    async def _async_connect_best(self) -> float | None:
        """One connection attempt; returns when to try again (None: connected)."""
        address = self._best()
        self._idle = address is None
        if address is None:
            # Nothing to try: wait for an advertisement of ours (the callback starts an
            # attempt at once), and look again now and then.
            self._set_reachable(False)
            return BACKOFF[-1]
        link = self._link_factory(self._hass, address, PROXY, self._on_data, self._link_lost)
        try:
            await link.async_connect()
        except LinkError as err:
            self._failures[address] += 1
            _LOGGER.debug("%s: cannot connect to proxy %s: %s", self._name, address, err)
            others = [a for a in self._present() if self._failures[a] < self._failures[address]]
            if others:
                return 0.0  # fail over at once
            self._set_reachable(False)
            delay = BACKOFF[min(self._rounds, len(BACKOFF) - 1)]
            self._rounds += 1
            return delay
        if not self._running or self._released:
            await link.async_disconnect()
            return None
        self._link = link
        self._failures.pop(address, None)
        self._rounds = 0
        _LOGGER.debug("%s: connected to proxy node %s", self._name, address)
        self._on_link_up()
        self._set_reachable(True)
        return None

    @callback
    def _link_lost(self) -> None:
        """The proxy node dropped the link (or we dropped it): reconnect at once."""
        if self._link is not None and not self._link.is_connected:
            self._link = None
        if self._link is None:
            self._on_link_down()
            if self._running:
                self._schedule(0.0)

    def _set_reachable(self, reachable: bool) -> None:
        if self.reachable == reachable:
            return
        before, self.reachable = self.reachable, reachable
        if not reachable and before is None:
            _LOGGER.info("Mesh network %s: no proxy node is reachable yet", self._name)
        elif not reachable:
            _LOGGER.warning("Mesh network %s: no proxy node is reachable", self._name)
        elif before is False:
            _LOGGER.info("Mesh network %s: a proxy node is reachable again", self._name)
        self._on_reachable(reachable)
