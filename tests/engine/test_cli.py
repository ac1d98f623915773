"""The packet command line (custom_components/ble_mesh/mesh/__main__.py): encode and beacon.

``encode`` must reproduce every flooding ``mesh_message`` sample (MshPRT 1.1 §8.3, §8.12) byte
for byte, ``beacon`` must check every ``secure_network_beacon`` sample (§8.4.3, §8.4.4). The
CLI runs in-process through ``main(argv)``, as the decode tests in test_mesh_messages.py do,
and once more as a real ``python -m`` subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.__main__ import main as cli_main
from custom_components.ble_mesh.mesh.beacons import SecureNetworkBeacon
from custom_components.ble_mesh.mesh.network import IvIndexState, NetworkKeyring
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    AppKeyring,
    ControlMessage,
    MeshStack,
)
from tests.sig_vectors import h, ids, vectors

REPO = Path(__file__).resolve().parents[2]
FLOODING = [v for v in vectors("mesh_message") if v["inputs"]["credentials"] == "flooding"]
BEACONS = vectors("secure_network_beacon")

NET_KEY = "7dd7364cd842ad18c17c2b820c84c3d6"
APP_KEY = "63964771734fbd76e3b40519d1d94a48"
DEV_KEY = "9d6dd0e96eb25dc19a40ed9914f8f03f"
LABEL = "f4a002c7fb1e4ca0a469a021de0db875"
NET = ["--net-key", NET_KEY, "--iv-index", "12345678"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli_main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _encode(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    status, out, err = _run(capsys, "encode", *argv)
    assert (status, err) == (0, ""), err
    return out.split()


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: ")
    return err


def _access_options(access: dict[str, Any]) -> list[str]:
    option = "--app-key" if access["key_type"] == "application" else "--dev-key"
    options = [option, access["key"]]
    if "label_uuid" in access:
        options += ["--label-uuid", access["label_uuid"]]
    return options


def _source_of(v: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """For a sample that only shows a PDU (a relay, a retransmission): the access sample whose
    message it carries, and which of its segments, found by the Lower Transport PDU."""
    wanted = v["inputs"]["network_pdus"][0]
    for other in FLOODING:
        if "access" not in other["inputs"]:
            continue
        for number, pdu in enumerate(other["inputs"]["network_pdus"]):
            if (pdu["lower_transport_pdu"], pdu["src"], pdu["dst"]) == (
                wanted["lower_transport_pdu"],
                wanted["src"],
                wanted["dst"],
            ):
                return other, number
    raise LookupError(f"{v['id']}: no sample carries this Lower Transport PDU")


def _encode_argv(v: dict[str, Any]) -> list[str]:
    """The encode command line that must print the sample's Network PDUs."""
    i = v["inputs"]
    first = i["network_pdus"][0]
    common = ["--net-key", i["net_key"], "--iv-index", i["iv_index"], "--ttl", str(first["ttl"])]
    common += ["--src", first["src"], "--dst", first["dst"], "--seq", "0x" + first["seq"]]
    if "control" in i:
        return [*common, "--ctl", i["control"]["opcode"] + i["control"]["parameters"]]
    if "access" in i:
        access = i["access"]
        # Segmented: the sample of §8.12.8 is segmented although 11 octets would fit one PDU.
        forced = ["--segmented"] if access["segmented"] else []
        return [*common, *_access_options(access), *forced, access["access_payload"]]
    # A relayed or retransmitted PDU of another sample's message.
    source, segment = _source_of(v)
    access = source["inputs"]["access"]
    argv = [*common, *_access_options(access)]
    if access["segmented"]:
        argv += ["--seq-auth", "0x" + access["seq"], "--segments", str(segment)]
    else:
        assert access["seq"] == first["seq"]  # a relay keeps the SEQ
    return [*argv, access["access_payload"]]


def test_every_flooding_sample_is_covered() -> None:
    assert len(FLOODING) == 16
    kinds = {("access" in v["inputs"], "control" in v["inputs"]) for v in FLOODING}
    assert kinds == {(True, False), (False, True), (False, False)}
    assert sum(len(v["inputs"]["network_pdus"]) > 1 for v in FLOODING) == 2  # segmented ones


