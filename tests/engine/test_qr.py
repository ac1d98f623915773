"""Provisioning QR / OOB text parsing (MshPRT 1.1 §5.7.2 URI, vendor forms, rejections)."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.crypto import EcdhKeyPair
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError
from custom_components.ble_mesh.mesh.qr import (
    OobSource,
    ProvisioningOobData,
    QrFormatError,
    format_uuid,
    parse_provisioning_oob,
)
from tests.sig_vectors import h, vectors

UUID_TEXT = "b09dc847-5408-40cc-9c54-0fe8c87429e7"  # MshPRT 1.1 §8.11.5 example
UUID = bytes.fromhex(UUID_TEXT.replace("-", ""))
STATIC_16 = bytes(range(16))
STATIC_32 = bytes(range(100, 132))
# The §8.7 device public key is a real P-256 point.
DEVICE_PUBLIC_KEY = h(
    next(v for v in vectors("pb_adv_transaction") if v["id"] == "pbadv_pubkey_device_8_7_7")[
        "inputs"
    ]["provisioning_pdu"]
)[1:]
OFF_CURVE = DEVICE_PUBLIC_KEY[:63] + bytes([DEVICE_PUBLIC_KEY[63] ^ 1])


# --- the SIG Certificate-Based Provisioning URI (§5.7.2) ----------------------------------


def test_sig_certificate_uri() -> None:
    uri = f"https://mesh.example.com/oob?uuid={UUID_TEXT}"
    data = parse_provisioning_oob(uri)
    assert data.source is OobSource.CERTIFICATE_URI
    assert data.device_uuid == UUID
    assert data.certificate_uri == uri
    assert data.static_oob is None
    assert data.public_key is None
    assert data.certificate_request_uri() == f"{uri}&content=device-certificate"
    assert data.certificate_request_uri("vendor-intermediate-certs").endswith(
        "&content=vendor-intermediate-certs"
    )


def test_sig_certificate_uri_upper_case_variant() -> None:
    data = parse_provisioning_oob(f"HTTPS://MESH.EXAMPLE.COM/OOB?UUID={UUID_TEXT.upper()}")
    assert data.device_uuid == UUID
    assert data.source is OobSource.CERTIFICATE_URI


def test_sig_certificate_uri_keeps_other_query_parameters() -> None:
    data = parse_provisioning_oob(f"  https://x.example/p?uuid={UUID_TEXT}&v=2\n")
    assert data.extra == (("v", "2"),)
    assert data.device_uuid == UUID


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (f"http://mesh.example.com/oob?uuid={UUID_TEXT}", "certificate_uri"),
        (f"ftp://mesh.example.com/oob?uuid={UUID_TEXT}", "certificate_uri"),
        ("https://mesh.example.com/oob", "device_uuid"),
        (f"https:///oob?uuid={UUID_TEXT}", "certificate_uri"),
        (f"https://mesh.example.com/oob?uuid={UUID_TEXT}&uuid={UUID_TEXT}", "device_uuid"),
        ("https://mesh.example.com/oob?uuid=b09dc847540840cc9c540fe8c87429e7", "device_uuid"),
        ("https://mesh.example.com/oob?uuid=b09dc847-5408-40cc-9c54-0fe8c87429", "device_uuid"),
        (f"https://mesh.example.com/oob?uuid={UUID_TEXT}#frag", "certificate_uri"),
        (f"https://mesh.example.com/o ob?uuid={UUID_TEXT}", "certificate_uri"),
        (f"https://[bad/oob?uuid={UUID_TEXT}", "certificate_uri"),
    ],
)
def test_certificate_uri_rejections(text: str, field: str) -> None:
    with pytest.raises(QrFormatError) as err:
        parse_provisioning_oob(text)
    assert err.value.field == field
    assert isinstance(err.value, DecodeError)


# --- vendor forms ---------------------------------------------------------------------------


def test_key_value_pairs() -> None:
    text = f"ABV:OB04;UUID:{UUID.hex()};OOB:{STATIC_16.hex()};PID:A1B2C3;"
    data = parse_provisioning_oob(text)
    assert data.source is OobSource.KEY_VALUE
    assert data.device_uuid == UUID
    assert data.static_oob == STATIC_16
    assert data.extra == (("ABV", "OB04"), ("PID", "A1B2C3"))


def test_key_value_pairs_with_equals_and_canonical_uuid() -> None:
    text = f"device_uuid={UUID_TEXT}; static-oob = {STATIC_32.hex().upper()}; pubkey=04{DEVICE_PUBLIC_KEY.hex()}"
    data = parse_provisioning_oob(text)
    assert data.device_uuid == UUID
    assert data.static_oob == STATIC_32
    assert data.public_key == DEVICE_PUBLIC_KEY


def test_json_object() -> None:
    text = json.dumps(
        {
            "uuid": UUID_TEXT,
            "staticOob": STATIC_32.hex(),
            "publicKey": DEVICE_PUBLIC_KEY.hex(),
            "model": "lamp",
            "rev": 3,
        }
    )
    data = parse_provisioning_oob(text)
    assert data.source is OobSource.JSON
    assert data.device_uuid == UUID
    assert data.static_oob == STATIC_32
    assert data.public_key == DEVICE_PUBLIC_KEY
    assert data.extra == (("model", "lamp"), ("rev", "3"))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (STATIC_16.hex(), "static_oob"),
        (STATIC_32.hex(), "static_oob"),
        (DEVICE_PUBLIC_KEY.hex(), "public_key"),
        ("04" + DEVICE_PUBLIC_KEY.hex(), "public_key"),
        ("0x" + STATIC_16.hex().upper(), "static_oob"),
        (" ".join(STATIC_16.hex()[i : i + 4] for i in range(0, 32, 4)), "static_oob"),
    ],
)
def test_plain_hex(text: str, field: str) -> None:
    data = parse_provisioning_oob(text)
    assert data.source is OobSource.HEX
    expected = {
        "static_oob": bytes.fromhex(text.replace(" ", "").removeprefix("0x")),
        "public_key": DEVICE_PUBLIC_KEY,
    }[field]
    assert getattr(data, field) == expected
    assert data.device_uuid is None


def test_fresh_public_key_both_encodings() -> None:
    key = EcdhKeyPair().public_key
    assert parse_provisioning_oob(key.hex()).public_key == key
    assert parse_provisioning_oob(f"pk:04{key.hex()}").public_key == key


def test_bare_canonical_uuid() -> None:
    data = parse_provisioning_oob(UUID_TEXT.upper())
    assert data == ProvisioningOobData(OobSource.UUID, device_uuid=UUID)
    assert format_uuid(UUID) == UUID_TEXT


# --- rejections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", None),
        ("   ", None),
        ("hello world", None),
        ("abc", None),  # odd hex
        (bytes(8).hex(), None),  # 8 octets: neither OOB nor key
        (bytes(48).hex(), None),
        ("05" + DEVICE_PUBLIC_KEY.hex(), "public_key"),  # 65 octets without 04
        (OFF_CURVE.hex(), "public_key"),
        (bytes(64).hex(), "public_key"),  # all zeros is not a point
        (f"UUID:{UUID.hex()};UUID:{UUID.hex()}", "UUID"),
        (f"UUID:{UUID.hex()};device_uuid:{UUID.hex()}", "device_uuid"),
        (f"UUID:{UUID.hex()[:-2]}", "UUID"),
        ("OOB:0102030405", "OOB"),  # short static OOB is not padded silently
        (f"OOB:{DEVICE_PUBLIC_KEY.hex()}", "OOB"),  # a public key in the OOB field
        ("OOB:zz", "OOB"),
        ("ABV:OB04;UPC:012345678905", None),  # nothing we can provision with
        ("UUID", None),
        (":value", None),
        ("{not json", None),
        ("[1, 2]", None),
        ('{"uuid": 5}', "uuid"),
        ("x" * 5000, None),
    ],
)
def test_rejections(text: str, field: str | None) -> None:
    with pytest.raises(QrFormatError) as err:
        parse_provisioning_oob(text)
    assert err.value.field == field
    assert err.value.reason


def test_static_oob_never_in_repr_or_errors() -> None:
    secret = "5eC4e7a1" * 4  # hex, 16 octets
    data = parse_provisioning_oob(f"UUID:{UUID.hex()};OOB:{secret}")
    assert secret.lower() not in repr(data).lower()
    assert secret.lower() not in str(data).lower()
    assert "16 octets hidden" in repr(data)
    assert UUID_TEXT in repr(data)
    with pytest.raises(QrFormatError) as err:
        parse_provisioning_oob(f"UUID:{UUID.hex()};OOB:{secret}00")
    assert secret.lower() not in str(err.value).lower()


def test_certificate_request_uri_needs_a_uri() -> None:
    with pytest.raises(QrFormatError):
        parse_provisioning_oob(STATIC_16.hex()).certificate_request_uri()


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_fuzz_only_mesh_errors(text: str) -> None:
    try:
        data = parse_provisioning_oob(text)
    except MeshError:
        return
    assert data.device_uuid or data.static_oob or data.public_key


@settings(max_examples=200)
@given(
    base=st.sampled_from(
        [
            f"https://mesh.example.com/oob?uuid={UUID_TEXT}",
            f"UUID:{UUID.hex()};OOB:{STATIC_16.hex()}",
            json.dumps({"uuid": UUID_TEXT, "pubkey": DEVICE_PUBLIC_KEY.hex()}),
            DEVICE_PUBLIC_KEY.hex(),
        ]
    ),
    edits=st.lists(st.tuples(st.integers(0, 500), st.characters()), min_size=1, max_size=4),
)
def test_fuzz_mutated_forms(base: str, edits: list[tuple[int, str]]) -> None:
    text = list(base)
    for where, char in edits:
        text[where % len(text)] = char
    try:
        data = parse_provisioning_oob("".join(text))
    except QrFormatError:
        return
    assert data.device_uuid or data.static_oob or data.public_key
    if data.public_key is not None:
        assert len(data.public_key) == 64
