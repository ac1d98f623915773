"""What the simulated sensors measure: slow, deterministic functions of the node's clock.

A demo graph must not be flat and a test must be reproducible, so every value is a function
of the time the node is given (``now``: the owner's clock, a fake one in tests), never of a
random generator or the wall clock. The values are physical (°C, %, lx, W, kWh); the engine's
Mesh Device Properties (:mod:`custom_components.ble_mesh.mesh.models.properties`) turn them
into the octets of a Sensor Status.

* Present Ambient Temperature (0x004F): 21 °C ± 2.5 °C over 30 minutes.
* Present Ambient Relative Humidity (0x0076): 45 % ± 8 % over 45 minutes.
* Present Ambient Light Level (0x004E): 320 lx ± 280 lx over an hour.
* Motion Sensed (0x0042): 100 % for 45 s of every 5 minutes, else 0 %.
* Present Device Input Power (0x0052): 50 W ± 8 W over 2 minutes while the plug is on
  (42..58 W), 0 W while it is off.
* Precise Total Device Energy Use (0x0072): the integral of that power, kept by
  :class:`EnergyMeter` (kWh, never decreasing, saved with the node).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
from typing import Final

from custom_components.ble_mesh.mesh.models.properties import (
    MOTION_SENSED,
    PRECISE_TOTAL_DEVICE_ENERGY_USE,
    PRESENT_AMBIENT_LIGHT_LEVEL,
    PRESENT_AMBIENT_RELATIVE_HUMIDITY,
    PRESENT_AMBIENT_TEMPERATURE,
)
from custom_components.ble_mesh.mesh.models.sensors import SamplingFunction, SensorDescriptor

__all__ = [
    "AMBIENT",
    "EnergyMeter",
    "descriptor",
    "plug_power",
]


_TAU = 2 * math.pi


def _wave(now: float, mean: float, amplitude: float, period: float, phase: float = 0.0) -> float:
    return mean + amplitude * math.sin(_TAU * now / period + phase)


def ambient_temperature(now: float) -> float:
    """°C."""
    return _wave(now, 21.0, 2.5, 1800.0)


def ambient_humidity(now: float) -> float:
    """% relative humidity."""
    return _wave(now, 45.0, 8.0, 2700.0, 1.0)


def ambient_light(now: float) -> float:
    """lx."""
    return _wave(now, 320.0, 280.0, 3600.0, 2.0)


def motion_sensed(now: float) -> float:
    """% of the sensing time with motion: someone walks by for 45 s every 5 minutes."""
    return 100.0 if now % 300.0 < 45.0 else 0.0


AMBIENT: Final[dict[int, Callable[[float], float]]] = {
    PRESENT_AMBIENT_TEMPERATURE: ambient_temperature,
    PRESENT_AMBIENT_RELATIVE_HUMIDITY: ambient_humidity,
    PRESENT_AMBIENT_LIGHT_LEVEL: ambient_light,
    MOTION_SENSED: motion_sensed,
}
"""The multi-sensor's measurements by property ID (functions of the node's clock)."""

PLUG_POWER_MEAN: Final = 50.0
PLUG_POWER_SWING: Final = 8.0
PLUG_POWER_PERIOD: Final = 120.0


def plug_power(now: float, on: bool) -> float:
    """W drawn through the plug: 42..58 W while on, 0 W while off."""
    if not on:
        return 0.0
    return _wave(now, PLUG_POWER_MEAN, PLUG_POWER_SWING, PLUG_POWER_PERIOD)


def _plug_joules(start: float, end: float) -> float:
    """The integral of :func:`plug_power` (on) from ``start`` to ``end``, in joules."""
    omega = _TAU / PLUG_POWER_PERIOD
    swing = PLUG_POWER_SWING / omega * (math.cos(omega * start) - math.cos(omega * end))
    return PLUG_POWER_MEAN * (end - start) + swing


_JOULES_PER_KWH: Final = 3_600_000.0


@dataclass(slots=True)
class EnergyMeter:
    """The plug's energy counter: kWh, growing with power and time, never decreasing.

    Only :attr:`energy_kwh` is saved: the clock a node is given may start again from another
    origin after a restart (``loop.time``), so the first reading after a restore starts
    metering afresh instead of integrating over a meaningless gap.
    """

    energy_kwh: float = 0.0
    metered_at: float | None = None

    def advance(self, now: float, on: bool) -> None:
        """Count the energy used since the last call (the plug was ``on`` meanwhile)."""
        start = self.metered_at
        if start is not None and now <= start:
            return  # time does not run backwards for the meter
        self.metered_at = now
        if start is not None and on:
            self.energy_kwh += _plug_joules(start, now) / _JOULES_PER_KWH


def descriptor(property_id: int) -> SensorDescriptor:
    """The Sensor Descriptor (MshMDL 1.1 §4.1.1) of a simulated sensor: instantaneous
    readings, except the energy counter, which accumulates."""
    sampling = (
        SamplingFunction.ACCUMULATED
        if property_id == PRECISE_TOTAL_DEVICE_ENERGY_USE
        else SamplingFunction.INSTANTANEOUS
    )
    return SensorDescriptor(property_id, sampling_function=sampling)
