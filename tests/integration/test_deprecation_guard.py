"""The deprecation guard (tests/deprecations.py) catches what Home Assistant really logs."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers.frame import report_usage
from homeassistant.loader import async_get_integration
import pytest

from custom_components.ble_mesh.const import DOMAIN
from tests.deprecations import _Collector, deprecation_lines, is_deprecation


@pytest.mark.provokes_deprecation
async def test_report_usage_naming_the_integration_is_caught(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """HA's own report_usage record for ble_mesh is recognised, whatever its exact wording."""
    await async_get_integration(hass, DOMAIN)  # report_usage looks the integration up
    with caplog.at_level(logging.WARNING):
        report_usage(
            "calls `an_api_that_goes_away` (guard test)",
            breaks_in_ha_version="2099.1.0",
            integration_domain=DOMAIN,
        )
    reports = [
        record for record in caplog.records if "an_api_that_goes_away" in record.getMessage()
    ]
    assert len(reports) == 1
    assert "custom integration 'ble_mesh'" in reports[0].getMessage()
    assert is_deprecation(reports[0])


@pytest.mark.provokes_deprecation
def test_collector_takes_only_deprecations_naming_us() -> None:
    """Other integrations' reports, our own debug lines and plain warnings pass the guard."""
    collector = _Collector()
    logger = logging.getLogger("homeassistant.helpers.frame")
    ours = logging.getLogger("custom_components.ble_mesh.runtime")
    root = logging.getLogger()
    root.addHandler(collector)
    ours.setLevel(logging.DEBUG)
    try:
        logger.warning("Detected that custom integration 'other' calls x. Please report it")
        ours.debug("Scan Report from 0x0005 (a debug line, not a deprecation)")
        ours.warning("Proxy node 0x0002 did not answer; trying another")
        logging.getLogger("asyncio").warning(  # a slow step under load, in a test named so
            "Executing <Task finished coro=<test_missing_storage_is_reported() done> created "
            "at /root/.cache/ble_mesh/cpython-3.14.7/lib/python3.14/asyncio/runners.py:110> "
            "took 0.116 seconds"
        )
        logger.warning(
            "Detected that custom integration 'ble_mesh' calls `async_get_device`, which is "
            "deprecated. This will stop working in Home Assistant 2027.8.0, please report it"
        )
        logging.getLogger("py.warnings").warning(
            "/config/custom_components/ble_mesh/light.py:12: DeprecationWarning: old constant"
        )
        # asyncio's slow-callback warning names a test and the Python scripts/setup builds in
        # ~/.cache/ble_mesh: neither is the integration, and "reported" is not "report".
        logging.getLogger("asyncio").warning(
            "Executing <Task finished coro=<test_missing_storage_is_reported() done> created at "
            "/root/.cache/ble_mesh/cpython-3.14.7/lib/python3.14/asyncio/runners.py:110> took "
            "0.104 seconds"
        )
    finally:
        root.removeHandler(collector)
        ours.setLevel(logging.NOTSET)
    assert [r.name for r in collector.records] == ["homeassistant.helpers.frame", "py.warnings"]


def test_hass_log_lines() -> None:
    """The same rule on a real hass.log: the first line of each WARNING/ERROR record."""
    log = [
        "2026-12-03 12:00:00.001 WARNING (SyncWorker_1) [homeassistant.loader] We found a custom "
        "integration ble_mesh which has not been tested by Home Assistant.",
        "2026-12-03 12:00:01.002 WARNING (MainThread) [homeassistant.helpers.frame] Detected "
        "that custom integration 'ble_mesh' accesses `DeviceEntry.config_entries`, which is "
        "deprecated. This will stop working in Home Assistant 2027.10.0, please report it",
        "2026-12-03 12:00:02.003 DEBUG (MainThread) [custom_components.ble_mesh] deprecated?",
        "2026-12-03 12:00:03.004 WARNING (MainThread) [homeassistant.helpers.frame] Detected "
        "that custom integration 'other' is deprecated",
    ]
    assert deprecation_lines(log) == [log[1]]
