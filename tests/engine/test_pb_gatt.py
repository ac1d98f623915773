"""PB-GATT bearer (MshPRT 1.1 §5.2.2): §8.8 vector, link timer, SAR timer, type checks."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.errors import MeshError, UsageError
from custom_components.ble_mesh.mesh.provisioning.pb_gatt import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROVISIONING_SERVICE_UUID,
    PbGattBearer,
    PbGattExpiry,
    PbGattMessageTypeError,
)
from custom_components.ble_mesh.mesh.provisioning.pdus import LINK_TIMEOUT
from custom_components.ble_mesh.mesh.proxy import (
    SAR_TIMEOUT,
    ProxyMessageType,
    ProxySarError,
    ReservedMessageTypeError,
    segment,
)
from tests.sig_vectors import h, ids, vectors

PUBLIC_KEY_PDU = h(vectors("pb_gatt_sar")[0]["inputs"]["provisioning_pdu"])


@pytest.mark.parametrize("v", vectors("pb_gatt_sar"), ids=ids)
def test_pb_gatt_vector_send(v: dict[str, Any]) -> None:
    bearer = PbGattBearer(v["inputs"]["att_mtu"])
    writes = bearer.send(h(v["inputs"]["provisioning_pdu"]))
    assert writes == [h(s) for s in v["expected"]["att_write_command_values"]]
    assert all(len(w) <= v["inputs"]["att_mtu"] - 3 for w in writes)


@pytest.mark.parametrize("v", vectors("pb_gatt_sar"), ids=ids)
def test_pb_gatt_vector_receive(v: dict[str, Any]) -> None:
    bearer = PbGattBearer(v["inputs"]["att_mtu"])
    out = [bearer.receive(h(s), now=0.0) for s in v["expected"]["att_write_command_values"]]
    assert out == [None] * (len(out) - 1) + [h(v["inputs"]["provisioning_pdu"])]


def test_uuid_constants_reexported() -> None:
    assert MESH_PROVISIONING_SERVICE_UUID.startswith("00001827-")
    assert MESH_PROVISIONING_DATA_IN_UUID.startswith("00002adb-")
    assert MESH_PROVISIONING_DATA_OUT_UUID.startswith("00002adc-")


def test_larger_mtu_sends_one_write_and_mtu_can_change() -> None:
    bearer = PbGattBearer(23)
    assert len(bearer.send(PUBLIC_KEY_PDU)) == 4
    bearer.set_att_mtu(69)
    assert bearer.att_mtu == 69
    assert bearer.send(PUBLIC_KEY_PDU) == [b"\x03" + PUBLIC_KEY_PDU]
    with pytest.raises(UsageError):
        bearer.set_att_mtu(10)


@settings(max_examples=150)
@given(pdu=st.binary(min_size=1, max_size=200), att_mtu=st.integers(23, 517))
def test_bearer_pair_round_trip(pdu: bytes, att_mtu: int) -> None:
    client, server = PbGattBearer(att_mtu), PbGattBearer(att_mtu)
    writes = client.send(pdu)
    assert all(len(w) <= att_mtu - 3 for w in writes)
    results = [server.receive(w, now=0.0) for w in writes]
    assert results[-1] == pdu
    assert all(r is None for r in results[:-1])


@pytest.mark.parametrize(
    "kind",
    [
        ProxyMessageType.NETWORK_PDU,
        ProxyMessageType.MESH_BEACON,
        ProxyMessageType.PROXY_CONFIGURATION,
    ],
)
def test_rejects_other_message_types(kind: ProxyMessageType) -> None:
    bearer = PbGattBearer()
    first = bearer.send(PUBLIC_KEY_PDU)[0]
    assert bearer.receive(first, now=0.0) is None
    with pytest.raises(PbGattMessageTypeError):
        bearer.receive(segment(kind, b"\x01\x02", 20)[0], now=0.0)
    # the partial provisioning PDU was dropped with it
    assert bearer.next_deadline() is None


def test_rejects_reserved_message_type() -> None:
    with pytest.raises(ReservedMessageTypeError):
        PbGattBearer().receive(b"\x05\x00", now=0.0)


def test_link_timer_expires_without_provisioning_pdu() -> None:
    bearer = PbGattBearer()
    bearer.open(now=10.0)
    assert bearer.next_deadline() == 10.0 + LINK_TIMEOUT
    assert bearer.timeout(10.0 + LINK_TIMEOUT - 1) is None
    assert bearer.timeout(10.0 + LINK_TIMEOUT) is PbGattExpiry.LINK_TIMER
    assert bearer.is_closed
    with pytest.raises(UsageError):
        bearer.send(b"\x00\x05")
    with pytest.raises(UsageError):
        bearer.receive(b"\x03\x00\x05", now=80.0)


def test_link_timer_stops_at_first_provisioning_pdu() -> None:
    bearer = PbGattBearer()
    bearer.open(now=0.0)
    assert bearer.receive(b"\x03\x01" + bytes(11), now=5.0) == b"\x01" + bytes(11)
    assert bearer.next_deadline() is None
    assert bearer.timeout(1000.0) is None
    assert not bearer.is_closed


def test_sar_timeout_closes_link() -> None:
    bearer = PbGattBearer()
    writes = bearer.send(PUBLIC_KEY_PDU)
    assert bearer.receive(writes[0], now=0.0) is None
    assert bearer.next_deadline() == SAR_TIMEOUT
    assert bearer.timeout(SAR_TIMEOUT - 0.5) is None
    assert bearer.timeout(SAR_TIMEOUT) is PbGattExpiry.SAR_TIMEOUT
    assert bearer.is_closed
    assert bearer.timeout(SAR_TIMEOUT + 1) is None


def test_sar_violation_on_bearer() -> None:
    bearer = PbGattBearer()
    writes = bearer.send(PUBLIC_KEY_PDU)
    with pytest.raises(ProxySarError):
        bearer.receive(writes[1], now=0.0)  # continuation without first


def test_close_stops_everything() -> None:
    bearer = PbGattBearer()
    bearer.open(now=0.0)
    bearer.receive(bearer.send(PUBLIC_KEY_PDU)[0], now=0.0)
    bearer.close()
    assert bearer.next_deadline() is None
    assert bearer.timeout(1e6) is None
    with pytest.raises(UsageError):
        bearer.open(now=0.0)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=25), max_size=10))
def test_fuzz_receive_only_mesh_errors(values: list[bytes]) -> None:
    bearer = PbGattBearer()
    for i, value in enumerate(values):
        try:
            out = bearer.receive(value, now=float(i))
        except MeshError:
            continue
        assert out is None or isinstance(out, bytes)
