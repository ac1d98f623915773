"""Fixtures of the browser tests: one Home Assistant process and one Chromium for the session.

Nothing here imports Playwright at module level: the default test run collects (and skips)
these tests without Playwright installed. See ``tests/browser/plugin.py`` for how to run them.
"""

from __future__ import annotations

from collections.abc import Generator
import contextlib
import json
import os
from pathlib import Path
import re
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import pytest

from tests.deprecations import deprecation_lines

from .ha_server import ROOT, HomeAssistantServer

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright, Route

CHROMIUM = os.environ.get("BLE_MESH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("BLE_MESH_SCREENSHOTS", ROOT / "docs" / "screenshots"))
VIEWPORT = {"width": 1280, "height": 900}
OUR_ERROR = re.compile(
    r"^\S+ \S+ (ERROR|CRITICAL) \([^)]*\) \[(custom_components\.ble_mesh|simulator)"
)
"""An error record of the integration or the demo's simulator in hass.log."""
SETUP_FAILED = "[homeassistant.setup] Setup failed for"


def _allow_loopback_sockets() -> None:
    """Undo pytest-socket's ban (from pytest-homeassistant-custom-component) for loopback.

    The plugin disables sockets before each test; these tests talk to a real Home Assistant
    on 127.0.0.1, and connecting anywhere else stays refused.
    """
    try:
        import pytest_socket
    except ImportError:
        return
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1"])


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """Replace pytest-homeassistant-custom-component's check of the test's event loop.

    Playwright's sync API keeps its own asyncio loop marked as running in this thread (its
    dispatcher greenlet), so the plugin's check, which runs the ``event_loop`` fixture's loop,
    would fail. Home Assistant runs in another process here: there is nothing of it to check.
    """


@pytest.fixture(autouse=True)
def enable_event_loop_debug() -> None:
    """Replace the plugin's fixture of the same name: no ``event_loop`` in these tests."""


@pytest.fixture(autouse=True)
def _loopback_sockets() -> None:
    """Every browser test may talk to Home Assistant on 127.0.0.1."""
    _allow_loopback_sockets()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where the screenshots for the documentation go (docs/screenshots/ by default)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def ha_server() -> Generator[HomeAssistantServer]:
    """Home Assistant with the demo configuration in a fresh directory; stopped at the end."""
    _allow_loopback_sockets()
    config_dir = Path(tempfile.mkdtemp(prefix="ble_mesh_browser_"))
    server = HomeAssistantServer(config_dir)
    try:
        server.start()
        yield server
        server.stop()
        # Everything the run did, as Home Assistant logged it: no deprecation may name us, no
        # error may come from us, and every integration set up (a missing requirement of this
        # release's, which --skip-pip will not install, shows as "Setup failed for").
        lines = server.log_text().splitlines()
        if reports := deprecation_lines(lines):
            pytest.fail("Home Assistant reported deprecations in ble_mesh:\n" + "\n".join(reports))
        if errors := [line for line in lines if OUR_ERROR.match(line) or SETUP_FAILED in line]:
            pytest.fail("hass.log has errors of ours or failed setups:\n" + "\n".join(errors))
    finally:
        server.stop()
        # BLE_MESH_BROWSER_KEEP=1 keeps the directory and its hass.log (for debugging); so
        # does a failed test (its screenshots and hass.log are there: the report says where).
        if not os.environ.get("BLE_MESH_BROWSER_KEEP") and not server.keep:
            shutil.rmtree(config_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def playwright() -> Generator[Playwright]:
    """Playwright's driver (its own Node.js process, bundled in the wheel)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="run scripts/setup newest --browser"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/setup newest --browser")
    pw = sync_api.sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


def _loopback_only(route: Route) -> None:
    """Let the browser reach Home Assistant only (no map tiles, brand icons, fonts...)."""
    url = route.request.url
    if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="session")
def browser_context(
    playwright: Playwright, ha_server: HomeAssistantServer
) -> Generator[BrowserContext]:
    """Debian's Chromium with a fresh profile; requests off the loopback interface fail."""
    profile = tempfile.mkdtemp(prefix="ble_mesh_chromium_")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-US",
        timezone_id="UTC",
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(30_000)
    context.route("**/*", _loopback_only)
    try:
        yield context
    finally:
        with contextlib.suppress(Exception):
            context.close()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def page(browser_context: BrowserContext) -> Page:
    """The one tab the tests use, in order (onboarding first)."""
    return browser_context.pages[0] if browser_context.pages else browser_context.new_page()


@pytest.fixture(scope="session")
def state() -> dict[str, Any]:
    """What earlier tests established (the access token, the network name...)."""
    return {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    """On a failed browser test, save the page as ``failed-<test>.png`` in the HA config dir.

    The directory is kept with BLE_MESH_BROWSER_KEEP=1 (see the ``ha_server`` fixture).
    """
    outcome: Any = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    ui = funcargs.get("onboarded") or funcargs.get("user_ui")
    page = funcargs.get("page") or getattr(ui, "page", None)
    server = getattr(ui, "server", None)
    if page is None or server is None:
        return
    server.keep = True
    with contextlib.suppress(Exception):
        page.screenshot(path=server.config_dir / f"failed-{item.name}.png")
    # What each tab showed, as its accessibility tree (what the tests' locators search):
    # a missing link or button shows here, or the dialog that hid it.
    with contextlib.suppress(Exception):
        tabs = []
        for number, tab in enumerate(page.context.pages, 1):
            with contextlib.suppress(Exception):
                tab.screenshot(path=server.config_dir / f"failed-{item.name}-tab{number}.png")
            tree = tab.locator("body").aria_snapshot(timeout=5_000).splitlines()
            tabs.append(f"tab {number}: {tab.url}\n" + "\n".join(tree[:150]))
        report.sections.append(("pages (accessibility tree)", "\n\n".join(tabs)))
    report.sections.append(("kept", f"screenshots and hass.log in {server.config_dir}"))
    # What the dialog was told: the last flow steps (their errors say why a step stayed).
    with contextlib.suppress(Exception):
        steps = [
            {k: s.get(k) for k in ("type", "step_id", "errors", "reason", "progress_action")}
            for s in ui.flows.steps()[-4:]
        ]
        report.sections.append(("last flow steps", json.dumps(steps, indent=1)))
        # A submit that never got its answer (the step still working) or that never left.
        unanswered = "\n".join(ui.flows.unanswered()) or "none: every submit was answered"
        report.sections.append(("flow submits without a response", unanswered))
    # And what the integration was doing meanwhile (its debug log, the last lines).
    with contextlib.suppress(Exception):
        lines = [
            line
            for line in server.log_text().splitlines()
            if "ble_mesh" in line or "[simulator" in line
        ]
        report.sections.append(("ble_mesh log (last 120 lines)", "\n".join(lines[-120:])))
