"""Shared test setup.

Import our integration package before pytest-homeassistant-custom-component mounts its own
``custom_components`` test folder: otherwise Home Assistant resolves ``custom_components`` to the
plugin's package and never sees our manifest (and its Bluetooth matchers).
"""

from __future__ import annotations

from functools import partial
import importlib.util
import shutil
import tempfile

from hypothesis import HealthCheck, settings
import pytest

import custom_components.ble_mesh  # noqa: F401

# No deadline and no too-slow check: how long an example takes depends on the machine's load,
# and speed is measured in benchmarks/, never in unit tests (both failed decoder tests on a
# loaded machine).
settings.register_profile("ble_mesh", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ble_mesh")

HARNESS = importlib.util.find_spec("pytest_homeassistant_custom_component") is not None
"""The Home Assistant test harness exists for the "minimum" and "current" targets only; the
"newest" target runs the browser suite against a real hass, without it."""


def pytest_configure(config: pytest.Config) -> None:
    """Give a test process that runs Home Assistant in-process a temporary folder of its own.

    Home Assistant's file_upload keeps uploads in ``<tmp>/home-assistant-file_upload`` and
    empties that folder whenever a Home Assistant starts or stops: a second test process on the
    machine (an xdist worker, another checkout's run) deleted this one's upload mid-test. (The
    browser suite's Home Assistant runs as its own process with its own TMPDIR, and keeps its
    folder after a failure: that one stays in the system's temporary folder.)
    """
    if not HARNESS:
        return
    folder = tempfile.mkdtemp(prefix="ble_mesh_tests_")
    config.add_cleanup(partial(shutil.rmtree, folder, ignore_errors=True))
    config.add_cleanup(partial(setattr, tempfile, "tempdir", tempfile.tempdir))
    tempfile.tempdir = folder


pytest_plugins = ["tests.deprecations", "tests.browser.plugin"]
if HARNESS:
    pytest_plugins.append("tests.simulator_fixtures")
