"""A real Home Assistant process for the browser tests, started by ``scripts/develop`` itself.

README's first command lays out a configuration directory (the integration as a symlink, the
demo's ``ble_mesh_sim`` helper, the YAML files the UI writes) and runs the newest Home Assistant
with ``--skip-pip``. :class:`HomeAssistantServer` runs that very script with
``BLE_MESH_CONFIG_DIR`` set to a fresh temporary directory, after writing its
``configuration.yaml``: the repository's ``config/configuration.yaml`` (the demo: the real
frontend, the Bluetooth stack and the simulated lights) plus an ``http:`` block that binds a free
port on the loopback interface only.

The process runs in its own process group; :meth:`stop` terminates the whole group (and kills
it if Home Assistant does not stop in time). Its output goes to ``hass.log`` in the directory,
where the tests read what the simulated lights "show".
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = ROOT / "config" / "configuration.yaml"
DEVELOP = ROOT / "scripts" / "develop"
LATENCY_VAR = "BLE_MESH_SIM_LATENCY"
"""Overrides the demo's simulated GATT latency (seconds) in the test's configuration.yaml."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_config_dir(config_dir: Path, port: int) -> None:
    """Write the demo's configuration.yaml and bind Home Assistant to 127.0.0.1:``port``.

    ``BLE_MESH_SIM_LATENCY=0`` in the environment runs the demo with another GATT latency.

    ``scripts/develop`` lays out the rest of the directory when it starts. Since 2026, Home
    Assistant keeps its HTTP settings in storage: an ``http:`` block in YAML becomes a *trial*
    that a dialog asks to confirm (else it reverts after 5 minutes, with a restart). So for
    those releases the settings go where Home Assistant keeps confirmed ones (the storage
    file of the first version, which it migrates itself); older ones read the YAML block.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    text = REPO_CONFIG.read_text()
    if latency := os.environ.get(LATENCY_VAR):
        # The demo's link speed for this run, e.g. 0: every reply arrives at once.
        text, count = re.subn(
            r"^(  latency: )\S+", rf"\g<1>{float(latency)}", text, count=1, flags=re.MULTILINE
        )
        if count != 1:
            msg = f"{LATENCY_VAR}: config/configuration.yaml has no ble_mesh_sim latency line"
            raise RuntimeError(msg)
    # The simulated devices' debug lines (each provisioning PDU) go into a failure's report.
    text, count = re.subn(
        r"^(    simulator: )info$", r"\g<1>debug", text, count=1, flags=re.MULTILINE
    )
    if count != 1:
        msg = "config/configuration.yaml has no 'simulator: info' logger line"
        raise RuntimeError(msg)
    if re.search(r"^http:", text, flags=re.MULTILINE):
        msg = "config/configuration.yaml has an http: block; the browser tests add their own"
        raise RuntimeError(msg)
    http = {"server_host": ["127.0.0.1"], "server_port": port}
    if importlib.util.find_spec("homeassistant.components.http.config") is not None:
        storage = config_dir / ".storage"
        storage.mkdir(exist_ok=True)
        (storage / "http").write_text(
            json.dumps({"version": 1, "minor_version": 1, "key": "http", "data": http})
        )
    else:
        text += (
            "\n# Added by the browser tests: loopback only, a free port.\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
        )
    (config_dir / "configuration.yaml").write_text(text)


class HomeAssistantServer:
    """``hass --config DIR`` on http://127.0.0.1:PORT in its own process group."""

    def __init__(self, config_dir: Path, port: int | None = None) -> None:
        """Prepare the directory; :meth:`start` runs Home Assistant."""
        self.config_dir = config_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = config_dir / "hass.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.keep = False
        """Keep the directory after the run (a test failed: its screenshots are there)."""
        build_config_dir(config_dir, self.port)

    def start(self, timeout: float = 120.0) -> None:
        """Start Home Assistant and wait until its HTTP server answers (or fail)."""
        env = dict(os.environ)
        env["BLE_MESH_CONFIG_DIR"] = str(self.config_dir)
        # No proxy: everything is on the loopback interface.
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(var, None)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        # Home Assistant's file_upload keeps uploads in <tmp>/home-assistant-file_upload and
        # empties that folder when it starts and stops: another Home Assistant on the machine
        # (a second suite, the restart tests) must not empty this one's ("Upload failed").
        tmp = self.config_dir / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                # Ctrl+C, Ctrl+\ and hang-up act as from a terminal: a run started in the
                # background (`cmd &`, nohup) ignores them, every child inherits that, and bash
                # cannot trap a signal ignored on entry (scripts/develop would miss Ctrl+C).
                ["env", "--default-signal=INT,QUIT,HUP", str(DEVELOP)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"Home Assistant exited with {self.process.returncode}:\n{self.log_tail()}"
                raise RuntimeError(msg)
            try:
                with urllib.request.urlopen(f"{self.url}/manifest.json", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        msg = f"Home Assistant did not answer on {self.url} within {timeout:.0f} s"
        raise TimeoutError(msg)

    def stop(self, timeout: float = 30.0) -> None:
        """Terminate the process group; kill it if Home Assistant does not stop in time."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        # Anything Home Assistant started in its group goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def log_text(self) -> str:
        """Everything Home Assistant wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log (for failure messages)."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, pattern: str, timeout: float = 20.0, start: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the log after character ``start``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            if match := regex.search(self.log_text(), start):
                return match
            if time.monotonic() > deadline:
                msg = f"{pattern!r} did not appear in the log within {timeout:.0f} s"
                raise TimeoutError(msg)
            time.sleep(0.2)
