"""Proxy configuration messages (MshPRT 1.1 §6.5, §6.6).

A proxy configuration message is a Network PDU with CTL=1, TTL=0, DST=0x0000, encrypted with
the proxy nonce (§3.9.5.4) and a 64-bit NetMIC; its TransportPDU is Opcode || Parameters
(§6.6). Messages: Set Filter Type (0x00), Add Addresses To Filter (0x01), Remove Addresses From
Filter (0x02), Filter Status (0x03), Directed Proxy Capabilities Status (0x04) and Directed Proxy
Control (0x05). Opcodes 0x06..0xFF are RFU: decoding them raises DecodeError (§6.6: ignore).

:func:`encrypt_proxy_config` / :func:`decrypt_proxy_config` do the network-layer part;
:func:`send_proxy_config` / :func:`receive_proxy_config` do it with a :class:`MeshStack`'s
keys, SEQ allocator and replay protection list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self

from .errors import DecodeError, MeshError, UsageError
from .network import NetworkCredentials, NetworkPdu, ReceivedNetworkPdu, decrypt_with_keyring
from .transport import MeshStack, ReplayProtectionUpdated, SendPdu, StackAction

__all__ = [
    "AddAddresses",
    "DirectedProxyCapabilitiesStatus",
    "DirectedProxyControl",
    "FilterStatus",
    "FilterType",
    "ProxyConfigMessage",
    "ProxyConfigReceived",
    "RemoveAddresses",
    "SetFilterType",
    "decode_proxy_config",
    "decrypt_proxy_config",
    "encrypt_proxy_config",
    "receive_proxy_config",
    "send_proxy_config",
]

MAX_ADDRESSES = 5  # fits one unsegmented 12-octet TransportPDU: opcode + 5 * 2 octets


class FilterType(IntEnum):
    """Proxy filter type (§6.5.1, Table 6.6); 0x02..0xFF are prohibited."""

    ACCEPT_LIST = 0x00
    REJECT_LIST = 0x01


def _filter_type(name: str, value: int) -> FilterType:
    try:
        return FilterType(value)
    except ValueError:
        raise DecodeError(name, "filter_type", f"prohibited value 0x{value:02x}") from None


def _addresses(name: str, data: bytes) -> tuple[int, ...]:
    if not data or len(data) % 2 or len(data) > 2 * MAX_ADDRESSES:
        raise DecodeError(name, "addresses", f"need 1..{MAX_ADDRESSES} 16-bit addresses")
    return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))


def _check_addresses(name: str, addresses: tuple[int, ...]) -> None:
    if not 1 <= len(addresses) <= MAX_ADDRESSES or any(not 0 <= a <= 0xFFFF for a in addresses):
        raise UsageError(f"{name}.addresses: 1..{MAX_ADDRESSES} 16-bit addresses")


@dataclass(frozen=True, slots=True)
class SetFilterType:
    """Set Filter Type (§6.6.1): switch the filter (the list is emptied)."""

    OPCODE: ClassVar[int] = 0x00
    filter_type: FilterType

    def to_bytes(self) -> bytes:
        """Opcode || FilterType."""
        return bytes([self.OPCODE, self.filter_type])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode Opcode || FilterType."""
        if len(data) != 2:
            raise DecodeError("SetFilterType", None, f"must be 2 octets, got {len(data)}")
        return cls(_filter_type("SetFilterType", data[1]))


@dataclass(frozen=True, slots=True)
class AddAddresses:
    """Add Addresses To Filter (§6.6.2): up to 5 addresses (virtual: the 16-bit address)."""

    OPCODE: ClassVar[int] = 0x01
    addresses: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_addresses("AddAddresses", self.addresses)

    def to_bytes(self) -> bytes:
        """Opcode || AddressArray (big-endian)."""
        return bytes([self.OPCODE]) + b"".join(a.to_bytes(2, "big") for a in self.addresses)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode."""
        return cls(_addresses("AddAddresses", data[1:]))


@dataclass(frozen=True, slots=True)
class RemoveAddresses:
    """Remove Addresses From Filter (§6.6.3)."""

    OPCODE: ClassVar[int] = 0x02
    addresses: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_addresses("RemoveAddresses", self.addresses)

    def to_bytes(self) -> bytes:
        """Opcode || AddressArray (big-endian)."""
        return bytes([self.OPCODE]) + b"".join(a.to_bytes(2, "big") for a in self.addresses)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode."""
        return cls(_addresses("RemoveAddresses", data[1:]))


