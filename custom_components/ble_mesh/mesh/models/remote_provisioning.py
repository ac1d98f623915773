"""Remote Provisioning messages (MshPRT 1.1 §4.3.4; Remote Provisioning Server and Client models,
§4.4.5 and §4.4.6).

A Remote Provisioning Client (Home Assistant) asks a Remote Provisioning Server (any node in
radio range of an unprovisioned device) to scan for unprovisioned devices, to open a PB-ADV link
to one of them (or, for the Node Provisioning Protocol Interface, a link to the server node
itself), and to carry the Provisioning PDUs of that link in access messages: the client sends
Provisioning PDU Send, the server answers Provisioning PDU Outbound Report once the PDU was
delivered, and relays what the device sends in Provisioning PDU Reports. The PB-Remote bearer
that drives these messages is :mod:`..provisioning.pb_remote`.

Every message is secured with the device key of the server node. Opcodes 0x804F-0x805F, checked
against Zephyr ``subsys/bluetooth/mesh/rpr.h`` and ESP-IDF ``esp_ble_mesh_rpr_model_api.h``;
field layouts and ranges against Zephyr ``rpr_srv.c``/``rpr_cli.c`` and ESP-IDF:

* Max Scanned Items 0x04-0xFF (Scan Capabilities Status); Scan Start Timeout 0x00 is
  prohibited; Extended Scan Start: 0x01-0x10 AD types, none repeated, none of the "incomplete"
  UUID lists or the Shortened Local Name (the server reports those with their complete
  forms), Timeout 0x01-0x15 present exactly when the UUID is; Link Open Timeout 0x01-0x3C.
* Link Close Reason: 0x00 Success or 0x02 Fail (0x01 is prohibited: a client cannot time out
  a link it does not run); the Link Report Reason is any octet (a Link Close reason is
  processed whatever its value, MshPRT 1.1 §5.3.1.4.3).
* Access-layer integers are little-endian (MshPRT 1.1 §3.7.3), the OOB Information of Scan
  Report included; the URI Hash is four octets as they appear in the beacon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Self

from custom_components.ble_mesh.mesh.access import (
    BOOL,
    U8,
    U16,
    Codec,
    EnumField,
    InvalidFieldError,
    Maybe,
    Message,
    Octets,
    Reader,
    SInt,
    Tail,
    UInt,
    codec,
    mark_device_key_only,
    register,
)
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.provisioning.pb_adv import CloseReason
from custom_components.ble_mesh.mesh.provisioning.pdus import NppiProcedure

__all__ = [
    "AD_TYPE_FILTER_MAX",
    "EXTENDED_SCAN_TIMEOUT_MAX",
    "LINK_OPEN_TIMEOUT_DEFAULT",
    "LINK_OPEN_TIMEOUT_MAX",
    "MAX_SCANNED_ITEMS_MIN",
    "AdTypeFilter",
    "RemoteLinkCloseReason",
    "RemoteProvisioningExtendedScanReport",
    "RemoteProvisioningExtendedScanStart",
    "RemoteProvisioningLinkClose",
    "RemoteProvisioningLinkGet",
    "RemoteProvisioningLinkOpen",
    "RemoteProvisioningLinkReport",
    "RemoteProvisioningLinkState",
    "RemoteProvisioningLinkStatus",
    "RemoteProvisioningPduOutboundReport",
    "RemoteProvisioningPduReport",
    "RemoteProvisioningPduSend",
    "RemoteProvisioningScanCapabilitiesGet",
    "RemoteProvisioningScanCapabilitiesStatus",
    "RemoteProvisioningScanGet",
    "RemoteProvisioningScanReport",
    "RemoteProvisioningScanStart",
    "RemoteProvisioningScanState",
    "RemoteProvisioningScanStatus",
    "RemoteProvisioningScanStop",
    "RemoteProvisioningStatus",
    "ad_structures",
]

MAX_SCANNED_ITEMS_MIN = 0x04  # a server reports at least 4 devices per scan
AD_TYPE_FILTER_MAX = 0x10
EXTENDED_SCAN_TIMEOUT_MAX = 0x15  # seconds
LINK_OPEN_TIMEOUT_MAX = 0x3C  # seconds
# MshPRT 1.1 §5.2.3.3.1: without a Timeout field the server gives up opening the link after
# 10 s (the Open Link timeout is 1-60 s).
LINK_OPEN_TIMEOUT_DEFAULT = 10

# AD types a client may not ask for (Core Supplement Part A): the incomplete 16/32/128-bit
# Service UUID lists and the Shortened Local Name; the server reports them with the complete
# list / Complete Local Name.
_AD_TYPES_NOT_FILTERABLE = frozenset({0x02, 0x04, 0x06, 0x08})


class RemoteProvisioningStatus(IntEnum):
    """Status codes of the Remote Provisioning messages (MshPRT 1.1 §4.4.5, summary of status codes)."""

    SUCCESS = 0x00
    SCANNING_CANNOT_START = 0x01
    INVALID_STATE = 0x02
    LIMITED_RESOURCES = 0x03
    LINK_CANNOT_OPEN = 0x04
    LINK_OPEN_FAILED = 0x05
    LINK_CLOSED_BY_DEVICE = 0x06
    LINK_CLOSED_BY_SERVER = 0x07
    LINK_CLOSED_BY_CLIENT = 0x08
    LINK_CLOSED_AS_CANNOT_RECEIVE_PDU = 0x09
    LINK_CLOSED_AS_CANNOT_SEND_PDU = 0x0A
    LINK_CLOSED_AS_CANNOT_DELIVER_PDU_REPORT = 0x0B


class RemoteProvisioningScanState(IntEnum):
    """Remote Provisioning Scan state (MshPRT 1.1 §4.4.5)."""

    IDLE = 0x00
    MULTIPLE_DEVICES = 0x01
    SINGLE_DEVICE = 0x02


class RemoteProvisioningLinkState(IntEnum):
    """Remote Provisioning Link state (MshPRT 1.1 §4.4.5)."""

    IDLE = 0x00
    LINK_OPENING = 0x01
    LINK_ACTIVE = 0x02
    OUTBOUND_PACKET_TRANSFER = 0x03
    LINK_CLOSING = 0x04


@dataclass(frozen=True, slots=True)
class RemoteLinkCloseReason(EnumField):
    """A Link Close reason the client may send: Success or Fail (Timeout 0x01 is prohibited)."""

    enum: type[IntEnum] = CloseReason

    def decode(self, reader: Reader, field_name: str) -> Any:
        value = EnumField.decode(self, reader, field_name)
        if value is CloseReason.TIMEOUT:
            raise DecodeError(reader.structure, field_name, "value 0x01 is prohibited")
        return value

    def check(self, value: Any) -> str | None:
        if value is CloseReason.TIMEOUT:
            return "value 0x01 (Timeout) is prohibited"
        return EnumField.check(self, value)


@dataclass(frozen=True, slots=True)
class AdTypeFilter(Codec):
    """ADTypeFilterCount (1) and the AD types (1 octet each) of Extended Scan Start."""

    def encode(self, value: Any) -> bytes:
        return bytes((len(value),)) + bytes(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        count = reader.uint(1, field_name)
        if not 1 <= count <= AD_TYPE_FILTER_MAX:
            raise DecodeError(
                reader.structure, field_name, f"ADTypeFilterCount {count} is outside 1..16"
            )
        return reader.take(count, field_name)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, bytes) or not 1 <= len(value) <= AD_TYPE_FILTER_MAX:
            return "must be 1 to 16 AD type octets"
        if len(set(value)) != len(value):
            return "an AD type is listed twice"
        refused = sorted(set(value) & _AD_TYPES_NOT_FILTERABLE)
        if refused:
            return f"AD type 0x{refused[0]:02x} cannot be filtered for"
        return None


_STATUS = codec(EnumField(RemoteProvisioningStatus))
_DEVICE_UUID = codec(Octets(16))


def ad_structures(data: bytes, structure: str = "AdvStructures") -> tuple[tuple[int, bytes], ...]:
    """Split concatenated AD structures (Length, AD type, data) into ``(ad_type, data)`` pairs.

    Raises DecodeError for a zero length or a structure running past the end.
    """
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0 or pos + 1 + length > len(data):
            raise DecodeError(structure, "adv_structures", f"malformed AD structure at {pos}")
        out.append((data[pos + 1], bytes(data[pos + 2 : pos + 1 + length])))
        pos += 1 + length
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Scanning (MshPRT 1.1 §4.3.4)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanCapabilitiesStatus(Message):
    """Remote Provisioning Scan Capabilities Status: how many devices a scan reports, and
    whether the server can scan actively (for Extended Scan)."""

    OPCODE: ClassVar[int] = 0x8050
    max_scanned_items: int = field(metadata=codec(UInt(1, MAX_SCANNED_ITEMS_MIN)))
    active_scan: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanCapabilitiesGet(Message):
    """Remote Provisioning Scan Capabilities Get."""

    OPCODE: ClassVar[int] = 0x804F
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningScanCapabilitiesStatus


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanStatus(Message):
    """Remote Provisioning Scan Status: the scan state, its item limit and remaining seconds."""

    OPCODE: ClassVar[int] = 0x8054
    status: RemoteProvisioningStatus = field(metadata=_STATUS)
    scan_state: RemoteProvisioningScanState = field(
        metadata=codec(EnumField(RemoteProvisioningScanState))
    )
    scanned_items_limit: int = field(metadata=U8)
    timeout: int = field(metadata=U8)


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanGet(Message):
    """Remote Provisioning Scan Get."""

    OPCODE: ClassVar[int] = 0x8051
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningScanStatus


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanStart(Message):
    """Remote Provisioning Scan Start: scan for ``timeout`` seconds (0 is prohibited) and report
    up to ``scanned_items_limit`` devices (0: the server's maximum), or only ``uuid``."""

    OPCODE: ClassVar[int] = 0x8052
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningScanStatus
    scanned_items_limit: int = field(metadata=U8)
    timeout: int = field(metadata=codec(UInt(1, 1)))
    uuid: bytes | None = field(default=None, metadata=codec(Octets(16), optional=True))


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanStop(Message):
    """Remote Provisioning Scan Stop."""

    OPCODE: ClassVar[int] = 0x8053
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningScanStatus


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningScanReport(Message):
    """Remote Provisioning Scan Report: one unprovisioned device the server heard."""

    OPCODE: ClassVar[int] = 0x8055
    rssi: int = field(metadata=codec(SInt(1)))
    uuid: bytes = field(metadata=_DEVICE_UUID)
    oob_information: int = field(metadata=U16)
    uri_hash: bytes | None = field(default=None, metadata=codec(Octets(4), optional=True))


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningExtendedScanReport(Message):
    """Remote Provisioning Extended Scan Report: the AD structures the server collected.

    Without ``oob_information`` the device was not found (or the request was refused:
    ``status``). ``adv_structures`` is raw; :func:`ad_structures` splits it.
    """

    OPCODE: ClassVar[int] = 0x8057
    status: RemoteProvisioningStatus = field(metadata=_STATUS)
    uuid: bytes = field(metadata=_DEVICE_UUID)
    oob_information: int | None = field(default=None, metadata=codec(UInt(2), optional=True))
    adv_structures: bytes | None = field(default=None, metadata=codec(Tail(), optional=True))


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningExtendedScanStart(Message):
    """Remote Provisioning Extended Scan Start: collect the AD types ``ad_types`` of device
    ``uuid`` for ``timeout`` seconds, or of the server itself (no UUID, no timeout).

    Answered later by an Extended Scan Report, not by a status message.
    """

    OPCODE: ClassVar[int] = 0x8056
    ad_types: bytes = field(metadata=codec(AdTypeFilter()))
    uuid: bytes | None = field(default=None, metadata=codec(Octets(16), optional=True))
    timeout: int | None = field(
        default=None, metadata=codec(UInt(1, 1, EXTENDED_SCAN_TIMEOUT_MAX), optional=True)
    )


# --------------------------------------------------------------------------------------------
# Link (MshPRT 1.1 §4.3.4)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningLinkStatus(Message):
    """Remote Provisioning Link Status: the answer to Link Get/Open/Close."""

    OPCODE: ClassVar[int] = 0x805B
    status: RemoteProvisioningStatus = field(metadata=_STATUS)
    state: RemoteProvisioningLinkState = field(
        metadata=codec(EnumField(RemoteProvisioningLinkState))
    )


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningLinkReport(Message):
    """Remote Provisioning Link Report: the link opened (state Link Active) or closed (Idle).

    ``reason`` is the provisioning bearer's Link Close reason when the device or the server
    closed the link; any value is kept (see :attr:`close_reason`).
    """

    OPCODE: ClassVar[int] = 0x805C
    status: RemoteProvisioningStatus = field(metadata=_STATUS)
    state: RemoteProvisioningLinkState = field(
        metadata=codec(EnumField(RemoteProvisioningLinkState))
    )
    reason: int | None = field(default=None, metadata=codec(UInt(1), optional=True))

    @property
    def close_reason(self) -> CloseReason | None:
        """``reason`` as a known Link Close reason (``None`` if absent or unrecognized)."""
        if self.reason is None or self.reason not in CloseReason._value2member_map_:
            return None
        return CloseReason(self.reason)


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningLinkGet(Message):
    """Remote Provisioning Link Get."""

    OPCODE: ClassVar[int] = 0x8058
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningLinkStatus


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningLinkOpen(Message):
    """Remote Provisioning Link Open: a PB-ADV link to device ``uuid`` (giving up after
    ``timeout`` seconds, 1..60, default 10), or a Node Provisioning Protocol Interface
    ``procedure`` on the server node itself (no UUID).

    On the air: UUID (16) [Timeout (1)], or NPPIProcedure (1); the length tells which.
    """

    OPCODE: ClassVar[int] = 0x8059
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningLinkStatus
    uuid: bytes | None = field(default=None, metadata=codec(Maybe(Octets(16))))
    timeout: int | None = field(
        default=None, metadata=codec(Maybe(UInt(1, 1, LINK_OPEN_TIMEOUT_MAX)))
    )
    procedure: NppiProcedure | None = field(
        default=None, metadata=codec(Maybe(EnumField(NppiProcedure)))
    )

    def _check(self) -> None:
        if (self.uuid is None) == (self.procedure is None):
            raise InvalidFieldError(
                self.name, "uuid", "give a device UUID or an NPPI procedure, not both"
            )
        if self.timeout is not None and self.uuid is None:
            raise InvalidFieldError(self.name, "timeout", "a timeout goes with a device UUID only")

    def to_bytes(self) -> bytes:
        if self.procedure is not None:
            return bytes((self.procedure,))
        assert self.uuid is not None
        return self.uuid + (b"" if self.timeout is None else bytes((self.timeout,)))

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        if len(params) == 1:
            return cls.build({"procedure": EnumField(NppiProcedure).decode(reader, "procedure")})
        if len(params) not in (16, 17):
            raise DecodeError(cls.__name__, None, f"{len(params)} octets, expected 1, 16 or 17")
        values: dict[str, Any] = {"uuid": reader.take(16, "uuid")}
        if reader.remaining:
            values["timeout"] = reader.uint(1, "timeout")
        return cls.build(values)


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningLinkClose(Message):
    """Remote Provisioning Link Close: close the link with reason Success or Fail."""

    OPCODE: ClassVar[int] = 0x805A
    RESPONSE: ClassVar[type[Message] | None] = RemoteProvisioningLinkStatus
    reason: CloseReason = field(metadata=codec(RemoteLinkCloseReason()))


# --------------------------------------------------------------------------------------------
# Provisioning PDUs (MshPRT 1.1 §4.3.4)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningPduOutboundReport(Message):
    """Remote Provisioning PDU Outbound Report: PDU ``outbound_pdu_number`` was delivered."""

    OPCODE: ClassVar[int] = 0x805E
    outbound_pdu_number: int = field(metadata=U8)


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningPduSend(Message):
    """Remote Provisioning PDU Send: deliver ``pdu`` (a Provisioning PDU, type octet first)
    to the device; numbered from 1 on each link, answered by an Outbound Report."""

    OPCODE: ClassVar[int] = 0x805D
    outbound_pdu_number: int = field(metadata=U8)
    pdu: bytes = field(metadata=codec(Tail(min_size=1)))


@register
@dataclass(frozen=True, slots=True)
class RemoteProvisioningPduReport(Message):
    """Remote Provisioning PDU Report: a Provisioning PDU the device sent, numbered from 1."""

    OPCODE: ClassVar[int] = 0x805F
    inbound_pdu_number: int = field(metadata=U8)
    pdu: bytes = field(metadata=codec(Tail(min_size=1)))


mark_device_key_only(globals())  # §4.3.2 / §4.3.4: secured with a device key only
