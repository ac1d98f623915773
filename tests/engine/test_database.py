"""Tests of the Mesh Configuration Database (MshCDB 1.0.1) module."""

from __future__ import annotations

from collections.abc import Callable
import copy
from itertools import pairwise
import json
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.database import (
    EXTENSION_KEY,
    AddressRange,
    AllocationError,
    CdbElement,
    CdbFormatError,
    CdbProvisioner,
    DatabaseError,
    MeshNetwork,
    Node,
    NodeKey,
    SceneRange,
    Security,
    address_value,
    load_valid_part,
    parse_document,
)
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError
from custom_components.ble_mesh.mesh.models.config import FeatureState
from custom_components.ble_mesh.mesh.network import KeyRefreshPhase
from tests.sig_vectors import ids, vectors

FIXTURE = Path(__file__).parent.parent / "fixtures" / "nrf_mesh_export.json"
P1 = UUID("3B1E9C52-7A4D-4E8B-9F21-6C0D5A8E4B17")  # nRF Mesh Provisioner, has a node at 0001
P2 = UUID("C7A9F0E4-2B5D-4C61-8E3F-9A1B7D2C5E80")  # Tablet, no node of its own
KITCHEN = UUID("70CF7C97-32A3-45B6-9149-4810D2E9CBF4")
HALL = UUID("A1B2C3D4-E5F6-4718-8293-A4B5C6D7E8F9")
SWITCH = UUID("5E8D2F71-0C4A-4B93-A6E5-D17F38C92B04")
NOW = "2026-11-26T00:00:00+00:00"


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def network() -> MeshNetwork:
    return MeshNetwork.from_json(load())


def new_node(uuid: str, address: int, elements: int = 1) -> Node:
    return Node(
        uuid=UUID(uuid),
        unicast_address=address,
        device_key=bytes(16),
        net_keys=[NodeKey(0)],
        elements=[CdbElement(index=i) for i in range(elements)],
    )


# ---- import and round trip -------------------------------------------------------------------


def test_fixture_imports_every_part() -> None:
    net = network()
    assert net.mesh_name == "Home Mesh"
    assert net.mesh_uuid == UUID("8F2D4C1A-5B6E-4F70-9A1B-2C3D4E5F6A7B")
    assert not net.partial
    assert net.version == "1.0.1"
    assert [k.index for k in net.net_keys] == [0]
    assert net.net_keys[0].phase is KeyRefreshPhase.NORMAL
    assert net.net_keys[0].old_key is None
    assert net.net_keys[0].min_security is Security.INSECURE
    assert len(net.net_keys[0].key) == 16
    assert [(k.index, k.bound_net_key, k.name) for k in net.app_keys] == [
        (0, 0, "Application Key 1"),
        (1, 0, "Lights"),
    ]
    assert [p.name for p in net.provisioners] == ["nRF Mesh Provisioner", "Tablet"]
    assert [(r.low, r.high) for r in net.provisioners[1].unicast_ranges] == [
        (0x199B, 0x3334),
        (0x7000, 0x70FF),
    ]
    assert [(r.first, r.last) for r in net.provisioners[0].scene_ranges] == [(1, 0x3333)]
    assert [n.unicast_address for n in net.nodes] == [0x0001, 0x0002, 0x0004, 0x199B]
    assert [(g.address, g.parent_address) for g in net.groups] == [(0xC000, 0), (0xC001, 0xC000)]
    assert [(s.number, s.addresses) for s in net.scenes] == [(1, [0x0002, 0x0004])]
    assert net.network_exclusions is not None
    assert [(e.iv_index, e.addresses) for e in net.network_exclusions] == [(0, [0x0006])]
    assert net.extension is None


def test_fixture_node_details() -> None:
    net = network()
    kitchen = net.node_by_uuid(KITCHEN)
    assert kitchen is not None
    assert kitchen.name == "Kitchen Light"
    assert (kitchen.cid, kitchen.pid, kitchen.vid, kitchen.crpl) == (0x0059, 1, 2, 0x28)
    assert kitchen.features is not None
    assert kitchen.features.relay is FeatureState.ENABLED
    assert kitchen.features.low_power is FeatureState.NOT_SUPPORTED
    assert kitchen.network_transmit is not None
    assert (kitchen.network_transmit.count, kitchen.network_transmit.interval) == (3, 20)
    assert kitchen.element_count == 2
    assert list(kitchen.addresses) == [0x0002, 0x0003]
    onoff = kitchen.elements[0].model(0x1000)
    assert onoff is not None
    assert onoff.bind == [1]
    assert onoff.subscribe == [0xC000, 0xC001]
    assert onoff.publish is not None
    assert onoff.publish.address == 0xC000
    assert onoff.publish.ttl == 255
    assert onoff.publish.period.milliseconds == 0
    vendor = kitchen.elements[1].model(0x0001, company_id=0x0059)
    assert vendor is not None
    assert vendor.is_vendor
    assert kitchen.heartbeat_pub is not None
    assert kitchen.heartbeat_pub.features == ["relay", "proxy"]
    assert kitchen.heartbeat_sub is not None
    assert (kitchen.heartbeat_sub.source, kitchen.heartbeat_sub.destination) == (4, 2)

    hall = net.node_by_uuid(HALL)
    assert hall is not None
    model = hall.elements[0].model(0x1000)
    assert model is not None
    assert model.subscribe[0] == UUID("0073E7E4D8B9440FAF8415DF4C56C0E1")  # virtual label
    assert model.publish is not None
    assert model.publish.period.milliseconds == 60_000
    assert model.publish.credentials == 1
    assert (model.publish.retransmit.count, model.publish.retransmit.interval) == (2, 150)


