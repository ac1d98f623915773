"""Mesh messages #1-#24 and the subnet bridge messages (MshPRT 1.1 §8.3, §8.12), both directions.

Every ``mesh_message`` vector is checked at each layer: the network layer (nonce, PECB,
obfuscated and encrypted Network PDU, and decryption back to every field), the lower transport
PDU codec, the upper transport encryption, and finally the whole :class:`MeshStack` sending the
message (same bytes as the sample) and another stack receiving it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from custom_components.ble_mesh.mesh import access, crypto
from custom_components.ble_mesh.mesh.__main__ import main as cli_main
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkCredentials,
    NetworkKeyring,
    NetworkPdu,
    ReplayProtectionList,
    SequenceAllocator,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    AppKeyring,
    ControlMessage,
    DeviceKey,
    MeshStack,
    SegmentAck,
    SegmentedAccessPdu,
    SegmentedControlPdu,
    SendPdu,
    UnsegmentedAccessPdu,
    UnsegmentedControlPdu,
    decode_lower_transport,
    decrypt_access,
    encrypt_access,
    sent_pdus,
)
from tests.sig_vectors import h, ids, vectors

MESSAGES = vectors("mesh_message")
ACCESS = [v for v in MESSAGES if "access" in v["inputs"]]
CONTROL = [v for v in MESSAGES if "control" in v["inputs"]]


def _credentials(v: dict[str, Any]) -> NetworkCredentials:
    i = v["inputs"]
    if i["credentials"] == "friendship":
        return NetworkCredentials.friendship(h(i["net_key"]), h(i["friendship_p"]))
    return NetworkCredentials.flooding(h(i["net_key"]))


def _iv(v: dict[str, Any]) -> int:
    return int(v["inputs"]["iv_index"], 16)


def _pdus(v: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return list(zip(v["inputs"]["network_pdus"], v["expected"]["network_pdus"], strict=True))


def test_vector_set_is_complete() -> None:
    assert len(MESSAGES) == 24
    assert any(len(v["inputs"]["network_pdus"]) > 1 for v in MESSAGES)


@pytest.mark.parametrize("v", MESSAGES, ids=ids)
def test_network_layer_encode(v: dict[str, Any]) -> None:
    credentials = _credentials(v)
    iv_index = _iv(v)
    assert credentials.nid == int(v["expected"]["nid"], 16)
    for i, e in _pdus(v):
        pdu = NetworkPdu(
            ivi=iv_index & 1,
            nid=credentials.nid,
            ctl=bool(i["ctl"]),
            ttl=i["ttl"],
            seq=int(i["seq"], 16),
            src=int(i["src"], 16),
            dst=int(i["dst"], 16),
            transport_pdu=h(i["lower_transport_pdu"]),
        )
        ctl_ttl = (0x80 if i["ctl"] else 0) | i["ttl"]
        nonce = crypto.network_nonce(ctl_ttl, pdu.seq, pdu.src, iv_index)
        assert nonce == h(e["network_nonce"])
        raw = pdu.encrypt(credentials, iv_index)
        assert raw == h(e["network_pdu"])
        assert raw[7:] == h(e["enc_dst_transport_pdu"]) + h(e["net_mic"])
        privacy_random = raw[7:14]
        assert bytes(5) + iv_index.to_bytes(4, "big") + privacy_random == h(e["privacy_plaintext"])
        if "pecb_first6" in e:
            pecb = crypto.obfuscate(credentials.privacy_key, iv_index, privacy_random, bytes(6))
            assert pecb == h(e["pecb_first6"])


@pytest.mark.parametrize("v", MESSAGES, ids=ids)
def test_network_layer_decode(v: dict[str, Any]) -> None:
    credentials = _credentials(v)
    iv_index = _iv(v)
    for i, e in _pdus(v):
        pdu = NetworkPdu.decrypt(h(e["network_pdu"]), credentials, iv_index)
        assert pdu.ivi == iv_index & 1
        assert pdu.nid == int(v["expected"]["nid"], 16)
        assert pdu.ctl == bool(i["ctl"])
        assert pdu.ttl == i["ttl"]
        assert pdu.seq == int(i["seq"], 16)
        assert pdu.src == int(i["src"], 16)
        assert pdu.dst == int(i["dst"], 16)
        assert pdu.transport_pdu == h(i["lower_transport_pdu"])
        assert pdu.net_mic == h(e["net_mic"])
        # The clear-text layout round-trips too.
        assert NetworkPdu.from_bytes(pdu.to_bytes()) == pdu


@pytest.mark.parametrize(
    "v", [v for v in MESSAGES if v["inputs"]["credentials"] == "flooding"], ids=ids
)
def test_network_layer_decode_with_keyring(v: dict[str, Any]) -> None:
    ring = NetworkKeyring()
    ring.add(3, crypto.aes_cmac(bytes(16), b"another subnet"))
    ring.add(0, h(v["inputs"]["net_key"]))
    iv = IvIndexState(iv_index=_iv(v))
    for i, e in _pdus(v):
        received = decrypt_with_keyring(h(e["network_pdu"]), ring, iv)
        assert received.net_key_index == 0
        assert received.iv_index == _iv(v)
        assert received.pdu.seq == int(i["seq"], 16)
        assert received.pdu.transport_pdu == h(i["lower_transport_pdu"])


@pytest.mark.parametrize("v", MESSAGES, ids=ids)
def test_lower_transport_codec(v: dict[str, Any]) -> None:
    for i, _ in _pdus(v):
        raw = h(i["lower_transport_pdu"])
        lower = decode_lower_transport(bool(i["ctl"]), raw)
        assert lower.to_bytes() == raw
        if i["ctl"]:
            assert isinstance(lower, UnsegmentedControlPdu | SegmentedControlPdu)
        else:
            assert isinstance(lower, UnsegmentedAccessPdu | SegmentedAccessPdu)


@pytest.mark.parametrize("v", CONTROL, ids=ids)
def test_control_messages(v: dict[str, Any]) -> None:
    control = v["inputs"]["control"]
    opcode, parameters = int(control["opcode"], 16), h(control["parameters"])
    (i, _), *_ = _pdus(v)
    lower = UnsegmentedControlPdu(opcode, parameters)
    assert lower.to_bytes() == h(i["lower_transport_pdu"])
    assert UnsegmentedControlPdu.from_bytes(h(i["lower_transport_pdu"])) == lower
    if opcode == SegmentAck.OPCODE:
        ack = SegmentAck.from_parameters(parameters)
        assert ack.obo is True
        assert ack.seq_zero == 0x09AB
        assert ack.block_ack in (2, 3)
        assert ack.to_bytes() == h(i["lower_transport_pdu"])


def _key(access: dict[str, Any]) -> AppKey | DeviceKey:
    if access["key_type"] == "application":
        return AppKey(0, h(access["key"]))
    return DeviceKey(h(access["key"]))


@pytest.mark.parametrize("v", ACCESS, ids=ids)
def test_upper_transport(v: dict[str, Any]) -> None:
    a, e = v["inputs"]["access"], v["expected"]["upper_transport"]
    key = _key(a)
    args: dict[str, Any] = {
        "seq": int(a["seq"], 16),
        "src": int(a["src"], 16),
        "dst": int(a["dst"], 16),
        "iv_index": _iv(v),
        "szmic": bool(a["aszmic"]),
        "label_uuid": h(a["label_uuid"]) if "label_uuid" in a else None,
    }
    if isinstance(key, AppKey):
        assert key.aid == int(e["aid"], 16)
        assert crypto.application_nonce(
            args["szmic"], args["seq"], args["src"], args["dst"], args["iv_index"]
        ) == h(e["nonce"])
    else:
        assert crypto.device_nonce(
            args["szmic"], args["seq"], args["src"], args["dst"], args["iv_index"]
        ) == h(e["nonce"])
    if "virtual_address" in e:
        assert crypto.virtual_address(h(a["label_uuid"])) == int(e["virtual_address"], 16)
    upper = encrypt_access(h(a["access_payload"]), key, **args)
    assert upper == h(e["upper_transport_pdu"])
    assert upper[:-4] == h(e["enc_access_payload"])
    assert upper[-4:] == h(e["trans_mic"])
    assert decrypt_access(upper, key, **args) == h(a["access_payload"])
    # The segments carry the Upper Transport PDU, in order.
    pieces = []
    for i, _ in _pdus(v):
        lower = decode_lower_transport(False, h(i["lower_transport_pdu"]))
        assert isinstance(lower, UnsegmentedAccessPdu | SegmentedAccessPdu)
        assert lower.akf == (a["akf"] == 1)
        assert lower.aid == (int(e["aid"], 16) if a["akf"] else 0)
        if isinstance(lower, SegmentedAccessPdu):
            assert a["segmented"]
            assert lower.seq_zero == int(a["seq_zero"], 16)
            assert lower.szmic == bool(a["aszmic"])
            pieces.append(lower.segment)
        else:
            assert isinstance(lower, UnsegmentedAccessPdu)
            pieces.append(lower.upper_transport_pdu)
    assert b"".join(pieces) == upper


def _stacks(v: dict[str, Any]) -> tuple[MeshStack, MeshStack, AppKey | DeviceKey]:
    """A sender stack at the sample's SEQ, and a receiver stack for the destination."""
    a = v["inputs"]["access"]
    iv_index = _iv(v)
    src, dst = int(a["src"], 16), int(a["dst"], 16)
    net_keys = NetworkKeyring()
    net_keys.add(0, h(v["inputs"]["net_key"]))
    key = _key(a)
    sender_keys: list[DeviceKey] = []
    receiver_keys: list[DeviceKey] = []
    app_keys = AppKeyring()
    if isinstance(key, AppKey):
        app_keys.add(key)
    else:
        # The device key belongs to whichever side is the configured node: cover both.
        sender_keys = [DeviceKey(key.key, address=src)]
        receiver_keys = [DeviceKey(key.key, address=src)]
    labels = [h(a["label_uuid"])] if "label_uuid" in a else []
    sender = MeshStack(
        primary_address=src,
        net_keys=net_keys,
        app_keys=app_keys,
        device_keys=sender_keys,
        iv=IvIndexState(iv_index=iv_index),
        seq=SequenceAllocator(iv_index, int(a["seq"], 16)),
    )
    receiver_net_keys = NetworkKeyring()
    receiver_net_keys.add(0, h(v["inputs"]["net_key"]))
    receiver = MeshStack(
        primary_address=dst if 0 < dst < 0x8000 else 0x7F00,
        net_keys=receiver_net_keys,
        app_keys=app_keys,
        device_keys=receiver_keys,
        iv=IvIndexState(iv_index=iv_index),
        rpl=ReplayProtectionList(),
        label_uuids=labels,
    )
    return sender, receiver, key if isinstance(key, AppKey) else sender_keys[0]


