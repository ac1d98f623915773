"""Lower transport (MshPRT 1.1 §3.5) and upper transport (MshPRT 1.1 §3.6) layers.

* Lower transport PDUs (§3.5.2): :class:`UnsegmentedAccessPdu`, :class:`SegmentedAccessPdu`,
  :class:`UnsegmentedControlPdu`, :class:`SegmentedControlPdu`, decoded by
  :func:`decode_lower_transport`.
* Transport control messages (§3.6.5): :class:`SegmentAck` (opcode 0x00) and
  :class:`Heartbeat` (opcode 0x0A).
* Upper transport security (§3.9.7.1): :func:`encrypt_access` / :func:`decrypt_access` with an
  application key (AKF=1, AID = k4(AppKey)) or a device key, 32- or 64-bit TransMIC, label UUID as
  additional data for virtual destinations.
* :class:`MeshStack`: network + lower + upper transport for one node (our provisioner, or a
  simulated device). Sans-IO: ``send_access``/``send_control``/``receive``/``handle_timeout``
  return ordered lists of actions (:class:`SendPdu`, :class:`PersistSequence`,
  :class:`ReplayProtectionUpdated`, :class:`AccessMessage`, ...); ``next_deadline`` says when to
  call ``handle_timeout`` again. Segmentation and reassembly (§3.5.3) with Segment
  Acknowledgments, the acknowledgment, incomplete and retransmission timers live here.
  ``encode_pdus`` builds the PDUs of a message with given SEQ numbers (tools, samples).

Every Lower Transport PDU is encoded by one function per kind (``_unsegmented_access`` and
``_segment``), whether the PDU objects' ``to_bytes`` or the stack's transmit path asks.

The caller performs the actions in order: a :class:`PersistSequence` must be stored before any
later :class:`SendPdu` leaves, and a :class:`ReplayProtectionUpdated` before the message that
follows it is acted on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
import struct
from typing import Self

from . import crypto
from .errors import DecodeError, MeshError, UsageError
from .network import (
    MAX_SEQ,
    MAX_TTL,
    IvIndexState,
    NetworkKeyring,
    NetworkMessageCache,
    ReceivedNetworkPdu,
    ReplayProtectionList,
    SequenceAllocator,
    decrypt_with_keyring,
    is_group,
    is_unicast,
    is_virtual,
    seal_network_pdu,
)

__all__ = [
    "AccessMessage",
    "AppKey",
    "AppKeyring",
    "ControlMessage",
    "DeviceKey",
    "Heartbeat",
    "LowerTransportPdu",
    "MeshStack",
    "PersistSequence",
    "ReplayProtectionUpdated",
    "SarConfig",
    "SegmentAck",
    "SegmentedAccessPdu",
    "SegmentedControlPdu",
    "SegmentedTransferFailed",
    "SendPdu",
    "StackAction",
    "TransferBusyError",
    "TransferCompleted",
    "UnsegmentedAccessPdu",
    "UnsegmentedControlPdu",
    "decode_lower_transport",
    "decrypt_access",
    "encrypt_access",
    "sent_pdus",
]

SEGMENT_ACK_OPCODE = 0x00
HEARTBEAT_OPCODE = 0x0A
ACCESS_SEGMENT_SIZE = 12  # §3.5.2.2: SegmentM of a Segmented Access message
CONTROL_SEGMENT_SIZE = 8  # §3.5.2.4: SegmentM of a Segmented Control message
MAX_SEGMENTS = 32
MAX_UNSEGMENTED_UPPER_ACCESS = 15
MAX_UNSEGMENTED_CONTROL_PARAMETERS = 11
SEQ_ZERO_MASK = 0x1FFF
_SEGMENT_HEADER = struct.Struct(">I")  # SEG|AKF|AID, SZMIC|SeqZero|SegO|SegN (§3.5.2.2)


class TransferBusyError(UsageError):
    """A segmented transfer to this destination is still running (§3.5.3.3: one at a time)."""


# --- lower transport PDUs (§3.5.2) --------------------------------------------------------


def _check(name: str, ok: bool, reason: str) -> None:
    if not ok:
        raise UsageError(f"{name}: {reason}")


@dataclass(frozen=True, slots=True)
class UnsegmentedAccessPdu:
    """Unsegmented Access message (§3.5.2.1): SEG=0 | AKF | AID, then the Upper Transport PDU."""

    akf: bool
    aid: int
    upper_transport_pdu: bytes

    def __post_init__(self) -> None:
        if (
            0 <= self.aid <= 0x3F
            and (self.akf or self.aid == 0)
            and 5 <= len(self.upper_transport_pdu) <= MAX_UNSEGMENTED_UPPER_ACCESS
        ):
            return  # the common case, checked in one go
        _check(
            "UnsegmentedAccessPdu.aid",
            0 <= self.aid <= 0x3F and (self.akf or self.aid == 0),
            "invalid",
        )
        _check(
            "UnsegmentedAccessPdu.upper_transport_pdu",
            5 <= len(self.upper_transport_pdu) <= MAX_UNSEGMENTED_UPPER_ACCESS,
            "must be 5..15 octets",
        )

    def to_bytes(self) -> bytes:
        """Encode."""
        return _unsegmented_access(self.akf, self.aid, self.upper_transport_pdu)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode (SEG must be 0)."""
        name = "UnsegmentedAccessPdu"
        if not data or data[0] & 0x80:
            raise DecodeError(name, "seg", "not an unsegmented PDU")
        if not 6 <= len(data) <= 1 + MAX_UNSEGMENTED_UPPER_ACCESS:
            raise DecodeError(name, "upper_transport_pdu", f"length {len(data) - 1} not in 5..15")
        akf = bool(data[0] & 0x40)
        if not akf and data[0] & 0x3F:
            raise DecodeError(name, "aid", "must be 0 when AKF is 0")
        return cls(akf, data[0] & 0x3F, bytes(data[1:]))


def _unsegmented_access(akf: bool, aid: int, upper_transport_pdu: bytes) -> bytes:
    """SEG=0|AKF|AID || Upper Transport PDU (§3.5.2.1): the one encoder, fields already valid."""
    return bytes(((0x40 | aid) if akf else aid,)) + upper_transport_pdu


def _segment(
    first: int, szmic_or_rfu: bool, seq_zero: int, seg_o: int, seg_n: int, segment: bytes
) -> bytes:
    """A Segmented Access or Control PDU (§3.5.2.2, §3.5.2.4): the one encoder of both.

    ``first`` is SEG=1|AKF|AID or SEG=1|Opcode; the fields are already valid.
    """
    head = (first << 24) | (int(szmic_or_rfu) << 23) | (seq_zero << 10) | (seg_o << 5) | seg_n
    return _SEGMENT_HEADER.pack(head) + segment


def _chunks(data: bytes, size: int) -> list[bytes]:
    """The SegmentM of a segmented message (§3.5.2.2: 12 octets, §3.5.2.4: 8 octets)."""
    return [data[i : i + size] for i in range(0, len(data), size)]


def _check_seg_fields(name: str, seq_zero: int, seg_o: int, seg_n: int) -> None:
    _check(f"{name}.seq_zero", 0 <= seq_zero <= SEQ_ZERO_MASK, "must fit 13 bits")
    _check(f"{name}.seg_n", 0 <= seg_n <= 31, "must be 0..31")
    _check(f"{name}.seg_o", 0 <= seg_o <= seg_n, "must be 0..SegN")


def _parse_seg_header(name: str, data: bytes) -> tuple[bool, int, int, int]:
    value = int.from_bytes(data[1:4], "big")
    seq_zero, seg_o, seg_n = (value >> 10) & SEQ_ZERO_MASK, (value >> 5) & 0x1F, value & 0x1F
    if seg_o > seg_n:
        raise DecodeError(name, "seg_o", f"SegO {seg_o} > SegN {seg_n}")
    return bool(value >> 23), seq_zero, seg_o, seg_n


