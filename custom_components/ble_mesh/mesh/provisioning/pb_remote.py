"""PB-Remote provisioning bearer, client side (MshPRT 1.1 §5.2.3; Remote Provisioning Client
model §4.4.6, messages §4.3.4), sans-IO.

The Provisioner runs the usual provisioning protocol (:class:`~.provisioner.Provisioner`: every
OOB method, both algorithms, the same security checks); its PDUs travel as access messages to a
Remote Provisioning Server, which relays them over its own PB-ADV link to the device -- or, for
a Node Provisioning Protocol Interface procedure (:class:`~.provisioner.NodeRefresh`), to its
own provisioning layer. The bearer, one link at a time::

    open: Link Open (device UUID [+ timeout], or NPPI procedure) -> Link Status (Success)
          -> Link Report (Link Active): the link is open, the Provisioner sends Invite
    each PDU the Provisioner sends: Provisioning PDU Send #n (n = 1, 2, ...), then wait for
          Provisioning PDU Outbound Report #n before PDU Send #n+1 (resent with the same
          number meanwhile: the server answers a repeated number with its last Outbound Report)
    each PDU the device sends: Provisioning PDU Report #m (m = 1, 2, ...) -> the Provisioner;
          a repeated number is ignored, a skipped one fails the session
    end: Link Close (Success after Provisioning Complete, Fail otherwise; 0x01 Timeout is
          prohibited on PB-Remote), or the server's Link Report (Idle) says the link closed

:class:`PbRemoteClient` returns :class:`SendRemoteMessage` actions (device-key secured access
messages for the server; the runtime sends them through ``MeshNode.send``) next to the
Provisioner's own actions (:class:`~.provisioner.CapabilitiesReceived`, ``RequestInput``,
``ShowValue``, ``Completed``, ``Failed``). Time comes in, never read: ``next_deadline()`` and
``timeout(now)`` cover the link opening, the outbound reports and the provisioning protocol
timer of the Provisioner inside.

Method choice stays the Provisioner's (``select_method`` or the caller's ``choose``). MshPRT 1.1
§5.2.3 recommends against No OOB authentication over PB-Remote (the relay is one more party
in the middle); that policy belongs to whoever picks the method, so it is not enforced here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.errors import UsageError
from custom_components.ble_mesh.mesh.models.remote_provisioning import (
    LINK_OPEN_TIMEOUT_DEFAULT,
    LINK_OPEN_TIMEOUT_MAX,
    RemoteProvisioningLinkClose,
    RemoteProvisioningLinkOpen,
    RemoteProvisioningLinkReport,
    RemoteProvisioningLinkState,
    RemoteProvisioningLinkStatus,
    RemoteProvisioningPduOutboundReport,
    RemoteProvisioningPduReport,
    RemoteProvisioningPduSend,
    RemoteProvisioningStatus,
)
from custom_components.ble_mesh.mesh.network import is_unicast

from .auth import OobValue
from .pb_adv import CloseReason
from .pdus import ProvisioningStart
from .provisioner import (
    CapabilitiesReceived,
    Completed,
    Failed,
    FailureReason,
    Provisioner,
    ProvisioningAction,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
)

__all__ = [
    "OUTBOUND_REPORT_TIMEOUT",
    "OUTBOUND_RETRANSMIT_INTERVAL",
    "SERVER_RESPONSE_TIME",
    "PbRemoteAction",
    "PbRemoteClient",
    "PbRemoteState",
    "SendRemoteMessage",
]

# Not set by the spec. Like PB-ADV's 30 s transaction acknowledgment timer (§5.3.3): a PDU the
# server has not delivered within 30 s will not be; meanwhile PDU Send is repeated every 5 s
# (it travels unacknowledged through the mesh and may be lost).
OUTBOUND_REPORT_TIMEOUT = 30.0
OUTBOUND_RETRANSMIT_INTERVAL = 5.0
# How long past the server's own Link Open timeout we wait for its Link Report (mesh latency).
SERVER_RESPONSE_TIME = 5.0


@dataclass(frozen=True, slots=True)
class SendRemoteMessage:
    """Send ``message`` to the Remote Provisioning Server at ``dst`` with its device key."""

    dst: int
    message: Message


type PbRemoteAction = (
    SendRemoteMessage | CapabilitiesReceived | RequestInput | ShowValue | Completed[object] | Failed
)


class PbRemoteState(Enum):
    """Life of one PB-Remote link, client side."""

    IDLE = "idle"  # not opened yet
    OPENING = "opening"  # Link Open sent, waiting for the Link Report (Link Active)
    OPEN = "open"  # Provisioning PDUs flow
    CLOSED = "closed"  # completed, failed or cancelled; accepts nothing more


@dataclass(slots=True)
class _Outbound:
    number: int
    pdu: bytes
    deadline: float
    retransmit_at: float


class PbRemoteClient:
    """One provisioning session over PB-Remote, through the Remote Provisioning Server ``server``.

    ``uuid`` is the device to provision (from a Remote Provisioning Scan Report); leave it out
    when ``provisioner.refresh`` names a Node Provisioning Protocol Interface procedure (the
    server node itself is then the device). ``link_open_timeout`` (1-60 s) is sent in Link Open;
    without it the server uses its default of 10 s.
    """

    def __init__(
        self,
        provisioner: Provisioner,
        *,
        server: int,
        uuid: bytes | None = None,
        link_open_timeout: int | None = None,
        outbound_timeout: float = OUTBOUND_REPORT_TIMEOUT,
        retransmit_interval: float = OUTBOUND_RETRANSMIT_INTERVAL,
        response_time: float = SERVER_RESPONSE_TIME,
    ) -> None:
        if not is_unicast(server):
            raise UsageError("the Remote Provisioning Server needs a unicast address")
        if provisioner.refresh is not None:
            if uuid is not None or link_open_timeout is not None:
                raise UsageError("an NPPI procedure opens the link with no UUID and no timeout")
        elif uuid is None or len(uuid) != 16:
            raise UsageError("the device UUID must be 16 octets")
        if link_open_timeout is not None and not 1 <= link_open_timeout <= LINK_OPEN_TIMEOUT_MAX:
            raise UsageError("link_open_timeout must be 1..60 seconds")
        if outbound_timeout <= 0 or retransmit_interval <= 0 or response_time <= 0:
            raise UsageError("timeouts must be positive")
        self.provisioner = provisioner
        self.server = server
        self.uuid = uuid
        self._link_open_timeout = link_open_timeout
        self._outbound_timeout = outbound_timeout
        self._retransmit_interval = retransmit_interval
        self._response_time = response_time
        self._state = PbRemoteState.IDLE
        self._open_deadline: float | None = None
        self._sent_number = 0  # the last outbound PDU number used
        self._received_number = 0  # the last inbound PDU number delivered
        self._outbound: _Outbound | None = None
        self._queue: list[bytes] = []
        self._status_seen = False  # the server answered our Link Open (Link Status)

    def __repr__(self) -> str:
        return f"PbRemoteClient(server=0x{self.server:04x}, state={self._state.name})"

    @property
    def state(self) -> PbRemoteState:
        """Where the link is in its life."""
        return self._state

    # --- commands ---------------------------------------------------------------------

    def open(self, now: float) -> list[PbRemoteAction]:
        """Send Link Open; the Provisioner starts once the server reports the link active."""
        if self._state is not PbRemoteState.IDLE:
            raise UsageError(f"cannot open a PB-Remote link that is {self._state.value}")
        refresh = self.provisioner.refresh
        message = (
            RemoteProvisioningLinkOpen(procedure=refresh.procedure)
            if refresh is not None
            else RemoteProvisioningLinkOpen(uuid=self.uuid, timeout=self._link_open_timeout)
        )
        self._state = PbRemoteState.OPENING
        wait = self._link_open_timeout or LINK_OPEN_TIMEOUT_DEFAULT
        self._open_deadline = now + wait + self._response_time
        return [SendRemoteMessage(self.server, message)]

    def choose(
        self,
        parameters: ProvisioningStart,
        now: float,
        *,
        static_oob: bytes | None = None,
        device_public_key: bytes | None = None,
        unicast_address: int | None = None,
    ) -> list[PbRemoteAction]:
        """:meth:`Provisioner.choose <.provisioner.Provisioner.choose>` over this link."""
        actions = self.provisioner.choose(
            parameters,
            now,
            static_oob=static_oob,
            device_public_key=device_public_key,
            unicast_address=unicast_address,
        )
        return self._carry(actions, now)

    def provide_oob(self, value: OobValue | bytes, now: float) -> list[PbRemoteAction]:
        """:meth:`Provisioner.provide_oob <.provisioner.Provisioner.provide_oob>` over this link."""
        return self._carry(self.provisioner.provide_oob(value, now), now)

    def cancel(self, now: float) -> list[PbRemoteAction]:
        """Abandon the session: Link Close (Fail) and the Provisioner's ``Failed``."""
        if self._state is PbRemoteState.CLOSED or self.provisioner.finished:
            self._shutdown()
            return []
        return self._carry(self.provisioner.cancel(now), now)

    # --- events -----------------------------------------------------------------------

    def receive(self, src: int, message: Message, now: float) -> list[PbRemoteAction]:
        """Feed one access message received from ``src`` (anything else than our server's
        Remote Provisioning messages is ignored)."""
        if self._state in (PbRemoteState.IDLE, PbRemoteState.CLOSED) or src != self.server:
            return []
        if isinstance(message, RemoteProvisioningLinkStatus):
            return self._on_link_status(message, now)
        if isinstance(message, RemoteProvisioningLinkReport):
            return self._on_link_report(message, now)
        if self._state is not PbRemoteState.OPEN:
            return []
        if isinstance(message, RemoteProvisioningPduOutboundReport):
            return self._on_outbound_report(message.outbound_pdu_number, now)
        if isinstance(message, RemoteProvisioningPduReport):
            return self._on_pdu_report(message, now)
        return []

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called next, or ``None``."""
        if self._state is PbRemoteState.OPENING:
            return self._open_deadline
        if self._state is not PbRemoteState.OPEN:
            return None
        deadlines = [self.provisioner.next_deadline()]
        if self._outbound is not None:
            deadlines += [self._outbound.deadline, self._outbound.retransmit_at]
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    def timeout(self, now: float) -> list[PbRemoteAction]:
        """Run every timer that has expired at ``now``."""
        if self._state is PbRemoteState.OPENING:
            if self._open_deadline is not None and now >= self._open_deadline:
                return self._bearer_failed(
                    now,
                    FailureReason.TIMEOUT,
                    "the Remote Provisioning Server did not report the link open in time",
                )
            return []
        if self._state is not PbRemoteState.OPEN:
            return []
        outbound = self._outbound
        if outbound is not None:
            if now >= outbound.deadline:
                return self._bearer_failed(
                    now,
                    FailureReason.TIMEOUT,
                    f"no Provisioning PDU Outbound Report for PDU #{outbound.number}",
                )
            if now >= outbound.retransmit_at:
                outbound.retransmit_at = now + self._retransmit_interval
                return [self._pdu_send(outbound)]
        deadline = self.provisioner.next_deadline()
        if deadline is not None and now >= deadline:
            return self._carry(self.provisioner.timeout(now), now)
        return []

    # --- handlers ---------------------------------------------------------------------

    def _on_link_status(
        self, status: RemoteProvisioningLinkStatus, now: float
    ) -> list[PbRemoteAction]:
        if status.status is not RemoteProvisioningStatus.SUCCESS:
            return self._bearer_failed(
                now,
                FailureReason.LINK_CLOSED,
                f"the Remote Provisioning Server answered {status.status.name}",
                close=self._state is PbRemoteState.OPEN,
            )
        self._status_seen = True
        if status.state is RemoteProvisioningLinkState.IDLE:
            return self._link_gone(status.status, None, now)
        if status.state is RemoteProvisioningLinkState.LINK_ACTIVE:
            return self._opened(now)  # an NPPI link is active at once
        return []

    def _on_link_report(
        self, report: RemoteProvisioningLinkReport, now: float
    ) -> list[PbRemoteAction]:
        if report.state is RemoteProvisioningLinkState.IDLE:
            if self._state is PbRemoteState.OPENING and not self._status_seen:
                # The server answers Link Open with Link Status before any report of the new
                # link: an Idle report before it ends the previous link (ours, closed a moment
                # ago by a session that is over).
                return []
            return self._link_gone(report.status, report.reason, now)
        if report.status is not RemoteProvisioningStatus.SUCCESS:
            return self._bearer_failed(
                now,
                FailureReason.LINK_CLOSED,
                f"the Remote Provisioning Server reported {report.status.name}",
            )
        if report.state is RemoteProvisioningLinkState.LINK_ACTIVE:
            return self._opened(now)
        return []

    def _opened(self, now: float) -> list[PbRemoteAction]:
        if self._state is not PbRemoteState.OPENING:
            return []
        self._state = PbRemoteState.OPEN
        self._open_deadline = None
        return self._carry(self.provisioner.start(now), now)

    def _link_gone(
        self, status: RemoteProvisioningStatus, reason: int | None, now: float
    ) -> list[PbRemoteAction]:
        because = f" (Link Close reason 0x{reason:02x})" if reason is not None else ""
        return self._bearer_failed(
            now,
            FailureReason.LINK_CLOSED,
            f"the remote link closed: {status.name}{because}",
            close=False,
        )

    def _on_outbound_report(self, number: int, now: float) -> list[PbRemoteAction]:
        outbound = self._outbound
        if outbound is not None and number == outbound.number:
            self._outbound = None
            return self._pump(now)
        if number <= self._sent_number:
            return []  # a repeated report of a PDU already acknowledged
        return self._bearer_failed(
            now,
            FailureReason.LINK_CLOSED,
            f"Outbound Report for PDU #{number}, which was never sent",
        )

    def _on_pdu_report(
        self, report: RemoteProvisioningPduReport, now: float
    ) -> list[PbRemoteAction]:
        number = report.inbound_pdu_number
        if number <= self._received_number:
            return []  # the server repeated a report we already delivered
        if number != self._received_number + 1:
            return self._bearer_failed(
                now,
                FailureReason.LINK_CLOSED,
                f"PDU Report #{number} out of order, #{self._received_number + 1} expected",
            )
        self._received_number = number
        return self._carry(self.provisioner.receive(report.pdu, now), now)

    # --- plumbing ---------------------------------------------------------------------

    def _carry(self, actions: list[ProvisioningAction], now: float) -> list[PbRemoteAction]:
        """Turn the Provisioner's actions into this bearer's."""
        out: list[PbRemoteAction] = []
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                self._queue.append(action.data)
                out += self._pump(now)
            elif isinstance(action, Completed):
                # §5.4.4: after Provisioning Complete the Provisioner closes the link.
                out.append(self._close(CloseReason.SUCCESS))
                out.append(action)
            elif isinstance(action, Failed):
                if self._state in (PbRemoteState.OPENING, PbRemoteState.OPEN):
                    out.append(self._close(CloseReason.FAIL))
                self._shutdown()
                out.append(action)
            else:
                out.append(action)
        return out

    def _pump(self, now: float) -> list[PbRemoteAction]:
        if self._outbound is not None or not self._queue or self._state is not PbRemoteState.OPEN:
            return []
        self._sent_number += 1
        outbound = _Outbound(
            self._sent_number,
            self._queue.pop(0),
            now + self._outbound_timeout,
            now + self._retransmit_interval,
        )
        self._outbound = outbound
        return [self._pdu_send(outbound)]

    def _pdu_send(self, outbound: _Outbound) -> SendRemoteMessage:
        return SendRemoteMessage(
            self.server, RemoteProvisioningPduSend(outbound.number, outbound.pdu)
        )

    def _close(self, reason: CloseReason) -> SendRemoteMessage:
        self._shutdown()
        return SendRemoteMessage(self.server, RemoteProvisioningLinkClose(reason))

    def _shutdown(self) -> None:
        self._state = PbRemoteState.CLOSED
        self._open_deadline = None
        self._outbound = None
        self._queue = []

    def _bearer_failed(
        self, now: float, reason: FailureReason, text: str, *, close: bool = True
    ) -> list[PbRemoteAction]:
        """The bearer failed: Link Close (Fail) when ``close``, then the Provisioner fails."""
        out: list[PbRemoteAction] = []
        if close and self._state in (PbRemoteState.OPENING, PbRemoteState.OPEN):
            out.append(self._close(CloseReason.FAIL))
        self._shutdown()
        if not self.provisioner.finished:
            # link_closed never asks to send a PDU: what it returns is ours to pass on.
            out += self._carry(self.provisioner.link_closed(now, text=text, reason=reason), now)
        return out
