"""Provisioner against device (MshPRT 1.1 §5.4.2, §5.4.4): sample data, the whole method
matrix, wrong OOB values, the device refusing a misbehaving Provisioner, timers, and fuzzed PDU
sequences against both state machines.

The engine's device is honest; devices that misbehave on purpose (reflected keys, wrong
confirmations, malformed PDUs, ...) are the simulator's, in tests/simulator/test_device_faults.py,
driven by the same pair harness (tests/provisioning_pair.py).
"""

from __future__ import annotations

from collections.abc import Callable
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from benchmarks.bench_provisioning import METHODS, count_exchanges
from custom_components.ble_mesh.mesh.provisioning import (
    PROTOCOL_TIMEOUT,
    PROTOCOL_TIMEOUT_OOB,
    Algorithm,
    AuthMethod,
    CapabilitiesReceived,
    Completed,
    Device,
    DeviceResult,
    DeviceState,
    Failed,
    FailureReason,
    InputAction,
    InputKind,
    InvalidOobValueError,
    InvalidStateError,
    NoAcceptableMethodError,
    OutputAction,
    PduType,
    Provisioner,
    ProvisionerResult,
    ProvisionerState,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningConfirmation,
    ProvisioningData,
    ProvisioningErrorCode,
    ProvisioningFailed,
    ProvisioningInvite,
    ProvisioningPublicKey,
    ProvisioningRandom,
    ProvisioningRecordsGet,
    ProvisioningStart,
    ProvisioningUsageError,
    PublicKeyMethod,
    RequestInput,
    SendProvisioningPdu,
    SessionClosedError,
    ShowValue,
    capabilities,
    decode_pdu,
    oob_public_key,
    select_method,
)
from tests.provisioning_pair import (
    CMAC,
    DATA,
    HMAC,
    HMAC_CAPS,
    OFF_CURVE,
    OOB_PRIVATE,
    STATIC16,
    STATIC32,
    WRONG_OOB_METHODS,
    Run,
    assert_refused,
    pdu_type_of,
    run,
    wrong_oob,
)
from tests.sig_vectors import h, ids, vectors

# --- SIG sample data: the exact PDUs of §8.7 / §8.17 ---------------------------------------


@pytest.mark.parametrize("v", vectors("provisioning"), ids=ids)
def test_vector_full_run(v: dict[str, Any]) -> None:
    i, e = v["inputs"], v["expected"]
    caps = ProvisioningCapabilities.from_parameters(h(i["capabilities_pdu_value"]))
    static = h(i["auth_value"]) if caps.static_oob else None
    data = ProvisioningData(
        h(i["net_key"]),
        int(i["net_key_index"], 16),
        int(i["iv_index"], 16),
        int(i["unicast_address"], 16),
        key_refresh=bool(int(i["flags"], 16) & 1),
        iv_update=bool(int(i["flags"], 16) & 2),
    )
    provisioner = Provisioner(
        data,
        attention_duration=h(i["invite_pdu_value"])[0],
        static_oob=static,
        auto_select=True,
        private_key=int(i["provisioner_private_key"], 16),
        random=h(i["random_provisioner"]),
    )
    device = Device(
        caps,
        static_oob=static,
        private_key=int(i["device_private_key"], 16),
        random=h(i["random_device"]),
    )
    pair = Run(provisioner, device)
    pair.handle("P", provisioner.start(0.0))
    pair.pump()
    assert pair.wire == [
        ("P", b"\x00" + h(i["invite_pdu_value"])),
        ("D", b"\x01" + h(i["capabilities_pdu_value"])),
        ("P", b"\x02" + h(i["start_pdu_value"])),
        ("P", b"\x03" + h(e["provisioner_public_key"])),
        ("D", b"\x03" + h(e["device_public_key"])),
        ("P", b"\x05" + h(e["confirmation_provisioner"])),
        ("D", b"\x05" + h(e["confirmation_device"])),
        ("P", b"\x06" + h(i["random_provisioner"])),
        ("D", b"\x06" + h(i["random_device"])),
        ("P", b"\x07" + h(e["encrypted_provisioning_data"]) + h(e["provisioning_data_mic"])),
        ("D", b"\x08"),
    ]
    p_result: ProvisionerResult = pair.results["P"]
    d_result: DeviceResult = pair.results["D"]
    assert p_result.device_key == d_result.device_key == h(e["device_key"])
    assert d_result.net_key == h(i["net_key"])
    assert d_result.key_index == 0x0567
    assert d_result.iv_index == 0x01020304
    assert d_result.unicast_address == p_result.unicast_address == 0x0B0C
    assert d_result.flags == 0
    assert p_result.algorithm.name == i["algorithm"]
    assert p_result.authenticated is caps.static_oob
    assert pair.caps_seen[0].capabilities == caps
    assert provisioner.state is ProvisionerState.COMPLETED
    assert device.state is DeviceState.COMPLETED
    assert provisioner.next_deadline() is None
    assert device.next_deadline() is None
    # Key material never shows up in a repr.
    for text in (repr(p_result), repr(d_result), repr(provisioner), repr(device)):
        assert e["device_key"][:8] not in text
        assert i["net_key"][:8] not in text


