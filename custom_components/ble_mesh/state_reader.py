"""Reading the entities' state after a (re)connection: queued, one node at a time.

When the proxy link comes up, every entity wants its element's current state. Sent at once,
500 entities would put 500 Gets in flight on one GATT link (and a node's acknowledged-message
queue is small). The reader keeps one queue per network: each element's reads are sent in
turn, as background messages (a person's command still goes first, see :mod:`.outbox`). The
entities of one element (its light, its power-on behaviour, its health) share its turn: their
reads are merged, each Get once, and a request made again before the turn adds nothing. The
statuses reach the entities like any other message, through their subscriptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import contextlib
import logging
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback

from .exceptions import MeshCommunicationError
from .mesh.access import Message

if TYPE_CHECKING:
    from .client import MeshClient

_LOGGER = logging.getLogger(__name__)


class StateReader:
    """The queue of state reads of one network (see the module)."""

    def __init__(self, hass: HomeAssistant, client: MeshClient, name: str) -> None:
        """Nothing is read until :meth:`async_request`."""
        self._hass = hass
        self._client = client
        self._name = name
        self._pending: dict[int, Sequence[Message]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Elements waiting for their turn."""
        return len(self._pending)

    @callback
    def async_request(self, address: int, reads: Sequence[Message]) -> None:
        """Read the state of the element at ``address`` with ``reads`` (Gets), in turn."""
        if not reads:
            return
        queued = self._pending.pop(address, ())  # to the back of the queue, once
        self._pending[address] = [*queued, *(r for r in reads if r not in queued)]
        if self._task is None or self._task.done():
            self._task = self._hass.async_create_background_task(
                self._async_read_all(), f"ble_mesh {self._name} state reads"
            )

    async def _async_read_all(self) -> None:
        while self._pending:
            address = next(iter(self._pending))
            reads = self._pending.pop(address)
            for get in reads:
                try:
                    await self._client.async_send(
                        address, get, expect=get.RESPONSE, background=True
                    )
                except MeshCommunicationError as err:
                    # A failed read only leaves the state unknown until the node publishes.
                    _LOGGER.debug("Reading the state of %04x failed: %s", address, err)
                    break

    async def async_stop(self) -> None:
        """Drop what is queued; stop reading."""
        self._pending.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