def test_round_trip_equals_input_exactly() -> None:
    data = load()
    net = MeshNetwork.from_json(data)
    assert net.to_json() == data
    # Key order is kept too, so the re-dumped text is byte-identical.
    assert net.to_json_text(indent=2) + "\n" == FIXTURE.read_text()
    # Parsing the output again gives an equal network.
    assert MeshNetwork.from_json(net.to_json()) == net


def test_from_json_accepts_text() -> None:
    assert MeshNetwork.from_json(FIXTURE.read_text()) == network()


def test_import_does_not_alias_input() -> None:
    data = load()
    before = copy.deepcopy(data)
    net = MeshNetwork.from_json(data)
    net.to_json()["nodes"][0]["name"] = "changed"
    net.nodes[0].name = "also changed"
    assert data == before


def _add_unknown_fields(value: Any, counter: list[int]) -> None:
    if isinstance(value, dict):
        for child in list(value.values()):
            _add_unknown_fields(child, counter)
        counter[0] += 1
        value[f"x-unknown-{counter[0]}"] = {"kept": [counter[0], None, True]}
    elif isinstance(value, list):
        for child in value:
            _add_unknown_fields(child, counter)


def test_unknown_fields_at_every_level_are_kept() -> None:
    data = load()
    counter = [0]
    _add_unknown_fields(data, counter)
    assert counter[0] > 50  # every object of the fixture got one
    out = MeshNetwork.from_json(data).to_json()
    assert out == data
    assert json.dumps(out) == json.dumps(data)  # same key order as well


def test_edits_keep_unknown_fields() -> None:
    data = load()
    data["nodes"][1]["vendorNote"] = "keep me"
    net = MeshNetwork.from_json(data)
    kitchen = net.node_by_uuid(KITCHEN)
    assert kitchen is not None
    kitchen.name = "Kitchen Ceiling"
    out = net.to_json()
    assert out["nodes"][1]["vendorNote"] == "keep me"
    assert out["nodes"][1]["name"] == "Kitchen Ceiling"


def test_hex_is_written_upper_case() -> None:
    data = load()
    data["nodes"][1]["unicastAddress"] = "0002"
    data["netKeys"][0]["key"] = data["netKeys"][0]["key"].lower()
    data["groups"][0]["address"] = "c000"
    out = MeshNetwork.from_json(data).to_json()
    assert out["netKeys"][0]["key"] == data["netKeys"][0]["key"].upper()
    assert out["groups"][0]["address"] == "C000"


def test_uuid_spelling_is_kept() -> None:
    data = load()
    data["meshUUID"] = "8f2d4c1a5b6e4f709a1b2c3d4e5f6a7b"  # MshCDB 1.0.0 style, lower case
    out = MeshNetwork.from_json(data).to_json()
    assert out["meshUUID"] == "8f2d4c1a5b6e4f709a1b2c3d4e5f6a7b"


def test_repr_never_shows_keys() -> None:
    data = load()
    secrets_hex = [k["key"] for k in data["netKeys"] + data["appKeys"]]
    secrets_hex += [n["deviceKey"] for n in data["nodes"]]
    text = repr(network())
    for key in secrets_hex:
        assert key.upper() not in text.upper()
        assert repr(bytes.fromhex(key)) not in text


# ---- validation --------------------------------------------------------------------------------

type Mutation = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        target: Any = d
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return mutate


PUB = ["nodes", 1, "elements", 0, "models", 2, "publish"]

