"""Proxy PDU segmentation and reassembly (MshPRT 1.1 §6.3 "Proxy PDU", §6.5 "Proxy protocol").

A Proxy PDU is one octet of header, ``SAR (2 bits) || Message Type (6 bits)``, followed by data.
It is the value of exactly one GATT Write Command or Notification, so its size is at most
ATT_MTU - 3 octets (§6.3: "the maximum Proxy PDU size ... is ATT_MTU - 3"; checked against the
§8.8 sample, ATT_MTU 23 -> 20-octet writes carrying 19 data octets).

This module only does SAR. Proxy configuration messages live in another module; PB-GATT wraps
this for provisioning PDUs (:mod:`.provisioning.pb_gatt`).

Theory of operation of :class:`Reassembler`: at most one message is in progress. A "first"
segment opens it, "continuation" segments extend it, a "last" segment completes it. Every
protocol violation (a segment out of order, a message type change in the middle, an RFU
message type, an oversized message) raises a :class:`ProxySarError` *and* resets the state, so
a stale partial message can never be glued to the next one. §6.5 says the receiver then
disconnects; that decision belongs to the caller. A partial message older than 20 s is dropped
by :meth:`Reassembler.expire` (§6.5, SAR timeout; the timer restarts with every segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from .beacons import MESH_PROVISIONING_SERVICE_UUID16, MESH_PROXY_SERVICE_UUID16
from .errors import DecodeError, UsageError

__all__ = [
    "ATT_HEADER_SIZE",
    "DEFAULT_MAX_MESSAGE_LENGTHS",
    "MESH_PROVISIONING_DATA_IN_UUID",
    "MESH_PROVISIONING_DATA_OUT_UUID",
    "MESH_PROVISIONING_SERVICE_UUID",
    "MESH_PROXY_DATA_IN_UUID",
    "MESH_PROXY_DATA_OUT_UUID",
    "MESH_PROXY_SERVICE_UUID",
    "SAR_TIMEOUT",
    "ProxyMessage",
    "ProxyMessageType",
    "ProxyPdu",
    "ProxySarError",
    "Reassembler",
    "ReservedMessageTypeError",
    "SarFlag",
    "SarTimeoutError",
    "proxy_pdu_size",
    "segment",
]


def _sig_uuid(short: int) -> str:
    """A 16-bit SIG assigned number as a full 128-bit UUID string (lower case)."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


# GATT identifiers (MshPRT 1.1 §7.1, §7.2; Bluetooth Assigned Numbers).
# The ATT MTU before any exchange (Core Vol 3 Part F §3.2.8): 20 octets of payload.
DEFAULT_ATT_MTU = 23

MESH_PROVISIONING_SERVICE_UUID = _sig_uuid(MESH_PROVISIONING_SERVICE_UUID16)
MESH_PROVISIONING_DATA_IN_UUID = _sig_uuid(0x2ADB)  # write without response
MESH_PROVISIONING_DATA_OUT_UUID = _sig_uuid(0x2ADC)  # notify
MESH_PROXY_SERVICE_UUID = _sig_uuid(MESH_PROXY_SERVICE_UUID16)
MESH_PROXY_DATA_IN_UUID = _sig_uuid(0x2ADD)  # write without response
MESH_PROXY_DATA_OUT_UUID = _sig_uuid(0x2ADE)  # notify

# ATT Write Command / Handle Value Notification overhead: opcode (1) + handle (2).
ATT_HEADER_SIZE = 3
_MIN_ATT_MTU = 23  # Core Vol 3 Part F §3.2.8: ATT_MTU is at least 23 on LE
_MAX_ATT_MTU = 517  # an attribute value is at most 512 octets; 517 - 3 is plenty

# MshPRT 1.1 §6.5: "the SAR timeout is 20 seconds"; the partial message is then discarded.
SAR_TIMEOUT = 20.0


class SarFlag(IntEnum):
    """The SAR field of the Proxy PDU header (§6.3.1, Table 6.2)."""

    COMPLETE = 0b00
    FIRST = 0b01
    CONTINUATION = 0b10
    LAST = 0b11