# --- the whole matrix ---------------------------------------------------------------------

METHOD_MATRIX: list[tuple[AuthMethod, OutputAction | InputAction | None]] = [
    (AuthMethod.NO_OOB, None),
    (AuthMethod.STATIC_OOB, None),
    *((AuthMethod.OUTPUT_OOB, a) for a in OutputAction),
    *((AuthMethod.INPUT_OOB, a) for a in InputAction),
]


def _matrix_id(case: tuple[Algorithm, PublicKeyMethod, AuthMethod, Any]) -> str:
    algorithm, public_key, method, action = case
    return "-".join(
        (algorithm.name[15:19], public_key.name, method.name, action.name if action else "")
    )


MATRIX = [
    (alg, pk, method, action)
    for alg, pk, (method, action) in itertools.product(Algorithm, PublicKeyMethod, METHOD_MATRIX)
]


@pytest.mark.parametrize("case", MATRIX, ids=[_matrix_id(c) for c in MATRIX])
def test_matrix(case: tuple[Algorithm, PublicKeyMethod, AuthMethod, Any]) -> None:
    algorithm, public_key, method, action = case
    size = 0
    if method is AuthMethod.OUTPUT_OOB or method is AuthMethod.INPUT_OOB:
        size = 2 if action in (OutputAction.BLINK, InputAction.PUSH) else 6
    caps = capabilities(
        2,
        algorithms=frozenset({algorithm}),
        public_key_oob=public_key is PublicKeyMethod.OOB,
        static_oob=method is AuthMethod.STATIC_OOB,
        output_actions=frozenset({action}) if isinstance(action, OutputAction) else frozenset(),
        output_oob_size=size,
        input_actions=frozenset({action}) if isinstance(action, InputAction) else frozenset(),
        input_oob_size=size,
    )
    static = (STATIC16 if algorithm is CMAC else STATIC32) if caps.static_oob else None
    start = ProvisioningStart(
        algorithm, public_key, method, action, size if action is not None else 0
    )
    pair = run(caps, static_oob=static, oob_key=public_key is PublicKeyMethod.OOB, start=start)
    assert not pair.failures, pair.failures
    p_result: ProvisionerResult = pair.results["P"]
    d_result: DeviceResult = pair.results["D"]
    assert p_result.device_key == d_result.device_key
    assert len(p_result.device_key) == 16
    assert d_result.net_key == DATA.net_key
    assert d_result.unicast_address == DATA.unicast_address
    assert d_result.iv_index == DATA.iv_index
    assert d_result.key_index == DATA.key_index
    assert p_result.number_of_elements == 2
    assert p_result.algorithm is algorithm
    assert p_result.public_key_method is public_key
    assert p_result.auth_method is method
    assert p_result.auth_action is action
    assert p_result.authenticated is (method is not AuthMethod.NO_OOB)
    # The PDU sequence is the spec's minimum, in order.
    expected = [
        ("P", PduType.INVITE),
        ("D", PduType.CAPABILITIES),
        ("P", PduType.START),
        ("P", PduType.PUBLIC_KEY),
    ]
    if public_key is PublicKeyMethod.NO_OOB:
        expected.append(("D", PduType.PUBLIC_KEY))
    if method is AuthMethod.INPUT_OOB:
        expected.append(("D", PduType.INPUT_COMPLETE))
    expected += [
        ("P", PduType.CONFIRMATION),
        ("D", PduType.CONFIRMATION),
        ("P", PduType.RANDOM),
        ("D", PduType.RANDOM),
        ("P", PduType.DATA),
        ("D", PduType.COMPLETE),
    ]
    assert pair.types() == expected
    # Who showed and who asked.
    if method is AuthMethod.OUTPUT_OOB:
        assert "D" in pair.shown
        assert "P" not in pair.shown
    if method is AuthMethod.INPUT_OOB:
        assert "P" in pair.shown
        assert "D" not in pair.shown
    if action is not None:
        value = pair.shown["P"] if method is AuthMethod.INPUT_OOB else pair.shown["D"]
        if action is OutputAction.OUTPUT_ALPHANUMERIC or action is InputAction.INPUT_ALPHANUMERIC:
            assert isinstance(value, str)
            assert len(value) == size
        else:
            assert isinstance(value, int)
            assert 1 <= value < 10**size


