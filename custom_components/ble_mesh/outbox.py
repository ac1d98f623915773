"""The ordered output of a mesh network: one queue, written by one task.

Everything that leaves Home Assistant's node goes through an :class:`Outbox`, in order: GATT
writes of Proxy PDUs, node state writes, and the points where a SEQ reservation is on disk and
the node may release the PDUs that use it. Background messages (state reads, node
configuration, Key Refresh) wait in a second queue and are handed to the node only when the
ordered output is empty, so a person's command never queues behind them.

What an item does is the owner's business (:class:`~.runtime.MeshRuntime` writes to the proxy,
saves the state, tells the node); the outbox only keeps the order and resolves the futures of
the items that have one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.core import HomeAssistant

from .mesh.access import Message

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class Write:
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
class Outgoing:
    """A message on its way to the node: at once, or at its turn for a background one."""

    dst: int
    message: Message
    app_key_index: int | None
    expect: type[Message] | None
    timeout: float
    retries: int
    future: asyncio.Future[Message | None]
    handle: int | None = None


class Outbox:
    """The ordered output and the background messages of one network."""

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        *,
        perform: Callable[[Write], Awaitable[None]],
        start: Callable[[Outgoing], None],
    ) -> None:
        """``perform`` carries out a write; ``start`` hands a background message to the node."""
        self._hass = hass
        self._name = name
        self._perform = perform
        self._start = start
        self._writes: deque[Write] = deque()
        self._background: deque[Outgoing] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._writing = False

    @property
    def busy(self) -> bool:
        """Something is queued or being written."""
        return bool(self._writes or self._background or self._writing)

    def append(self, *writes: Write) -> None:
        """Queue writes (after everything queued before); the writer starts if it is idle."""
        self._writes.extend(writes)
        if writes:
            self._kick()

    def append_background(self, item: Outgoing) -> None:
        """Queue a background message: started once the ordered output is empty."""
        self._background.append(item)
        self._kick()

    def _kick(self) -> None:
        # The writer starts eagerly: while it runs (and starts a background message, which
        # queues its output and appends), ``self._writer`` may not name it yet.
        if self._writing:
            return
        if self._writer is None or self._writer.done():
            self._writer = self._hass.async_create_background_task(
                self._async_write_all(), f"ble_mesh {self._name} writes"
            )

    async def _async_write_all(self) -> None:
        self._writing = True
        try:
            while True:
                if self._writes:
                    item = self._writes.popleft()
                elif self._background:
                    self._start(self._background.popleft())
                    continue
                else:
                    return
                try:
                    await self._perform(item)
                except Exception as err:
                    _LOGGER.exception("Mesh output of %s failed", self._name)
                    if item.done is not None and not item.done.done():
                        item.done.set_exception(err)
                    continue
                if item.done is not None and not item.done.done():
                    item.done.set_result(None)
        finally:
            self._writing = False

    async def async_stop(self) -> None:
        """Stop writing; whoever waits for a queued item is cancelled."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._writer = None
        futures = [
            *(item.future for item in self._background),
            *(item.done for item in self._writes if item.done is not None),
        ]
        for future in futures:
            if not future.done():
                future.cancel()
        self._background.clear()
        self._writes.clear()