INVALID: list[tuple[str, Mutation, str, str]] = [
    ("missing_uuid", _delete(["meshUUID"]), "meshUUID", "missing"),
    ("bad_uuid", _set(["meshUUID"], "not-a-uuid"), "meshUUID", "not a UUID"),
    ("null_name", _set(["meshName"], None), "meshName", "is null"),
    ("bad_timestamp", _set(["timestamp"], "yesterday"), "timestamp", "not an ISO 8601"),
    ("partial_missing", _delete(["partial"]), "partial", "missing"),
    ("partial_int", _set(["partial"], 0), "partial", "not a boolean"),
    ("bad_version", _set(["version"], "one"), "version", "not a version number"),
    ("nodes_not_array", _set(["nodes"], {}), "nodes", "not an array"),
    ("node_not_object", _set(["nodes", 0], 5), "nodes[0]", "not a JSON object"),
    (
        "unicast_5_digits",
        _set(["nodes", 2, "unicastAddress"], "12345"),
        "nodes[2].unicastAddress",
        "not a 4-digit hex address",
    ),
    (
        "unicast_is_group",
        _set(["nodes", 2, "unicastAddress"], "C000"),
        "nodes[2].unicastAddress",
        "not a unicast address",
    ),
    (
        "unicast_overlap",
        _set(["nodes", 2, "unicastAddress"], "0003"),
        "nodes[2].unicastAddress",
        "overlaps",
    ),
    (
        "elements_past_end",
        _set(["nodes", 1, "unicastAddress"], "7FFF"),
        "nodes[1].elements",
        "run past 7FFF",
    ),
    ("duplicate_node", _set(["nodes", 2, "UUID"], str(KITCHEN)), "nodes[2].UUID", "duplicate UUID"),
    ("net_key_short", _set(["netKeys", 0, "key"], "ABCD"), "netKeys[0].key", "128-bit key"),
    ("net_key_phase", _set(["netKeys", 0, "phase"], 3), "netKeys[0].phase", "out of range"),
    (
        "refresh_without_old_key",
        _set(["netKeys", 0, "phase"], 1),
        "netKeys[0].oldKey",
        "Key Refresh",
    ),
    ("index_bool", _set(["netKeys", 0, "index"], True), "netKeys[0].index", "not an integer"),
    ("index_big", _set(["appKeys", 0, "index"], 4096), "appKeys[0].index", "out of range"),
    ("no_net_keys", _set(["netKeys"], []), "netKeys", "at least one"),
    ("security", _set(["netKeys", 0, "minSecurity"], "meh"), "netKeys[0].minSecurity", "secure"),
    (
        "bound_unknown",
        _set(["appKeys", 1, "boundNetKey"], 5),
        "appKeys[1].boundNetKey",
        "no NetKey",
    ),
    ("app_duplicate", _set(["appKeys", 1, "index"], 0), "appKeys", "duplicate index"),
    (
        "range_reversed",
        _set(["provisioners", 1, "allocatedUnicastRange", 0, "highAddress"], "0001"),
        "provisioners[1].allocatedUnicastRange[0].highAddress",
        "below lowAddress",
    ),
    (
        "group_range_unicast",
        _set(["provisioners", 0, "allocatedGroupRange", 0, "lowAddress"], "0001"),
        "provisioners[0].allocatedGroupRange[0].lowAddress",
        "not a group address",
    ),
    (
        "scene_zero",
        _set(["provisioners", 0, "allocatedSceneRange", 0, "firstScene"], "0000"),
        "provisioners[0].allocatedSceneRange[0].firstScene",
        "prohibited",
    ),
    (
        "element_order",
        _set(["nodes", 1, "elements", 1, "index"], 5),
        "nodes[1].elements[1].index",
        "expected 1",
    ),
    (
        "model_id",
        _set(["nodes", 1, "elements", 0, "models", 0, "modelId"], "123"),
        "nodes[1].elements[0].models[0].modelId",
        "4- or 8-digit",
    ),
    (
        "subscribe_unicast",
        _set(["nodes", 1, "elements", 0, "models", 2, "subscribe", 0], "0002"),
        "nodes[1].elements[0].models[2].subscribe[0]",
        "not a group or virtual address",
    ),
    (
        "bind_string",
        _set(["nodes", 1, "elements", 0, "models", 2, "bind", 0], "1"),
        "nodes[1].elements[0].models[2].bind[0]",
        "not an integer",
    ),
    ("publish_ttl", _set([*PUB, "ttl"], 200), "nodes[1].elements[0].models[2].publish.ttl", "255"),
    (
        "publish_resolution",
        _set([*PUB, "period", "resolution"], 500),
        "nodes[1].elements[0].models[2].publish.period.resolution",
        "not one of",
    ),
    (
        "publish_period_legacy_int",
        _set([*PUB, "period"], 1000),
        "nodes[1].elements[0].models[2].publish.period",
        "not a JSON object",
    ),
    (
        "publish_retransmit_step",
        _set([*PUB, "retransmit", "interval"], 75),
        "nodes[1].elements[0].models[2].publish.retransmit.interval",
        "multiple of 50",
    ),
    (
        "publish_credentials",
        _set([*PUB, "credentials"], 2),
        "nodes[1].elements[0].models[2].publish.credentials",
        "out of range",
    ),
    (
        "publish_address",
        _set([*PUB, "address"], "C0"),
        "nodes[1].elements[0].models[2].publish.address",
        "virtual label",
    ),
    ("feature", _set(["nodes", 1, "features", "relay"], 3), "nodes[1].features.relay", "range"),
    (
        "transmit_count",
        _set(["nodes", 1, "networkTransmit", "count"], 0),
        "nodes[1].networkTransmit.count",
        "out of range",
    ),
    ("default_ttl", _set(["nodes", 1, "defaultTTL"], 1), "nodes[1].defaultTTL", "prohibited"),
    ("node_security", _set(["nodes", 1, "security"], "maybe"), "nodes[1].security", "secure"),
    (
        "config_complete",
        _set(["nodes", 1, "configComplete"], "yes"),
        "nodes[1].configComplete",
        "not a boolean",
    ),
    ("excluded_missing", _delete(["nodes", 1, "excluded"]), "nodes[1].excluded", "missing"),
    (
        "heartbeat_feature",
        _set(["nodes", 1, "heartbeatPub", "features"], ["teleport"]),
        "nodes[1].heartbeatPub.features[0]",
        "not one of",
    ),
    (
        "node_key_updated",
        _set(["nodes", 1, "netKeys", 0, "updated"], None),
        "nodes[1].netKeys[0].updated",
        "is null",
    ),
    (
        "node_key_duplicate",
        _set(["nodes", 1, "appKeys", 1, "index"], 0),
        "nodes[1].appKeys",
        "duplicate key index",
    ),
    ("group_unicast", _set(["groups", 0, "address"], "0001"), "groups[0].address", "group address"),
    ("group_parent", _set(["groups", 1, "parentAddress"], "zz"), "groups[1].parentAddress", "hex"),
    (
        "group_duplicate",
        _set(["groups", 1, "address"], "C000"),
        "groups[1].address",
        "duplicate address",
    ),
    ("scene_number", _set(["scenes", 0, "number"], "0000"), "scenes[0].number", "prohibited"),
    (
        "scene_address",
        _set(["scenes", 0, "addresses", 0], "C000"),
        "scenes[0].addresses[0]",
        "not a unicast",
    ),
    (
        "exclusion_iv",
        _set(["networkExclusions", 0, "ivIndex"], -1),
        "networkExclusions[0].ivIndex",
        "out of range",
    ),
    (
        "extension_iv",
        _set([EXTENSION_KEY], {"ivIndex": "1", "ivUpdateActive": False, "sequenceNumbers": {}}),
        f"{EXTENSION_KEY}.ivIndex",
        "not an integer",
    ),
    (
        "extension_seq_address",
        _set([EXTENSION_KEY], {"ivIndex": 1, "ivUpdateActive": False, "sequenceNumbers": {"G": 1}}),
        f"{EXTENSION_KEY}.sequenceNumbers.G",
        "not a 4-digit hex address",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_documents_name_the_path(mutate: Mutation, path: str, reason: str) -> None:
    data = load()
    mutate(data)
    with pytest.raises(CdbFormatError) as info:
        MeshNetwork.from_json(data)
    err = info.value
    assert err.path == path
    assert str(err).startswith(f"{path}: ")
    assert reason in str(err)
    assert isinstance(err, DecodeError)
    assert err.field == path


def test_invalid_root() -> None:
    with pytest.raises(CdbFormatError, match="^not a JSON object$"):
        MeshNetwork.from_json("[1, 2]")
    with pytest.raises(CdbFormatError, match="^not valid JSON"):
        MeshNetwork.from_json("{")


def test_key_errors_never_echo_key_material() -> None:
    data = load()
    almost = data["netKeys"][0]["key"][:-1] + "G"
    data["netKeys"][0]["key"] = almost
    with pytest.raises(CdbFormatError) as info:
        MeshNetwork.from_json(data)
    assert almost[:-1] not in str(info.value)
    assert info.value.path == "netKeys[0].key"


def test_partial_export_without_device_key_or_elements() -> None:
    data = load()
    data["partial"] = True
    del data["nodes"][2]["deviceKey"]
    data["nodes"][2]["elements"] = []  # composition data not fetched yet
    net = MeshNetwork.from_json(data)
    hall = net.node_by_uuid(HALL)
    assert hall is not None
    assert hall.device_key is None
    assert hall.element_count == 1  # still occupies its primary address
    assert net.node_for_element(0x0004) is hall
    assert net.element_at(0x0004) is None
    assert net.to_json() == data


def test_key_refresh_phase_with_old_key_round_trips() -> None:
    data = load()
    data["netKeys"][0]["phase"] = 2
    data["netKeys"][0]["oldKey"] = "00112233445566778899AABBCCDDEEFF"
    data["nodes"][1]["netKeys"][0]["updated"] = True
    net = MeshNetwork.from_json(data)
    assert net.net_keys[0].phase is KeyRefreshPhase.USING_NEW_KEYS
    assert net.net_keys[0].old_key == bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    assert net.to_json() == data


# ---- lookups and node helpers -----------------------------------------------------------------


def test_lookups() -> None:
    net = network()
    kitchen = net.node_by_uuid(str(KITCHEN).lower())
    assert kitchen is not None
    assert net.node_by_address(0x0002) is kitchen
    assert net.node_by_address(0x0003) is None  # not a primary address
    assert net.node_for_element(0x0003) is kitchen
    assert net.node_for_element(0x0005) is None
    found = net.element_at(0x0003)
    assert found is not None
    assert found[0] is kitchen
    assert found[1].name == "Dimmer"
    assert net.provisioner(P2) is net.provisioners[1]
    assert net.provisioner_node(P1) is net.nodes[0]
    assert net.provisioner_node(P2) is None
    assert net.net_key(0) is net.net_keys[0]
    assert net.app_key(1) is net.app_keys[1]
    assert net.app_key(7) is None
    assert net.group(0xC001) is net.groups[1]
    assert net.scene(1) is net.scenes[0]


def test_node_security_and_configuration_helpers() -> None:
    net = network()
    kitchen, hall, switch = (net.node_by_uuid(u) for u in (KITCHEN, HALL, SWITCH))
    assert kitchen is not None
    assert hall is not None
    assert switch is not None
    assert kitchen.is_authenticated
    assert not hall.is_authenticated
    assert hall.security is Security.INSECURE
    assert kitchen.is_configured
    assert not switch.is_configured
    assert kitchen.has_app_key(1)
    assert not switch.has_app_key(1)
    assert switch.has_net_key(0)


# ---- extension data ----------------------------------------------------------------------------


def test_extension_round_trip() -> None:
    net = network()
    assert EXTENSION_KEY not in net.to_json()
    net.set_local_provisioner(P1)
    out = net.to_json()
    assert out[EXTENSION_KEY] == {"localProvisioner": str(P1).upper()}
    again = MeshNetwork.from_json(out)
    assert again.local_provisioner is again.provisioners[0]
    assert again.to_json() == out
    # A clean export leaves our extension out and still parses.
    clean = again.to_json(include_extension=False)
    assert EXTENSION_KEY not in clean
    assert MeshNetwork.from_json(clean).extension is None


def test_extension_rejects_bad_values() -> None:
    net = network()
    with pytest.raises(DatabaseError):
        net.set_local_provisioner(KITCHEN)


# ---- unicast allocation ------------------------------------------------------------------------


def test_allocation_skips_nodes_and_excluded_addresses() -> None:
    net = network()
    # 0001 provisioner node, 0002-0003 kitchen, 0004 hall, 0006 excluded at IV Index 0.
    assert net.allocate_unicast(P1, 1, iv_index=0) == 0x0005
    assert net.allocate_unicast(P1, 2, iv_index=0) == 0x0007
    # Tablet's range starts at 199B, where its switch (2 elements) lives.
    assert net.allocate_unicast(P2, 1) == 0x199D
    # Once the IV Index has grown by 2 the excluded address may be used again.
    assert net.allocate_unicast(P1, 2, iv_index=2) == 0x0005
    # Not knowing the IV Index (an import), every excluded address stays excluded.
    assert net.allocate_unicast(P1, 2) == 0x0007


def test_allocation_uses_later_ranges_and_reports_full() -> None:
    net = network()
    tablet = net.provisioner(P2)
    assert tablet is not None
    tablet.unicast_ranges[0] = AddressRange(0x199B, 0x19A0)  # 199B-199C used: 4 left
    assert net.allocate_unicast(P2, 4) == 0x199D
    assert net.allocate_unicast(P2, 5) == 0x7000  # does not fit: next range
    tablet.unicast_ranges[1] = AddressRange(0x7000, 0x7003)
    with pytest.raises(AllocationError):
        net.allocate_unicast(P2, 5)
    assert isinstance(AllocationError("x"), UsageError)


def test_allocation_avoids_other_provisioners_ranges() -> None:
    net = network()
    tablet = net.provisioner(P2)
    assert tablet is not None
    # A badly made import: Tablet's range overlaps nRF's 0001-199A.
    tablet.unicast_ranges = [AddressRange(0x0001, 0x19A0)]
    assert net.allocate_unicast(P2, 1) == 0x199D


def test_allocation_rejects_bad_requests() -> None:
    net = network()
    with pytest.raises(DatabaseError):
        net.allocate_unicast(KITCHEN, 1)
    with pytest.raises(DatabaseError):
        net.allocate_unicast(P1, 0)
    with pytest.raises(DatabaseError):
        net.allocate_unicast("not a uuid", 1)


def test_add_and_remove_node_records_exclusion() -> None:
    net = network()
    iv = 5  # 0006 was excluded at IV Index 0: free again from IV Index 2
    address = net.allocate_unicast(P1, 3, iv_index=iv)
    assert address == 0x0005
    node = new_node("11111111-2222-4333-8444-555555555555", address, 3)
    net.add_node(node, iv_index=iv)
    assert net.node_for_element(0x0007) is node
    with pytest.raises(DatabaseError):
        net.add_node(new_node("11111111-2222-4333-8444-666666666666", 0x0006), iv_index=iv)
    with pytest.raises(DatabaseError):
        net.add_node(node, iv_index=iv)  # same UUID

    removed = net.remove_node(KITCHEN, iv_index=iv)
    assert removed.name == "Kitchen Light"
    assert net.node_by_uuid(KITCHEN) is None
    assert net.network_exclusions is not None
    assert [(e.iv_index, e.addresses) for e in net.network_exclusions] == [
        (0, [0x0006]),  # from the fixture, no longer blocking at IV Index 5
        (5, [0x0002, 0x0003]),
    ]
    assert net.scenes[0].addresses == [0x0004]
    assert net.excluded_addresses(iv) == {0x0002, 0x0003}
    with pytest.raises(DatabaseError):
        net.add_node(new_node("11111111-2222-4333-8444-777777777777", 0x0002), iv_index=iv)
    assert net.allocate_unicast(P1, 1, iv_index=iv) == 0x0008
    assert net.allocate_unicast(P1, 1, iv_index=7) == 0x0002
    net.prune_exclusions(6)
    assert [(e.iv_index, e.addresses) for e in net.network_exclusions] == [(5, [2, 3])]
    net.prune_exclusions(7)
    assert net.network_exclusions == []
    # The edited network is still a valid document.
    assert MeshNetwork.from_json(net.to_json()) == net
    with pytest.raises(DatabaseError):
        net.remove_node(KITCHEN, iv_index=7)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.integers(0, 1), st.integers(1, 6)),
            st.tuples(st.just("remove"), st.integers(0, 50), st.just(0)),
            st.tuples(st.just("iv"), st.integers(1, 2), st.just(0)),
        ),
        max_size=40,
    )
)
def test_allocation_sequences_never_overlap(ops: list[tuple[str, int, int]]) -> None:
    provisioners = [
        CdbProvisioner(
            name="A",
            uuid=UUID(int=1),
            unicast_ranges=[AddressRange(0x0001, 0x0020), AddressRange(0x0040, 0x0048)],
        ),
        CdbProvisioner(name="B", uuid=UUID(int=2), unicast_ranges=[AddressRange(0x0018, 0x0030)]),
    ]
    net = MeshNetwork.create("Test", "A", NOW, provisioner_uuid=provisioners[0].uuid)
    net.provisioners = provisioners
    counter = 100
    iv = 0
    for op, which, count in ops:
        if op == "add":
            owner = provisioners[which]
            others = [r for p in provisioners if p is not owner for r in p.unicast_ranges]
            taken = {a for n in net.nodes for a in n.addresses} | net.excluded_addresses(iv)
            taken |= {a for r in others for a in range(r.low, r.high + 1)}
            # Brute force: the lowest block inside one of the owner's ranges.
            expected = None
            for r in sorted(owner.unicast_ranges, key=lambda r: r.low):
                for start in range(r.low, r.high - count + 2):
                    if not taken.intersection(range(start, start + count)):
                        expected = start
                        break
                if expected is not None:
                    break
            if expected is None:
                with pytest.raises(AllocationError):
                    net.allocate_unicast(owner.uuid, count, iv_index=iv)
                continue
            address = net.allocate_unicast(owner.uuid, count, iv_index=iv)
            assert address == expected
            counter += 1
            net.add_node(new_node(str(UUID(int=counter)), address, count), iv_index=iv)
        elif op == "remove" and net.nodes:
            net.remove_node(net.nodes[which % len(net.nodes)].uuid, iv_index=iv)
        elif op == "iv":
            iv += which
        # Invariant: no two nodes share an address.
        owned = [a for n in net.nodes for a in n.addresses]
        assert len(owned) == len(set(owned))
    assert MeshNetwork.from_json(net.to_json()) == net