class ProxyMessageType(IntEnum):
    """The Message Type field of the Proxy PDU header (§6.3.1, Table 6.3); 0x04-0x3F are RFU."""

    NETWORK_PDU = 0x00
    MESH_BEACON = 0x01
    PROXY_CONFIGURATION = 0x02
    PROVISIONING_PDU = 0x03


# Largest reassembled message accepted per type (§6.5: a longer one means disconnect).
# Network PDUs and proxy configuration messages (which are Network PDUs) are at most 29
# octets; the largest beacon (Mesh Private beacon) is 27 octets, we allow the 29-octet
# advertising payload. A provisioning PDU is bounded by what PB-ADV can carry:
# 20 + 63 * 23 = 1469 octets (§5.3.1), which covers Provisioning Record Response fragments.
DEFAULT_MAX_MESSAGE_LENGTHS: dict[ProxyMessageType, int] = {
    ProxyMessageType.NETWORK_PDU: 29,
    ProxyMessageType.MESH_BEACON: 29,
    ProxyMessageType.PROXY_CONFIGURATION: 29,
    ProxyMessageType.PROVISIONING_PDU: 1469,
}


class ProxySarError(DecodeError):
    """A Proxy PDU broke the SAR rules (§6.5); the caller should disconnect."""


class ReservedMessageTypeError(ProxySarError):
    """A Proxy PDU used an RFU message type (0x04-0x3F); §6.3.1 says to ignore it."""

    def __init__(self, structure: str, message_type: int) -> None:
        self.message_type = message_type
        super().__init__(structure, "message_type", f"RFU message type 0x{message_type:02x}")


class SarTimeoutError(ProxySarError):
    """A partial message was not completed within :data:`SAR_TIMEOUT` (§6.5)."""


def proxy_pdu_size(att_mtu: int) -> int:
    """Largest Proxy PDU (header included) that fits one ATT write: ATT_MTU - 3 (§6.3)."""
    if not _MIN_ATT_MTU <= att_mtu <= _MAX_ATT_MTU:
        raise UsageError(f"ATT_MTU must be in {_MIN_ATT_MTU}..{_MAX_ATT_MTU}, got {att_mtu}")
    return att_mtu - ATT_HEADER_SIZE


