"""Lighting models' messages (MshMDL 1.1 §6.3): Light Lightness, CTL, HSL and xyL, plus the
state conversions the lighting servers are bound by (MshMDL 1.1 §6.1).

Conventions as in :mod:`.generic`: ``transition=None`` means the optional Transition Time +
Delay pair is absent (``delay`` then stays 0); in status messages the Target + Remaining Time
group is absent when the first target field is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from math import isqrt
from typing import ClassVar

from custom_components.ble_mesh.mesh.access import (
    TID,
    U16,
    EnumField,
    InvalidFieldError,
    Message,
    SInt,
    UInt,
    codec,
    register,
)
from custom_components.ble_mesh.mesh.errors import UsageError

from .common import DELAY, REMAINING_TIME, TRANSITION, TransitionTime

# MshMDL 1.1 §6.1.3.1: Light CTL Temperature is 0x0320 (800 K) .. 0x4E20 (20000 K).
TEMPERATURE_MIN = 0x0320
TEMPERATURE_MAX = 0x4E20
TEMPERATURE_UNKNOWN = 0xFFFF

U16_OPT = codec(UInt(2), optional=True)
TEMPERATURE = codec(UInt(2, TEMPERATURE_MIN, TEMPERATURE_MAX))
TEMPERATURE_OPT = codec(UInt(2, TEMPERATURE_MIN, TEMPERATURE_MAX), optional=True)
TEMPERATURE_RANGE = codec(
    UInt(2, TEMPERATURE_MIN, TEMPERATURE_MAX, extra=frozenset({TEMPERATURE_UNKNOWN}))
)
DELTA_UV = codec(SInt(2))
DELTA_UV_OPT = codec(SInt(2), optional=True)
# MshMDL 1.1 §6.1.2: Light Lightness Range Min/Max 0x0000 is prohibited.
LIGHTNESS_RANGE = codec(UInt(2, 1))


class RangeStatus(IntEnum):
    """Status Code of the range status messages (MshMDL 1.1 Table 7.2)."""

    SUCCESS = 0x00
    CANNOT_SET_RANGE_MIN = 0x01
    CANNOT_SET_RANGE_MAX = 0x02


RANGE_STATUS = codec(EnumField(RangeStatus))


def _check_range(msg: Message, low: str, high: str) -> None:
    if getattr(msg, low) > getattr(msg, high):
        raise InvalidFieldError(msg.name, low, f"{low} must not exceed {high}")


# --------------------------------------------------------------------------------------------
# State conversions (MshMDL 1.1 §6.1.2.2, §6.1.3.1)
# --------------------------------------------------------------------------------------------


def lightness_actual_to_linear(actual: int) -> int:
    """Light Lightness Linear = ceil(65535 * (Actual / 65535)^2), in exact integers."""
    if not 0 <= actual <= 0xFFFF:
        raise UsageError("lightness must be 0..65535")
    return -(-actual * actual // 0xFFFF)


def lightness_linear_to_actual(linear: int) -> int:
    """Light Lightness Actual = floor(65535 * sqrt(Linear / 65535)), in exact integers."""
    if not 0 <= linear <= 0xFFFF:
        raise UsageError("lightness must be 0..65535")
    return isqrt(linear * 0xFFFF)


def level_to_lightness(level: int) -> int:
    """Light Lightness Actual = Generic Level + 32768 (also Hue and Saturation)."""
    if not -0x8000 <= level <= 0x7FFF:
        raise UsageError("generic level must be -32768..32767")
    return level + 0x8000


def lightness_to_level(lightness: int) -> int:
    """Generic Level = Light Lightness Actual - 32768 (also Hue and Saturation)."""
    if not 0 <= lightness <= 0xFFFF:
        raise UsageError("lightness must be 0..65535")
    return lightness - 0x8000


def temperature_to_level(
    temperature: int, range_min: int = TEMPERATURE_MIN, range_max: int = TEMPERATURE_MAX
) -> int:
    """Generic Level = (T - T_MIN) * 65535 / (T_MAX - T_MIN) - 32768 (§6.1.3.1.1)."""
    if not TEMPERATURE_MIN <= range_min < range_max <= TEMPERATURE_MAX:
        raise UsageError("invalid temperature range")
    if not range_min <= temperature <= range_max:
        raise UsageError("temperature outside its range")
    return (temperature - range_min) * 0xFFFF // (range_max - range_min) - 0x8000


def level_to_temperature(
    level: int, range_min: int = TEMPERATURE_MIN, range_max: int = TEMPERATURE_MAX
) -> int:
    """Light CTL Temperature = T_MIN + (Level + 32768) * (T_MAX - T_MIN) / 65535."""
    if not TEMPERATURE_MIN <= range_min < range_max <= TEMPERATURE_MAX:
        raise UsageError("invalid temperature range")
    if not -0x8000 <= level <= 0x7FFF:
        raise UsageError("generic level must be -32768..32767")
    return range_min + (level + 0x8000) * (range_max - range_min) // 0xFFFF


# --------------------------------------------------------------------------------------------
# Light Lightness (§6.3.1)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class LightLightnessGet(Message):
    """Light Lightness Get."""

    OPCODE: ClassVar[int] = 0x824B


@register
@dataclass(frozen=True, slots=True)
class LightLightnessStatus(Message):
    """Light Lightness Status (Actual)."""

    OPCODE: ClassVar[int] = 0x824E
    present_lightness: int = field(metadata=U16)
    target_lightness: int | None = field(default=None, metadata=U16_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessSet(Message):
    """Light Lightness Set (Actual)."""

    OPCODE: ClassVar[int] = 0x824C
    RESPONSE: ClassVar[type[Message] | None] = LightLightnessStatus
    lightness: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessSetUnacknowledged(Message):
    """Light Lightness Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x824D
    lightness: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLinearGet(Message):
    """Light Lightness Linear Get."""

    OPCODE: ClassVar[int] = 0x824F


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLinearStatus(Message):
    """Light Lightness Linear Status."""

    OPCODE: ClassVar[int] = 0x8252
    present_lightness: int = field(metadata=U16)
    target_lightness: int | None = field(default=None, metadata=U16_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLinearSet(Message):
    """Light Lightness Linear Set."""

    OPCODE: ClassVar[int] = 0x8250
    RESPONSE: ClassVar[type[Message] | None] = LightLightnessLinearStatus
    lightness: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLinearSetUnacknowledged(Message):
    """Light Lightness Linear Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8251
    lightness: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLastGet(Message):
    """Light Lightness Last Get."""

    OPCODE: ClassVar[int] = 0x8253


@register
@dataclass(frozen=True, slots=True)
class LightLightnessLastStatus(Message):
    """Light Lightness Last Status: the last non-zero lightness."""

    OPCODE: ClassVar[int] = 0x8254
    lightness: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessDefaultGet(Message):
    """Light Lightness Default Get."""

    OPCODE: ClassVar[int] = 0x8255


@register
@dataclass(frozen=True, slots=True)
class LightLightnessDefaultStatus(Message):
    """Light Lightness Default Status (0 = use Last at power up)."""

    OPCODE: ClassVar[int] = 0x8256
    lightness: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessDefaultSet(Message):
    """Light Lightness Default Set."""

    OPCODE: ClassVar[int] = 0x8259
    RESPONSE: ClassVar[type[Message] | None] = LightLightnessDefaultStatus
    lightness: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessDefaultSetUnacknowledged(Message):
    """Light Lightness Default Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x825A
    lightness: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessRangeGet(Message):
    """Light Lightness Range Get."""

    OPCODE: ClassVar[int] = 0x8257


@register
@dataclass(frozen=True, slots=True)
class LightLightnessRangeStatus(Message):
    """Light Lightness Range Status."""

    OPCODE: ClassVar[int] = 0x8258
    status: RangeStatus = field(metadata=RANGE_STATUS)
    range_min: int = field(metadata=LIGHTNESS_RANGE)
    range_max: int = field(metadata=LIGHTNESS_RANGE)


@register
@dataclass(frozen=True, slots=True)
class LightLightnessRangeSet(Message):
    """Light Lightness Range Set (min <= max, both non-zero)."""

    OPCODE: ClassVar[int] = 0x825B
    RESPONSE: ClassVar[type[Message] | None] = LightLightnessRangeStatus
    range_min: int = field(metadata=LIGHTNESS_RANGE)
    range_max: int = field(metadata=LIGHTNESS_RANGE)

    def _check(self) -> None:
        _check_range(self, "range_min", "range_max")


@register
@dataclass(frozen=True, slots=True)
class LightLightnessRangeSetUnacknowledged(Message):
    """Light Lightness Range Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x825C
    range_min: int = field(metadata=LIGHTNESS_RANGE)
    range_max: int = field(metadata=LIGHTNESS_RANGE)

    def _check(self) -> None:
        _check_range(self, "range_min", "range_max")


LightLightnessGet.RESPONSE = LightLightnessStatus
LightLightnessLinearGet.RESPONSE = LightLightnessLinearStatus
LightLightnessLastGet.RESPONSE = LightLightnessLastStatus
LightLightnessDefaultGet.RESPONSE = LightLightnessDefaultStatus
LightLightnessRangeGet.RESPONSE = LightLightnessRangeStatus


# --------------------------------------------------------------------------------------------
# Light CTL (§6.3.2)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class LightCtlGet(Message):
    """Light CTL Get."""

    OPCODE: ClassVar[int] = 0x825D


@register
@dataclass(frozen=True, slots=True)
class LightCtlStatus(Message):
    """Light CTL Status (lightness and temperature, no Delta UV)."""

    OPCODE: ClassVar[int] = 0x8260
    present_lightness: int = field(metadata=U16)
    present_temperature: int = field(metadata=TEMPERATURE)
    target_lightness: int | None = field(default=None, metadata=U16_OPT)
    target_temperature: int | None = field(default=None, metadata=TEMPERATURE_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightCtlSet(Message):
    """Light CTL Set."""

    OPCODE: ClassVar[int] = 0x825E
    RESPONSE: ClassVar[type[Message] | None] = LightCtlStatus
    lightness: int = field(metadata=U16)
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightCtlSetUnacknowledged(Message):
    """Light CTL Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x825F
    lightness: int = field(metadata=U16)
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureGet(Message):
    """Light CTL Temperature Get."""

    OPCODE: ClassVar[int] = 0x8261


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureStatus(Message):
    """Light CTL Temperature Status."""

    OPCODE: ClassVar[int] = 0x8266
    present_temperature: int = field(metadata=TEMPERATURE)
    present_delta_uv: int = field(metadata=DELTA_UV)
    target_temperature: int | None = field(default=None, metadata=TEMPERATURE_OPT)
    target_delta_uv: int | None = field(default=None, metadata=DELTA_UV_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureSet(Message):
    """Light CTL Temperature Set."""

    OPCODE: ClassVar[int] = 0x8264
    RESPONSE: ClassVar[type[Message] | None] = LightCtlTemperatureStatus
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureSetUnacknowledged(Message):
    """Light CTL Temperature Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8265
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureRangeGet(Message):
    """Light CTL Temperature Range Get."""

    OPCODE: ClassVar[int] = 0x8262


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureRangeStatus(Message):
    """Light CTL Temperature Range Status (0xFFFF = unknown)."""

    OPCODE: ClassVar[int] = 0x8263
    status: RangeStatus = field(metadata=RANGE_STATUS)
    range_min: int = field(metadata=TEMPERATURE_RANGE)
    range_max: int = field(metadata=TEMPERATURE_RANGE)


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureRangeSet(Message):
    """Light CTL Temperature Range Set (800..20000 K, min <= max)."""

    OPCODE: ClassVar[int] = 0x826B
    RESPONSE: ClassVar[type[Message] | None] = LightCtlTemperatureRangeStatus
    range_min: int = field(metadata=TEMPERATURE)
    range_max: int = field(metadata=TEMPERATURE)

    def _check(self) -> None:
        _check_range(self, "range_min", "range_max")


@register
@dataclass(frozen=True, slots=True)
class LightCtlTemperatureRangeSetUnacknowledged(Message):
    """Light CTL Temperature Range Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x826C
    range_min: int = field(metadata=TEMPERATURE)
    range_max: int = field(metadata=TEMPERATURE)

    def _check(self) -> None:
        _check_range(self, "range_min", "range_max")


@register
@dataclass(frozen=True, slots=True)
class LightCtlDefaultGet(Message):
    """Light CTL Default Get."""

    OPCODE: ClassVar[int] = 0x8267


@register
@dataclass(frozen=True, slots=True)
class LightCtlDefaultStatus(Message):
    """Light CTL Default Status."""

    OPCODE: ClassVar[int] = 0x8268
    lightness: int = field(metadata=U16)
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)


@register
@dataclass(frozen=True, slots=True)
class LightCtlDefaultSet(Message):
    """Light CTL Default Set."""

    OPCODE: ClassVar[int] = 0x8269
    RESPONSE: ClassVar[type[Message] | None] = LightCtlDefaultStatus
    lightness: int = field(metadata=U16)
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)