# ---- provisioners --------------------------------------------------------------------------------


def test_add_provisioner_for_imported_network() -> None:
    net = network()
    ha = UUID("0F0E0D0C-0B0A-4908-8706-050403020100")
    provisioner = net.add_provisioner("Home Assistant", ha)
    assert [(r.low, r.high) for r in provisioner.unicast_ranges] == [(0x3335, 0x3B34)]
    assert [(r.low, r.high) for r in provisioner.group_ranges] == [(0xD936, 0xDD35)]
    assert [(r.first, r.last) for r in provisioner.scene_ranges] == [(0x6667, 0x6A66)]
    node = net.provisioner_node(ha)
    assert node is not None
    assert node.unicast_address == 0x3335
    assert node.has_net_key(0)
    assert node.has_app_key(1)
    assert node.device_key is not None
    assert len(node.device_key) == 16
    net.set_local_provisioner(ha)
    assert net.local_provisioner is provisioner
    # No range overlaps another provisioner's.
    spans = sorted((r.low, r.high) for p in net.provisioners for r in p.unicast_ranges)
    assert all(a[1] < b[0] for a, b in pairwise(spans))
    assert net.allocate_unicast(ha, 1) == 0x3336
    assert MeshNetwork.from_json(net.to_json()) == net
    with pytest.raises(DatabaseError):
        net.add_provisioner("again", ha)


