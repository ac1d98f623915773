"""Who hears the access messages Home Assistant's node receives (entities, services, flows).

Every message received and decoded reaches each subscriber once: responses to our requests
and publications alike (a wall switch, a status a node publishes to us).
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import logging

from homeassistant.core import CALLBACK_TYPE, callback

from .mesh.access import Message

_LOGGER = logging.getLogger(__name__)

type MessageCallback = Callable[[int, Message], None]


class Subscriptions:
    """Subscribers to every message, or to the messages of one source address."""

    def __init__(self) -> None:
        """No subscriber yet."""
        self._all: list[MessageCallback] = []
        self._by_src: dict[int, list[MessageCallback]] = {}

    @callback
    def add(self, subscriber: MessageCallback, src: int | None = None) -> CALLBACK_TYPE:
        """Call ``subscriber(src, message)`` for each message (from ``src`` only, if given).

        Call the result to unsubscribe.
        """
        subscribers = self._all if src is None else self._by_src.setdefault(src, [])
        subscribers.append(subscriber)

        @callback
        def remove() -> None:
            with contextlib.suppress(ValueError):
                subscribers.remove(subscriber)
            if src is not None and not subscribers and self._by_src.get(src) is subscribers:
                del self._by_src[src]

        return remove

    def dispatch(self, src: int, message: Message) -> None:
        """Hand ``message`` from ``src`` to its subscribers; one failing does not stop the rest."""
        for subscriber in (*self._all, *self._by_src.get(src, ())):
            try:
                subscriber(src, message)
            except Exception:
                _LOGGER.exception("Error in a mesh message subscriber")
