"""Each NodeFaults switch produces the fault it names, and the Provisioner refuses it."""

from __future__ import annotations

import pytest

from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    FailureReason,
    PduType,
    ProvisioningErrorCode,
    ProvisioningStart,
)
from custom_components.ble_mesh.mesh.proxy import ProxySarError
from simulator.faults import DeviceFaults
from simulator.node import NodeFaults, NodeStatus, OobCapabilities, SimulatedNode

from .harness import FakeClock, ProvisioningRun, provision

HMAC = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
START = ProvisioningStart(algorithm=HMAC)


def _run(faults: NodeFaults, clock: FakeClock | None = None) -> ProvisioningRun:
    clock = clock or FakeClock()
    node = SimulatedNode(
        "dimmable", faults=faults, clock=clock, schedule=clock.schedule, oob=OobCapabilities()
    )
    return provision(node, choice=START, clock=clock)


def _assert_refused(run: ProvisioningRun, reason: FailureReason) -> None:
    assert run.result is None
    assert run.failure is not None
    assert run.failure.reason is reason, str(run.failure)
    assert run.node.state is NodeStatus.UNPROVISIONED
    assert run.node.provisioned is None


@pytest.mark.parametrize(
    ("device_faults", "reason"),
    [
        (DeviceFaults(wrong_confirmation=True), FailureReason.CONFIRMATION_FAILED),
        (DeviceFaults(reflect_confirmation=True), FailureReason.REFLECTED_CONFIRMATION),
        (DeviceFaults(reflect_public_key=True), FailureReason.REFLECTED_PUBLIC_KEY),
        (DeviceFaults(off_curve_public_key=True), FailureReason.INVALID_PUBLIC_KEY),
        (DeviceFaults(random_equal_to_provisioner=True), FailureReason.REFLECTED_RANDOM),
        (DeviceFaults(truncate_pdu=PduType.CAPABILITIES), FailureReason.MALFORMED_PDU),
        (DeviceFaults(unexpected_pdu_at=PduType.START), FailureReason.UNEXPECTED_PDU),
        (
            DeviceFaults(ignore_confirmation_failure=True, wrong_confirmation=True),
            FailureReason.CONFIRMATION_FAILED,
        ),
    ],
    ids=[
        "wrong_confirmation",
        "reflect_confirmation",
        "reflect_public_key",
        "off_curve_public_key",
        "random_equal",
        "truncated_capabilities",
        "unexpected_pdu",
        "rogue_device",
    ],
)
def test_device_faults(device_faults: DeviceFaults, reason: FailureReason) -> None:
    _assert_refused(_run(NodeFaults(device=device_faults)), reason)


@pytest.mark.parametrize(
    ("code", "at"),
    [
        (ProvisioningErrorCode.OUT_OF_RESOURCES, PduType.INVITE),
        (ProvisioningErrorCode.UNEXPECTED_ERROR, PduType.PUBLIC_KEY),
        (ProvisioningErrorCode.DECRYPTION_FAILED, PduType.DATA),
    ],
)
def test_send_failed_with_a_given_error(code: ProvisioningErrorCode, at: PduType) -> None:
    run = _run(NodeFaults(device=DeviceFaults(fail_with=code, fail_at=at)))
    _assert_refused(run, FailureReason.REMOTE_FAILED)
    assert run.failure is not None
    assert run.failure.code is code


@pytest.mark.parametrize("pdu_number", [1, 2, 3, 4, 5, 6])
def test_drop_link_after_pdu(pdu_number: int) -> None:
    run = _run(NodeFaults(drop_link_after_pdu=pdu_number))
    _assert_refused(run, FailureReason.LINK_CLOSED)
    assert run.link.device_disconnected
    assert run.node.last_provisioning_failure is not None
    assert run.node.last_provisioning_failure.reason is FailureReason.LINK_CLOSED


def test_stop_answering_makes_the_provisioner_time_out() -> None:
    run = _run(NodeFaults(stop_answering=True))
    assert run.failure is None
    assert run.result is None
    run.advance(59.0)
    assert run.failure is None
    run.advance(2.0)
    _assert_refused(run, FailureReason.TIMEOUT)


def test_silent_at_one_step() -> None:
    run = _run(NodeFaults(device=DeviceFaults(silent_at=PduType.CONFIRMATION)))
    assert run.failure is None
    run.advance(61.0)
    _assert_refused(run, FailureReason.TIMEOUT)


def test_small_reply_delay_still_completes() -> None:
    run = _run(NodeFaults(reply_delay=0.5))
    assert run.result is None
    assert run.failure is None
    for _ in range(20):
        run.advance(0.5)
        if run.finished:
            break
    assert run.failure is None
    assert run.result is not None
    assert run.node.state is NodeStatus.PROVISIONED