def test_device_nodes_leave_out_the_provisioners_own() -> None:
    net = network()
    before = [n.uuid for n in net.device_nodes()]
    ha = UUID("0F0E0D0C-0B0A-4908-8706-050403020100")
    net.add_provisioner("Home Assistant", ha)
    assert net.provisioner_node(ha) in net.nodes
    assert [n.uuid for n in net.device_nodes()] == before
    assert all(n.uuid not in {p.uuid for p in net.provisioners} for n in net.device_nodes())


def test_add_provisioner_shrinks_to_the_largest_gap() -> None:
    net = network()
    tablet = net.provisioner(P2)
    assert tablet is not None
    tablet.unicast_ranges = [AddressRange(0x199B, 0x7F00)]
    provisioner = net.add_provisioner("Small", UUID(int=9), create_node=False)
    assert [(r.low, r.high) for r in provisioner.unicast_ranges] == [(0x7F01, 0x7FFF)]
    assert net.provisioner_node(provisioner.uuid) is None
    tablet.unicast_ranges = [AddressRange(0x0001, 0x7FFF)]
    with pytest.raises(AllocationError):
        net.add_provisioner("None left", UUID(int=10))


def test_remove_provisioner() -> None:
    net = MeshNetwork.create("Home", "HA", NOW, provisioner_uuid=P1)
    net.add_provisioner("Phone", P2)
    phone_node = net.provisioner_node(P2)
    assert phone_node is not None
    net.remove_provisioner(P2, iv_index=0)
    assert net.provisioner(P2) is None
    assert phone_node.unicast_address in net.excluded_addresses(0)
    net.remove_provisioner(P1, iv_index=0)
    assert net.local_provisioner is None


