"""Proxy configuration messages (MshPRT 1.1 §6.5, §6.6) against the §8.9 samples."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkCredentials,
    NetworkKeyring,
    NetworkPdu,
    SequenceAllocator,
)
from custom_components.ble_mesh.mesh.proxy_config import (
    AddAddresses,
    DirectedProxyCapabilitiesStatus,
    DirectedProxyControl,
    FilterStatus,
    FilterType,
    ProxyConfigMessage,
    RemoveAddresses,
    SetFilterType,
    decode_proxy_config,
    decrypt_proxy_config,
    encrypt_proxy_config,
    receive_proxy_config,
    send_proxy_config,
)
from custom_components.ble_mesh.mesh.transport import (
    MeshStack,
    ReplayProtectionUpdated,
    sent_pdus,
)
from tests.sig_vectors import h, ids, vectors

VECTORS = vectors("proxy_configuration_pdu")
EXPECTED_MESSAGES: dict[str, ProxyConfigMessage] = {
    "proxy_cfg_set_filter_type_8_9_1": SetFilterType(FilterType.ACCEPT_LIST),
    "proxy_cfg_directed_proxy_caps_status_8_9_2": DirectedProxyCapabilitiesStatus(True, True),
    "proxy_cfg_directed_proxy_control_8_9_3": DirectedProxyControl(True, 0x0607, 3),
}


def test_every_sample_has_an_expected_message() -> None:
    assert {v["id"] for v in VECTORS} == set(EXPECTED_MESSAGES)


@pytest.mark.parametrize("v", VECTORS, ids=ids)
def test_encode_reproduces_the_sample(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    credentials = NetworkCredentials.flooding(h(i["net_key"]))
    assert credentials.nid == int(e["nid"], 16)
    assert credentials.encryption_key == h(e["encryption_key"])
    assert credentials.privacy_key == h(e["privacy_key"])
    iv_index, seq, src = int(i["iv_index"], 16), int(i["seq"], 16), int(i["src"], 16)
    assert crypto.proxy_nonce(seq, src, iv_index) == h(e["proxy_nonce"])
    message = decode_proxy_config(h(i["transport_pdu"]))
    assert message == EXPECTED_MESSAGES[v["id"]]
    assert message.to_bytes() == h(i["transport_pdu"])
    raw = encrypt_proxy_config(message, credentials, iv_index=iv_index, seq=seq, src=src)
    assert raw == h(e["proxy_message"])
    assert raw[7:] == h(e["enc_dst_transport_pdu"]) + h(e["net_mic"])
    assert crypto.obfuscate(credentials.privacy_key, iv_index, raw[7:14], bytes(6)) == h(
        e["pecb_first6"]
    )
    # Proxy PDU header 0x02: SAR complete, message type Proxy Configuration (§6.3.1).
    assert b"\x02" + raw == h(e["proxy_pdu"])


@pytest.mark.parametrize("v", VECTORS, ids=ids)
def test_decode_recovers_every_field(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    credentials = NetworkCredentials.flooding(h(i["net_key"]))
    pdu, message = decrypt_proxy_config(
        h(e["proxy_message"]), credentials, iv_index=int(i["iv_index"], 16)
    )
    assert (pdu.ctl, pdu.ttl) == (bool(i["ctl"]), i["ttl"])
    assert pdu.seq == int(i["seq"], 16)
    assert pdu.src == int(i["src"], 16)
    assert pdu.dst == int(i["dst"], 16)
    assert pdu.transport_pdu == h(i["transport_pdu"])
    assert pdu.net_mic == h(e["net_mic"])
    assert message == EXPECTED_MESSAGES[v["id"]]


@pytest.mark.parametrize("v", VECTORS, ids=ids)
def test_stack_sends_and_receives_the_sample(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    iv_index = int(i["iv_index"], 16)
    ring = NetworkKeyring()
    ring.add(0, h(i["net_key"]))
    client = MeshStack(
        primary_address=int(i["src"], 16),
        net_keys=ring,
        iv=IvIndexState(iv_index=iv_index),
        seq=SequenceAllocator(iv_index, int(i["seq"], 16)),
    )
    assert sent_pdus(send_proxy_config(client, EXPECTED_MESSAGES[v["id"]])) == [
        h(e["proxy_message"])
    ]
    server = MeshStack(primary_address=0x7000, net_keys=ring, iv=IvIndexState(iv_index=iv_index))
    received, actions = receive_proxy_config(server, h(e["proxy_message"]))
    assert received is not None
    assert received.message == EXPECTED_MESSAGES[v["id"]]
    assert actions == [ReplayProtectionUpdated(int(i["src"], 16), iv_index, int(i["seq"], 16))]
    # Replay protection applies to proxy configuration messages (§3.9.8).
    assert receive_proxy_config(server, h(e["proxy_message"])) == (None, [])
    assert server.last_drop_reason == "replayed"
    # A proxy configuration PDU is not an ordinary Network PDU: the network nonce fails.
    assert server.receive(h(e["proxy_message"]), 0.0) == []


messages = st.one_of(
    st.builds(SetFilterType, st.sampled_from(FilterType)),
    st.builds(AddAddresses, st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=5).map(tuple)),
    st.builds(RemoveAddresses, st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=5).map(tuple)),
    st.builds(FilterStatus, st.sampled_from(FilterType), st.integers(0, 0xFFFF)),
    st.builds(DirectedProxyCapabilitiesStatus, st.booleans(), st.booleans()),
    st.builds(
        DirectedProxyControl,
        st.booleans(),
        st.integers(1, 0x7FFF),
        st.one_of(st.none(), st.integers(2, 255)),
    ),
    st.builds(DirectedProxyControl, st.booleans()),
)


@settings(max_examples=200)
@given(messages)
def test_message_round_trip_and_encryption(message: Any) -> None:
    assert decode_proxy_config(message.to_bytes()) == message
    credentials = NetworkCredentials.flooding(h("7dd7364cd842ad18c17c2b820c84c3d6"))
    raw = encrypt_proxy_config(message, credentials, iv_index=0x12345678, seq=5, src=0x0001)
    assert decrypt_proxy_config(raw, credentials, iv_index=0x12345678)[1] == message


def test_invalid_messages() -> None:
    for data in (
        "0002",
        "00",
        "01",
        "010001ff",
        "01" + "0001" * 6,
        "0300",
        "030200aa",
        "040200",
        "05",
        "0502",
        "050100",
        "0501860700",
        "06",
        "ff",
    ):
        with pytest.raises(DecodeError):
            decode_proxy_config(h(data))
    with pytest.raises(UsageError):
        AddAddresses(())
    with pytest.raises(UsageError):
        DirectedProxyControl(True, None, 3)


def test_header_must_be_ctl1_ttl0_dst0() -> None:
    credentials = NetworkCredentials.flooding(h("7dd7364cd842ad18c17c2b820c84c3d6"))
    pdu = NetworkPdu(0, credentials.nid, True, 0, 1, 0x0001, 0x0005, b"\x00\x00")
    raw = pdu.encrypt(credentials, 0x12345678, proxy=True)
    with pytest.raises(DecodeError):
        decrypt_proxy_config(raw, credentials, iv_index=0x12345678)


@settings(max_examples=300)
@given(st.binary(max_size=32))
def test_decoders_raise_only_mesh_errors(data: bytes) -> None:
    credentials = NetworkCredentials.flooding(h("7dd7364cd842ad18c17c2b820c84c3d6"))
    ring = NetworkKeyring()
    ring.add(0, h("7dd7364cd842ad18c17c2b820c84c3d6"))
    stack = MeshStack(primary_address=0x0001, net_keys=ring, iv=IvIndexState(iv_index=0x12345678))
    with contextlib.suppress(MeshError):
        decode_proxy_config(data)
    with contextlib.suppress(MeshError):
        decrypt_proxy_config(data, credentials, iv_index=0x12345678)
    received, _ = receive_proxy_config(stack, data)
    assert received is None or received.network.pdu.ttl == 0