@pytest.mark.parametrize("v", ACCESS, ids=ids)
def test_stack_sends_the_sample_bytes(v: dict[str, Any]) -> None:
    a = v["inputs"]["access"]
    sender, _, key = _stacks(v)
    first = v["inputs"]["network_pdus"][0]
    actions = sender.send_access(
        int(a["dst"], 16),
        h(a["access_payload"]),
        key=key,
        ttl=first["ttl"],
        label_uuid=h(a["label_uuid"]) if "label_uuid" in a else None,
        segmented=a["segmented"],
        now=0.0,
    )
    assert sent_pdus(actions) == [h(e["network_pdu"]) for e in v["expected"]["network_pdus"]]


@pytest.mark.parametrize("v", ACCESS, ids=ids)
def test_stack_receives_the_sample(v: dict[str, Any]) -> None:
    a = v["inputs"]["access"]
    _, receiver, _ = _stacks(v)
    actions: list[Any] = []
    for e in v["expected"]["network_pdus"]:
        actions += receiver.receive(h(e["network_pdu"]), now=1.0)
    delivered = [x for x in actions if isinstance(x, AccessMessage)]
    assert len(delivered) == 1, receiver.last_drop_reason
    message = delivered[0]
    assert message.payload == h(a["access_payload"])
    assert message.src == int(a["src"], 16)
    assert message.dst == int(a["dst"], 16)
    assert message.seq == int(a["seq"], 16)
    assert message.segmented == a["segmented"]
    assert message.app_key_index == (0 if a["akf"] else None)
    if "label_uuid" in a:
        assert message.label_uuid == h(a["label_uuid"])
    # A segmented message to a unicast address is acknowledged: every segment, right away.
    acks = [SegmentAck.from_bytes(p.pdu.transport_pdu) for p in _opened(receiver, actions)]
    if a["segmented"] and int(a["dst"], 16) < 0x8000:
        assert [ack.block_ack for ack in acks] == [(1 << len(v["inputs"]["network_pdus"])) - 1]
        assert acks[0].seq_zero == int(a["seq_zero"], 16)
    else:
        assert acks == []
    # Replaying the same PDUs delivers nothing new.
    again: list[Any] = []
    for e in v["expected"]["network_pdus"]:
        again += receiver.receive(h(e["network_pdu"]), now=2.0)
    assert not [x for x in again if isinstance(x, AccessMessage)]