# ---- groups and scenes ---------------------------------------------------------------------------


def test_group_allocation() -> None:
    net = network()
    assert net.allocate_group_address(P1) == 0xC002
    assert net.allocate_group_address(P2) == 0xCC9B
    group = net.add_group("Bedroom", net.allocate_group_address(P1), parent_address=0xC000)
    assert group.address == 0xC002
    assert net.allocate_group_address(P1) == 0xC003
    label = UUID("0073E7E4D8B9440FAF8415DF4C56C0E1")
    virtual = net.add_group("Virtual", label)
    assert virtual.is_virtual
    out = net.to_json()
    assert out["groups"][-2] == {"name": "Bedroom", "address": "C002", "parentAddress": "C000"}
    assert out["groups"][-1]["address"] == "0073E7E4D8B9440FAF8415DF4C56C0E1"
    assert MeshNetwork.from_json(out) == net
    with pytest.raises(DatabaseError):
        net.add_group("Twice", 0xC002)
    with pytest.raises(DatabaseError):
        net.add_group("Unicast", 0x0001)
    with pytest.raises(DatabaseError):
        net.add_group("Orphan", 0xC010, parent_address=0xC00F)
    with pytest.raises(DatabaseError):
        net.remove_group(0xC000)  # parent of Living Room Lamps and Bedroom
    assert net.remove_group(0xC002).name == "Bedroom"


