"""Repository metadata checks that replicate HACS's and hassfest's rules offline.

hassfest cannot be installed here (it runs from a Docker image), so these tests check the rules
it enforces on a custom integration: manifest keys and order, matchers, translations.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "ble_mesh"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: JSON keeps only the last of repeated keys."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert not repeated, f"repeated keys {repeated}: all but the last are silently lost"
    return dict(pairs)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)


@pytest.fixture(name="manifest")
def manifest_fixture() -> dict[str, Any]:
    data: dict[str, Any] = _json(INTEGRATION / "manifest.json")
    return data


def test_exactly_one_integration_folder() -> None:
    folders = [
        p.name
        for p in (ROOT / "custom_components").iterdir()
        if p.is_dir() and not p.name.startswith("__")
    ]
    assert folders == ["ble_mesh"]


def test_only_one_manifest_in_the_repository() -> None:
    # hassfest's action validates every manifest.json it finds.
    found = [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("manifest.json")
        if not {".venv", "config", ".git", "node_modules"} & set(p.relative_to(ROOT).parts)
    ]
    assert found == ["custom_components/ble_mesh/manifest.json"]


def test_manifest_key_order(manifest: dict[str, Any]) -> None:
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_contents(manifest: dict[str, Any]) -> None:
    assert manifest["domain"] == INTEGRATION.name == "ble_mesh"
    assert manifest["name"] == "Bluetooth Mesh"
    assert manifest["config_flow"] is True
    assert "bluetooth_adapters" in manifest["dependencies"]
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "local_push"
    assert manifest["documentation"].startswith("https://")
    assert "home-assistant.io" not in manifest["documentation"]
    assert manifest["issue_tracker"].startswith("https://")
    assert manifest["codeowners"]
    assert all(c.startswith("@") for c in manifest["codeowners"])
    assert manifest["loggers"] == ["custom_components.ble_mesh"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=]+", r) for r in manifest["requirements"])
    # Every target installs exactly what the manifest asks for (requirements/common.txt).
    common = _pins(ROOT / "requirements" / "common.txt")
    for requirement in manifest["requirements"]:
        name, version = requirement.split("==")
        assert common[name.lower()] == version, requirement
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])


def test_bluetooth_matchers(manifest: dict[str, Any]) -> None:
    uuids = {m["service_uuid"] for m in manifest["bluetooth"]}
    assert uuids == {
        "00001827-0000-1000-8000-00805f9b34fb",  # Mesh Provisioning service
        "00001828-0000-1000-8000-00805f9b34fb",  # Mesh Proxy service
    }
    for matcher in manifest["bluetooth"]:
        assert matcher["connectable"] is True
        assert matcher["service_uuid"] == matcher["service_uuid"].lower()


def _pins(path: Path) -> dict[str, str]:
    """name -> version of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in path.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip()):
            pins[match[1].lower()] = match[2]
    return pins


def test_hacs_json() -> None:
    hacs = _json(ROOT / "hacs.json")
    assert hacs["name"] == "Bluetooth Mesh"
    # The minimum HACS lets users install on is the release the "minimum" target tests.
    assert hacs["homeassistant"] == _pins(ROOT / "requirements" / "minimum.txt")["homeassistant"]
    assert hacs["render_readme"] is True
    assert set(hacs) <= {
        "name",
        "homeassistant",
        "render_readme",
        "hacs",
        "country",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "persistent_directory",
    }


def test_strings_equal_english_translation() -> None:
    assert _json(INTEGRATION / "strings.json") == _json(INTEGRATION / "translations" / "en.json")


def _flow_keys(source: str, call: str, argument: str) -> set[str]:
    return set(re.findall(rf"{call}\([^)]*?{argument}=\"([a-z_]+)\"", source, re.S))