def _opened(stack: MeshStack, actions: list[Any]) -> list[Any]:
    return [stack.open_network_pdu(x.data) for x in actions if isinstance(x, SendPdu)]


@pytest.mark.parametrize(
    "v",
    [
        v
        for v in CONTROL
        if v["inputs"]["credentials"] == "flooding" and v["inputs"]["control"]["opcode"] != "00"
    ],
    ids=ids,
)
def test_stack_control_round_trip(v: dict[str, Any]) -> None:
    control = v["inputs"]["control"]
    (i, e), *_ = _pdus(v)
    net_keys = NetworkKeyring()
    net_keys.add(0, h(v["inputs"]["net_key"]))
    sender = MeshStack(
        primary_address=int(i["src"], 16),
        net_keys=net_keys,
        iv=IvIndexState(iv_index=_iv(v)),
        seq=SequenceAllocator(_iv(v), int(i["seq"], 16)),
    )
    actions = sender.send_control(
        int(i["dst"], 16),
        int(control["opcode"], 16),
        h(control["parameters"]),
        ttl=i["ttl"],
        now=0.0,
    )
    assert sent_pdus(actions) == [h(e["network_pdu"])]
    dst = int(i["dst"], 16)
    receiver = MeshStack(
        primary_address=dst if dst < 0x8000 else 0x0100,
        net_keys=net_keys,
        iv=IvIndexState(iv_index=_iv(v)),
    )
    received = receiver.receive(h(e["network_pdu"]), now=0.0)
    messages = [x for x in received if isinstance(x, ControlMessage)]
    assert [(m.opcode, m.parameters, m.src) for m in messages] == [
        (int(control["opcode"], 16), h(control["parameters"]), int(i["src"], 16))
    ]