@pytest.mark.parametrize("method", METHODS)
def test_count_exchanges_is_the_spec_minimum(method: str) -> None:
    # Invite, Capabilities, Start, Public Key x2 (x1 with an OOB key), [Input Complete],
    # Confirmation x2, Random x2, Data, Complete.
    expected = 11
    if method == "oob_public_key":
        expected -= 1
    if method == "input_oob":
        expected += 1
    assert count_exchanges(method) == expected


# --- method choice by the caller ------------------------------------------------------------


def test_pause_after_capabilities_and_choose() -> None:
    caps = capabilities(
        static_oob=True,
        output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}),
        output_oob_size=4,
    )
    device = Device(caps, static_oob=STATIC32)
    provisioner = Provisioner(DATA)
    pair = Run(provisioner, device)
    pair.handle("P", provisioner.start(0.0))
    pair.pump()
    assert provisioner.state is ProvisionerState.WAIT_CHOICE
    assert pair.caps_seen[0].capabilities == pair.caps_seen[0].caps == caps
    # No static value known to us yet: the policy suggests Output OOB.
    suggested = pair.caps_seen[0].suggested
    assert suggested is not None
    assert suggested.auth_method is AuthMethod.OUTPUT_OOB
    # Invalid overrides are refused without changing the state.
    with pytest.raises(ProvisioningUsageError):
        provisioner.choose(ProvisioningStart(CMAC), 0.0)  # HMAC is supported: no CMAC
    with pytest.raises(ProvisioningUsageError):
        provisioner.choose(ProvisioningStart(HMAC, PublicKeyMethod.OOB), 0.0)
    with pytest.raises(InvalidOobValueError):
        provisioner.choose(
            ProvisioningStart(HMAC, auth_method=AuthMethod.STATIC_OOB),
            0.0,
            static_oob=bytes(33),
        )
    assert provisioner.state is ProvisionerState.WAIT_CHOICE
    # Override: static OOB, the value typed in when asked.
    pair.handle(
        "P", provisioner.choose(ProvisioningStart(HMAC, auth_method=AuthMethod.STATIC_OOB), 0.0)
    )
    pair.answer["P"] = STATIC32
    pair.pump()
    assert pair.results["P"].auth_method is AuthMethod.STATIC_OOB
    assert pair.results["P"].device_key == pair.results["D"].device_key
    with pytest.raises(SessionClosedError):
        provisioner.choose(ProvisioningStart(HMAC), 0.0)


def test_unicast_address_chosen_after_capabilities() -> None:
    # The caller allocates the address block once it knows the number of elements.
    caps = capabilities(3)
    device = Device(caps)
    provisioner = Provisioner(DATA)
    pair = Run(provisioner, device)
    pair.handle("P", provisioner.start(0.0))
    pair.pump()
    with pytest.raises(ProvisioningUsageError, match="does not fit"):
        provisioner.choose(ProvisioningStart(HMAC), 0.0, unicast_address=0x7FFE)
    assert provisioner.state is ProvisionerState.WAIT_CHOICE
    pair.handle("P", provisioner.choose(ProvisioningStart(HMAC), 0.0, unicast_address=0x0123))
    pair.pump()
    assert pair.results["P"].unicast_address == 0x0123
    assert pair.results["D"].unicast_address == 0x0123
    assert pair.results["P"].number_of_elements == 3


def test_static_oob_requested_when_unknown() -> None:
    caps = capabilities(static_oob=True)
    provisioner = Provisioner(DATA)
    device = Device(caps, static_oob=STATIC32)
    pair = Run(provisioner, device)
    pair.handle("P", provisioner.start(0.0))
    pair.pump()
    pair.handle(
        "P", provisioner.choose(ProvisioningStart(HMAC, auth_method=AuthMethod.STATIC_OOB), 0.0)
    )
    pair.pump()
    request = pair.requests["P"]
    assert request == RequestInput(InputKind.STATIC_OOB, None, 32)
    with pytest.raises(InvalidOobValueError):
        provisioner.provide_oob("not bytes", 0.0)
    with pytest.raises(InvalidOobValueError):
        provisioner.provide_oob(bytes(33), 0.0)
    assert provisioner.state is ProvisionerState.WAIT_USER_INPUT
    pair.answer["P"] = STATIC32
    pair.pump()
    assert pair.results["P"].device_key == pair.results["D"].device_key


