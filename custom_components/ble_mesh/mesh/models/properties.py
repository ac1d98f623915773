"""Mesh Device Properties (MshDP 1.0 §4.1, property table) and the GATT characteristics that
give them their format (GSS, "Characteristic" sections; MshDP §2.3 says a property value is the
characteristic's value, little-endian).

Each :class:`DeviceProperty` knows its property ID, the characteristic it uses (size, signedness,
resolution), what it measures and the "value is not known" / "value is not valid" sentinels the
GSS reserves. ``decode`` turns raw octets into a number (``None`` when the sensor says it does
not know), ``encode`` does the reverse. :func:`decode_sensor_status` reads a whole
:class:`~.sensors.SensorStatus`, keeping the properties this table does not know.

Sources (checked against the GSS characteristic definitions and cross-checked with the
Nordic nRF Connect SDK ``sensor_types.c`` formats):

* Temperature 8: sint8, 0.5 °C, 0x7F = not known (range -64.0..63.0 °C).
* Humidity: uint16, 0.01 %, 0..10000, 0xFFFF = not known.
* Illuminance: uint24, 0.01 lx, 0xFFFFFF = not known.
* Percentage 8: uint8, 0.5 %, 0..200, 0xFF = not known (201..254 prohibited).
* Count 16: uint16, 0xFFFF = not known.
* Power: uint24, 0.1 W, 0xFFFFFF = not known.
* Energy: uint24, 1 kWh, 0xFFFFFF = not known.
* Energy32: uint32, 0.001 kWh, 0xFFFFFFFE = not valid, 0xFFFFFFFF = not known.
* CO2 Concentration: uint16, 1 ppm, 0xFFFE = 65534 ppm or greater, 0xFFFF = not known.
* Voltage: uint16, 1/64 V, 0xFFFF = not known.
* Electric Current: uint16, 0.01 A, 0xFFFF = not known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError

from .sensors import SensorStatus

type PropertyValue = int | float | None


class Quantity(StrEnum):
    """What a property measures (the integration maps it to a sensor device class)."""

    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    ILLUMINANCE = "illuminance"
    MOTION = "motion"
    COUNT = "count"
    POWER = "power"
    ENERGY = "energy"
    CO2 = "co2"
    VOLTAGE = "voltage"
    CURRENT = "current"


@dataclass(frozen=True, slots=True)
class DeviceProperty:
    """One Mesh Device Property: ``value = raw / divisor``; sentinels decode to None.

    ``not_known`` and ``not_valid`` are the GSS special raw values (both read as None: the
    sensor has no usable value). ``maximum`` is the largest raw value that is a measurement;
    raw values above it other than the sentinels are prohibited.
    """

    property_id: int
    name: str
    characteristic: str
    quantity: Quantity
    unit: str
    size: int
    divisor: int = 1
    signed: bool = False
    maximum: int | None = None
    not_known: int | None = None
    not_valid: int | None = None
    minimum: int = field(init=False)

    def __post_init__(self) -> None:
        bits = 8 * self.size
        object.__setattr__(self, "minimum", -(1 << (bits - 1)) if self.signed else 0)
        if self.maximum is None:
            top = (1 << (bits - 1)) - 1 if self.signed else (1 << bits) - 1
            sentinels = [s for s in (self.not_known, self.not_valid) if s is not None]
            object.__setattr__(self, "maximum", min([top + 1, *sentinels]) - 1)

    @property
    def sentinels(self) -> frozenset[int]:
        """Raw values that mean "no value"."""
        return frozenset(s for s in (self.not_known, self.not_valid) if s is not None)

    def decode(self, raw: bytes) -> PropertyValue:
        """The value of ``raw``; wrong length or a prohibited value raises DecodeError."""
        if len(raw) != self.size:
            raise DecodeError(
                "DeviceProperty", self.name, f"needs {self.size} octets, got {len(raw)}"
            )
        value = int.from_bytes(raw, "little", signed=self.signed)
        if value in self.sentinels:
            return None
        if not self.minimum <= value <= self._maximum:
            raise DecodeError("DeviceProperty", self.name, f"raw value {value} is prohibited")
        return value if self.divisor == 1 else value / self.divisor

    def encode(self, value: PropertyValue) -> bytes:
        """Raw octets for ``value`` (rounded to the resolution); None encodes "not known"."""
        if value is None:
            if self.not_known is None:
                raise UsageError(f"{self.name} has no 'value is not known'")
            return self.not_known.to_bytes(self.size, "little", signed=self.signed)
        raw = round(value * self.divisor)
        if not self.minimum <= raw <= self._maximum:
            raise UsageError(f"{value} {self.unit} is outside the range of {self.name}")
        return raw.to_bytes(self.size, "little", signed=self.signed)

    @property
    def _maximum(self) -> int:
        assert self.maximum is not None  # set in __post_init__
        return self.maximum


# The property IDs (MshDP 1.0 §4.1, the property table) of the properties below.
MOTION_SENSED: Final = 0x0042
PEOPLE_COUNT: Final = 0x004C
PRESENT_AMBIENT_LIGHT_LEVEL: Final = 0x004E
PRESENT_AMBIENT_TEMPERATURE: Final = 0x004F
PRESENT_DEVICE_INPUT_POWER: Final = 0x0052
PRESENT_INPUT_CURRENT: Final = 0x0057
PRESENT_INPUT_VOLTAGE: Final = 0x0059
TOTAL_DEVICE_ENERGY_USE: Final = 0x006A
PRECISE_TOTAL_DEVICE_ENERGY_USE: Final = 0x0072
PRESENT_AMBIENT_RELATIVE_HUMIDITY: Final = 0x0076
PRESENT_AMBIENT_CO2_CONCENTRATION: Final = 0x0077

# MshDP 1.0 §4.1 (property table: ID, characteristic); GSS for the characteristic formats.
PROPERTY_LIST: tuple[DeviceProperty, ...] = (
    DeviceProperty(
        MOTION_SENSED,
        "Motion Sensed",
        "Percentage 8",
        Quantity.MOTION,
        "%",
        size=1,
        divisor=2,
        maximum=200,
        not_known=0xFF,
    ),
    DeviceProperty(
        PEOPLE_COUNT,
        "People Count",
        "Count 16",
        Quantity.COUNT,
        "",
        size=2,
        not_known=0xFFFF,
    ),
    DeviceProperty(
        PRESENT_AMBIENT_LIGHT_LEVEL,
        "Present Ambient Light Level",
        "Illuminance",
        Quantity.ILLUMINANCE,
        "lx",
        size=3,
        divisor=100,
        not_known=0xFFFFFF,
    ),
    DeviceProperty(
        PRESENT_AMBIENT_TEMPERATURE,
        "Present Ambient Temperature",
        "Temperature 8",
        Quantity.TEMPERATURE,
        "°C",
        size=1,
        divisor=2,
        signed=True,
        not_known=0x7F,
    ),
    DeviceProperty(
        PRESENT_DEVICE_INPUT_POWER,
        "Present Device Input Power",
        "Power",
        Quantity.POWER,
        "W",
        size=3,
        divisor=10,
        not_known=0xFFFFFF,
    ),
    DeviceProperty(
        PRESENT_INPUT_CURRENT,
        "Present Input Current",
        "Electric Current",
        Quantity.CURRENT,
        "A",
        size=2,
        divisor=100,
        not_known=0xFFFF,
    ),
    DeviceProperty(
        PRESENT_INPUT_VOLTAGE,
        "Present Input Voltage",
        "Voltage",
        Quantity.VOLTAGE,
        "V",
        size=2,
        divisor=64,
        not_known=0xFFFF,
    ),
    DeviceProperty(
        TOTAL_DEVICE_ENERGY_USE,
        "Total Device Energy Use",
        "Energy",
        Quantity.ENERGY,
        "kWh",
        size=3,
        not_known=0xFFFFFF,
    ),
    DeviceProperty(
        PRECISE_TOTAL_DEVICE_ENERGY_USE,
        "Precise Total Device Energy Use",
        "Energy32",
        Quantity.ENERGY,
        "kWh",
        size=4,
        divisor=1000,
        not_known=0xFFFFFFFF,
        not_valid=0xFFFFFFFE,
    ),
    DeviceProperty(
        PRESENT_AMBIENT_RELATIVE_HUMIDITY,
        "Present Ambient Relative Humidity",
        "Humidity",
        Quantity.HUMIDITY,
        "%",
        size=2,
        divisor=100,
        maximum=10000,
        not_known=0xFFFF,
    ),
    # MshDP names it "Present Ambient Carbon Dioxide Concentration"; 0xFFFE reads as
    # 65534 ppm, which the GSS defines as "65534 ppm or greater".
    DeviceProperty(
        PRESENT_AMBIENT_CO2_CONCENTRATION,
        "Present Ambient Carbon Dioxide Concentration",
        "CO2 Concentration",
        Quantity.CO2,
        "ppm",
        size=2,
        not_known=0xFFFF,
    ),
)

PROPERTIES: dict[int, DeviceProperty] = {p.property_id: p for p in PROPERTY_LIST}
"""The Mesh Device Properties the engine can read, by property ID."""


def decode_value(property_id: int, raw: bytes) -> PropertyValue:
    """The value of one property; an ID missing from :data:`PROPERTIES` is a DecodeError."""
    spec = PROPERTIES.get(property_id)
    if spec is None:
        raise DecodeError("DeviceProperty", None, f"unknown property 0x{property_id:04x}")
    return spec.decode(raw)


@dataclass(frozen=True, slots=True)
class SensorReadings:
    """What a Sensor Status says: known values, properties the server lacks, unknown ones."""

    values: dict[int, PropertyValue]
    absent: tuple[int, ...] = ()  # zero-length entries: the element has no such sensor
    unknown: dict[int, bytes] = field(default_factory=dict)  # not in PROPERTIES, raw kept


def decode_sensor_status(status: SensorStatus) -> SensorReadings:
    """Decode every entry of ``status``; a malformed known value raises DecodeError."""
    values: dict[int, PropertyValue] = {}
    absent: list[int] = []
    unknown: dict[int, bytes] = {}
    seen: set[int] = set()
    for property_id, raw in status.values():
        if property_id in seen:
            raise DecodeError(
                "SensorStatus", "data", f"property 0x{property_id:04x} reported twice"
            )
        seen.add(property_id)
        spec = PROPERTIES.get(property_id)
        if not raw:
            absent.append(property_id)
        elif spec is None:
            unknown[property_id] = raw
        else:
            values[property_id] = spec.decode(raw)
    return SensorReadings(values, tuple(absent), unknown)


__all__ = [
    "PROPERTIES",
    "PROPERTY_LIST",
    "DeviceProperty",
    "PropertyValue",
    "Quantity",
    "SensorReadings",
    "decode_sensor_status",
    "decode_value",
]
