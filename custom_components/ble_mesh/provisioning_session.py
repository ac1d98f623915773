"""One provisioning attempt over PB-GATT, run for the config flow.

The engine's :class:`~.mesh.provisioning.Provisioner` decides everything; this class only
does the I/O around it: the GATT link (:mod:`.proxy_link`), the PB-GATT bearer's segments,
and the protocol timer. The config flow awaits :meth:`ProvisioningSession.async_next_event`
for the points where a person is involved (Capabilities to choose a method, a value to
enter or to show) and for the end (completed or failed).

A session is single-use: after a failure a retry is a new session with a fresh key pair and a
fresh AuthValue (MshPRT 1.1 §5.4.2.3, CVE-2020-26556/26557).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from datetime import datetime
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .clock import SchedulerClock
from .mesh.provisioning import (
    CapabilitiesReceived,
    Completed,
    Failed,
    FailureReason,
    Provisioner,
    ProvisionerResult,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningData,
    ProvisioningErrorCode,
    ProvisioningFailure,
    ProvisioningStart,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
)
from .mesh.provisioning.pb_gatt import PbGattBearer
from .mesh.proxy import ProxySarError
from .proxy_link import PB_GATT, GattLink, LinkError

_LOGGER = logging.getLogger(__name__)

type SessionEvent = (
    CapabilitiesReceived | RequestInput | ShowValue | Completed[ProvisionerResult] | Failed
)


class ProvisioningSession:
    """Provision one device over PB-GATT."""

    def __init__(
        self,
        hass: HomeAssistant,
        address: str,
        data: ProvisioningData,
        *,
        attention_duration: int = 5,
        link_factory: Callable[..., GattLink] = GattLink,
        key_source: Callable[[], tuple[bytes, bool]] | None = None,
    ) -> None:
        """Prepare a session; nothing happens until :meth:`async_start`.

        ``key_source``: the NetKey and Key Refresh flag to send, asked for when they are sent
        (see :class:`~.mesh.provisioning.provisioner.Provisioner`).
        """
        self._hass = hass
        self.address = address
        self._engine = Provisioner(
            data, attention_duration=attention_duration, key_source=key_source
        )
        self._bearer = PbGattBearer()
        self._link = link_factory(hass, address, PB_GATT, self._on_data, self._on_link_lost)
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._writes: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._clock = SchedulerClock()
        self.link_error: str | None = None
        self.finished = False

    @property
    def capabilities(self) -> ProvisioningCapabilities | None:
        """The device's Capabilities once received."""
        return self._engine.capabilities

    @property
    def gatt_writes(self) -> int:
        """GATT writes made so far (for benchmarks and diagnostics)."""
        return self._link.writes

    def _now(self) -> float:
        return self._clock.now()

    # --- what the flow calls -------------------------------------------------------------

    async def async_start(self) -> None:
        """Connect to the device's Provisioning service and send Invite."""
        try:
            await self._link.async_connect()
        except LinkError as err:
            self.link_error = err.reason
            self._handle(self._engine.link_closed(self._now()))
            return
        self._bearer.set_att_mtu(self._link.att_mtu)
        self._bearer.open(self._now())
        self._writer = self._hass.async_create_background_task(
            self._async_write_loop(), f"ble_mesh provisioning writes {self.address}"
        )
        self._handle(self._engine.start(self._now()))

    def choose(
        self,
        parameters: ProvisioningStart,
        *,
        unicast_address: int,
        static_oob: bytes | None = None,
        device_public_key: bytes | None = None,
    ) -> None:
        """Continue with the chosen method (raises the engine's usage errors unchanged)."""
        self._handle(
            self._engine.choose(
                parameters,
                self._now(),
                static_oob=static_oob,
                device_public_key=device_public_key,
                unicast_address=unicast_address,
            )
        )

    def provide_oob(self, value: bytes | int | str) -> None:
        """The value the person entered (raises InvalidOobValueError for a malformed one)."""
        self._handle(self._engine.provide_oob(value, self._now()))

    async def async_next_event(self) -> SessionEvent:
        """Wait for the next point where the flow must act."""
        return await self._events.get()

    async def async_close(self) -> None:
        """End the session: cancel it if still running, close the link, wipe secrets."""
        if not self._engine.finished:
            self._engine.cancel(self._now())
        self._finish()
        if self._writer is not None:
            self._writes.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self._link.async_disconnect()

    # --- engine plumbing -----------------------------------------------------------------

    @callback
    def _on_data(self, value: bytes) -> None:
        if self._engine.finished:
            return
        try:
            pdu = self._bearer.receive(value, self._now())
        except ProxySarError as err:
            _LOGGER.debug("Malformed PB-GATT data from %s: %s", self.address, err)
            self.link_error = "invalid_data"
            self._handle(self._engine.link_closed(self._now()))
            return
        if pdu is not None:
            self._handle(self._engine.receive(pdu, self._now()))

    @callback
    def _on_link_lost(self) -> None:
        if self._engine.finished:
            return
        self.link_error = "connection_lost"
        self._handle(self._engine.link_closed(self._now()))

    @callback
    def _on_timer(self, fired_at: datetime) -> None:
        self._cancel_timer = None
        if self._engine.finished:
            return
        now = self._clock.fired(fired_at)
        if self._bearer.timeout(now) is not None:
            self.link_error = "timeout"
            self._handle(self._engine.link_closed(now))
            return
        self._handle(self._engine.timeout(now))

    @callback
    def _handle(self, actions: list[ProvisioningAction]) -> None:
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                for value in self._bearer.send(action.data):
                    self._writes.put_nowait(value)
            elif isinstance(action, Failed):
                self._finish()
                self._events.put_nowait(action)
            elif isinstance(action, Completed):
                # The provisioner's Completed always carries a ProvisionerResult.
                assert isinstance(action.result, ProvisionerResult)
                self._finish()
                self._events.put_nowait(Completed(action.result))
            elif isinstance(action, CapabilitiesReceived | RequestInput | ShowValue):
                self._events.put_nowait(action)
        self._schedule_timer()

    def _schedule_timer(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        if self.finished:
            return
        deadlines = [
            d for d in (self._engine.next_deadline(), self._bearer.next_deadline()) if d is not None
        ]
        if deadlines:
            delay = max(0.0, min(deadlines) - self._now())
            self._cancel_timer = async_call_later(self._hass, delay, self._on_timer)

    def _finish(self) -> None:
        self.finished = True
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        if not self._bearer.is_closed:
            self._bearer.close()

    async def _async_write_loop(self) -> None:
        while (value := await self._writes.get()) is not None:
            try:
                await self._link.async_write(value)
            except LinkError as err:
                if not self._engine.finished:
                    self.link_error = err.reason
                    self._handle(self._engine.link_closed(self._now()))
                return


def failure_reason_key(failure: ProvisioningFailure, link_error: str | None) -> str:
    """A stable key the UI translates, for a failed attempt."""
    if failure.reason is FailureReason.LINK_CLOSED and link_error:
        return link_error
    if (
        failure.reason is FailureReason.REMOTE_FAILED
        and failure.code is ProvisioningErrorCode.CONFIRMATION_FAILED
    ):
        # The device found our confirmation wrong: for the person it is the same mistake
        # (a value that does not match) as when we find the device's confirmation wrong.
        return str(FailureReason.CONFIRMATION_FAILED)
    return str(failure.reason)