@dataclass(frozen=True, slots=True)
class SegmentedAccessPdu:
    """Segmented Access message (§3.5.2.2): SEG=1|AKF|AID, SZMIC|SeqZero|SegO|SegN, SegmentM."""

    akf: bool
    aid: int
    szmic: bool
    seq_zero: int
    seg_o: int
    seg_n: int
    segment: bytes

    def __post_init__(self) -> None:
        if (
            0 <= self.aid <= 0x3F
            and (self.akf or self.aid == 0)
            and 0 <= self.seq_zero <= SEQ_ZERO_MASK
            and 0 <= self.seg_o <= self.seg_n <= 31
            and 1 <= len(self.segment) <= ACCESS_SEGMENT_SIZE
        ):
            return  # the common case, checked in one go
        _check(
            "SegmentedAccessPdu.aid",
            0 <= self.aid <= 0x3F and (self.akf or self.aid == 0),
            "invalid",
        )
        _check_seg_fields("SegmentedAccessPdu", self.seq_zero, self.seg_o, self.seg_n)
        _check(
            "SegmentedAccessPdu.segment",
            1 <= len(self.segment) <= ACCESS_SEGMENT_SIZE,
            "must be 1..12 octets",
        )

    def to_bytes(self) -> bytes:
        """Encode."""
        first = 0x80 | (0x40 if self.akf else 0) | self.aid
        return _segment(first, self.szmic, self.seq_zero, self.seg_o, self.seg_n, self.segment)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode (SEG must be 1)."""
        name = "SegmentedAccessPdu"
        if not data or not data[0] & 0x80:
            raise DecodeError(name, "seg", "not a segmented PDU")
        if not 5 <= len(data) <= 4 + ACCESS_SEGMENT_SIZE:
            raise DecodeError(name, "segment", f"length {len(data) - 4} not in 1..12")
        akf = bool(data[0] & 0x40)
        if not akf and data[0] & 0x3F:
            raise DecodeError(name, "aid", "must be 0 when AKF is 0")
        szmic, seq_zero, seg_o, seg_n = _parse_seg_header(name, data)
        return cls(akf, data[0] & 0x3F, szmic, seq_zero, seg_o, seg_n, bytes(data[4:]))


@dataclass(frozen=True, slots=True)
class UnsegmentedControlPdu:
    """Unsegmented Control message (§3.5.2.3): SEG=0 | Opcode, Parameters (0..11 octets)."""

    opcode: int
    parameters: bytes

    def __post_init__(self) -> None:
        _check("UnsegmentedControlPdu.opcode", 0 <= self.opcode <= 0x7F, "must be 0..0x7f")
        _check(
            "UnsegmentedControlPdu.parameters",
            len(self.parameters) <= MAX_UNSEGMENTED_CONTROL_PARAMETERS,
            "at most 11 octets",
        )

    def to_bytes(self) -> bytes:
        """Encode."""
        return bytes([self.opcode]) + self.parameters

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode (SEG must be 0)."""
        name = "UnsegmentedControlPdu"
        if not data or data[0] & 0x80:
            raise DecodeError(name, "seg", "not an unsegmented PDU")
        if len(data) > 1 + MAX_UNSEGMENTED_CONTROL_PARAMETERS:
            raise DecodeError(name, "parameters", "longer than 11 octets")
        return cls(data[0], bytes(data[1:]))