@pytest.mark.parametrize("v", vectors("virtual_address"), ids=ids)
def test_virtual_label_groups_give_their_virtual_address(v: dict[str, Any]) -> None:
    net = network()
    label = UUID(v["inputs"]["label_uuid"])
    group = net.add_group("Virtual", label)
    expected = int(v["expected"]["virtual_address"], 16)
    assert group.destination == expected
    assert address_value(label) == expected
    assert address_value(0xC000) == 0xC000
    out = net.to_json()["groups"][-1]
    assert out["address"] == label.hex.upper()
    assert MeshNetwork.from_json(net.to_json()).group(label) == group


def test_group_allocation_full() -> None:
    net = network()
    provisioner = net.provisioner(P1)
    assert provisioner is not None
    provisioner.group_ranges = [AddressRange(0xC000, 0xC001)]
    with pytest.raises(AllocationError):
        net.allocate_group_address(P1)


def test_scene_allocation() -> None:
    net = network()
    assert net.allocate_scene_number(P1) == 0x0002
    assert net.allocate_scene_number(P2) == 0x3334
    net.add_scene("Night", 0x0002, [0x0004])
    assert net.allocate_scene_number(P1) == 0x0003
    provisioner = net.provisioner(P1)
    assert provisioner is not None
    provisioner.scene_ranges = [SceneRange(1, 2)]
    with pytest.raises(AllocationError):
        net.allocate_scene_number(P1)
    with pytest.raises(DatabaseError):
        net.add_scene("Zero", 0)


# ---- creation --------------------------------------------------------------------------------------