# --- the packet decoder command line (custom_components/ble_mesh/mesh/__main__.py) -----------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    status = cli_main(list(argv))
    captured = capsys.readouterr()
    if status == 0:
        assert captured.err == ""
        return status, json.loads(captured.out)
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    return status, captured.err


@pytest.mark.parametrize(
    "v", [v for v in MESSAGES if v["inputs"]["credentials"] == "flooding"], ids=ids
)
def test_cli_decodes_every_flooding_sample(
    v: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    i = v["inputs"]
    keys: list[str] = []
    if "access" in i:
        option = "--app-key" if i["access"]["key_type"] == "application" else "--dev-key"
        keys = [option, i["access"]["key"]]
        if "label_uuid" in i["access"]:
            keys += ["--label-uuid", i["access"]["label_uuid"]]
    for pdu_in, pdu_out in _pdus(v):
        status, out = _cli(
            capsys,
            "decode",
            "--net-key",
            i["net_key"],
            "--iv-index",
            i["iv_index"],
            *keys,
            pdu_out["network_pdu"],
        )
        assert status == 0
        network = out["network"]
        assert network["seq"] == int(pdu_in["seq"], 16)
        assert (network["src"], network["dst"]) == (pdu_in["src"], pdu_in["dst"])
        assert (network["ctl"], network["ttl"]) == (pdu_in["ctl"], pdu_in["ttl"])
        assert network["net_mic"] == pdu_out["net_mic"]
        assert network["transport_pdu"] == pdu_in["lower_transport_pdu"]
        lower = out["lower_transport"]
        assert lower["seg"] == int(pdu_in["lower_transport_pdu"][0] in "89abcdef")
        if "access" in i and not i["access"]["segmented"]:
            assert lower["akf"] == i["access"]["akf"]
            upper = out["upper_transport"]
            assert upper["access_payload"] == i["access"]["access_payload"]
            assert upper["key"] == ("app_key" if i["access"]["akf"] else "dev_key")
            assert (
                out["access"]["opcode"] == access.parse_opcode(h(i["access"]["access_payload"]))[0]
            )
        if "control" in i:
            assert lower["opcode"] == int(i["control"]["opcode"], 16)


def test_cli_access_names_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    net = ["--net-key", "7dd7364cd842ad18c17c2b820c84c3d6", "--iv-index", "12345678"]
    status, out = _cli(
        capsys,
        "decode",
        *net,
        "--dev-key",
        "9d6dd0e96eb25dc19a40ed9914f8f03f",
        "68e80e5da5af0e6b9be7f5a642f2f98680e61c3a8b47f228",
    )
    assert status == 0
    assert out["access"]["name"] == "ConfigAppKeyStatus"
    # Without the right key the upper transport stays closed.
    status, out = _cli(capsys, "decode", *net, "68e80e5da5af0e6b9be7f5a642f2f98680e61c3a8b47f228")
    assert "error" in out["upper_transport"]
    assert "access" not in out
    # A proxy configuration message (§8.9.1).
    status, out = _cli(
        capsys,
        "decode",
        "--net-key",
        "d1aafb2a1a3c281cbdb0e960edfad852",
        "--iv-index",
        "12345678",
        "10386bd60efbbb8b8c28512e792d3711f4b526",
    )
    assert out["proxy_configuration"] == {"opcode": 0, "name": "SetFilterType", "filter_type": 0}
    for argv in (
        ["decode", *net, "68aaaa"],
        ["decode", "--iv-index", "12345678", "68aaaa"],
        ["decode", "--net-key", "zz", "--iv-index", "1", "68aaaa"],
        ["decode", *net, "68e80e5da5af0e6b9be7f5a642f2f98680e61c3a8b47f229"],
        ["frobnicate"],
    ):
        status, err = _cli(capsys, *argv)
        assert status == 2
        assert err.startswith("error: ")
