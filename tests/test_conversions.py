"""HA light units <-> mesh states: exact, documented and drift-free."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.ble_mesh import conversions as c


def test_brightness_ends_meet_exactly() -> None:
    assert c.brightness_to_lightness(0) == 0
    assert c.brightness_to_lightness(255) == 0xFFFF
    assert c.lightness_to_brightness(0xFFFF) == 255
    assert c.lightness_to_brightness(1) == 1  # on, however dim, is never brightness 0
    assert c.lightness_to_brightness(0) == 0


@given(st.integers(0, 255))
def test_brightness_round_trip_has_no_drift(brightness: int) -> None:
    once = c.lightness_to_brightness(c.brightness_to_lightness(brightness))
    assert once == brightness
    assert c.lightness_to_brightness(c.brightness_to_lightness(once)) == brightness


@given(st.integers(0, 0xFFFF))
def test_lightness_to_brightness_is_monotonic_and_in_range(lightness: int) -> None:
    b = c.lightness_to_brightness(lightness)
    assert 0 <= b <= 255
    assert b <= c.lightness_to_brightness(min(0xFFFF, lightness + 1))


@given(st.integers(0, 0xFFFF))
def test_hue_round_trip(hue: int) -> None:
    assert c.degrees_to_hue(c.hue_to_degrees(hue)) == hue
    assert 0 <= c.hue_to_degrees(hue) < 360


def test_hue_wraps() -> None:
    assert c.degrees_to_hue(360) == 0
    assert c.degrees_to_hue(180) == 32768


@given(st.integers(0, 0xFFFF))
def test_saturation_and_xy_round_trip(value: int) -> None:
    assert c.percent_to_saturation(c.saturation_to_percent(value)) == value
    assert c.unit_to_uint16(c.uint16_to_unit(value)) == value


def test_clamping() -> None:
    assert c.percent_to_saturation(150) == 0xFFFF
    assert c.unit_to_uint16(-1) == 0
    assert c.clamp_kelvin(100) == 800
    assert c.clamp_kelvin(30000) == 20000
    assert c.clamp_kelvin(5000, 2700, 4000) == 4000
