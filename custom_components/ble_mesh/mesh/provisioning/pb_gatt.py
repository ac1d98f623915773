"""PB-GATT provisioning bearer (MshPRT 1.1 §5.2.2), sans-IO.

Provisioning PDUs travel as Proxy PDUs of message type "Provisioning PDU" (0x03) over the
Mesh Provisioning service (0x1827): the client writes the Mesh Provisioning Data In
characteristic (0x2ADB, Write Without Response) and the server notifies Mesh Provisioning
Data Out (0x2ADC). Each write or notification is one Proxy PDU of at most ATT_MTU - 3 octets,
segmented and reassembled as in §6.5 (:mod:`..proxy`); §8.8 is the sample.

Timers:

* Link timer (§5.2.2): the link opens when the client enables Data Out notifications; if no
  Provisioning PDU has been received within 60 s, the link is closed (disconnect).
* SAR timer (§6.5): a partial Proxy PDU message is dropped after 20 s, then disconnect.

Both are reported by :meth:`PbGattBearer.timeout` as a :class:`PbGattExpiry`; the runtime
disconnects. Provisioning PDUs are opaque bytes here (the provisioning state machine decodes
them).
"""

from __future__ import annotations

from enum import Enum

from custom_components.ble_mesh.mesh.errors import UsageError
from custom_components.ble_mesh.mesh.provisioning.pdus import LINK_TIMEOUT
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROVISIONING_SERVICE_UUID,
    SAR_TIMEOUT,
    ProxyMessageType,
    ProxyPdu,
    ProxySarError,
    Reassembler,
    proxy_pdu_size,
    segment,
)

__all__ = [
    "MESH_PROVISIONING_DATA_IN_UUID",
    "MESH_PROVISIONING_DATA_OUT_UUID",
    "MESH_PROVISIONING_SERVICE_UUID",
    "PbGattBearer",
    "PbGattExpiry",
    "PbGattMessageTypeError",
]


class PbGattMessageTypeError(ProxySarError):
    """A Proxy PDU on the provisioning service carried something else than a Provisioning PDU."""


class PbGattExpiry(Enum):
    """Why :meth:`PbGattBearer.timeout` closed the link (the runtime then disconnects)."""

    LINK_TIMER = "link_timer"  # no Provisioning PDU within 60 s of link open (§5.2.2)
    SAR_TIMEOUT = "sar_timeout"  # a segmented Provisioning PDU stalled for 20 s (§6.5)


class PbGattBearer:
    """One PB-GATT link: Provisioning PDUs in and out as GATT write/notification values.

    ``att_mtu`` is the negotiated ATT_MTU (23 if no exchange took place); every value returned
    by :meth:`send` is at most ``att_mtu - 3`` octets. Any :class:`ProxySarError` raised by
    :meth:`receive` means the peer broke the protocol: disconnect.
    """

    def __init__(
        self,
        att_mtu: int = 23,
        *,
        link_timeout: float = LINK_TIMEOUT,
        sar_timeout: float = SAR_TIMEOUT,
    ) -> None:
        self._pdu_size = proxy_pdu_size(att_mtu)
        self._att_mtu = att_mtu
        self._link_timeout = link_timeout
        self._reassembler = Reassembler(timeout=sar_timeout)
        self._link_deadline: float | None = None
        self._closed = False

    @property
    def att_mtu(self) -> int:
        """The ATT_MTU used to size outgoing writes."""
        return self._att_mtu

    def set_att_mtu(self, att_mtu: int) -> None:
        """Use a newly negotiated ATT_MTU for the following :meth:`send` calls."""
        self._pdu_size = proxy_pdu_size(att_mtu)
        self._att_mtu = att_mtu

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close` was called or a timer closed the link."""
        return self._closed

    def open(self, now: float) -> None:
        """The link is open (notifications enabled): start the 60 s link timer (§5.2.2)."""
        self._check_open()
        self._link_deadline = now + self._link_timeout

    def close(self) -> None:
        """Close the link: drop partial data and stop every timer."""
        self._closed = True
        self._link_deadline = None
        self._reassembler.reset()

    def send(self, pdu: bytes) -> list[bytes]:
        """The GATT write (or notification) values that carry one Provisioning PDU, in order."""
        self._check_open()
        return segment(ProxyMessageType.PROVISIONING_PDU, pdu, self._pdu_size)

    def receive(self, write_value: bytes, now: float) -> bytes | None:
        """Feed one received write/notification value; returns a complete Provisioning PDU.

        Raises :class:`PbGattMessageTypeError` for any other proxy message type and
        :class:`ProxySarError` for SAR violations; both reset the reassembly state.
        """
        self._check_open()
        # Check the type before reassembly so that a foreign message type can never be
        # half-accepted into the provisioning reassembly buffer.
        try:
            header = ProxyPdu.from_bytes(write_value)
        except ProxySarError:
            self._reassembler.reset()
            raise
        if header.message_type is not ProxyMessageType.PROVISIONING_PDU:
            self._reassembler.reset()
            raise PbGattMessageTypeError(
                "ProxyPdu",
                "message_type",
                f"{header.message_type.name} on the provisioning bearer",
            )
        message = self._reassembler.receive(write_value, now)
        if message is None:
            return None
        self._link_deadline = None  # first Provisioning PDU received: link timer stops
        return message.data

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called next, or ``None``."""
        deadlines = [
            d for d in (self._link_deadline, self._reassembler.next_deadline()) if d is not None
        ]
        return min(deadlines) if deadlines else None

    def timeout(self, now: float) -> PbGattExpiry | None:
        """Run expired timers; a non-``None`` result means the link is closed: disconnect."""
        if self._closed:
            return None
        if self._reassembler.expire(now):
            self.close()
            return PbGattExpiry.SAR_TIMEOUT
        if self._link_deadline is not None and now >= self._link_deadline:
            self.close()
            return PbGattExpiry.LINK_TIMER
        return None

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("the PB-GATT link is closed")
