"""Beacons and advertising data against the SIG sample data (MshPRT 1.1 §8.4, §8.5, §8.6, §8.15).

Every vector is checked in both directions (our builder reproduces the exact bytes; our parser
recovers every field), tampered beacons are refused, and every decoder is fuzzed.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import beacons as b, crypto
from custom_components.ble_mesh.mesh.errors import (
    AuthenticationError,
    DecodeError,
    MeshError,
    UsageError,
)
from tests.sig_vectors import h, ids, vectors

OTHER_NET_KEY = bytes(range(16))
FUZZ = settings(max_examples=200, deadline=None)


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes((data[index] ^ mask,)) + data[index + 1 :]


def _service_data_of(adv_data: bytes, service_uuid: int) -> bytes:
    """The service data of ``service_uuid`` from an AD structure (as HA would hand it to us)."""
    [(ad_type, payload)] = b.parse_ad_structures(adv_data)
    assert ad_type == b.SERVICE_DATA_16_AD_TYPE
    assert int.from_bytes(payload[:2], "little") == service_uuid
    return payload[2:]


# --- Mesh Provisioning service data (§8.5.1) ---------------------------------------------


@pytest.mark.parametrize("v", vectors("mesh_provisioning_service_data"), ids=ids)
def test_provisioning_service_data_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    oob = int(i["oob_information"], 16)
    adv_data = h(e["adv_data"])
    # The §8.5.1 sample writes OOB Information little-endian (see the vector's notes).
    built = b.MeshProvisioningServiceData(h(i["device_uuid"]), b.OobInformation(oob))
    assert built.to_ad_structure(oob_byte_order="little") == adv_data

    service_data = _service_data_of(adv_data, b.MESH_PROVISIONING_SERVICE_UUID16)
    parsed = b.MeshProvisioningServiceData.from_bytes(service_data, oob_byte_order="little")
    assert parsed == built
    assert parsed.device_uuid == h(i["device_uuid"])
    assert parsed.oob_information == oob
    assert str(parsed.uuid) == "70cf7c97-32a3-45b6-9149-4810d2e9cbf4"
    assert b.oob_hints(parsed.oob_information) == ["number", "inside_manual"]
    assert parsed.to_bytes(oob_byte_order="little") == service_data

    # The spec's own field rule (big-endian, Zephyr) reads the same octets swapped.
    big = b.MeshProvisioningServiceData.from_bytes(service_data)
    assert big.oob_information == int.from_bytes(service_data[16:], "big")
    assert big.to_bytes() == service_data


@pytest.mark.parametrize("order", ["big", "little"])
def test_provisioning_service_data_byte_order(order: str) -> None:
    data = b.MeshProvisioningServiceData(bytes(range(16)), b.OobInformation.NFC)
    raw = data.to_bytes(oob_byte_order=order)  # type: ignore[arg-type]
    expected_tail = bytes((0x00, 0x10)) if order == "big" else bytes((0x10, 0x00))
    assert raw == bytes(range(16)) + expected_tail
    assert b.MeshProvisioningServiceData.from_bytes(raw, oob_byte_order=order) == data  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 1, 16, 17, 19, 22])
def test_provisioning_service_data_wrong_length(length: int) -> None:
    with pytest.raises(DecodeError) as err:
        b.MeshProvisioningServiceData.from_bytes(bytes(length))
    assert err.value.structure == "MeshProvisioningServiceData"


def test_provisioning_service_data_rejects_bad_construction() -> None:
    with pytest.raises(UsageError):
        b.MeshProvisioningServiceData(bytes(15))
    with pytest.raises(UsageError):
        b.MeshProvisioningServiceData(bytes(16), b.OobInformation(0x10000))


# --- OOB Information ---------------------------------------------------------------------


def test_oob_information_bits_and_hints() -> None:
    every = 0xFFFF & ~b.OOB_INFORMATION_RESERVED
    assert b.oob_hints(every) == [
        "other",
        "uri",
        "qr_code",
        "bar_code",
        "nfc",
        "number",
        "string",
        "certificate",
        "provisioning_records",
        "on_box",
        "inside_box",
        "on_paper",
        "inside_manual",
        "on_device",
    ]
    assert b.oob_hints(0) == []
    assert b.oob_hints(b.NO_OOB_INFORMATION) == []
    # §8.4.1: 0xa040 = String, On piece of paper, On device.
    assert b.oob_hints(0xA040) == ["string", "on_paper", "on_device"]
    assert b.OobInformation.MACHINE_READABLE_CODE_2D.value == 0x0004
    assert b.OobInformation.CERTIFICATE_BASED_PROVISIONING.value == 0x0080
    assert b.OobInformation.PROVISIONING_RECORDS.value == 0x0100
    assert b.OobInformation.ON_BOX.value == 0x0800
    assert b.OobInformation.ON_DEVICE.value == 0x8000


def test_oob_reserved_bits_are_kept_but_give_no_hint() -> None:
    raw = bytes(16) + (0x0610).to_bytes(2, "big")
    parsed = b.MeshProvisioningServiceData.from_bytes(raw)
    assert int(parsed.oob_information) == 0x0610
    assert b.oob_hints(parsed.oob_information) == ["nfc"]
    assert parsed.to_bytes() == raw


# --- Unprovisioned Device beacon (§8.4.1, §8.4.2) ----------------------------------------


@pytest.mark.parametrize("v", vectors("unprovisioned_device_beacon"), ids=ids)
def test_unprovisioned_beacon_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    device_uuid = h(i["device_uuid"])
    oob = int(i["oob_information"], 16)
    uri = i.get("uri")

    built = b.UnprovisionedDeviceBeacon.create(device_uuid, oob, uri)
    assert built.to_bytes() == h(e["beacon"])

    parsed = b.decode_beacon(h(e["beacon"]))
    assert isinstance(parsed, b.UnprovisionedDeviceBeacon)
    assert parsed == built
    assert parsed.device_uuid == device_uuid
    assert parsed.oob_information == oob
    assert parsed.BEACON_TYPE is b.BeaconType.UNPROVISIONED_DEVICE
    if uri is None:
        assert parsed.uri_hash is None
        assert not parsed.matches_uri("https://www.example.com/meshuri")
    else:
        assert b.uri_data(uri) == h(i["uri_data"])
        assert crypto.s1(h(i["uri_data"])) == h(e["uri_hash"])
        assert parsed.uri_hash == h(e["uri_hash"])[:4]
        assert b.uri_hash(uri) == h(e["uri_hash"])[:4]
        assert b.uri_hash(h(i["uri_data"])) == h(e["uri_hash"])[:4]
        assert parsed.matches_uri(uri)
        assert parsed.matches_uri(h(i["uri_data"]))
        assert not parsed.matches_uri("https://www.example.com/other")


def test_uri_data_schemes() -> None:
    assert b.uri_data("http://x") == b"\x16//x"
    assert b.uri_data("HTTPS://X") == b"\x17//X"  # schemes are case-insensitive
    assert b.uri_data("bl:x") == "\u00bc".encode() + b"x"  # code point >= 0x80: UTF-8
    assert b.uri_data("nosuchscheme:x") == b"\x01nosuchscheme:x"
    assert b.uri_data("no scheme at all") == b"\x01no scheme at all"


@pytest.mark.parametrize("length", [1, 18, 20, 22, 24])
def test_unprovisioned_beacon_wrong_length(length: int) -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_beacon(bytes(length))
    assert err.value.structure == "UnprovisionedDeviceBeacon"


def test_unprovisioned_beacon_wrong_type_from_bytes() -> None:
    with pytest.raises(DecodeError) as err:
        b.UnprovisionedDeviceBeacon.from_bytes(b"\x01" + bytes(18))
    assert err.value.field == "beacon_type"


# --- Secure Network beacon (§8.4.3, §8.4.4) ----------------------------------------------


@pytest.mark.parametrize("v", vectors("secure_network_beacon"), ids=ids)
def test_secure_network_beacon_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    net_key = h(i["net_key"])
    flags = int(i["flags"], 16)
    iv_index = int(i["iv_index"], 16)
    material = crypto.network_key_material(net_key)
    assert material.network_id == h(e["network_id"])
    assert material.beacon_key == h(e["beacon_key"])

    built = b.SecureNetworkBeacon.create(
        net_key, iv_index, key_refresh=bool(flags & 1), iv_update=bool(flags & 2)
    )
    assert built.to_bytes() == h(e["beacon"])
    assert built.authentication_value == h(e["authentication_value"])[:8]

    parsed = b.decode_beacon(h(e["beacon"]))
    assert isinstance(parsed, b.SecureNetworkBeacon)
    assert parsed == built
    assert parsed.flags == flags
    assert parsed.network_id == h(e["network_id"])
    assert parsed.iv_index == iv_index
    info = parsed.authenticate(net_key)
    assert info == b.NetworkBeaconInfo(
        key_refresh=bool(flags & 1), iv_update=bool(flags & 2), iv_index=iv_index, private=False
    )


@pytest.mark.parametrize("v", vectors("secure_network_beacon"), ids=ids)
def test_secure_network_beacon_tampering(v: dict[str, Any]) -> None:
    net_key = h(v["inputs"]["net_key"])
    beacon = h(v["expected"]["beacon"])
    for index in range(1, len(beacon)):
        tampered = _flip(beacon, index)
        decoded = b.decode_beacon(tampered)
        assert isinstance(decoded, b.SecureNetworkBeacon)
        if 2 <= index < 10:  # Network ID: no longer ours
            with pytest.raises(b.UnknownNetworkError):
                decoded.authenticate(net_key)
        else:  # Flags, IV Index, Authentication Value
            with pytest.raises(b.BeaconAuthenticationError) as err:
                decoded.authenticate(net_key)
            assert isinstance(err.value, AuthenticationError)
            assert net_key.hex() not in str(err.value)
    with pytest.raises(b.UnknownNetworkError):
        b.SecureNetworkBeacon.from_bytes(beacon).authenticate(OTHER_NET_KEY)


@pytest.mark.parametrize("flags", [0x04, 0x80, 0xFF])
def test_secure_network_beacon_reserved_flags(flags: int) -> None:
    beacon = b.SecureNetworkBeacon.create(OTHER_NET_KEY, 5).to_bytes()
    with pytest.raises(DecodeError) as err:
        b.decode_beacon(beacon[:1] + bytes((flags,)) + beacon[2:])
    assert (err.value.structure, err.value.field) == ("SecureNetworkBeacon", "flags")


@pytest.mark.parametrize("length", [2, 21, 23])
def test_secure_network_beacon_wrong_length(length: int) -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_beacon(b"\x01" + bytes(length - 1))
    assert err.value.structure == "SecureNetworkBeacon"


def test_authenticate_network_beacon_picks_the_right_key() -> None:
    [v, _] = vectors("secure_network_beacon")
    net_key = h(v["inputs"]["net_key"])
    beacon = b.SecureNetworkBeacon.from_bytes(h(v["expected"]["beacon"]))
    found = b.authenticate_network_beacon(beacon, {0: OTHER_NET_KEY, 7: net_key})
    assert found is not None
    assert found[0] == 7
    assert found[1].iv_index == 0x12345678
    assert b.authenticate_network_beacon(beacon, {0: OTHER_NET_KEY}) is None
    forged = b.SecureNetworkBeacon.from_bytes(_flip(h(v["expected"]["beacon"]), 21))
    assert b.authenticate_network_beacon(forged, {7: net_key}) is None


# --- Mesh Private beacon (§8.4.6.1, §8.4.6.2) --------------------------------------------


def _private_beacon_per_spec_blocks(key: bytes, random: bytes, data: bytes) -> tuple[bytes, bytes]:
    """§3.10.4.1 written out block by block, independent of the engine's AES-CCM shortcut."""
    b0 = b"\x19" + random + b"\x00\x05"
    c0 = b"\x01" + random + b"\x00\x00"
    c1 = b"\x01" + random + b"\x00\x01"
    p = data + bytes(11)
    t0 = crypto.aes_ecb(key, b0)
    t1 = crypto.aes_ecb(key, bytes(x ^ y for x, y in zip(t0, p, strict=True)))
    t2 = bytes(x ^ y for x, y in zip(t1, crypto.aes_ecb(key, c0), strict=True))
    s = crypto.aes_ecb(key, c1)
    return bytes(x ^ y for x, y in zip(data, s[:5], strict=True)), t2[:8]