def test_only_oob_authenticated_device() -> None:
    caps = capabilities(only_oob_authenticated=True, static_oob=True)
    pair = run(caps, static_oob=STATIC32)
    assert pair.results["P"].auth_method is AuthMethod.STATIC_OOB
    # Without the static value nothing is acceptable: auto-select fails closed.
    refused_p = Provisioner(DATA, auto_select=True)
    device = Device(caps, static_oob=STATIC32)
    p2 = Run(refused_p, device)
    p2.handle("P", refused_p.start(0.0))
    p2.pump()
    assert p2.caps_seen[0].suggested is None
    assert_refused(p2, FailureReason.NO_ACCEPTABLE_METHOD, None)
    # The device refuses a No OOB Start itself (Invalid Format).
    d = Device(caps, static_oob=STATIC32)
    d.receive(ProvisioningInvite().to_bytes(), 0.0)
    out = d.receive(ProvisioningStart(HMAC).to_bytes(), 0.0)
    assert out[0] == SendProvisioningPdu(
        ProvisioningFailed(ProvisioningErrorCode.INVALID_FORMAT).to_bytes()
    )
    assert isinstance(out[1], Failed)
    assert out[1].failure.reason is FailureReason.INVALID_START
    assert not out[1].close_link


def test_unicast_range_must_fit() -> None:
    caps = capabilities(4)
    data = ProvisioningData(bytes(16), 0, 0, 0x7FFE)
    pair = run(caps, data=data)
    assert_refused(
        pair, FailureReason.CANNOT_ASSIGN_ADDRESSES, ProvisioningErrorCode.CANNOT_ASSIGN_ADDRESSES
    )


# --- wrong values and bad PDUs: each refused with a clear reason and no result -------------


@pytest.mark.parametrize("method", WRONG_OOB_METHODS)
def test_wrong_oob_value(method: AuthMethod) -> None:
    case = wrong_oob(method)
    # An honest device detects the mismatch first (it checks our Confirmation when we reveal
    # our Random) and reports Confirmation Failed. A rogue device that does not check and
    # carries on is caught by us: tests/simulator/test_device_faults.py.
    pair = run(
        case.caps,
        static_oob=case.static,
        provisioner_static=case.provisioner_static,
        answer=case.answer,
    )
    assert pair.failures["D"].failure.reason is FailureReason.CONFIRMATION_FAILED
    assert pair.wire[-1] == (
        "D",
        ProvisioningFailed(ProvisioningErrorCode.CONFIRMATION_FAILED).to_bytes(),
    )
    assert_refused(pair, FailureReason.REMOTE_FAILED, ProvisioningErrorCode.CONFIRMATION_FAILED)


def test_out_of_order_pdu() -> None:
    provisioner = Provisioner(DATA)
    provisioner.start(0.0)
    out = provisioner.receive(ProvisioningRandom(bytes(32)).to_bytes(), 1.0)
    assert len(out) == 1
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.UNEXPECTED_PDU
    assert out[0].failure.code is ProvisioningErrorCode.UNEXPECTED_PDU


@pytest.mark.parametrize(
    "data",
    [b"", b"\x01", b"\x01" + bytes(12), b"\x41" + bytes(11), b"\x0e", b"\x09\x00"],
)
def test_malformed_capabilities(data: bytes) -> None:
    provisioner = Provisioner(DATA)
    provisioner.start(0.0)
    out = provisioner.receive(data, 1.0)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason in (FailureReason.MALFORMED_PDU, FailureReason.INVALID_PDU)
    assert provisioner.state is ProvisionerState.FAILED


def test_wrong_length_confirmation_for_algorithm() -> None:
    # A 16-octet Confirmation in an HMAC session decodes but is refused by the session.
    caps = capabilities()
    device = Device(caps)
    provisioner = Provisioner(DATA, auto_select=True)
    pair = Run(provisioner, device)
    pair.handle("P", provisioner.start(0.0))
    pair._queue.clear()
    for pdu in (ProvisioningInvite(), ProvisioningStart(HMAC)):
        pair.handle("D", device.receive(pdu.to_bytes(), 0.0))
    pair._queue.clear()
    provisioner.receive(caps.to_bytes(), 0.0)
    out = device.receive(ProvisioningPublicKey(provisioner.public_key).to_bytes(), 0.0)
    provisioner.receive(out[0].data, 0.0)  # type: ignore[union-attr]
    assert provisioner.state is ProvisionerState.WAIT_CONFIRMATION
    out = provisioner.receive(ProvisioningConfirmation(bytes(16)).to_bytes(), 0.0)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.WRONG_LENGTH


