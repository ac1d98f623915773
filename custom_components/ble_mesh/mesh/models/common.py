"""Value types shared by the model messages.

* :class:`TransitionTime` — the Generic Default Transition Time format (MshMDL 1.1 §3.1.3):
  6-bit number of steps and 2-bit step resolution (100 ms, 1 s, 10 s, 10 min); 0x3F steps
  means "unknown".
* :class:`TidCounter` — transaction identifiers (MshMDL 1.1 §3.2, TID fields): a new TID per new
  transaction, the same TID for its retransmissions.
* :class:`ModelId` — SIG (16-bit) or vendor (company ID + 16-bit) model identifiers
  (MshPRT 1.1 §4.2.2.1, §3.7.4).
* :class:`Retransmit` and :class:`PublishPeriod` — the packed count/interval octets of the
  configuration states (MshPRT 1.1 §4.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from custom_components.ble_mesh.mesh.access import Codec, JsonValue, Reader, UInt, codec
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError

# ---------------------------------------------------------------------------------------------
# Transition time (MshMDL 1.1 §3.1.3)
# ---------------------------------------------------------------------------------------------


class StepResolution(IntEnum):
    """Default Transition Step Resolution (MshMDL 1.1 Table 3.3)."""

    MS_100 = 0b00
    S_1 = 0b01
    S_10 = 0b10
    MIN_10 = 0b11


STEP_SECONDS: dict[StepResolution, float] = {
    StepResolution.MS_100: 0.1,
    StepResolution.S_1: 1.0,
    StepResolution.S_10: 10.0,
    StepResolution.MIN_10: 600.0,
}
TRANSITION_STEPS_MAX = 0x3E
TRANSITION_STEPS_UNKNOWN = 0x3F
TRANSITION_SECONDS_MAX = TRANSITION_STEPS_MAX * 600.0  # 620 minutes
# MshMDL 1.1 §3.2.1.2: the Delay field counts 5 ms steps.
DELAY_STEP_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class TransitionTime:
    """A transition time: ``steps`` (0..0x3E, or 0x3F = unknown) of ``resolution``."""

    steps: int
    resolution: StepResolution = StepResolution.MS_100

    def __post_init__(self) -> None:
        if not 0 <= self.steps <= TRANSITION_STEPS_UNKNOWN:
            raise UsageError("transition steps must be 0..0x3F")
        if not isinstance(self.resolution, StepResolution):
            raise UsageError("resolution must be a StepResolution")

    @classmethod
    def from_byte(cls, value: int) -> TransitionTime:
        """Decode the one-octet format."""
        return cls(value & 0x3F, StepResolution(value >> 6))

    def to_byte(self) -> int:
        """The one-octet format."""
        return int(self.resolution) << 6 | self.steps

    @property
    def is_unknown(self) -> bool:
        """Steps 0x3F: the element cannot tell (longer than 0x3E steps or undetermined)."""
        return self.steps == TRANSITION_STEPS_UNKNOWN

    @property
    def seconds(self) -> float | None:
        """The duration in seconds, or None if unknown."""
        if self.is_unknown:
            return None
        return round(self.steps * STEP_SECONDS[self.resolution], 3)

    @classmethod
    def from_seconds(cls, seconds: float) -> TransitionTime:
        """The finest resolution that can express ``seconds`` (rounded to its step)."""
        if not 0 <= seconds <= TRANSITION_SECONDS_MAX:
            raise UsageError(f"transition time must be 0..{TRANSITION_SECONDS_MAX:g} s")
        for resolution, step in STEP_SECONDS.items():
            steps = round(seconds / step)
            if steps <= TRANSITION_STEPS_MAX:
                return cls(steps, resolution)
        raise AssertionError("unreachable: 620 minutes fit the 10-minute resolution")

    def to_json(self) -> JsonValue:
        """JSON form: raw octet and seconds (None when unknown)."""
        return {"raw": self.to_byte(), "seconds": self.seconds}


IMMEDIATE = TransitionTime(0)
UNKNOWN_TRANSITION = TransitionTime(TRANSITION_STEPS_UNKNOWN)


def delay_steps(seconds: float) -> int:
    """A Delay field value (5 ms steps) for ``seconds`` (0..1.275 s)."""
    steps = round(seconds / DELAY_STEP_SECONDS)
    if not 0 <= steps <= 0xFF:
        raise UsageError("delay must be 0..1.275 s")
    return steps


@dataclass(frozen=True, slots=True)
class TransitionCodec(Codec):
    """One transition-time octet; ``allow_unknown`` permits 0x3F steps (status messages)."""

    allow_unknown: bool = False

    def encode(self, value: Any) -> bytes:
        return bytes([value.to_byte()])

    def decode(self, reader: Reader, field_name: str) -> Any:
        return TransitionTime.from_byte(reader.uint(1, field_name))

    def check(self, value: Any) -> str | None:
        if not isinstance(value, TransitionTime):
            return "must be a TransitionTime"
        if value.is_unknown and not self.allow_unknown:
            return "an unknown transition time (0x3F steps) is prohibited here"
        return None

    def to_json(self, value: Any) -> JsonValue:
        result: JsonValue = value.to_json()
        return result


TRANSITION = codec(TransitionCodec(), optional=True)
REMAINING_TIME = codec(TransitionCodec(allow_unknown=True), optional=True)
# The Delay octet (5 ms steps) that follows a Transition Time in Set messages.
DELAY = codec(UInt(1), optional=True)


# ---------------------------------------------------------------------------------------------
# TID (MshMDL 1.1 §3.2, Set messages)
# ---------------------------------------------------------------------------------------------


class TidCounter:
    """Transaction identifiers per destination.

    ``next(dst)`` starts a new transaction (the TID changes); the caller keeps the message
    built with that TID for its retransmissions, which is what lets the server recognise them
    (MshMDL 1.1: the same SRC, DST and TID within 6 s are the same transaction).
    """

    __slots__ = ("_last", "_start")

    def __init__(self, start: int = 0) -> None:
        if not 0 <= start <= 0xFF:
            raise UsageError("TID start must be 0..255")
        self._start = start
        self._last: dict[int, int] = {}

    def next(self, dst: int) -> int:
        """A new TID for ``dst`` (wraps after 255)."""
        last = self._last.get(dst)
        tid = self._start if last is None else (last + 1) & 0xFF
        self._last[dst] = tid
        return tid

    def current(self, dst: int) -> int | None:
        """The TID of the transaction in progress for ``dst``, if any."""
        return self._last.get(dst)


# ---------------------------------------------------------------------------------------------
# Model identifiers (MshPRT 1.1 §4.2.2.1)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelId:
    """A SIG model (``company_id`` None, 2 octets) or a vendor model (4 octets)."""

    model_id: int
    company_id: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.model_id <= 0xFFFF:
            raise UsageError("model ID must be 16 bits")
        if self.company_id is not None and not 0 <= self.company_id <= 0xFFFF:
            raise UsageError("company ID must be 16 bits")

    @property
    def is_vendor(self) -> bool:
        """True for a vendor model."""
        return self.company_id is not None

    def to_bytes(self) -> bytes:
        """Wire form: SIG model ID, or company ID then model ID, both little-endian."""
        if self.company_id is None:
            return self.model_id.to_bytes(2, "little")
        return self.company_id.to_bytes(2, "little") + self.model_id.to_bytes(2, "little")

    @classmethod
    def from_bytes(cls, raw: bytes) -> ModelId:
        """Decode 2 (SIG) or 4 (vendor) octets."""
        if len(raw) == 2:
            return cls(int.from_bytes(raw, "little"))
        if len(raw) == 4:
            return cls(int.from_bytes(raw[2:], "little"), int.from_bytes(raw[:2], "little"))
        raise DecodeError("ModelId", None, "a model identifier is 2 or 4 octets")

    def to_json(self) -> JsonValue:
        """``"1000"`` for a SIG model, ``"003f:002a"`` (company:model) for a vendor model."""
        if self.company_id is None:
            return f"{self.model_id:04x}"
        return f"{self.company_id:04x}:{self.model_id:04x}"


def sig_model(model_id: int) -> ModelId:
    """A SIG model identifier."""
    return ModelId(model_id)


def vendor_model(company_id: int, model_id: int) -> ModelId:
    """A vendor model identifier."""
    return ModelId(model_id, company_id)


@dataclass(frozen=True, slots=True)
class ModelIdCodec(Codec):
    """A model identifier: ``size`` 2 (SIG), 4 (vendor) or None (the last 2 or 4 octets)."""

    size: int | None = None

    def encode(self, value: Any) -> bytes:
        raw: bytes = value.to_bytes()
        return raw

    def decode(self, reader: Reader, field_name: str) -> Any:
        size = self.size
        if size is None:
            size = reader.remaining
            if size not in (2, 4):
                raise DecodeError(
                    reader.structure, field_name, "model identifier must be 2 or 4 octets"
                )
        return ModelId.from_bytes(reader.take(size, field_name))

    def check(self, value: Any) -> str | None:
        if not isinstance(value, ModelId):
            return "must be a ModelId"
        if self.size == 2 and value.is_vendor:
            return "must be a SIG model"
        if self.size == 4 and not value.is_vendor:
            return "must be a vendor model"
        return None

    def to_json(self, value: Any) -> JsonValue:
        result: JsonValue = value.to_json()
        return result


MODEL_ID = codec(ModelIdCodec())
SIG_MODEL_ID = codec(ModelIdCodec(2))
VENDOR_MODEL_ID = codec(ModelIdCodec(4))


# ---------------------------------------------------------------------------------------------
# Packed configuration octets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retransmit:
    """Transmit count (3 bits) and interval steps (5 bits): Network Transmit, Relay
    Retransmit and Publish Retransmit states (MshPRT 1.1 §4.2).

    Network and relay intervals are ``(steps + 1) * 10`` ms; publish retransmit intervals are
    ``(steps + 1) * 50`` ms.
    """

    count: int
    interval_steps: int

    def __post_init__(self) -> None:
        if not 0 <= self.count <= 7:
            raise UsageError("retransmit count must be 0..7")
        if not 0 <= self.interval_steps <= 31:
            raise UsageError("retransmit interval steps must be 0..31")

    def to_byte(self) -> int:
        """Count in bits 0-2, interval steps in bits 3-7."""
        return self.interval_steps << 3 | self.count

    @classmethod
    def from_byte(cls, value: int) -> Retransmit:
        """Decode the packed octet."""
        return cls(value & 0x07, value >> 3)

    def to_json(self) -> JsonValue:
        """JSON form."""
        return {"count": self.count, "interval_steps": self.interval_steps}


@dataclass(frozen=True, slots=True)
class RetransmitCodec(Codec):
    """One packed :class:`Retransmit` octet."""

    def encode(self, value: Any) -> bytes:
        return bytes([value.to_byte()])

    def decode(self, reader: Reader, field_name: str) -> Any:
        return Retransmit.from_byte(reader.uint(1, field_name))

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, Retransmit) else "must be a Retransmit"

    def to_json(self, value: Any) -> JsonValue:
        result: JsonValue = value.to_json()
        return result


RETRANSMIT = codec(RetransmitCodec())


@dataclass(frozen=True, slots=True)
class PublishPeriod:
    """Publish Period (MshPRT 1.1 §4.2, Model Publication): 6-bit steps, 2-bit resolution."""

    steps: int
    resolution: StepResolution = StepResolution.MS_100

    def __post_init__(self) -> None:
        if not 0 <= self.steps <= 0x3F:
            raise UsageError("publish period steps must be 0..63")
        if not isinstance(self.resolution, StepResolution):
            raise UsageError("resolution must be a StepResolution")

    def to_byte(self) -> int:
        """Steps in bits 0-5, resolution in bits 6-7."""
        return int(self.resolution) << 6 | self.steps

    @classmethod
    def from_byte(cls, value: int) -> PublishPeriod:
        """Decode the packed octet."""
        return cls(value & 0x3F, StepResolution(value >> 6))

    @property
    def seconds(self) -> float:
        """The period in seconds (0 when periodic publishing is off)."""
        return round(self.steps * STEP_SECONDS[self.resolution], 3)

    def to_json(self) -> JsonValue:
        """JSON form."""
        return {"raw": self.to_byte(), "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class PublishPeriodCodec(Codec):
    """One packed :class:`PublishPeriod` octet."""

    def encode(self, value: Any) -> bytes:
        return bytes([value.to_byte()])

    def decode(self, reader: Reader, field_name: str) -> Any:
        return PublishPeriod.from_byte(reader.uint(1, field_name))

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, PublishPeriod) else "must be a PublishPeriod"

    def to_json(self, value: Any) -> JsonValue:
        result: JsonValue = value.to_json()
        return result


PUBLISH_PERIOD = codec(PublishPeriodCodec())