@dataclass(frozen=True, slots=True)
class FilterStatus:
    """Filter Status (§6.6.4): the server's filter type and list size."""

    OPCODE: ClassVar[int] = 0x03
    filter_type: FilterType
    list_size: int

    def __post_init__(self) -> None:
        if not 0 <= self.list_size <= 0xFFFF:
            raise UsageError("FilterStatus.list_size must fit 16 bits")

    def to_bytes(self) -> bytes:
        """Opcode || FilterType || ListSize (big-endian)."""
        return bytes([self.OPCODE, self.filter_type]) + self.list_size.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode."""
        if len(data) != 4:
            raise DecodeError("FilterStatus", None, f"must be 4 octets, got {len(data)}")
        return cls(_filter_type("FilterStatus", data[1]), int.from_bytes(data[2:4], "big"))


def _bool_octet(name: str, field: str, value: int) -> bool:
    if value > 1:
        raise DecodeError(name, field, f"prohibited value 0x{value:02x}")
    return bool(value)


@dataclass(frozen=True, slots=True)
class DirectedProxyCapabilitiesStatus:
    """DIRECTED_PROXY_CAPABILITIES_STATUS (§6.6.5): Directed Proxy and Use Directed states."""

    OPCODE: ClassVar[int] = 0x04
    directed_proxy: bool
    use_directed: bool

    def to_bytes(self) -> bytes:
        """Opcode || Directed_Proxy || Use_Directed."""
        return bytes([self.OPCODE, self.directed_proxy, self.use_directed])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode."""
        name = "DirectedProxyCapabilitiesStatus"
        if len(data) != 3:
            raise DecodeError(name, None, f"must be 3 octets, got {len(data)}")
        return cls(
            _bool_octet(name, "directed_proxy", data[1]), _bool_octet(name, "use_directed", data[2])
        )