def test_every_flow_key_is_translated() -> None:
    # pytest-homeassistant-custom-component has no check_translations fixture, so check here
    # that every step, error and abort reason the flow can produce has a string.
    strings = _json(INTEGRATION / "strings.json")["config"]
    source = (INTEGRATION / "config_flow.py").read_text(encoding="utf-8")
    steps = _flow_keys(source, "async_show_form", "step_id") | _flow_keys(
        source, "async_show_progress", "step_id"
    )
    assert steps, "no steps found: the pattern is stale"
    assert steps <= set(strings["step"])
    aborts = _flow_keys(source, "async_abort", "reason") | {
        "already_configured",
        "already_in_progress",
    }
    assert aborts <= set(strings.get("abort", {}))
    errors = set(re.findall(r'errors\[[^]]+\]\s*=\s*"([a-z_]+)"', source))
    assert errors <= set(strings.get("error", {}))
    for step in strings["step"].values():
        for field in step.get("data", {}):
            assert field in step.get("data_description", {}), f"{field} lacks data_description"


def test_every_options_flow_key_is_translated() -> None:
    strings = _json(INTEGRATION / "strings.json")["options"]
    source = (INTEGRATION / "options_flow.py").read_text(encoding="utf-8")
    # Every step has a handler and a text, and the reverse: a result step is shown by its id
    # (``self._result``), so the handlers are the list. Three handlers only start work.
    handlers = set(re.findall(r"async def async_step_([a-z_]+)\(", source))
    assert {"init", "create_group", "group_created", "remove_node", "node_removed"} <= handlers
    assert handlers - {"finish", "key_refresh", "search_remote"} == set(strings["step"])
    # The options dialog shows an abort without a title: every ending is a result step.
    assert "async_abort" not in source
    assert "abort" not in strings
    for step_id, step in strings["step"].items():
        if step_id.startswith(("group_", "node_removed", "switch_target_set", "remote_")):
            assert step["title"], step_id
            assert step["submit"] == "Finish", step_id
            assert "data" not in step, step_id
    errors = set(re.findall(r'errors\[[^]]+\]\s*=\s*"([a-z_]+)"', source))
    errors |= set(re.findall(r'state\.error = "([a-z_]+)"', source))
    assert "node_no_reply" in errors
    assert errors <= set(strings["error"])
    actions = set(re.findall(r'_async_start\(\s*"([a-z_]+)"', source))
    assert actions == {
        "create_group",
        "delete_group",
        "remove_node",
        "key_refresh",
        "wall_switch",
        "search_remote",
    }
    assert actions <= set(strings["progress"])
    for step in strings["step"].values():
        for field in step.get("data", {}):
            assert field in step.get("data_description", {}), f"{field} lacks data_description"


def test_fixable_issues_have_a_fix_flow_text() -> None:
    from custom_components.ble_mesh.configuration import NODE_NOT_RESET

    issue = _json(INTEGRATION / "strings.json")["issues"][NODE_NOT_RESET]
    confirm = issue["fix_flow"]["step"]["confirm"]
    assert issue["title"]
    assert confirm["title"]
    assert f"**{confirm['submit']}**" in confirm["description"]  # names its button
    assert "description" not in issue  # hassfest: a fixable issue's text is its flow's


def test_brand_icon_present() -> None:
    icon = INTEGRATION / "brand" / "icon.png"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_license_is_apache() -> None:
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]


