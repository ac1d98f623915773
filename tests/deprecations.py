"""Pytest plugin: a Home Assistant deprecation that names this integration fails the run.

Home Assistant announces an API's end long before it breaks: ``report_usage`` ("Detected that
custom integration 'ble_mesh' ... This will stop working in Home Assistant 2027.8, please
create a bug report"), the deprecation helpers ("... was called from ble_mesh, this is a
deprecated function"), and Python ``DeprecationWarning``s it logs through ``py.warnings``.
Each is a WARNING (or worse) that names the integration. Caught here, the day a new Home
Assistant starts reporting one, on every target:

- in-process tests (the pytest suites): every such record logged during a test fails it;
- real ``hass`` runs (the browser suite): :func:`deprecation_lines` scans ``hass.log``.

Registered in ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
import logging
import re

import pytest

NAMES_US = re.compile(r"(?<!\.cache/)\bble_mesh")
"""The integration (and the demo's ble_mesh_sim) by domain, logger or file path; not the
Python that scripts/setup builds under ~/.cache/ble_mesh, which every traceback names."""
DEPRECATION = re.compile(r"deprecat|will stop working|\breport\b|report_usage", re.IGNORECASE)
"""HA's wording for a deprecation: the deprecation helpers, report_usage, its bug-report link."""
LOG_LINE_LEVEL = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) ")
"""A record's first line in hass.log: ``2026-12-03 12:00:00.123 WARNING (MainThread) [...]``."""


def is_deprecation(record: logging.LogRecord) -> bool:
    """Whether a log record is a deprecation report that names this integration."""
    if record.levelno < logging.WARNING or record.name == "asyncio":
        # asyncio's slow-step warning names the running test ("..._is_reported() took 0.12
        # seconds" under load): never a deprecation.
        return False
    text = f"{record.name} {record.getMessage()} {record.pathname}"
    return bool(NAMES_US.search(text) and DEPRECATION.search(record.getMessage()))


def deprecation_lines(log_lines: Iterable[str]) -> list[str]:
    """The lines of a hass.log that report a deprecation naming this integration."""
    return [
        line
        for line in log_lines
        if LOG_LINE_LEVEL.match(line) and NAMES_US.search(line) and DEPRECATION.search(line)
    ]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if is_deprecation(record):
            self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the guard's own tests."""
    config.addinivalue_line(
        "markers", "provokes_deprecation: the test makes Home Assistant report one on purpose"
    )


@pytest.fixture(autouse=True)
def fail_on_deprecation(request: pytest.FixtureRequest) -> Generator[None]:
    """Fail the test if anything logged a deprecation naming this integration while it ran."""
    if request.node.get_closest_marker("provokes_deprecation"):
        yield
        return
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    if collector.records:
        found = "\n".join(f"[{r.name}] {r.getMessage()}" for r in collector.records)
        pytest.fail(f"Home Assistant reported a deprecation in ble_mesh:\n{found}")
