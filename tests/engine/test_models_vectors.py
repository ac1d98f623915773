"""Model messages against the SIG sample data (MshPRT 1.1 §8.3, §8.10, §8.12)."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.ble_mesh.mesh.access import (
    UnknownOpcodeError,
    decode_message,
    describe,
    encode_message,
    parse_opcode,
    vendor_opcode,
)
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.models.common import ModelId
from custom_components.ble_mesh.mesh.models.composition import CompositionDataPage0, Element
from custom_components.ble_mesh.mesh.models.config import (
    BridgedSubnetsFilter,
    ConfigAppKeyAdd,
    ConfigAppKeyStatus,
    ConfigBridgedSubnetsList,
    ConfigCompositionDataStatus,
    ConfigStatus,
    ConfigSubnetBridgeGet,
    ConfigSubnetBridgeSet,
    ConfigSubnetBridgeStatus,
)
from custom_components.ble_mesh.mesh.models.health import HealthCurrentStatus
from tests.sig_vectors import h, ids, vectors

ACCESS_VECTORS = [v for v in vectors("mesh_message") if "access" in v["inputs"]]

# What each access payload of the sample data is, field by field (from the vectors' own
# descriptions: "NetKeyIndex 456, AppKeyIndex 123", "3 faults", ...).
EXPECTED: dict[str, Any] = {
    "msg06_config_appkey_add_segmented": ConfigAppKeyAdd(
        net_key_index=0x456,
        app_key_index=0x123,
        app_key=bytes.fromhex("63964771734fbd76e3b40519d1d94a48"),
    ),
    "msg16_config_appkey_status": ConfigAppKeyStatus(ConfigStatus.SUCCESS, 0x456, 0x123),
    "msg19_health_current_status_faults": HealthCurrentStatus(0, 0x0000, bytes([1, 7, 3])),
    "bridge_8_12_1_subnet_bridge_get": ConfigSubnetBridgeGet(),
    "bridge_8_12_2_subnet_bridge_set": ConfigSubnetBridgeSet(enabled=True),
    "bridge_8_12_3_subnet_bridge_status": ConfigSubnetBridgeStatus(enabled=True),
    "bridge_8_12_8_bridged_subnets_list": ConfigBridgedSubnetsList(
        filter=BridgedSubnetsFilter.NET_KEY_INDEX_1,
        net_key_index=0x123,
        start_index=0,
        pairs=((0x123, 0x456), (0x123, 0x789)),
    ),
}
VENDOR = {
    "msg21_vendor_to_group": vendor_opcode(0x15, 0x000A),
    "msg23_vendor_to_virtual": vendor_opcode(0x15, 0x000A),
}


def test_every_access_vector_is_classified() -> None:
    assert {v["id"] for v in ACCESS_VECTORS} == set(EXPECTED) | set(VENDOR)


@pytest.mark.parametrize("v", ACCESS_VECTORS, ids=ids)
def test_mesh_message_access_payload(v: dict[str, Any]) -> None:
    payload = h(v["inputs"]["access"]["access_payload"])
    described = describe(payload)
    if v["id"] in VENDOR:
        opcode, params = parse_opcode(payload)
        assert opcode == VENDOR[v["id"]]
        with pytest.raises(UnknownOpcodeError):
            decode_message(payload)
        assert described["name"] == "unknown"
        assert described["parameters"] == {"raw": params.hex()}
        return
    message = decode_message(payload)
    assert message == EXPECTED[v["id"]]
    assert encode_message(message) == payload
    assert described["name"] == type(message).__name__
    assert "error" not in described


def test_appkey_add_carries_the_application_key_of_the_samples() -> None:
    # Message #6 adds the AppKey that messages #19-#23 then use (cross-check of the packing).
    (msg06,) = [v for v in ACCESS_VECTORS if v["id"].startswith("msg06")]
    (msg19,) = [v for v in ACCESS_VECTORS if v["id"].startswith("msg19")]
    add = decode_message(h(msg06["inputs"]["access"]["access_payload"]))
    assert isinstance(add, ConfigAppKeyAdd)
    assert add.app_key == h(msg19["inputs"]["access"]["key"])


@pytest.mark.parametrize("v", vectors("composition_data_page0"), ids=ids)
def test_composition_data_page0(v: dict[str, Any]) -> None:
    raw = h(v["inputs"]["page0"])
    exp = v["expected"]
    page = CompositionDataPage0.from_bytes(raw)
    assert page.cid == int(exp["cid"], 16)
    assert page.pid == int(exp["pid"], 16)
    assert page.vid == int(exp["vid"], 16)
    assert page.crpl == int(exp["crpl"], 16)
    assert page.features == int(exp["features"], 16)
    assert page.elements == tuple(
        Element(
            location=int(e["loc"], 16),
            sig_models=tuple(int(m, 16) for m in e["sig_models"]),
            vendor_models=tuple(
                ModelId(int(m["model_id"], 16), int(m["company_id"], 16))
                for m in e["vendor_models"]
            ),
        )
        for e in exp["elements"]
    )
    assert page.to_bytes() == raw
    # The sample's features 0x0003: relay and proxy, no friend, no low power.
    assert (page.relay, page.proxy, page.friend, page.low_power) == (
        bool(int(exp["features"], 16) & 1),
        bool(int(exp["features"], 16) & 2),
        bool(int(exp["features"], 16) & 4),
        bool(int(exp["features"], 16) & 8),
    )
    # The same page inside a Config Composition Data Status (page number 0 prepended).
    status = decode_message(b"\x02\x00" + raw)
    assert isinstance(status, ConfigCompositionDataStatus)
    assert status.page0() == page
    assert encode_message(status) == b"\x02\x00" + raw
    params = describe(b"\x02\x00" + raw)["parameters"]
    assert isinstance(params, dict)
    page0 = params["page0"]
    assert isinstance(page0, dict)
    assert page0["cid"] == exp["cid"]
    assert page0["features"] == {"relay": True, "proxy": True, "friend": False, "low_power": False}


def test_composition_page0_strictness() -> None:
    raw = h(vectors("composition_data_page0")[0]["inputs"]["page0"])
    for cut in range(1, len(raw)):
        if cut == 10:
            with pytest.raises(DecodeError, match="at least one element"):
                CompositionDataPage0.from_bytes(raw[:cut])
            continue
        if cut > 10 and cut in _element_boundaries(raw):
            continue
        with pytest.raises(DecodeError):
            CompositionDataPage0.from_bytes(raw[:cut])
    with pytest.raises(DecodeError, match="RFU"):
        CompositionDataPage0.from_bytes(raw[:8] + b"\x10\x00" + raw[10:])
    with pytest.raises(DecodeError, match="not page 0"):
        ConfigCompositionDataStatus(1, raw).page0()


def _element_boundaries(raw: bytes) -> set[int]:
    pos, ends = 10, set()
    while pos < len(raw):
        num_s, num_v = raw[pos + 2], raw[pos + 3]
        pos += 4 + 2 * num_s + 4 * num_v
        ends.add(pos)
    return ends