@pytest.mark.parametrize("v", FLOODING, ids=ids)
def test_encode_reproduces_the_sample(
    v: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    expected = [pdu["network_pdu"] for pdu in v["expected"]["network_pdus"]]
    assert _encode(capsys, *_encode_argv(v)) == expected


@pytest.mark.parametrize("v", [v for v in FLOODING if "access" in v["inputs"]], ids=ids)
def test_encode_segments_like_the_stack(
    v: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --segmented a message is segmented only when it does not fit one PDU."""
    access = v["inputs"]["access"]
    argv = [a for a in _encode_argv(v) if a != "--segmented"]
    lines = _encode(capsys, *argv)
    fits = len(h(access["access_payload"])) + 4 <= 15
    assert len(lines) == (1 if fits else len(v["inputs"]["network_pdus"]))
    if not fits or not access["segmented"]:
        assert lines == [pdu["network_pdu"] for pdu in v["expected"]["network_pdus"]]


@pytest.mark.parametrize("v", FLOODING, ids=ids)
def test_encode_then_decode(v: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """decode reads back what encode wrote: the header fields of every PDU."""
    argv = _encode_argv(v)
    i = v["inputs"]
    options = _key_options(argv)
    for line, pdu in zip(_encode(capsys, *argv), i["network_pdus"], strict=True):
        status, out, err = _run(
            capsys, "decode", "--net-key", i["net_key"], "--iv-index", i["iv_index"], *options, line
        )
        assert status == 0, err
        network = json.loads(out)["network"]
        assert network["seq"] == int(pdu["seq"], 16)
        assert (network["src"], network["dst"], network["ttl"]) == (
            pdu["src"],
            pdu["dst"],
            pdu["ttl"],
        )
        assert network["transport_pdu"] == pdu["lower_transport_pdu"]


def _key_options(argv: list[str]) -> list[str]:
    keys = ("--app-key", "--dev-key", "--label-uuid")
    return [o for n, a in enumerate(argv[:-1]) if a in keys for o in (a, argv[n + 1])]


# --- engine against itself -----------------------------------------------------------------


def _receiver(*, app_key: bytes, labels: tuple[bytes, ...] = ()) -> MeshStack:
    ring = NetworkKeyring()
    ring.add(0, h(NET_KEY))
    return MeshStack(
        primary_address=0x0100,
        net_keys=ring,
        app_keys=AppKeyring([AppKey(0, app_key)]),
        iv=IvIndexState(iv_index=0x12345678),
        label_uuids=labels,
    )


@pytest.mark.parametrize("szmic", [False, True])
def test_segmented_access_to_a_virtual_address_reaches_a_stack(
    szmic: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = bytes(range(28))  # 28 + 4 or 8 octets of TransMIC: 3 segments
    dst = crypto.virtual_address(h(LABEL))
    argv = [*NET, "--app-key", APP_KEY, "--label-uuid", LABEL, "--src", "0042"]
    argv += ["--dst", f"{dst:04x}", "--seq", "1000", "--ttl", "5", payload.hex()]
    lines = _encode(capsys, *(["--szmic"] if szmic else []), *argv)
    assert len(lines) == 3
    stack = _receiver(app_key=h(APP_KEY), labels=(h(LABEL),))
    actions = [a for line in lines for a in stack.receive(bytes.fromhex(line), now=0.0)]
    delivered = [a for a in actions if isinstance(a, AccessMessage)]
    assert len(delivered) == 1, stack.last_drop_reason
    message = delivered[0]
    assert (message.payload, message.src, message.dst, message.seq) == (payload, 0x42, dst, 1000)
    assert message.label_uuid == h(LABEL)
    assert message.segmented


def test_one_segment_message_with_szmic_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*NET, "--dev-key", DEV_KEY, "--src", "0003", "--dst", "1201", "--seq", "7"]
    (line,) = _encode(capsys, *argv, "--ttl", "4", "--szmic", "8003")
    status, out, _ = _run(capsys, "decode", *NET, "--dev-key", DEV_KEY, line)
    assert status == 0
    decoded = json.loads(out)
    assert decoded["lower_transport"]["seg"] == 1
    assert decoded["lower_transport"]["szmic"] == 1
    assert decoded["upper_transport"]["access_payload"] == "8003"
    assert decoded["upper_transport"]["key"] == "dev_key"
    (forced,) = _encode(capsys, *argv, "--ttl", "4", "--segmented", "8003")
    assert (
        json.loads(_run(capsys, "decode", *NET, "--dev-key", DEV_KEY, forced)[1])[
            "lower_transport"
        ]["szmic"]
        == 0
    )


def test_segmented_control_message_reaches_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    parameters = bytes(range(1, 21))  # 20 octets: 3 segments of at most 8
    argv = [*NET, "--src", "0042", "--dst", "0100", "--seq", "0x20", "--ttl", "0", "--ctl"]
    lines = _encode(capsys, *argv, "0b" + parameters.hex())
    assert len(lines) == 3
    stack = _receiver(app_key=h(APP_KEY))
    actions = [a for line in lines for a in stack.receive(bytes.fromhex(line), now=0.0)]
    messages = [a for a in actions if isinstance(a, ControlMessage)]
    assert [(m.opcode, m.parameters, m.src) for m in messages] == [(0x0B, parameters, 0x42)]


def test_retransmission_uses_new_seq_and_the_old_seq_auth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = bytes(range(30)).hex()
    argv = [*NET, "--app-key", APP_KEY, "--src", "0042", "--dst", "0100", "--ttl", "5"]
    first = _encode(capsys, *argv, "--seq", "100", payload)
    again = _encode(
        capsys, *argv, "--seq", "103", "--seq-auth", "100", "--segments", "1,2", payload
    )
    assert len(again) == 2
    # Segment 0 from the first transmission, 1 and 2 from the retransmission: one message.
    stack = _receiver(app_key=h(APP_KEY))
    actions = [
        a for line in (first[0], *again) for a in stack.receive(bytes.fromhex(line), now=0.0)
    ]
    delivered = [a for a in actions if isinstance(a, AccessMessage)]
    assert [(m.payload.hex(), m.seq) for m in delivered] == [(payload, 100)]


# --- beacon ----------------------------------------------------------------------------------


def _beacon(capsys: pytest.CaptureFixture[str], net_key: str, beacon: str) -> dict[str, Any]:
    status, out, err = _run(capsys, "beacon", "--net-key", net_key, beacon)
    assert (status, err) == (0, "")
    result: dict[str, Any] = json.loads(out)
    return result


@pytest.mark.parametrize("v", BEACONS, ids=ids)
def test_beacon_sample(v: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    i, e = v["inputs"], v["expected"]
    flags = int(i["flags"], 16)
    expected = {
        "key_refresh": bool(flags & 1),
        "iv_update": bool(flags & 2),
        "network_id": e["network_id"],
        "iv_index": int(i["iv_index"], 16),
        "authenticated": True,
    }
    assert _beacon(capsys, i["net_key"], e["beacon"]) == expected
    # Another network's key: it parses, but does not authenticate.
    other = crypto.aes_cmac(bytes(16), b"another network").hex()
    assert _beacon(capsys, other, e["beacon"]) == expected | {"authenticated": False}
    # A tampered Authentication Value, or a tampered IV Index, does not authenticate either.
    raw = bytearray(h(e["beacon"]))
    raw[-1] ^= 0x01
    assert _beacon(capsys, i["net_key"], raw.hex())["authenticated"] is False
    raw = bytearray(h(e["beacon"]))
    raw[13] ^= 0x01
    tampered = _beacon(capsys, i["net_key"], raw.hex())
    assert tampered["authenticated"] is False
    assert tampered["iv_index"] == int(i["iv_index"], 16) ^ 1


def test_beacon_round_trip_with_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for key_refresh in (False, True):
        for iv_update in (False, True):
            beacon = SecureNetworkBeacon.create(
                h(NET_KEY), 0x01020304, key_refresh=key_refresh, iv_update=iv_update
            )
            result = _beacon(capsys, NET_KEY, beacon.to_bytes().hex())
            assert result == {
                "key_refresh": key_refresh,
                "iv_update": iv_update,
                "network_id": beacon.network_id.hex(),
                "iv_index": 0x01020304,
                "authenticated": True,
            }


@pytest.mark.parametrize(
    "beacon",
    [
        "01003ecaff672f673370123456788ea261582f364f",  # one octet short
        "01003ecaff672f673370123456788ea261582f364f6f00",  # one octet long
        "00003ecaff672f673370123456788ea261582f364f6f",  # not a Secure Network beacon
        "01043ecaff672f673370123456788ea261582f364f6f",  # reserved flag bit
        "",
        "0100zz",
    ],
)
def test_malformed_beacon(beacon: str, capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, "beacon", "--net-key", NET_KEY, beacon)


# --- errors ----------------------------------------------------------------------------------

_ACCESS = [*NET, "--app-key", APP_KEY, "--src", "0003", "--dst", "1201", "--seq", "1", "--ttl", "4"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["encode", *_ACCESS, "80zz"], id="bad-payload-hex"),
        pytest.param(["encode", *_ACCESS, ""], id="empty-payload"),
        pytest.param(["encode", *_ACCESS, "00" * 400], id="payload-too-long"),
        pytest.param(["encode", *_ACCESS[:-4], "--ttl", "4", "8201"], id="missing-seq"),
        pytest.param(["encode", *_ACCESS[2:], "8201"], id="missing-net-key"),
        pytest.param(["encode", *_ACCESS, "--app-key", "0011", "8201"], id="short-app-key"),
        pytest.param(["encode", *NET[:1], "00" * 17, *_ACCESS[2:], "8201"], id="long-net-key"),
        pytest.param(["encode", *_ACCESS, "--seq", "3129ab", "8201"], id="seq-not-a-number"),
        pytest.param(["encode", *_ACCESS, "--seq", "0x1000000", "8201"], id="seq-too-big"),
        pytest.param(["encode", *_ACCESS, "--ttl", "128", "8201"], id="ttl-too-big"),
        pytest.param(["encode", *_ACCESS, "--src", "c000", "8201"], id="src-not-unicast"),
        pytest.param(["encode", *_ACCESS, "--src", "10000", "8201"], id="src-too-big"),
        pytest.param(["encode", *_ACCESS, "--dst", "0000", "8201"], id="dst-unassigned"),
        pytest.param(["encode", *_ACCESS, "--dst", "xyz", "8201"], id="dst-not-hex"),
        pytest.param(["encode", *_ACCESS, "--dst", "9736", "8201"], id="virtual-without-label"),
        pytest.param(["encode", *_ACCESS[:4], *_ACCESS[6:], "8201"], id="no-key"),
        pytest.param(["encode", *_ACCESS, "--ctl", "80aa"], id="control-opcode-too-big"),
        pytest.param(["encode", *_ACCESS, "--ctl", "--szmic", "0aaa"], id="control-szmic"),
        pytest.param(["encode", *_ACCESS, "--segments", "5", "00" * 30], id="no-such-segment"),
        pytest.param(["encode", *_ACCESS, "--segments", "1", "8201"], id="segments-unsegmented"),
        pytest.param(["encode", *_ACCESS, "--seq-auth", "0", "8201"], id="seq-auth-unsegmented"),
        pytest.param(["encode", *_ACCESS, "--seq-auth", "9", "00" * 30], id="seq-auth-after-seq"),
        pytest.param(
            ["encode", *_ACCESS, "--seq", "0xfffffe", "00" * 30], id="segments-pass-max-seq"
        ),
        pytest.param(["decode", *NET, "68aaaa"], id="decode-still-fails-cleanly"),
        pytest.param(["frobnicate"], id="unknown-subcommand"),
        pytest.param([], id="no-subcommand"),
        pytest.param(
            ["beacon", "01003ecaff672f673370123456788ea261582f364f6f"], id="beacon-no-key"
        ),
    ],
)
def test_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _fails(capsys, *argv)


# --- as a real process ------------------------------------------------------------------------


def _process(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custom_components.ble_mesh.mesh", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_subprocess_encode_beacon_and_error() -> None:
    v = next(v for v in FLOODING if len(v["inputs"]["network_pdus"]) > 1)
    done = _process("encode", *_encode_argv(v))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [pdu["network_pdu"] for pdu in v["expected"]["network_pdus"]]
    b = BEACONS[0]
    done = _process("beacon", "--net-key", b["inputs"]["net_key"], b["expected"]["beacon"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["authenticated"] is True
    done = _process("encode", "--net-key", "00")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