@pytest.mark.parametrize("v", vectors("private_beacon"), ids=ids)
def test_private_beacon_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    net_key = h(i["net_key"])
    flags = int(i["flags"], 16)
    iv_index = int(i["iv_index"], 16)
    pbk = crypto.network_key_material(net_key).private_beacon_key
    assert pbk == h(e["private_beacon_key"])
    assert _private_beacon_per_spec_blocks(pbk, h(i["random"]), h(e["private_beacon_data"])) == (
        h(e["obfuscated_private_beacon_data"]),
        h(e["authentication_tag"]),
    )

    built = b.MeshPrivateBeacon.create(
        net_key,
        iv_index,
        key_refresh=bool(flags & 1),
        iv_update=bool(flags & 2),
        random=h(i["random"]),
    )
    assert built.to_bytes() == h(e["beacon"])
    assert b.beacon_ad(built.to_bytes()) == h(e["ad_structure"])

    [(ad_type, payload)] = b.parse_ad_structures(h(e["ad_structure"]))
    assert ad_type == b.MESH_BEACON_AD_TYPE
    parsed = b.decode_beacon(payload)
    assert isinstance(parsed, b.MeshPrivateBeacon)
    assert parsed == built
    assert parsed.random == h(i["random"])
    assert parsed.obfuscated_private_beacon_data == h(e["obfuscated_private_beacon_data"])
    assert parsed.authentication_tag == h(e["authentication_tag"])
    assert parsed.authenticate(net_key) == b.NetworkBeaconInfo(
        key_refresh=bool(flags & 1), iv_update=bool(flags & 2), iv_index=iv_index, private=True
    )


