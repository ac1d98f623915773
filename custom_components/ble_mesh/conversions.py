"""Home Assistant light units <-> mesh model states (MshMDL 1.1 §6.1).

The mapping is exact and documented so a value never drifts through round trips:

* brightness 0..255 <-> Light Lightness Actual 0..65535: ``lightness = brightness * 257``
  (255 * 257 = 65535, so both ends meet exactly) and ``brightness = round(lightness / 257)``.
  Every brightness maps to a lightness that maps back to the same brightness.
* hue 0..360 degrees <-> Light HSL Hue 0..65535 (one turn is 65536 steps, §6.1.4.1):
  ``hue = round(degrees * 65536 / 360) % 65536``.
* saturation 0..100 % <-> Light HSL Saturation 0..65535.
* CIE x, y 0..1 <-> Light xyL x, y 0..65535.
* colour temperature: both sides use kelvin (Light CTL Temperature, 800..20000 K).
"""

from __future__ import annotations

LIGHTNESS_PER_BRIGHTNESS = 257
HUE_STEPS = 65536
UINT16_MAX = 0xFFFF

# MshMDL 1.1 §6.1.3.1: the CTL Temperature state's valid range.
TEMPERATURE_MIN_K = 800
TEMPERATURE_MAX_K = 20000


def brightness_to_lightness(brightness: int) -> int:
    """HA brightness (0..255) to Light Lightness Actual (0..65535)."""
    return max(0, min(255, brightness)) * LIGHTNESS_PER_BRIGHTNESS


def lightness_to_brightness(lightness: int) -> int:
    """Light Lightness Actual to HA brightness; any non-zero lightness gives at least 1."""
    if lightness <= 0:
        return 0
    return max(1, min(255, round(lightness / LIGHTNESS_PER_BRIGHTNESS)))


def degrees_to_hue(degrees: float) -> int:
    """HA hue (degrees) to Light HSL Hue."""
    return round(degrees * HUE_STEPS / 360) % HUE_STEPS


def hue_to_degrees(hue: int) -> float:
    """Light HSL Hue to HA hue (degrees, 0 <= h < 360)."""
    return hue * 360 / HUE_STEPS


def percent_to_saturation(percent: float) -> int:
    """HA saturation (0..100) to Light HSL Saturation."""
    return round(max(0.0, min(100.0, percent)) * UINT16_MAX / 100)


def saturation_to_percent(saturation: int) -> float:
    """Light HSL Saturation to HA saturation (0..100)."""
    return saturation * 100 / UINT16_MAX


def unit_to_uint16(value: float) -> int:
    """A CIE x or y coordinate (0..1) to the xyL state."""
    return round(max(0.0, min(1.0, value)) * UINT16_MAX)


def uint16_to_unit(value: int) -> float:
    """The xyL state to a CIE x or y coordinate (0..1)."""
    return value / UINT16_MAX


def clamp_kelvin(kelvin: int, low: int = TEMPERATURE_MIN_K, high: int = TEMPERATURE_MAX_K) -> int:
    """A colour temperature clamped to a node's (or the spec's) range."""
    return max(low, min(high, kelvin))