# --- the device refuses a misbehaving provisioner -------------------------------------------


def _device_at_public_key(caps: ProvisioningCapabilities | None = None) -> Device:
    device = Device(caps or capabilities())
    device.receive(ProvisioningInvite().to_bytes(), 0.0)
    device.receive(ProvisioningStart(HMAC).to_bytes(), 0.0)
    return device


def _device_failed(
    out: list[ProvisioningAction], code: ProvisioningErrorCode, reason: FailureReason
) -> None:
    assert out[0] == SendProvisioningPdu(ProvisioningFailed(code).to_bytes())
    assert isinstance(out[1], Failed)
    assert out[1].failure.reason is reason
    assert len(out) == 2


def test_device_refusals() -> None:
    device = Device(capabilities())
    _device_failed(
        device.receive(ProvisioningStart(HMAC).to_bytes(), 0.0),
        ProvisioningErrorCode.UNEXPECTED_PDU,
        FailureReason.UNEXPECTED_PDU,
    )
    assert device.state is DeviceState.FAILED

    device = Device(capabilities())
    _device_failed(
        device.receive(b"\x1f", 0.0), ProvisioningErrorCode.INVALID_PDU, FailureReason.INVALID_PDU
    )
    device = Device(capabilities())
    _device_failed(
        device.receive(b"\x00", 0.0),
        ProvisioningErrorCode.INVALID_FORMAT,
        FailureReason.MALFORMED_PDU,
    )
    device = Device(capabilities())
    device.receive(ProvisioningInvite().to_bytes(), 0.0)
    _device_failed(
        device.receive(ProvisioningRecordsGet().to_bytes(), 0.0),
        ProvisioningErrorCode.UNEXPECTED_PDU,
        FailureReason.UNEXPECTED_PDU,
    )
    device = Device(capabilities(algorithms=frozenset({CMAC})))
    device.receive(ProvisioningInvite().to_bytes(), 0.0)
    _device_failed(
        device.receive(ProvisioningStart(HMAC).to_bytes(), 0.0),
        ProvisioningErrorCode.INVALID_FORMAT,
        FailureReason.INVALID_START,
    )
    device = _device_at_public_key()
    _device_failed(
        device.receive(ProvisioningPublicKey(device.public_key).to_bytes(), 0.0),
        ProvisioningErrorCode.INVALID_FORMAT,
        FailureReason.REFLECTED_PUBLIC_KEY,
    )
    device = _device_at_public_key()
    _device_failed(
        device.receive(ProvisioningPublicKey(OFF_CURVE).to_bytes(), 0.0),
        ProvisioningErrorCode.INVALID_FORMAT,
        FailureReason.INVALID_PUBLIC_KEY,
    )


class _ManualProvisioner:
    """Drives a Device by hand with a real Provisioner's PDUs, so single PDUs can be forged."""

    def __init__(self, caps: ProvisioningCapabilities, data: ProvisioningData = DATA) -> None:
        self.device = Device(caps)
        self.provisioner = Provisioner(data, auto_select=True)
        self.to_device: list[bytes] = []
        self._feed_provisioner(self.provisioner.start(0.0))

    def _feed_provisioner(self, actions: list[ProvisioningAction]) -> None:
        self.to_device += [a.data for a in actions if isinstance(a, SendProvisioningPdu)]

    def step_until(self, pdu_type: PduType) -> bytes:
        """Deliver provisioner PDUs to the device until the next is of ``pdu_type``."""
        while True:
            data = self.to_device.pop(0)
            if pdu_type_of(data) is pdu_type:
                return data
            for action in self.device.receive(data, 0.0):
                if isinstance(action, SendProvisioningPdu):
                    self._feed_provisioner(self.provisioner.receive(action.data, 0.0))


def test_device_refuses_wrong_provisioner_confirmation() -> None:
    m = _ManualProvisioner(capabilities())
    m.step_until(PduType.CONFIRMATION)
    out = m.device.receive(ProvisioningConfirmation(b"\x01" * 32).to_bytes(), 0.0)
    device_confirmation = out[0]
    assert isinstance(device_confirmation, SendProvisioningPdu)
    _device_failed(
        m.device.receive(ProvisioningRandom(b"\x02" * 32).to_bytes(), 0.0),
        ProvisioningErrorCode.CONFIRMATION_FAILED,
        FailureReason.CONFIRMATION_FAILED,
    )


