"""Provisioning PDUs, AuthValue encoding, method selection and derivations (MshPRT 1.1 §5.4).

The derivations are checked field by field against the SIG sample data (§8.7, §8.17.1 CMAC and
§8.17.2 HMAC); the codecs by round trips, every Prohibited/RFU value, and hypothesis fuzzing.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    InputAction,
    InvalidOobValueError,
    NoAcceptableMethodError,
    OutputAction,
    PduType,
    ProvisioningCapabilities,
    ProvisioningComplete,
    ProvisioningConfirmation,
    ProvisioningData,
    ProvisioningDataPdu,
    ProvisioningErrorCode,
    ProvisioningFailed,
    ProvisioningInputComplete,
    ProvisioningInvite,
    ProvisioningPdu,
    ProvisioningPublicKey,
    ProvisioningRandom,
    ProvisioningRecordRequest,
    ProvisioningRecordResponse,
    ProvisioningRecordsGet,
    ProvisioningRecordsList,
    ProvisioningStart,
    PublicKeyMethod,
    SessionKeys,
    ShowValue,
    UnknownPduTypeError,
    auth_value,
    capabilities,
    check_start,
    confirmation_inputs,
    confirmation_key,
    confirmation_salt,
    confirmation_value,
    decode_pdu,
    decrypt_provisioning_data,
    encrypt_provisioning_data,
    generate_oob_value,
    normalize_oob_value,
    provisioning_salt,
    select_method,
    session_keys,
)
from tests.sig_vectors import h, ids, vectors

CMAC = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
HMAC = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM


# --- SIG sample data (§8.7, §8.17) --------------------------------------------------------


@pytest.mark.parametrize("v", vectors("provisioning"), ids=ids)
def test_vector_pdus_decode_and_encode(v: dict[str, Any]) -> None:
    i = v["inputs"]
    invite = ProvisioningInvite.from_parameters(h(i["invite_pdu_value"]))
    caps = ProvisioningCapabilities.from_parameters(h(i["capabilities_pdu_value"]))
    start = ProvisioningStart.from_parameters(h(i["start_pdu_value"]))
    assert invite.parameters() == h(i["invite_pdu_value"])
    assert caps.parameters() == h(i["capabilities_pdu_value"])
    assert start.parameters() == h(i["start_pdu_value"])
    assert start.algorithm.name == i["algorithm"]
    assert caps.number_of_elements == 1
    assert start.algorithm in caps.supported_algorithms
    assert decode_pdu(b"\x01" + h(i["capabilities_pdu_value"])) == caps
    assert decode_pdu(start.to_bytes()) == start
    assert check_start(caps, start) is None


@pytest.mark.parametrize("v", vectors("provisioning"), ids=ids)
def test_vector_derivations(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    algorithm = Algorithm[i["algorithm"]]
    provisioner = crypto.EcdhKeyPair(int(i["provisioner_private_key"], 16))
    device = crypto.EcdhKeyPair(int(i["device_private_key"], 16))
    assert provisioner.public_key == h(e["provisioner_public_key"])
    assert device.public_key == h(e["device_public_key"])
    ecdh = provisioner.shared_secret(device.public_key)
    assert ecdh == h(e["ecdh_secret"]) == device.shared_secret(provisioner.public_key)

    inputs = confirmation_inputs(
        ProvisioningInvite.from_parameters(h(i["invite_pdu_value"])),
        ProvisioningCapabilities.from_parameters(h(i["capabilities_pdu_value"])),
        ProvisioningStart.from_parameters(h(i["start_pdu_value"])),
        provisioner.public_key,
        device.public_key,
    )
    assert inputs == h(e["confirmation_inputs"])
    assert len(inputs) == 145
    salt = confirmation_salt(algorithm, inputs)
    assert salt == h(e["confirmation_salt"])
    auth = h(i["auth_value"])
    key = confirmation_key(algorithm, ecdh, salt, auth)
    assert key == h(e["confirmation_key"])
    if algorithm is CMAC:
        assert crypto.aes_cmac(salt, ecdh) == h(e["confirmation_key_t"])
    else:
        assert crypto.hmac_sha256(salt, ecdh + auth) == h(e["confirmation_key_t"])
    rp, rd = h(i["random_provisioner"]), h(i["random_device"])
    assert confirmation_value(algorithm, key, rp, auth) == h(e["confirmation_provisioner"])
    assert confirmation_value(algorithm, key, rd, auth) == h(e["confirmation_device"])

    prov_salt = provisioning_salt(salt, rp, rd)
    assert prov_salt == h(e["provisioning_salt"])
    assert crypto.aes_cmac(prov_salt, ecdh) == h(e["k1_t_provisioning"])
    keys = session_keys(ecdh, prov_salt)
    assert keys.session_key == h(e["session_key"])
    assert keys.session_nonce == h(e["session_nonce"])
    assert h(e["session_nonce_full"]).endswith(keys.session_nonce)
    assert keys.device_key == h(e["device_key"])

    data = ProvisioningData(
        net_key=h(i["net_key"]),
        key_index=int(i["net_key_index"], 16),
        iv_index=int(i["iv_index"], 16),
        unicast_address=int(i["unicast_address"], 16),
        key_refresh=bool(int(i["flags"], 16) & 1),
        iv_update=bool(int(i["flags"], 16) & 2),
    )
    assert data.to_bytes() == h(e["provisioning_data"])
    assert ProvisioningData.from_bytes(h(e["provisioning_data"])) == data
    pdu = encrypt_provisioning_data(keys, data)
    assert pdu.encrypted_data == h(e["encrypted_provisioning_data"])
    assert pdu.mic == h(e["provisioning_data_mic"])
    assert decrypt_provisioning_data(keys, pdu) == data
    wire = b"\x07" + h(e["encrypted_provisioning_data"]) + h(e["provisioning_data_mic"])
    assert decode_pdu(wire) == pdu
    tampered = ProvisioningDataPdu(pdu.encrypted_data, bytes(8))
    with pytest.raises(crypto.InvalidMicError):
        decrypt_provisioning_data(keys, tampered)


@pytest.mark.parametrize("v", vectors("provisioning"), ids=ids)
def test_vector_auth_value(v: dict[str, Any]) -> None:
    i = v["inputs"]
    start = ProvisioningStart.from_parameters(h(i["start_pdu_value"]))
    if start.auth_method is AuthMethod.NO_OOB:
        assert auth_value(start.algorithm, AuthMethod.NO_OOB) == h(i["auth_value"])
    else:
        static = h(i["auth_value"])
        assert auth_value(start.algorithm, AuthMethod.STATIC_OOB, None, static) == static


# --- codecs: round trips --------------------------------------------------------------------

ALL_PDUS: list[ProvisioningPdu] = [
    ProvisioningInvite(5),
    capabilities(
        3,
        public_key_oob=True,
        static_oob=True,
        only_oob_authenticated=True,
        output_actions=frozenset(OutputAction),
        output_oob_size=8,
        input_actions=frozenset(InputAction),
        input_oob_size=1,
    ),
    ProvisioningStart(HMAC, PublicKeyMethod.OOB, AuthMethod.OUTPUT_OOB, OutputAction.BEEP, 4),
    ProvisioningStart(CMAC, PublicKeyMethod.NO_OOB, AuthMethod.INPUT_OOB, InputAction.TWIST, 8),
    ProvisioningStart(HMAC, PublicKeyMethod.NO_OOB, AuthMethod.STATIC_OOB),
    ProvisioningPublicKey(bytes(range(64))),
    ProvisioningInputComplete(),
    ProvisioningConfirmation(bytes(16)),
    ProvisioningConfirmation(bytes(32)),
    ProvisioningRandom(b"\x01" * 16),
    ProvisioningRandom(b"\x02" * 32),
    ProvisioningDataPdu(bytes(25), bytes(8)),
    ProvisioningComplete(),
    *(ProvisioningFailed(code) for code in ProvisioningErrorCode if code),
    ProvisioningRecordRequest(0x0001, 0x0010, 0x0020),
    ProvisioningRecordResponse(0, 0x0001, 0, 3, b"abc"),
    ProvisioningRecordsGet(),
    ProvisioningRecordsList(0, (0x0000, 0x0001)),
]


@pytest.mark.parametrize("pdu", ALL_PDUS, ids=repr)
def test_round_trip(pdu: ProvisioningPdu) -> None:
    data = pdu.to_bytes()
    assert data[0] == pdu.PDU_TYPE
    assert decode_pdu(data) == pdu
    assert type(pdu).from_bytes(data) == pdu


def test_every_pdu_type_is_covered() -> None:
    assert {pdu.PDU_TYPE for pdu in ALL_PDUS} == set(PduType)


def test_capabilities_fields() -> None:
    caps = ProvisioningCapabilities.from_parameters(bytes.fromhex("02 0003 01 03 08 001f 04 000f"))
    assert caps.number_of_elements == 2
    assert caps.supported_algorithms == {CMAC, HMAC}
    assert caps.public_key_oob
    assert caps.static_oob
    assert caps.only_oob_authenticated
    assert caps.output_oob_size == 8
    assert caps.output_actions == set(OutputAction)
    assert caps.input_oob_size == 4
    assert caps.input_actions == set(InputAction)


def test_capabilities_keeps_unknown_algorithm_bits() -> None:
    # §5.4.2.2: a Provisioner ignores Algorithm bits it does not understand.
    caps = ProvisioningCapabilities.from_parameters(bytes.fromhex("01 8006 00 00 00 0000 00 0000"))
    assert caps.algorithms == 0x8006
    assert caps.supported_algorithms == {HMAC}
    assert caps.parameters()[1:3] == b"\x80\x06"


@pytest.mark.parametrize(
    ("hex_params", "field"),
    [
        ("00 0001 00 00 00 0000 00 0000", "number_of_elements"),
        ("01 0001 02 00 00 0000 00 0000", "public_key_type"),
        ("01 0001 00 04 00 0000 00 0000", "oob_type"),
        ("01 0001 00 00 09 0001 00 0000", "output_oob_size"),
        ("01 0001 00 00 00 0001 00 0000", "output_oob_size"),
        ("01 0001 00 00 01 0020 00 0000", "output_oob_actions"),
        ("01 0001 00 00 00 0000 09 0001", "input_oob_size"),
        ("01 0001 00 00 00 0000 00 0001", "input_oob_size"),
        ("01 0001 00 00 00 0000 01 0010", "input_oob_actions"),
        ("01 0001 00 00 00 0000 00 00", None),
        ("01 0001 00 00 00 0000 00 0000 00", None),
    ],
)
def test_capabilities_refused(hex_params: str, field: str | None) -> None:
    with pytest.raises(DecodeError) as err:
        decode_pdu(b"\x01" + bytes.fromhex(hex_params))
    assert err.value.structure == "ProvisioningCapabilities"
    assert err.value.field == field


@pytest.mark.parametrize(
    ("hex_params", "field"),
    [
        ("02 00 00 00 00", "algorithm"),
        ("00 02 00 00 00", "public_key"),
        ("00 00 04 00 00", "auth_method"),
        ("00 00 00 01 00", "auth_action"),
        ("00 00 00 00 01", "auth_size"),
        ("00 00 01 00 01", "auth_size"),
        ("00 00 02 05 01", "auth_action"),
        ("00 00 03 04 01", "auth_action"),
        ("00 00 02 00 00", "auth_size"),
        ("00 00 03 00 09", "auth_size"),
        ("00 00 00 00", None),
        ("00 00 00 00 00 00", None),
    ],
)
def test_start_refused(hex_params: str, field: str | None) -> None:
    with pytest.raises(DecodeError) as err:
        decode_pdu(b"\x02" + bytes.fromhex(hex_params))
    assert err.value.structure == "ProvisioningStart"
    assert err.value.field == field


@pytest.mark.parametrize(
    ("data", "structure"),
    [
        (b"\x00", "ProvisioningInvite"),
        (b"\x00\x00\x00", "ProvisioningInvite"),
        (b"\x03" + bytes(63), "ProvisioningPublicKey"),
        (b"\x03" + bytes(65), "ProvisioningPublicKey"),
        (b"\x04\x00", "ProvisioningInputComplete"),
        (b"\x05" + bytes(15), "ProvisioningConfirmation"),
        (b"\x05" + bytes(17), "ProvisioningConfirmation"),
        (b"\x05" + bytes(33), "ProvisioningConfirmation"),
        (b"\x06" + bytes(31), "ProvisioningRandom"),
        (b"\x07" + bytes(32), "ProvisioningDataPdu"),
        (b"\x07" + bytes(34), "ProvisioningDataPdu"),
        (b"\x08\x00", "ProvisioningComplete"),
        (b"\x09", "ProvisioningFailed"),
        (b"\x09\x00", "ProvisioningFailed"),
        (b"\x09\x0a", "ProvisioningFailed"),
        (b"\x09\x01\x01", "ProvisioningFailed"),
        (b"\x0a" + bytes(6), "ProvisioningRecordRequest"),
        (b"\x0b" + bytes(6), "ProvisioningRecordResponse"),
        (b"\x0b\x02" + bytes(6), "ProvisioningRecordResponse"),
        (b"\x0c\x00", "ProvisioningRecordsGet"),
        (b"\x0d\x00\x00\x00", "ProvisioningRecordsList"),
        (b"", "ProvisioningPdu"),
        (b"\x40\x00", "ProvisioningPdu"),
        (b"\x80", "ProvisioningPdu"),
    ],
)
def test_malformed_pdus_refused(data: bytes, structure: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_pdu(data)
    assert err.value.structure == structure
    assert not isinstance(err.value, UnknownPduTypeError)


@pytest.mark.parametrize("pdu_type", [0x0E, 0x1F, 0x3F])
def test_unknown_type_refused(pdu_type: int) -> None:
    with pytest.raises(UnknownPduTypeError) as err:
        decode_pdu(bytes((pdu_type, 0)))
    assert err.value.field == "type"


def test_from_bytes_checks_the_type() -> None:
    with pytest.raises(DecodeError) as err:
        ProvisioningComplete.from_bytes(b"\x04")
    assert err.value.field == "type"


def test_invalid_pdus_cannot_be_constructed() -> None:
    with pytest.raises(DecodeError):
        ProvisioningInvite(256)
    with pytest.raises(DecodeError):
        ProvisioningStart(HMAC, PublicKeyMethod.NO_OOB, AuthMethod.OUTPUT_OOB, InputAction.PUSH, 1)
    with pytest.raises(DecodeError):
        ProvisioningStart(HMAC, PublicKeyMethod.NO_OOB, AuthMethod.NO_OOB, None, 1)
    with pytest.raises(DecodeError):
        ProvisioningFailed(ProvisioningErrorCode.PROHIBITED)
    with pytest.raises(DecodeError):
        ProvisioningPublicKey(bytes(63))
    with pytest.raises(DecodeError):
        ProvisioningCapabilities(number_of_elements=0)


def test_error_codes_match_table_5_41() -> None:
    assert [(c.value, c.name) for c in ProvisioningErrorCode] == [
        (0x00, "PROHIBITED"),
        (0x01, "INVALID_PDU"),
        (0x02, "INVALID_FORMAT"),
        (0x03, "UNEXPECTED_PDU"),
        (0x04, "CONFIRMATION_FAILED"),
        (0x05, "OUT_OF_RESOURCES"),
        (0x06, "DECRYPTION_FAILED"),
        (0x07, "UNEXPECTED_ERROR"),
        (0x08, "CANNOT_ASSIGN_ADDRESSES"),
        (0x09, "INVALID_DATA"),
    ]


# --- Provisioning Data plaintext ----------------------------------------------------------


def test_provisioning_data_flags_and_repr() -> None:
    data = ProvisioningData(b"\xab" * 16, 0x123, 7, 0x0001, key_refresh=True, iv_update=True)
    assert data.flags == 0x03
    assert ProvisioningData.from_bytes(data.to_bytes()) == data
    assert "ab" * 4 not in repr(data)


@pytest.mark.parametrize(
    ("plain", "field"),
    [
        (bytes(16) + b"\x00\x00\x04" + bytes(4) + b"\x00\x01", "flags"),
        (bytes(16) + b"\x10\x00\x00" + bytes(4) + b"\x00\x01", "key_index"),
        (bytes(16) + b"\x00\x00\x00" + bytes(4) + b"\x00\x00", "unicast_address"),
        (bytes(16) + b"\x00\x00\x00" + bytes(4) + b"\x80\x00", "unicast_address"),
        (bytes(24), None),
    ],
)
def test_provisioning_data_refused(plain: bytes, field: str | None) -> None:
    with pytest.raises(DecodeError) as err:
        ProvisioningData.from_bytes(plain)
    assert err.value.field == field


# --- AuthValue (§5.4.2.4) -----------------------------------------------------------------


def test_numeric_auth_value_is_big_endian_right_aligned() -> None:
    assert auth_value(CMAC, AuthMethod.OUTPUT_OOB, OutputAction.OUTPUT_NUMERIC, 19655) == (
        bytes(14) + b"\x4c\xc7"
    )
    assert auth_value(HMAC, AuthMethod.INPUT_OOB, InputAction.PUSH, 3) == bytes(31) + b"\x03"


def test_alphanumeric_auth_value_is_ascii_left_aligned() -> None:
    value = auth_value(CMAC, AuthMethod.INPUT_OOB, InputAction.INPUT_ALPHANUMERIC, "A1B2")
    assert value == b"A1B2" + bytes(12)
    assert len(auth_value(HMAC, AuthMethod.OUTPUT_OOB, OutputAction.OUTPUT_ALPHANUMERIC, "Z")) == 32


def test_static_auth_value() -> None:
    assert auth_value(CMAC, AuthMethod.STATIC_OOB, None, b"\x01" * 16) == b"\x01" * 16
    assert auth_value(HMAC, AuthMethod.STATIC_OOB, None, b"\x01" * 16) == b"\x01" * 16 + bytes(16)
    with pytest.raises(InvalidOobValueError):
        auth_value(CMAC, AuthMethod.STATIC_OOB, None, b"\x01" * 32)
    with pytest.raises(InvalidOobValueError):
        auth_value(CMAC, AuthMethod.STATIC_OOB, None, b"")
    assert auth_value(HMAC, AuthMethod.NO_OOB) == bytes(32)


@pytest.mark.parametrize("action", [*OutputAction, *InputAction])
@pytest.mark.parametrize("size", [1, 4, 8])
def test_generated_oob_values(action: OutputAction | InputAction, size: int) -> None:
    values = {generate_oob_value(action, size) for _ in range(50)}
    for value in values:
        if action is OutputAction.OUTPUT_ALPHANUMERIC or action is InputAction.INPUT_ALPHANUMERIC:
            assert isinstance(value, str)
            assert len(value) == size
            assert value.isalnum()
            assert value == value.upper()
        else:
            assert isinstance(value, int)
            assert 1 <= value <= 10**size - 1
    assert len(values) > 1  # fresh values (CVE-2020-26556/26557)


def test_normalize_oob_value() -> None:
    assert normalize_oob_value(OutputAction.OUTPUT_NUMERIC, 6, "019655") == 19655
    assert normalize_oob_value(OutputAction.BLINK, 2, 7) == 7
    assert normalize_oob_value(InputAction.INPUT_ALPHANUMERIC, 4, " ab1 ") == "AB1"
    cases: list[tuple[OutputAction | InputAction, int, Any]] = [
        (OutputAction.OUTPUT_NUMERIC, 2, 100),
        (OutputAction.OUTPUT_NUMERIC, 2, "123"),
        (OutputAction.OUTPUT_NUMERIC, 2, "1a"),
        (OutputAction.OUTPUT_NUMERIC, 2, -1),
        (OutputAction.OUTPUT_NUMERIC, 2, True),
        (OutputAction.OUTPUT_ALPHANUMERIC, 2, "ABC"),
        (OutputAction.OUTPUT_ALPHANUMERIC, 2, "a-"),
        (OutputAction.OUTPUT_ALPHANUMERIC, 2, 12),
        (InputAction.INPUT_ALPHANUMERIC, 2, ""),
    ]
    for action, size, bad in cases:
        with pytest.raises(InvalidOobValueError):
            normalize_oob_value(action, size, bad)


def test_show_value_repr_hides_the_value() -> None:
    assert "123456" not in repr(ShowValue(123456, OutputAction.OUTPUT_NUMERIC))
    assert "hidden" in repr(SessionKeys(b"\x11" * 16, b"\x22" * 13, b"\x33" * 16))


# --- selection policy (§5.4.2.3) ----------------------------------------------------------


def test_select_prefers_hmac_and_oob_public_key() -> None:
    caps = capabilities(public_key_oob=True)
    assert select_method(caps, oob_public_key_known=True, static_oob_available=False) == (
        ProvisioningStart(HMAC, PublicKeyMethod.OOB, AuthMethod.NO_OOB)
    )
    assert select_method(caps, oob_public_key_known=False, static_oob_available=False) == (
        ProvisioningStart(HMAC, PublicKeyMethod.NO_OOB, AuthMethod.NO_OOB)
    )
    cmac_only = capabilities(algorithms=frozenset({CMAC}))
    assert select_method(cmac_only, False, False).algorithm is CMAC


def test_select_prefers_static_then_richest_action_and_largest_size() -> None:
    caps = capabilities(
        static_oob=True,
        output_actions=frozenset({OutputAction.BLINK, OutputAction.OUTPUT_NUMERIC}),
        output_oob_size=6,
        input_actions=frozenset({InputAction.PUSH, InputAction.INPUT_ALPHANUMERIC}),
        input_oob_size=4,
    )
    assert select_method(caps, False, static_oob_available=True).auth_method is (
        AuthMethod.STATIC_OOB
    )
    chosen = select_method(caps, False, static_oob_available=False)
    assert chosen == ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.INPUT_OOB, InputAction.INPUT_ALPHANUMERIC, 4
    )
    numeric = capabilities(
        output_actions=frozenset({OutputAction.BEEP, OutputAction.OUTPUT_NUMERIC}),
        output_oob_size=8,
        input_actions=frozenset({InputAction.INPUT_NUMERIC}),
        input_oob_size=2,
    )
    assert select_method(numeric, False, False) == ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.OUTPUT_OOB, OutputAction.OUTPUT_NUMERIC, 8
    )
    # Static OOB under CMAC with an in-band key leaks (CVE-2020-26559): input OOB wins.
    legacy = capabilities(
        algorithms=frozenset({CMAC}),
        static_oob=True,
        input_actions=frozenset({InputAction.INPUT_NUMERIC}),
        input_oob_size=8,
    )
    assert select_method(legacy, False, True).auth_method is AuthMethod.INPUT_OOB


def test_select_only_oob_authenticated() -> None:
    caps = capabilities(only_oob_authenticated=True, static_oob=True)
    assert select_method(caps, False, True) == ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.STATIC_OOB
    )
    with pytest.raises(NoAcceptableMethodError):
        select_method(caps, False, static_oob_available=False)  # No OOB is refused
    cmac_only = capabilities(
        algorithms=frozenset({CMAC}), only_oob_authenticated=True, static_oob=True
    )
    with pytest.raises(NoAcceptableMethodError):
        select_method(cmac_only, False, True)
    nothing = ProvisioningCapabilities(number_of_elements=1, algorithms=0x0004)
    with pytest.raises(NoAcceptableMethodError):
        select_method(nothing, False, False)


def test_check_start() -> None:
    caps = capabilities(
        algorithms=frozenset({HMAC}),
        output_actions=frozenset({OutputAction.BLINK}),
        output_oob_size=2,
    )
    assert check_start(caps, ProvisioningStart(HMAC)) is None
    assert check_start(caps, ProvisioningStart(CMAC)) is not None
    assert check_start(caps, ProvisioningStart(HMAC, PublicKeyMethod.OOB)) is not None
    assert check_start(caps, ProvisioningStart(HMAC, auth_method=AuthMethod.STATIC_OOB)) is not None
    blink3 = ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.OUTPUT_OOB, OutputAction.BLINK, 3
    )
    assert check_start(caps, blink3) is not None
    beep = ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.OUTPUT_OOB, OutputAction.BEEP, 1
    )
    assert check_start(caps, beep) is not None
    push = ProvisioningStart(
        HMAC, PublicKeyMethod.NO_OOB, AuthMethod.INPUT_OOB, InputAction.PUSH, 1
    )
    assert check_start(caps, push) is not None


# --- fuzzing ------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80))
def test_fuzz_decode_pdu(data: bytes) -> None:
    try:
        pdu = decode_pdu(data)
    except DecodeError:
        return
    # Strict codecs are canonical: whatever decodes re-encodes to exactly the same bytes.
    assert pdu.to_bytes() == data


@settings(max_examples=300)
@given(st.integers(0, 0x0D), st.binary(max_size=70))
def test_fuzz_every_decoder(pdu_type: int, params: bytes) -> None:
    try:
        pdu = decode_pdu(bytes((pdu_type,)) + params)
    except DecodeError:  # anything else escaping is a bug
        return
    assert pdu_type == pdu.PDU_TYPE
    assert pdu.parameters() == params


@settings(max_examples=200)
@given(st.binary(min_size=25, max_size=25))
def test_fuzz_provisioning_data(plain: bytes) -> None:
    try:
        data = ProvisioningData.from_bytes(plain)
    except DecodeError:
        return
    assert data.to_bytes() == plain


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=40))
def test_fuzz_mutated_valid_pdus(noise: bytes) -> None:
    for pdu in ALL_PDUS[:6]:
        data = bytearray(pdu.to_bytes())
        for i, b in enumerate(noise):
            data[i % len(data)] ^= b
        try:
            decoded = decode_pdu(bytes(data))
        except DecodeError:
            continue
        assert decoded.to_bytes() == bytes(data)