def test_create_gives_a_valid_network() -> None:
    net = MeshNetwork.create("My Home", "Home Assistant", NOW)
    assert net.mesh_name == "My Home"
    assert net.timestamp == NOW
    assert len(net.net_keys) == 1
    assert len(net.app_keys) == 1
    assert len(net.net_keys[0].key) == 16
    assert len(net.app_keys[0].key) == 16
    assert net.net_keys[0].key != net.app_keys[0].key
    assert net.app_keys[0].bound_net_key == 0
    provisioner = net.local_provisioner
    assert provisioner is not None
    assert provisioner.name == "Home Assistant"
    assert [(r.low, r.high) for r in provisioner.unicast_ranges] == [(0x0001, 0x3FFF)]
    assert [(r.low, r.high) for r in provisioner.group_ranges] == [(0xC000, 0xDFFF)]
    node = net.provisioner_node(provisioner.uuid)
    assert node is not None
    assert node.unicast_address == 0x0001
    assert net.allocate_unicast(provisioner.uuid, 4) == 0x0002
    assert net.allocate_group_address(provisioner.uuid) == 0xC000

    text = net.to_json_text()
    again = MeshNetwork.from_json(text)
    assert again == net
    assert again.to_json() == net.to_json()
    out = net.to_json(include_extension=False)
    assert out["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert out["version"] == "1.0.1"
    assert out["meshUUID"] == str(net.mesh_uuid).upper()
    assert out["nodes"][0]["unicastAddress"] == "0001"
    assert out["netKeys"][0]["key"] == net.net_keys[0].key.hex().upper()
    assert out["networkExclusions"] == []
    assert MeshNetwork.from_json(out).extension is None
    # Two networks never share keys.
    other = MeshNetwork.create("Other", "HA", NOW)
    assert other.net_keys[0].key != net.net_keys[0].key
    assert other.mesh_uuid != net.mesh_uuid


def test_create_rejects_bad_timestamp() -> None:
    with pytest.raises(CdbFormatError):
        MeshNetwork.create("x", "y", "not a time")


def test_touch_updates_timestamp() -> None:
    net = network()
    net.touch(NOW)
    assert net.to_json()["timestamp"] == NOW


# --- loading the valid part of a database ---------------------------------------------------


def test_a_valid_database_loads_whole() -> None:
    assert load_valid_part(load()) == (network(), [])


def test_invalid_records_are_left_out_one_by_one() -> None:
    data = load()
    data["nodes"][1]["deviceKey"] = "not a key"  # Kitchen Light, 0002-0003
    data["nodes"].append(copy.deepcopy(data["nodes"][2]))  # Hall Lamp again: same UUID
    data["nodes"][4]["name"] = "Hall Lamp (copy)"
    data["groups"][1]["address"] = "C000"
    data["scenes"].append({"name": "Night", "addresses": [], "number": "0000"})
    data["scenes"].append({"addresses": [], "number": "0001"})  # no name: named by its number
    loaded, dropped = load_valid_part(data)

    assert [(d.path, d.kind, d.label, str(d.error)) for d in dropped] == [
        (
            "nodes[1]",
            "node",
            "Kitchen Light",
            "nodes[1].deviceKey: not a 128-bit key (32 hex digits)",
        ),
        ("nodes[4]", "node", "Hall Lamp (copy)", "nodes[4].UUID: duplicate UUID"),
        ("groups[1]", "group", "Living Room Lamps", "groups[1].address: duplicate address"),
        ("scenes[1]", "scene", "Night", "scenes[1].number: scene number 0000 is prohibited"),
        ("scenes[2]", "scene", "0001", "scenes[2].name: missing"),
    ]
    assert "not a key" not in str(dropped)  # the key's text is never repeated
    assert [n.name for n in loaded.nodes] == ["nRF Mesh Provisioner", "Hall Lamp", "Wall Switch"]
    assert [g.name for g in loaded.groups] == ["Living Room"]
    assert [s.name for s in loaded.scenes] == ["Evening"]
    # Kitchen Light's device may still use 0002-0003; the copy of Hall Lamp's 0004 is a node's.
    assert loaded.reserved_addresses() == [(0x0002, 0x0003)]
    assert loaded.allocate_unicast(P1, 1) == 0x0005  # not 0002
    MeshNetwork.from_json(loaded.to_json())  # what is written back is valid


def test_overlapping_node_and_unreadable_address() -> None:
    data = load()
    data["nodes"][2]["unicastAddress"] = "0003"  # Hall Lamp on Kitchen Light's second element
    data["nodes"][3]["unicastAddress"] = "zz"
    loaded, dropped = load_valid_part(data)
    assert [(d.label, str(d.error), d.addresses) for d in dropped] == [
        ("Hall Lamp", "nodes[2].unicastAddress: overlaps the addresses of another node", (3, 3)),
        ("Wall Switch", "nodes[3].unicastAddress: not a 4-digit hex address", None),
    ]
    assert loaded.reserved_addresses() == []  # 0003 is Kitchen Light's; 199B is not known


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["netKeys"][0].update(key="not a key"), "netKeys[0].key"),
        (lambda d: d["appKeys"][0].pop("key"), "appKeys[0].key"),
        (lambda d: d["provisioners"][1].update(UUID="x"), "provisioners[1].UUID"),
        (lambda d: d.update(nodes={}), "nodes"),
        (lambda d: d.update(meshUUID=None), "meshUUID"),
    ],
    ids=["net-key", "app-key", "provisioner", "nodes-not-a-list", "document-field"],
)
def test_what_cannot_be_left_out_still_fails(
    change: Callable[[dict[str, Any]], object], path: str
) -> None:
    data = load()
    data["nodes"][1]["deviceKey"] = "not a key"
    change(data)
    with pytest.raises(CdbFormatError) as err:
        load_valid_part(data)
    assert err.value.path == path


def test_nesting_deeper_than_python_copies_is_a_format_error() -> None:
    data = load()
    data["nodes"][1]["vendorData"] = json.loads("[" * 5000 + "]" * 5000)
    with pytest.raises(CdbFormatError, match=r"^nodes\[1\]: nested too deeply$"):
        MeshNetwork.from_json(data)
    loaded, dropped = load_valid_part(data)
    assert [d.label for d in dropped] == ["Kitchen Light"]
    with pytest.raises(CdbFormatError, match="^nested too deeply$"):
        parse_document("[" * 200_000 + "]" * 200_000)
    with pytest.raises(CdbFormatError, match="^not a JSON object$"):
        parse_document("[]")
