"""What a new user hits with ``scripts/develop``: a clean first start, a restart, Ctrl+C.

Issue 15. These run after ``test_provisioning_ui.py`` against the same Home Assistant (the
session's ``ha_server``), so the lights it provisioned are there to survive the restart; run on
their own, they onboard first and check what the demo saved instead.

- After onboarding, no integration failed and ``home-assistant.log`` has no traceback (onboarding
  sets up google_translate, met, radio_browser and shopping_list: their requirements must be
  installed, as ``--skip-pip`` installs nothing).
- Settings -> System -> Restart: hass exits with code 100, ``scripts/develop`` starts it again,
  the frontend reconnects by itself, and the simulated lights are still provisioned.
- Ctrl+C (SIGINT to the terminal's process group) or SIGTERM to the script alone stops hass
  gracefully, leaves no process behind, and the script exits with 0.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from typing import TYPE_CHECKING, Any
import urllib.request

import pytest

from .ha_server import HomeAssistantServer
from .ui import Ui, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

USER = {"name": "Restart Tester", "username": "restarter", "password": "browser-test-password-2"}
ONBOARDING_DOMAINS = {"google_translate", "met", "radio_browser", "shopping_list"}
"""What Home Assistant's onboarding sets up (``onboarding/views.py``, core config step)."""
FAILED_STATES = {"setup_error", "setup_retry", "migration_error", "failed_unload", "not_loaded"}
FAILED_TEXT = re.compile(r"Failed to set up|Failed setup, will retry|Migration error|Not loaded")
"""The frontend's words for a config entry that is not running (integrations page)."""
RETRY_TEXT = "Failed setup, will retry"
INTERNET_DOMAINS = {"radio_browser": "Radio Browser", "met": "Meteorologisk"}
"""Onboarding's integrations that need the internet to set up (their card titles)."""
RADIO_BROWSER_HOST = "all.api.radio-browser.info"
HASS = "document.querySelector('home-assistant').hass"
"""The frontend's state object (connection, config...)."""
RESTARTED = "Home Assistant asked to be restarted (exit code 100): starting it again."


def _offline() -> bool:
    """Whether this machine cannot reach Radio Browser's servers (a sandbox, a train, a CI
    runner that may resolve names but not connect).

    Offline, Home Assistant retries setting up the integrations that need the internet
    ("Failed setup, will retry"): that is their honest state, not a fault of this setup.
    """
    try:
        with socket.create_connection((RADIO_BROWSER_HOST, 443), timeout=5):
            return False
    except OSError:
        return True


