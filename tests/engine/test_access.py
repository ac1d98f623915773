"""Access layer (MshPRT 1.1 §3.7): opcodes, registry, describe, fuzzing, request tracking."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ble_mesh.mesh.access import (
    MAX_ACCESS_PAYLOAD,
    MalformedMessageReceived,
    Message,
    RequestCompleted,
    RequestTracker,
    SendRequest,
    TrackedRequestTimedOut,
    UnknownMessageReceived,
    UnknownOpcodeError,
    UnsolicitedMessage,
    answers,
    decode_message,
    describe,
    encode_message,
    encode_opcode,
    message_class,
    opcode_hex,
    opcode_length,
    parse_opcode,
    registered_messages,
    vendor_opcode,
)
from custom_components.ble_mesh.mesh.errors import DecodeError, MeshError, UsageError
from custom_components.ble_mesh.mesh.models.common import (
    ModelId,
    PublishPeriod,
    Retransmit,
    StepResolution,
    TransitionTime,
)
from custom_components.ble_mesh.mesh.models.config import (
    ConfigAppKeyAdd,
    ConfigAppKeyStatus,
    ConfigCompositionDataGet,
    ConfigCompositionDataStatus,
    ConfigModelPublicationSet,
    ConfigStatus,
)
from custom_components.ble_mesh.mesh.models.generic import (
    GenericOnOffGet,
    GenericOnOffSet,
    GenericOnOffSetUnacknowledged,
    GenericOnOffStatus,
)
from custom_components.ble_mesh.mesh.models.lighting import LightCtlStatus

# --- opcodes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opcode", "wire"),
    [
        (0x00, "00"),
        (0x7E, "7e"),
        (0x8000, "8000"),
        (0x8202, "8202"),
        (0xBFFF, "bfff"),
        (0xC00000, "c00000"),
        (0xD50A00, "d50a00"),
        (0xFFFFFF, "ffffff"),
    ],
)
def test_opcode_encoding(opcode: int, wire: str) -> None:
    assert encode_opcode(opcode).hex() == wire
    assert opcode_hex(opcode) == wire
    assert parse_opcode(bytes.fromhex(wire) + b"\xaa") == (opcode, b"\xaa")
    assert opcode_length(opcode) == len(wire) // 2


@pytest.mark.parametrize("opcode", [0x7F, 0x80, 0xFF, 0x7FFF, 0xC000, 0xBFFFFF, 0x1000000, -1])
def test_invalid_opcode_values_are_refused(opcode: int) -> None:
    with pytest.raises(UsageError):
        encode_opcode(opcode)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "empty"),
        ("7f", "reserved"),
        ("7f0102", "reserved"),
        ("82", "truncated"),
        ("c0", "truncated"),
        ("c00a", "truncated"),
    ],
)
def test_malformed_opcodes(payload: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        parse_opcode(bytes.fromhex(payload))
    assert info.value.field == "opcode"


def test_vendor_opcode_company_id_is_little_endian() -> None:
    # MshPRT 1.1 §8.3.21: opcode 0x15 of company 0x000a travels as d5 0a 00.
    assert vendor_opcode(0x15, 0x000A) == 0xD50A00
    assert encode_opcode(vendor_opcode(0x3F, 0x1234)).hex() == "ff3412"
    with pytest.raises(UsageError):
        vendor_opcode(0x40, 1)
    with pytest.raises(UsageError):
        vendor_opcode(1, 0x10000)


# --- registry, encode/decode, describe ------------------------------------------------------


def test_registry_has_unique_valid_opcodes_and_acknowledged_pairs() -> None:
    classes = registered_messages()
    assert len(classes) > 150
    assert len({c.OPCODE for c in classes}) == len(classes)
    for cls in classes:
        assert message_class(cls.OPCODE) is cls
        assert encode_opcode(cls.OPCODE)
        if cls.RESPONSE is not None:
            assert message_class(cls.RESPONSE.OPCODE) is cls.RESPONSE
            assert "Unacknowledged" not in cls.__name__
    # Every Get has a response; unacknowledged variants never do.
    for cls in classes:
        if cls.__name__.endswith("Get"):
            assert cls.RESPONSE is not None, cls.__name__


def test_message_is_frozen_and_slotted() -> None:
    msg = GenericOnOffSet(on=True, tid=1)
    with pytest.raises(AttributeError):
        msg.on = False  # type: ignore[misc]
    assert not hasattr(msg, "__dict__")


def test_encode_decode_full_payload() -> None:
    msg = GenericOnOffSet(on=True, tid=0x42)
    assert encode_message(msg).hex() == "82020142"
    assert decode_message(bytes.fromhex("82020142")) == msg


def test_unknown_opcode_is_typed() -> None:
    with pytest.raises(UnknownOpcodeError) as info:
        decode_message(bytes.fromhex("d50a0048656c6c6f"))
    assert info.value.opcode == 0xD50A00
    assert info.value.params == b"Hello"
    assert isinstance(info.value, DecodeError)


def test_decode_error_names_the_message_and_field() -> None:
    with pytest.raises(DecodeError) as info:
        decode_message(bytes.fromhex("82020201"))  # OnOff 0x02 is prohibited
    assert info.value.structure == "GenericOnOffSet"
    assert info.value.field == "on"


def test_describe_known_unknown_and_malformed() -> None:
    assert describe(bytes.fromhex("82020142")) == {
        "opcode": "8202",
        "name": "GenericOnOffSet",
        "parameters": {"on": True, "tid": 0x42, "transition": None, "delay": 0},
    }
    unknown = describe(bytes.fromhex("d50a0048656c6c6f"))
    assert unknown == {"opcode": "d50a00", "name": "unknown", "parameters": {"raw": "48656c6c6f"}}
    bad = describe(bytes.fromhex("820205"))
    assert bad["name"] == "GenericOnOffSet"
    assert "error" in bad
    assert isinstance(bad["error"], str)
    assert "GenericOnOffSet" in bad["error"]
    invalid = describe(b"\x7f")
    assert invalid["name"] == "invalid"


def test_describe_redacts_keys_unless_asked() -> None:
    key = bytes(range(16))
    payload = encode_message(ConfigAppKeyAdd(0, 1, key))
    described = describe(payload)
    params = described["parameters"]
    assert isinstance(params, dict)
    assert params["app_key"] == "<redacted>"
    assert key.hex() not in json.dumps(described)
    truncated = describe(payload[:-1])
    assert "error" in truncated
    assert key[:-1].hex() not in json.dumps(truncated)
    revealed = describe(payload, reveal_keys=True)["parameters"]
    assert isinstance(revealed, dict)
    assert revealed["app_key"] == key.hex()


def test_keys_stay_out_of_repr_and_errors() -> None:
    key = bytes.fromhex("63964771734fbd76e3b40519d1d94a48")
    msg = ConfigAppKeyAdd(net_key_index=0x456, app_key_index=0x123, app_key=key)
    assert key.hex() not in repr(msg)
    assert key.hex() not in str(msg)
    with pytest.raises(DecodeError) as info:
        ConfigAppKeyAdd.from_bytes(encode_message(msg)[1:] + b"\x00")
    assert key.hex() not in str(info.value)


def test_payload_size_limit() -> None:
    status = ConfigCompositionDataStatus(0, bytes(MAX_ACCESS_PAYLOAD))
    with pytest.raises(UsageError):
        encode_message(status)
    assert len(encode_message(ConfigCompositionDataStatus(0, bytes(MAX_ACCESS_PAYLOAD - 2)))) == (
        MAX_ACCESS_PAYLOAD
    )


# --- fuzzing ----------------------------------------------------------------------------------

_KNOWN_PAYLOADS = (
    [encode_message(GenericOnOffSet(on=True, tid=3))]
    + [
        bytes.fromhex(p)
        for p in (
            "0056341263964771734fbd76e3b40519d1d94a48",
            "800300563412",
            "04000000010703",
            "80b8311200236145239178",
            "02000c001a0001000800030000010501000000800100001003103f002a00",
        )
    ]
    + [
        encode_message(
            ConfigModelPublicationSet(
                0x0004,
                0xC000,
                1,
                True,
                5,
                PublishPeriod(10, StepResolution.S_1),
                Retransmit(2, 3),
                ModelId(0x1000),
            )
        ),
        encode_message(LightCtlStatus(0x1000, 3000, 0x2000, 6500, TransitionTime(5))),
    ]
)


def _check_decode_is_safe(payload: bytes) -> None:
    try:
        msg = decode_message(payload)
    except MeshError:
        pass
    else:
        # Decoding is canonical: whatever decodes re-encodes to the very same octets.
        assert encode_message(msg) == payload
    described = describe(payload)
    json.dumps(described)


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_fuzz_random_bytes(payload: bytes) -> None:
    _check_decode_is_safe(payload)


@settings(max_examples=300)
@given(st.sampled_from(registered_messages()), st.binary(max_size=30))
def test_fuzz_known_opcodes_with_random_parameters(cls: type[Message], params: bytes) -> None:
    _check_decode_is_safe(encode_opcode(cls.OPCODE) + params)


@settings(max_examples=300)
@given(st.sampled_from(_KNOWN_PAYLOADS), st.data())
def test_fuzz_mutated_valid_payloads(payload: bytes, data: st.DataObject) -> None:
    mutated = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["flip", "drop", "insert", "truncate"]))
        index = data.draw(st.integers(0, max(len(mutated) - 1, 0)))
        if action == "flip" and mutated:
            mutated[index] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "drop" and mutated:
            del mutated[index]
        elif action == "insert":
            mutated.insert(index, data.draw(st.integers(0, 255)))
        else:
            del mutated[index:]
    _check_decode_is_safe(bytes(mutated))


# --- request tracking -------------------------------------------------------------------------

NODE = 0x0102
GROUP = 0xC001


def _status(on: bool) -> bytes:
    return encode_message(GenericOnOffStatus(present_on=on))


def test_request_retransmits_then_times_out() -> None:
    tracker = RequestTracker(timeout=2.0, retries=2)
    first = tracker.send(NODE, GenericOnOffGet(), now=10.0)
    assert first == SendRequest(first.request_id, NODE, GenericOnOffGet(), b"\x82\x01", 0)
    assert tracker.next_deadline() == 12.0
    assert tracker.poll(11.9) == []
    retry = tracker.poll(12.0)
    assert retry == [SendRequest(first.request_id, NODE, GenericOnOffGet(), b"\x82\x01", 1)]
    assert tracker.next_deadline() == 14.0
    assert [type(e) for e in tracker.poll(14.5)] == [SendRequest]
    assert tracker.next_deadline() == 16.5
    assert tracker.poll(16.4) == []
    (timed_out,) = tracker.poll(16.5)
    assert timed_out == TrackedRequestTimedOut(first.request_id, NODE, GenericOnOffGet(), 3)
    assert tracker.pending == 0
    assert tracker.next_deadline() is None
    assert tracker.poll(100.0) == []


def test_matching_response_completes_request() -> None:
    tracker = RequestTracker()
    request = tracker.send(NODE, GenericOnOffSet(on=True, tid=7), now=0.0)
    (event,) = tracker.receive(NODE, _status(True), now=0.5)
    assert event == RequestCompleted(
        request.request_id, NODE, GenericOnOffSet(on=True, tid=7), GenericOnOffStatus(True)
    )
    assert tracker.pending == 0
    assert tracker.poll(100.0) == []


def test_unrelated_responses_are_ignored() -> None:
    tracker = RequestTracker()
    request = tracker.send(
        NODE,
        GenericOnOffGet(),
        now=0.0,
        match=lambda m: isinstance(m, GenericOnOffStatus) and m.present_on,
    )
    # Wrong source, wrong message type, predicate says no: all are plain receptions.
    for src, payload in [
        (0x0999, _status(True)),
        (NODE, encode_message(ConfigAppKeyStatus(ConfigStatus.SUCCESS, 0, 0))),
        (NODE, _status(False)),
    ]:
        (event,) = tracker.receive(src, payload, now=1.0)
        assert isinstance(event, UnsolicitedMessage)
        assert event.src == src
    assert tracker.pending == 1
    (done,) = tracker.receive(NODE, _status(True), now=1.0)
    assert isinstance(done, RequestCompleted)
    assert done.request_id == request.request_id


def test_group_request_accepts_any_source() -> None:
    tracker = RequestTracker()
    tracker.send(GROUP, GenericOnOffGet(), now=0.0)
    (event,) = tracker.receive(0x0005, _status(False), now=0.1)
    assert isinstance(event, RequestCompleted)
    assert event.src == 0x0005


def test_oldest_matching_request_wins() -> None:
    tracker = RequestTracker()
    first = tracker.send(NODE, GenericOnOffGet(), now=0.0)
    second = tracker.send(NODE, GenericOnOffGet(), now=0.1)
    events = tracker.receive(NODE, _status(True), now=0.2) + tracker.receive(
        NODE, _status(True), now=0.3
    )
    assert [e.request_id for e in events if isinstance(e, RequestCompleted)] == [
        first.request_id,
        second.request_id,
    ]


def test_unknown_and_malformed_messages_are_events_not_crashes() -> None:
    tracker = RequestTracker()
    tracker.send(NODE, ConfigCompositionDataGet(0), now=0.0)
    (unknown,) = tracker.receive(NODE, bytes.fromhex("d50a0048656c6c6f"), now=0.1)
    assert unknown == UnknownMessageReceived(NODE, 0xD50A00, b"Hello")
    (malformed,) = tracker.receive(NODE, bytes.fromhex("8204"), now=0.1)
    assert isinstance(malformed, MalformedMessageReceived)
    assert malformed.error.structure == "GenericOnOffStatus"
    (empty,) = tracker.receive(NODE, b"", now=0.1)
    assert isinstance(empty, MalformedMessageReceived)
    assert tracker.pending == 1


def test_decoded_messages_can_be_fed_directly() -> None:
    tracker = RequestTracker()
    tracker.send(NODE, GenericOnOffGet(), now=0.0)
    (event,) = tracker.receive(NODE, GenericOnOffStatus(True), now=0.1)
    assert isinstance(event, RequestCompleted)


def test_unacknowledged_needs_explicit_expectation() -> None:
    tracker = RequestTracker()
    with pytest.raises(UsageError):
        tracker.send(NODE, GenericOnOffSetUnacknowledged(on=True, tid=1), now=0.0)
    request = tracker.send(
        NODE,
        GenericOnOffSetUnacknowledged(on=True, tid=1),
        now=0.0,
        expect=GenericOnOffStatus,
        timeout=1.0,
        retries=0,
    )
    assert request.attempt == 0
    (timed_out,) = tracker.poll(1.0)
    assert isinstance(timed_out, TrackedRequestTimedOut)
    assert timed_out.attempts == 1


def test_cancel_and_bad_parameters() -> None:
    tracker = RequestTracker()
    request = tracker.send(NODE, GenericOnOffGet(), now=0.0)
    assert tracker.cancel(request.request_id)
    assert not tracker.cancel(request.request_id)
    assert tracker.next_deadline() is None
    with pytest.raises(UsageError):
        tracker.send(NODE, GenericOnOffGet(), now=0.0, timeout=0)
    with pytest.raises(UsageError):
        tracker.send(NODE, GenericOnOffGet(), now=0.0, retries=-1)
    with pytest.raises(UsageError):
        RequestTracker(timeout=-1.0)


def test_retransmission_reuses_the_same_payload_and_tid() -> None:
    tracker = RequestTracker(timeout=1.0, retries=1)
    first = tracker.send(NODE, GenericOnOffSet(on=False, tid=200), now=0.0)
    (again,) = tracker.poll(1.0)
    assert isinstance(again, SendRequest)
    assert again.payload == first.payload
    assert again.request_id == first.request_id


def test_echoed_fields_tell_concurrent_config_requests_apart() -> None:
    tracker = RequestTracker()
    key = bytes(16)
    first = tracker.send(NODE, ConfigAppKeyAdd(0, 1, key), now=0.0)
    second = tracker.send(NODE, ConfigAppKeyAdd(0, 2, key), now=0.0)
    # The answer to the second request arrives first: it must not complete the first one.
    (done,) = tracker.receive(
        NODE, encode_message(ConfigAppKeyStatus(ConfigStatus.SUCCESS, 0, 2)), now=0.1
    )
    assert isinstance(done, RequestCompleted)
    assert done.request_id == second.request_id
    (stray,) = tracker.receive(
        NODE, encode_message(ConfigAppKeyStatus(ConfigStatus.SUCCESS, 0, 7)), now=0.1
    )
    assert isinstance(stray, UnsolicitedMessage)
    (done,) = tracker.receive(
        NODE, encode_message(ConfigAppKeyStatus(ConfigStatus.INVALID_NETKEY_INDEX, 0, 1)), now=0.2
    )
    assert isinstance(done, RequestCompleted)
    assert done.request_id == first.request_id


def test_echo_declarations_name_fields_of_both_sides() -> None:
    for cls in registered_messages():
        if cls.ECHO:
            assert cls.RESPONSE is not None
            for name in cls.ECHO:
                assert name in cls.__dataclass_fields__
                assert name in cls.RESPONSE.__dataclass_fields__
    assert answers(ConfigAppKeyAdd(1, 2, bytes(16)), ConfigAppKeyStatus(ConfigStatus.SUCCESS, 1, 2))
    assert not answers(
        ConfigAppKeyAdd(1, 2, bytes(16)), ConfigAppKeyStatus(ConfigStatus.SUCCESS, 1, 3)
    )
    assert answers(GenericOnOffGet(), GenericOnOffStatus(True))


def test_context_travels_with_the_request() -> None:
    tracker = RequestTracker(timeout=1.0, retries=1)
    context = ("device_key", 0x0102, 5)
    first = tracker.send(NODE, GenericOnOffGet(), now=0.0, context=context)
    assert first.context is context
    (again,) = tracker.poll(1.0)
    assert isinstance(again, SendRequest)
    assert again.context is context
    (gave_up,) = tracker.poll(2.0)
    assert isinstance(gave_up, TrackedRequestTimedOut)
    assert gave_up.context is context
    tracker.send(NODE, GenericOnOffGet(), now=3.0, context="x")
    (done,) = tracker.receive(NODE, _status(True), now=3.1)
    assert isinstance(done, RequestCompleted)
    assert done.context == "x"
