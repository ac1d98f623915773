"""Pytest setup for the scenario benchmarks (``benchmarks/test_scenarios.py``).

Not part of the test suite: ``testpaths = ["tests"]`` keeps ``scripts/test`` away from this
folder. Run on demand::

    .venv/current/bin/python -m pytest benchmarks/test_scenarios.py -p no:cacheprovider -s

The scenarios run a real Home Assistant (pytest-homeassistant-custom-component's ``hass``),
HA's Bluetooth stack on mocked adapters and the virtual proxy, like ``tests/integration``.
Their results are collected in :mod:`benchmarks.scenario_report` and printed as one Markdown
table at the end of the run.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.scenario_report import render
import custom_components.ble_mesh  # noqa: F401 - before phcc mounts its custom_components

pytest_plugins = ["tests.simulator_fixtures"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load our integration."""


@pytest.fixture(autouse=True)
def auto_mock_bluetooth(mock_bluetooth: None) -> None:
    """Bluetooth on mocked adapters; the virtual proxy is the only scanner."""


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override phcc's fixture of that name: asyncio debug mode would distort every timing.

    Async, so it runs on the test's loop (pytest-asyncio 0.24 removed ``event_loop``).
    """
    asyncio.get_running_loop().set_debug(False)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the collected results as one table."""
    text = render()
    if text:
        terminalreporter.write_sep("=", "scenario benchmark results")
        terminalreporter.write_line(text)
