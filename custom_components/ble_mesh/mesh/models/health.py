"""Health model messages (MshPRT 1.1 §4.3 messages, §4.4 Health Server and Client).

Faults are one octet each (MshPRT 1.1 §4.2 Health Fault state, Assigned Numbers); Current Status
and Fault Status share one layout: Test ID, Company ID, Fault Array.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from custom_components.ble_mesh.mesh.access import U8, U16, Message, Tail, UInt, codec, register

_CONDITIONS = (
    "Battery Low",
    "Supply Voltage Too Low",
    "Supply Voltage Too High",
    "Power Supply Interrupted",
    "No Load",
    "Overload",
    "Overheat",
    "Condensation",
    "Vibration",
    "Configuration",
    "Element Not Calibrated",
    "Memory",
    "Self-Test",
    "Input Too Low",
    "Input Too High",
    "Input No Change",
    "Actuator Blocked",
    "Housing Opened",
    "Tamper",
    "Device Moved",
    "Device Dropped",
    "Overflow",
    "Empty",
    "Internal Bus",
    "Mechanism Jammed",
)
FAULT_NAMES: dict[int, str] = {
    code: f"{condition} {kind}"
    for index, condition in enumerate(_CONDITIONS)
    for code, kind in ((2 * index + 1, "Warning"), (2 * index + 2, "Error"))
}
"""The SIG fault values (Assigned Numbers, "Health Fault" values 0x01-0x32): a warning and an
error per condition. 0x00 is "No Fault"; 0x33-0x7F are reserved; 0x80-0xFF are the vendor's."""


def fault_name(code: int) -> str:
    """The name of a fault value; a reserved or vendor-specific value as its number."""
    return FAULT_NAMES.get(code, f"0x{code:02X}")


def fault_codes(faults: bytes) -> list[int]:
    """The faults of a Fault Array, "No Fault" (0x00) left out."""
    return [code for code in faults if code != 0x00]


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
    "FAULT_NAMES",
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
    "fault_codes",
    "fault_name",
]
