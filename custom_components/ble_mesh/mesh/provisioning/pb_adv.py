"""PB-ADV provisioning bearer and Generic Provisioning layer (MshPRT 1.1 §5.2.1, §5.3), sans-IO.

Wire format of one PB-ADV advertising payload (the AD data after the length and the
``«PB-ADV»`` AD type 0x29, §5.2.1)::

    Link ID (4, big endian) || Transaction Number (1) || Generic Provisioning PDU (1..24)

The Generic Provisioning PDU (§5.3.1) starts with one octet whose two least significant bits
are the Generic Provisioning Control Format (GPCF):

* 0b00 Transaction Start: SegN (6 bits) | TotalLength (2) | FCS (1) | data (up to 20)
* 0b01 Transaction Acknowledgment: padding (6 bits, 0)
* 0b10 Transaction Continuation: SegmentIndex (6 bits) | data (up to 23)
* 0b11 Provisioning Bearer Control: BearerOpcode (6 bits) | parameters
  (0x00 Link Open + Device UUID (16), 0x01 Link ACK, 0x02 Link Close + Reason (1))

The FCS is the 3GPP TS 27.010 CRC-8 (polynomial x^8 + x^2 + x + 1) over the whole Provisioning
PDU (§5.3.1.2); the §8.7 sample data checks every piece of this module.

:class:`PbAdvLink` is the bearer state machine for either end of one link (§5.3.2, §5.3.3):
link establishment (Link Open retransmitted until Link ACK, 60 s link establishment timer),
one outgoing transaction at a time retransmitted until acknowledged (30 s transaction
acknowledgment timer, then the link is closed with reason Timeout), reassembly of incoming
transactions with FCS check, acknowledgment of every complete transaction, re-acknowledgment
of a retransmitted transaction we already delivered (so the peer can move on, while the
provisioning layer sees each PDU exactly once), and Link Close sent three times (§5.3.1.4.3:
it is not acknowledged).

Every method takes ``now`` and returns a list of actions; :meth:`PbAdvLink.next_deadline`
says when to call :meth:`PbAdvLink.timeout`. The runtime sends the payloads of a
:class:`Transmit` in order, each after a random 20-50 ms delay (§5.3.3), as PB-ADV
advertisements. Malformed advertisements and advertisements of other links are ignored: the
air is shared, and the peer retransmits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
import secrets
from typing import ClassVar, Self

from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.provisioning.pdus import LINK_TIMEOUT

__all__ = [
    "CONTINUATION_DATA_SIZE",
    "GPDU_MTU",
    "LINK_ESTABLISHMENT_TIMEOUT",
    "MAX_PROVISIONING_PDU_SIZE",
    "PB_ADV_AD_TYPE",
    "START_DATA_SIZE",
    "TRANSACTION_ACK_TIMEOUT",
    "BearerOpcode",
    "CloseReason",
    "Deliver",
    "GenericProvisioningPdu",
    "LinkAck",
    "LinkClose",
    "LinkClosed",
    "LinkOpen",
    "LinkOpened",
    "LinkState",
    "PbAdvAction",
    "PbAdvLink",
    "PbAdvPdu",
    "PbAdvRole",
    "TransactionAck",
    "TransactionContinuation",
    "TransactionStart",
    "Transmit",
    "decode_generic_provisioning_pdu",
    "fcs",
    "segment_provisioning_pdu",
]

# Bluetooth Assigned Numbers, AD type «PB-ADV» (MshPRT 1.1 §5.2.1).
PB_ADV_AD_TYPE = 0x29
# §5.2.1: a Generic Provisioning PDU is at most 24 octets.
GPDU_MTU = 24
START_DATA_SIZE = 20  # 24 - 1 (SegN|GPCF) - 2 (TotalLength) - 1 (FCS)
CONTINUATION_DATA_SIZE = 23  # 24 - 1 (SegmentIndex|GPCF)
_MAX_SEGMENT_INDEX = 0x3F  # SegN and SegmentIndex are 6 bits
MAX_PROVISIONING_PDU_SIZE = START_DATA_SIZE + _MAX_SEGMENT_INDEX * CONTINUATION_DATA_SIZE
_LINK_ID_SIZE = 4
_HEADER_SIZE = _LINK_ID_SIZE + 1  # Link ID + Transaction Number
_UUID_SIZE = 16

# Timers (§5.3.2, §5.3.3, §5.2.1).
LINK_ESTABLISHMENT_TIMEOUT = 60.0  # Link Open sent -> Link ACK received
TRANSACTION_ACK_TIMEOUT = 30.0  # transaction started -> acknowledged, else close (Timeout)
DEFAULT_RETRANSMIT_INTERVAL = 0.5  # not set by the spec; Zephyr's pb_adv.c uses 500 ms
LINK_CLOSE_REPEATS = 3  # §5.3.1.4.3: Link Close is sent at least three times


class _Gpcf(IntEnum):
    """Generic Provisioning Control Format (§5.3.1, Table 5.8)."""

    START = 0b00
    ACK = 0b01
    CONTINUATION = 0b10
    BEARER_CONTROL = 0b11


class BearerOpcode(IntEnum):
    """Provisioning Bearer Control opcodes (§5.3.1.4, Table 5.13); 0x03-0x3F are RFU."""

    LINK_OPEN = 0x00
    LINK_ACK = 0x01
    LINK_CLOSE = 0x02


class CloseReason(IntEnum):
    """Link Close reasons (§5.3.1.4.3, Table 5.16); other values are unrecognized."""

    SUCCESS = 0x00
    TIMEOUT = 0x01
    FAIL = 0x02


# --- FCS (§5.3.1.2: 3GPP TS 27.010 §5.2.1.6) ---------------------------------------------


def _crc8_table() -> tuple[int, ...]:
    # TS 27.010 processes bits least significant first, so the table uses the reflected
    # polynomial: x^8 + x^2 + x + 1 -> 0x07, reflected -> 0xE0.
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xE0 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC8_TABLE = _crc8_table()


def fcs(data: bytes) -> int:
    """Frame Check Sequence of a Provisioning PDU (TS 27.010: init 0xFF, ones' complement)."""
    crc = 0xFF
    for byte in data:
        crc = _CRC8_TABLE[crc ^ byte]
    return 0xFF - crc


# --- Generic Provisioning PDUs (§5.3.1) --------------------------------------------------


def _last_segment_index(total_length: int) -> int:
    """SegN for a Provisioning PDU of ``total_length`` octets (20 in the start, 23 after)."""
    if total_length <= START_DATA_SIZE:
        return 0
    return -(-(total_length - START_DATA_SIZE) // CONTINUATION_DATA_SIZE)


def _segment_length(total_length: int, index: int) -> int:
    """How many data octets segment ``index`` carries for a PDU of ``total_length`` octets."""
    if index == 0:
        return min(total_length, START_DATA_SIZE)
    offset = START_DATA_SIZE + (index - 1) * CONTINUATION_DATA_SIZE
    return max(0, min(CONTINUATION_DATA_SIZE, total_length - offset))


def _start_problem(
    seg_n: int, total_length: int, fcs_value: int, data: bytes
) -> tuple[str, str] | None:
    if not 1 <= total_length <= MAX_PROVISIONING_PDU_SIZE:
        return "total_length", f"must be 1..{MAX_PROVISIONING_PDU_SIZE}, got {total_length}"
    if seg_n != _last_segment_index(total_length):
        return "seg_n", f"SegN {seg_n} does not match TotalLength {total_length}"
    if not 0 <= fcs_value <= 0xFF:
        return "fcs", "must be one octet"
    if len(data) != _segment_length(total_length, 0):
        return (
            "data",
            f"{len(data)} octets, TotalLength {total_length} needs {_segment_length(total_length, 0)}",
        )
    return None


@dataclass(frozen=True, slots=True)
class TransactionStart:
    """Transaction Start PDU (§5.3.1.2): first segment of a Provisioning PDU."""

    GPCF: ClassVar[int] = _Gpcf.START
    seg_n: int
    total_length: int
    fcs: int
    data: bytes

    def __post_init__(self) -> None:
        problem = _start_problem(self.seg_n, self.total_length, self.fcs, self.data)
        if problem is not None:
            raise UsageError(f"TransactionStart.{problem[0]}: {problem[1]}")

    def to_bytes(self) -> bytes:
        """SegN|GPCF, TotalLength (big endian), FCS, data."""
        return (
            bytes([(self.seg_n << 2) | self.GPCF])
            + self.total_length.to_bytes(2, "big")
            + bytes([self.fcs])
            + self.data
        )

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; raises :class:`DecodeError` on a wrong GPCF, length or SegN."""
        _check_gpcf("TransactionStart", pdu, _Gpcf.START)
        if len(pdu) < 5:
            raise DecodeError("TransactionStart", None, f"{len(pdu)} octets, at least 5 needed")
        if len(pdu) > GPDU_MTU:
            raise DecodeError("TransactionStart", None, f"{len(pdu)} octets, at most {GPDU_MTU}")
        seg_n = pdu[0] >> 2
        total_length = int.from_bytes(pdu[1:3], "big")
        data = bytes(pdu[4:])
        problem = _start_problem(seg_n, total_length, pdu[3], data)
        if problem is not None:
            raise DecodeError("TransactionStart", *problem)
        return cls(seg_n, total_length, pdu[3], data)


@dataclass(frozen=True, slots=True)
class TransactionAck:
    """Transaction Acknowledgment PDU (§5.3.1.3): one octet, padding zero."""

    GPCF: ClassVar[int] = _Gpcf.ACK

    def to_bytes(self) -> bytes:
        """The single octet 0x01."""
        return bytes([self.GPCF])

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; the 6 padding bits are reserved and must be zero."""
        _check_gpcf("TransactionAck", pdu, _Gpcf.ACK)
        if len(pdu) != 1:
            raise DecodeError("TransactionAck", None, f"{len(pdu)} octets, expected 1")
        if pdu[0] >> 2:
            raise DecodeError("TransactionAck", "padding", "reserved bits set")
        return cls()


@dataclass(frozen=True, slots=True)
class TransactionContinuation:
    """Transaction Continuation PDU (§5.3.1.4): segment 1..SegN of a Provisioning PDU."""

    GPCF: ClassVar[int] = _Gpcf.CONTINUATION
    segment_index: int
    data: bytes

    def __post_init__(self) -> None:
        if not 1 <= self.segment_index <= _MAX_SEGMENT_INDEX:
            raise UsageError(f"segment_index must be 1..63, got {self.segment_index}")
        if not 1 <= len(self.data) <= CONTINUATION_DATA_SIZE:
            raise UsageError(f"continuation data must be 1..23 octets, got {len(self.data)}")

    def to_bytes(self) -> bytes:
        """SegmentIndex|GPCF, data."""
        return bytes([(self.segment_index << 2) | self.GPCF]) + self.data

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; segment index 0 and empty or oversized data are rejected."""
        _check_gpcf("TransactionContinuation", pdu, _Gpcf.CONTINUATION)
        index = pdu[0] >> 2
        if index == 0:
            raise DecodeError("TransactionContinuation", "segment_index", "0 is the start segment")
        data = bytes(pdu[1:])
        if not 1 <= len(data) <= CONTINUATION_DATA_SIZE:
            raise DecodeError(
                "TransactionContinuation", "data", f"{len(data)} octets, expected 1..23"
            )
        return cls(index, data)


def _bearer_control_header(opcode: BearerOpcode) -> bytes:
    return bytes([(opcode << 2) | _Gpcf.BEARER_CONTROL])


def _bearer_parameters(structure: str, pdu: bytes, opcode: BearerOpcode, size: int) -> bytes:
    _check_gpcf(structure, pdu, _Gpcf.BEARER_CONTROL)
    if pdu[0] >> 2 != opcode:
        raise DecodeError(structure, "opcode", f"0x{pdu[0] >> 2:02x} is not {opcode.name}")
    if len(pdu) != 1 + size:
        raise DecodeError(structure, None, f"{len(pdu)} octets, expected {1 + size}")
    return bytes(pdu[1:])


@dataclass(frozen=True, slots=True)
class LinkOpen:
    """Link Open (§5.3.1.4.1): the Device UUID of the device to provision."""

    OPCODE: ClassVar[BearerOpcode] = BearerOpcode.LINK_OPEN
    device_uuid: bytes

    def __post_init__(self) -> None:
        if len(self.device_uuid) != _UUID_SIZE:
            raise UsageError(f"device_uuid must be 16 octets, got {len(self.device_uuid)}")

    def to_bytes(self) -> bytes:
        """0x03 followed by the 16-octet Device UUID."""
        return _bearer_control_header(self.OPCODE) + self.device_uuid

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; the parameter must be exactly a 16-octet UUID."""
        return cls(_bearer_parameters("LinkOpen", pdu, cls.OPCODE, _UUID_SIZE))


@dataclass(frozen=True, slots=True)
class LinkAck:
    """Link ACK (§5.3.1.4.2): no parameters."""

    OPCODE: ClassVar[BearerOpcode] = BearerOpcode.LINK_ACK

    def to_bytes(self) -> bytes:
        """The single octet 0x07."""
        return _bearer_control_header(self.OPCODE)

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; any parameter octet is an error."""
        _bearer_parameters("LinkAck", pdu, cls.OPCODE, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class LinkClose:
    """Link Close (§5.3.1.4.3): one reason octet; unrecognized reasons are still a close."""

    OPCODE: ClassVar[BearerOpcode] = BearerOpcode.LINK_CLOSE
    reason: int

    def __post_init__(self) -> None:
        if not 0 <= self.reason <= 0xFF:
            raise UsageError(f"reason must be one octet, got {self.reason}")

    def to_bytes(self) -> bytes:
        """0x0B followed by the reason."""
        return _bearer_control_header(self.OPCODE) + bytes([self.reason])

    @classmethod
    def from_bytes(cls, pdu: bytes) -> Self:
        """Decode; any reason value is accepted (§5.3.1.4.3: process it whatever it says)."""
        return cls(_bearer_parameters("LinkClose", pdu, cls.OPCODE, 1)[0])


type GenericProvisioningPdu = (
    TransactionStart | TransactionAck | TransactionContinuation | LinkOpen | LinkAck | LinkClose
)

_BEARER_CONTROL: dict[int, type[LinkOpen | LinkAck | LinkClose]] = {
    BearerOpcode.LINK_OPEN: LinkOpen,
    BearerOpcode.LINK_ACK: LinkAck,
    BearerOpcode.LINK_CLOSE: LinkClose,
}


def _check_gpcf(structure: str, pdu: bytes, gpcf: _Gpcf) -> None:
    if not pdu:
        raise DecodeError(structure, None, "empty")
    if pdu[0] & 0x03 != gpcf:
        raise DecodeError(structure, "gpcf", f"GPCF {pdu[0] & 0x03} is not {gpcf.name}")


def decode_generic_provisioning_pdu(pdu: bytes) -> GenericProvisioningPdu:
    """Decode one Generic Provisioning PDU by its GPCF; raises :class:`DecodeError`."""
    if not pdu:
        raise DecodeError("GenericProvisioningPdu", None, "empty")
    if len(pdu) > GPDU_MTU:
        raise DecodeError("GenericProvisioningPdu", None, f"{len(pdu)} octets > {GPDU_MTU}")
    gpcf = pdu[0] & 0x03
    if gpcf == _Gpcf.START:
        return TransactionStart.from_bytes(pdu)
    if gpcf == _Gpcf.ACK:
        return TransactionAck.from_bytes(pdu)
    if gpcf == _Gpcf.CONTINUATION:
        return TransactionContinuation.from_bytes(pdu)
    opcode = pdu[0] >> 2
    kind = _BEARER_CONTROL.get(opcode)
    if kind is None:
        raise DecodeError("BearerControl", "opcode", f"RFU bearer opcode 0x{opcode:02x}")
    return kind.from_bytes(pdu)


@dataclass(frozen=True, slots=True)
class PbAdvPdu:
    """One PB-ADV advertising payload (§5.2.1): Link ID, Transaction Number, Generic PDU."""

    link_id: int
    transaction_number: int
    pdu: GenericProvisioningPdu

    def __post_init__(self) -> None:
        if not 0 <= self.link_id <= 0xFFFFFFFF:
            raise UsageError("link_id must be 4 octets")
        if not 0 <= self.transaction_number <= 0xFF:
            raise UsageError("transaction_number must be one octet")

    def to_bytes(self) -> bytes:
        """The AD data of a «PB-ADV» advertisement (without length and AD type)."""
        return (
            self.link_id.to_bytes(4, "big") + bytes([self.transaction_number]) + self.pdu.to_bytes()
        )

    @classmethod
    def from_bytes(cls, payload: bytes) -> Self:
        """Decode one PB-ADV AD payload; raises :class:`DecodeError` on anything malformed."""
        if len(payload) <= _HEADER_SIZE:
            raise DecodeError("PbAdvPdu", None, f"{len(payload)} octets, at least 6 needed")
        if len(payload) > _HEADER_SIZE + GPDU_MTU:
            raise DecodeError("PbAdvPdu", None, f"{len(payload)} octets, at most 29")
        return cls(
            int.from_bytes(payload[:4], "big"),
            payload[4],
            decode_generic_provisioning_pdu(bytes(payload[_HEADER_SIZE:])),
        )


def segment_provisioning_pdu(
    pdu: bytes,
) -> list[TransactionStart | TransactionContinuation]:
    """Split a Provisioning PDU into one Transaction Start and its Continuations (§5.3.1)."""
    if not 1 <= len(pdu) <= MAX_PROVISIONING_PDU_SIZE:
        raise UsageError(f"a Provisioning PDU is 1..{MAX_PROVISIONING_PDU_SIZE} octets")
    total = len(pdu)
    seg_n = _last_segment_index(total)
    segments: list[TransactionStart | TransactionContinuation] = [
        TransactionStart(seg_n, total, fcs(pdu), bytes(pdu[:START_DATA_SIZE]))
    ]
    for index in range(1, seg_n + 1):
        offset = START_DATA_SIZE + (index - 1) * CONTINUATION_DATA_SIZE
        segments.append(
            TransactionContinuation(index, bytes(pdu[offset : offset + CONTINUATION_DATA_SIZE]))
        )
    return segments


# --- Actions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transmit:
    """Advertise these PB-ADV payloads, in order, each after a random 20-50 ms delay."""

    payloads: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Deliver:
    """A complete, FCS-checked Provisioning PDU from the peer (each one exactly once)."""

    pdu: bytes


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """The link is established (provisioner: Link ACK received; device: Link Open accepted)."""

    link_id: int


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """The link is closed; ``by_peer`` tells whether the peer sent Link Close."""

    reason: int
    by_peer: bool


type PbAdvAction = Transmit | Deliver | LinkOpened | LinkClosed


# --- Link state machine (§5.3.2, §5.3.3) -------------------------------------------------


class PbAdvRole(Enum):
    """Which end of the link this is; decides transaction number ranges (§5.3.1)."""

    PROVISIONER = "provisioner"  # transaction numbers 0x00-0x7F
    DEVICE = "device"  # transaction numbers 0x80-0xFF


class LinkState(Enum):
    """Life of one link."""

    IDLE = "idle"  # provisioner: not opened yet; device: waiting for a Link Open
    OPENING = "opening"  # provisioner: Link Open sent, waiting for Link ACK
    OPEN = "open"
    CLOSED = "closed"


def _next_transaction_number(role: PbAdvRole, number: int) -> int:
    base = 0x00 if role is PbAdvRole.PROVISIONER else 0x80
    return base | ((number + 1) & 0x7F)


def _in_range(role: PbAdvRole, number: int) -> bool:
    return (number >= 0x80) == (role is PbAdvRole.DEVICE)


@dataclass(slots=True)
class _Outgoing:
    number: int
    payloads: tuple[bytes, ...]
    ack_deadline: float
    retransmit_at: float


@dataclass(slots=True)
class _Incoming:
    number: int
    start: TransactionStart | None = None
    continuations: dict[int, bytes] = field(default_factory=dict)


class PbAdvLink:
    """One PB-ADV link, provisioner or device end (sans-IO).

    Provisioner::

        link = PbAdvLink(PbAdvRole.PROVISIONER, device_uuid)
        actions = link.open(now)              # [Transmit(Link Open)]
        actions = link.receive(payload, now)  # ... [LinkOpened]
        actions = link.send(invite, now)      # [Transmit(segments)]

    Device: ``PbAdvLink(PbAdvRole.DEVICE, own_uuid)`` and feed it every PB-ADV payload.
    """

    def __init__(
        self,
        role: PbAdvRole,
        device_uuid: bytes,
        *,
        link_id: int | None = None,
        retransmit_interval: float = DEFAULT_RETRANSMIT_INTERVAL,
        link_establishment_timeout: float = LINK_ESTABLISHMENT_TIMEOUT,
        transaction_ack_timeout: float = TRANSACTION_ACK_TIMEOUT,
        link_timeout: float = LINK_TIMEOUT,
    ) -> None:
        if len(device_uuid) != _UUID_SIZE:
            raise UsageError("device_uuid must be 16 octets")
        if role is PbAdvRole.DEVICE and link_id is not None:
            raise UsageError("a device learns the Link ID from the Link Open")
        if link_id is not None and not 0 <= link_id <= 0xFFFFFFFF:
            raise UsageError("link_id must be 4 octets")
        if retransmit_interval <= 0:
            raise UsageError("retransmit_interval must be positive")
        self.role = role
        self.device_uuid = bytes(device_uuid)
        # §5.3.2: "The Link ID shall be randomly generated".
        self._link_id: int | None = (
            (secrets.randbits(32) if link_id is None else link_id)
            if role is PbAdvRole.PROVISIONER
            else None
        )
        self._retransmit_interval = retransmit_interval
        self._establishment_timeout = link_establishment_timeout
        self._ack_timeout = transaction_ack_timeout
        self._link_timeout = link_timeout
        self._state = LinkState.IDLE
        self._open_deadline: float | None = None  # link establishment timer
        self._open_retransmit_at: float | None = None
        self._link_deadline: float | None = None  # link timer (until first PDU received)
        self._tx_number: int | None = None  # last transaction number we used
        self._outgoing: _Outgoing | None = None
        self._queue: list[bytes] = []
        self._incoming: _Incoming | None = None
        self._last_delivered: int | None = None  # peer transaction number last delivered

    # -- properties --

    @property
    def state(self) -> LinkState:
        """Where the link is in its life."""
        return self._state

    @property
    def link_id(self) -> int | None:
        """The Link ID (a device learns it from the Link Open)."""
        return self._link_id

    @property
    def busy(self) -> bool:
        """True while an outgoing transaction is unacknowledged or queued."""
        return self._outgoing is not None or bool(self._queue)

    # -- commands --

    def open(self, now: float) -> list[PbAdvAction]:
        """Provisioner: send Link Open and start the 60 s link establishment timer."""
        if self.role is not PbAdvRole.PROVISIONER:
            raise UsageError("only the provisioner opens a PB-ADV link")
        if self._state is not LinkState.IDLE:
            raise UsageError(f"cannot open a link that is {self._state.value}")
        self._state = LinkState.OPENING
        self._open_deadline = now + self._establishment_timeout
        self._open_retransmit_at = now + self._retransmit_interval
        return [Transmit((self._link_open_payload(),))]

    def send(self, pdu: bytes, now: float) -> list[PbAdvAction]:
        """Send one Provisioning PDU as a transaction (queued behind an unacknowledged one)."""
        if self._state is not LinkState.OPEN:
            raise UsageError(f"cannot send on a link that is {self._state.value}")
        if not 1 <= len(pdu) <= MAX_PROVISIONING_PDU_SIZE:
            raise UsageError(f"a Provisioning PDU is 1..{MAX_PROVISIONING_PDU_SIZE} octets")
        self._queue.append(bytes(pdu))
        if self._outgoing is not None:
            return []
        return self._start_next(now)

    def close(self, reason: int, now: float) -> list[PbAdvAction]:
        """Close the link: Link Close sent three times (§5.3.1.4.3), every timer stopped."""
        if self._state in (LinkState.IDLE, LinkState.CLOSED):
            self._shutdown()
            return []
        return self._close(reason, by_peer=False)

    # -- events --

    def receive(self, payload: bytes, now: float) -> list[PbAdvAction]:
        """Feed one received PB-ADV advertising payload; returns what to do."""
        if self._state is LinkState.CLOSED:
            return []
        try:
            adv = PbAdvPdu.from_bytes(payload)
        except DecodeError:
            return []  # malformed: ignored, the peer retransmits
        pdu = adv.pdu
        if isinstance(pdu, LinkOpen):
            return self._on_link_open(adv.link_id, pdu, now)
        if adv.link_id != self._link_id:
            return []
        if isinstance(pdu, LinkAck):
            return self._on_link_ack(now)
        if isinstance(pdu, LinkClose):
            if self._state in (LinkState.OPENING, LinkState.OPEN):
                return self._close(pdu.reason, by_peer=True)
            return []
        if self._state is not LinkState.OPEN:
            return []
        if isinstance(pdu, TransactionAck):
            return self._on_ack(adv.transaction_number, now)
        return self._on_segment(adv.transaction_number, pdu)

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called next, or ``None`` if no timer runs."""
        deadlines = [
            self._open_deadline,
            self._open_retransmit_at,
            self._link_deadline,
        ]
        if self._outgoing is not None:
            deadlines += [self._outgoing.ack_deadline, self._outgoing.retransmit_at]
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    def timeout(self, now: float) -> list[PbAdvAction]:
        """Run every timer that has expired at ``now``."""
        if self._state is LinkState.OPENING:
            if self._open_deadline is not None and now >= self._open_deadline:
                # §5.3.2: the link is not open; nothing to close on the air.
                self._shutdown()
                return [LinkClosed(CloseReason.TIMEOUT, by_peer=False)]
            if self._open_retransmit_at is not None and now >= self._open_retransmit_at:
                self._open_retransmit_at = now + self._retransmit_interval
                return [Transmit((self._link_open_payload(),))]
            return []
        if self._state is not LinkState.OPEN:
            return []
        if self._link_deadline is not None and now >= self._link_deadline:
            return self._close(CloseReason.TIMEOUT, by_peer=False)
        outgoing = self._outgoing
        if outgoing is None:
            return []
        if now >= outgoing.ack_deadline:
            # §5.3.3: cancel the transaction and the provisioning, close the link.
            return self._close(CloseReason.TIMEOUT, by_peer=False)
        if now >= outgoing.retransmit_at:
            outgoing.retransmit_at = now + self._retransmit_interval
            return [Transmit(outgoing.payloads)]
        return []

    # -- internals --

    def _payload(self, number: int, pdu: GenericProvisioningPdu) -> bytes:
        assert self._link_id is not None
        return PbAdvPdu(self._link_id, number, pdu).to_bytes()

    def _link_open_payload(self) -> bytes:
        return self._payload(0, LinkOpen(self.device_uuid))

    def _shutdown(self) -> None:
        self._state = LinkState.CLOSED
        self._open_deadline = None
        self._open_retransmit_at = None
        self._link_deadline = None
        self._outgoing = None
        self._queue = []
        self._incoming = None

    def _close(self, reason: int, *, by_peer: bool) -> list[PbAdvAction]:
        actions: list[PbAdvAction] = []
        if not by_peer and self._link_id is not None:
            close = self._payload(0, LinkClose(reason))
            actions.append(Transmit((close,) * LINK_CLOSE_REPEATS))
        self._shutdown()
        actions.append(LinkClosed(reason, by_peer=by_peer))
        return actions

    def _on_link_open(self, link_id: int, pdu: LinkOpen, now: float) -> list[PbAdvAction]:
        if self.role is not PbAdvRole.DEVICE or pdu.device_uuid != self.device_uuid:
            return []
        ack = PbAdvPdu(link_id, 0, LinkAck()).to_bytes()
        if self._state is LinkState.IDLE:
            self._link_id = link_id
            self._state = LinkState.OPEN
            self._link_deadline = now + self._link_timeout
            return [Transmit((ack,)), LinkOpened(link_id)]
        if self._state is LinkState.OPEN and link_id == self._link_id:
            return [Transmit((ack,))]  # our Link ACK was lost: acknowledge again
        return []  # already linked with another provisioner

    def _on_link_ack(self, now: float) -> list[PbAdvAction]:
        if self.role is not PbAdvRole.PROVISIONER or self._state is not LinkState.OPENING:
            return []
        self._state = LinkState.OPEN
        self._open_deadline = None
        self._open_retransmit_at = None
        self._link_deadline = now + self._link_timeout
        assert self._link_id is not None
        return [LinkOpened(self._link_id)]

    def _start_next(self, now: float) -> list[PbAdvAction]:
        if not self._queue:
            return []
        pdu = self._queue.pop(0)
        number = (
            (0x00 if self.role is PbAdvRole.PROVISIONER else 0x80)
            if self._tx_number is None
            else _next_transaction_number(self.role, self._tx_number)
        )
        self._tx_number = number
        payloads = tuple(self._payload(number, seg) for seg in segment_provisioning_pdu(pdu))
        self._outgoing = _Outgoing(
            number=number,
            payloads=payloads,
            ack_deadline=now + self._ack_timeout,
            retransmit_at=now + self._retransmit_interval,
        )
        return [Transmit(payloads)]

    def _on_ack(self, number: int, now: float) -> list[PbAdvAction]:
        if self._outgoing is None or self._outgoing.number != number:
            return []  # a duplicate ack of an earlier transaction
        self._outgoing = None
        return self._start_next(now)

    def _on_segment(
        self, number: int, pdu: TransactionStart | TransactionContinuation
    ) -> list[PbAdvAction]:
        if _in_range(self.role, number):
            return []  # our own range: not from the peer
        ack = (self._payload(number, TransactionAck()),)
        if number == self._last_delivered:
            # §5.3.3: the peer missed our ack and retransmits; ack again, deliver nothing.
            return [Transmit(ack)]
        if self._last_delivered is not None and number != _next_transaction_number(
            _peer(self.role), self._last_delivered
        ):
            return []  # neither the current nor the next transaction: stale or bogus
        incoming = self._incoming
        if incoming is None or incoming.number != number:
            incoming = self._incoming = _Incoming(number)
        if isinstance(pdu, TransactionStart):
            if incoming.start is not None and incoming.start != pdu:
                # A different start for the same transaction: trust the newest one.
                incoming.continuations = {}
            incoming.start = pdu
        else:
            incoming.continuations[pdu.segment_index] = pdu.data
        start = incoming.start
        if start is None:
            return []
        for index, data in list(incoming.continuations.items()):
            if index > start.seg_n or len(data) != _segment_length(start.total_length, index):
                del incoming.continuations[index]  # does not fit this transaction
        if len(incoming.continuations) < start.seg_n:
            return []
        whole = start.data + b"".join(
            incoming.continuations[index] for index in range(1, start.seg_n + 1)
        )
        self._incoming = None
        if fcs(whole) != start.fcs:
            return []  # §5.3.1.2: discard; the peer retransmits the transaction
        self._last_delivered = number
        self._link_deadline = None  # a Provisioning PDU arrived: link timer stops
        return [Transmit(ack), Deliver(whole)]


def _peer(role: PbAdvRole) -> PbAdvRole:
    return PbAdvRole.DEVICE if role is PbAdvRole.PROVISIONER else PbAdvRole.PROVISIONER