@dataclass(frozen=True, slots=True)
class DirectedProxyControl:
    """DIRECTED_PROXY_CONTROL (§6.6.6): Use_Directed and the client's unicast address range.

    The range (§4.3.1.2 unicast address range format) is Length_Present (1 bit) ||
    Range_Start (15 bits), then Range_Length (1 octet) when Length_Present is 1.
    """

    OPCODE: ClassVar[int] = 0x05
    use_directed: bool
    range_start: int | None = None
    range_length: int | None = None

    def __post_init__(self) -> None:
        if self.range_start is None:
            if self.range_length is not None:
                raise UsageError("DirectedProxyControl.range_length needs range_start")
            return
        if not 0x0001 <= self.range_start <= 0x7FFF:
            raise UsageError("DirectedProxyControl.range_start must be a unicast address")
        if self.range_length is not None and not 2 <= self.range_length <= 0xFF:
            raise UsageError("DirectedProxyControl.range_length must be 2..255")

    def to_bytes(self) -> bytes:
        """Opcode || Use_Directed || [range]."""
        out = bytes([self.OPCODE, self.use_directed])
        if self.range_start is not None:
            present = self.range_length is not None
            out += ((int(present) << 15) | self.range_start).to_bytes(2, "big")
            if self.range_length is not None:
                out += bytes([self.range_length])
        return out

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode."""
        name = "DirectedProxyControl"
        if len(data) < 2:
            raise DecodeError(name, None, "too short")
        use_directed = _bool_octet(name, "use_directed", data[1])
        rest = data[2:]
        if not rest:
            return cls(use_directed)
        if len(rest) not in (2, 3):
            raise DecodeError(name, "range", f"must be 2 or 3 octets, got {len(rest)}")
        value = int.from_bytes(rest[:2], "big")
        present, start = bool(value >> 15), value & 0x7FFF
        if start == 0:
            raise DecodeError(name, "range_start", "not a unicast address")
        if present != (len(rest) == 3):
            raise DecodeError(name, "range_length", "Length_Present does not match the length")
        length = rest[2] if present else None
        if length is not None and length < 2:
            raise DecodeError(name, "range_length", f"prohibited value {length}")
        return cls(use_directed, start, length)


ProxyConfigMessage = (
    SetFilterType
    | AddAddresses
    | RemoveAddresses
    | FilterStatus
    | DirectedProxyCapabilitiesStatus
    | DirectedProxyControl
)

_BY_OPCODE: dict[int, type[ProxyConfigMessage]] = {
    cls.OPCODE: cls
    for cls in (
        SetFilterType,
        AddAddresses,
        RemoveAddresses,
        FilterStatus,
        DirectedProxyCapabilitiesStatus,
        DirectedProxyControl,
    )
}


def decode_proxy_config(data: bytes) -> ProxyConfigMessage:
    """Decode a proxy configuration message (TransportPDU = Opcode || Parameters)."""
    if not data:
        raise DecodeError("ProxyConfigMessage", "opcode", "empty")
    cls = _BY_OPCODE.get(data[0])
    if cls is None:
        raise DecodeError("ProxyConfigMessage", "opcode", f"RFU opcode 0x{data[0]:02x}")
    return cls.from_bytes(data)


def encrypt_proxy_config(
    message: ProxyConfigMessage | bytes,
    credentials: NetworkCredentials,
    *,
    iv_index: int,
    seq: int,
    src: int,
) -> bytes:
    """The on-air Network PDU of a proxy configuration message (CTL=1, TTL=0, DST=0)."""
    transport_pdu = message if isinstance(message, bytes) else message.to_bytes()
    pdu = NetworkPdu(iv_index & 1, credentials.nid, True, 0, seq, src, 0x0000, transport_pdu)
    return pdu.encrypt(credentials, iv_index, proxy=True)


@dataclass(frozen=True, slots=True)
class ProxyConfigReceived:
    """A decrypted, valid proxy configuration message and the Network PDU it came in."""

    message: ProxyConfigMessage
    network: ReceivedNetworkPdu


def decrypt_proxy_config(
    data: bytes, credentials: NetworkCredentials, *, iv_index: int
) -> tuple[NetworkPdu, ProxyConfigMessage]:
    """Open a proxy configuration Network PDU with known credentials and IV Index."""
    pdu = NetworkPdu.decrypt(data, credentials, iv_index, proxy=True)
    _check_header(pdu)
    return pdu, decode_proxy_config(pdu.transport_pdu)


def _check_header(pdu: NetworkPdu) -> None:
    if not pdu.ctl or pdu.ttl != 0 or pdu.dst != 0:
        raise DecodeError("ProxyConfigPdu", None, "must have CTL=1, TTL=0, DST=0x0000")
    if not 0x0001 <= pdu.src <= 0x7FFF:
        raise DecodeError("ProxyConfigPdu", "src", "not a unicast address")


def send_proxy_config(
    stack: MeshStack, message: ProxyConfigMessage, *, net_key_index: int = 0
) -> list[StackAction]:
    """Encrypt ``message`` from our primary element with the stack's SEQ and keys."""
    actions: list[StackAction] = []
    seq, iv_index = stack.allocate_seq(1, actions)
    credentials = stack.net_keys.tx_credentials(net_key_index)
    data = encrypt_proxy_config(
        message,
        credentials,
        iv_index=iv_index,
        seq=seq,
        src=stack.primary_address,
    )
    actions.append(SendPdu(data, net_key_index))
    return actions


def receive_proxy_config(
    stack: MeshStack, data: bytes
) -> tuple[ProxyConfigReceived | None, list[StackAction]]:
    """Open an incoming proxy configuration PDU with the stack's keys (§6.6).

    Replay protection applies (§3.9.8). Returns (None, []) for anything invalid or replayed
    (the reason is in ``stack.last_drop_reason``); otherwise the message and the
    :class:`ReplayProtectionUpdated` action to persist.
    """
    try:
        received = decrypt_with_keyring(data, stack.net_keys, stack.iv, proxy=True)
        _check_header(received.pdu)
        message = decode_proxy_config(received.pdu.transport_pdu)
    except MeshError as err:
        stack.last_drop_reason = f"proxy configuration: {err}"
        return None, []
    pdu = received.pdu
    if stack.rpl.is_replay(pdu.src, pdu.seq, received.iv_index):
        stack.last_drop_reason = "replayed"
        return None, []
    stack.rpl.update(pdu.src, pdu.seq, received.iv_index)
    return ProxyConfigReceived(message, received), [
        ReplayProtectionUpdated(pdu.src, received.iv_index, pdu.seq)
    ]