@register
@dataclass(frozen=True, slots=True)
class LightCtlDefaultSetUnacknowledged(Message):
    """Light CTL Default Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x826A
    lightness: int = field(metadata=U16)
    temperature: int = field(metadata=TEMPERATURE)
    delta_uv: int = field(metadata=DELTA_UV)


LightCtlGet.RESPONSE = LightCtlStatus
LightCtlTemperatureGet.RESPONSE = LightCtlTemperatureStatus
LightCtlTemperatureRangeGet.RESPONSE = LightCtlTemperatureRangeStatus
LightCtlDefaultGet.RESPONSE = LightCtlDefaultStatus


# --------------------------------------------------------------------------------------------
# Light HSL (§6.3.3)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class LightHslGet(Message):
    """Light HSL Get."""

    OPCODE: ClassVar[int] = 0x826D


@register
@dataclass(frozen=True, slots=True)
class LightHslStatus(Message):
    """Light HSL Status: present values, optional remaining time."""

    OPCODE: ClassVar[int] = 0x8278
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightHslSet(Message):
    """Light HSL Set."""

    OPCODE: ClassVar[int] = 0x8276
    RESPONSE: ClassVar[type[Message] | None] = LightHslStatus
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslSetUnacknowledged(Message):
    """Light HSL Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8277
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslTargetGet(Message):
    """Light HSL Target Get."""

    OPCODE: ClassVar[int] = 0x8279


