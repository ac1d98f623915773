"""Proxy PDU SAR (MshPRT 1.1 §6.3, §6.5): SIG/nRF vectors, round trips, timeouts, fuzzing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.proxy import (
    DEFAULT_MAX_MESSAGE_LENGTHS,
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROVISIONING_SERVICE_UUID,
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
    MESH_PROXY_SERVICE_UUID,
    SAR_TIMEOUT,
    ProxyMessage,
    ProxyMessageType,
    ProxyPdu,
    ProxySarError,
    Reassembler,
    ReservedMessageTypeError,
    SarFlag,
    SarTimeoutError,
    proxy_pdu_size,
    segment,
)
from tests.sig_vectors import h, ids, vectors


@pytest.mark.parametrize("v", vectors("proxy_sar"), ids=ids)
def test_proxy_sar_vector_segment(v: dict[str, Any]) -> None:
    """nRF library vector: ``mtu`` is the Proxy PDU size including the header."""
    inputs = v["inputs"]
    expected = [h(s) for s in v["expected"]["segments"]]
    assert segment(int(inputs["message_type"], 16), h(inputs["data"]), inputs["mtu"]) == expected


@pytest.mark.parametrize("v", vectors("proxy_sar"), ids=ids)
def test_proxy_sar_vector_reassemble(v: dict[str, Any]) -> None:
    inputs = v["inputs"]
    reassembler = Reassembler()
    results = [reassembler.receive(h(s), now=1.0) for s in v["expected"]["segments"]]
    assert results[:-1] == [None] * (len(results) - 1)
    assert results[-1] == ProxyMessage(
        ProxyMessageType(int(inputs["message_type"], 16)), h(inputs["data"])
    )
    assert not reassembler.in_progress


@pytest.mark.parametrize("v", vectors("pb_gatt_sar"), ids=ids)
def test_pb_gatt_sar_vector_both_directions(v: dict[str, Any]) -> None:
    """§8.8: ATT_MTU 23 gives 20-octet writes (header + 19 data octets)."""
    inputs = v["inputs"]
    writes = [h(s) for s in v["expected"]["att_write_command_values"]]
    kind = int(inputs["proxy_pdu_message_type"], 16)
    mtu = proxy_pdu_size(inputs["att_mtu"])
    assert mtu == 20
    assert segment(kind, h(inputs["provisioning_pdu"]), mtu) == writes
    reassembler = Reassembler()
    out = [reassembler.receive(w, now=0.0) for w in writes]
    assert out[-1] == ProxyMessage(ProxyMessageType.PROVISIONING_PDU, h(inputs["provisioning_pdu"]))
    assert all(o is None for o in out[:-1])


def test_gatt_uuids_are_full_lower_case() -> None:
    assert MESH_PROVISIONING_SERVICE_UUID == "00001827-0000-1000-8000-00805f9b34fb"
    assert MESH_PROVISIONING_DATA_IN_UUID == "00002adb-0000-1000-8000-00805f9b34fb"
    assert MESH_PROVISIONING_DATA_OUT_UUID == "00002adc-0000-1000-8000-00805f9b34fb"
    assert MESH_PROXY_SERVICE_UUID == "00001828-0000-1000-8000-00805f9b34fb"
    assert MESH_PROXY_DATA_IN_UUID == "00002add-0000-1000-8000-00805f9b34fb"
    assert MESH_PROXY_DATA_OUT_UUID == "00002ade-0000-1000-8000-00805f9b34fb"


def test_single_pdu_is_complete() -> None:
    assert segment(ProxyMessageType.NETWORK_PDU, b"\x01\x02", 20) == [b"\x00\x01\x02"]
    # exactly filling one PDU is still "complete"
    assert segment(0, bytes(19), 20) == [b"\x00" + bytes(19)]
    assert len(segment(0, bytes(20), 20)) == 2


def test_pdu_codec_round_trip() -> None:
    pdu = ProxyPdu(SarFlag.LAST, ProxyMessageType.PROXY_CONFIGURATION, b"\xaa")
    assert pdu.to_bytes() == b"\xc2\xaa"
    assert ProxyPdu.from_bytes(b"\xc2\xaa") == pdu


@pytest.mark.parametrize(
    ("kind", "data", "mtu"),
    [(0x04, b"x", 20), (0, b"", 20), (0, b"x", 1), (-1, b"x", 20)],
)
def test_segment_rejects_bad_arguments(kind: int, data: bytes, mtu: int) -> None:
    with pytest.raises(UsageError):
        segment(kind, data, mtu)


@pytest.mark.parametrize("att_mtu", [0, 22, 518])
def test_proxy_pdu_size_rejects_impossible_mtu(att_mtu: int) -> None:
    with pytest.raises(UsageError):
        proxy_pdu_size(att_mtu)


def _msg_types() -> st.SearchStrategy[ProxyMessageType]:
    return st.sampled_from(list(ProxyMessageType))


@settings(max_examples=200)
@given(kind=_msg_types(), data=st.binary(min_size=1, max_size=200), mtu=st.integers(2, 80))
def test_round_trip_random_mtu(kind: ProxyMessageType, data: bytes, mtu: int) -> None:
    limit = DEFAULT_MAX_MESSAGE_LENGTHS[kind]
    data = data[:limit]
    pdus = segment(kind, data, mtu)
    assert all(len(p) <= mtu for p in pdus)
    # every segment but the last fills the PDU completely (§6.5)
    assert all(len(p) == mtu for p in pdus[:-1])
    reassembler = Reassembler()
    out = [reassembler.receive(p, now=float(i)) for i, p in enumerate(pdus)]
    assert out[-1] == ProxyMessage(kind, data)
    assert all(o is None for o in out[:-1])
    assert reassembler.next_deadline() is None


@settings(max_examples=100)
@given(
    messages=st.lists(
        st.tuples(_msg_types(), st.binary(min_size=1, max_size=29)), min_size=1, max_size=6
    ),
    mtu=st.integers(2, 30),
)
def test_back_to_back_messages(messages: list[tuple[ProxyMessageType, bytes]], mtu: int) -> None:
    reassembler = Reassembler()
    received = []
    for kind, data in messages:
        for pdu in segment(kind, data, mtu):
            message = reassembler.receive(pdu, now=0.0)
            if message is not None:
                received.append(message)
    assert received == [ProxyMessage(k, d) for k, d in messages]


def _first_and_rest(kind: ProxyMessageType = ProxyMessageType.NETWORK_PDU) -> list[bytes]:
    return segment(kind, bytes(range(10)), 4)  # 4 segments: first, cont, cont, last


def test_sar_timeout_drops_partial_message() -> None:
    reassembler = Reassembler()
    pdus = _first_and_rest()
    assert reassembler.receive(pdus[0], now=100.0) is None
    assert reassembler.next_deadline() == 100.0 + SAR_TIMEOUT
    assert not reassembler.expire(100.0 + SAR_TIMEOUT - 0.001)
    assert reassembler.in_progress
    assert reassembler.expire(100.0 + SAR_TIMEOUT)
    assert not reassembler.in_progress
    assert reassembler.next_deadline() is None
    # the stale continuation never glues onto anything
    with pytest.raises(ProxySarError):
        reassembler.receive(pdus[1], now=121.0)
    # and a fresh message goes through
    out = [reassembler.receive(p, now=122.0) for p in pdus]
    assert out[-1] == ProxyMessage(ProxyMessageType.NETWORK_PDU, bytes(range(10)))


def test_each_segment_restarts_the_sar_timer() -> None:
    reassembler = Reassembler()
    pdus = _first_and_rest()
    reassembler.receive(pdus[0], now=0.0)
    reassembler.receive(pdus[1], now=15.0)
    assert reassembler.next_deadline() == 15.0 + SAR_TIMEOUT
    reassembler.receive(pdus[2], now=30.0)
    assert reassembler.receive(pdus[3], now=45.0) is not None


def test_segment_after_unexpired_deadline_reports_timeout() -> None:
    """If the runtime was late calling expire(), receive() still refuses the stale message."""
    reassembler = Reassembler()
    pdus = _first_and_rest()
    reassembler.receive(pdus[0], now=0.0)
    with pytest.raises(SarTimeoutError):
        reassembler.receive(pdus[1], now=SAR_TIMEOUT + 1)
    assert not reassembler.in_progress


@pytest.mark.parametrize(
    ("sequence", "field"),
    [
        # new first segment while one is in progress
        (["41aa", "41bb"], "sar"),
        # complete PDU while one is in progress
        (["41aa", "01bb"], "sar"),
        # continuation without first
        (["81aa"], "sar"),
        # last without first
        (["c1aa"], "sar"),
        # message type changes mid-message
        (["41aa", "82bb"], "message_type"),
        (["41aa", "c0bb"], "message_type"),
    ],
)
def test_sar_violations_raise_and_reset(sequence: list[str], field: str) -> None:
    reassembler = Reassembler()
    for pdu in sequence[:-1]:
        assert reassembler.receive(h(pdu), now=0.0) is None
    with pytest.raises(ProxySarError) as err:
        reassembler.receive(h(sequence[-1]), now=0.0)
    assert err.value.field == field
    assert isinstance(err.value, DecodeError)
    assert not reassembler.in_progress
    # state reset: a following last segment does not glue onto the dropped prefix
    with pytest.raises(ProxySarError):
        reassembler.receive(h("c1cc"), now=0.0)
    assert reassembler.receive(h("01dd"), now=0.0) == ProxyMessage(
        ProxyMessageType.MESH_BEACON, b"\xdd"
    )


@pytest.mark.parametrize("header", [0x04, 0x3F, 0x44, 0xFF])
def test_reserved_message_type(header: int) -> None:
    reassembler = Reassembler()
    reassembler.receive(h("41aa"), now=0.0)
    with pytest.raises(ReservedMessageTypeError) as err:
        reassembler.receive(bytes([header, 0x00]), now=0.0)
    assert err.value.message_type == header & 0x3F
    assert not reassembler.in_progress


@pytest.mark.parametrize("pdu", [b"", b"\x00"])
def test_empty_pdus_are_rejected(pdu: bytes) -> None:
    with pytest.raises(ProxySarError):
        Reassembler().receive(pdu, now=0.0)


def test_oversized_message_is_rejected() -> None:
    reassembler = Reassembler()
    pdus = segment(ProxyMessageType.NETWORK_PDU, bytes(30), 20)
    reassembler.receive(pdus[0], now=0.0)
    with pytest.raises(ProxySarError) as err:
        reassembler.receive(pdus[1], now=0.0)
    assert err.value.field == "data"
    assert not reassembler.in_progress
    with pytest.raises(ProxySarError):
        reassembler.receive(segment(ProxyMessageType.MESH_BEACON, bytes(30), 40)[0], now=0.0)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=30), max_size=12))
def test_fuzz_only_mesh_errors(pdus: list[bytes]) -> None:
    reassembler = Reassembler()
    for i, pdu in enumerate(pdus):
        try:
            message = reassembler.receive(pdu, now=float(i))
        except MeshError:
            assert not reassembler.in_progress
            continue
        if message is not None:
            assert isinstance(message.message_type, ProxyMessageType)
            assert message.data


@settings(max_examples=200)
@given(
    data=st.binary(min_size=1, max_size=29),
    mtu=st.integers(2, 10),
    flips=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 255)), max_size=4),
)
def test_fuzz_mutated_segments(data: bytes, mtu: int, flips: list[tuple[int, int]]) -> None:
    pdus = [bytearray(p) for p in segment(ProxyMessageType.NETWORK_PDU, data, mtu)]
    for where, value in flips:
        pdu = pdus[where % len(pdus)]
        pdu[where % len(pdu)] = value
    reassembler = Reassembler()
    for pdu in pdus:
        try:
            reassembler.receive(bytes(pdu), now=0.0)
        except MeshError:
            assert not reassembler.in_progress


@settings(max_examples=200)
@given(st.binary(max_size=40))
def test_fuzz_pdu_decoder(pdu: bytes) -> None:
    try:
        decoded = ProxyPdu.from_bytes(pdu)
    except ProxySarError:
        return
    assert decoded.to_bytes() == pdu