@dataclass(frozen=True, slots=True)
class ProxyPdu:
    """One Proxy PDU (§6.3.1): header octet plus a (segment of a) message."""

    sar: SarFlag
    message_type: ProxyMessageType
    data: bytes

    def __post_init__(self) -> None:
        if not self.data:
            raise UsageError("a Proxy PDU carries at least one data octet")

    def to_bytes(self) -> bytes:
        """Header octet (SAR << 6 | Message Type) followed by the data."""
        return bytes([(self.sar << 6) | self.message_type]) + self.data

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode one Proxy PDU; raises :class:`ProxySarError` on anything malformed."""
        if len(pdu) < 2:
            raise ProxySarError(
                "ProxyPdu", "data", "empty" if pdu else "no header octet (empty write)"
            )
        header = pdu[0]
        raw_type = header & 0x3F
        if raw_type not in ProxyMessageType._value2member_map_:
            raise ReservedMessageTypeError("ProxyPdu", raw_type)
        return cls(SarFlag(header >> 6), ProxyMessageType(raw_type), bytes(pdu[1:]))


@dataclass(frozen=True, slots=True)
class ProxyMessage:
    """A complete (reassembled) message of one Proxy message type."""

    message_type: ProxyMessageType
    data: bytes


def segment(message_type: ProxyMessageType | int, data: bytes, mtu: int) -> list[bytes]:
    """Split ``data`` into Proxy PDUs of at most ``mtu`` octets each, header included.

    ``mtu`` is the maximum Proxy PDU size, i.e. ATT_MTU - 3 (see :func:`proxy_pdu_size`).
    A message that fits uses SAR "complete"; otherwise every segment but the last fills the
    PDU completely (§6.5).
    """
    try:
        kind = ProxyMessageType(message_type)
    except ValueError:
        raise UsageError(f"RFU proxy message type {message_type!r}") from None
    if mtu < 2:
        raise UsageError(f"a Proxy PDU needs room for the header and data, mtu={mtu}")
    if not data:
        raise UsageError("cannot send an empty proxy message")
    room = mtu - 1
    if len(data) <= room:
        return [ProxyPdu(SarFlag.COMPLETE, kind, bytes(data)).to_bytes()]
    chunks = [data[i : i + room] for i in range(0, len(data), room)]
    flags = [SarFlag.FIRST] + [SarFlag.CONTINUATION] * (len(chunks) - 2) + [SarFlag.LAST]
    return [
        ProxyPdu(flag, kind, bytes(chunk)).to_bytes()
        for flag, chunk in zip(flags, chunks, strict=True)
    ]


class Reassembler:
    """Reassembles Proxy PDUs into :class:`ProxyMessage` values (§6.5), one at a time.

    Sans-IO: the caller passes ``now`` (seconds, monotonic) with each PDU, asks
    :meth:`next_deadline` when to call :meth:`expire`, and closes the connection whenever a
    :class:`ProxySarError` comes out.
    """

    def __init__(
        self,
        *,
        timeout: float = SAR_TIMEOUT,
        max_lengths: dict[ProxyMessageType, int] | None = None,
    ) -> None:
        self._timeout = timeout
        self._max_lengths = dict(
            DEFAULT_MAX_MESSAGE_LENGTHS if max_lengths is None else max_lengths
        )
        self._type: ProxyMessageType | None = None
        self._parts: list[bytes] = []
        self._length = 0
        self._deadline: float | None = None

    @property
    def in_progress(self) -> bool:
        """True while a segmented message is partially received."""
        return self._type is not None

    def reset(self) -> None:
        """Drop any partial message."""
        self._type = None
        self._parts = []
        self._length = 0
        self._deadline = None

    def next_deadline(self) -> float | None:
        """When the partial message times out, or ``None`` if nothing is in progress."""
        return self._deadline

    def expire(self, now: float) -> bool:
        """Drop the partial message if its SAR timer has run out; True if one was dropped.

        §6.5 says the connection is then closed: a True return means "disconnect".
        """
        if self._deadline is not None and now >= self._deadline:
            self.reset()
            return True
        return False

    def _fail(self, field: str | None, reason: str) -> ProxySarError:
        self.reset()
        return ProxySarError("ProxyPdu", field, reason)

    def _check_length(self, kind: ProxyMessageType, length: int) -> None:
        limit = self._max_lengths.get(kind)
        if limit is not None and length > limit:
            raise self._fail("data", f"{kind.name} message longer than {limit} octets")

    def receive(self, pdu: bytes, now: float) -> ProxyMessage | None:
        """Feed one Proxy PDU; returns the complete message when one is finished.

        Raises :class:`ProxySarError` (state reset) when the PDU breaks the SAR rules, and
        :class:`SarTimeoutError` when a segment arrives for a partial message that timed out.
        """
        if self._deadline is not None and now >= self._deadline:
            self.reset()
            raise SarTimeoutError("ProxyPdu", None, "SAR timeout: partial message dropped")
        try:
            decoded = ProxyPdu.from_bytes(pdu)
        except ProxySarError:
            self.reset()
            raise
        sar, kind, data = decoded.sar, decoded.message_type, decoded.data
        if sar is SarFlag.COMPLETE:
            if self._type is not None:
                raise self._fail("sar", "complete PDU while a segmented message is in progress")
            self._check_length(kind, len(data))
            return ProxyMessage(kind, data)
        if sar is SarFlag.FIRST:
            if self._type is not None:
                raise self._fail("sar", "first segment while a segmented message is in progress")
            self._check_length(kind, len(data))
            self._type = kind
            self._parts = [data]
            self._length = len(data)
            self._deadline = now + self._timeout
            return None
        # continuation or last
        if self._type is None:
            raise self._fail("sar", f"{sar.name.lower()} segment without a first segment")
        if kind is not self._type:
            raise self._fail("message_type", "message type changed inside a segmented message")
        self._check_length(kind, self._length + len(data))
        self._parts.append(data)
        self._length += len(data)
        if sar is SarFlag.CONTINUATION:
            # Like Zephyr's proxy_msg.c, every received segment restarts the SAR timer.
            self._deadline = now + self._timeout
            return None
        message = ProxyMessage(kind, b"".join(self._parts))
        self.reset()
        return message
