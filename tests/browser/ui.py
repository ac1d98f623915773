"""What a person does in Home Assistant's frontend, as Playwright steps (sync API).

Home Assistant's pages are web components; Playwright's role, text and CSS locators pierce
their (open) shadow roots. Every wait here is bounded by the context's default timeout
(15 s, see conftest) or an explicit one. The steps follow the frontend of the newest Home
Assistant release (the "newest" target, which the browser suite runs on).
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import time
from typing import TYPE_CHECKING, Any
import urllib.request

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Locator, Page, Request, Response

    from .ha_server import HomeAssistantServer

FLOW_API = "/api/config/config_entries/flow"
OPTIONS_FLOW_API = "/api/config/config_entries/options/flow"
DEEP_TEXT = """(element) => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeName === "STYLE" || node.nodeName === "SCRIPT") return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(element);
  return parts.join(" ").replace(/\\s+/g, " ").trim();
}"""
"""The visible words of an element, its shadow roots included (innerText stops at them)."""
PROVISION_TIMEOUT = 30_000
"""ms for a provisioning phase (connect, key exchange, configuration) to finish."""


def wait_until[T](
    probe: Callable[[], T | None],
    timeout: float,
    message: str | Callable[[], str],
    interval: float = 0.25,
) -> T:
    """Poll ``probe()`` until it returns something truthy (bounded by ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        if result := probe():
            return result
        if time.monotonic() > deadline:
            msg = f"after {timeout:.0f} s: {message() if callable(message) else message}"
            raise TimeoutError(msg)
        time.sleep(interval)


class FlowRecorder:
    """Every flow step the frontend fetched (REST), to check which steps were shown."""

    def __init__(self, page: Page, api: str = FLOW_API) -> None:
        """Listen to the page's responses to ``api`` (config or options flows) from now on."""
        self._api = api
        self._responses: list[Response] = []
        self._requests: list[tuple[float, Request]] = []
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_request(self, request: Request) -> None:
        if self._api in request.url and request.method == "POST":
            self._requests.append((time.time(), request))

    def _on_response(self, response: Response) -> None:
        if self._api in response.url and response.request.method in ("GET", "POST"):
            self._responses.append(response)

    def unanswered(self) -> list[str]:
        """The submits sent (wall time, URL) that got no response yet: a failure's report."""
        answered = {id(response.request) for response in self._responses}
        return [
            f"{time.strftime('%H:%M:%S', time.gmtime(sent))} UTC POST {request.url}"
            for sent, request in self._requests
            if id(request) not in answered
        ]

    def steps(self) -> list[dict[str, Any]]:
        """The step results so far (JSON of each flow response)."""
        steps = []
        for response in self._responses:
            try:
                body = response.json()
            except Exception:  # noqa: BLE001 - a body that is gone or not JSON
                continue
            if isinstance(body, dict) and "type" in body:
                steps.append(body)
        return steps

    def progress_actions(self) -> list[str]:
        """The progress actions shown, in order (repeats collapsed)."""
        actions: list[str] = []
        for step in self.steps():
            action = step.get("progress_action")
            if step.get("type") == "progress" and action and (not actions or actions[-1] != action):
                actions.append(action)
        return actions

    def result(self) -> dict[str, Any] | None:
        """The flow's end (the step that created an entry or aborted), once it came."""
        return next(
            (step for step in self.steps() if step["type"] in ("create_entry", "abort")), None
        )

    def clear(self) -> None:
        """Forget what was recorded (before the next flow)."""
        self._responses.clear()
        self._requests.clear()


class Ui:
    """The browser tab plus the running Home Assistant, with the steps the tests need."""

    def __init__(self, page: Page, server: HomeAssistantServer, screenshots: Path) -> None:
        """Wrap the page; screenshots go to ``screenshots``."""
        self.page = page
        self.server = server
        self.screenshots = screenshots
        self.flows = FlowRecorder(page)
        self.options_flows = FlowRecorder(page, OPTIONS_FLOW_API)

    # --- generic --------------------------------------------------------------------------

    @property
    def dialog(self) -> Locator:
        """The config flow dialog."""
        return self.page.locator("dialog-data-entry-flow")

    def dialog_text(self) -> str:
        """The text of the config flow dialog (title, description, errors, fields)."""
        return self.text_of(self.dialog)

    @staticmethod
    def text_of(locator: Locator) -> str:
        """The text of an element and everything in its shadow roots."""
        text = locator.evaluate(DEEP_TEXT)
        assert isinstance(text, str)
        return text

    def shot(self, name: str, *, dialog: bool = False) -> Path:
        """Save a PNG of the page (or of the dialog only) as ``<screenshots>/<name>.png``."""
        path = self.screenshots / f"{name}.png"
        # Let animations and late renders settle; nothing to wait for explicitly.
        self.page.wait_for_timeout(400)
        if dialog:
            self.dialog.locator("wa-dialog dialog").screenshot(path=path, animations="disabled")
        else:
            self.page.screenshot(path=path, animations="disabled")
        return path

    def access_token(self) -> str:
        """The logged-in user's access token, as the frontend holds it."""
        token = self.page.evaluate(
            "() => document.querySelector('home-assistant').hass.auth.data.access_token"
        )
        assert isinstance(token, str)
        assert token
        return token

    def api(self, path: str, data: dict[str, Any] | None = None) -> Any:
        """GET (or POST ``data`` to) /api/<path> with the user's token (loopback only)."""
        request = urllib.request.Request(
            f"{self.server.url}/api/{path}",
            data=json.dumps(data).encode() if data is not None else None,
            headers={
                "Authorization": f"Bearer {self.access_token()}",
                "Content-Type": "application/json",
            },
            method="POST" if data is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def call_service(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        """POST /api/services/<domain>/<service> with the user's token (loopback only)."""
        return self.api(f"services/{domain}/{service}", data)

    def state(self, entity_id: str) -> dict[str, Any]:
        """GET /api/states/<entity_id>: Home Assistant's state of an entity."""
        state = self.api(f"states/{entity_id}")
        assert isinstance(state, dict)
        return state

    def entity_id(self, domain: str, friendly_name: str, timeout: float = 30.0) -> str:
        """The entity of a domain with this friendly name (waits for it to exist)."""

        def find() -> str | None:
            for state in self.api("states"):
                if state["entity_id"].startswith(f"{domain}.") and (
                    state["attributes"].get("friendly_name") == friendly_name
                ):
                    return str(state["entity_id"])
            return None

        return wait_until(find, timeout, f"no {domain} entity named {friendly_name!r}")

    # --- the simulated nodes' own state -------------------------------------------------------

    def sim_node(self, device: str) -> dict[str, Any] | None:
        """A simulated node as the demo last saved it (``<config>/.ble_mesh_sim.json``).

        The demo has no action that reads a node back; it saves every node about 1 s after a
        change (``simulator/demo.py``, SAVE_DELAY), in the form of ``SimulatedNode.to_dict``.
        """
        path = self.server.config_dir / ".ble_mesh_sim.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):  # not written yet, or replaced right now
            return None
        nodes: dict[str, dict[str, Any]] = data.get("nodes") or {}
        return next((node for node in nodes.values() if node.get("name") == device), None)

    def sim_light(self, device: str, light: int = 0) -> dict[str, Any] | None:
        """One light of a simulated node (on, lightness, hue, saturation... as on the air)."""
        node = self.sim_node(device)
        if not node or not node.get("network"):
            return None
        lights = node["network"]["models"]["lights"]
        return lights[light] if light < len(lights) else None

    def wait_sim_light(
        self,
        device: str,
        check: Callable[[dict[str, Any]], bool],
        timeout: float = 15.0,
        light: int = 0,
    ) -> dict[str, Any]:
        """Wait until the saved light state satisfies ``check(state)``; return that state."""

        def probe() -> dict[str, Any] | None:
            state = self.sim_light(device, light)
            return state if state is not None and check(state) else None

        return wait_until(
            probe, timeout, lambda: f"{device}: saved state {self.sim_light(device, light)}"
        )

    # --- onboarding -------------------------------------------------------------------------

    def onboard(self, name: str, username: str, password: str) -> None:
        """Create the owner account and click through the remaining onboarding steps."""
        from playwright.sync_api import expect  # not at import: collecting needs no Playwright

        page = self.page
        page.goto(self.server.url)
        page.wait_for_url("**/onboarding.html*")
        page.get_by_role("button", name="Create my smart home").click()
        page.get_by_role("heading", name="Create user").wait_for()
        # Required fields are labelled "Name*".
        fields = {
            page.get_by_role("textbox", name=re.compile(rf"^{label}\*?$")): value
            for label, value in (
                ("Name", name),
                ("Username", username),
                ("Password", password),
                ("Confirm password", password),
            )
        }
        # The form re-renders while the first field is typed (it derives a username from
        # the name): type each field until the form holds all of them.
        for _attempt in range(5):
            for field, value in fields.items():
                if field.input_value() != value:
                    field.fill(value)
                    page.wait_for_timeout(150)
            if all(field.input_value() == value for field, value in fields.items()):
                break
        create = page.get_by_role("button", name="Create account")
        expect(create).to_be_enabled()
        self.shot("onboarding-user")
        create.click()
        # Home location (a map; its tiles are blocked), then country, then analytics.
        page.get_by_role("heading", name="Home location").wait_for()
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name=re.compile(r"^Country")).wait_for()
        page.get_by_role("button", name="Next").click()
        page.get_by_role("heading", name="Help us help you").wait_for()
        page.get_by_role("button", name="Next").click()
        # Compatible devices found on the network: the Bluetooth Mesh lights among them.
        page.get_by_role("button", name="Finish").wait_for()
        self.shot("onboarding-devices-found")
        page.get_by_role("button", name="Finish").click()
        page.wait_for_url(re.compile(r".*/(home|lovelace)/.*"), timeout=30_000)

    # --- devices & services -----------------------------------------------------------------

    def open_integrations(self) -> None:
        """Settings -> Devices & services, through the sidebar and the settings menu."""
        page = self.page
        if self.dialog.locator("ha-dialog").count():
            # Left open by a test that failed half-way: close it.
            self.dialog.get_by_role("button", name="Close").first.click()
            self.dialog.locator("ha-dialog").wait_for(state="detached")
        self.open_settings("Devices & services")
        page.wait_for_url("**/config/integrations**")
        page.get_by_role("button", name="Add integration").wait_for()

    def open_settings(self, item: str) -> None:
        """The sidebar's Settings, then one of its pages ("Devices & services"...)."""
        page = self.page
        page.locator("ha-sidebar").get_by_role("link", name="Settings").click()
        page.get_by_role("link", name=item).first.click()

    def open_mesh_page(self) -> None:
        """Settings -> Devices & services -> Bluetooth Mesh (the integration's own page)."""
        page = self.page
        self.open_integrations()
        page.get_by_role("link", name=re.compile(r"^Bluetooth Mesh\b")).first.click()
        page.wait_for_url("**/config/integrations/integration/ble_mesh")
        page.locator("ha-config-integration-page").wait_for()

    def offers(self) -> Locator:
        """The devices under "Discovered" on the Bluetooth Mesh page, each with its Add button."""
        return self.page.locator("ha-config-integration-page ha-list-item-base.discovered")

    def offer(self, light: str) -> Locator:
        """A light's entry under "Discovered" on the Bluetooth Mesh page."""
        return self.offers().filter(has_text=light)

    def delete_device(self, name: str) -> None:
        """From the Bluetooth Mesh page: the device's page, Device info's menu, Delete, confirm."""
        page = self.page
        page.locator("ha-config-integration-page").get_by_text(name, exact=True).first.click()
        page.wait_for_url("**/config/devices/device/**")
        page.locator("ha-device-info-card").get_by_role("button", name="Menu").click()
        page.get_by_role("menuitem", name="Delete").click()
        page.get_by_role("button", name="Delete", exact=True).click()  # "Are you sure?"
        # The page stays, and says so once the integration has removed the device.
        page.get_by_text("Device / service not found").wait_for(timeout=30_000)

    def discovered_card(self, light: str) -> Locator:
        """The "Discovered" card of a light."""
        return self.page.locator("ha-config-flow-card").filter(has_text=light)

    def start_flow(self, light: str) -> None:
        """Click Add on the light's discovered card; the dialog opens."""
        self.flows.clear()
        self.discovered_card(light).get_by_role("button", name="Add").click()
        self.heading().wait_for()

    def heading(self) -> Locator:
        """The dialog's title."""
        return self.dialog.locator("[slot=headerTitle]")

    def open_options(self, integration: str = "ble_mesh") -> None:
        """The integration's page, then *Configure* on its (first) entry: the options dialog."""
        self.options_flows.clear()
        self.page.goto(f"{self.server.url}/config/integrations/integration/{integration}")
        self.page.get_by_role("button", name="Configure").first.click()
        self.heading().wait_for()

    def wait_heading(self, text: str | re.Pattern[str], timeout: float = PROVISION_TIMEOUT) -> None:
        """Wait until the dialog shows a step with this title."""
        from playwright.sync_api import expect  # not at import: collecting needs no Playwright

        expect(self.heading()).to_have_text(text, timeout=timeout)

    def wait_text(self, text: str | re.Pattern[str], timeout: float = PROVISION_TIMEOUT) -> Locator:
        """Wait until the dialog shows this text (descriptions are rendered asynchronously)."""
        locator = self.dialog.get_by_text(text).first
        locator.wait_for(timeout=timeout)
        return locator

    def submit(self, label: str = "Submit") -> None:
        """Press the dialog's submit button (a step may give it its own label)."""
        self.dialog.get_by_role("button", name=label).click()

    def upload(self, path: Path) -> None:
        """Pick a file for the dialog's file field and wait until its upload has finished.

        While it uploads, the field already says "Uploading <name>": waiting for the name alone
        lets a slow machine submit the form before the file id is in it. Once uploaded the
        field shows the name in its value row, with a delete button.
        """
        self.dialog.locator("input[type=file]").set_input_files(path)
        field = self.dialog.locator("ha-file-upload")
        field.locator("div.value", has_text=path.name).wait_for(timeout=PROVISION_TIMEOUT)
        field.locator("ha-icon-button").wait_for(timeout=PROVISION_TIMEOUT)

    def choose_method(self, label: str | re.Pattern[str]) -> None:
        """Select an authentication method on the method step."""
        self.dialog.get_by_role("radio", name=label).check()

    def fill(self, label: str | re.Pattern[str], value: str) -> None:
        """Type into a text field of the dialog."""
        self.dialog.get_by_role("textbox", name=label).fill(value)

    def wait_flow_result(self, timeout: float) -> dict[str, Any]:
        """Wait for the end of the current flow; return its result."""
        return wait_until(
            self.flows.result, timeout, lambda: f"no flow result; dialog: {self.dialog_text()}"
        )

    def close_dialog(self) -> None:
        """Finish (or "Skip and finish" after a new entry) or Close, whichever is offered."""
        finish = self.dialog.get_by_role("button", name=re.compile(r"^(Skip and )?finish$", re.I))
        if finish.count():
            finish.click()
        else:
            self.dialog.get_by_role("button", name="Close").first.click()
        self.dialog.locator("ha-dialog").wait_for(state="detached")

    # --- the simulated lights ---------------------------------------------------------------

    def light_log_info(self, light: str) -> dict[str, str]:
        """What the demo logged at start about a light: its address, UUID and QR text."""
        match = self.server.wait_for_log(
            rf"Simulated mesh light '{re.escape(light)}' \((?P<profile>\w+), (?P<oob>[^)]*\)?)\): "
            r".*address (?P<address>[0-9A-F:]+), UUID (?P<uuid>[0-9a-f-]+); "
            r"QR text: (?P<qr>\S+)"
        )
        return match.groupdict()

    def output_value(self, light: str, after: int) -> str:
        """What a light outputs (Output OOB), from the log written after offset ``after``.

        The demo logs "<light> shows 1234", "<light> blinks 3 times" or "<light> beeps once".
        """
        match = self.server.wait_for_log(
            rf"{re.escape(light)} (?:shows (?P<value>\S+)|(?:blinks|beeps|vibrates) "
            r"(?:(?P<count>\d+) times|(?P<once>once))) \(Output OOB",
            timeout=20,
            start=after,
        )
        if match["once"]:
            return "1"
        return match["value"] or match["count"]