@pytest.mark.parametrize("v", vectors("private_beacon"), ids=ids)
def test_private_beacon_tampering(v: dict[str, Any]) -> None:
    net_key = h(v["inputs"]["net_key"])
    beacon = h(v["expected"]["beacon"])
    for index in range(1, len(beacon)):
        decoded = b.decode_beacon(_flip(beacon, index, 0x80))
        assert isinstance(decoded, b.MeshPrivateBeacon)
        with pytest.raises(b.BeaconAuthenticationError):
            decoded.authenticate(net_key)
    with pytest.raises(b.BeaconAuthenticationError) as err:
        b.MeshPrivateBeacon.from_bytes(beacon).authenticate(OTHER_NET_KEY)
    assert OTHER_NET_KEY.hex() not in str(err.value)
    found = b.authenticate_network_beacon(
        b.MeshPrivateBeacon.from_bytes(beacon), {"other": OTHER_NET_KEY, "ours": net_key}
    )
    assert found is not None
    assert found[0] == "ours"


def test_private_beacon_random_is_fresh_and_authentic() -> None:
    one = b.MeshPrivateBeacon.create(OTHER_NET_KEY, 0x42, iv_update=True)
    two = b.MeshPrivateBeacon.create(OTHER_NET_KEY, 0x42, iv_update=True)
    assert one.random != two.random
    assert one.authenticate(OTHER_NET_KEY).iv_update
    assert two.authenticate(OTHER_NET_KEY).iv_index == 0x42


