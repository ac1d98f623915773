"""Config flow: creating and importing a network, and discovery before any network exists."""

from __future__ import annotations

import json
from pathlib import Path
import threading
from typing import Any
import uuid

from homeassistant import config_entries
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.const import (
    CONF_MESH_UUID,
    DOMAIN,
    PROVISIONER_NAME,
)
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.mesh.node import NodeState

from .flows import Uploader

FIXTURE = Path(__file__).parent.parent / "fixtures" / "nrf_mesh_export.json"
FIXTURE_MESH_UUID = "8f2d4c1a5b6e4f709a1b2c3d4e5f6a7b"
FIXTURE_MESH_UUID_TEXT = "8F2D4C1A-5B6E-4F70-9A1B-2C3D4E5F6A7B"


async def _start_user_flow(hass: HomeAssistant, option: str) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["create_network", "import_network"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": option}
    )


def _stored_network(hass_storage: dict[str, Any], mesh_uuid: str) -> MeshNetwork:
    return MeshNetwork.from_json(hass_storage[f"{DOMAIN}.{mesh_uuid}"]["data"])


async def test_user_creates_network(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    result = await _start_user_flow(hass, "create_network")
    assert result["step_id"] == "create_network"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "  Living room  "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Living room"
    mesh_uuid = result["data"][CONF_MESH_UUID]
    assert result["data"] == {CONF_MESH_UUID: mesh_uuid}  # no keys in the entry
    assert result["result"].unique_id == mesh_uuid

    network = _stored_network(hass_storage, mesh_uuid)
    assert network.mesh_name == "Living room"
    assert len(network.net_keys) == 1
    assert len(network.app_keys) == 1
    assert network.local_provisioner is not None
    assert network.local_provisioner.name == PROVISIONER_NAME
    # The IV Index is the node's state, not the database's (one home for each value).
    assert "ivIndex" not in hass_storage[f"{DOMAIN}.{mesh_uuid}"]["data"]["x-ble-mesh"]
    # The keys are stored, and nowhere in the entry.
    entry_dump = json.dumps(result["result"].as_dict())
    assert network.net_keys[0].key.hex() not in entry_dump.lower()


async def test_blank_name_gets_default(hass: HomeAssistant) -> None:
    result = await _start_user_flow(hass, "create_network")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_NAME: " "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home mesh"


async def test_import_network_from_nrf_export(
    hass: HomeAssistant, upload: Uploader, hass_storage: dict[str, Any]
) -> None:
    result = await _start_user_flow(hass, "import_network")
    assert result["step_id"] == "import_network"
    file_id = await upload(FIXTURE.read_bytes())
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"file": file_id})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home Mesh"
    assert result["data"] == {CONF_MESH_UUID: FIXTURE_MESH_UUID}

    network = _stored_network(hass_storage, FIXTURE_MESH_UUID)
    ours = network.local_provisioner
    assert ours is not None
    assert ours.name == PROVISIONER_NAME
    # Home Assistant's range overlaps neither of the two existing provisioners.
    others = [p for p in network.provisioners if p.uuid != ours.uuid]
    assert len(others) == 2
    for mine in ours.unicast_ranges:
        for other in (r for p in others for r in p.unicast_ranges):
            assert mine.high < other.low or mine.low > other.high
    await hass.async_block_till_done()


@pytest.mark.parametrize(("typed", "stored"), [({}, (0, False)), ({"iv_index": 100}, (100, True))])
async def test_import_takes_the_iv_index_or_waits_for_a_beacon(
    hass: HomeAssistant,
    upload: Uploader,
    hass_storage: dict[str, Any],
    typed: dict[str, int],
    stored: tuple[int, bool],
) -> None:
    """A Mesh CDB file has no IV Index: the optional field gives it; left empty, Home
    Assistant's node starts with it unknown (the first authenticated beacon sets it)."""
    result = await _start_user_flow(hass, "import_network")
    file_id = await upload(FIXTURE.read_bytes())
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": file_id, **typed}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    state = NodeState.from_json(hass_storage[f"{DOMAIN}.{FIXTURE_MESH_UUID}.state"]["data"])
    assert (state.iv.iv_index, state.iv.known) == stored
    assert state.sequence == {"iv_index": stored[0], "seq": 0}
    await hass.async_block_till_done()


