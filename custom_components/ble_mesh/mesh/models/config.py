"""Configuration messages (MshPRT 1.1 §4.3.2; server and client behaviour §4.4.1/§4.4.2) and
the Subnet Bridge configuration messages (MshPRT 1.1 §4.3, sample data §8.12).

Every Get/Set/Add/Delete here is acknowledged: ``RESPONSE`` names the status or list message
that answers it, and ``ECHO`` names the request fields the answer repeats (so concurrent
requests to one node are told apart). Configuration messages are secured with the device key;
choosing the key is the upper transport layer's job, not this module's.

Key indexes are 12-bit values; two of them share 3 octets (MshPRT 1.1 §4.3.1.1,
``pack_key_indexes``). Publication and bridging fields that share octets are packed by hand in
the classes below; everything else is described by the field codecs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Self

from custom_components.ble_mesh.mesh.access import (
    ADDRESS,
    BOOL,
    KEY,
    KEY_INDEX,
    KEY_INDEX_MAX,
    LABEL_UUID,
    U8,
    U16,
    Codec,
    EnumField,
    JsonValue,
    KeyIndexList,
    Message,
    Reader,
    Tail,
    U16List,
    UInt,
    codec,
    mark_device_key_only,
    register,
)
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.network import KeyRefreshPhase

from .common import (
    MODEL_ID,
    PUBLISH_PERIOD,
    RETRANSMIT,
    SIG_MODEL_ID,
    VENDOR_MODEL_ID,
    ModelId,
    ModelIdCodec,
    PublishPeriod,
    PublishPeriodCodec,
    Retransmit,
    RetransmitCodec,
)
from .composition import CompositionDataPage0


class ConfigStatus(IntEnum):
    """Status codes of configuration messages (MshPRT 1.1 §4.3.5, Summary of status codes)."""

    SUCCESS = 0x00
    INVALID_ADDRESS = 0x01
    INVALID_MODEL = 0x02
    INVALID_APPKEY_INDEX = 0x03
    INVALID_NETKEY_INDEX = 0x04
    INSUFFICIENT_RESOURCES = 0x05
    KEY_INDEX_ALREADY_STORED = 0x06
    INVALID_PUBLISH_PARAMETERS = 0x07
    NOT_A_SUBSCRIBE_MODEL = 0x08
    STORAGE_FAILURE = 0x09
    FEATURE_NOT_SUPPORTED = 0x0A
    CANNOT_UPDATE = 0x0B
    CANNOT_REMOVE = 0x0C
    CANNOT_BIND = 0x0D
    TEMPORARILY_UNABLE_TO_CHANGE_STATE = 0x0E
    CANNOT_SET = 0x0F
    UNSPECIFIED_ERROR = 0x10
    INVALID_BINDING = 0x11
    INVALID_PATH_ENTRY = 0x12
    CANNOT_GET = 0x13
    OBSOLETE_INFORMATION = 0x14
    INVALID_BEARER = 0x15


class FeatureState(IntEnum):
    """Relay, GATT Proxy, Friend and Node Identity states (MshPRT 1.1 §4.2)."""

    DISABLED = 0x00
    ENABLED = 0x01
    NOT_SUPPORTED = 0x02


STATUS = codec(EnumField(ConfigStatus))
FEATURE_STATE = codec(EnumField(FeatureState))
# MshPRT 1.1 §4.2 (Default TTL state): 0x00 or 0x02-0x7F; 0x01 and 0x80-0xFF are prohibited.
DEFAULT_TTL = codec(UInt(1, 0, 0x7F, exclude=frozenset({0x01})))
# MshPRT 1.1 §4.2 (Publish TTL state): 0x00-0x7F, or 0xFF = use the Default TTL.
PUBLISH_TTL = codec(UInt(1, 0, 0x7F, extra=frozenset({0xFF})))
# MshPRT 1.1 §4.2 (Heartbeat Publication/Subscription states): logarithmic counts and periods.
HEARTBEAT_COUNT_LOG = codec(UInt(1, 0, 0x11, extra=frozenset({0xFF})))
HEARTBEAT_PERIOD_LOG = codec(UInt(1, 0, 0x11))
HEARTBEAT_TTL = codec(UInt(1, 0, 0x7F))
FEATURES = codec(UInt(2, hi=0x000F))

# Features bits (MshPRT 1.1 §4.2.2.1 Composition Data Page 0; heartbeat Features field).
FEATURE_RELAY = 0x0001
FEATURE_PROXY = 0x0002
FEATURE_FRIEND = 0x0004
FEATURE_LOW_POWER = 0x0008


def _pack_pair(first: int, second: int) -> bytes:
    return (first | second << 12).to_bytes(3, "little")


def _read_pair(reader: Reader, field_name: str) -> tuple[int, int]:
    value = reader.uint(3, field_name)
    return value & KEY_INDEX_MAX, value >> 12


# --------------------------------------------------------------------------------------------
# Composition Data
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigCompositionDataStatus(Message):
    """Config Composition Data Status: the page number and the raw page."""

    OPCODE: ClassVar[int] = 0x02
    page: int = field(metadata=U8)
    data: bytes = field(metadata=codec(Tail()))

    def page0(self) -> CompositionDataPage0:
        """Parse the data as Composition Data Page 0 (DecodeError if it is another page)."""
        if self.page != 0:
            raise DecodeError(self.name, "page", f"page {self.page} is not page 0")
        return CompositionDataPage0.from_bytes(self.data)

    def parameters(self) -> dict[str, JsonValue]:
        """JSON form; page 0 is also shown parsed (or the reason it does not parse)."""
        result = Message.parameters(self)
        if self.page == 0:
            try:
                result["page0"] = self.page0().to_json()
            except DecodeError as err:
                result["page0_error"] = str(err)
        return result


@register
@dataclass(frozen=True, slots=True)
class ConfigCompositionDataGet(Message):
    """Config Composition Data Get (page 0xFF asks for the highest page)."""

    OPCODE: ClassVar[int] = 0x8008
    RESPONSE: ClassVar[type[Message] | None] = ConfigCompositionDataStatus
    page: int = field(default=0, metadata=U8)


# --------------------------------------------------------------------------------------------
# Simple states: Beacon, Default TTL, GATT Proxy, Friend, Relay, Network Transmit
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigBeaconStatus(Message):
    """Config Beacon Status: Secure Network Beacon state."""

    OPCODE: ClassVar[int] = 0x800B
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigBeaconGet(Message):
    """Config Beacon Get."""

    OPCODE: ClassVar[int] = 0x8009
    RESPONSE: ClassVar[type[Message] | None] = ConfigBeaconStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigBeaconSet(Message):
    """Config Beacon Set."""

    OPCODE: ClassVar[int] = 0x800A
    RESPONSE: ClassVar[type[Message] | None] = ConfigBeaconStatus
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigDefaultTtlStatus(Message):
    """Config Default TTL Status."""

    OPCODE: ClassVar[int] = 0x800E
    ttl: int = field(metadata=DEFAULT_TTL)


@register
@dataclass(frozen=True, slots=True)
class ConfigDefaultTtlGet(Message):
    """Config Default TTL Get."""

    OPCODE: ClassVar[int] = 0x800C
    RESPONSE: ClassVar[type[Message] | None] = ConfigDefaultTtlStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigDefaultTtlSet(Message):
    """Config Default TTL Set."""

    OPCODE: ClassVar[int] = 0x800D
    RESPONSE: ClassVar[type[Message] | None] = ConfigDefaultTtlStatus
    ttl: int = field(metadata=DEFAULT_TTL)


@register
@dataclass(frozen=True, slots=True)
class ConfigGattProxyStatus(Message):
    """Config GATT Proxy Status."""

    OPCODE: ClassVar[int] = 0x8014
    state: FeatureState = field(metadata=FEATURE_STATE)


@register
@dataclass(frozen=True, slots=True)
class ConfigGattProxyGet(Message):
    """Config GATT Proxy Get."""

    OPCODE: ClassVar[int] = 0x8012
    RESPONSE: ClassVar[type[Message] | None] = ConfigGattProxyStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigGattProxySet(Message):
    """Config GATT Proxy Set; "not supported" cannot be set."""

    OPCODE: ClassVar[int] = 0x8013
    RESPONSE: ClassVar[type[Message] | None] = ConfigGattProxyStatus
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigFriendStatus(Message):
    """Config Friend Status."""

    OPCODE: ClassVar[int] = 0x8011
    state: FeatureState = field(metadata=FEATURE_STATE)


@register
@dataclass(frozen=True, slots=True)
class ConfigFriendGet(Message):
    """Config Friend Get."""

    OPCODE: ClassVar[int] = 0x800F
    RESPONSE: ClassVar[type[Message] | None] = ConfigFriendStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigFriendSet(Message):
    """Config Friend Set."""

    OPCODE: ClassVar[int] = 0x8010
    RESPONSE: ClassVar[type[Message] | None] = ConfigFriendStatus
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigRelayStatus(Message):
    """Config Relay Status."""

    OPCODE: ClassVar[int] = 0x8028
    state: FeatureState = field(metadata=FEATURE_STATE)
    retransmit: Retransmit = field(metadata=RETRANSMIT)


@register
@dataclass(frozen=True, slots=True)
class ConfigRelayGet(Message):
    """Config Relay Get."""

    OPCODE: ClassVar[int] = 0x8026
    RESPONSE: ClassVar[type[Message] | None] = ConfigRelayStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigRelaySet(Message):
    """Config Relay Set; interval is (steps + 1) x 10 ms."""

    OPCODE: ClassVar[int] = 0x8027
    RESPONSE: ClassVar[type[Message] | None] = ConfigRelayStatus
    enabled: bool = field(metadata=BOOL)
    retransmit: Retransmit = field(metadata=RETRANSMIT)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetworkTransmitStatus(Message):
    """Config Network Transmit Status."""

    OPCODE: ClassVar[int] = 0x8025
    transmit: Retransmit = field(metadata=RETRANSMIT)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetworkTransmitGet(Message):
    """Config Network Transmit Get."""

    OPCODE: ClassVar[int] = 0x8023
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetworkTransmitStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigNetworkTransmitSet(Message):
    """Config Network Transmit Set; interval is (steps + 1) x 10 ms."""

    OPCODE: ClassVar[int] = 0x8024
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetworkTransmitStatus
    transmit: Retransmit = field(metadata=RETRANSMIT)


# --------------------------------------------------------------------------------------------
# NetKeys and AppKeys
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyStatus(Message):
    """Config NetKey Status."""

    OPCODE: ClassVar[int] = 0x8044
    status: ConfigStatus = field(metadata=STATUS)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyAdd(Message):
    """Config NetKey Add."""

    OPCODE: ClassVar[int] = 0x8040
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)
    net_key: bytes = field(metadata=KEY, repr=False)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyUpdate(Message):
    """Config NetKey Update (Key Refresh phase 1)."""

    OPCODE: ClassVar[int] = 0x8045
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)
    net_key: bytes = field(metadata=KEY, repr=False)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyDelete(Message):
    """Config NetKey Delete."""

    OPCODE: ClassVar[int] = 0x8041
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyList(Message):
    """Config NetKey List."""

    OPCODE: ClassVar[int] = 0x8043
    net_key_indexes: tuple[int, ...] = field(metadata=codec(KeyIndexList()))


@register
@dataclass(frozen=True, slots=True)
class ConfigNetKeyGet(Message):
    """Config NetKey Get."""

    OPCODE: ClassVar[int] = 0x8042
    RESPONSE: ClassVar[type[Message] | None] = ConfigNetKeyList


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyStatus(Message):
    """Config AppKey Status: status, then NetKeyIndex and AppKeyIndex in 3 octets."""

    OPCODE: ClassVar[int] = 0x8003
    status: ConfigStatus = field(metadata=STATUS)
    net_key_index: int = field(metadata=KEY_INDEX)
    app_key_index: int = field(metadata=KEY_INDEX)

    def to_bytes(self) -> bytes:
        return bytes([self.status]) + _pack_pair(self.net_key_index, self.app_key_index)

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        status = STATUS["codec"].decode(reader, "status")
        net, app = _read_pair(reader, "net_key_index")
        reader.finish()
        return cls.build({"status": status, "net_key_index": net, "app_key_index": app})


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyAdd(Message):
    """Config AppKey Add: NetKeyIndex and AppKeyIndex in 3 octets, then the AppKey."""

    OPCODE: ClassVar[int] = 0x00
    RESPONSE: ClassVar[type[Message] | None] = ConfigAppKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index", "app_key_index")
    net_key_index: int = field(metadata=KEY_INDEX)
    app_key_index: int = field(metadata=KEY_INDEX)
    app_key: bytes = field(metadata=KEY, repr=False)

    def to_bytes(self) -> bytes:
        return _pack_pair(self.net_key_index, self.app_key_index) + self.app_key

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        net, app = _read_pair(reader, "net_key_index")
        key = reader.take(16, "app_key")
        reader.finish()
        return cls.build({"net_key_index": net, "app_key_index": app, "app_key": key})


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyUpdate(Message):
    """Config AppKey Update (Key Refresh phase 1)."""

    OPCODE: ClassVar[int] = 0x01
    RESPONSE: ClassVar[type[Message] | None] = ConfigAppKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index", "app_key_index")
    net_key_index: int = field(metadata=KEY_INDEX)
    app_key_index: int = field(metadata=KEY_INDEX)
    app_key: bytes = field(metadata=KEY, repr=False)

    def to_bytes(self) -> bytes:
        return _pack_pair(self.net_key_index, self.app_key_index) + self.app_key

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        net, app = _read_pair(reader, "net_key_index")
        key = reader.take(16, "app_key")
        reader.finish()
        return cls.build({"net_key_index": net, "app_key_index": app, "app_key": key})


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyDelete(Message):
    """Config AppKey Delete."""

    OPCODE: ClassVar[int] = 0x8000
    RESPONSE: ClassVar[type[Message] | None] = ConfigAppKeyStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index", "app_key_index")
    net_key_index: int = field(metadata=KEY_INDEX)
    app_key_index: int = field(metadata=KEY_INDEX)

    def to_bytes(self) -> bytes:
        return _pack_pair(self.net_key_index, self.app_key_index)

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        net, app = _read_pair(reader, "net_key_index")
        reader.finish()
        return cls.build({"net_key_index": net, "app_key_index": app})


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyList(Message):
    """Config AppKey List: the AppKeys bound to one NetKey."""

    OPCODE: ClassVar[int] = 0x8002
    status: ConfigStatus = field(metadata=STATUS)
    net_key_index: int = field(metadata=KEY_INDEX)
    app_key_indexes: tuple[int, ...] = field(metadata=codec(KeyIndexList()))


@register
@dataclass(frozen=True, slots=True)
class ConfigAppKeyGet(Message):
    """Config AppKey Get."""

    OPCODE: ClassVar[int] = 0x8001
    RESPONSE: ClassVar[type[Message] | None] = ConfigAppKeyList
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)


# --------------------------------------------------------------------------------------------
# Model to AppKey bindings
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigModelAppStatus(Message):
    """Config Model App Status."""

    OPCODE: ClassVar[int] = 0x803E
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    app_key_index: int = field(metadata=KEY_INDEX)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelAppBind(Message):
    """Config Model App Bind."""

    OPCODE: ClassVar[int] = 0x803D
    RESPONSE: ClassVar[type[Message] | None] = ConfigModelAppStatus
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "app_key_index", "model_id")
    element_address: int = field(metadata=ADDRESS)
    app_key_index: int = field(metadata=KEY_INDEX)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelAppUnbind(Message):
    """Config Model App Unbind."""

    OPCODE: ClassVar[int] = 0x803F
    RESPONSE: ClassVar[type[Message] | None] = ConfigModelAppStatus
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "app_key_index", "model_id")
    element_address: int = field(metadata=ADDRESS)
    app_key_index: int = field(metadata=KEY_INDEX)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigSigModelAppList(Message):
    """Config SIG Model App List."""

    OPCODE: ClassVar[int] = 0x804C
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=SIG_MODEL_ID)
    app_key_indexes: tuple[int, ...] = field(metadata=codec(KeyIndexList()))


@register
@dataclass(frozen=True, slots=True)
class ConfigSigModelAppGet(Message):
    """Config SIG Model App Get."""

    OPCODE: ClassVar[int] = 0x804B
    RESPONSE: ClassVar[type[Message] | None] = ConfigSigModelAppList
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=SIG_MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigVendorModelAppList(Message):
    """Config Vendor Model App List."""

    OPCODE: ClassVar[int] = 0x804E
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=VENDOR_MODEL_ID)
    app_key_indexes: tuple[int, ...] = field(metadata=codec(KeyIndexList()))


@register
@dataclass(frozen=True, slots=True)
class ConfigVendorModelAppGet(Message):
    """Config Vendor Model App Get."""

    OPCODE: ClassVar[int] = 0x804D
    RESPONSE: ClassVar[type[Message] | None] = ConfigVendorModelAppList
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=VENDOR_MODEL_ID)


# --------------------------------------------------------------------------------------------
# Model Publication
# --------------------------------------------------------------------------------------------

# AppKeyIndex (12 bits), CredentialFlag (1 bit), RFU (3 bits) share two octets.
_CREDENTIAL_BIT = 1 << 12
_PUBLISH_RFU_BITS = 0xE000


def _encode_publish_core(
    app_key_index: int, credential_flag: bool, ttl: int, period: PublishPeriod, rt: Retransmit
) -> bytes:
    packed = app_key_index | (_CREDENTIAL_BIT if credential_flag else 0)
    return packed.to_bytes(2, "little") + bytes([ttl, period.to_byte(), rt.to_byte()])


def _decode_publish_core(reader: Reader) -> dict[str, Any]:
    packed = reader.uint(2, "app_key_index")
    if packed & _PUBLISH_RFU_BITS:
        raise DecodeError(reader.structure, "app_key_index", "RFU bits are set")
    return {
        "app_key_index": packed & KEY_INDEX_MAX,
        "credential_flag": bool(packed & _CREDENTIAL_BIT),
        "publish_ttl": reader.uint(1, "publish_ttl"),
        "publish_period": PublishPeriodCodec().decode(reader, "publish_period"),
        "publish_retransmit": RetransmitCodec().decode(reader, "publish_retransmit"),
    }


def _decode_model_id(reader: Reader) -> ModelId:
    model_id: ModelId = ModelIdCodec().decode(reader, "model_id")
    return model_id


@register
@dataclass(frozen=True, slots=True)
class ConfigModelPublicationStatus(Message):
    """Config Model Publication Status (a virtual publish address shows as its 16-bit hash)."""

    OPCODE: ClassVar[int] = 0x8019
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    publish_address: int = field(metadata=ADDRESS)
    app_key_index: int = field(metadata=KEY_INDEX)
    credential_flag: bool = field(metadata=BOOL)
    publish_ttl: int = field(metadata=PUBLISH_TTL)
    publish_period: PublishPeriod = field(metadata=PUBLISH_PERIOD)
    publish_retransmit: Retransmit = field(metadata=RETRANSMIT)
    model_id: ModelId = field(metadata=MODEL_ID)

    def to_bytes(self) -> bytes:
        return (
            bytes([self.status])
            + self.element_address.to_bytes(2, "little")
            + self.publish_address.to_bytes(2, "little")
            + _encode_publish_core(
                self.app_key_index,
                self.credential_flag,
                self.publish_ttl,
                self.publish_period,
                self.publish_retransmit,
            )
            + self.model_id.to_bytes()
        )

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        values: dict[str, Any] = {
            "status": STATUS["codec"].decode(reader, "status"),
            "element_address": reader.uint(2, "element_address"),
            "publish_address": reader.uint(2, "publish_address"),
        }
        values |= _decode_publish_core(reader)
        values["model_id"] = _decode_model_id(reader)
        return cls.build(values)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelPublicationGet(Message):
    """Config Model Publication Get."""

    OPCODE: ClassVar[int] = 0x8018
    RESPONSE: ClassVar[type[Message] | None] = ConfigModelPublicationStatus
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelPublicationSet(Message):
    """Config Model Publication Set (publish address 0x0000 disables publishing)."""

    OPCODE: ClassVar[int] = 0x03
    RESPONSE: ClassVar[type[Message] | None] = ConfigModelPublicationStatus
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    publish_address: int = field(metadata=ADDRESS)
    app_key_index: int = field(metadata=KEY_INDEX)
    credential_flag: bool = field(metadata=BOOL)
    publish_ttl: int = field(metadata=PUBLISH_TTL)
    publish_period: PublishPeriod = field(metadata=PUBLISH_PERIOD)
    publish_retransmit: Retransmit = field(metadata=RETRANSMIT)
    model_id: ModelId = field(metadata=MODEL_ID)

    def to_bytes(self) -> bytes:
        return (
            self.element_address.to_bytes(2, "little")
            + self.publish_address.to_bytes(2, "little")
            + _encode_publish_core(
                self.app_key_index,
                self.credential_flag,
                self.publish_ttl,
                self.publish_period,
                self.publish_retransmit,
            )
            + self.model_id.to_bytes()
        )

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        values: dict[str, Any] = {
            "element_address": reader.uint(2, "element_address"),
            "publish_address": reader.uint(2, "publish_address"),
        }
        values |= _decode_publish_core(reader)
        values["model_id"] = _decode_model_id(reader)
        return cls.build(values)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelPublicationVirtualAddressSet(Message):
    """Config Model Publication Virtual Address Set (publish to a Label UUID)."""

    OPCODE: ClassVar[int] = 0x801A
    RESPONSE: ClassVar[type[Message] | None] = ConfigModelPublicationStatus
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    label_uuid: bytes = field(metadata=LABEL_UUID)
    app_key_index: int = field(metadata=KEY_INDEX)
    credential_flag: bool = field(metadata=BOOL)
    publish_ttl: int = field(metadata=PUBLISH_TTL)
    publish_period: PublishPeriod = field(metadata=PUBLISH_PERIOD)
    publish_retransmit: Retransmit = field(metadata=RETRANSMIT)
    model_id: ModelId = field(metadata=MODEL_ID)

    def to_bytes(self) -> bytes:
        return (
            self.element_address.to_bytes(2, "little")
            + self.label_uuid
            + _encode_publish_core(
                self.app_key_index,
                self.credential_flag,
                self.publish_ttl,
                self.publish_period,
                self.publish_retransmit,
            )
            + self.model_id.to_bytes()
        )

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        values: dict[str, Any] = {
            "element_address": reader.uint(2, "element_address"),
            "label_uuid": reader.take(16, "label_uuid"),
        }
        values |= _decode_publish_core(reader)
        values["model_id"] = _decode_model_id(reader)
        return cls.build(values)


# --------------------------------------------------------------------------------------------
# Model Subscription
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionStatus(Message):
    """Config Model Subscription Status (a virtual address shows as its 16-bit hash)."""

    OPCODE: ClassVar[int] = 0x801F
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


_SUB = ConfigModelSubscriptionStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionAdd(Message):
    """Config Model Subscription Add."""

    OPCODE: ClassVar[int] = 0x801B
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionDelete(Message):
    """Config Model Subscription Delete."""

    OPCODE: ClassVar[int] = 0x801C
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionOverwrite(Message):
    """Config Model Subscription Overwrite."""

    OPCODE: ClassVar[int] = 0x801E
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionDeleteAll(Message):
    """Config Model Subscription Delete All."""

    OPCODE: ClassVar[int] = 0x801D
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionVirtualAddressAdd(Message):
    """Config Model Subscription Virtual Address Add."""

    OPCODE: ClassVar[int] = 0x8020
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    label_uuid: bytes = field(metadata=LABEL_UUID)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionVirtualAddressDelete(Message):
    """Config Model Subscription Virtual Address Delete."""

    OPCODE: ClassVar[int] = 0x8021
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    label_uuid: bytes = field(metadata=LABEL_UUID)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigModelSubscriptionVirtualAddressOverwrite(Message):
    """Config Model Subscription Virtual Address Overwrite."""

    OPCODE: ClassVar[int] = 0x8022
    RESPONSE: ClassVar[type[Message] | None] = _SUB
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    label_uuid: bytes = field(metadata=LABEL_UUID)
    model_id: ModelId = field(metadata=MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigSigModelSubscriptionList(Message):
    """Config SIG Model Subscription List."""

    OPCODE: ClassVar[int] = 0x802A
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=SIG_MODEL_ID)
    addresses: tuple[int, ...] = field(metadata=codec(U16List()))


@register
@dataclass(frozen=True, slots=True)
class ConfigSigModelSubscriptionGet(Message):
    """Config SIG Model Subscription Get."""

    OPCODE: ClassVar[int] = 0x8029
    RESPONSE: ClassVar[type[Message] | None] = ConfigSigModelSubscriptionList
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=SIG_MODEL_ID)


@register
@dataclass(frozen=True, slots=True)
class ConfigVendorModelSubscriptionList(Message):
    """Config Vendor Model Subscription List."""

    OPCODE: ClassVar[int] = 0x802C
    status: ConfigStatus = field(metadata=STATUS)
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=VENDOR_MODEL_ID)
    addresses: tuple[int, ...] = field(metadata=codec(U16List()))


@register
@dataclass(frozen=True, slots=True)
class ConfigVendorModelSubscriptionGet(Message):
    """Config Vendor Model Subscription Get."""

    OPCODE: ClassVar[int] = 0x802B
    RESPONSE: ClassVar[type[Message] | None] = ConfigVendorModelSubscriptionList
    ECHO: ClassVar[tuple[str, ...]] = ("element_address", "model_id")
    element_address: int = field(metadata=ADDRESS)
    model_id: ModelId = field(metadata=VENDOR_MODEL_ID)


# --------------------------------------------------------------------------------------------
# Node Identity, Key Refresh Phase, Node Reset, LPN PollTimeout
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigNodeIdentityStatus(Message):
    """Config Node Identity Status."""

    OPCODE: ClassVar[int] = 0x8048
    status: ConfigStatus = field(metadata=STATUS)
    net_key_index: int = field(metadata=KEY_INDEX)
    identity: FeatureState = field(metadata=FEATURE_STATE)


@register
@dataclass(frozen=True, slots=True)
class ConfigNodeIdentityGet(Message):
    """Config Node Identity Get."""

    OPCODE: ClassVar[int] = 0x8046
    RESPONSE: ClassVar[type[Message] | None] = ConfigNodeIdentityStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigNodeIdentitySet(Message):
    """Config Node Identity Set."""

    OPCODE: ClassVar[int] = 0x8047
    RESPONSE: ClassVar[type[Message] | None] = ConfigNodeIdentityStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigKeyRefreshPhaseStatus(Message):
    """Config Key Refresh Phase Status."""

    OPCODE: ClassVar[int] = 0x8017
    status: ConfigStatus = field(metadata=STATUS)
    net_key_index: int = field(metadata=KEY_INDEX)
    phase: KeyRefreshPhase = field(metadata=codec(EnumField(KeyRefreshPhase)))


@register
@dataclass(frozen=True, slots=True)
class ConfigKeyRefreshPhaseGet(Message):
    """Config Key Refresh Phase Get."""

    OPCODE: ClassVar[int] = 0x8015
    RESPONSE: ClassVar[type[Message] | None] = ConfigKeyRefreshPhaseStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigKeyRefreshPhaseSet(Message):
    """Config Key Refresh Phase Set: transition 0x02 or 0x03 only."""

    OPCODE: ClassVar[int] = 0x8016
    RESPONSE: ClassVar[type[Message] | None] = ConfigKeyRefreshPhaseStatus
    ECHO: ClassVar[tuple[str, ...]] = ("net_key_index",)
    net_key_index: int = field(metadata=KEY_INDEX)
    transition: int = field(metadata=codec(UInt(1, 0x02, 0x03)))


@register
@dataclass(frozen=True, slots=True)
class ConfigNodeResetStatus(Message):
    """Config Node Reset Status."""

    OPCODE: ClassVar[int] = 0x804A


@register
@dataclass(frozen=True, slots=True)
class ConfigNodeReset(Message):
    """Config Node Reset."""

    OPCODE: ClassVar[int] = 0x8049
    RESPONSE: ClassVar[type[Message] | None] = ConfigNodeResetStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigLowPowerNodePollTimeoutStatus(Message):
    """Config Low Power Node PollTimeout Status; timeout in 100 ms units."""

    OPCODE: ClassVar[int] = 0x802E
    lpn_address: int = field(metadata=ADDRESS)
    poll_timeout: int = field(metadata=codec(UInt(3, 0x0A, 0x34BBFF, extra=frozenset({0}))))


@register
@dataclass(frozen=True, slots=True)
class ConfigLowPowerNodePollTimeoutGet(Message):
    """Config Low Power Node PollTimeout Get."""

    OPCODE: ClassVar[int] = 0x802D
    RESPONSE: ClassVar[type[Message] | None] = ConfigLowPowerNodePollTimeoutStatus
    ECHO: ClassVar[tuple[str, ...]] = ("lpn_address",)
    lpn_address: int = field(metadata=ADDRESS)


# --------------------------------------------------------------------------------------------
# Heartbeat
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatPublicationStatus(Message):
    """Config Heartbeat Publication Status."""

    OPCODE: ClassVar[int] = 0x06
    status: ConfigStatus = field(metadata=STATUS)
    destination: int = field(metadata=ADDRESS)
    count_log: int = field(metadata=HEARTBEAT_COUNT_LOG)
    period_log: int = field(metadata=HEARTBEAT_PERIOD_LOG)
    ttl: int = field(metadata=HEARTBEAT_TTL)
    features: int = field(metadata=FEATURES)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatPublicationGet(Message):
    """Config Heartbeat Publication Get."""

    OPCODE: ClassVar[int] = 0x8038
    RESPONSE: ClassVar[type[Message] | None] = ConfigHeartbeatPublicationStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatPublicationSet(Message):
    """Config Heartbeat Publication Set."""

    OPCODE: ClassVar[int] = 0x8039
    RESPONSE: ClassVar[type[Message] | None] = ConfigHeartbeatPublicationStatus
    destination: int = field(metadata=ADDRESS)
    count_log: int = field(metadata=HEARTBEAT_COUNT_LOG)
    period_log: int = field(metadata=HEARTBEAT_PERIOD_LOG)
    ttl: int = field(metadata=HEARTBEAT_TTL)
    features: int = field(metadata=FEATURES)
    net_key_index: int = field(metadata=KEY_INDEX)


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatSubscriptionStatus(Message):
    """Config Heartbeat Subscription Status."""

    OPCODE: ClassVar[int] = 0x803C
    status: ConfigStatus = field(metadata=STATUS)
    source: int = field(metadata=ADDRESS)
    destination: int = field(metadata=ADDRESS)
    period_log: int = field(metadata=HEARTBEAT_PERIOD_LOG)
    count_log: int = field(metadata=HEARTBEAT_COUNT_LOG)
    min_hops: int = field(metadata=HEARTBEAT_TTL)
    max_hops: int = field(metadata=HEARTBEAT_TTL)


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatSubscriptionGet(Message):
    """Config Heartbeat Subscription Get."""

    OPCODE: ClassVar[int] = 0x803A
    RESPONSE: ClassVar[type[Message] | None] = ConfigHeartbeatSubscriptionStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigHeartbeatSubscriptionSet(Message):
    """Config Heartbeat Subscription Set."""

    OPCODE: ClassVar[int] = 0x803B
    RESPONSE: ClassVar[type[Message] | None] = ConfigHeartbeatSubscriptionStatus
    source: int = field(metadata=ADDRESS)
    destination: int = field(metadata=ADDRESS)
    period_log: int = field(metadata=HEARTBEAT_PERIOD_LOG)


# --------------------------------------------------------------------------------------------
# Subnet Bridge (MshPRT 1.1 §4.3.3 Bridge Configuration messages, sample data §8.12)
# --------------------------------------------------------------------------------------------


class BridgedSubnetsFilter(IntEnum):
    """Filter of Bridged Subnets Get/List: which NetKeyIndex must match."""

    ALL = 0b00
    NET_KEY_INDEX_1 = 0b01
    NET_KEY_INDEX_2 = 0b10
    EITHER = 0b11


@dataclass(frozen=True, slots=True)
class KeyIndexPairs(Codec):
    """Remaining octets as pairs of 12-bit key indexes, 3 octets per pair."""

    def encode(self, value: Any) -> bytes:
        return b"".join(_pack_pair(a, b) for a, b in value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        if reader.remaining % 3:
            raise DecodeError(reader.structure, field_name, "pairs are 3 octets each")
        pairs = []
        while reader.remaining:
            pairs.append(_read_pair(reader, field_name))
        return tuple(pairs)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, tuple) or not all(
            isinstance(p, tuple)
            and len(p) == 2
            and all(isinstance(i, int) and 0 <= i <= KEY_INDEX_MAX for i in p)
            for p in value
        ):
            return "must be a tuple of (NetKeyIndex1, NetKeyIndex2) pairs"
        return None

    def to_json(self, value: Any) -> JsonValue:
        return [[a, b] for a, b in value]


_FILTER = codec(EnumField(BridgedSubnetsFilter))
# Filter (2 bits), Prohibited (2 bits) and NetKeyIndex (12 bits) share two octets.
_FILTER_PROHIBITED_BITS = 0x000C


def _encode_filter(flt: BridgedSubnetsFilter, net_key_index: int) -> bytes:
    return (int(flt) | net_key_index << 4).to_bytes(2, "little")


def _decode_filter(reader: Reader) -> dict[str, Any]:
    packed = reader.uint(2, "filter")
    if packed & _FILTER_PROHIBITED_BITS:
        raise DecodeError(reader.structure, "filter", "prohibited bits are set")
    return {"filter": BridgedSubnetsFilter(packed & 0x03), "net_key_index": packed >> 4}


@register
@dataclass(frozen=True, slots=True)
class ConfigSubnetBridgeStatus(Message):
    """SUBNET_BRIDGE_STATUS: Subnet Bridge state."""

    OPCODE: ClassVar[int] = 0x80B3
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigSubnetBridgeGet(Message):
    """SUBNET_BRIDGE_GET."""

    OPCODE: ClassVar[int] = 0x80B1
    RESPONSE: ClassVar[type[Message] | None] = ConfigSubnetBridgeStatus


@register
@dataclass(frozen=True, slots=True)
class ConfigSubnetBridgeSet(Message):
    """SUBNET_BRIDGE_SET."""

    OPCODE: ClassVar[int] = 0x80B2
    RESPONSE: ClassVar[type[Message] | None] = ConfigSubnetBridgeStatus
    enabled: bool = field(metadata=BOOL)


@register
@dataclass(frozen=True, slots=True)
class ConfigBridgedSubnetsList(Message):
    """BRIDGED_SUBNETS_LIST: filter header, start index, then (NetKeyIndex1, 2) pairs."""

    OPCODE: ClassVar[int] = 0x80B8
    filter: BridgedSubnetsFilter = field(metadata=_FILTER)
    net_key_index: int = field(metadata=KEY_INDEX)
    start_index: int = field(metadata=U8)
    pairs: tuple[tuple[int, int], ...] = field(metadata=codec(KeyIndexPairs()))

    def to_bytes(self) -> bytes:
        return (
            _encode_filter(self.filter, self.net_key_index)
            + bytes([self.start_index])
            + KeyIndexPairs().encode(self.pairs)
        )

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        values = _decode_filter(reader)
        values["start_index"] = reader.uint(1, "start_index")
        values["pairs"] = KeyIndexPairs().decode(reader, "pairs")
        return cls.build(values)


@register
@dataclass(frozen=True, slots=True)
class ConfigBridgedSubnetsGet(Message):
    """BRIDGED_SUBNETS_GET."""

    OPCODE: ClassVar[int] = 0x80B7
    RESPONSE: ClassVar[type[Message] | None] = ConfigBridgedSubnetsList
    ECHO: ClassVar[tuple[str, ...]] = ("filter", "net_key_index", "start_index")
    filter: BridgedSubnetsFilter = field(metadata=_FILTER)
    net_key_index: int = field(metadata=KEY_INDEX)
    start_index: int = field(metadata=U8)

    def to_bytes(self) -> bytes:
        return _encode_filter(self.filter, self.net_key_index) + bytes([self.start_index])

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        values = _decode_filter(reader)
        values["start_index"] = reader.uint(1, "start_index")
        reader.finish()
        return cls.build(values)


@register
@dataclass(frozen=True, slots=True)
class ConfigBridgingTableSizeStatus(Message):
    """BRIDGING_TABLE_SIZE_STATUS: how many Bridging Table entries the node supports."""

    OPCODE: ClassVar[int] = 0x80BC
    bridging_table_size: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class ConfigBridgingTableSizeGet(Message):
    """BRIDGING_TABLE_SIZE_GET."""

    OPCODE: ClassVar[int] = 0x80BB
    RESPONSE: ClassVar[type[Message] | None] = ConfigBridgingTableSizeStatus


__all__ = [
    "FEATURE_FRIEND",
    "FEATURE_LOW_POWER",
    "FEATURE_PROXY",
    "FEATURE_RELAY",
    "BridgedSubnetsFilter",
    "ConfigAppKeyAdd",
    "ConfigAppKeyDelete",
    "ConfigAppKeyGet",
    "ConfigAppKeyList",
    "ConfigAppKeyStatus",
    "ConfigAppKeyUpdate",
    "ConfigBeaconGet",
    "ConfigBeaconSet",
    "ConfigBeaconStatus",
    "ConfigBridgedSubnetsGet",
    "ConfigBridgedSubnetsList",
    "ConfigBridgingTableSizeGet",
    "ConfigBridgingTableSizeStatus",
    "ConfigCompositionDataGet",
    "ConfigCompositionDataStatus",
    "ConfigDefaultTtlGet",
    "ConfigDefaultTtlSet",
    "ConfigDefaultTtlStatus",
    "ConfigFriendGet",
    "ConfigFriendSet",
    "ConfigFriendStatus",
    "ConfigGattProxyGet",
    "ConfigGattProxySet",
    "ConfigGattProxyStatus",
    "ConfigHeartbeatPublicationGet",
    "ConfigHeartbeatPublicationSet",
    "ConfigHeartbeatPublicationStatus",
    "ConfigHeartbeatSubscriptionGet",
    "ConfigHeartbeatSubscriptionSet",
    "ConfigHeartbeatSubscriptionStatus",
    "ConfigKeyRefreshPhaseGet",
    "ConfigKeyRefreshPhaseSet",
    "ConfigKeyRefreshPhaseStatus",
    "ConfigLowPowerNodePollTimeoutGet",
    "ConfigLowPowerNodePollTimeoutStatus",
    "ConfigModelAppBind",
    "ConfigModelAppStatus",
    "ConfigModelAppUnbind",
    "ConfigModelPublicationGet",
    "ConfigModelPublicationSet",
    "ConfigModelPublicationStatus",
    "ConfigModelPublicationVirtualAddressSet",
    "ConfigModelSubscriptionAdd",
    "ConfigModelSubscriptionDelete",
    "ConfigModelSubscriptionDeleteAll",
    "ConfigModelSubscriptionOverwrite",
    "ConfigModelSubscriptionStatus",
    "ConfigModelSubscriptionVirtualAddressAdd",
    "ConfigModelSubscriptionVirtualAddressDelete",
    "ConfigModelSubscriptionVirtualAddressOverwrite",
    "ConfigNetKeyAdd",
    "ConfigNetKeyDelete",
    "ConfigNetKeyGet",
    "ConfigNetKeyList",
    "ConfigNetKeyStatus",
    "ConfigNetKeyUpdate",
    "ConfigNetworkTransmitGet",
    "ConfigNetworkTransmitSet",
    "ConfigNetworkTransmitStatus",
    "ConfigNodeIdentityGet",
    "ConfigNodeIdentitySet",
    "ConfigNodeIdentityStatus",
    "ConfigNodeReset",
    "ConfigNodeResetStatus",
    "ConfigRelayGet",
    "ConfigRelaySet",
    "ConfigRelayStatus",
    "ConfigSigModelAppGet",
    "ConfigSigModelAppList",
    "ConfigSigModelSubscriptionGet",
    "ConfigSigModelSubscriptionList",
    "ConfigStatus",
    "ConfigSubnetBridgeGet",
    "ConfigSubnetBridgeSet",
    "ConfigSubnetBridgeStatus",
    "ConfigVendorModelAppGet",
    "ConfigVendorModelAppList",
    "ConfigVendorModelSubscriptionGet",
    "ConfigVendorModelSubscriptionList",
    "FeatureState",
    "KeyIndexPairs",
]


mark_device_key_only(globals())  # §4.3.2 / §4.3.4: secured with a device key only
