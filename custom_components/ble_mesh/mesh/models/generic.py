"""Generic models' messages (MshMDL 1.1 §3.2): OnOff, Level, Default Transition Time,
Power OnOff (OnPowerUp).

Set messages carry an optional Transition Time + Delay pair (MshMDL 1.1 §3.2.1.2): both
present or both absent. Here ``transition=None`` means absent, and ``delay`` (5 ms steps) must
then stay 0. Status messages carry an optional Target + Remaining Time pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from custom_components.ble_mesh.mesh.access import (
    BOOL,
    TID,
    EnumField,
    Flag,
    Message,
    SInt,
    codec,
    register,
)

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

__all__ = [
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