def test_private_beacon_reserved_flags_after_authentication() -> None:
    # An authentic beacon whose Flags carry RFU bits: built by hand with the spec's blocks.
    pbk = crypto.network_key_material(OTHER_NET_KEY).private_beacon_key
    random = bytes(13)
    obfuscated, tag = _private_beacon_per_spec_blocks(pbk, random, b"\x04\x00\x00\x00\x01")
    beacon = b.MeshPrivateBeacon(random, obfuscated, tag)
    with pytest.raises(DecodeError) as err:
        beacon.authenticate(OTHER_NET_KEY)
    assert (err.value.structure, err.value.field) == ("MeshPrivateBeacon", "flags")


@pytest.mark.parametrize("length", [2, 26, 28])
def test_private_beacon_wrong_length(length: int) -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_beacon(b"\x02" + bytes(length - 1))
    assert err.value.structure == "MeshPrivateBeacon"


# --- decode_beacon dispatch ----------------------------------------------------------------


def test_decode_beacon_rejects_empty_and_unknown_types() -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_beacon(b"")
    assert err.value.field == "beacon_type"
    for beacon_type in (0x03, 0x7F, 0xFF):
        with pytest.raises(DecodeError) as err:
            b.decode_beacon(bytes((beacon_type,)) + bytes(21))
        assert (err.value.structure, err.value.field) == ("MeshBeacon", "beacon_type")


