"""One provisioning attempt, run for the config flow: over PB-GATT, or over PB-Remote through
a node of the network.

The engine's :class:`~.mesh.provisioning.Provisioner` decides everything; these classes only
do the I/O around it: the GATT link (:mod:`.proxy_link`) and the PB-GATT bearer's segments,
or the Remote Provisioning messages sent through the network's runtime; and the timers. The config flow awaits :meth:`ProvisioningSession.async_next_event`
for the points where a person is involved (Capabilities to choose a method, a value to
enter or to show) and for the end (completed or failed).

A session is single-use: after a failure a retry is a new session with a fresh key pair and a
fresh AuthValue (MshPRT 1.1 §5.4.2.3, CVE-2020-26556/26557).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import contextlib
from datetime import datetime
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .client import MeshClient
from .clock import SchedulerClock
from .exceptions import MeshCommunicationError
from .mesh.access import Message
from .mesh.provisioning import (
    CapabilitiesReceived,
    Completed,
    Failed,
    FailureReason,
    NodeRefresh,
    Provisioner,
    ProvisionerResult,
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
from .mesh.provisioning.pb_remote import PbRemoteClient, SendRemoteMessage
from .mesh.proxy import ProxySarError
from .proxy_link import PB_GATT, GattLink, LinkError

_LOGGER = logging.getLogger(__name__)

type SessionEvent = (
    CapabilitiesReceived | RequestInput | ShowValue | Completed[ProvisionerResult] | Failed
)


class _Session:
    """What both bearers share: the Provisioner's events for the flow, and its timer."""

    def __init__(self, hass: HomeAssistant, engine: Provisioner, name: str) -> None:
        self._hass = hass
        self._engine = engine
        self.address = name
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._clock = SchedulerClock()
        self.link_error: str | None = None
        """Why the bearer failed (a translation key), when it did."""
        self.finished = False

    @property
    def capabilities(self) -> ProvisioningCapabilities | None:
        """The device's Capabilities once received."""
        return self._engine.capabilities

    def _now(self) -> float:
        return self._clock.now()

    async def async_next_event(self) -> SessionEvent:
        """Wait for the next point where the flow must act."""
        return await self._events.get()

    def _event(self, action: object) -> bool:
        """Queue a Provisioner action that is the flow's business; False for anything else."""
        if isinstance(action, Failed):
            self._finish()
            self._events.put_nowait(action)
        elif isinstance(action, Completed):
            # The provisioner's Completed always carries a ProvisionerResult.
            assert isinstance(action.result, ProvisionerResult)
            self._finish()
            self._events.put_nowait(Completed(action.result))
        elif isinstance(action, CapabilitiesReceived | RequestInput | ShowValue):
            self._events.put_nowait(action)
        else:
            return False
        return True

    def _driver(self) -> Provisioner | PbRemoteClient:
        """What takes the person's choices: the Provisioner, or the PB-Remote client around it."""
        return self._engine

    def _handle(self, actions: Sequence[object]) -> None:
        raise NotImplementedError

    def choose(
        self,
        parameters: ProvisioningStart,
        *,
        unicast_address: int,
        static_oob: bytes | None = None,
        device_public_key: bytes | None = None,
    ) -> None:
        """Continue with the chosen method (raises the engine's usage errors unchanged)."""
        _LOGGER.debug("Provisioning %s: method chosen, address %04X", self.address, unicast_address)
        self._handle(
            self._driver().choose(
                parameters,
                self._now(),
                static_oob=static_oob,
                device_public_key=device_public_key,
                unicast_address=unicast_address,
            )
        )

    def provide_oob(self, value: bytes | int | str) -> None:
        """The value the person entered (raises InvalidOobValueError for a malformed one)."""
        self._handle(self._driver().provide_oob(value, self._now()))

    def _deadline(self) -> float | None:
        raise NotImplementedError

    def _expired(self, now: float) -> None:
        raise NotImplementedError

    def _schedule_timer(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None
        if self.finished:
            return
        deadline = self._deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self._now())
            self._cancel_timer = async_call_later(self._hass, delay, self._on_timer)

    @callback
    def _on_timer(self, fired_at: datetime) -> None:
        self._cancel_timer = None
        if not self._engine.finished:
            self._expired(self._clock.fired(fired_at))

    def _finish(self) -> None:
        self.finished = True
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None