def test_engine_is_free_of_home_assistant_and_io_imports() -> None:
    forbidden = re.compile(
        r"^\s*(from|import)\s+(homeassistant|bleak|bleak_retry_connector|habluetooth|asyncio)\b",
        re.M,
    )
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in (INTEGRATION / "mesh").rglob("*.py")
        if forbidden.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_translation_key_in_code_exists() -> None:
    strings = _json(INTEGRATION / "strings.json")
    known = (
        set(strings.get("exceptions", {}))
        | set(strings.get("issues", {}))
        | set(strings.get("selector", {}))
    )
    for section in strings.get("entity", {}).values():
        known |= set(section)
    used: set[str] = set()
    for path in INTEGRATION.glob("*.py"):
        used |= set(re.findall(r'translation_key="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert used, "no translation keys found: the pattern is stale"
    assert used <= known, f"untranslated: {sorted(used - known)}"


def test_every_provisioning_failure_has_a_message() -> None:
    from custom_components.ble_mesh.mesh.provisioning import FailureReason

    errors = set(_json(INTEGRATION / "strings.json")["config"]["error"])
    assert {reason.value for reason in FailureReason} <= errors
    # Link problems reported by the GATT layer.
    link = set(re.findall(r'LinkError\("([a-z_]+)"', (INTEGRATION / "proxy_link.py").read_text()))
    link |= set(
        re.findall(
            r'link_error = "([a-z_]+)"', (INTEGRATION / "provisioning_session.py").read_text()
        )
    )
    assert link
    assert link <= errors


def test_progress_actions_are_translated() -> None:
    # The config flow's only progress steps wait for a person (Input OOB, one text per kind
    # of input); no other progress text is left behind.
    from custom_components.ble_mesh.config_flow import INPUT_ACTION_KEYS

    strings = _json(INTEGRATION / "strings.json")["config"]
    source = (INTEGRATION / "config_flow.py").read_text(encoding="utf-8")
    assert re.findall(r'_wait_for_person\(f?"([a-z_]+)', source) == ["input_oob_"]
    assert set(strings["progress"]) == {f"input_oob_{key}" for key in INPUT_ACTION_KEYS.values()}


def test_selector_options_are_translated() -> None:
    from custom_components.ble_mesh.config_flow import METHODS

    strings = _json(INTEGRATION / "strings.json")
    assert set(METHODS) == set(strings["selector"]["method"]["options"])


QUALITY_RULES = {
    # bronze
    "action-setup",
    "appropriate-polling",
    "brands",
    "common-modules",
    "config-flow-test-coverage",
    "config-flow",
    "dependency-transparency",
    "docs-actions",
    "docs-high-level-description",
    "docs-installation-instructions",
    "docs-removal-instructions",
    "entity-event-setup",
    "entity-unique-id",
    "has-entity-name",
    "runtime-data",
    "test-before-configure",
    "test-before-setup",
    "unique-config-entry",
    # silver
    "action-exceptions",
    "config-entry-unloading",
    "docs-configuration-parameters",
    "docs-installation-parameters",
    "entity-unavailable",
    "integration-owner",
    "log-when-unavailable",
    "parallel-updates",
    "reauthentication-flow",
    "test-coverage",
    # gold
    "devices",
    "diagnostics",
    "discovery-update-info",
    "discovery",
    "docs-data-update",
    "docs-examples",
    "docs-known-limitations",
    "docs-supported-devices",
    "docs-supported-functions",
    "docs-troubleshooting",
    "docs-use-cases",
    "dynamic-devices",
    "entity-category",
    "entity-device-class",
    "entity-disabled-by-default",
    "entity-translations",
    "exception-translations",
    "icon-translations",
    "reconfiguration-flow",
    "repair-issues",
    "stale-devices",
    # platinum
    "async-dependency",
    "inject-websession",
    "strict-typing",
}


def test_quality_scale_states_every_rule() -> None:
    import yaml

    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == QUALITY_RULES
    for name, value in rules.items():
        if isinstance(value, dict):
            assert value["status"] in {"done", "todo", "exempt"}, name
            if value["status"] == "exempt":
                assert value.get("comment"), f"{name}: an exemption needs a reason"
        else:
            assert value in {"done", "todo"}, name


def test_icons_cover_entity_translation_keys() -> None:
    icons = _json(INTEGRATION / "icons.json")
    strings = _json(INTEGRATION / "strings.json")
    for platform, keys in strings.get("entity", {}).items():
        assert set(keys) <= set(icons["entity"][platform])


def test_services_are_described_translated_and_have_icons() -> None:
    import yaml

    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    strings = _json(INTEGRATION / "strings.json")["services"]
    icons = _json(INTEGRATION / "icons.json")["services"]
    assert set(services) == set(strings) == set(icons)
    for name, service in services.items():
        assert set(service.get("fields", {})) == set(strings[name].get("fields", {})), name
        assert strings[name]["name"]
        assert strings[name]["description"]
    source = (INTEGRATION / "services.py").read_text(encoding="utf-8")
    registered = set(re.findall(r'^SERVICE_[A-Z_]+ = "([a-z_]+)"', source, re.M))
    assert registered == set(services)


def test_every_json_file_has_unique_keys() -> None:
    """A merge that repeats a block (``"binary_sensor": {...}`` twice) loses the first one."""
    files = [*sorted(INTEGRATION.rglob("*.json")), ROOT / "hacs.json"]
    assert INTEGRATION / "icons.json" in files
    for path in files:
        assert _json(path) is not None, path
