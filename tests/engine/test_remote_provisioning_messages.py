"""Remote Provisioning messages (MshPRT 1.1 §4.3.4): opcodes, wire layouts, strict refusals.

Generic round trips of every field come from test_models_roundtrip.py (the messages are
registered); here: the opcode table, hand-written payloads in both directions, the length and
range rules, and fuzzed parameters that must only ever raise DecodeError.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.access import (
    InvalidFieldError,
    Message,
    decode_message,
    describe,
    encode_message,
    message_class,
)
from custom_components.ble_mesh.mesh.errors import DecodeError
from custom_components.ble_mesh.mesh.models import remote_provisioning as rp
from custom_components.ble_mesh.mesh.provisioning.pb_adv import CloseReason
from custom_components.ble_mesh.mesh.provisioning.pdus import NppiProcedure

UUID = bytes(range(16))
UUID_HEX = UUID.hex()

# Opcodes as in Zephyr subsys/bluetooth/mesh/rpr.h and ESP-IDF esp_ble_mesh_rpr_model_api.h.
OPCODES: dict[int, type[Message]] = {
    0x804F: rp.RemoteProvisioningScanCapabilitiesGet,
    0x8050: rp.RemoteProvisioningScanCapabilitiesStatus,
    0x8051: rp.RemoteProvisioningScanGet,
    0x8052: rp.RemoteProvisioningScanStart,
    0x8053: rp.RemoteProvisioningScanStop,
    0x8054: rp.RemoteProvisioningScanStatus,
    0x8055: rp.RemoteProvisioningScanReport,
    0x8056: rp.RemoteProvisioningExtendedScanStart,
    0x8057: rp.RemoteProvisioningExtendedScanReport,
    0x8058: rp.RemoteProvisioningLinkGet,
    0x8059: rp.RemoteProvisioningLinkOpen,
    0x805A: rp.RemoteProvisioningLinkClose,
    0x805B: rp.RemoteProvisioningLinkStatus,
    0x805C: rp.RemoteProvisioningLinkReport,
    0x805D: rp.RemoteProvisioningPduSend,
    0x805E: rp.RemoteProvisioningPduOutboundReport,
    0x805F: rp.RemoteProvisioningPduReport,
}


def test_opcode_table_is_registered() -> None:
    for opcode, cls in OPCODES.items():
        assert opcode == cls.OPCODE
        assert message_class(opcode) is cls


def test_acknowledged_messages_name_their_status() -> None:
    link = rp.RemoteProvisioningLinkStatus
    scan = rp.RemoteProvisioningScanStatus
    assert rp.RemoteProvisioningLinkOpen.RESPONSE is link
    assert rp.RemoteProvisioningLinkClose.RESPONSE is link
    assert rp.RemoteProvisioningLinkGet.RESPONSE is link
    assert rp.RemoteProvisioningScanStart.RESPONSE is scan
    assert rp.RemoteProvisioningScanStop.RESPONSE is scan
    assert rp.RemoteProvisioningScanGet.RESPONSE is scan
    assert (
        rp.RemoteProvisioningScanCapabilitiesGet.RESPONSE
        is rp.RemoteProvisioningScanCapabilitiesStatus
    )
    # Extended Scan Start and PDU Send are answered later by reports, not by a status.
    assert rp.RemoteProvisioningExtendedScanStart.RESPONSE is None
    assert rp.RemoteProvisioningPduSend.RESPONSE is None


ENUM = rp.RemoteProvisioningStatus
LINK = rp.RemoteProvisioningLinkState

PAYLOADS: list[tuple[Message, str]] = [
    (rp.RemoteProvisioningScanCapabilitiesGet(), "804f"),
    (rp.RemoteProvisioningScanCapabilitiesStatus(4, True), "80500401"),
    (rp.RemoteProvisioningScanStart(0, 10), "8052000a"),
    (rp.RemoteProvisioningScanStart(5, 3, UUID), "80520503" + UUID_HEX),
    (
        rp.RemoteProvisioningScanStatus(
            ENUM.SUCCESS, rp.RemoteProvisioningScanState.SINGLE_DEVICE, 1, 9
        ),
        "805400020109",
    ),
    (rp.RemoteProvisioningScanReport(-60, UUID, 0x4020), "8055c4" + UUID_HEX + "2040"),
    (
        rp.RemoteProvisioningScanReport(-1, UUID, 0, b"\xde\xad\xbe\xef"),
        "8055ff" + UUID_HEX + "0000deadbeef",
    ),
    (rp.RemoteProvisioningExtendedScanStart(b"\x24"), "80560124"),
    (rp.RemoteProvisioningExtendedScanStart(b"\x24\x09", UUID, 5), "8056022409" + UUID_HEX + "05"),
    (rp.RemoteProvisioningExtendedScanReport(ENUM.SUCCESS, UUID), "805700" + UUID_HEX),
    (
        rp.RemoteProvisioningExtendedScanReport(ENUM.SUCCESS, UUID, 0x0080, b"\x03\x09ab"),
        "805700" + UUID_HEX + "8000" + "03096162",
    ),
    (rp.RemoteProvisioningLinkGet(), "8058"),
    (rp.RemoteProvisioningLinkOpen(uuid=UUID), "8059" + UUID_HEX),
    (rp.RemoteProvisioningLinkOpen(uuid=UUID, timeout=60), "8059" + UUID_HEX + "3c"),
    (rp.RemoteProvisioningLinkOpen(procedure=NppiProcedure.NODE_ADDRESS_REFRESH), "805901"),
    (rp.RemoteProvisioningLinkClose(CloseReason.SUCCESS), "805a00"),
    (rp.RemoteProvisioningLinkClose(CloseReason.FAIL), "805a02"),
    (rp.RemoteProvisioningLinkStatus(ENUM.SUCCESS, LINK.LINK_OPENING), "805b0001"),
    (rp.RemoteProvisioningLinkReport(ENUM.SUCCESS, LINK.LINK_ACTIVE), "805c0002"),
    (
        rp.RemoteProvisioningLinkReport(ENUM.LINK_CLOSED_BY_DEVICE, LINK.IDLE, 0x02),
        "805c060002",
    ),
    (rp.RemoteProvisioningPduSend(1, b"\x00\x05"), "805d010005"),
    (rp.RemoteProvisioningPduOutboundReport(1), "805e01"),
    (rp.RemoteProvisioningPduReport(2, b"\x08"), "805f0208"),
]


@pytest.mark.parametrize(("message", "payload"), PAYLOADS, ids=lambda v: getattr(v, "name", v))
def test_payloads_both_directions(message: Message, payload: str) -> None:
    assert encode_message(message).hex() == payload
    assert decode_message(bytes.fromhex(payload)) == message


REFUSED: list[tuple[str, str | None]] = [
    ("80500301", "max_scanned_items"),  # Max Scanned Items 0x00-0x03 prohibited
    ("80500402", "active_scan"),
    ("80520000", "timeout"),  # Scan Start Timeout 0 prohibited
    ("805200" + "0a" + UUID_HEX[:-2], None),  # a UUID one octet short
    ("80540c000000", "status"),  # status 0x0C is RFU
    ("805400030000", "scan_state"),
    ("8055c4" + UUID_HEX + "20", "oob_information"),
    ("8055c4" + UUID_HEX + "2040dead", None),  # a 2-octet URI hash
    ("805600", "ad_types"),  # ADTypeFilterCount 0
    ("805611" + "01" * 17, "ad_types"),  # 17 AD types
    ("8056022424", "ad_types"),  # listed twice
    ("80560108", "ad_types"),  # Shortened Local Name
    ("80560102", "ad_types"),  # incomplete 16-bit UUID list
    ("80560324", None),  # count says 3, one octet follows
    ("80560124" + UUID_HEX, "timeout"),  # UUID without Timeout
    ("80560124" + UUID_HEX + "16", "timeout"),  # Timeout 0x16 above 0x15
    ("80560124" + UUID_HEX + "00", "timeout"),
    ("805700" + UUID_HEX[:-2], "uuid"),
    ("805700" + UUID_HEX + "80", "oob_information"),
    ("8059", None),  # Link Open needs 1, 16 or 17 octets
    ("80590001", None),
    ("8059" + UUID_HEX[:-2], None),
    ("8059" + UUID_HEX + "0101", None),
    ("805903", "procedure"),  # NPPI 0x03 is RFU
    ("8059" + UUID_HEX + "00", "timeout"),
    ("8059" + UUID_HEX + "3d", "timeout"),
    ("805a01", "reason"),  # Timeout is prohibited in Link Close
    ("805a03", "reason"),
    ("805a", "reason"),
    ("805b0005", "state"),
    ("805b00", "state"),
    ("805c00020203", None),
    ("805d01", "pdu"),  # PDU Send without a PDU
    ("805e", "outbound_pdu_number"),
    ("805e0101", None),
    ("805f01", "pdu"),
    ("804f00", None),
    ("805800", None),
]


@pytest.mark.parametrize(("payload", "field"), REFUSED)
def test_malformed_parameters_are_decode_errors(payload: str, field: str | None) -> None:
    with pytest.raises(DecodeError) as info:
        decode_message(bytes.fromhex(payload))
    if field is not None:
        assert info.value.field == field
    # describe() never raises on it either.
    assert "error" in describe(bytes.fromhex(payload))


def test_invalid_construction_is_refused() -> None:
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningLinkOpen()
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningLinkOpen(uuid=UUID, procedure=NppiProcedure.DEVICE_KEY_REFRESH)
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningLinkOpen(timeout=5, procedure=NppiProcedure.DEVICE_KEY_REFRESH)
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningLinkClose(CloseReason.TIMEOUT)
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningExtendedScanStart(b"\x24", UUID)  # Timeout goes with the UUID
    with pytest.raises(InvalidFieldError):
        rp.RemoteProvisioningPduSend(1, b"")


def test_link_report_reason_keeps_unrecognized_values() -> None:
    report = decode_message(bytes.fromhex("805c070009"))
    assert isinstance(report, rp.RemoteProvisioningLinkReport)
    assert report.reason == 0x09
    assert report.close_reason is None
    assert (
        rp.RemoteProvisioningLinkReport(ENUM.SUCCESS, LINK.IDLE, 2).close_reason is CloseReason.FAIL
    )


def test_ad_structures() -> None:
    report = rp.RemoteProvisioningExtendedScanReport(
        ENUM.SUCCESS, UUID, 0, bytes.fromhex("0309616202010605ff") + b"xyzw"
    )
    assert report.adv_structures is not None
    assert rp.ad_structures(report.adv_structures) == (
        (0x09, b"ab"),
        (0x01, b"\x06"),
        (0xFF, b"xyzw"),
    )
    assert rp.ad_structures(b"") == ()
    for bad in (b"\x00", b"\x05\x09ab", b"\x02"):
        with pytest.raises(DecodeError):
            rp.ad_structures(bad)


@settings(max_examples=300)
@given(opcode=st.sampled_from(sorted(OPCODES)), params=st.binary(max_size=40))
def test_fuzzed_parameters_only_raise_decode_errors(opcode: int, params: bytes) -> None:
    payload = opcode.to_bytes(2, "big") + params
    try:
        message = decode_message(payload)
    except DecodeError:
        return
    assert encode_message(message) == payload  # whatever decodes is canonical