async def test_import_same_network_twice_aborts(hass: HomeAssistant, upload: Uploader) -> None:
    MockConfigEntry(
        domain=DOMAIN, unique_id=FIXTURE_MESH_UUID, data={CONF_MESH_UUID: FIXTURE_MESH_UUID}
    ).add_to_hass(hass)
    result = await _start_user_flow(hass, "import_network")
    file_id = await upload(FIXTURE.read_bytes())
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"file": file_id})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("content", "error", "detail"),
    [
        (b"\xff\xfe not text", "invalid_file", ""),
        (b"{ not json", "invalid_network", "JSON"),
        (
            FIXTURE.read_text().replace(FIXTURE_MESH_UUID_TEXT, "not-a-uuid").encode(),
            "invalid_network",
            "meshUUID",
        ),
    ],
)
async def test_import_bad_file_then_retry(
    hass: HomeAssistant, upload: Uploader, content: bytes, error: str, detail: str
) -> None:
    result = await _start_user_flow(hass, "import_network")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(content)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert detail in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)  # nothing stored

    # The user picks the right file and the import goes through.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(FIXTURE.read_bytes())}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_import_without_free_range(hass: HomeAssistant, upload: Uploader) -> None:
    data = json.loads(FIXTURE.read_text())
    # Another provisioner already owns the whole unicast space.
    data["provisioners"][1]["allocatedUnicastRange"] = [
        {"lowAddress": "199B", "highAddress": "7FFF"}
    ]
    result = await _start_user_flow(hass, "import_network")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(json.dumps(data).encode())}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_free_range"}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _with(field: str, value_json: str) -> bytes:
    """The fixture with an unknown field on its second node, given as raw JSON text."""
    data = json.loads(FIXTURE.read_text())
    data["nodes"][1][field] = "@@value@@"
    return json.dumps(data).replace('"@@value@@"', value_json).encode()


@pytest.mark.parametrize(
    ("content", "error", "path"),
    [
        (_with("vendorSerial", "1" * 100), "unstorable_number", "nodes[1].vendorSerial"),
        (_with("vendorLevel", "NaN"), "unstorable_number", "nodes[1].vendorLevel"),
        (_with("vendorLevel", "[1, -Infinity]"), "unstorable_number", "nodes[1].vendorLevel[1]"),
        (_with("vendorName", '"\\ud800"'), "unstorable_text", "nodes[1].vendorName"),
        (_with("vendorData", _nested(400)), "unstorable_depth", "nodes[1].vendorData[0]…"),
        (_with("vendorData", _nested(5000)), "unstorable_depth", "nodes[1].vendorData[0]…"),
    ],
    ids=["100-digit-int", "nan", "infinity", "lone-surrogate", "400-deep", "5000-deep"],
)
async def test_import_refuses_what_cannot_be_stored(
    hass: HomeAssistant,
    upload: Uploader,
    hass_storage: dict[str, Any],
    content: bytes,
    error: str,
    path: str,
) -> None:
    """Home Assistant's Store would log "Failed to serialize" (or write null for NaN) and
    keep nothing: the form says what and where instead, and nothing is created."""
    result = await _start_user_flow(hass, "import_network")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(content)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"]["path"] == path
    assert result["description_placeholders"]["limit"] == "254"
    assert not hass.config_entries.async_entries(DOMAIN)
    assert f"{DOMAIN}.{FIXTURE_MESH_UUID}" not in hass_storage


async def test_import_deeper_than_python_reads_is_a_form_error(
    hass: HomeAssistant, upload: Uploader
) -> None:
    """Nesting too deep for Python's own JSON reader is refused too, not a crash."""
    result = await _start_user_flow(hass, "import_network")
    content = _with("vendorData", _nested(200_000))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(content)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_network"}
    assert "nested too deeply" in result["description_placeholders"]["error"]
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_a_large_import_is_parsed_off_the_event_loop(
    hass: HomeAssistant,
    upload: Uploader,
    hass_storage: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A network of a thousand nodes takes seconds to read and to write as JSON: never on the
    event loop, neither in the import (its parse and first write) nor when the entry loads it."""
    data = json.loads(FIXTURE.read_text())
    template = data["nodes"][1]
    for n in range(1000):
        node = json.loads(json.dumps(template))
        node["UUID"] = str(uuid.UUID(int=n + 1)).upper()
        node["unicastAddress"] = f"{0x2000 + 2 * n:04X}"
        node["name"] = f"Light {n}"
        data["nodes"].append(node)
    threads: list[int] = []
    parse = MeshNetwork.from_json.__func__  # type: ignore[attr-defined]

    def recording_parse(cls: type[MeshNetwork], document: Any) -> MeshNetwork:
        threads.append(threading.get_ident())
        return parse(cls, document)  # type: ignore[no-any-return]

    writes: list[int] = []
    write = MeshNetwork.to_json

    def recording_write(network: MeshNetwork, **kwargs: Any) -> dict[str, Any]:
        writes.append(threading.get_ident())
        return write(network, **kwargs)

    monkeypatch.setattr(MeshNetwork, "from_json", classmethod(recording_parse))
    monkeypatch.setattr(MeshNetwork, "to_json", recording_write)
    result = await _start_user_flow(hass, "import_network")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"file": await upload(json.dumps(data).encode())}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["result"].state is config_entries.ConfigEntryState.LOADED
    nodes = result["result"].runtime_data.network.nodes
    assert sum(1 for node in nodes if (node.name or "").startswith("Light ")) == 1000
    assert len(threads) >= 2  # the import, then the entry's setup
    assert hass.loop_thread_id not in threads
    assert writes[0] != hass.loop_thread_id  # the import's write (later ones are small changes)
