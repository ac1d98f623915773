"""Crypto toolbox against the Bluetooth SIG sample data (MshPRT 1.1 §8.1, §8.2, §8.3)."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.crypto import InvalidMicError
from custom_components.ble_mesh.mesh.errors import AuthenticationError, MeshError
from tests.sig_vectors import h, ids, vectors


@pytest.mark.parametrize("v", vectors("s1"), ids=ids)
def test_s1(v: dict[str, Any]) -> None:
    assert crypto.s1(v["inputs"]["m_ascii"].encode()) == h(v["expected"]["s1"])


@pytest.mark.parametrize("v", vectors("k1"), ids=ids)
def test_k1(v: dict[str, Any]) -> None:
    i = v["inputs"]
    # The sample's salt and P are themselves s1("salt") and s1("info").
    assert crypto.s1(i["salt_is_s1_of_ascii"].encode()) == h(i["salt"])
    assert crypto.s1(i["p_is_s1_of_ascii"].encode()) == h(i["p"])
    assert crypto.aes_cmac(h(i["salt"]), h(i["n"])) == h(v["expected"]["t"])
    assert crypto.k1(h(i["n"]), h(i["salt"]), h(i["p"])) == h(v["expected"]["k1"])


@pytest.mark.parametrize("v", vectors("k1_named_key"), ids=ids)
def test_k1_named_keys(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    salt = crypto.s1(i["salt_ascii"].encode())
    assert salt == h(e["salt"])
    assert crypto.k1(h(i["n"]), salt, h(i["p"])) == h(e["key"])
    named = {
        "nkik": crypto.identity_key,
        "nkbk": crypto.beacon_key,
        "nkpk": crypto.private_beacon_key,
    }[i["salt_ascii"]]
    assert named(h(i["n"])) == h(e["key"])


@pytest.mark.parametrize("v", vectors("k2"), ids=ids)
def test_k2(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    nid, encryption_key, privacy_key = crypto.k2(h(i["n"]), h(i["p"]))
    assert nid == int(e["nid"], 16)
    assert encryption_key == h(e["encryption_key"])
    assert privacy_key == h(e["privacy_key"])


@pytest.mark.parametrize("v", vectors("k3"), ids=ids)
def test_k3(v: dict[str, Any]) -> None:
    assert crypto.k3(h(v["inputs"]["n"])) == h(v["expected"]["network_id"])


@pytest.mark.parametrize("v", vectors("k4"), ids=ids)
def test_k4(v: dict[str, Any]) -> None:
    assert crypto.k4(h(v["inputs"]["n"])) == int(v["expected"]["aid"], 16)


@pytest.mark.parametrize("v", vectors("virtual_address"), ids=ids)
def test_virtual_address(v: dict[str, Any]) -> None:
    label = h(v["inputs"]["label_uuid"])
    assert crypto.virtual_address(label) == int(v["expected"]["virtual_address"], 16)


@pytest.mark.parametrize("v", vectors("aes_ccm_library"), ids=ids)
@pytest.mark.parametrize(
    ("mic_size", "field", "with_aad"),
    [(4, "mic4", False), (8, "mic8", False), (4, "mic4_aad", True), (8, "mic8_aad", True)],
)
def test_aes_ccm(v: dict[str, Any], mic_size: int, field: str, with_aad: bool) -> None:
    i = v["inputs"]
    key, nonce, plaintext = h(i["key"]), h(i["nonce"]), h(i["plaintext"])
    aad = h(i["aad_label_uuid"]) if with_aad else b""
    sealed = crypto.aes_ccm_encrypt(key, nonce, plaintext, mic_size, aad)
    assert sealed == h(v["expected"][field])
    assert crypto.aes_ccm_decrypt(key, nonce, sealed, mic_size, aad) == plaintext


@pytest.mark.parametrize("v", vectors("obfuscation_library"), ids=ids)
def test_obfuscation(v: dict[str, Any]) -> None:
    i = v["inputs"]
    args = (h(i["privacy_key"]), int(i["iv_index"], 16), h(i["privacy_random"]))
    obfuscated = crypto.obfuscate(*args, h(i["ctl_ttl_seq_src"]))
    assert obfuscated == h(v["expected"]["obfuscated"])
    assert crypto.obfuscate(*args, obfuscated) == h(i["ctl_ttl_seq_src"])


@pytest.mark.parametrize("v", vectors("provisioning"), ids=ids)
def test_ecdh_sample_keys(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    provisioner = crypto.EcdhKeyPair(int(i["provisioner_private_key"], 16))
    device = crypto.EcdhKeyPair(int(i["device_private_key"], 16))
    assert provisioner.public_key == h(e["provisioner_public_key"])
    assert device.public_key == h(e["device_public_key"])
    assert provisioner.shared_secret(device.public_key) == h(e["ecdh_secret"])
    assert device.shared_secret(provisioner.public_key) == h(e["ecdh_secret"])


def test_network_key_material_matches_the_named_derivations() -> None:
    net_key = h(vectors("k3")[1]["inputs"]["n"])
    material = crypto.network_key_material(net_key)
    assert (material.nid, material.encryption_key, material.privacy_key) == crypto.k2(
        net_key, b"\x00"
    )
    assert material.network_id == crypto.k3(net_key)
    assert material.identity_key == crypto.identity_key(net_key)
    assert material.beacon_key == crypto.beacon_key(net_key)
    assert material.private_beacon_key == crypto.private_beacon_key(net_key)
    assert net_key.hex() not in repr(material)
    assert material.encryption_key.hex() not in repr(material)


def test_k5_and_s2_follow_hmac_sha256_definition() -> None:
    # s2 = HMAC-SHA256 with a zero key; k5: T = HMAC_salt(N), k5 = HMAC_T(P) (§3.9.2.4, §3.9.2.11).
    import hashlib
    import hmac

    m = b"confirmation inputs"
    assert crypto.s2(m) == hmac.new(bytes(32), m, hashlib.sha256).digest()
    n, salt = bytes(range(48)), crypto.s2(m)
    t = hmac.new(salt, n, hashlib.sha256).digest()
    assert crypto.k5(n, salt, b"prck256") == hmac.new(t, b"prck256", hashlib.sha256).digest()


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: crypto.aes_ecb(bytes(15), bytes(16)), "key"),
        (lambda: crypto.aes_ecb(bytes(16), bytes(17)), "block"),
        (lambda: crypto.aes_cmac(bytes(8), b""), "key"),
        (lambda: crypto.k1(b"n", bytes(15), b"p"), "salt"),
        (lambda: crypto.k2(bytes(17), b"\x00"), "n"),
        (lambda: crypto.k2(bytes(16), b""), "p"),
        (lambda: crypto.k3(bytes(3)), "n"),
        (lambda: crypto.k4(b""), "n"),
        (lambda: crypto.k5(bytes(31), bytes(32), b"p"), "n"),
        (lambda: crypto.k5(bytes(32), bytes(16), b"p"), "salt"),
        (lambda: crypto.virtual_address(bytes(15)), "label_uuid"),
        (lambda: crypto.aes_ccm_encrypt(bytes(16), bytes(12), b"x", 4), "nonce"),
        (lambda: crypto.aes_ccm_encrypt(bytes(16), bytes(13), b"x", 6), "mic_size"),
        (lambda: crypto.aes_ccm_decrypt(bytes(10), bytes(13), bytes(8), 4), "key"),
        (lambda: crypto.aes_ccm_decrypt(bytes(16), bytes(13), bytes(3), 4), "ciphertext_and_mic"),
        (lambda: crypto.network_nonce(0, 1 << 24, 1, 0), "seq"),
        (lambda: crypto.application_nonce(False, 1, 1 << 16, 1, 0), "src"),
        (lambda: crypto.device_nonce(False, 1, 1, -1, 0), "dst"),
        (lambda: crypto.obfuscate(bytes(16), 0, bytes(6), bytes(6)), "privacy_random"),
        (lambda: crypto.load_public_key(bytes(63)), "public_key"),
    ],
)
def test_wrong_lengths_name_the_argument(call: Any, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument} "):
        call()


def test_wrong_mic_raises_typed_error() -> None:
    key, nonce = bytes(range(16)), bytes(13)
    sealed = bytearray(crypto.aes_ccm_encrypt(key, nonce, b"hello mesh", 4))
    sealed[-1] ^= 1
    with pytest.raises(InvalidMicError, match="MIC"):
        crypto.aes_ccm_decrypt(key, nonce, bytes(sealed), 4)
    assert issubclass(InvalidMicError, AuthenticationError)
    assert issubclass(InvalidMicError, MeshError)


@pytest.mark.parametrize(
    "point",
    [
        bytes(64),  # the origin is not on the curve
        bytes(range(64)),  # arbitrary bytes: off the curve
        b"\xff" * 64,  # coordinates >= p
    ],
)
def test_invalid_public_keys_rejected(point: bytes) -> None:
    with pytest.raises(ValueError, match="not a valid P-256 point"):
        crypto.load_public_key(point)
    with pytest.raises(ValueError, match="not a valid P-256 point"):
        crypto.EcdhKeyPair().shared_secret(point)


def test_key_pairs_are_fresh_and_in_the_allowed_range() -> None:
    a, b = crypto.generate_ecdh_key_pair(), crypto.generate_ecdh_key_pair()
    assert a.public_key != b.public_key
    assert len(a.public_key) == 64
    assert a.shared_secret(b.public_key) == b.shared_secret(a.public_key)
    with pytest.raises(ValueError, match="private_value"):
        crypto.EcdhKeyPair(0)


def test_nonces_layout() -> None:
    assert crypto.network_nonce(0x8B, 0x123456, 0x1201, 0x12345678).hex() == (
        "008b12345612010000" + "12345678"
    )
    assert crypto.application_nonce(True, 1, 2, 3, 4).hex() == "0180000001000200030000" + "0004"
    assert crypto.device_nonce(False, 1, 2, 3, 4)[:2] == b"\x02\x00"
    assert crypto.proxy_nonce(5, 6, 7).hex() == "0300000005000600000000" + "0007"


# --- properties ---------------------------------------------------------------------------

keys = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=13, max_size=13)
mic_sizes = st.sampled_from([4, 8])


@settings(max_examples=200)
@given(
    key=keys,
    nonce=nonces,
    plaintext=st.binary(max_size=384),
    mic_size=mic_sizes,
    aad=st.binary(max_size=16),
)
def test_ccm_round_trip(
    key: bytes, nonce: bytes, plaintext: bytes, mic_size: int, aad: bytes
) -> None:
    sealed = crypto.aes_ccm_encrypt(key, nonce, plaintext, mic_size, aad)
    assert len(sealed) == len(plaintext) + mic_size
    assert crypto.aes_ccm_decrypt(key, nonce, sealed, mic_size, aad) == plaintext


@settings(max_examples=200)
@given(key=keys, nonce=nonces, plaintext=st.binary(max_size=64), mic_size=mic_sizes, data=st.data())
def test_ccm_detects_any_single_bit_flip(
    key: bytes, nonce: bytes, plaintext: bytes, mic_size: int, data: st.DataObject
) -> None:
    sealed = bytearray(crypto.aes_ccm_encrypt(key, nonce, plaintext, mic_size))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidMicError):
        crypto.aes_ccm_decrypt(key, nonce, bytes(sealed), mic_size)


@settings(max_examples=100)
@given(key=keys, nonce=nonces, plaintext=st.binary(min_size=1, max_size=64), other_nonce=nonces)
def test_ccm_wrong_nonce_fails(
    key: bytes, nonce: bytes, plaintext: bytes, other_nonce: bytes
) -> None:
    assume(other_nonce != nonce)
    sealed = crypto.aes_ccm_encrypt(key, nonce, plaintext, 4)
    with pytest.raises(InvalidMicError):
        crypto.aes_ccm_decrypt(key, other_nonce, sealed, 4)
