"""Whether a mesh network is reachable, who listens for changes and who waits for a link.

The runtime's connection state (:class:`~.runtime.MeshRuntime`): *connected* while a proxy node
is reachable, *released* while the link is closed on purpose (idle release, :mod:`.idle_release`)
so that the network stays *available* and the next message connects again. Entities follow
:attr:`Availability.available`; a send after a release waits here for the new link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging

from homeassistant.core import CALLBACK_TYPE, callback

from .exceptions import MeshNotConnectedError

_LOGGER = logging.getLogger(__name__)

type ConnectionCallback = Callable[[], None]


class Availability:
    """Connected / released flags of one network, their listeners and the link's waiters."""

    def __init__(self, mesh_name: str) -> None:
        """Not connected, not released, nobody listening or waiting."""
        self._mesh_name = mesh_name
        self.connected = False
        """A proxy node is reachable (the link is up)."""
        self.released = False
        """The link is closed on purpose (idle release)."""
        self._listeners: list[ConnectionCallback] = []
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def available(self) -> bool:
        """Connected, or released on purpose (the next message connects again)."""
        return self.connected or self.released

    @callback
    def add_listener(self, listener: ConnectionCallback) -> CALLBACK_TYPE:
        """Call ``listener()`` whenever :attr:`connected` or :attr:`available` changes."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def set(self, connected: bool, *, released: bool) -> None:
        """Take the new state; tell the listeners when what they see changed."""
        before = (self.connected, self.available)
        self.connected = connected
        self.released = released
        if (self.connected, self.available) == before:
            return
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                _LOGGER.exception("Error in a mesh connection listener")

    def reachable(self, reachable: bool) -> None:
        """A connection attempt's outcome: ends a release and answers those who wait."""
        self.set(reachable, released=False)
        for waiter in list(self._waiters):
            if not waiter.done():
                if reachable:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(MeshNotConnectedError(self._mesh_name))

    async def async_wait_link(self, resume: Callable[[], None], limit: float) -> None:
        """Call ``resume()`` and wait for the link; MeshNotConnectedError when it does not come."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        resume()
        try:
            async with asyncio.timeout(limit):
                await waiter
        except TimeoutError as err:
            raise MeshNotConnectedError(self._mesh_name) from err
        finally:
            self._waiters.discard(waiter)

    def cancel_waiters(self) -> None:
        """Whoever waits for a link stops waiting (the network is unloaded)."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
        self._waiters.clear()