def test_long_reply_delay_times_out() -> None:
    run = _run(NodeFaults(reply_delay=90.0))
    run.advance(61.0)
    _assert_refused(run, FailureReason.TIMEOUT)
    run.advance(60.0)  # the late reply reaches a closed link: nothing happens
    assert run.failure is not None
    assert run.failure.reason is FailureReason.TIMEOUT


def test_reply_delay_without_scheduler_is_synchronous() -> None:
    node = SimulatedNode("dimmable", faults=NodeFaults(reply_delay=5.0))
    run = provision(node, choice=START)
    assert run.result is not None


@pytest.mark.parametrize(
    ("pdu_type", "offset", "mask", "reason"),
    [
        (PduType.CAPABILITIES, -1, 0xFF, FailureReason.MALFORMED_PDU),  # RFU action bits
        (PduType.CAPABILITIES, 0, 0xC0, FailureReason.MALFORMED_PDU),  # type padding bits
        (PduType.CAPABILITIES, 0, 0x20, FailureReason.INVALID_PDU),  # type 0x21: unknown
        (PduType.PUBLIC_KEY, -1, 0xFF, FailureReason.INVALID_PUBLIC_KEY),
        (PduType.CONFIRMATION, 5, 0xFF, FailureReason.CONFIRMATION_FAILED),
        (PduType.RANDOM, 1, 0xFF, FailureReason.CONFIRMATION_FAILED),
    ],
)
def test_corrupt_pdu(pdu_type: PduType, offset: int, mask: int, reason: FailureReason) -> None:
    run = _run(NodeFaults(corrupt_pdu=pdu_type, corrupt_offset=offset, corrupt_mask=mask))
    _assert_refused(run, reason)


def test_corrupt_complete_is_an_invalid_pdu() -> None:
    # Complete has only a type octet: 0x08 ^ 0x20 = 0x28 is not a PDU type.
    run = _run(NodeFaults(corrupt_pdu=PduType.COMPLETE, corrupt_offset=0, corrupt_mask=0x20))
    assert run.failure is not None
    # The node itself finished (it sent Complete), the Provisioner refuses the garbage.
    assert run.failure.reason is FailureReason.INVALID_PDU
    assert run.result is None


def test_lose_a_middle_segment() -> None:
    # Notification 0 is Capabilities; the 65-octet Public Key takes notifications 1-4 at
    # ATT_MTU 23 (19 data octets each). Losing a continuation shortens the reassembled PDU.
    run = _run(NodeFaults(lose_segments=frozenset({2})))
    _assert_refused(run, FailureReason.MALFORMED_PDU)


def test_lose_a_first_segment_breaks_sar() -> None:
    run = _run(NodeFaults(lose_segments=frozenset({1})))
    _assert_refused(run, FailureReason.LINK_CLOSED)
    assert isinstance(run.sar_error, ProxySarError)


def test_lose_the_last_segment_times_out() -> None:
    run = _run(NodeFaults(lose_segments=frozenset({4})))
    assert run.failure is None
    run.advance(21.0)  # the Provisioner's SAR timer (§6.5) drops the partial PDU
    _assert_refused(run, FailureReason.LINK_CLOSED)


def test_lose_every_segment_by_probability() -> None:
    run = _run(NodeFaults(segment_loss_probability=1.0))
    assert run.failure is None
    run.advance(61.0)
    _assert_refused(run, FailureReason.TIMEOUT)


def test_probabilistic_loss_is_reproducible() -> None:
    lost = []
    for _ in range(2):
        run = _run(NodeFaults(segment_loss_probability=0.5, segment_loss_seed=7))
        run.advance(61.0)
        assert run.failure is not None
        lost.append(list(run.node.lost_segments))
    assert lost[0]
    assert lost[0] == lost[1]


def test_faults_can_be_switched_off_between_sessions() -> None:
    clock = FakeClock()
    node = SimulatedNode(
        "dimmable", faults=NodeFaults(device=DeviceFaults(wrong_confirmation=True))
    )
    bad = provision(node, choice=START, clock=clock)
    assert bad.failure is not None
    node.faults = NodeFaults()
    good = provision(node, choice=START, clock=clock)
    assert good.result is not None


def test_node_timeout_closes_the_link() -> None:
    """The device's own protocol timer (§5.4.4): no PDU for 60 s -> it closes the link."""
    clock = FakeClock()
    node = SimulatedNode(
        "dimmable",
        clock=clock,
        schedule=clock.schedule,
        oob=OobCapabilities(static_oob=bytes(16)),
    )
    start = ProvisioningStart(algorithm=HMAC, auth_method=AuthMethod.STATIC_OOB)
    run = provision(node, choice=start, clock=clock)  # the Provisioner waits for a person
    assert run.failure is None
    deadline = node.next_deadline()
    assert deadline is not None
    run.provisioner.protocol_timeout = 1e9  # only the node's timer matters here
    clock.now = deadline
    clock.run_due()
    run.pump()
    assert run.link.device_disconnected
    assert node.last_provisioning_failure is not None
    assert node.last_provisioning_failure.reason is FailureReason.TIMEOUT