def _children(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+Z", status, flags=re.MULTILINE)


def _catches_sigterm(pid: int) -> bool:
    """Whether a process has a handler for SIGTERM (``SigCgt`` in /proc).

    hass installs its SIGTERM and SIGINT handlers once it has started: before that, a signal
    kills it outright (Home Assistant's own behaviour, not the script's).
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    match = re.search(r"^SigCgt:\s+([0-9a-f]+)", status, flags=re.MULTILINE)
    return bool(match and int(match[1], 16) & (1 << (signal.SIGTERM - 1)))


def _hass_pid(server: HomeAssistantServer) -> int:
    """The pid of the ``hass`` process scripts/develop runs (its only child)."""
    assert server.process is not None

    def find() -> int | None:
        assert server.process is not None
        children = [pid for pid in _children(server.process.pid) if _alive(pid)]
        return children[0] if len(children) == 1 else None

    return wait_until(find, 10, "scripts/develop has no single hass child")


def _entries(ui: Ui) -> list[dict[str, Any]]:
    entries = ui.api("config/config_entries/entry")
    assert isinstance(entries, list)
    return entries


@pytest.fixture(name="user_ui", scope="module")
def user_ui_fixture(
    page: Page, ha_server: HomeAssistantServer, tmp_path_factory: pytest.TempPathFactory
) -> Ui:
    """The tab, logged in (onboarding done through the UI here unless an earlier test did)."""
    ui = Ui(page, ha_server, tmp_path_factory.mktemp("screenshots"))
    with urllib.request.urlopen(f"{ha_server.url}/api/onboarding", timeout=10) as response:
        steps = json.loads(response.read())
    if not all(step["done"] for step in steps):
        ui.onboard(USER["name"], USER["username"], USER["password"])
    return ui


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
"""The start of a record in home-assistant.log (a traceback's lines follow its record)."""
ORPHANED_TASK_RECORD = re.compile(
    r"\[homeassistant\] Error doing job: \w+ exception in shielded future \(task: None\)$"
)
"""asyncio's report of a shielded task that failed after its caller had gone away."""
AIOHTTP_CODE = ("/aiohttp/", "/aiohttp_asyncmdnsresolver/")


def _orphaned_aiohttp_task(record: list[str]) -> bool:
    """Whether a log record is aiohttp's own shielded task failing after its caller gave up,
    its traceback wholly inside aiohttp. Two such records appeared in about 40 full runs:

    - a browser tab closed while Home Assistant compressed a websocket message over 16 KiB for
      it (aiohttp 3.14 compresses those in an executor inside a shielded task): "Cannot write
      to closing transport" (this suite's tests close their second tabs; any user can too);
    - offline, Radio Browser's retry timed out while aiohttp's shared name lookup went on, and
      the lookup then failed: "Domain name not found".

    Neither is anything Home Assistant or ble_mesh did wrong; any record with a frame elsewhere
    is still a problem.
    """
    frames = [line for line in record if line.lstrip().startswith('File "')]
    return (
        ORPHANED_TASK_RECORD.search(record[0]) is not None
        and bool(frames)
        and all(any(code in frame for code in AIOHTTP_CODE) for frame in frames)
    )


def _log_problems(ui: Ui) -> str:
    """The records of home-assistant.log that say a setup failed or carry a traceback, whole."""
    log = (ui.server.config_dir / "home-assistant.log").read_text(errors="replace")
    records: list[list[str]] = []
    for line in log.splitlines():
        if LOG_RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    problems = [
        "\n".join(record)
        for record in records
        if not _orphaned_aiohttp_task(record)
        and any(
            "Error setting up" in line or "Traceback" in line or "Error occurred loading" in line
            for line in record
        )
    ]
    return "home-assistant.log:\n" + "\n".join(problems) if problems else ""


def test_fresh_start_has_no_failed_integration(user_ui: Ui) -> None:
    """Onboarding's integrations all set up; no error or traceback in home-assistant.log."""
    ui = user_ui

    def settled() -> list[dict[str, Any]] | None:
        entries = _entries(ui)
        domains = {entry["domain"] for entry in entries}
        busy = [e for e in entries if e["state"] in ("setup_in_progress", "not_loaded")]
        # met only creates an entry when the home location is set: not required here. An
        # integration that cannot even load its config flow gets no entry: its traceback ends
        # the wait (and fails below).
        if (ONBOARDING_DOMAINS - {"met"} <= domains and not busy) or _log_problems(ui):
            return entries
        return None

    entries = wait_until(
        settled,
        60,
        lambda: f"onboarding's integrations did not settle: {_entries(ui)}\n" + _log_problems(ui),
    )
    assert not (problems := _log_problems(ui)), problems
    offline = _offline()
    failed = [
        (e["domain"], e["title"], e["state"], e.get("reason"))
        for e in entries
        if e["state"] in FAILED_STATES
        and not (offline and e["domain"] in INTERNET_DOMAINS and e["state"] == "setup_retry")
    ]
    assert not failed, f"config entries not running: {failed}"

    ui.open_integrations()
    dashboard = ui.page.locator("ha-config-integrations-dashboard")
    ui.page.locator("ha-integration-card").first.wait_for()
    cards = dashboard.locator("ha-integration-card")
    for index in range(cards.count()):
        text = ui.text_of(cards.nth(index))
        if offline and RETRY_TEXT in text and any(n in text for n in INTERNET_DOMAINS.values()):
            continue
        assert not FAILED_TEXT.search(text), f"the integrations page shows a failure: {text}"


def _sim_networks(ui: Ui) -> dict[str, Any]:
    """Each provisioned simulated node's address and device key, as the demo saved them."""
    path = ui.server.config_dir / ".ble_mesh_sim.json"
    try:
        nodes = json.loads(path.read_text()).get("nodes") or {}
    except (OSError, ValueError):
        return {}
    return {
        node["name"]: (node["provisioned"]["unicast_address"], node["provisioned"]["device_key"])
        for node in nodes.values()
        if node.get("provisioned")
    }


def test_restart_from_the_ui(user_ui: Ui) -> None:
    """Settings -> System -> Restart: hass comes back, the frontend reconnects, lights stay."""
    from playwright.sync_api import expect  # collecting needs no Playwright

    ui, page, server = user_ui, user_ui.page, user_ui.server
    lights = [
        state["entity_id"]
        for state in ui.api("states")
        if state["entity_id"].startswith("light.") and state["state"] != "unavailable"
    ]
    nodes = _sim_networks(ui)
    before = _hass_pid(server)
    log_start = len(server.log_text())

    # The frontend's websocket now: it opens a new one when it reconnects.
    page.evaluate(f"() => {{ window.__socketBefore = {HASS}.connection.socket; }}")
    ui.open_settings("System")
    page.wait_for_url("**/config/system**")
    page.get_by_role("button", name="Restart Home Assistant").click()
    page.get_by_role("listitem").filter(has_text="Restart Home Assistant").filter(
        has_text="Interrupts all running automations"
    ).click()
    page.get_by_role("button", name="Restart", exact=True).click()

    # hass exits with 100 (the frontend loses its connection), scripts/develop starts it again.
    server.wait_for_log(re.escape(RESTARTED), timeout=90, start=log_start)
    assert server.process is not None
    assert server.process.poll() is None, "scripts/develop ended instead of restarting hass"
    after = _hass_pid(server)
    assert after != before
    assert not _alive(before)

    # The frontend reconnects by itself: a new websocket, connected, Home Assistant running.
    def connected() -> bool:
        return bool(
            page.evaluate(
                f"() => {{ const h = {HASS}; return !!(h && h.connected"
                " && h.connection.socket !== window.__socketBefore"
                " && h.config && h.config.state === 'RUNNING'); }"
            )
        )

    wait_until(connected, 120, "the frontend did not reconnect to the restarted hass")
    expect(page.get_by_text("Connection lost. Reconnecting")).to_have_count(0, timeout=30_000)
    with urllib.request.urlopen(f"{server.url}/manifest.json", timeout=10) as response:
        assert response.status == 200
    # The frontend's config object may still be the one from before the restart when its new
    # socket connects: the server's own word is what says startup has finished.
    wait_until(
        lambda: ui.api("config")["state"] == "RUNNING",
        120,
        "the restarted hass never finished starting",
    )
    page.get_by_role("button", name="Restart Home Assistant").wait_for()

    # The simulated lights survived: the demo reloaded them provisioned, and the lights that
    # were working before come back.
    assert _sim_networks(ui) == nodes
    for entity_id in lights:
        wait_until(
            lambda entity_id=entity_id: ui.state(entity_id)["state"] != "unavailable",
            60,
            lambda entity_id=entity_id: f"{entity_id} stays unavailable after the restart",
        )


def _start(tmp: Path) -> HomeAssistantServer:
    server = HomeAssistantServer(tmp)
    server.start()
    return server


@pytest.mark.parametrize(
    ("how", "signum"),
    [("group", signal.SIGINT), ("script", signal.SIGTERM)],
    ids=["ctrl-c", "sigterm-to-script"],
)
def test_signal_stops_everything(how: str, signum: signal.Signals) -> None:
    """Ctrl+C (SIGINT to the process group) or SIGTERM to the script: all stopped, exit 0."""
    config_dir = Path(tempfile.mkdtemp(prefix="ble_mesh_signal_"))
    server = _start(config_dir)
    try:
        assert server.process is not None
        script = server.process.pid
        hass = _hass_pid(server)
        wait_until(lambda: _catches_sigterm(hass), 120, "hass never handled SIGTERM")
        processes = [script, *_descendants(script)]
        if how == "group":
            os.killpg(script, signum)
        else:
            os.kill(script, signum)
        try:
            code = server.process.wait(90)
        except subprocess.TimeoutExpired:
            pytest.fail(f"scripts/develop did not stop:\n{server.log_tail()}")
        assert code == 0, server.log_tail()
        wait_until(
            lambda: not any(_alive(pid) for pid in processes),
            10,
            lambda: f"left running: {[pid for pid in processes if _alive(pid)]}",
        )
        log = server.log_text()
        # hass shut down by itself (not killed half-way): the demo saved its lights on the way.
        assert "Simulated mesh lights stopped; state saved" in log, server.log_tail()
        assert RESTARTED not in log
        assert not _alive(hass)
    finally:
        server.stop()
        if not os.environ.get("BLE_MESH_BROWSER_KEEP"):
            shutil.rmtree(config_dir, ignore_errors=True)
