"""A real Home Assistant process for the browser tests, started the way ``scripts/develop`` does.

``scripts/develop`` prepares ``config/`` in the repository and runs ``hass --config config``.
:class:`HomeAssistantServer` does the same in a fresh temporary directory:

* ``configuration.yaml`` is the repository's ``config/configuration.yaml`` (the demo: the real
  frontend, the Bluetooth stack and the simulated lights of ``ble_mesh_sim``), plus an ``http:``
  block that binds a free port on the loopback interface only;
* ``automations.yaml``, ``scripts.yaml`` and ``scenes.yaml`` start as empty lists;
* ``custom_components/ble_mesh`` is a symlink to the repository's integration;
* ``custom_components/ble_mesh_sim`` is a copy of ``simulator/ha_demo/ble_mesh_sim`` with its
  ``manifest.json.template`` renamed, and ``custom_components/__init__.py`` exists;
* ``PYTHONPATH`` starts with the repository root, so that ``simulator`` is importable.

The process runs in its own process group; :meth:`stop` terminates the whole group (and kills
it if Home Assistant does not stop in time). Its output goes to ``hass.log`` in the directory,
where the tests read what the simulated lights "show".
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = ROOT / "config" / "configuration.yaml"
SIM_PACKAGE = ROOT / "simulator" / "ha_demo" / "ble_mesh_sim"
HASS = Path(sys.executable).with_name("hass")

FALLBACK_CONFIG = """\
# Written by tests/browser/ha_server.py: config/configuration.yaml was not found.
frontend:
config:
bluetooth:
ble_mesh_sim:
logger:
  default: info
  logs:
    custom_components.ble_mesh: debug
    simulator: info
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_config_dir(config_dir: Path, port: int) -> None:
    """Lay out a configuration directory exactly as scripts/develop lays out config/."""
    config_dir.mkdir(parents=True, exist_ok=True)
    text = REPO_CONFIG.read_text() if REPO_CONFIG.exists() else FALLBACK_CONFIG
    if re.search(r"^http:", text, flags=re.MULTILINE):
        msg = "config/configuration.yaml has an http: block; the browser tests add their own"
        raise RuntimeError(msg)
    text += (
        "\n# Added by the browser tests: loopback only, a free port.\n"
        f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n"
    )
    (config_dir / "configuration.yaml").write_text(text)
    for name in ("automations.yaml", "scripts.yaml", "scenes.yaml"):
        path = config_dir / name
        if not path.exists():
            path.write_text("[]\n")
    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    (components / "__init__.py").touch()
    link = components / "ble_mesh"
    if not link.exists():
        link.symlink_to(ROOT / "custom_components" / "ble_mesh")
    sim = components / "ble_mesh_sim"
    shutil.rmtree(sim, ignore_errors=True)
    sim.mkdir()
    for source in SIM_PACKAGE.iterdir():
        if source.name.endswith(".template"):
            shutil.copy(source, sim / source.name.removesuffix(".template"))
        elif source.suffix in (".py", ".yaml"):
            shutil.copy(source, sim / source.name)


class HomeAssistantServer:
    """``hass --config DIR`` on http://127.0.0.1:PORT in its own process group."""

    def __init__(self, config_dir: Path, port: int | None = None) -> None:
        """Prepare the directory; :meth:`start` runs Home Assistant."""
        self.config_dir = config_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = config_dir / "hass.log"
        self.process: subprocess.Popen[bytes] | None = None
        build_config_dir(config_dir, self.port)

    def start(self, timeout: float = 120.0) -> None:
        """Start Home Assistant and wait until its HTTP server answers (or fail)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        # No proxy: everything is on the loopback interface.
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(var, None)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(HASS), "--config", str(self.config_dir)],
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
