"""Each DeviceFaults switch, the simulator's FaultyDevice against the engine's Provisioner.

The pair harness is tests/provisioning_pair.py: a Provisioner and
a device over a fake in-order link. Here the device is the engine's honest Device wrapped by
:class:`simulator.faults.FaultyDevice`; every attack must be refused by one named check of the
Provisioner, with the spec failure code, and nothing may be provisioned.
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    DeviceState,
    Failed,
    FailureReason,
    InputAction,
    OutputAction,
    PduType,
    Provisioner,
    ProvisionerState,
    ProvisioningCapabilities,
    ProvisioningErrorCode,
    ProvisioningFailed,
    ProvisioningInvite,
    ProvisioningRandom,
    PublicKeyMethod,
    SendProvisioningPdu,
    SessionClosedError,
    capabilities,
)
from simulator.faults import OFF_CURVE_PUBLIC_KEY, DeviceFaults, FaultyDevice
from tests.provisioning_pair import (
    DATA,
    HMAC_CAPS,
    OOB_PRIVATE,
    STATIC32,
    WRONG_OOB_METHODS,
    Run,
    assert_refused,
    run,
    wrong_oob,
)


def faulty_run(
    caps: ProvisioningCapabilities,
    faults: DeviceFaults,
    *,
    static_oob: bytes | None = None,
    **kwargs: Any,
) -> Run:
    device = FaultyDevice(
        caps,
        static_oob=static_oob,
        oob_private_key=OOB_PRIVATE if caps.public_key_oob else None,
        faults=faults,
    )
    return run(caps, static_oob=static_oob, device=device, **kwargs)


@pytest.mark.parametrize(
    ("faults", "reason", "code"),
    [
        (
            DeviceFaults(reflect_public_key=True),
            FailureReason.REFLECTED_PUBLIC_KEY,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(off_curve_public_key=True),
            FailureReason.INVALID_PUBLIC_KEY,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(wrong_confirmation=True),
            FailureReason.CONFIRMATION_FAILED,
            ProvisioningErrorCode.CONFIRMATION_FAILED,
        ),
        (
            DeviceFaults(reflect_confirmation=True),
            FailureReason.REFLECTED_CONFIRMATION,
            ProvisioningErrorCode.CONFIRMATION_FAILED,
        ),
        (
            DeviceFaults(random_equal_to_provisioner=True),
            FailureReason.REFLECTED_RANDOM,
            ProvisioningErrorCode.CONFIRMATION_FAILED,
        ),
        (
            DeviceFaults(unexpected_pdu_at=PduType.PUBLIC_KEY),
            FailureReason.UNEXPECTED_PDU,
            ProvisioningErrorCode.UNEXPECTED_PDU,
        ),
        (
            DeviceFaults(truncate_pdu=PduType.CAPABILITIES),
            FailureReason.MALFORMED_PDU,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(truncate_pdu=PduType.PUBLIC_KEY),
            FailureReason.MALFORMED_PDU,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(oversize_pdu=PduType.CONFIRMATION),
            FailureReason.MALFORMED_PDU,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(oversize_pdu=PduType.COMPLETE),
            FailureReason.MALFORMED_PDU,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
        (
            DeviceFaults(truncate_pdu=PduType.RANDOM),
            FailureReason.MALFORMED_PDU,
            ProvisioningErrorCode.INVALID_FORMAT,
        ),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_device_fault_refused(
    faults: DeviceFaults, reason: FailureReason, code: ProvisioningErrorCode
) -> None:
    pair = faulty_run(HMAC_CAPS, faults, static_oob=STATIC32)
    assert_refused(pair, reason, code)


def test_fault_exactly_one_check() -> None:
    # Each fault trips its own named check and nothing earlier.
    pair = faulty_run(HMAC_CAPS, DeviceFaults(wrong_confirmation=True), static_oob=STATIC32)
    assert [t for _, t in pair.types()][-1] is PduType.RANDOM  # got as far as the Randoms
    pair = faulty_run(HMAC_CAPS, DeviceFaults(reflect_public_key=True), static_oob=STATIC32)
    device_key = pair.wire[-1][1][1:]
    assert device_key == pair.provisioner.public_key
    assert device_key != pair.device.public_key  # the device's own key never went out
    pair = faulty_run(HMAC_CAPS, DeviceFaults(off_curve_public_key=True), static_oob=STATIC32)
    assert pair.wire[-1][1][1:] == OFF_CURVE_PUBLIC_KEY


@pytest.mark.parametrize(
    "step", [PduType.INVITE, PduType.START, PduType.CONFIRMATION, PduType.DATA]
)
@pytest.mark.parametrize(
    "code", [ProvisioningErrorCode.OUT_OF_RESOURCES, ProvisioningErrorCode.UNEXPECTED_ERROR]
)
def test_failed_from_device(step: PduType, code: ProvisioningErrorCode) -> None:
    faults = DeviceFaults(fail_with=code, fail_at=step)
    pair = faulty_run(HMAC_CAPS, faults, static_oob=STATIC32)
    assert_refused(pair, FailureReason.REMOTE_FAILED, code)
    assert pair.wire[-1] == ("D", ProvisioningFailed(code).to_bytes())
    # The device's side of it: it sent Provisioning Failed and waits for us to close.
    device_failed = pair.failures["D"]
    assert device_failed.failure.reason is FailureReason.REMOTE_FAILED
    assert device_failed.failure.code is code
    assert not device_failed.close_link
    assert pair.device.finished
    assert pair.device.state is DeviceState.FAILED


@pytest.mark.parametrize("method", WRONG_OOB_METHODS)
def test_rogue_device_is_caught(method: AuthMethod) -> None:
    # A rogue device that does not know the OOB value and carries on (it reveals its Random
    # without checking our Confirmation) is caught by our own check.
    case = wrong_oob(method)
    pair = faulty_run(
        case.caps,
        DeviceFaults(ignore_confirmation_failure=True),
        static_oob=case.static,
        provisioner_static=case.provisioner_static,
        answer=case.answer,
    )
    assert "D" not in pair.failures
    assert_refused(
        pair, FailureReason.CONFIRMATION_FAILED, ProvisioningErrorCode.CONFIRMATION_FAILED
    )


def test_silent_device_times_out() -> None:
    pair = faulty_run(HMAC_CAPS, DeviceFaults(silent_at=PduType.CONFIRMATION), static_oob=STATIC32)
    assert pair.provisioner.state is ProvisionerState.WAIT_CONFIRMATION
    deadline = pair.provisioner.next_deadline()
    assert deadline is not None
    out = pair.provisioner.timeout(deadline)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.TIMEOUT
    assert pair.provisioner.failure is not None
    assert not pair.results
    pair.handle("P", out)
    assert_refused(pair, FailureReason.TIMEOUT, None)


def test_input_complete_skipped_times_out() -> None:
    caps = capabilities(input_actions=frozenset({InputAction.PUSH}), input_oob_size=1)
    pair = faulty_run(caps, DeviceFaults(skip_input_complete=True))
    assert pair.provisioner.state is ProvisionerState.WAIT_INPUT_COMPLETE
    assert pair.device.state is DeviceState.WAIT_CONFIRMATION
    assert not pair.results
    deadline = pair.provisioner.next_deadline()
    assert deadline is not None
    pair.handle("P", pair.provisioner.timeout(deadline))
    assert_refused(pair, FailureReason.TIMEOUT, None)


# --- without a fault the wrapper is the honest device -----------------------------------------


@pytest.mark.parametrize(
    "caps",
    [
        capabilities(static_oob=True),
        capabilities(output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_oob_size=6),
        capabilities(input_actions=frozenset({InputAction.INPUT_ALPHANUMERIC}), input_oob_size=8),
        capabilities(public_key_oob=True),
        capabilities(algorithms=frozenset({Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM})),
    ],
    ids=["static", "output", "input", "oob_public_key", "cmac_only"],
)
@pytest.mark.parametrize(
    "faults",
    [DeviceFaults(), DeviceFaults(ignore_confirmation_failure=True)],
    ids=["no_fault", "rogue_with_the_right_value"],
)
def test_wrapper_without_effect_provisions(
    caps: ProvisioningCapabilities, faults: DeviceFaults
) -> None:
    # A rogue that happens to know the value completes too: its check is postponed, not lost.
    static = STATIC32 if caps.static_oob else None
    pair = faulty_run(caps, faults, static_oob=static, oob_key=caps.public_key_oob)
    assert not pair.failures, pair.failures
    assert pair.results["P"].device_key == pair.results["D"].device_key
    if caps.public_key_oob:
        assert pair.results["P"].public_key_method is PublicKeyMethod.OOB
    assert pair.device.state is DeviceState.COMPLETED


def test_postponed_check_still_refuses_a_provisioner() -> None:
    # The rogue reveals its Random early, but the honest device inside still checks the
    # Provisioner's Confirmation against its Random at the next PDU, and refuses a mismatch.
    device = FaultyDevice(capabilities(), faults=DeviceFaults(ignore_confirmation_failure=True))
    provisioner = Provisioner(DATA, auto_select=True)
    to_device = [a.data for a in provisioner.start(0.0) if isinstance(a, SendProvisioningPdu)]
    while to_device[0][0] != PduType.RANDOM:
        for action in device.receive(to_device.pop(0), 0.0):
            if isinstance(action, SendProvisioningPdu):
                to_device += [
                    a.data
                    for a in provisioner.receive(action.data, 0.0)
                    if isinstance(a, SendProvisioningPdu)
                ]
    out = device.receive(ProvisioningRandom(b"\x02" * 32).to_bytes(), 0.0)  # not its Random
    assert len(out) == 1
    assert isinstance(out[0], SendProvisioningPdu)
    assert out[0].pdu_type is PduType.RANDOM
    assert device.state is DeviceState.WAIT_RANDOM
    out = device.receive(b"\x07" + bytes(33), 0.0)  # whatever comes next
    assert out[0] == SendProvisioningPdu(
        ProvisioningFailed(ProvisioningErrorCode.CONFIRMATION_FAILED).to_bytes()
    )
    assert isinstance(out[1], Failed)
    assert out[1].failure.reason is FailureReason.CONFIRMATION_FAILED
    assert device.failure == out[1].failure
    assert device.finished


def test_wrapper_refuses_like_the_device() -> None:
    # The device's own refusals go out untouched (no fault applies to Provisioning Failed).
    device = FaultyDevice(capabilities(), faults=DeviceFaults(truncate_pdu=PduType.FAILED))
    out = device.receive(b"\x00", 0.0)  # an Invite without its Attention Duration
    assert out[0] == SendProvisioningPdu(
        ProvisioningFailed(ProvisioningErrorCode.INVALID_FORMAT).to_bytes()
    )
    assert device.failure is not None
    assert device.failure.reason is FailureReason.MALFORMED_PDU
    assert "state=FAILED" in repr(device)
    with pytest.raises(SessionClosedError):
        device.receive(ProvisioningInvite().to_bytes(), 0.0)
    device = FaultyDevice(capabilities())
    device.receive(ProvisioningInvite().to_bytes(), 0.0)
    out = device.cancel(1.0)
    assert isinstance(out[0], Failed)
    assert out[0].failure.reason is FailureReason.CANCELLED
    assert out[0].close_link