@pytest.mark.parametrize(
    ("cls", "good_type"),
    [
        (b.UnprovisionedDeviceBeacon, 0),
        (b.SecureNetworkBeacon, 1),
        (b.MeshPrivateBeacon, 2),
    ],
)
def test_beacon_classes_refuse_other_types(cls: Any, good_type: int) -> None:
    size = {0: 19, 1: 22, 2: 27}[good_type]
    with pytest.raises(DecodeError) as err:
        cls.from_bytes(bytes(((good_type + 1) % 3,)) + bytes(size - 1))
    assert err.value.field == "beacon_type"


# --- Mesh Proxy service data (§8.6) --------------------------------------------------------


@pytest.mark.parametrize("v", vectors("mesh_proxy_service_data"), ids=ids)
def test_proxy_service_data_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    net_key = h(i["net_key"])
    id_type = int(i["identification_type"], 16)
    adv_data = h(e["adv_data"])
    service_data = _service_data_of(adv_data, b.MESH_PROXY_SERVICE_UUID16)
    material = crypto.network_key_material(net_key)
    if "identity_key" in e:
        assert material.identity_key == h(e["identity_key"])
    if "hash_input" in e:
        # The hash is the low 64 bits of e(IdentityKey, hash input), checked independently.
        full = crypto.aes_ecb(material.identity_key, h(e["hash_input"]))
        assert full == h(e["identity_hash_full"])
        assert full[8:] == h(e["hash"])

    built: b.ProxyAdvertisement
    address = int(i["address"], 16) if "address" in i else None
    if id_type == b.ProxyIdentificationType.NETWORK_ID:
        built = b.NetworkIdAdvertisement.create(net_key)
        assert built.network_id == h(e["network_id"])
    elif id_type == b.ProxyIdentificationType.PRIVATE_NETWORK_IDENTITY:
        built = b.PrivateNetworkIdentityAdvertisement.create(net_key, h(i["random"]))
    else:
        assert id_type == b.ProxyIdentificationType.PRIVATE_NODE_IDENTITY
        assert address is not None
        built = b.PrivateNodeIdentityAdvertisement.create(net_key, address, h(i["random"]))
    assert built.to_ad_structure() == adv_data
    assert built.to_bytes() == service_data

    parsed = b.decode_proxy_service_data(service_data)
    assert parsed == built
    assert type(parsed) is type(built)
    assert id_type == parsed.IDENTIFICATION_TYPE
    if isinstance(parsed, b.NetworkIdAdvertisement):
        assert parsed.network_id == h(e["network_id"])
    else:
        assert parsed.identity_hash == h(e["hash"])
        assert parsed.random == h(i["random"])

    if address is None:
        assert b.matches_network(service_data, [OTHER_NET_KEY, net_key])
        assert b.matches_network(parsed, [net_key])
        assert not b.matches_network(service_data, [OTHER_NET_KEY])
        assert not b.matches_node(service_data, net_key, 0x0001)
    else:
        assert b.matches_node(service_data, net_key, address)
        assert b.matches_node(parsed, net_key, address)
        assert not b.matches_node(service_data, net_key, address + 1)
        assert not b.matches_node(service_data, OTHER_NET_KEY, address)
        assert not b.matches_network(service_data, [net_key])
        # The same hash under the public Node Identity form is a different value.
        public = b.NodeIdentityAdvertisement.create(net_key, address, h(i["random"]))
        assert isinstance(parsed, b.PrivateNodeIdentityAdvertisement)
        assert public.identity_hash != parsed.identity_hash