@dataclass(frozen=True, slots=True)
class SegmentedControlPdu:
    """Segmented Control message (§3.5.2.4): SEG=1|Opcode, RFU|SeqZero|SegO|SegN, SegmentM."""

    opcode: int
    seq_zero: int
    seg_o: int
    seg_n: int
    segment: bytes

    def __post_init__(self) -> None:
        _check("SegmentedControlPdu.opcode", 1 <= self.opcode <= 0x7F, "must be 1..0x7f")
        _check_seg_fields("SegmentedControlPdu", self.seq_zero, self.seg_o, self.seg_n)
        _check(
            "SegmentedControlPdu.segment",
            1 <= len(self.segment) <= CONTROL_SEGMENT_SIZE,
            "must be 1..8 octets",
        )

    def to_bytes(self) -> bytes:
        """Encode."""
        return _segment(
            0x80 | self.opcode, False, self.seq_zero, self.seg_o, self.seg_n, self.segment
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode (SEG must be 1)."""
        name = "SegmentedControlPdu"
        if not data or not data[0] & 0x80:
            raise DecodeError(name, "seg", "not a segmented PDU")
        if not 5 <= len(data) <= 4 + CONTROL_SEGMENT_SIZE:
            raise DecodeError(name, "segment", f"length {len(data) - 4} not in 1..8")
        if data[0] & 0x7F == SEGMENT_ACK_OPCODE:
            raise DecodeError(name, "opcode", "a Segment Acknowledgment is never segmented")
        rfu, seq_zero, seg_o, seg_n = _parse_seg_header(name, data)
        if rfu:
            raise DecodeError(name, "rfu", "reserved bit set")
        return cls(data[0] & 0x7F, seq_zero, seg_o, seg_n, bytes(data[4:]))


LowerTransportPdu = (
    UnsegmentedAccessPdu | SegmentedAccessPdu | UnsegmentedControlPdu | SegmentedControlPdu
)


def decode_lower_transport(ctl: bool, data: bytes) -> LowerTransportPdu:
    """Decode a Lower Transport PDU; ``ctl`` comes from the Network PDU."""
    if not data:
        raise DecodeError("LowerTransportPdu", None, "empty")
    segmented = bool(data[0] & 0x80)
    if ctl:
        return (
            SegmentedControlPdu.from_bytes(data)
            if segmented
            else UnsegmentedControlPdu.from_bytes(data)
        )
    return (
        SegmentedAccessPdu.from_bytes(data) if segmented else UnsegmentedAccessPdu.from_bytes(data)
    )


# --- transport control messages (§3.6.5) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentAck:
    """Segment Acknowledgment (§3.6.5.1, opcode 0x00): OBO, SeqZero, BlockAck."""

    OPCODE = SEGMENT_ACK_OPCODE
    obo: bool
    seq_zero: int
    block_ack: int

    def __post_init__(self) -> None:
        _check("SegmentAck.seq_zero", 0 <= self.seq_zero <= SEQ_ZERO_MASK, "must fit 13 bits")
        _check("SegmentAck.block_ack", 0 <= self.block_ack <= 0xFFFFFFFF, "must fit 32 bits")

    def to_parameters(self) -> bytes:
        """Parameters: OBO(1) | SeqZero(13) | RFU(2), BlockAck(32), big-endian."""
        head = (int(self.obo) << 15) | (self.seq_zero << 2)
        return head.to_bytes(2, "big") + self.block_ack.to_bytes(4, "big")

    def to_pdu(self) -> UnsegmentedControlPdu:
        """As an Unsegmented Control PDU."""
        return UnsegmentedControlPdu(self.OPCODE, self.to_parameters())

    def to_bytes(self) -> bytes:
        """The whole Lower Transport PDU (opcode included)."""
        return self.to_pdu().to_bytes()

    @classmethod
    def from_parameters(cls, data: bytes) -> Self:
        """Decode the 6 parameter octets."""
        if len(data) != 6:
            raise DecodeError("SegmentAck", None, f"parameters must be 6 octets, got {len(data)}")
        head = int.from_bytes(data[:2], "big")
        if head & 0x3:
            raise DecodeError("SegmentAck", "rfu", "reserved bits set")
        return cls(bool(head >> 15), (head >> 2) & SEQ_ZERO_MASK, int.from_bytes(data[2:], "big"))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a whole Lower Transport PDU (opcode 0x00 then parameters)."""
        if not data or data[0] != SEGMENT_ACK_OPCODE:
            raise DecodeError("SegmentAck", "opcode", "not a Segment Acknowledgment")
        return cls.from_parameters(data[1:])


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Heartbeat (§3.6.5.10, opcode 0x0A): RFU | InitTTL (7 bits), Features (16 bits)."""

    OPCODE = HEARTBEAT_OPCODE
    init_ttl: int
    features: int

    def __post_init__(self) -> None:
        _check("Heartbeat.init_ttl", 0 <= self.init_ttl <= MAX_TTL, "must be 0..127")
        _check("Heartbeat.features", 0 <= self.features <= 0xFFFF, "must fit 16 bits")

    def to_parameters(self) -> bytes:
        """Encode the 3 parameter octets."""
        return bytes([self.init_ttl]) + self.features.to_bytes(2, "big")

    def to_bytes(self) -> bytes:
        """The whole Lower Transport PDU (opcode included)."""
        return bytes([self.OPCODE]) + self.to_parameters()

    @classmethod
    def from_parameters(cls, data: bytes) -> Self:
        """Decode the 3 parameter octets."""
        if len(data) != 3:
            raise DecodeError("Heartbeat", None, f"parameters must be 3 octets, got {len(data)}")
        if data[0] & 0x80:
            raise DecodeError("Heartbeat", "rfu", "reserved bit set")
        return cls(data[0], int.from_bytes(data[1:], "big"))


# --- keys and upper transport security (§3.6.2, §3.9.7.1) ---------------------------------


@lru_cache(maxsize=256)
def _aid(key: bytes) -> int:
    return crypto.k4(key)


@lru_cache(maxsize=256)
def _virtual_address(label_uuid: bytes) -> int:
    # One AES-CMAC per Label UUID, not one per message sent or received.
    return crypto.virtual_address(label_uuid)


@dataclass(frozen=True, slots=True, repr=False)
class AppKey:
    """An application key bound to a NetKey. ``repr`` hides the key."""

    index: int
    key: bytes
    net_key_index: int = 0

    def __post_init__(self) -> None:
        _check("AppKey.key", len(self.key) == 16, "must be 16 octets")
        _check("AppKey.index", 0 <= self.index <= 0xFFF, "must be 0..4095")

    @property
    def aid(self) -> int:
        """AID = k4(AppKey) (§3.9.6.4.2)."""
        return _aid(self.key)

    def __repr__(self) -> str:
        return (
            f"AppKey(index={self.index}, aid=0x{self.aid:02x}, net_key_index={self.net_key_index})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class DeviceKey:
    """The device key of the node whose elements are ``address .. address+element_count-1``."""

    key: bytes
    address: int = 0
    element_count: int = 1

    def __post_init__(self) -> None:
        _check("DeviceKey.key", len(self.key) == 16, "must be 16 octets")

    def covers(self, address: int) -> bool:
        """True if ``address`` is one of this node's elements."""
        return self.address <= address < self.address + self.element_count

    def __repr__(self) -> str:
        return f"DeviceKey(address=0x{self.address:04x}, element_count={self.element_count})"


@dataclass(slots=True, repr=False)
class _AppKeyEntry:
    old: AppKey
    new: AppKey | None = None


class AppKeyring:
    """Application keys by AppKey Index, with the Key Refresh pair (old, new)."""

    def __init__(self, keys: Iterable[AppKey] = ()) -> None:
        self._entries: dict[int, _AppKeyEntry] = {}
        for key in keys:
            self.add(key)

    def __repr__(self) -> str:
        return f"AppKeyring(indexes={sorted(self._entries)})"

    def add(self, key: AppKey) -> None:
        """Add (or replace) an AppKey."""
        self._entries[key.index] = _AppKeyEntry(key)

    def update(self, key: AppKey) -> None:
        """Key Refresh phase 1: add the new key material for an existing index."""
        entry = self._entries.get(key.index)
        if entry is None:
            raise UsageError(f"unknown AppKey index {key.index}")
        entry.new = key

    def revoke_old(self, net_key_index: int) -> None:
        """Key Refresh phase 3 of a subnet: the new keys replace the old ones."""
        for entry in self._entries.values():
            if entry.new is not None and entry.old.net_key_index == net_key_index:
                entry.old, entry.new = entry.new, None

    def remove(self, index: int) -> None:
        """Forget an AppKey."""
        self._entries.pop(index, None)

    def indexes(self) -> list[int]:
        """The AppKey Indexes held."""
        return sorted(self._entries)

    def get(self, index: int, *, new: bool = False) -> AppKey:
        """The key of an index (the new one during Key Refresh when ``new``)."""
        key = self.lookup(index, new=new)
        if key is None:
            raise UsageError(f"unknown AppKey index {index}")
        return key

    def lookup(self, index: int, *, new: bool = False) -> AppKey | None:
        """Like :meth:`get`, but None for an unknown index."""
        entry = self._entries.get(index)
        if entry is None:
            return None
        return entry.new if new and entry.new is not None else entry.old

    def candidates(self, aid: int, net_key_index: int) -> list[AppKey]:
        """Keys bound to ``net_key_index`` whose AID matches (old and new)."""
        return [
            key
            for entry in self._entries.values()
            for key in (entry.old, entry.new)
            if key is not None and key.net_key_index == net_key_index and key.aid == aid
        ]


def _upper_nonce(akf: bool, szmic: bool, seq: int, src: int, dst: int, iv_index: int) -> bytes:
    if akf:
        return crypto.application_nonce(szmic, seq, src, dst, iv_index)
    return crypto.device_nonce(szmic, seq, src, dst, iv_index)


def encrypt_access(
    payload: bytes,
    key: AppKey | DeviceKey,
    *,
    seq: int,
    src: int,
    dst: int,
    iv_index: int,
    szmic: bool = False,
    label_uuid: bytes | None = None,
) -> bytes:
    """Upper Transport Access PDU = AES-CCM(key, nonce, payload, label UUID) (§3.9.7.1).

    ``seq`` is the SEQ of the first segment (SeqAuth); ``szmic`` selects the 64-bit TransMIC.
    """
    akf = isinstance(key, AppKey)
    nonce = _upper_nonce(akf, szmic, seq, src, dst, iv_index)
    return crypto.aes_ccm_encrypt(key.key, nonce, payload, 8 if szmic else 4, label_uuid or b"")


def decrypt_access(
    upper_transport_pdu: bytes,
    key: AppKey | DeviceKey,
    *,
    seq: int,
    src: int,
    dst: int,
    iv_index: int,
    szmic: bool = False,
    label_uuid: bytes | None = None,
) -> bytes:
    """Inverse of :func:`encrypt_access`; raises :class:`crypto.InvalidMicError`."""
    akf = isinstance(key, AppKey)
    mic = 8 if szmic else 4
    if len(upper_transport_pdu) <= mic:
        raise DecodeError("UpperTransportAccessPdu", None, "no payload before the TransMIC")
    nonce = _upper_nonce(akf, szmic, seq, src, dst, iv_index)
    return crypto.aes_ccm_decrypt(key.key, nonce, upper_transport_pdu, mic, label_uuid or b"")


# --- actions (what MeshStack asks the caller to do or tells it) ------------------------------


@dataclass(frozen=True, slots=True)
class SendPdu:
    """Transmit this on-air Network PDU (through the proxy link or advertising bearer)."""

    data: bytes
    net_key_index: int
    dst: int = 0
    """The PDU's destination (a proxy server's filter decides by it, MshPRT 1.1 §6.7)."""


@dataclass(frozen=True, slots=True)
class PersistSequence:
    """Store ``state`` (for :meth:`SequenceAllocator.restore`) before any later SendPdu."""

    state: dict[str, int]


@dataclass(frozen=True, slots=True)
class ReplayProtectionUpdated:
    """The replay protection list changed; persist it before acting on what follows."""

    src: int
    iv_index: int
    seq: int


@dataclass(frozen=True, slots=True)
class AccessMessage:
    """A delivered access message: the access-layer payload (opcode and parameters)."""

    src: int
    dst: int
    payload: bytes
    key: AppKey | DeviceKey
    net_key_index: int
    ttl: int
    iv_index: int
    seq: int  # SeqAuth's SEQ (the first segment's)
    label_uuid: bytes | None = None
    segmented: bool = False

    @property
    def app_key_index(self) -> int | None:
        """AppKey Index when an application key opened it, else None (device key)."""
        return self.key.index if isinstance(self.key, AppKey) else None


@dataclass(frozen=True, slots=True)
class ControlMessage:
    """A delivered transport control message other than a Segment Acknowledgment."""

    src: int
    dst: int
    opcode: int
    parameters: bytes
    net_key_index: int
    ttl: int


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    """Our segmented message to ``dst`` was acknowledged (or, to a group, fully sent)."""

    dst: int
    seq_auth: int


@dataclass(frozen=True, slots=True)
class SegmentedTransferFailed:
    """Our segmented message to ``dst`` was not acknowledged: ``reason`` says why."""

    dst: int
    seq_auth: int
    reason: str


StackAction = (
    SendPdu
    | PersistSequence
    | ReplayProtectionUpdated
    | AccessMessage
    | ControlMessage
    | TransferCompleted
    | SegmentedTransferFailed
)


# --- SAR configuration and state (§3.5.3) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class SarConfig:
    """SAR timing, in seconds (SAR Transmitter/Receiver states, MshPRT 1.1 §4.2.48, §4.2.49).

    Defaults follow the spec defaults: unicast retransmission interval 200 ms + 50 ms per hop,
    multicast 250 ms, acknowledgment delay about 150 ms, discard (incomplete) timeout 10 s.
    """

    unicast_retransmissions: int = 3
    unicast_retransmissions_without_progress: int = 2
    unicast_interval_step: float = 0.2
    unicast_interval_increment: float = 0.05
    multicast_retransmissions: int = 2
    multicast_interval: float = 0.25
    ack_delay: float = 0.15
    incomplete_timeout: float = 10.0

    def unicast_interval(self, ttl: int) -> float:
        """step + increment * (TTL - 1), or step for TTL 0 (§3.5.3.3)."""
        return self.unicast_interval_step + self.unicast_interval_increment * max(ttl - 1, 0)


@dataclass(slots=True)
class _Outgoing:
    net_key_index: int
    src: int
    dst: int
    ttl: int
    ctl: bool
    akf: bool  # access: AKF; control: unused
    aid_or_opcode: int
    szmic: bool
    iv_index: int
    seq_auth: int  # SEQ of the first segment
    segments: list[bytes]
    acked: int = 0
    retransmissions_left: int = 0
    without_progress_left: int = 0
    deadline: float = 0.0

    @property
    def all_mask(self) -> int:
        return (1 << len(self.segments)) - 1

    def lower_pdu(self, index: int) -> bytes:
        """Segment ``index`` as a Lower Transport PDU."""
        first = 0x80 | self.aid_or_opcode
        if self.akf and not self.ctl:
            first |= 0x40
        seg_n = len(self.segments) - 1
        seq_zero = self.seq_auth & SEQ_ZERO_MASK
        return _segment(first, self.szmic, seq_zero, index, seg_n, self.segments[index])


@dataclass(slots=True)
class _Incoming:
    src: int
    dst: int
    net_key_index: int
    iv_index: int
    seq_auth: int
    ctl: bool
    akf: bool
    aid_or_opcode: int
    szmic: bool
    seg_n: int
    ttl: int
    segments: dict[int, bytes] = field(default_factory=dict)
    last_seq: int = 0
    incomplete_deadline: float = 0.0
    ack_deadline: float | None = None

    @property
    def block_ack(self) -> int:
        mask = 0
        for index in self.segments:
            mask |= 1 << index
        return mask


@dataclass(slots=True)
class _Completed:
    iv_index: int
    seq_auth: int
    block_ack: int  # 0 when the transfer was abandoned
    acked_at: float | None = None  # when its last Segment Acknowledgment went out


class MeshStack:
    """Network + lower + upper transport of one node, sans-IO.

    ``primary_address``/``element_count`` are our unicast addresses. ``subscriptions`` are the
    group and virtual addresses we accept (None: every group and virtual address, what a
    controller wants). ``label_uuids`` are the Label UUIDs we know (to open virtual-address
    messages). ``device_keys`` holds our own device key and, for a provisioner, those of the
    nodes we configure.
    """

    def __init__(
        self,
        *,
        primary_address: int,
        net_keys: NetworkKeyring,
        app_keys: AppKeyring | None = None,
        device_keys: Iterable[DeviceKey] = (),
        iv: IvIndexState | None = None,
        seq: SequenceAllocator | None = None,
        rpl: ReplayProtectionList | None = None,
        element_count: int = 1,
        subscriptions: Iterable[int] | None = None,
        label_uuids: Iterable[bytes] = (),
        default_ttl: int = 5,
        sar: SarConfig | None = None,
        cache_size: int = 256,
    ) -> None:
        if not is_unicast(primary_address) or not is_unicast(primary_address + element_count - 1):
            raise UsageError("primary_address/element_count must be unicast addresses")
        self.primary_address = primary_address
        self.element_count = element_count
        self.net_keys = net_keys
        self.app_keys = AppKeyring() if app_keys is None else app_keys
        self.device_keys: list[DeviceKey] = list(device_keys)
        self.iv = IvIndexState() if iv is None else iv
        self.seq = SequenceAllocator(self.iv.tx_iv_index) if seq is None else seq
        # An empty list is falsy (__len__): test for None, keep the caller's object.
        self.rpl = ReplayProtectionList() if rpl is None else rpl
        self.subscriptions = None if subscriptions is None else set(subscriptions)
        self.label_uuids: list[bytes] = list(label_uuids)
        self.default_ttl = default_ttl
        self.sar = SarConfig() if sar is None else sar
        self.cache = NetworkMessageCache(cache_size)
        self.last_drop_reason: str | None = None
        self._outgoing: dict[int, _Outgoing] = {}
        self._incoming: dict[int, _Incoming] = {}
        self._completed: OrderedDict[int, _Completed] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"MeshStack(primary_address=0x{self.primary_address:04x}, iv_index={self.iv.iv_index})"
        )

    # -- addressing ----------------------------------------------------------------------

    def is_own_unicast(self, address: int) -> bool:
        """True for one of our element addresses."""
        return self.primary_address <= address < self.primary_address + self.element_count

    def accepts(self, dst: int) -> bool:
        """True if a message to ``dst`` is for us."""
        if is_unicast(dst):
            return self.is_own_unicast(dst)
        if dst == 0xFFFF:
            return True
        if is_group(dst) or is_virtual(dst):
            return self.subscriptions is None or dst in self.subscriptions
        return False

    def add_device_key(self, key: DeviceKey) -> None:
        """Remember a node's device key (replaces one for the same address)."""
        self.device_keys = [k for k in self.device_keys if k.address != key.address] + [key]

    def _device_key_candidates(self, src: int, dst: int) -> list[DeviceKey]:
        return [k for k in self.device_keys if k.covers(src)] + [
            k for k in self.device_keys if k.covers(dst) and not k.covers(src)
        ]

    @property
    def iv_update_needed(self) -> bool:
        """True once our SEQ passed the allocator's threshold: start an IV Update (§3.11.5)."""
        return self.seq.iv_update_needed

    @property
    def transfers_pending(self) -> bool:
        """True while a segmented message of ours awaits acknowledgment (defers IV Update)."""
        return bool(self._outgoing)

    # -- transmit ------------------------------------------------------------------------

    def allocate_seq(self, count: int, actions: list[StackAction]) -> tuple[int, int]:
        """Allocate ``count`` SEQ numbers for the transmit IV Index; PersistSequence goes to ``actions``."""
        tx_iv = self.iv.tx_iv_index
        if tx_iv != self.seq.iv_index:
            # SEQ restarts at 0; the allocation below always persists the new reservation.
            self.seq.set_iv_index(tx_iv)
        allocation = self.seq.allocate(count)
        if allocation.persist is not None:
            actions.append(PersistSequence(allocation.persist))
        return allocation.first, allocation.iv_index

    def _encode_network(
        self,
        *,
        net_key_index: int,
        ctl: bool,
        ttl: int,
        seq: int,
        iv_index: int,
        src: int,
        dst: int,
        transport_pdu: bytes,
    ) -> SendPdu:
        credentials = self.net_keys.tx_credentials(net_key_index)
        data = seal_network_pdu(
            credentials,
            iv_index,
            ctl=ctl,
            ttl=ttl,
            seq=seq,
            src=src,
            dst=dst,
            transport_pdu=transport_pdu,
        )
        # Our own PDU must not come back to us as new (§3.4.6.5).
        self.cache.seen(src, seq, iv_index)
        return SendPdu(data, net_key_index, dst)

    def _check_ttl(self, ttl: int) -> None:
        if ttl == 1 or not 0 <= ttl <= MAX_TTL:
            raise UsageError("TTL must be 0 or 2..127 (§3.4.4.3)")

    def send_access(
        self,
        dst: int,
        payload: bytes,
        *,
        key: AppKey | DeviceKey,
        now: float,
        src: int | None = None,
        ttl: int | None = None,
        net_key_index: int | None = None,
        label_uuid: bytes | None = None,
        szmic: bool = False,
        segmented: bool | None = None,
    ) -> list[StackAction]:
        """Encrypt and (if needed) segment an access payload (opcode + parameters).

        ``segmented`` None picks unsegmented when the payload fits (11 octets with a 32-bit
        TransMIC). Returns the ordered actions: PersistSequence first when needed, then SendPdu.
        """
        src = self.primary_address if src is None else src
        ttl = self.default_ttl if ttl is None else ttl
        self._check_ttl(ttl)
        if not self.is_own_unicast(src):
            raise UsageError("src must be one of our element addresses")
        if dst == 0 or not 0 <= dst <= 0xFFFF:
            raise UsageError("dst must be a unicast, group or virtual address")
        if label_uuid is not None and _virtual_address(bytes(label_uuid)) != dst:
            raise UsageError("dst is not the virtual address of label_uuid")
        if is_virtual(dst) and label_uuid is None:
            raise UsageError("a virtual destination needs its label_uuid")
        if net_key_index is None:
            net_key_index = key.net_key_index if isinstance(key, AppKey) else 0
        if isinstance(key, AppKey) and key.net_key_index != net_key_index:
            raise UsageError("the AppKey is bound to another NetKey")
        if not payload:
            raise UsageError("payload must not be empty")
        mic = 8 if szmic else 4
        if segmented is None:
            segmented = szmic or len(payload) + mic > MAX_UNSEGMENTED_UPPER_ACCESS
        if not segmented and (szmic or len(payload) + mic > MAX_UNSEGMENTED_UPPER_ACCESS):
            raise UsageError("payload too long for an unsegmented message")
        if len(payload) + mic > MAX_SEGMENTS * ACCESS_SEGMENT_SIZE:
            raise UsageError("payload too long (at most 380 octets with a 32-bit TransMIC)")
        if segmented and dst in self._outgoing:
            raise TransferBusyError(f"a segmented transfer to 0x{dst:04x} is in progress")
        entry = self.net_keys.get(net_key_index)
        if isinstance(key, AppKey):
            key = self.app_keys.lookup(key.index, new=entry.phase == 2) or key
        actions: list[StackAction] = []
        akf = isinstance(key, AppKey)
        aid = key.aid if isinstance(key, AppKey) else 0
        if not segmented:
            seq, iv_index = self.allocate_seq(1, actions)
            upper = encrypt_access(
                payload, key, seq=seq, src=src, dst=dst, iv_index=iv_index, label_uuid=label_uuid
            )
            lower = _unsegmented_access(akf, aid, upper)
            actions.append(
                self._encode_network(
                    net_key_index=net_key_index,
                    ctl=False,
                    ttl=ttl,
                    seq=seq,
                    iv_index=iv_index,
                    src=src,
                    dst=dst,
                    transport_pdu=lower,
                )
            )
            return actions
        count = -(-(len(payload) + mic) // ACCESS_SEGMENT_SIZE)
        seq, iv_index = self.allocate_seq(count, actions)
        upper = encrypt_access(
            payload,
            key,
            seq=seq,
            src=src,
            dst=dst,
            iv_index=iv_index,
            szmic=szmic,
            label_uuid=label_uuid,
        )
        segments = _chunks(upper, ACCESS_SEGMENT_SIZE)
        transfer = _Outgoing(
            net_key_index, src, dst, ttl, False, akf, aid, szmic, iv_index, seq, segments
        )
        return self._start_transfer(transfer, actions, now)

    def send_control(
        self,
        dst: int,
        opcode: int,
        parameters: bytes,
        *,
        now: float,
        src: int | None = None,
        ttl: int | None = None,
        net_key_index: int = 0,
    ) -> list[StackAction]:
        """Send a transport control message (segmented when the parameters exceed 11 octets)."""
        src = self.primary_address if src is None else src
        ttl = self.default_ttl if ttl is None else ttl
        self._check_ttl(ttl)
        if not self.is_own_unicast(src) or dst == 0:
            raise UsageError("invalid src or dst")
        if not 1 <= opcode <= 0x7F:
            raise UsageError("control opcode must be 1..0x7f (0x00 is sent by the stack)")
        self.net_keys.get(net_key_index)
        actions: list[StackAction] = []
        if len(parameters) <= MAX_UNSEGMENTED_CONTROL_PARAMETERS:
            seq, iv_index = self.allocate_seq(1, actions)
            lower = UnsegmentedControlPdu(opcode, parameters).to_bytes()
            actions.append(
                self._encode_network(
                    net_key_index=net_key_index,
                    ctl=True,
                    ttl=ttl,
                    seq=seq,
                    iv_index=iv_index,
                    src=src,
                    dst=dst,
                    transport_pdu=lower,
                )
            )
            return actions
        if len(parameters) > MAX_SEGMENTS * CONTROL_SEGMENT_SIZE:
            raise UsageError("control parameters too long (at most 256 octets)")
        if dst in self._outgoing:
            raise TransferBusyError(f"a segmented transfer to 0x{dst:04x} is in progress")
        segments = _chunks(parameters, CONTROL_SEGMENT_SIZE)
        seq, iv_index = self.allocate_seq(len(segments), actions)
        transfer = _Outgoing(
            net_key_index, src, dst, ttl, True, False, opcode, False, iv_index, seq, segments
        )
        return self._start_transfer(transfer, actions, now)

    def encode_pdus(
        self,
        dst: int,
        payload: bytes,
        *,
        seq: int,
        key: AppKey | DeviceKey | None,
        seq_auth: int | None = None,
        segments: Sequence[int] | None = None,
        szmic: bool = False,
        segmented: bool = False,
        src: int | None = None,
        ttl: int | None = None,
        label_uuid: bytes | None = None,
        net_key_index: int = 0,
    ) -> list[bytes]:
        """The on-air Network PDUs of one message, numbered from ``seq``; changes no state.

        ``key`` None: ``payload`` is a transport control message (opcode octet, 0x00..0x7f,
        then the parameters, §3.6.5); else an access payload encrypted with ``key``
        (§3.9.7.1). The message is segmented (§3.5.2.2, §3.5.2.4) when it does not fit one
        PDU, with ``szmic`` or with ``segmented``. ``seq_auth`` (default ``seq``) is the SEQ
        the message was first sent with; ``segments`` picks which segments to emit (default
        all), in that order, with SEQ ``seq``, ``seq + 1``, ...: a retransmission
        (§3.5.3.3). No SEQ is allocated and nothing enters the message cache: this is for
        tools that craft PDUs, not for sending. A virtual ``dst`` without ``label_uuid`` uses
        the known Label UUID (:attr:`label_uuids`) whose address it is. Raises
        :class:`UsageError`.
        """
        src = self.primary_address if src is None else src
        ttl = self.default_ttl if ttl is None else ttl
        seq_auth = seq if seq_auth is None else seq_auth
        if not is_unicast(src):
            raise UsageError("src must be a unicast address (0001..7fff)")
        if dst == 0 or not 0 <= dst <= 0xFFFF:
            raise UsageError("dst must not be the unassigned address")
        if not payload:
            raise UsageError("the payload is empty")
        if not 0 <= seq <= MAX_SEQ or not 0 <= seq_auth <= MAX_SEQ:
            raise UsageError("SEQ must be 0..0xffffff")
        segmented = segmented or szmic
        if key is None:
            lowers = self._control_lowers(payload, seq_auth, segmented=segmented, szmic=szmic)
        else:
            lowers = self._access_lowers(
                dst,
                payload,
                key,
                seq_auth=seq_auth,
                src=src,
                szmic=szmic,
                segmented=segmented,
                label_uuid=label_uuid,
            )
        chosen = list(range(len(lowers))) if segments is None else list(segments)
        if len(lowers) == 1 and not lowers[0][0] & 0x80 and (seq_auth != seq or chosen != [0]):
            raise UsageError("SeqAuth and segments apply to segmented messages only")
        if any(not 0 <= n < len(lowers) for n in chosen):
            raise UsageError(f"the message has {len(lowers)} segments")
        last_seq = seq + len(chosen) - 1
        if last_seq > MAX_SEQ:
            raise UsageError("SEQ would pass 0xffffff")
        if not seq_auth <= seq or last_seq - seq_auth > SEQ_ZERO_MASK:
            raise UsageError("SEQ must be SeqAuth .. SeqAuth+8191 (§3.5.3.1)")
        credentials = self.net_keys.tx_credentials(net_key_index)
        iv_index = self.iv.tx_iv_index
        return [
            seal_network_pdu(
                credentials,
                iv_index,
                ctl=key is None,
                ttl=ttl,
                seq=seq + offset,
                src=src,
                dst=dst,
                transport_pdu=lowers[n],
            )
            for offset, n in enumerate(chosen)
        ]

    @staticmethod
    def _control_lowers(
        payload: bytes, seq_auth: int, *, segmented: bool, szmic: bool
    ) -> list[bytes]:
        """The Lower Transport PDUs of a control message (opcode octet + parameters)."""
        if szmic:
            raise UsageError("SZMIC applies to access messages only")
        opcode, parameters = payload[0], payload[1:]
        if opcode > 0x7F:
            raise UsageError("a control opcode is 0x00..0x7f")
        if not segmented and len(parameters) <= MAX_UNSEGMENTED_CONTROL_PARAMETERS:
            return [UnsegmentedControlPdu(opcode, parameters).to_bytes()]
        if opcode == SEGMENT_ACK_OPCODE:
            raise UsageError("a Segment Acknowledgment is never segmented")
        if not parameters or len(parameters) > MAX_SEGMENTS * CONTROL_SEGMENT_SIZE:
            raise UsageError(
                f"segmented control parameters must be 1..{MAX_SEGMENTS * CONTROL_SEGMENT_SIZE}"
                " octets"
            )
        pieces = _chunks(parameters, CONTROL_SEGMENT_SIZE)
        transfer = _Outgoing(0, 0, 0, 0, True, False, opcode, False, 0, seq_auth, pieces)
        return [transfer.lower_pdu(n) for n in range(len(pieces))]

    def _access_lowers(
        self,
        dst: int,
        payload: bytes,
        key: AppKey | DeviceKey,
        *,
        seq_auth: int,
        src: int,
        szmic: bool,
        segmented: bool,
        label_uuid: bytes | None,
    ) -> list[bytes]:
        """The Lower Transport PDUs of an access message, encrypted with SeqAuth's nonce."""
        mic = 8 if szmic else 4
        if len(payload) + mic > MAX_SEGMENTS * ACCESS_SEGMENT_SIZE:
            raise UsageError(
                f"access payload too long (at most {MAX_SEGMENTS * ACCESS_SEGMENT_SIZE - mic}"
                " octets)"
            )
        if is_virtual(dst) and label_uuid is None:
            label_uuid = next(
                (u for u in self.label_uuids if _virtual_address(bytes(u)) == dst), None
            )
            if label_uuid is None:
                raise UsageError("dst is a virtual address: give its Label UUID")
        if label_uuid is not None and _virtual_address(bytes(label_uuid)) != dst:
            raise UsageError("dst is not the virtual address of label_uuid")
        segmented = segmented or len(payload) + mic > MAX_UNSEGMENTED_UPPER_ACCESS
        upper = encrypt_access(
            payload,
            key,
            seq=seq_auth,
            src=src,
            dst=dst,
            iv_index=self.iv.tx_iv_index,
            szmic=szmic,
            label_uuid=label_uuid,
        )
        akf = isinstance(key, AppKey)
        aid = key.aid if isinstance(key, AppKey) else 0
        if not segmented:
            return [_unsegmented_access(akf, aid, upper)]
        pieces = _chunks(upper, ACCESS_SEGMENT_SIZE)
        transfer = _Outgoing(0, src, dst, 0, False, akf, aid, szmic, 0, seq_auth, pieces)
        return [transfer.lower_pdu(n) for n in range(len(pieces))]

    def _start_transfer(
        self, transfer: _Outgoing, actions: list[StackAction], now: float
    ) -> list[StackAction]:
        actions.extend(
            self._encode_network(
                net_key_index=transfer.net_key_index,
                ctl=transfer.ctl,
                ttl=transfer.ttl,
                seq=transfer.seq_auth + index,
                iv_index=transfer.iv_index,
                src=transfer.src,
                dst=transfer.dst,
                transport_pdu=transfer.lower_pdu(index),
            )
            for index in range(len(transfer.segments))
        )
        if is_unicast(transfer.dst):
            transfer.retransmissions_left = self.sar.unicast_retransmissions
            transfer.without_progress_left = self.sar.unicast_retransmissions_without_progress
            transfer.deadline = now + self.sar.unicast_interval(transfer.ttl)
        else:
            transfer.retransmissions_left = self.sar.multicast_retransmissions
            transfer.deadline = now + self.sar.multicast_interval
        if transfer.retransmissions_left == 0 and not is_unicast(transfer.dst):
            actions.append(TransferCompleted(transfer.dst, transfer.seq_auth))
        else:
            self._outgoing[transfer.dst] = transfer
        return actions

    def _resend(self, transfer: _Outgoing, actions: list[StackAction]) -> bool:
        """Resend unacknowledged segments with new SEQ numbers; False if impossible."""
        missing = [i for i in range(len(transfer.segments)) if not transfer.acked >> i & 1]
        try:
            seq, iv_index = self.allocate_seq(len(missing), actions)
        except MeshError:
            return False
        # SeqZero must still identify SeqAuth: SEQ - SeqAuth < 8192 (§3.5.3.1), same IV Index.
        if (
            iv_index != transfer.iv_index
            or seq + len(missing) - 1 - transfer.seq_auth > SEQ_ZERO_MASK
        ):
            return False
        for offset, index in enumerate(missing):
            actions.append(
                self._encode_network(
                    net_key_index=transfer.net_key_index,
                    ctl=transfer.ctl,
                    ttl=transfer.ttl,
                    seq=seq + offset,
                    iv_index=iv_index,
                    src=transfer.src,
                    dst=transfer.dst,
                    transport_pdu=transfer.lower_pdu(index),
                )
            )
        return True

    def _fail(self, transfer: _Outgoing, reason: str, actions: list[StackAction]) -> None:
        self._outgoing.pop(transfer.dst, None)
        actions.append(SegmentedTransferFailed(transfer.dst, transfer.seq_auth, reason))

    def outgoing_seq_auth(self, dst: int) -> int | None:
        """SeqAuth of our segmented transfer to ``dst`` while it awaits acknowledgment."""
        transfer = self._outgoing.get(dst)
        return None if transfer is None else transfer.seq_auth

    def cancel_transfer(self, dst: int) -> list[StackAction]:
        """Abandon our segmented transfer to ``dst`` (if any)."""
        actions: list[StackAction] = []
        transfer = self._outgoing.get(dst)
        if transfer is not None:
            self._fail(transfer, "cancelled", actions)
        return actions

    def _on_segment_ack(
        self, received: ReceivedNetworkPdu, ack: SegmentAck, now: float
    ) -> list[StackAction]:
        pdu = received.pdu
        actions: list[StackAction] = []
        transfer = self._outgoing.get(pdu.src)
        if transfer is None:
            # OBO: a Friend acknowledges for its LPN; find the transfer by SeqZero.
            if ack.obo:
                transfer = next(
                    (
                        t
                        for t in self._outgoing.values()
                        if t.seq_auth & SEQ_ZERO_MASK == ack.seq_zero and t.src == pdu.dst
                    ),
                    None,
                )
            if transfer is None:
                return actions
        if (
            transfer.seq_auth & SEQ_ZERO_MASK != ack.seq_zero
            or transfer.src != pdu.dst
            or transfer.net_key_index != received.net_key_index
            or not is_unicast(transfer.dst)
        ):
            return actions  # Table 3.23: not an acknowledgment of this transfer
        if ack.block_ack == 0:
            self._fail(transfer, "busy", actions)  # §3.5.3.3: the receiver cannot accept it
            return actions
        if ack.block_ack & ~transfer.all_mask:
            return actions  # acknowledges segments we never sent: invalid
        new = ack.block_ack & ~transfer.acked
        if not new:
            return actions
        transfer.acked |= new
        if transfer.acked == transfer.all_mask:
            del self._outgoing[transfer.dst]
            actions.append(TransferCompleted(transfer.dst, transfer.seq_auth))
            return actions
        transfer.without_progress_left = self.sar.unicast_retransmissions_without_progress
        if not self._resend(transfer, actions):
            self._fail(transfer, "sequence", actions)
            return actions
        transfer.deadline = now + self.sar.unicast_interval(transfer.ttl)
        return actions

    # -- receive -------------------------------------------------------------------------

    def _drop(self, reason: str) -> list[StackAction]:
        self.last_drop_reason = reason
        return []

    def open_network_pdu(self, data: bytes, *, proxy: bool = False) -> ReceivedNetworkPdu:
        """Decrypt a Network PDU with our keys (DecodeError / NoMatchingNetKeyError)."""
        return decrypt_with_keyring(data, self.net_keys, self.iv, proxy=proxy)

    def receive(self, data: bytes, now: float) -> list[StackAction]:
        """Process one on-air Network PDU. Invalid, foreign or replayed PDUs return []."""
        self.last_drop_reason = None
        try:
            received = self.open_network_pdu(data)
        except MeshError as err:
            return self._drop(f"network: {err}")
        return self.process(received, now)

    def process(
        self, received: ReceivedNetworkPdu, now: float, *, cached: bool = False
    ) -> list[StackAction]:
        """Process a Network PDU opened with :meth:`open_network_pdu`.

        ``cached``: the caller already entered it in :attr:`cache` (and found it new).
        """
        pdu = received.pdu
        if not is_unicast(pdu.src):
            return self._drop("src is not a unicast address")
        if pdu.dst == 0:
            return self._drop("dst is the unassigned address")
        if self.is_own_unicast(pdu.src):
            return self._drop("our own message")
        if not cached and self.cache.seen(pdu.src, pdu.seq, received.iv_index):
            return self._drop("already in the network message cache")
        if not self.accepts(pdu.dst):
            return self._drop("not addressed to us")
        try:
            lower = decode_lower_transport(pdu.ctl, pdu.transport_pdu)
        except DecodeError as err:
            return self._drop(f"lower transport: {err}")
        if isinstance(lower, UnsegmentedControlPdu):
            return self._receive_unsegmented_control(received, lower, now)
        if isinstance(lower, UnsegmentedAccessPdu):
            return self._receive_unsegmented_access(received, lower)
        return self._receive_segment(received, lower, now)

    def _rpl_update(self, src: int, seq: int, iv_index: int, actions: list[StackAction]) -> None:
        self.rpl.update(src, seq, iv_index)  # bounded per source: never full (network.py)
        actions.append(ReplayProtectionUpdated(src, iv_index, seq))

    def _receive_unsegmented_control(
        self, received: ReceivedNetworkPdu, lower: UnsegmentedControlPdu, now: float
    ) -> list[StackAction]:
        pdu = received.pdu
        if self.rpl.is_replay(pdu.src, pdu.seq, received.iv_index):
            return self._drop("replayed")
        if lower.opcode == SEGMENT_ACK_OPCODE:
            try:
                ack = SegmentAck.from_parameters(lower.parameters)
            except DecodeError as err:
                return self._drop(str(err))
            if not is_unicast(pdu.dst):
                return self._drop("segment ack to a group address")
            actions: list[StackAction] = []
            self._rpl_update(pdu.src, pdu.seq, received.iv_index, actions)
            return actions + self._on_segment_ack(received, ack, now)
        actions = []
        self._rpl_update(pdu.src, pdu.seq, received.iv_index, actions)
        actions.append(
            ControlMessage(
                pdu.src, pdu.dst, lower.opcode, lower.parameters, received.net_key_index, pdu.ttl
            )
        )
        return actions

    def open_access(
        self,
        *,
        src: int,
        dst: int,
        ttl: int,
        net_key_index: int,
        iv_index: int,
        akf: bool,
        aid: int,
        szmic: bool,
        seq: int,
        upper: bytes,
        segmented: bool,
    ) -> AccessMessage | None:
        """Open an Upper Transport Access PDU with every key and Label UUID that may fit
        (§3.6.4.2, §3.9.7.1); None when none does. Changes no state."""
        keys: Sequence[AppKey | DeviceKey]
        if akf:
            keys = self.app_keys.candidates(aid, net_key_index)
        else:
            keys = self._device_key_candidates(src, dst)
        labels: list[bytes | None]
        if is_virtual(dst):
            labels = [u for u in self.label_uuids if _virtual_address(bytes(u)) == dst]
        else:
            labels = [None]
        for key in keys:
            for label in labels:
                try:
                    payload = decrypt_access(
                        upper,
                        key,
                        seq=seq,
                        src=src,
                        dst=dst,
                        iv_index=iv_index,
                        szmic=szmic,
                        label_uuid=label,
                    )
                except (crypto.InvalidMicError, DecodeError):
                    continue
                return AccessMessage(
                    src, dst, payload, key, net_key_index, ttl, iv_index, seq, label, segmented
                )
        return None

    def _receive_unsegmented_access(
        self, received: ReceivedNetworkPdu, lower: UnsegmentedAccessPdu
    ) -> list[StackAction]:
        pdu = received.pdu
        if self.rpl.is_replay(pdu.src, pdu.seq, received.iv_index):
            return self._drop("replayed")
        message = self.open_access(
            src=pdu.src,
            dst=pdu.dst,
            ttl=pdu.ttl,
            net_key_index=received.net_key_index,
            iv_index=received.iv_index,
            akf=lower.akf,
            aid=lower.aid,
            szmic=False,
            seq=pdu.seq,
            upper=lower.upper_transport_pdu,
            segmented=False,
        )
        if message is None:
            return self._drop("no key opens the upper transport PDU")
        actions: list[StackAction] = []
        self._rpl_update(pdu.src, pdu.seq, received.iv_index, actions)
        actions.append(message)
        return actions

    def _send_ack(
        self, *, src: int, dst: int, seq_zero: int, block_ack: int, ttl: int, net_key_index: int
    ) -> list[StackAction]:
        actions: list[StackAction] = []
        try:
            seq, iv_index = self.allocate_seq(1, actions)
        except MeshError:
            return []
        actions.append(
            self._encode_network(
                net_key_index=net_key_index,
                ctl=True,
                ttl=ttl,
                seq=seq,
                iv_index=iv_index,
                src=src,
                dst=dst,
                transport_pdu=SegmentAck(False, seq_zero, block_ack).to_bytes(),
            )
        )
        return actions

    def _ack_ttl(self, received_ttl: int) -> int:
        return 0 if received_ttl == 0 else self.default_ttl

    def _receive_segment(
        self,
        received: ReceivedNetworkPdu,
        lower: SegmentedAccessPdu | SegmentedControlPdu,
        now: float,
    ) -> list[StackAction]:
        pdu = received.pdu
        iv_index = received.iv_index
        # SeqAuth: the SEQ of the first segment, recovered from SeqZero (§3.5.3.1).
        seq_auth = pdu.seq - ((pdu.seq - lower.seq_zero) & SEQ_ZERO_MASK)
        if seq_auth < 0:
            return self._drop("SeqAuth before the start of the IV Index")
        unicast = is_unicast(pdu.dst)
        completed = self._completed.get(pdu.src)
        if completed is not None and (completed.iv_index, completed.seq_auth) == (
            iv_index,
            seq_auth,
        ):
            if unicast and completed.block_ack:  # acknowledge again, deliver nothing
                # Once per burst of retransmitted segments, not once per segment (the SAR
                # acknowledgment delay of §3.5.3.4): each acknowledgment costs a SEQ and airtime.
                if completed.acked_at is not None and now - completed.acked_at < self.sar.ack_delay:
                    return []
                completed.acked_at = now
                return self._send_ack(
                    src=pdu.dst,
                    dst=pdu.src,
                    seq_zero=lower.seq_zero,
                    block_ack=completed.block_ack,
                    ttl=self._ack_ttl(pdu.ttl),
                    net_key_index=received.net_key_index,
                )
            return self._drop("segment of a finished message")
        if completed is not None and (iv_index, seq_auth) < (
            completed.iv_index,
            completed.seq_auth,
        ):
            return self._drop("segment of an older message")
        if self.rpl.is_replay(pdu.src, seq_auth, iv_index):
            return self._drop("replayed")
        ctl = isinstance(lower, SegmentedControlPdu)
        if isinstance(lower, SegmentedAccessPdu):
            akf, key_field, szmic = lower.akf, lower.aid, lower.szmic
        else:
            akf, key_field, szmic = False, lower.opcode, False
        current = self._incoming.get(pdu.src)
        if current is not None and (current.iv_index, current.seq_auth) != (iv_index, seq_auth):
            if (iv_index, seq_auth) < (current.iv_index, current.seq_auth):
                return self._drop("segment of an older message")
            del self._incoming[pdu.src]  # a newer message replaces the unfinished one
            current = None
        if current is None:
            current = _Incoming(
                pdu.src,
                pdu.dst,
                received.net_key_index,
                iv_index,
                seq_auth,
                ctl,
                akf,
                key_field,
                szmic,
                lower.seg_n,
                pdu.ttl,
            )
            self._incoming[pdu.src] = current
        elif (
            current.seg_n != lower.seg_n
            or current.ctl != ctl
            or current.akf != akf
            or current.aid_or_opcode != key_field
            or current.szmic != szmic
            or current.dst != pdu.dst
            or current.net_key_index != received.net_key_index
        ):
            return self._drop("segment does not match the message being reassembled")
        size = CONTROL_SEGMENT_SIZE if ctl else ACCESS_SEGMENT_SIZE
        if lower.seg_o < lower.seg_n and len(lower.segment) != size:
            return self._drop("a segment other than the last is not full")
        current.segments[lower.seg_o] = lower.segment
        current.last_seq = max(current.last_seq, pdu.seq)
        current.incomplete_deadline = now + self.sar.incomplete_timeout
        if len(current.segments) <= current.seg_n:
            if unicast and current.ack_deadline is None:
                current.ack_deadline = now + self.sar.ack_delay
            return []
        return self._complete(current, now)

    def _complete(self, current: _Incoming, now: float) -> list[StackAction]:
        del self._incoming[current.src]
        whole = b"".join(current.segments[i] for i in range(current.seg_n + 1))
        actions: list[StackAction] = []
        unicast = is_unicast(current.dst)
        block_ack = current.block_ack
        if current.ctl:
            message: AccessMessage | ControlMessage | None = ControlMessage(
                current.src,
                current.dst,
                current.aid_or_opcode,
                whole,
                current.net_key_index,
                current.ttl,
            )
        else:
            message = self.open_access(
                src=current.src,
                dst=current.dst,
                ttl=current.ttl,
                net_key_index=current.net_key_index,
                iv_index=current.iv_index,
                akf=current.akf,
                aid=current.aid_or_opcode,
                szmic=current.szmic,
                seq=current.seq_auth,
                upper=whole,
                segmented=True,
            )
        self._remember_completed(
            current.src,
            _Completed(current.iv_index, current.seq_auth, block_ack, now if unicast else None),
        )
        if unicast:
            # The lower transport acknowledges a complete reassembly whatever the upper
            # transport then makes of it (§3.5.3.4); otherwise the sender retries in vain.
            actions += self._send_ack(
                src=current.dst,
                dst=current.src,
                seq_zero=current.seq_auth & SEQ_ZERO_MASK,
                block_ack=block_ack,
                ttl=self._ack_ttl(current.ttl),
                net_key_index=current.net_key_index,
            )
        if message is None:
            self.last_drop_reason = "no key opens the upper transport PDU"
            return actions
        # §3.9.8: the SEQ stored for a segmented message is the last segment's.
        self._rpl_update(current.src, current.last_seq, current.iv_index, actions)
        actions.append(message)
        return actions

    def _remember_completed(self, src: int, record: _Completed) -> None:
        self._completed[src] = record
        self._completed.move_to_end(src)
        while len(self._completed) > 256:
            self._completed.popitem(last=False)

    # -- timers --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """Earliest time :meth:`handle_timeout` has work to do (None: no timer running)."""
        deadlines = [t.deadline for t in self._outgoing.values()]
        for incoming in self._incoming.values():
            deadlines.append(incoming.incomplete_deadline)
            if incoming.ack_deadline is not None:
                deadlines.append(incoming.ack_deadline)
        return min(deadlines, default=None)

    def handle_timeout(self, now: float) -> list[StackAction]:
        """Run every timer that expired at ``now``: retransmissions, acks, discards."""
        actions: list[StackAction] = []
        for transfer in list(self._outgoing.values()):
            if transfer.deadline > now:
                continue
            if not is_unicast(transfer.dst):
                if transfer.retransmissions_left <= 0:
                    del self._outgoing[transfer.dst]
                    actions.append(TransferCompleted(transfer.dst, transfer.seq_auth))
                    continue
                transfer.retransmissions_left -= 1
                transfer.acked = 0
                if not self._resend(transfer, actions):
                    self._fail(transfer, "sequence", actions)
                    continue
                transfer.deadline = now + self.sar.multicast_interval
                continue
            if transfer.retransmissions_left <= 0 or transfer.without_progress_left <= 0:
                self._fail(transfer, "timeout", actions)
                continue
            transfer.retransmissions_left -= 1
            transfer.without_progress_left -= 1
            if not self._resend(transfer, actions):
                self._fail(transfer, "sequence", actions)
                continue
            transfer.deadline = now + self.sar.unicast_interval(transfer.ttl)
        for incoming in list(self._incoming.values()):
            if incoming.incomplete_deadline <= now:
                # §3.5.3.4: incomplete timer expired, the message is abandoned (never acked again
                # as complete; block_ack 0 marks it so late segments are ignored).
                del self._incoming[incoming.src]
                self._remember_completed(
                    incoming.src, _Completed(incoming.iv_index, incoming.seq_auth, 0)
                )
                continue
            if incoming.ack_deadline is not None and incoming.ack_deadline <= now:
                incoming.ack_deadline = now + self.sar.ack_delay * 4
                actions += self._send_ack(
                    src=incoming.dst,
                    dst=incoming.src,
                    seq_zero=incoming.seq_auth & SEQ_ZERO_MASK,
                    block_ack=incoming.block_ack,
                    ttl=self._ack_ttl(incoming.ttl),
                    net_key_index=incoming.net_key_index,
                )
        return actions


def sent_pdus(actions: Iterable[StackAction]) -> list[bytes]:
    """The Network PDU bytes among ``actions`` (a convenience for callers and tests)."""
    return [a.data for a in actions if isinstance(a, SendPdu)]
