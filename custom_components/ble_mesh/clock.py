"""The clock the engine's state machines run on (they take ``now`` as an argument).

Wall-clock seconds, so that the IV Update's 96-hour phases survive a restart, but never going
back: a stepped system clock must not make a retransmission or a timeout wait again. When one
of our timers fires, Home Assistant's scheduler passes the time it fired at; that time is
authoritative, so a timer always reaches the deadline it was set for (the scheduler may run a
handle a little early, and tests move time through the scheduler, as Home Assistant's own
tests do).
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.util import dt as dt_util


class SchedulerClock:
    """Seconds since the epoch, monotonic, advanced by the timers Home Assistant fires."""

    def __init__(self) -> None:
        """Start at the present."""
        self._last = dt_util.utcnow().timestamp()

    def now(self) -> float:
        """The current time."""
        self._last = max(self._last, dt_util.utcnow().timestamp())
        return self._last

    def fired(self, when: datetime) -> float:
        """A timer fired at ``when`` (what the scheduler passed): the current time."""
        self._last = max(self._last, when.timestamp(), dt_util.utcnow().timestamp())
        return self._last