def test_node_identity_against_the_spec_formula() -> None:
    # No SIG sample for Node Identity (0x01); §7.2.2.2.3: e(IdentityKey, 6 x 0x00 || Random ||
    # Address) mod 2^64, computed here by hand.
    [v] = [v for v in vectors("mesh_proxy_service_data") if "address" in v["inputs"]]
    net_key = h(v["inputs"]["net_key"])
    random = h(v["inputs"]["random"])
    identity_key = crypto.network_key_material(net_key).identity_key
    expected = crypto.aes_ecb(identity_key, bytes(6) + random + b"\x12\x01")[8:]
    adv = b.NodeIdentityAdvertisement.create(net_key, 0x1201, random)
    assert adv.identity_hash == expected
    assert adv.to_bytes() == b"\x01" + expected + random
    assert adv.to_ad_structure() == b"\x14\x16\x28\x18" + adv.to_bytes()
    assert b.decode_proxy_service_data(adv.to_bytes()) == adv
    assert b.matches_node(adv.to_bytes(), net_key, 0x1201)
    assert not b.matches_node(adv.to_bytes(), net_key, 0x1202)
    assert not b.matches_network(adv.to_bytes(), [net_key])


def test_proxy_identity_random_is_fresh() -> None:
    one = b.PrivateNetworkIdentityAdvertisement.create(OTHER_NET_KEY)
    two = b.PrivateNetworkIdentityAdvertisement.create(OTHER_NET_KEY)
    assert one.random != two.random
    assert one.identity_hash != two.identity_hash
    assert b.matches_network(one.to_bytes(), [OTHER_NET_KEY])
    assert b.matches_network(two, [OTHER_NET_KEY])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" + bytes(7),
        b"\x00" + bytes(9),
        b"\x01" + bytes(15),
        b"\x02" + bytes(17),
        b"\x03",
        b"\x04" + bytes(8),
        b"\xff" + bytes(16),
    ],
)
def test_proxy_service_data_malformed(data: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        b.decode_proxy_service_data(data)
    assert err.value.structure.endswith(("Advertisement", "ServiceData"))
    assert not b.matches_network(data, [OTHER_NET_KEY])
    assert not b.matches_node(data, OTHER_NET_KEY, 1)


def test_proxy_builders_refuse_bad_input() -> None:
    with pytest.raises(UsageError):
        b.NodeIdentityAdvertisement.create(OTHER_NET_KEY, 0x0000)
    with pytest.raises(UsageError):
        b.PrivateNodeIdentityAdvertisement.create(OTHER_NET_KEY, 0x8000)
    with pytest.raises(UsageError):
        b.PrivateNetworkIdentityAdvertisement.create(OTHER_NET_KEY, bytes(7))
    with pytest.raises(UsageError):
        b.NetworkIdAdvertisement.create(bytes(15))
    with pytest.raises(UsageError):
        b.NetworkIdAdvertisement(bytes(7))


# --- Proxy Solicitation (§8.15) -----------------------------------------------------------


@pytest.mark.parametrize("v", vectors("proxy_solicitation"), ids=ids)
def test_proxy_solicitation_vector(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    net_key = h(i["net_key"])
    assert int(i["iv_index"], 16) == 0  # solicitation always uses IV Index 0
    sseq, ssrc, dst = int(i["seq"], 16), int(i["src"], 16), int(i["dst"], 16)
    assert b.solicitation_nonce(sseq, ssrc) == h(e["solicitation_nonce"])

    built = b.ProxySolicitationPdu.create(net_key, sseq=sseq, ssrc=ssrc, dst=dst)
    assert built.to_bytes() == h(e["solicitation_pdu"])
    assert built.to_service_data() == h(e["service_data"])
    assert built.encrypted_dst_and_mic == h(e["enc_dst"]) + h(e["net_mic"])
    assert built.to_ad_structure() == b.service_data_ad(0x1859, h(e["service_data"]))

    parsed = b.ProxySolicitationPdu.from_service_data(h(e["service_data"]))
    assert parsed == built
    assert parsed.nid == int(e["nid"], 16)
    assert parsed.decrypt(net_key) == b.SolicitationInfo(sseq=sseq, ssrc=ssrc, dst=dst)

    pdu = h(e["solicitation_pdu"])
    for index in range(1, len(pdu)):
        tampered = b.ProxySolicitationPdu.from_bytes(_flip(pdu, index))
        with pytest.raises(b.BeaconAuthenticationError):
            tampered.decrypt(net_key)
    with pytest.raises(b.UnknownNetworkError):
        b.ProxySolicitationPdu.from_bytes(_flip(pdu, 0)).decrypt(net_key)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x01" + bytes(17), b"\x00" + bytes(16), b"\x00" + bytes(18), b"\x00\x80" + bytes(16)],
)
def test_proxy_solicitation_malformed(data: bytes) -> None:
    with pytest.raises(DecodeError):
        b.ProxySolicitationPdu.from_service_data(data)


def test_proxy_solicitation_round_trip() -> None:
    pdu = b.ProxySolicitationPdu.create(OTHER_NET_KEY, sseq=0xABCDEF, ssrc=0x7FFF, dst=0xC000)
    parsed = b.ProxySolicitationPdu.from_service_data(pdu.to_service_data())
    assert parsed.decrypt(OTHER_NET_KEY) == b.SolicitationInfo(0xABCDEF, 0x7FFF, 0xC000)


# --- AD structures ------------------------------------------------------------------------


def test_ad_structures() -> None:
    data = b.service_data_ad(0x1828, b"\x00" + bytes(8)) + b.beacon_ad(b"\x01\x02") + bytes(3)
    assert b.parse_ad_structures(data) == [
        (0x16, b"\x28\x18\x00" + bytes(8)),
        (0x2B, b"\x01\x02"),
    ]
    with pytest.raises(DecodeError) as err:
        b.parse_ad_structures(b"\x05\x16\x28")
    assert err.value.field == "length"
    with pytest.raises(UsageError):
        b.ad_structure(0x16, bytes(255))


# --- fuzzing and round trips --------------------------------------------------------------

_DECODERS: list[Any] = [
    b.decode_beacon,
    b.decode_proxy_service_data,
    b.MeshProvisioningServiceData.from_bytes,
    lambda d: b.MeshProvisioningServiceData.from_bytes(d, oob_byte_order="little"),
    b.ProxySolicitationPdu.from_service_data,
    b.parse_ad_structures,
]


def _typed_prefix_bytes() -> st.SearchStrategy[bytes]:
    # Bias towards valid type octets and the interesting lengths.
    return st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda t, body: bytes((t,)) + body,
            st.integers(0, 4),
            st.binary(min_size=8, max_size=26),
        ),
    )