@register
@dataclass(frozen=True, slots=True)
class LightHslTargetStatus(Message):
    """Light HSL Target Status: target values, optional remaining time."""

    OPCODE: ClassVar[int] = 0x827A
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightHslHueGet(Message):
    """Light HSL Hue Get."""

    OPCODE: ClassVar[int] = 0x826E


@register
@dataclass(frozen=True, slots=True)
class LightHslHueStatus(Message):
    """Light HSL Hue Status."""

    OPCODE: ClassVar[int] = 0x8271
    present_hue: int = field(metadata=U16)
    target_hue: int | None = field(default=None, metadata=U16_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightHslHueSet(Message):
    """Light HSL Hue Set."""

    OPCODE: ClassVar[int] = 0x826F
    RESPONSE: ClassVar[type[Message] | None] = LightHslHueStatus
    hue: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslHueSetUnacknowledged(Message):
    """Light HSL Hue Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8270
    hue: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslSaturationGet(Message):
    """Light HSL Saturation Get."""

    OPCODE: ClassVar[int] = 0x8272


@register
@dataclass(frozen=True, slots=True)
class LightHslSaturationStatus(Message):
    """Light HSL Saturation Status."""

    OPCODE: ClassVar[int] = 0x8275
    present_saturation: int = field(metadata=U16)
    target_saturation: int | None = field(default=None, metadata=U16_OPT)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightHslSaturationSet(Message):
    """Light HSL Saturation Set."""

    OPCODE: ClassVar[int] = 0x8273
    RESPONSE: ClassVar[type[Message] | None] = LightHslSaturationStatus
    saturation: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslSaturationSetUnacknowledged(Message):
    """Light HSL Saturation Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8274
    saturation: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightHslDefaultGet(Message):
    """Light HSL Default Get."""

    OPCODE: ClassVar[int] = 0x827B


@register
@dataclass(frozen=True, slots=True)
class LightHslDefaultStatus(Message):
    """Light HSL Default Status."""

    OPCODE: ClassVar[int] = 0x827C
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightHslDefaultSet(Message):
    """Light HSL Default Set."""

    OPCODE: ClassVar[int] = 0x827F
    RESPONSE: ClassVar[type[Message] | None] = LightHslDefaultStatus
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightHslDefaultSetUnacknowledged(Message):
    """Light HSL Default Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8280
    lightness: int = field(metadata=U16)
    hue: int = field(metadata=U16)
    saturation: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightHslRangeGet(Message):
    """Light HSL Range Get."""

    OPCODE: ClassVar[int] = 0x827D


@register
@dataclass(frozen=True, slots=True)
class LightHslRangeStatus(Message):
    """Light HSL Range Status."""

    OPCODE: ClassVar[int] = 0x827E
    status: RangeStatus = field(metadata=RANGE_STATUS)
    hue_min: int = field(metadata=U16)
    hue_max: int = field(metadata=U16)
    saturation_min: int = field(metadata=U16)
    saturation_max: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightHslRangeSet(Message):
    """Light HSL Range Set (each min <= its max)."""

    OPCODE: ClassVar[int] = 0x8281
    RESPONSE: ClassVar[type[Message] | None] = LightHslRangeStatus
    hue_min: int = field(metadata=U16)
    hue_max: int = field(metadata=U16)
    saturation_min: int = field(metadata=U16)
    saturation_max: int = field(metadata=U16)

    def _check(self) -> None:
        _check_range(self, "hue_min", "hue_max")
        _check_range(self, "saturation_min", "saturation_max")


@register
@dataclass(frozen=True, slots=True)
class LightHslRangeSetUnacknowledged(Message):
    """Light HSL Range Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8282
    hue_min: int = field(metadata=U16)
    hue_max: int = field(metadata=U16)
    saturation_min: int = field(metadata=U16)
    saturation_max: int = field(metadata=U16)

    def _check(self) -> None:
        _check_range(self, "hue_min", "hue_max")
        _check_range(self, "saturation_min", "saturation_max")


LightHslGet.RESPONSE = LightHslStatus
LightHslTargetGet.RESPONSE = LightHslTargetStatus
LightHslHueGet.RESPONSE = LightHslHueStatus
LightHslSaturationGet.RESPONSE = LightHslSaturationStatus
LightHslDefaultGet.RESPONSE = LightHslDefaultStatus
LightHslRangeGet.RESPONSE = LightHslRangeStatus


# --------------------------------------------------------------------------------------------
# Light xyL (§6.3.4)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class LightXylGet(Message):
    """Light xyL Get."""

    OPCODE: ClassVar[int] = 0x8283


@register
@dataclass(frozen=True, slots=True)
class LightXylStatus(Message):
    """Light xyL Status: present values, optional remaining time."""

    OPCODE: ClassVar[int] = 0x8286
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightXylSet(Message):
    """Light xyL Set (x and y in units of 1/65535)."""

    OPCODE: ClassVar[int] = 0x8284
    RESPONSE: ClassVar[type[Message] | None] = LightXylStatus
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightXylSetUnacknowledged(Message):
    """Light xyL Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8285
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)
    tid: int = field(metadata=TID)
    transition: TransitionTime | None = field(default=None, metadata=TRANSITION)
    delay: int = field(default=0, metadata=DELAY)


@register
@dataclass(frozen=True, slots=True)
class LightXylTargetGet(Message):
    """Light xyL Target Get."""

    OPCODE: ClassVar[int] = 0x8287


@register
@dataclass(frozen=True, slots=True)
class LightXylTargetStatus(Message):
    """Light xyL Target Status."""

    OPCODE: ClassVar[int] = 0x8288
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)
    remaining_time: TransitionTime | None = field(default=None, metadata=REMAINING_TIME)


@register
@dataclass(frozen=True, slots=True)
class LightXylDefaultGet(Message):
    """Light xyL Default Get."""

    OPCODE: ClassVar[int] = 0x8289


@register
@dataclass(frozen=True, slots=True)
class LightXylDefaultStatus(Message):
    """Light xyL Default Status."""

    OPCODE: ClassVar[int] = 0x828A
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightXylDefaultSet(Message):
    """Light xyL Default Set."""

    OPCODE: ClassVar[int] = 0x828D
    RESPONSE: ClassVar[type[Message] | None] = LightXylDefaultStatus
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightXylDefaultSetUnacknowledged(Message):
    """Light xyL Default Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x828E
    lightness: int = field(metadata=U16)
    x: int = field(metadata=U16)
    y: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightXylRangeGet(Message):
    """Light xyL Range Get."""

    OPCODE: ClassVar[int] = 0x828B


@register
@dataclass(frozen=True, slots=True)
class LightXylRangeStatus(Message):
    """Light xyL Range Status."""

    OPCODE: ClassVar[int] = 0x828C
    status: RangeStatus = field(metadata=RANGE_STATUS)
    x_min: int = field(metadata=U16)
    x_max: int = field(metadata=U16)
    y_min: int = field(metadata=U16)
    y_max: int = field(metadata=U16)


@register
@dataclass(frozen=True, slots=True)
class LightXylRangeSet(Message):
    """Light xyL Range Set (each min <= its max)."""

    OPCODE: ClassVar[int] = 0x828F
    RESPONSE: ClassVar[type[Message] | None] = LightXylRangeStatus
    x_min: int = field(metadata=U16)
    x_max: int = field(metadata=U16)
    y_min: int = field(metadata=U16)
    y_max: int = field(metadata=U16)

    def _check(self) -> None:
        _check_range(self, "x_min", "x_max")
        _check_range(self, "y_min", "y_max")


@register
@dataclass(frozen=True, slots=True)
class LightXylRangeSetUnacknowledged(Message):
    """Light xyL Range Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8290
    x_min: int = field(metadata=U16)
    x_max: int = field(metadata=U16)
    y_min: int = field(metadata=U16)
    y_max: int = field(metadata=U16)

    def _check(self) -> None:
        _check_range(self, "x_min", "x_max")
        _check_range(self, "y_min", "y_max")


LightXylGet.RESPONSE = LightXylStatus
LightXylTargetGet.RESPONSE = LightXylTargetStatus
LightXylDefaultGet.RESPONSE = LightXylDefaultStatus
LightXylRangeGet.RESPONSE = LightXylRangeStatus
