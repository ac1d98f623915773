"""Generic models' messages (MshMDL 1.1 §3.2): OnOff, Level, Default Transition Time,
Power OnOff (OnPowerUp), Battery.

Set messages carry an optional Transition Time + Delay pair (MshMDL 1.1 §3.2.1.2): both
present or both absent. Here ``transition=None`` means absent, and ``delay`` (5 ms steps) must
then stay 0. Status messages carry an optional Target + Remaining Time pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from custom_components.ble_mesh.mesh.access import (
    BOOL,
    TID,
    Codec,
    EnumField,
    Flag,
    JsonValue,
    Message,
    Reader,
    SInt,
    UInt,
    codec,
    register,
)
from custom_components.ble_mesh.mesh.errors import DecodeError

from .common import DELAY, REMAINING_TIME, TRANSITION, TransitionCodec, TransitionTime

LEVEL = codec(SInt(2))

# --------------------------------------------------------------------------------------------
# Generic OnOff (MshMDL 1.1 §3.2.1)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class GenericOnOffGet(Message):
    """Generic OnOff Get (§3.2.1.1)."""

    OPCODE: ClassVar[int] = 0x8201


@register
@dataclass(frozen=True, slots=True)
class GenericOnOffStatus(Message):
    """Generic OnOff Status (§3.2.1.4)."""

    OPCODE: ClassVar[int] = 0x8204
    present_on: bool = field(metadata=BOOL)
    target_on: bool | None = field(default=None, metadata=codec(Flag(), optional=True))
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class GenericOnOffSet(Message):
    """Generic OnOff Set (§3.2.1.2)."""

    OPCODE: ClassVar[int] = 0x8202
    RESPONSE: ClassVar[type[Message] | None] = GenericOnOffStatus
    on: bool = field(metadata=BOOL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericOnOffSetUnacknowledged(Message):
    """Generic OnOff Set Unacknowledged (§3.2.1.3)."""

    OPCODE: ClassVar[int] = 0x8203
    on: bool = field(metadata=BOOL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


GenericOnOffGet.RESPONSE = GenericOnOffStatus


# --------------------------------------------------------------------------------------------
# Generic Level (MshMDL 1.1 §3.2.2)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class GenericLevelGet(Message):
    """Generic Level Get (§3.2.2.1)."""

    OPCODE: ClassVar[int] = 0x8205


@register
@dataclass(frozen=True, slots=True)
class GenericLevelStatus(Message):
    """Generic Level Status (§3.2.2.8)."""

    OPCODE: ClassVar[int] = 0x8208
    present_level: int = field(metadata=LEVEL)
    target_level: int | None = field(default=None, metadata=codec(SInt(2), optional=True))
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class GenericLevelSet(Message):
    """Generic Level Set (§3.2.2.2)."""

    OPCODE: ClassVar[int] = 0x8206
    RESPONSE: ClassVar[type[Message] | None] = GenericLevelStatus
    level: int = field(metadata=LEVEL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericLevelSetUnacknowledged(Message):
    """Generic Level Set Unacknowledged (§3.2.2.3)."""

    OPCODE: ClassVar[int] = 0x8207
    level: int = field(metadata=LEVEL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericDeltaSet(Message):
    """Generic Delta Set (§3.2.2.4): a 32-bit signed delta within one transaction."""

    OPCODE: ClassVar[int] = 0x8209
    RESPONSE: ClassVar[type[Message] | None] = GenericLevelStatus
    delta_level: int = field(metadata=codec(SInt(4)))
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericDeltaSetUnacknowledged(Message):
    """Generic Delta Set Unacknowledged (§3.2.2.5)."""

    OPCODE: ClassVar[int] = 0x820A
    delta_level: int = field(metadata=codec(SInt(4)))
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericMoveSet(Message):
    """Generic Move Set (§3.2.2.6): move by ``delta_level`` per ``transition`` time."""

    OPCODE: ClassVar[int] = 0x820B
    RESPONSE: ClassVar[type[Message] | None] = GenericLevelStatus
    delta_level: int = field(metadata=LEVEL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class GenericMoveSetUnacknowledged(Message):
    """Generic Move Set Unacknowledged (§3.2.2.7)."""

    OPCODE: ClassVar[int] = 0x820C
    delta_level: int = field(metadata=LEVEL)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


GenericLevelGet.RESPONSE = GenericLevelStatus


# --------------------------------------------------------------------------------------------
# Generic Default Transition Time (MshMDL 1.1 §3.2.3)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class GenericDefaultTransitionTimeGet(Message):
    """Generic Default Transition Time Get (§3.2.3.1)."""

    OPCODE: ClassVar[int] = 0x820D


@register
@dataclass(frozen=True, slots=True)
class GenericDefaultTransitionTimeStatus(Message):
    """Generic Default Transition Time Status (§3.2.3.4)."""

    OPCODE: ClassVar[int] = 0x8210
    transition: TransitionTime = field(metadata=codec(TransitionCodec(allow_unknown=True)))


@register
@dataclass(frozen=True, slots=True)
class GenericDefaultTransitionTimeSet(Message):
    """Generic Default Transition Time Set (§3.2.3.2); 0x3F steps cannot be set."""

    OPCODE: ClassVar[int] = 0x820E
    RESPONSE: ClassVar[type[Message] | None] = GenericDefaultTransitionTimeStatus
    transition: TransitionTime = field(metadata=codec(TransitionCodec()))


@register
@dataclass(frozen=True, slots=True)
class GenericDefaultTransitionTimeSetUnacknowledged(Message):
    """Generic Default Transition Time Set Unacknowledged (§3.2.3.3)."""

    OPCODE: ClassVar[int] = 0x820F
    transition: TransitionTime = field(metadata=codec(TransitionCodec()))


GenericDefaultTransitionTimeGet.RESPONSE = GenericDefaultTransitionTimeStatus


# --------------------------------------------------------------------------------------------
# Generic Power OnOff (MshMDL 1.1 §3.2.4)
# --------------------------------------------------------------------------------------------


class OnPowerUp(IntEnum):
    """Generic OnPowerUp state (MshMDL 1.1 §3.1.4); 0x03-0xFF are prohibited."""

    OFF = 0x00
    DEFAULT = 0x01
    RESTORE = 0x02


ON_POWER_UP = codec(EnumField(OnPowerUp))


@register
@dataclass(frozen=True, slots=True)
class GenericOnPowerUpGet(Message):
    """Generic OnPowerUp Get (§3.2.4.1)."""

    OPCODE: ClassVar[int] = 0x8211


@register
@dataclass(frozen=True, slots=True)
class GenericOnPowerUpStatus(Message):
    """Generic OnPowerUp Status (§3.2.4.4)."""

    OPCODE: ClassVar[int] = 0x8212
    on_power_up: OnPowerUp = field(metadata=ON_POWER_UP)


@register
@dataclass(frozen=True, slots=True)
class GenericOnPowerUpSet(Message):
    """Generic OnPowerUp Set (§3.2.4.2)."""

    OPCODE: ClassVar[int] = 0x8213
    RESPONSE: ClassVar[type[Message] | None] = GenericOnPowerUpStatus
    on_power_up: OnPowerUp = field(metadata=ON_POWER_UP)


@register
@dataclass(frozen=True, slots=True)
class GenericOnPowerUpSetUnacknowledged(Message):
    """Generic OnPowerUp Set Unacknowledged (§3.2.4.3)."""

    OPCODE: ClassVar[int] = 0x8214
    on_power_up: OnPowerUp = field(metadata=ON_POWER_UP)


GenericOnPowerUpGet.RESPONSE = GenericOnPowerUpStatus


# --------------------------------------------------------------------------------------------
# Generic Battery (MshMDL 1.1 §3.2.6 messages, §3.1.6 state)
# --------------------------------------------------------------------------------------------

# §3.1.6.1: Battery Level 0..100 %, 0xFF = unknown; 0x65-0xFE are prohibited.
BATTERY_LEVEL_UNKNOWN = 0xFF
# §3.1.6.2/§3.1.6.3: Time to Discharge/Charge in minutes, 0xFFFFFF = unknown.
BATTERY_TIME_UNKNOWN = 0xFFFFFF


class BatteryPresence(IntEnum):
    """Generic Battery Flags Presence, bits 0-1 (MshMDL 1.1 §3.1.6.4)."""

    NOT_PRESENT = 0b00
    PRESENT_REMOVABLE = 0b01
    PRESENT_NOT_REMOVABLE = 0b10
    UNKNOWN = 0b11


class BatteryIndicator(IntEnum):
    """Generic Battery Flags Indicator, bits 2-3 (MshMDL 1.1 §3.1.6.4)."""

    CRITICALLY_LOW = 0b00
    LOW = 0b01
    GOOD = 0b10
    UNKNOWN = 0b11


class BatteryCharging(IntEnum):
    """Generic Battery Flags Charging, bits 4-5 (MshMDL 1.1 §3.1.6.4)."""

    NOT_CHARGEABLE = 0b00
    NOT_CHARGING = 0b01  # chargeable, not charging
    CHARGING = 0b10  # chargeable, charging
    UNKNOWN = 0b11


class BatteryServiceability(IntEnum):
    """Generic Battery Flags Serviceability, bits 6-7 (MshMDL 1.1 §3.1.6.4); 0b00 is RFU."""

    NOT_REQUIRED = 0b01
    REQUIRED = 0b10
    UNKNOWN = 0b11


@dataclass(frozen=True, slots=True)
class BatteryFlags:
    """The Generic Battery Flags state: four 2-bit fields in one octet."""

    presence: BatteryPresence = BatteryPresence.UNKNOWN
    indicator: BatteryIndicator = BatteryIndicator.UNKNOWN
    charging: BatteryCharging = BatteryCharging.UNKNOWN
    serviceability: BatteryServiceability = BatteryServiceability.UNKNOWN

    def to_byte(self) -> int:
        """The packed octet."""
        return self.presence | self.indicator << 2 | self.charging << 4 | self.serviceability << 6

    def to_json(self) -> JsonValue:
        """JSON form for ``describe``."""
        return {
            "presence": self.presence.name,
            "indicator": self.indicator.name,
            "charging": self.charging.name,
            "serviceability": self.serviceability.name,
        }


@dataclass(frozen=True, slots=True)
class BatteryFlagsCodec(Codec):
    """One Generic Battery Flags octet; serviceability 0b00 is reserved."""

    def encode(self, value: Any) -> bytes:
        return bytes([value.to_byte()])

    def decode(self, reader: Reader, field_name: str) -> Any:
        raw = reader.uint(1, field_name)
        serviceability = raw >> 6
        if serviceability == 0:
            raise DecodeError(reader.structure, field_name, "serviceability 0b00 is reserved")
        return BatteryFlags(
            BatteryPresence(raw & 3),
            BatteryIndicator(raw >> 2 & 3),
            BatteryCharging(raw >> 4 & 3),
            BatteryServiceability(serviceability),
        )

    def check(self, value: Any) -> str | None:
        if not isinstance(value, BatteryFlags):
            return "must be BatteryFlags"
        kinds = (BatteryPresence, BatteryIndicator, BatteryCharging, BatteryServiceability)
        parts = (value.presence, value.indicator, value.charging, value.serviceability)
        if not all(isinstance(p, k) for p, k in zip(parts, kinds, strict=True)):
            return "each flag must be its enum"
        return None


@register
@dataclass(frozen=True, slots=True)
class GenericBatteryGet(Message):
    """Generic Battery Get (§3.2.6.1)."""

    OPCODE: ClassVar[int] = 0x8223


@register
@dataclass(frozen=True, slots=True)
class GenericBatteryStatus(Message):
    """Generic Battery Status (§3.2.6.2); times in minutes, unknown values as 0xFF/0xFFFFFF."""

    OPCODE: ClassVar[int] = 0x8224
    battery_level: int = field(
        metadata=codec(UInt(1, 0, 100, extra=frozenset({BATTERY_LEVEL_UNKNOWN})))
    )
    time_to_discharge: int = field(metadata=codec(UInt(3)))
    time_to_charge: int = field(metadata=codec(UInt(3)))
    flags: BatteryFlags = field(metadata=codec(BatteryFlagsCodec()))

    @property
    def level(self) -> int | None:
        """Battery level in percent, None when unknown."""
        return None if self.battery_level == BATTERY_LEVEL_UNKNOWN else self.battery_level

    @property
    def minutes_to_discharge(self) -> int | None:
        """Minutes until discharged, None when unknown."""
        return None if self.time_to_discharge == BATTERY_TIME_UNKNOWN else self.time_to_discharge

    @property
    def minutes_to_charge(self) -> int | None:
        """Minutes until charged, None when unknown."""
        return None if self.time_to_charge == BATTERY_TIME_UNKNOWN else self.time_to_charge


GenericBatteryGet.RESPONSE = GenericBatteryStatus

__all__ = [
    "BATTERY_LEVEL_UNKNOWN",
    "BATTERY_TIME_UNKNOWN",
    "BatteryCharging",
    "BatteryFlags",
    "BatteryFlagsCodec",
    "BatteryIndicator",
    "BatteryPresence",
    "BatteryServiceability",
    "GenericBatteryGet",
    "GenericBatteryStatus",
    "GenericDefaultTransitionTimeGet",
    "GenericDefaultTransitionTimeSet",
    "GenericDefaultTransitionTimeSetUnacknowledged",
    "GenericDefaultTransitionTimeStatus",
    "GenericDeltaSet",
    "GenericDeltaSetUnacknowledged",
    "GenericLevelGet",
    "GenericLevelSet",
    "GenericLevelSetUnacknowledged",
    "GenericLevelStatus",
    "GenericMoveSet",
    "GenericMoveSetUnacknowledged",
    "GenericOnOffGet",
    "GenericOnOffSet",
    "GenericOnOffSetUnacknowledged",
    "GenericOnOffStatus",
    "GenericOnPowerUpGet",
    "GenericOnPowerUpSet",
    "GenericOnPowerUpSetUnacknowledged",
    "GenericOnPowerUpStatus",
    "OnPowerUp",
]
