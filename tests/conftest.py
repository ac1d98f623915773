"""Shared test setup.

Import our integration package before pytest-homeassistant-custom-component mounts its own
``custom_components`` test folder: otherwise Home Assistant resolves ``custom_components`` to the
plugin's package and never sees our manifest (and its Bluetooth matchers).
"""

from __future__ import annotations

import importlib.util

from hypothesis import HealthCheck, settings

import custom_components.ble_mesh  # noqa: F401

# No deadline and no too-slow check: how long an example takes depends on the machine's load,
# and speed is measured in benchmarks/, never in unit tests (both failed decoder tests on a
# loaded machine).
settings.register_profile("ble_mesh", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ble_mesh")

pytest_plugins = ["tests.deprecations", "tests.browser.plugin"]
# The Home Assistant test harness exists for the "minimum" and "current" targets only; the
# "newest" target runs the browser suite against a real hass, without it.
if importlib.util.find_spec("pytest_homeassistant_custom_component") is not None:
    pytest_plugins.append("tests.simulator_fixtures")
