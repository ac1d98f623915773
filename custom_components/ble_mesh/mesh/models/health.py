"""Health model messages (MshPRT 1.1 §4.3 messages, §4.4 Health Server and Client).

Faults are one octet each (MshPRT 1.1 §4.2 Health Fault state, Assigned Numbers); Current Status
and Fault Status share one layout: Test ID, Company ID, Fault Array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from custom_components.ble_mesh.mesh.access import U8, U16, Message, Tail, UInt, codec, register

# MshPRT 1.1 §4.2 (Health Period state): Fast Period Divisor 0..15; 16-255 are prohibited.
FAST_PERIOD_DIVISOR = codec(UInt(1, 0, 15))
COMPANY_ID = U16
FAULTS = codec(Tail())


@register
@dataclass(frozen=True, slots=True)
class HealthCurrentStatus(Message):
    """Health Current Status: the faults present now (published, unacknowledged)."""

    OPCODE: ClassVar[int] = 0x04
    test_id: int = field(metadata=U8)
    company_id: int = field(metadata=COMPANY_ID)
    faults: bytes = field(default=b"", metadata=FAULTS)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultStatus(Message):
    """Health Fault Status: the registered faults of the most recent test."""

    OPCODE: ClassVar[int] = 0x05
    test_id: int = field(metadata=U8)
    company_id: int = field(metadata=COMPANY_ID)
    faults: bytes = field(default=b"", metadata=FAULTS)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultGet(Message):
    """Health Fault Get."""

    OPCODE: ClassVar[int] = 0x8031
    RESPONSE: ClassVar[type[Message] | None] = HealthFaultStatus
    ECHO: ClassVar[tuple[str, ...]] = ("company_id",)
    company_id: int = field(metadata=COMPANY_ID)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultClear(Message):
    """Health Fault Clear."""

    OPCODE: ClassVar[int] = 0x802F
    RESPONSE: ClassVar[type[Message] | None] = HealthFaultStatus
    ECHO: ClassVar[tuple[str, ...]] = ("company_id",)
    company_id: int = field(metadata=COMPANY_ID)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultClearUnacknowledged(Message):
    """Health Fault Clear Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8030
    company_id: int = field(metadata=COMPANY_ID)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultTest(Message):
    """Health Fault Test."""

    OPCODE: ClassVar[int] = 0x8032
    RESPONSE: ClassVar[type[Message] | None] = HealthFaultStatus
    ECHO: ClassVar[tuple[str, ...]] = ("company_id",)
    test_id: int = field(metadata=U8)
    company_id: int = field(metadata=COMPANY_ID)


@register
@dataclass(frozen=True, slots=True)
class HealthFaultTestUnacknowledged(Message):
    """Health Fault Test Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8033
    test_id: int = field(metadata=U8)
    company_id: int = field(metadata=COMPANY_ID)


@register
@dataclass(frozen=True, slots=True)
class HealthPeriodStatus(Message):
    """Health Period Status."""

    OPCODE: ClassVar[int] = 0x8037
    fast_period_divisor: int = field(metadata=FAST_PERIOD_DIVISOR)


@register
@dataclass(frozen=True, slots=True)
class HealthPeriodGet(Message):
    """Health Period Get."""

    OPCODE: ClassVar[int] = 0x8034
    RESPONSE: ClassVar[type[Message] | None] = HealthPeriodStatus


@register
@dataclass(frozen=True, slots=True)
class HealthPeriodSet(Message):
    """Health Period Set."""

    OPCODE: ClassVar[int] = 0x8035
    RESPONSE: ClassVar[type[Message] | None] = HealthPeriodStatus
    fast_period_divisor: int = field(metadata=FAST_PERIOD_DIVISOR)


@register
@dataclass(frozen=True, slots=True)
class HealthPeriodSetUnacknowledged(Message):
    """Health Period Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8036
    fast_period_divisor: int = field(metadata=FAST_PERIOD_DIVISOR)


@register
@dataclass(frozen=True, slots=True)
class HealthAttentionStatus(Message):
    """Health Attention Status: remaining Attention Timer seconds."""

    OPCODE: ClassVar[int] = 0x8007
    attention: int = field(metadata=U8)


@register
@dataclass(frozen=True, slots=True)
class HealthAttentionGet(Message):
    """Health Attention Get."""

    OPCODE: ClassVar[int] = 0x8004
    RESPONSE: ClassVar[type[Message] | None] = HealthAttentionStatus


@register
@dataclass(frozen=True, slots=True)
class HealthAttentionSet(Message):
    """Health Attention Set: seconds of attention (0 switches it off)."""

    OPCODE: ClassVar[int] = 0x8005
    RESPONSE: ClassVar[type[Message] | None] = HealthAttentionStatus
    attention: int = field(metadata=U8)


@register
@dataclass(frozen=True, slots=True)
class HealthAttentionSetUnacknowledged(Message):
    """Health Attention Set Unacknowledged."""

    OPCODE: ClassVar[int] = 0x8006
    attention: int = field(metadata=U8)


__all__ = [
    "HealthAttentionGet",
    "HealthAttentionSet",
    "HealthAttentionSetUnacknowledged",
    "HealthAttentionStatus",
    "HealthCurrentStatus",
    "HealthFaultClear",
    "HealthFaultClearUnacknowledged",
    "HealthFaultGet",
    "HealthFaultStatus",
    "HealthFaultTest",
    "HealthFaultTestUnacknowledged",
    "HealthPeriodGet",
    "HealthPeriodSet",
    "HealthPeriodSetUnacknowledged",
    "HealthPeriodStatus",
]