def test_device_refuses_reflected_confirmation_and_random() -> None:
    m = _ManualProvisioner(capabilities())
    m.step_until(PduType.CONFIRMATION)
    # The device's own Confirmation cannot be known before it answers, so reflect the Random:
    # answer its Confirmation with a Random equal to the device's own.
    m.device.receive(ProvisioningConfirmation(b"\x01" * 32).to_bytes(), 0.0)
    own_random = m.device._s.random
    _device_failed(
        m.device.receive(ProvisioningRandom(own_random).to_bytes(), 0.0),
        ProvisioningErrorCode.INVALID_FORMAT,
        FailureReason.REFLECTED_RANDOM,
    )


def test_device_refuses_corrupted_data() -> None:
    m = _ManualProvisioner(capabilities())
    data = bytearray(m.step_until(PduType.DATA))
    data[5] ^= 0xFF
    _device_failed(
        m.device.receive(bytes(data), 0.0),
        ProvisioningErrorCode.DECRYPTION_FAILED,
        FailureReason.DECRYPTION_FAILED,
    )
    assert m.device.state is DeviceState.FAILED


def test_device_refuses_unassignable_address() -> None:
    m = _ManualProvisioner(capabilities(1), ProvisioningData(bytes(16), 0, 0, 0x7FFF))
    data = m.step_until(PduType.DATA)
    # The session was set up for one element; pretend the device has two from here on, so the
    # address range 0x7FFF..0x8000 no longer fits (the Provisioner checks this up front too).
    m.device.capabilities = capabilities(2)
    _device_failed(
        m.device.receive(data, 0.0),
        ProvisioningErrorCode.CANNOT_ASSIGN_ADDRESSES,
        FailureReason.CANNOT_ASSIGN_ADDRESSES,
    )


# --- timers (§5.4.4) ----------------------------------------------------------------------


def test_timer_restarts_and_expires() -> None:
    provisioner = Provisioner(DATA)
    assert provisioner.next_deadline() is None
    provisioner.start(10.0)
    assert provisioner.next_deadline() == 10.0 + PROTOCOL_TIMEOUT
    assert provisioner.timeout(30.0) == []  # not yet due: nothing happens
    assert provisioner.state is ProvisionerState.WAIT_CAPABILITIES
    out = provisioner.timeout(10.0 + PROTOCOL_TIMEOUT)
    assert len(out) == 1
    assert isinstance(out[0], Failed)
    assert out[0].failure.is_timeout
    assert out[0].failure.code is None
    assert out[0].close_link
    assert provisioner.next_deadline() is None


def test_timer_is_120s_with_output_or_input_oob() -> None:
    caps = capabilities(output_actions=frozenset({OutputAction.BLINK}), output_oob_size=1)
    device = Device(caps)
    provisioner = Provisioner(DATA, auto_select=True)
    pair = Run(provisioner, device, now=5.0)
    pair.handle("P", provisioner.start(5.0))
    # Deliver everything but do not answer the RequestInput: the person is slow.
    pair.answer.clear()
    while pair._queue:
        receiver, data = pair._queue.pop(0)
        session = provisioner if receiver == "P" else device
        pair.handle(receiver, session.receive(data, 5.0))
    assert provisioner.state is ProvisionerState.WAIT_USER_INPUT
    assert provisioner.next_deadline() == 5.0 + PROTOCOL_TIMEOUT_OOB
    assert device.next_deadline() == 5.0 + PROTOCOL_TIMEOUT_OOB
    out = provisioner.timeout(5.0 + PROTOCOL_TIMEOUT_OOB)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.TIMEOUT
    # The device times out too and sends no Provisioning Failed (§5.4.4).
    out = device.timeout(200.0)
    assert device.failure is not None
    assert device.failure.reason is FailureReason.TIMEOUT
    assert out == [Failed(device.failure, close_link=True)]  # no SendPdu


# --- a finished session is dead ---------------------------------------------------------------


def test_failed_session_refuses_everything() -> None:
    # A wrong static OOB value: the device refuses our Confirmation, so we fail.
    pair = run(HMAC_CAPS, static_oob=STATIC32, provisioner_static=bytes(32))
    provisioner = pair.provisioner
    assert provisioner.state is ProvisionerState.FAILED
    state, failure = provisioner.state, provisioner.failure
    calls: list[Callable[[], object]] = [
        lambda: provisioner.receive(b"\x08", 1.0),
        lambda: provisioner.start(1.0),
        lambda: provisioner.choose(ProvisioningStart(HMAC), 1.0),
        lambda: provisioner.provide_oob(1, 1.0),
        lambda: provisioner.timeout(1000.0),
        lambda: provisioner.cancel(1.0),
        lambda: provisioner.link_closed(1.0),
    ]
    for call in calls:
        with pytest.raises(SessionClosedError):
            call()
        assert provisioner.state is state
        assert provisioner.failure is failure
    # The device side is dead too after its own failure.
    device = Device(capabilities())
    device.receive(b"\x08", 0.0)
    with pytest.raises(SessionClosedError):
        device.receive(ProvisioningInvite().to_bytes(), 0.0)
    with pytest.raises(SessionClosedError):
        device.provide_oob(1, 0.0)


