"""Idle release: close the proxy link after a while without traffic (the network's option).

Many nodes accept one GATT connection, which the vendor's app may want too. When enabled, the
link is released after ``idle_seconds`` without a message sent or received (beacons do not
count) and with nothing pending; the network stays available, and the next message (or work
such as a node to configure) connects again (:class:`~.runtime.MeshRuntime`).
"""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later


class IdleTimer:
    """Calls ``release()`` once the link has been idle for the configured time."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        active: Callable[[], bool],
        busy: Callable[[], bool],
        release: Callable[[float], None],
    ) -> None:
        """``active``: a link is up to release; ``busy``: something still uses it."""
        self._hass = hass
        self._active = active
        self._busy = busy
        self._release = release
        self.seconds: float | None = None  # off
        self._cancel: CALLBACK_TYPE | None = None
        # Restarted on every message while enabled: one job, not one per restart.
        self._job = HassJob(self._on_idle, cancel_on_shutdown=True)

    def configure(self, seconds: float | None) -> None:
        """Release after ``seconds`` without traffic; None turns it off."""
        self.seconds = seconds
        if seconds is None:
            self.cancel()
        else:
            self.restart()

    def cancel(self) -> None:
        """No idle timer runs after this."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    def restart(self) -> None:
        """Traffic (or a new link): the idle time starts again."""
        if self.seconds is None or not self._active():
            return
        self.cancel()
        self._cancel = async_call_later(self._hass, self.seconds, self._job)

    @callback
    def _on_idle(self, _now: object) -> None:
        self._cancel = None
        if self.seconds is None or not self._active():
            return
        if self._busy():
            self.restart()
            return
        self._release(self.seconds)
