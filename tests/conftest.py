"""Shared test setup.

Import our integration package before pytest-homeassistant-custom-component mounts its own
``custom_components`` test folder: otherwise Home Assistant resolves ``custom_components`` to the
plugin's package and never sees our manifest (and its Bluetooth matchers).
"""

from __future__ import annotations

import custom_components.ble_mesh  # noqa: F401

pytest_plugins = ["tests.simulator_fixtures", "tests.browser.plugin"]