@FUZZ
@given(_typed_prefix_bytes())
def test_fuzz_decoders_raise_only_mesh_errors(data: bytes) -> None:
    for decode in _DECODERS:
        try:
            result = decode(data)
        except MeshError:
            continue
        if decode is b.decode_beacon or decode is b.decode_proxy_service_data:
            assert result.to_bytes() == data


@FUZZ
@given(_typed_prefix_bytes(), st.binary(min_size=16, max_size=16))
def test_fuzz_authentication_raises_only_mesh_errors(data: bytes, net_key: bytes) -> None:
    try:
        beacon = b.decode_beacon(data)
    except DecodeError:
        beacon = None
    if isinstance(beacon, b.SecureNetworkBeacon | b.MeshPrivateBeacon):
        info: b.NetworkBeaconInfo | None
        try:
            info = beacon.authenticate(net_key)
        except (b.UnknownNetworkError, b.BeaconAuthenticationError, DecodeError):
            info = None
        assert info is None or info.iv_index <= 0xFFFFFFFF
    assert isinstance(b.matches_network(data, [net_key]), bool)
    assert isinstance(b.matches_node(data, net_key, 0x0001), bool)
    try:
        pdu = b.ProxySolicitationPdu.from_service_data(data)
    except DecodeError:
        return
    solicitation: b.SolicitationInfo | None
    try:
        solicitation = pdu.decrypt(net_key)
    except (b.UnknownNetworkError, b.BeaconAuthenticationError):
        solicitation = None
    assert solicitation is None or 0x0001 <= solicitation.ssrc <= 0x7FFF


