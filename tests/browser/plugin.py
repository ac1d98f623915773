"""Pytest plugin: browser tests run only when asked for.

Registered in ``tests/conftest.py`` (``pytest_plugins``) so that ``--run-browser`` is known
whichever tests are selected. Items marked ``browser`` (every test under ``tests/browser/``) are
skipped unless ``--run-browser`` is given or the environment has ``BLE_MESH_BROWSER=1``; the
default run (``scripts/test``) therefore stays fast and needs neither Playwright nor Chromium.

Run them::

    scripts/test --target newest               # sets up Chromium (apt) and Playwright (pip)
    BLE_MESH_BROWSER=1 .venv/newest/bin/python -m pytest tests/browser -m browser
    .venv/newest/bin/python -m pytest tests/browser --run-browser    # the same
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BROWSER_DIR = Path(__file__).parent
ENV_VAR = "BLE_MESH_BROWSER"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --run-browser."""
    group = parser.getgroup("ble_mesh browser tests")
    group.addoption(
        "--run-browser",
        action="store_true",
        default=False,
        help=f"run the end-to-end browser tests (tests/browser; or set {ENV_VAR}=1)",
    )


def browser_tests_enabled(config: pytest.Config) -> bool:
    """Whether --run-browser or BLE_MESH_BROWSER=1 asked for the browser tests."""
    return bool(config.getoption("--run-browser")) or os.environ.get(ENV_VAR, "") not in (
        "",
        "0",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything under tests/browser ``browser``; skip those unless enabled."""
    enabled = browser_tests_enabled(config)
    skip = pytest.mark.skip(
        reason=f"browser test: run with --run-browser or {ENV_VAR}=1 (see tests/browser/plugin.py)"
    )
    for item in items:
        if BROWSER_DIR in item.path.parents:
            item.add_marker(pytest.mark.browser)
        if not enabled and item.get_closest_marker("browser") is not None:
            item.add_marker(skip)