class ProvisioningSession(_Session):
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
        super().__init__(
            hass,
            Provisioner(data, attention_duration=attention_duration, key_source=key_source),
            address,
        )
        self._bearer = PbGattBearer()
        self._link = link_factory(hass, address, PB_GATT, self._on_data, self._on_link_lost)
        self._writes: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    @property
    def gatt_writes(self) -> int:
        """GATT writes made so far (for benchmarks and diagnostics)."""
        return self._link.writes

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
            _LOGGER.debug("Provisioning %s: %d octets received", self.address, len(pdu))
            self._handle(self._engine.receive(pdu, self._now()))

    @callback
    def _on_link_lost(self) -> None:
        if self._engine.finished:
            return
        self.link_error = "connection_lost"
        self._handle(self._engine.link_closed(self._now()))

    def _deadline(self) -> float | None:
        deadlines = [
            d for d in (self._engine.next_deadline(), self._bearer.next_deadline()) if d is not None
        ]
        return min(deadlines) if deadlines else None

    def _expired(self, now: float) -> None:
        if self._bearer.timeout(now) is not None:
            self.link_error = "timeout"
            self._handle(self._engine.link_closed(now))
            return
        self._handle(self._engine.timeout(now))

    @callback
    def _handle(self, actions: Sequence[object]) -> None:
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                _LOGGER.debug("Provisioning %s: %d octets to send", self.address, len(action.data))
                for value in self._bearer.send(action.data):
                    self._writes.put_nowait(value)
            else:
                self._event(action)
        self._schedule_timer()

    def _finish(self) -> None:
        super()._finish()
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


class RemoteProvisioningSession(_Session):
    """Provision one device through a node's Remote Provisioning Server (PB-Remote).

    The node scanned the device and relays the provisioning PDUs over its own PB-ADV link;
    its Remote Provisioning messages travel through the mesh, secured with its device key.
    The same Provisioner runs (every OOB method, both algorithms, the same attack checks).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        client: MeshClient,
        server: int,
        device_uuid: bytes | None,
        data: ProvisioningData,
        *,
        attention_duration: int = 5,
        key_source: Callable[[], tuple[bytes, bool]] | None = None,
        refresh: NodeRefresh | None = None,
    ) -> None:
        """Prepare a session through the server at ``server`` of ``client``'s network.

        ``device_uuid``: the device the server scanned; None with ``refresh`` (an NPPI
        procedure: the server's own node is the device).
        """
        engine = Provisioner(
            data, attention_duration=attention_duration, key_source=key_source, refresh=refresh
        )
        name = device_uuid.hex() if device_uuid is not None else str(refresh)
        super().__init__(hass, engine, f"{name} through 0x{server:04X}")
        self._mesh = client
        self._client = PbRemoteClient(self._engine, server=server, uuid=device_uuid)
        self._sends: asyncio.Queue[Message | None] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._unsubscribe: CALLBACK_TYPE | None = None
        self._holds_link = False
        self.messages_sent = 0

    async def async_start(self) -> None:
        """Ask the server to open its link to the device; Invite follows once it is open.

        A server already relaying one of our sessions is not asked: it has one link, and its
        answers (Link Status, Reports) could not be told apart between two sessions.
        """
        server = self._client.server
        if server in self._mesh.relay_links:
            self.link_error = "relay_busy"
            for action in self._engine.link_closed(self._now()):
                self._event(action)  # its Failed: link_closed never sends a PDU
            return
        self._mesh.relay_links.add(server)
        self._holds_link = True
        self._unsubscribe = self._mesh.async_subscribe(self._on_message, src=self._client.server)
        self._sender = self._hass.async_create_background_task(
            self._async_send_loop(), f"ble_mesh remote provisioning {self.address}"
        )
        self._handle(self._client.open(self._now()))

    async def async_close(self) -> None:
        """End the session: close the remote link if still open (Link Close), wipe secrets."""
        self._handle(self._client.cancel(self._now()))
        self._finish()
        if self._sender is not None:
            self._sends.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None

    def _driver(self) -> PbRemoteClient:
        return self._client

    @callback
    def _on_message(self, src: int, message: Message) -> None:
        self._handle(self._client.receive(src, message, self._now()))

    def _deadline(self) -> float | None:
        return self._client.next_deadline()

    def _expired(self, now: float) -> None:
        self._handle(self._client.timeout(now))

    @callback
    def _handle(self, actions: Sequence[object]) -> None:
        for action in actions:
            if isinstance(action, SendRemoteMessage):
                self._sends.put_nowait(action.message)
            else:
                self._event(action)
        self._schedule_timer()

    def _finish(self) -> None:
        super()._finish()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._holds_link:
            self._holds_link = False
            self._mesh.relay_links.discard(self._client.server)

    async def _async_send_loop(self) -> None:
        """Send the client's messages in order (a Link Close queued last still goes out)."""
        while (message := await self._sends.get()) is not None:
            try:
                await self._mesh.async_send(self._client.server, message, device_key=True)
            except MeshCommunicationError as err:
                _LOGGER.debug("Remote provisioning through %s: %s", self.address, err)
                if not self._engine.finished:
                    self.link_error = "relay_unreachable"
                    self._handle(self._client.cancel(self._now()))
                return
            self.messages_sent += 1


def failure_reason_key(failure: ProvisioningFailure, link_error: str | None) -> str:
    """A stable key the UI translates, for a failed attempt (the bearer's failure first)."""
    if link_error:
        return link_error
    if (
        failure.reason is FailureReason.REMOTE_FAILED
        and failure.code is ProvisioningErrorCode.CONFIRMATION_FAILED
    ):
        # The device found our confirmation wrong: for the person it is the same mistake
        # (a value that does not match) as when we find the device's confirmation wrong.
        return str(FailureReason.CONFIRMATION_FAILED)
    return str(failure.reason)