@FUZZ
@given(
    net_key=st.binary(min_size=16, max_size=16),
    iv_index=st.integers(0, 0xFFFFFFFF),
    key_refresh=st.booleans(),
    iv_update=st.booleans(),
)
def test_round_trip_network_beacons(
    net_key: bytes, iv_index: int, key_refresh: bool, iv_update: bool
) -> None:
    expected = b.NetworkBeaconInfo(key_refresh, iv_update, iv_index)
    secure = b.SecureNetworkBeacon.create(
        net_key, iv_index, key_refresh=key_refresh, iv_update=iv_update
    )
    decoded = b.decode_beacon(secure.to_bytes())
    assert decoded == secure
    assert isinstance(decoded, b.SecureNetworkBeacon)
    assert decoded.authenticate(net_key) == expected
    private = b.MeshPrivateBeacon.create(
        net_key, iv_index, key_refresh=key_refresh, iv_update=iv_update
    )
    decoded_private = b.decode_beacon(private.to_bytes())
    assert decoded_private == private
    assert isinstance(decoded_private, b.MeshPrivateBeacon)
    assert decoded_private.authenticate(net_key) == b.NetworkBeaconInfo(
        key_refresh, iv_update, iv_index, private=True
    )


@FUZZ
@given(
    device_uuid=st.binary(min_size=16, max_size=16),
    oob=st.integers(0, 0xFFFF),
    uri=st.one_of(st.none(), st.text(max_size=40)),
)
def test_round_trip_unprovisioned(device_uuid: bytes, oob: int, uri: str | None) -> None:
    beacon = b.UnprovisionedDeviceBeacon.create(device_uuid, oob, uri)
    assert b.decode_beacon(beacon.to_bytes()) == beacon
    service = b.MeshProvisioningServiceData(device_uuid, b.OobInformation(oob))
    for order in ("big", "little"):
        raw = service.to_bytes(oob_byte_order=order)
        assert b.MeshProvisioningServiceData.from_bytes(raw, oob_byte_order=order) == service
    if uri is not None:
        assert beacon.matches_uri(uri)


@FUZZ
@given(
    net_key=st.binary(min_size=16, max_size=16),
    address=st.integers(0x0001, 0x7FFF),
    random=st.binary(min_size=8, max_size=8),
)
def test_round_trip_proxy_advertisements(net_key: bytes, address: int, random: bytes) -> None:
    advertisements: list[b.ProxyAdvertisement] = [
        b.NetworkIdAdvertisement.create(net_key),
        b.NodeIdentityAdvertisement.create(net_key, address, random),
        b.PrivateNetworkIdentityAdvertisement.create(net_key, random),
        b.PrivateNodeIdentityAdvertisement.create(net_key, address, random),
    ]
    for adv in advertisements:
        raw = adv.to_bytes()
        assert b.decode_proxy_service_data(raw) == adv
        is_node = isinstance(adv, b.NodeIdentityAdvertisement | b.PrivateNodeIdentityAdvertisement)
        assert b.matches_network(raw, [net_key]) is not is_node
        assert b.matches_node(raw, net_key, address) is is_node
