"""Sensor messages (MshMDL 1.1 §4.2) and the Sensor states they carry (MshMDL 1.1 §4.1).

A sensor is identified by a Sensor Property ID (a Mesh Device Property, MshDP); 0x0000 is
prohibited. What the raw values mean is the property's business (see ``properties.py``): these
messages carry them as octets.

* Sensor Descriptor (§4.1.1): property ID, positive and negative tolerance (12 bits each),
  sampling function, measurement period and update interval: 8 octets, packed little-endian.
* Sensor Data (§4.1.4) travels as Marshalled Sensor Data (§4.2.14): each value is preceded by a
  Marshalled Property ID. Format A (format bit 0) is 2 octets: 4-bit length-1 and an 11-bit
  property ID; Format B (format bit 1) is 3 octets: 7-bit length-1 (0x7F meaning a zero-length
  value: the element has no such sensor) and a 16-bit property ID. The format bit is the least
  significant bit of the first octet.
* Sensor Cadence (§4.1.3): the fast cadence divisor and status trigger; its delta and cadence
  bounds have the size of the property's value (deltas are 2-octet percentages when the trigger
  type says so), so the octets alone tell every size.
* Sensor Column and Series values (§4.1.5) have property-dependent sizes: their raw values are
  kept as one octet string here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Self

from custom_components.ble_mesh.mesh.access import (
    Codec,
    EnumField,
    InvalidFieldError,
    JsonValue,
    Message,
    Reader,
    Tail,
    U16List,
    UInt,
    codec,
    register,
)
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError

# MshMDL 1.1 §4.1.1.1: Sensor Property ID 0x0000 is prohibited.
PROPERTY_ID = codec(UInt(2, lo=1))

# --------------------------------------------------------------------------------------------
# Sensor Descriptor (MshMDL 1.1 §4.1.1)
# --------------------------------------------------------------------------------------------

TOLERANCE_MAX = 0xFFF  # §4.1.1.2/§4.1.1.3: 12 bits; 0 = unspecified, else n / 4095 * 100 %
DESCRIPTOR_SIZE = 8


class SamplingFunction(IntEnum):
    """Sensor Sampling Function (MshMDL 1.1 §4.1.1.4, Table 4.4); 0x08-0xFF are RFU."""

    UNSPECIFIED = 0x00
    INSTANTANEOUS = 0x01
    ARITHMETIC_MEAN = 0x02
    RMS = 0x03
    MAXIMUM = 0x04
    MINIMUM = 0x05
    ACCUMULATED = 0x06
    COUNT = 0x07


@dataclass(frozen=True, slots=True)
class SensorDescriptor:
    """One Sensor Descriptor state (§4.1.1); periods are the 1.1^(n-64) s log encoding."""

    property_id: int
    positive_tolerance: int = 0
    negative_tolerance: int = 0
    sampling_function: SamplingFunction = SamplingFunction.UNSPECIFIED
    measurement_period: int = 0  # §4.1.1.5: 0 = not applicable
    update_interval: int = 0  # §4.1.1.6: 0 = not applicable

    def __post_init__(self) -> None:
        if not 1 <= self.property_id <= 0xFFFF:
            raise UsageError("sensor property ID must be 0x0001..0xFFFF")
        for tolerance in (self.positive_tolerance, self.negative_tolerance):
            if not 0 <= tolerance <= TOLERANCE_MAX:
                raise UsageError("sensor tolerance must be 12 bits")
        if not isinstance(self.sampling_function, SamplingFunction):
            raise UsageError("sampling_function must be a SamplingFunction")
        for octet in (self.measurement_period, self.update_interval):
            if not 0 <= octet <= 0xFF:
                raise UsageError("measurement period and update interval are one octet")

    def to_bytes(self) -> bytes:
        """The 8-octet wire form."""
        tolerances = self.positive_tolerance | self.negative_tolerance << 12
        return (
            self.property_id.to_bytes(2, "little")
            + tolerances.to_bytes(3, "little")
            + bytes([self.sampling_function, self.measurement_period, self.update_interval])
        )

    @classmethod
    def decode(cls, reader: Reader, field_name: str) -> SensorDescriptor:
        """Read one descriptor; a prohibited ID or a reserved function is a DecodeError."""
        property_id = reader.uint(2, field_name)
        if property_id == 0:
            raise DecodeError(reader.structure, field_name, "property ID 0x0000 is prohibited")
        tolerances = reader.uint(3, field_name)
        function, period, interval = reader.take(3, field_name)
        try:
            sampling = SamplingFunction(function)
        except ValueError:
            raise DecodeError(
                reader.structure, field_name, f"sampling function 0x{function:02x} is reserved"
            ) from None
        return cls(property_id, tolerances & 0xFFF, tolerances >> 12, sampling, period, interval)

    def to_json(self) -> JsonValue:
        """JSON form for ``describe``."""
        return {
            "property_id": self.property_id,
            "positive_tolerance": self.positive_tolerance,
            "negative_tolerance": self.negative_tolerance,
            "sampling_function": self.sampling_function.name,
            "measurement_period": self.measurement_period,
            "update_interval": self.update_interval,
        }


@dataclass(frozen=True, slots=True)
class DescriptorList(Codec):
    """Every remaining octet as 8-octet Sensor Descriptors (§4.2.2)."""

    def encode(self, value: Any) -> bytes:
        return b"".join(d.to_bytes() for d in value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        if reader.remaining % DESCRIPTOR_SIZE:
            raise DecodeError(
                reader.structure, field_name, f"{reader.remaining} octets are no descriptor list"
            )
        out = []
        while reader.remaining:
            out.append(SensorDescriptor.decode(reader, field_name))
        return tuple(out)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, tuple) or not all(isinstance(d, SensorDescriptor) for d in value):
            return "must be a tuple of SensorDescriptor"
        return None

    def to_json(self, value: Any) -> JsonValue:
        return [d.to_json() for d in value]


# --------------------------------------------------------------------------------------------
# Marshalled Sensor Data (MshMDL 1.1 §4.2.14)
# --------------------------------------------------------------------------------------------

FORMAT_A_MAX_ID = 0x7FF  # 11 bits
FORMAT_A_MAX_LENGTH = 16  # 4-bit length-1
FORMAT_B_MAX_LENGTH = 127  # 7-bit length-1; 0x7F stands for zero
FORMAT_B_ZERO_LENGTH = 0x7F


@dataclass(frozen=True, slots=True)
class SensorData:
    """One entry of the Sensor Data state: a property ID and its raw value.

    An empty ``raw`` is how a server says it has no sensor of that property (§4.2.14: only
    Format B can express it). ``format_b`` records the encoding used on the air; the builder
    picks Format A whenever it fits.
    """

    property_id: int
    raw: bytes
    format_b: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.property_id <= 0xFFFF:
            raise UsageError("sensor property ID must be 0x0001..0xFFFF")
        if not isinstance(self.raw, bytes):
            raise UsageError("raw must be bytes")
        if self.format_b:
            if len(self.raw) > FORMAT_B_MAX_LENGTH:
                raise UsageError(f"Format B carries at most {FORMAT_B_MAX_LENGTH} octets")
        elif self.property_id > FORMAT_A_MAX_ID or not 1 <= len(self.raw) <= FORMAT_A_MAX_LENGTH:
            raise UsageError("Format A needs an 11-bit property ID and 1..16 octets")

    @classmethod
    def of(cls, property_id: int, raw: bytes) -> SensorData:
        """The entry in Format A when it fits, else Format B."""
        fits_a = property_id <= FORMAT_A_MAX_ID and 1 <= len(raw) <= FORMAT_A_MAX_LENGTH
        return cls(property_id, bytes(raw), format_b=not fits_a)

    def to_bytes(self) -> bytes:
        """Marshalled Property ID followed by the raw value."""
        if self.format_b:
            length = FORMAT_B_ZERO_LENGTH if not self.raw else len(self.raw) - 1
            return bytes([1 | length << 1]) + self.property_id.to_bytes(2, "little") + self.raw
        header = (len(self.raw) - 1) << 1 | self.property_id << 5
        return header.to_bytes(2, "little") + self.raw


def parse_sensor_data(data: bytes, structure: str, field_name: str) -> tuple[SensorData, ...]:
    """Split Marshalled Sensor Data into entries; malformed data raises DecodeError."""
    reader = Reader(data, structure)
    entries: list[SensorData] = []
    while reader.remaining:
        first = reader.take(1, field_name)[0]
        if first & 1:  # Format B
            length_field = first >> 1
            length = 0 if length_field == FORMAT_B_ZERO_LENGTH else length_field + 1
            property_id = reader.uint(2, field_name)
            format_b = True
        else:
            header = first | reader.take(1, field_name)[0] << 8
            length = (header >> 1 & 0xF) + 1
            property_id = header >> 5
            format_b = False
        if property_id == 0:
            raise DecodeError(structure, field_name, "property ID 0x0000 is prohibited")
        entries.append(SensorData(property_id, reader.take(length, field_name), format_b))
    if not entries:
        # §4.1.4: the Sensor Data state is a sequence of one or more property values.
        raise DecodeError(structure, field_name, "no sensor data")
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class MarshalledSensorData(Codec):
    """Every remaining octet, which must parse as Marshalled Sensor Data (§4.2.14)."""

    def encode(self, value: Any) -> bytes:
        return bytes(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        raw = reader.rest()
        parse_sensor_data(raw, reader.structure, field_name)
        return raw

    def check(self, value: Any) -> str | None:
        if not isinstance(value, bytes):
            return "must be bytes"
        try:
            parse_sensor_data(value, "SensorStatus", "data")
        except DecodeError as err:
            return err.reason
        return None


# --------------------------------------------------------------------------------------------
# Sensor Cadence (MshMDL 1.1 §4.1.3)
# --------------------------------------------------------------------------------------------

PERIOD_DIVISOR_MAX = 15  # §4.1.3.1: 16-127 are prohibited
MIN_INTERVAL_MAX = 26  # §4.1.3.5: 27-255 are prohibited
PERCENT_DELTA_SIZE = 2  # §4.1.3.3: a unitless percentage, 0.01 % steps


class StatusTriggerType(IntEnum):
    """Status Trigger Type (MshMDL 1.1 §4.1.3.2)."""

    VALUE = 0  # deltas in the property's own format
    PERCENT = 1  # deltas as a 2-octet percentage of the value


@dataclass(frozen=True, slots=True)
class SensorCadence:
    """The Sensor Cadence state of one property (§4.1.3), raw values as octets."""

    period_divisor: int
    trigger_type: StatusTriggerType
    delta_down: bytes
    delta_up: bytes
    min_interval: int
    fast_cadence_low: bytes
    fast_cadence_high: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.period_divisor <= PERIOD_DIVISOR_MAX:
            raise UsageError(f"fast cadence period divisor must be 0..{PERIOD_DIVISOR_MAX}")
        if not isinstance(self.trigger_type, StatusTriggerType):
            raise UsageError("trigger_type must be a StatusTriggerType")
        if not 0 <= self.min_interval <= MIN_INTERVAL_MAX:
            raise UsageError(f"status min interval must be 0..{MIN_INTERVAL_MAX}")
        size = len(self.fast_cadence_low)
        delta = PERCENT_DELTA_SIZE if self.trigger_type is StatusTriggerType.PERCENT else size
        if size == 0 or len(self.fast_cadence_high) != size:
            raise UsageError("fast cadence low and high must be one non-empty value size")
        if len(self.delta_down) != delta or len(self.delta_up) != delta:
            raise UsageError(f"trigger deltas must be {delta} octets")

    def to_bytes(self) -> bytes:
        """The wire form after the property ID (§4.2.4)."""
        return (
            bytes([self.period_divisor | self.trigger_type << 7])
            + self.delta_down
            + self.delta_up
            + bytes([self.min_interval])
            + self.fast_cadence_low
            + self.fast_cadence_high
        )

    @classmethod
    def decode(cls, reader: Reader, field_name: str) -> SensorCadence:
        """Read every remaining octet; sizes follow from the total length."""
        first = reader.take(1, field_name)[0]
        trigger = StatusTriggerType(first >> 7)
        rest = reader.remaining - 1  # the min interval octet
        if trigger is StatusTriggerType.PERCENT:
            delta, double = PERCENT_DELTA_SIZE, rest - 2 * PERCENT_DELTA_SIZE
            size = double // 2
            fits = double > 0 and double % 2 == 0
        else:
            size = delta = rest // 4
            fits = rest > 0 and rest % 4 == 0
        if not fits:
            raise DecodeError(reader.structure, field_name, "cadence values of unequal sizes")
        down, up = reader.take(delta, field_name), reader.take(delta, field_name)
        interval = reader.take(1, field_name)[0]
        low, high = reader.take(size, field_name), reader.take(size, field_name)
        try:
            return cls(first & 0x7F, trigger, down, up, interval, low, high)
        except UsageError as err:
            raise DecodeError(reader.structure, field_name, str(err)) from None

    def to_json(self) -> JsonValue:
        """JSON form for ``describe``."""
        return {
            "period_divisor": self.period_divisor,
            "trigger_type": self.trigger_type.name,
            "delta_down": self.delta_down.hex(),
            "delta_up": self.delta_up.hex(),
            "min_interval": self.min_interval,
            "fast_cadence_low": self.fast_cadence_low.hex(),
            "fast_cadence_high": self.fast_cadence_high.hex(),
        }


@dataclass(frozen=True, slots=True)
class CadenceCodec(Codec):
    """Every remaining octet as a :class:`SensorCadence`."""

    def encode(self, value: Any) -> bytes:
        return bytes(value.to_bytes())

    def decode(self, reader: Reader, field_name: str) -> Any:
        return SensorCadence.decode(reader, field_name)

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, SensorCadence) else "must be a SensorCadence"


CADENCE = codec(CadenceCodec())

# --------------------------------------------------------------------------------------------
# Sensor Setting (MshMDL 1.1 §4.1.2)
# --------------------------------------------------------------------------------------------


class SettingAccess(IntEnum):
    """Sensor Setting Access (MshMDL 1.1 §4.1.2.3); other values are prohibited."""

    READ = 0x01
    READ_WRITE = 0x03


# --------------------------------------------------------------------------------------------
# Messages (MshMDL 1.1 §4.2)
# --------------------------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class SensorDescriptorStatus(Message):
    """Sensor Descriptor Status (§4.2.2).

    Either the descriptors (zero or more) or, when the requested property has no sensor on
    the element, only that property ID (``missing_property_id``).
    """

    OPCODE: ClassVar[int] = 0x51
    descriptors: tuple[SensorDescriptor, ...] = field(default=(), metadata=codec(DescriptorList()))
    missing_property_id: int | None = field(
        default=None, metadata=codec(UInt(2, lo=1), optional=True)
    )

    def _check(self) -> None:
        if self.missing_property_id is not None and self.descriptors:
            raise InvalidFieldError(self.name, "descriptors", "a missing property carries none")
        if self.missing_property_id is None and not self.descriptors:
            # §4.2.2: "a sequence of 1 or more Sensor Descriptor states" (or the one ID).
            raise InvalidFieldError(self.name, "descriptors", "no descriptor")

    def to_bytes(self) -> bytes:
        if self.missing_property_id is not None:
            return self.missing_property_id.to_bytes(2, "little")
        return DescriptorList().encode(self.descriptors)

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        reader = Reader(params, cls.__name__)
        if len(params) == 2:
            missing = reader.uint(2, "missing_property_id")
            return cls.build({"missing_property_id": missing})
        return cls.build({"descriptors": DescriptorList().decode(reader, "descriptors")})


@register
@dataclass(frozen=True, slots=True)
class SensorDescriptorGet(Message):
    """Sensor Descriptor Get (§4.2.1): one property, or every sensor without one."""

    OPCODE: ClassVar[int] = 0x8230
    RESPONSE: ClassVar[type[Message] | None] = SensorDescriptorStatus
    property_id: int | None = field(default=None, metadata=codec(UInt(2, lo=1), optional=True))


@register
@dataclass(frozen=True, slots=True)
class SensorStatus(Message):
    """Sensor Status (§4.2.14): Marshalled Sensor Data, see :meth:`entries`/:meth:`of`."""

    OPCODE: ClassVar[int] = 0x52
    data: bytes = field(metadata=codec(MarshalledSensorData()))

    def entries(self) -> tuple[SensorData, ...]:
        """The Sensor Data entries, in the order the server sent them."""
        return parse_sensor_data(self.data, self.name, "data")

    def values(self) -> list[tuple[int, bytes]]:
        """``(property_id, raw value)`` pairs; an empty value means "no such sensor"."""
        return [(e.property_id, e.raw) for e in self.entries()]

    @classmethod
    def of(cls, values: Iterable[tuple[int, bytes] | SensorData]) -> SensorStatus:
        """Build from ``(property_id, raw)`` pairs (Format A where it fits) or entries."""
        entries = [v if isinstance(v, SensorData) else SensorData.of(*v) for v in values]
        if not entries:
            raise UsageError("a Sensor Status carries at least one property")
        return cls(b"".join(e.to_bytes() for e in entries))


@register
@dataclass(frozen=True, slots=True)
class SensorGet(Message):
    """Sensor Get (§4.2.13): one property, or every sensor of the element without one."""

    OPCODE: ClassVar[int] = 0x8231
    RESPONSE: ClassVar[type[Message] | None] = SensorStatus
    property_id: int | None = field(default=None, metadata=codec(UInt(2, lo=1), optional=True))


@register
@dataclass(frozen=True, slots=True)
class SensorColumnStatus(Message):
    """Sensor Column Status (§4.2.16): Raw Value X [+ Column Width + Raw Value Y] as octets."""

    OPCODE: ClassVar[int] = 0x53
    property_id: int = field(metadata=PROPERTY_ID)
    column: bytes = field(metadata=codec(Tail(min_size=1)))


@register
@dataclass(frozen=True, slots=True)
class SensorColumnGet(Message):
    """Sensor Column Get (§4.2.15): the column starting at Raw Value X."""

    OPCODE: ClassVar[int] = 0x8232
    RESPONSE: ClassVar[type[Message] | None] = SensorColumnStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id",)
    property_id: int = field(metadata=PROPERTY_ID)
    raw_value_x: bytes = field(metadata=codec(Tail(min_size=1)))


@register
@dataclass(frozen=True, slots=True)
class SensorSeriesStatus(Message):
    """Sensor Series Status (§4.2.18): (Raw X, Column Width, Raw Y) triples as octets."""

    OPCODE: ClassVar[int] = 0x54
    property_id: int = field(metadata=PROPERTY_ID)
    columns: bytes = field(default=b"", metadata=codec(Tail()))


@register
@dataclass(frozen=True, slots=True)
class SensorSeriesGet(Message):
    """Sensor Series Get (§4.2.17): optional Raw Value X1 and X2 bounds as octets."""

    OPCODE: ClassVar[int] = 0x8233
    RESPONSE: ClassVar[type[Message] | None] = SensorSeriesStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id",)
    property_id: int = field(metadata=PROPERTY_ID)
    bounds: bytes = field(default=b"", metadata=codec(Tail()))


@register
@dataclass(frozen=True, slots=True)
class SensorCadenceStatus(Message):
    """Sensor Cadence Status (§4.2.6); the cadence is absent for a property without one."""

    OPCODE: ClassVar[int] = 0x57
    property_id: int = field(metadata=PROPERTY_ID)
    cadence: SensorCadence | None = field(
        default=None, metadata=codec(CadenceCodec(), optional=True)
    )


@register
@dataclass(frozen=True, slots=True)
class SensorCadenceGet(Message):
    """Sensor Cadence Get (§4.2.3)."""

    OPCODE: ClassVar[int] = 0x8234
    RESPONSE: ClassVar[type[Message] | None] = SensorCadenceStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id",)
    property_id: int = field(metadata=PROPERTY_ID)


@register
@dataclass(frozen=True, slots=True)
class SensorCadenceSet(Message):
    """Sensor Cadence Set (§4.2.4)."""

    OPCODE: ClassVar[int] = 0x55
    RESPONSE: ClassVar[type[Message] | None] = SensorCadenceStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id",)
    property_id: int = field(metadata=PROPERTY_ID)
    cadence: SensorCadence = field(metadata=CADENCE)


@register
@dataclass(frozen=True, slots=True)
class SensorCadenceSetUnacknowledged(Message):
    """Sensor Cadence Set Unacknowledged (§4.2.5)."""

    OPCODE: ClassVar[int] = 0x56
    property_id: int = field(metadata=PROPERTY_ID)
    cadence: SensorCadence = field(metadata=CADENCE)


@register
@dataclass(frozen=True, slots=True)
class SensorSettingsStatus(Message):
    """Sensor Settings Status (§4.2.8): the setting property IDs of one sensor."""

    OPCODE: ClassVar[int] = 0x58
    property_id: int = field(metadata=PROPERTY_ID)
    setting_property_ids: tuple[int, ...] = field(
        default=(), metadata=codec(U16List(exclude=frozenset({0})))
    )


@register
@dataclass(frozen=True, slots=True)
class SensorSettingsGet(Message):
    """Sensor Settings Get (§4.2.7)."""

    OPCODE: ClassVar[int] = 0x8235
    RESPONSE: ClassVar[type[Message] | None] = SensorSettingsStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id",)
    property_id: int = field(metadata=PROPERTY_ID)


@register
@dataclass(frozen=True, slots=True)
class SensorSettingStatus(Message):
    """Sensor Setting Status (§4.2.12); access and raw value absent for an unknown setting."""

    OPCODE: ClassVar[int] = 0x5B
    property_id: int = field(metadata=PROPERTY_ID)
    setting_property_id: int = field(metadata=PROPERTY_ID)
    access: SettingAccess | None = field(
        default=None, metadata=codec(EnumField(SettingAccess), optional=True)
    )
    raw: bytes | None = field(default=None, metadata=codec(Tail(), optional=True))


@register
@dataclass(frozen=True, slots=True)
class SensorSettingGet(Message):
    """Sensor Setting Get (§4.2.9)."""

    OPCODE: ClassVar[int] = 0x8236
    RESPONSE: ClassVar[type[Message] | None] = SensorSettingStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id", "setting_property_id")
    property_id: int = field(metadata=PROPERTY_ID)
    setting_property_id: int = field(metadata=PROPERTY_ID)


@register
@dataclass(frozen=True, slots=True)
class SensorSettingSet(Message):
    """Sensor Setting Set (§4.2.10)."""

    OPCODE: ClassVar[int] = 0x59
    RESPONSE: ClassVar[type[Message] | None] = SensorSettingStatus
    ECHO: ClassVar[tuple[str, ...]] = ("property_id", "setting_property_id")
    property_id: int = field(metadata=PROPERTY_ID)
    setting_property_id: int = field(metadata=PROPERTY_ID)
    raw: bytes = field(metadata=codec(Tail(min_size=1)))


@register
@dataclass(frozen=True, slots=True)
class SensorSettingSetUnacknowledged(Message):
    """Sensor Setting Set Unacknowledged (§4.2.11)."""

    OPCODE: ClassVar[int] = 0x5A
    property_id: int = field(metadata=PROPERTY_ID)
    setting_property_id: int = field(metadata=PROPERTY_ID)
    raw: bytes = field(metadata=codec(Tail(min_size=1)))


__all__ = [
    "DESCRIPTOR_SIZE",
    "PROPERTY_ID",
    "CadenceCodec",
    "DescriptorList",
    "MarshalledSensorData",
    "SamplingFunction",
    "SensorCadence",
    "SensorCadenceGet",
    "SensorCadenceSet",
    "SensorCadenceSetUnacknowledged",
    "SensorCadenceStatus",
    "SensorColumnGet",
    "SensorColumnStatus",
    "SensorData",
    "SensorDescriptor",
    "SensorDescriptorGet",
    "SensorDescriptorStatus",
    "SensorGet",
    "SensorSeriesGet",
    "SensorSeriesStatus",
    "SensorSettingGet",
    "SensorSettingSet",
    "SensorSettingSetUnacknowledged",
    "SensorSettingStatus",
    "SensorSettingsGet",
    "SensorSettingsStatus",
    "SensorStatus",
    "SettingAccess",
    "StatusTriggerType",
    "parse_sensor_data",
]