def test_misuse_is_a_typed_error() -> None:
    provisioner = Provisioner(DATA)
    with pytest.raises(InvalidStateError):
        provisioner.receive(b"\x01", 0.0)
    with pytest.raises(InvalidStateError):
        provisioner.choose(ProvisioningStart(HMAC), 0.0)
    with pytest.raises(InvalidStateError):
        provisioner.provide_oob(1, 0.0)
    provisioner.start(0.0)
    with pytest.raises(InvalidStateError):
        provisioner.start(0.0)
    device = Device(capabilities())
    with pytest.raises(InvalidStateError):
        device.provide_oob(1, 0.0)
    with pytest.raises(ProvisioningUsageError):
        Device(capabilities(static_oob=True))  # no static value given
    with pytest.raises(ProvisioningUsageError):
        Device(capabilities(), oob_private_key=5)  # key not announced


def test_cancel_and_link_closed() -> None:
    provisioner = Provisioner(DATA)
    provisioner.start(0.0)
    out = provisioner.cancel(1.0)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.CANCELLED
    device = Device(capabilities())
    device.receive(ProvisioningInvite().to_bytes(), 0.0)
    out = device.link_closed(1.0)
    assert len(out) == 1
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.LINK_CLOSED


def test_fresh_keys_and_values_per_session() -> None:
    caps = capabilities(input_actions=frozenset({InputAction.INPUT_ALPHANUMERIC}), input_oob_size=8)
    runs = [run(caps) for _ in range(3)]
    assert len({r.provisioner.public_key for r in runs}) == 3
    assert len({r.device.public_key for r in runs}) == 3
    assert len({r.shown["P"] for r in runs}) == 3
    randoms = {d[1:] for r in runs for role, d in r.wire if pdu_type_of(d) is PduType.RANDOM}
    assert len(randoms) == 6
    assert len({r.results["P"].device_key for r in runs}) == 3


def test_oob_public_key_from_qr() -> None:
    caps = capabilities(public_key_oob=True)
    pair = run(caps, oob_key=True)
    assert pair.results["P"].public_key_method is PublicKeyMethod.OOB
    assert pair.device.public_key == oob_public_key(OOB_PRIVATE)
    assert [t for role, t in pair.types() if role == "D"].count(PduType.PUBLIC_KEY) == 0
    # An invalid OOB key supplied by the caller is a usage error at choose time.
    provisioner = Provisioner(DATA, device_public_key=OFF_CURVE)
    device = Device(caps, oob_private_key=OOB_PRIVATE)
    p = Run(provisioner, device)
    p.handle("P", provisioner.start(0.0))
    p.pump()
    with pytest.raises(ProvisioningUsageError):
        provisioner.choose(ProvisioningStart(HMAC, PublicKeyMethod.OOB), 0.0)
    assert provisioner.state is ProvisionerState.WAIT_CHOICE


# --- fuzzing both state machines ------------------------------------------------------------

_VALID_PROVISIONER_PDUS = [
    ProvisioningInvite(0).to_bytes(),
    ProvisioningStart(HMAC).to_bytes(),
    ProvisioningPublicKey(oob_public_key(OOB_PRIVATE)).to_bytes(),
    ProvisioningConfirmation(b"\x11" * 32).to_bytes(),
    ProvisioningRandom(b"\x22" * 32).to_bytes(),
    b"\x07" + bytes(33),
]
_VALID_DEVICE_PDUS = [
    capabilities(static_oob=True).to_bytes(),
    ProvisioningPublicKey(oob_public_key(OOB_PRIVATE)).to_bytes(),
    b"\x04",
    ProvisioningConfirmation(b"\x11" * 32).to_bytes(),
    ProvisioningRandom(b"\x22" * 32).to_bytes(),
    b"\x08",
    b"\x09\x04",
]


def _mutated(pool: list[bytes]) -> st.SearchStrategy[bytes]:
    def mutate(base: bytes, pos: int, xor: int, cut: int) -> bytes:
        data = bytearray(base)
        data[pos % len(data)] ^= xor
        return bytes(data[: len(data) - cut])

    return st.one_of(
        st.sampled_from(pool),
        st.binary(max_size=70),
        st.builds(
            mutate,
            st.sampled_from(pool),
            st.integers(0, 80),
            st.integers(0, 255),
            st.integers(0, 2),
        ),
    )


