"""Sensor messages (MshMDL 1.1 §4.2), Mesh Device Properties (MshDP) and Generic Battery
against the worked examples of tests/vectors/sensor-examples.json, plus strict rejections.

Round trips of every sensor and battery message come from test_models_roundtrip.py (the
registry covers them); here: exact octets, both directions, and what malformed input says.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.ble_mesh.mesh.access import decode_message, describe, encode_message
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.models import model_ids as ids
from custom_components.ble_mesh.mesh.models.generic import (
    BatteryCharging,
    BatteryFlags,
    BatteryIndicator,
    BatteryPresence,
    BatteryServiceability,
    GenericBatteryGet,
    GenericBatteryStatus,
)
from custom_components.ble_mesh.mesh.models.properties import (
    PROPERTIES,
    DeviceProperty,
    Quantity,
    decode_sensor_status,
    decode_value,
)
from custom_components.ble_mesh.mesh.models.registry import BY_ID, HANDLED_BY
from custom_components.ble_mesh.mesh.models.sensors import (
    SamplingFunction,
    SensorCadence,
    SensorCadenceStatus,
    SensorData,
    SensorDescriptor,
    SensorDescriptorStatus,
    SensorGet,
    SensorSettingStatus,
    SensorStatus,
    StatusTriggerType,
)
from tests.sig_vectors import SENSOR_FILE, h, ids as vector_ids, vectors


def _entries(expected: list[dict[str, str]]) -> tuple[SensorData, ...]:
    return tuple(
        SensorData(int(e["property_id"], 16), h(e["raw"]), format_b=e["format"] == "B")
        for e in expected
    )


@pytest.mark.parametrize("v", vectors("marshalled_sensor_data", SENSOR_FILE), ids=vector_ids)
def test_marshalled_sensor_data(v: dict[str, Any]) -> None:
    data = h(v["inputs"]["data"])
    entries = _entries(v["expected"]["entries"])
    status = decode_message(bytes([SensorStatus.OPCODE]) + data)
    assert isinstance(status, SensorStatus)
    assert status.entries() == entries
    assert status.values() == [(e.property_id, e.raw) for e in entries]
    # Writer: the entries as they were on the air give the same octets back.
    assert SensorStatus.of(entries) == status
    assert encode_message(status) == bytes([SensorStatus.OPCODE]) + data


def test_builder_picks_format_a_where_it_fits() -> None:
    status = SensorStatus.of([(0x004F, b"\x2b"), (0x0077, b""), (0x0800, b"\x34\x12")])
    assert status.data.hex() == "e0092b" + "ff7700" + "0300083412"
    assert [e.format_b for e in status.entries()] == [False, True, True]
    # 17 octets do not fit Format A's 4-bit length.
    long = SensorStatus.of([(0x0001, bytes(17))])
    assert long.entries()[0].format_b
    assert long.data[:3].hex() == "210100"  # 1 | (17 - 1) << 1, then 0x0001


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ("", "no sensor data"),  # §4.1.4: one or more values
        ("e009", "needs 1 octets"),  # Format A header, value missing
        ("c20ed7", "needs 2 octets"),  # humidity cut short
        ("03", "needs 2 octets"),  # Format B header cut inside the property ID
        ("0300", "needs 2 octets"),
        ("030008", "needs 2 octets"),  # Format B value missing
        ("00002b", "prohibited"),  # property ID 0x0000
        ("ff0000", "prohibited"),
    ],
)
def test_malformed_sensor_status(params: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        decode_message(bytes([SensorStatus.OPCODE]) + bytes.fromhex(params))
    assert (info.value.structure, info.value.field) == ("SensorStatus", "data")
    assert "error" in describe(bytes([SensorStatus.OPCODE]) + bytes.fromhex(params))


@pytest.mark.parametrize("v", vectors("device_property", SENSOR_FILE), ids=vector_ids)
def test_device_property(v: dict[str, Any]) -> None:
    prop = PROPERTIES[int(v["inputs"]["property_id"], 16)]
    raw = h(v["inputs"]["raw"])
    value = prop.decode(raw)
    assert value == v["expected"]["value"]
    assert decode_value(prop.property_id, raw) == value
    if v["expected"]["encodes_back"]:
        assert prop.encode(value) == raw


@pytest.mark.parametrize("v", vectors("device_property_error", SENSOR_FILE), ids=vector_ids)
def test_device_property_errors(v: dict[str, Any]) -> None:
    prop = PROPERTIES[int(v["inputs"]["property_id"], 16)]
    with pytest.raises(DecodeError) as info:
        prop.decode(h(v["inputs"]["raw"]))
    assert info.value.field == prop.name


def test_property_table() -> None:
    """What each property measures and in which unit; integer properties decode to ints."""
    table = {
        p.property_id: (p.quantity, p.unit, p.size, p.characteristic) for p in PROPERTIES.values()
    }
    assert table == {
        0x0042: (Quantity.MOTION, "%", 1, "Percentage 8"),
        0x004C: (Quantity.COUNT, "", 2, "Count 16"),
        0x004E: (Quantity.ILLUMINANCE, "lx", 3, "Illuminance"),
        0x004F: (Quantity.TEMPERATURE, "°C", 1, "Temperature 8"),
        0x0052: (Quantity.POWER, "W", 3, "Power"),
        0x0057: (Quantity.CURRENT, "A", 2, "Electric Current"),
        0x0059: (Quantity.VOLTAGE, "V", 2, "Voltage"),
        0x006A: (Quantity.ENERGY, "kWh", 3, "Energy"),
        0x0072: (Quantity.ENERGY, "kWh", 4, "Energy32"),
        0x0076: (Quantity.HUMIDITY, "%", 2, "Humidity"),
        0x0077: (Quantity.CO2, "ppm", 2, "CO2 Concentration"),
    }
    assert isinstance(PROPERTIES[0x004C].decode(b"\x05\x00"), int)
    assert isinstance(PROPERTIES[0x0076].decode(b"\x10\x27"), float)


def test_every_property_has_a_not_known_value() -> None:
    for prop in PROPERTIES.values():
        assert prop.not_known is not None, prop.name
        assert prop.decode(prop.encode(None)) is None


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        (PROPERTIES[0x004F], 63.5),  # 0x7F is "not known", not 63.5 °C
        (PROPERTIES[0x004F], -64.5),
        (PROPERTIES[0x0076], 100.01),
        (PROPERTIES[0x0042], 100.5),
        (PROPERTIES[0x004C], -1),
        (PROPERTIES[0x0072], 4294967.294),  # the "not valid" sentinel
    ],
    ids=lambda x: x.name if isinstance(x, DeviceProperty) else str(x),
)
def test_out_of_range_values_cannot_be_encoded(prop: DeviceProperty, value: float) -> None:
    with pytest.raises(UsageError):
        prop.encode(value)


def test_decode_sensor_status_keeps_unknown_and_absent_properties() -> None:
    status = SensorStatus.of(
        [
            (0x004F, b"\x2b"),  # 21.5 °C
            (0x0076, b"\xff\xff"),  # humidity not known
            (0x0077, b""),  # no CO2 sensor on this element
            (0x0800, b"\x34\x12"),  # a property this table lacks
        ]
    )
    readings = decode_sensor_status(status)
    assert readings.values == {0x004F: 21.5, 0x0076: None}
    assert readings.absent == (0x0077,)
    assert readings.unknown == {0x0800: b"\x34\x12"}


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([(0x004F, b"\x2b\x00")], "needs 1 octets, got 2"),  # length mismatch
        ([(0x0076, b"\x11\x27")], "prohibited"),
        ([(0x004F, b"\x2b"), (0x004F, b"\x2c")], "reported twice"),
    ],
)
def test_decode_sensor_status_rejects(entries: list[tuple[int, bytes]], reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_sensor_status(SensorStatus.of(entries))


def test_decode_value_of_an_unknown_property() -> None:
    with pytest.raises(DecodeError, match="unknown property 0x0800"):
        decode_value(0x0800, b"\x00")


def test_sensor_status_builder_refuses_impossible_entries() -> None:
    with pytest.raises(UsageError):
        SensorStatus.of([])
    with pytest.raises(UsageError):
        SensorData.of(0x0001, bytes(128))
    with pytest.raises(UsageError):
        SensorData(0x0800, b"\x00")  # 12-bit ID in Format A
    with pytest.raises(UsageError):
        SensorStatus(b"\xe0\x09")  # truncated data cannot be built either


def test_descriptor_status_vectors() -> None:
    (found, missing) = vectors("sensor_message", SENSOR_FILE)[:2]
    status = decode_message(h(found["inputs"]["access_payload"]))
    assert status == SensorDescriptorStatus(
        (SensorDescriptor(0x004F, 0x123, 0x456, SamplingFunction.INSTANTANEOUS, 0x40, 0x3C),)
    )
    assert encode_message(status) == h(found["inputs"]["access_payload"])
    absent = decode_message(h(missing["inputs"]["access_payload"]))
    assert absent == SensorDescriptorStatus(missing_property_id=0x0077)
    assert encode_message(absent) == h(missing["inputs"]["access_payload"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("51", "descriptors"),  # §4.2.2: one or more descriptors, or the ID alone
        ("514f002361450140", "descriptors"),  # 7 octets
        ("514f0023614508403c", "descriptors"),  # sampling function 0x08 is RFU
        ("510000", "missing_property_id"),
        ("570100100000000000", "cadence"),  # divisor 16 is prohibited
        ("5701000000001b0000", "cadence"),  # min interval 27 is prohibited
        ("570100000000010000", None),  # counter-example: 1-octet values, all valid
        ("5701008000000100", "cadence"),  # percent deltas leave an odd remainder
        ("5b0100020002", "access"),  # access 0x02 is prohibited
    ],
)
def test_strict_sensor_rejections(payload: str, field: str | None) -> None:
    raw = bytes.fromhex(payload)
    if field is None:
        message = decode_message(raw)
        assert isinstance(message, SensorCadenceStatus)
        assert message.cadence is not None
        assert message.cadence.fast_cadence_low == b"\x00"
        return
    with pytest.raises(DecodeError) as info:
        decode_message(raw)
    assert info.value.field == field


def test_cadence_sizes_follow_from_the_trigger_type() -> None:
    percent = SensorCadence(
        2, StatusTriggerType.PERCENT, b"\x10\x00", b"\x20\x00", 4, b"\x2b", b"\x3c"
    )
    status = SensorCadenceStatus(0x004F, percent)
    assert encode_message(status).hex() == "57" + "4f00" + "82" + "1000" + "2000" + "04" + "2b3c"
    assert decode_message(encode_message(status)) == status
    with pytest.raises(UsageError):
        SensorCadence(0, StatusTriggerType.VALUE, b"\x01\x00", b"\x01", 0, b"\x01", b"\x02")


def test_setting_status_without_a_setting() -> None:
    status = decode_message(bytes.fromhex("5b4f000100"))
    assert status == SensorSettingStatus(0x004F, 0x0001)


def test_generic_battery_status_vector() -> None:
    (v,) = [
        v for v in vectors("sensor_message", SENSOR_FILE) if v["id"] == "generic_battery_status"
    ]
    payload = h(v["inputs"]["access_payload"])
    status = decode_message(payload)
    assert status == GenericBatteryStatus(
        80,
        1440,
        0xFFFFFF,
        BatteryFlags(
            BatteryPresence.PRESENT_REMOVABLE,
            BatteryIndicator.GOOD,
            BatteryCharging.NOT_CHARGING,
            BatteryServiceability.NOT_REQUIRED,
        ),
    )
    assert isinstance(status, GenericBatteryStatus)
    exp = v["expected"]
    assert (status.level, status.minutes_to_discharge, status.minutes_to_charge) == (
        exp["level"],
        exp["minutes_to_discharge"],
        exp["minutes_to_charge"],
    )
    assert describe(payload)["parameters"] == {
        "battery_level": 80,
        "time_to_discharge": 1440,
        "time_to_charge": 0xFFFFFF,
        "flags": exp["flags"],
    }
    assert encode_message(status) == payload


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("822465a00500ffffff59", "battery_level"),  # 101 % is prohibited
        ("822450a00500ffffff19", "flags"),  # serviceability 0b00 is RFU
        ("822450a00500ffffff", "flags"),
    ],
)
def test_generic_battery_rejections(payload: str, field: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_message(bytes.fromhex(payload))
    assert info.value.field == field


def test_unknown_battery_level_reads_as_none() -> None:
    status = GenericBatteryStatus(0xFF, 0xFFFFFF, 0xFFFFFF, BatteryFlags())
    assert (status.level, status.minutes_to_discharge, status.minutes_to_charge) == (None,) * 3
    assert encode_message(status).hex() == "8224" + "ff" + "ff" * 6 + "ff"


def test_registry_knows_sensor_and_battery_servers() -> None:
    sensor = BY_ID[ids.SENSOR_SERVER]
    assert (sensor.get, sensor.status, sensor.configured) == (SensorGet, SensorStatus, True)
    assert SensorGet.RESPONSE is SensorStatus
    battery = BY_ID[ids.GENERIC_BATTERY_SERVER]
    assert (battery.get, battery.status) == (GenericBatteryGet, GenericBatteryStatus)
    assert BY_ID[ids.SENSOR_SETUP_SERVER].configured
    assert {HANDLED_BY[m] for m in BY_ID[ids.SENSOR_SETUP_SERVER].handles} == {
        ids.SENSOR_SETUP_SERVER
    }
    assert (ids.SENSOR_SERVER, ids.SENSOR_SETUP_SERVER, ids.SENSOR_CLIENT) == (
        0x1100,
        0x1101,
        0x1102,
    )