def _drive(session: Provisioner | Device, sequence: list[bytes], when: list[float]) -> None:
    for data, now in zip(sequence, when, strict=False):
        if session.finished:
            with pytest.raises(SessionClosedError):
                session.receive(data, now)
            continue
        actions = session.receive(data, now)  # any MeshError other than "closed" is a bug
        for action in actions:
            assert isinstance(
                action,
                SendProvisioningPdu
                | CapabilitiesReceived
                | RequestInput
                | ShowValue
                | Completed
                | Failed,
            )
            if isinstance(action, SendProvisioningPdu):
                decode_pdu(action.data)  # we only ever send well-formed PDUs
        if session.finished:
            assert session.next_deadline() is None
        try:
            session.timeout(now + 1.0)
        except SessionClosedError:
            assert session.finished


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(_mutated(_VALID_PROVISIONER_PDUS), max_size=8),
    st.lists(st.floats(0, 1000), min_size=8, max_size=8),
)
def test_fuzz_device(sequence: list[bytes], when: list[float]) -> None:
    device = Device(capabilities(static_oob=True), static_oob=STATIC32)
    _drive(device, sequence, sorted(when))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(_mutated(_VALID_DEVICE_PDUS), max_size=8),
    st.lists(st.floats(0, 1000), min_size=8, max_size=8),
)
def test_fuzz_provisioner(sequence: list[bytes], when: list[float]) -> None:
    provisioner = Provisioner(DATA, static_oob=STATIC32, auto_select=True)
    provisioner.start(0.0)
    _drive(provisioner, sequence, sorted(when))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.integers(0, 11), st.integers(0, 64), st.integers(1, 255), st.booleans())
def test_fuzz_mutated_real_session(index: int, pos: int, xor: int, towards_device: bool) -> None:
    """A real session in which one PDU on the wire is corrupted: nobody completes wrongly."""
    caps = capabilities(static_oob=True)
    device = Device(caps, static_oob=STATIC32)
    provisioner = Provisioner(DATA, static_oob=STATIC32, auto_select=True)
    queue: list[tuple[str, bytes]] = [
        ("D", a.data) for a in provisioner.start(0.0) if isinstance(a, SendProvisioningPdu)
    ]
    results: dict[str, Any] = {}
    count = 0
    while queue:
        receiver, data = queue.pop(0)
        if count == index and (receiver == "D") == towards_device:
            buf = bytearray(data)
            buf[pos % len(buf)] ^= xor
            data = bytes(buf)
        count += 1
        session: Provisioner | Device = device if receiver == "D" else provisioner
        if session.finished:
            continue
        for action in session.receive(data, 0.0):
            if isinstance(action, SendProvisioningPdu):
                queue.append(("P" if receiver == "D" else "D", action.data))
            elif isinstance(action, Completed):
                results[receiver] = action.result
    if "P" in results:
        # The provisioner completed only if the device really got the same keys.
        assert results["D"].device_key == results["P"].device_key
        assert results["D"].net_key == DATA.net_key


def test_send_pdu_type_for_logs() -> None:
    assert SendProvisioningPdu(b"\x08").pdu_type is PduType.COMPLETE
    assert SendProvisioningPdu(b"").pdu_type is None
    assert SendProvisioningPdu(b"\x48").pdu_type is None
    assert SendProvisioningPdu(b"\x3f").pdu_type is None


def test_select_method_restricted_to_a_chosen_method() -> None:
    caps = capabilities(
        static_oob=True,
        output_actions=frozenset({OutputAction.BLINK, OutputAction.OUTPUT_NUMERIC}),
        output_oob_size=6,
        input_actions=frozenset({InputAction.PUSH}),
        input_oob_size=2,
    )
    output = select_method(caps, False, False, auth_method=AuthMethod.OUTPUT_OOB)
    assert output.auth_method is AuthMethod.OUTPUT_OOB
    assert output.auth_action is OutputAction.OUTPUT_NUMERIC  # the richer action
    assert output.auth_size == 6
    assert output.algorithm is HMAC
    static = select_method(caps, False, True, auth_method=AuthMethod.STATIC_OOB)
    assert static.auth_method is AuthMethod.STATIC_OOB
    no_oob = select_method(caps, False, False, auth_method=AuthMethod.NO_OOB)
    assert no_oob.auth_method is AuthMethod.NO_OOB
    with pytest.raises(NoAcceptableMethodError):
        select_method(capabilities(), False, False, auth_method=AuthMethod.INPUT_OOB)
