"""Provision simulated nodes with the engine's Provisioner over PB-GATT, every OOB mode."""

from __future__ import annotations

import logging

import pytest

from custom_components.ble_mesh.mesh.beacons import NetworkIdAdvertisement
from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    DeviceState,
    FailureReason,
    InputAction,
    OutputAction,
    ProvisioningErrorCode,
    ProvisioningStart,
    PublicKeyMethod,
)
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_SERVICE_UUID,
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
    MESH_PROXY_SERVICE_UUID,
)
from custom_components.ble_mesh.mesh.qr import parse_provisioning_oob
from simulator.node import NodeStatus, OobCapabilities, SimulatedNode

from .harness import IV_INDEX, NET_KEY, NET_KEY_INDEX, UNICAST, FakeClock, FakeLink, provision

CMAC = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
HMAC = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
ALGORITHMS = pytest.mark.parametrize("algorithm", [CMAC, HMAC], ids=["cmac", "hmac"])
STATIC = bytes(range(1, 17))


def _node(algorithm: Algorithm, **oob: object) -> SimulatedNode:
    return SimulatedNode(
        "dimmable",
        oob=OobCapabilities(algorithms=frozenset({algorithm}), **oob),  # type: ignore[arg-type]
    )


def _assert_provisioned(node: SimulatedNode, run_result: object) -> None:
    assert run_result is not None
    assert node.state is NodeStatus.PROVISIONED
    state = node.provisioned
    assert state is not None
    assert state.net_key == NET_KEY
    assert state.net_key_index == NET_KEY_INDEX
    assert state.iv_index == IV_INDEX
    assert state.unicast_address == UNICAST
    assert len(state.device_key) == 16
    adv = node.advertisement()
    assert adv is not None
    assert list(adv.service_uuids) == [MESH_PROXY_SERVICE_UUID]
    network = NetworkIdAdvertisement.from_bytes(adv.service_data[MESH_PROXY_SERVICE_UUID])
    assert network.matches_network(NET_KEY)
    (service,) = node.gatt_services()
    assert service.uuid == MESH_PROXY_SERVICE_UUID
    assert [c.uuid for c in service.characteristics] == [
        MESH_PROXY_DATA_IN_UUID,
        MESH_PROXY_DATA_OUT_UUID,
    ]


@ALGORITHMS
def test_no_oob(algorithm: Algorithm) -> None:
    node = _node(algorithm)
    run = provision(node, choice=ProvisioningStart(algorithm=algorithm))
    assert run.failure is None
    assert run.result is not None
    assert run.result.algorithm is algorithm
    assert run.result.auth_method is AuthMethod.NO_OOB
    _assert_provisioned(node, run.result)
    assert run.result.device_key == node.provisioned.device_key  # type: ignore[union-attr]
    assert run.link.is_connected is False


@ALGORITHMS
def test_static_oob(algorithm: Algorithm) -> None:
    node = _node(algorithm, static_oob=STATIC)
    start = ProvisioningStart(algorithm=algorithm, auth_method=AuthMethod.STATIC_OOB)
    run = provision(node, choice=start, static_oob=STATIC)
    assert run.failure is None
    assert run.result is not None
    assert run.result.auth_method is AuthMethod.STATIC_OOB
    _assert_provisioned(node, run.result)


@ALGORITHMS
def test_static_oob_entered_by_a_person(algorithm: Algorithm) -> None:
    node = _node(algorithm, static_oob=STATIC)
    start = ProvisioningStart(algorithm=algorithm, auth_method=AuthMethod.STATIC_OOB)
    run = provision(node, choice=start)
    assert not run.finished
    run.static_oob = STATIC
    run.perform(run.provisioner.provide_oob(STATIC, run.clock.now))
    run.pump()
    assert run.result is not None
    _assert_provisioned(node, run.result)


@ALGORITHMS
def test_wrong_static_oob_fails(algorithm: Algorithm) -> None:
    node = _node(algorithm, static_oob=STATIC)
    start = ProvisioningStart(algorithm=algorithm, auth_method=AuthMethod.STATIC_OOB)
    run = provision(node, choice=start, static_oob=bytes(16))
    assert run.result is None
    assert run.failure is not None
    # The device checks first (on the Provisioner's Random) and reports it.
    assert run.failure.reason is FailureReason.REMOTE_FAILED
    assert run.failure.code is ProvisioningErrorCode.CONFIRMATION_FAILED
    assert node.last_provisioning_failure is not None
    assert node.last_provisioning_failure.reason is FailureReason.CONFIRMATION_FAILED
    assert node.state is NodeStatus.UNPROVISIONED


@ALGORITHMS
@pytest.mark.parametrize(
    ("action", "size"),
    [
        (OutputAction.BLINK, 1),
        (OutputAction.BEEP, 2),
        (OutputAction.VIBRATE, 1),
        (OutputAction.OUTPUT_NUMERIC, 6),
        (OutputAction.OUTPUT_ALPHANUMERIC, 8),
    ],
)
def test_output_oob(algorithm: Algorithm, action: OutputAction, size: int) -> None:
    shown: list[tuple[object, OutputAction]] = []
    node = _node(algorithm, output_actions=frozenset({action}), output_size=size)
    node.on_show_oob = lambda value, how: shown.append((value, how))
    start = ProvisioningStart(
        algorithm=algorithm, auth_method=AuthMethod.OUTPUT_OOB, auth_action=action, auth_size=size
    )
    run = provision(node, choice=start)
    assert run.failure is None
    assert run.result is not None
    assert run.result.authenticated
    assert len(shown) == 1
    assert shown[0][1] is action
    assert run.input_requests[0].action is action
    _assert_provisioned(node, run.result)


def test_output_oob_value_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    node = _node(HMAC, output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_size=4)
    start = ProvisioningStart(
        algorithm=HMAC,
        auth_method=AuthMethod.OUTPUT_OOB,
        auth_action=OutputAction.OUTPUT_NUMERIC,
        auth_size=4,
    )
    with caplog.at_level(logging.INFO, logger="simulator.node"):
        provision_run = provision(node, choice=start)
        shown = [r for r in caplog.records if "Output OOB" in r.getMessage()]
    assert provision_run.result is not None
    assert len(shown) == 1
    assert NET_KEY.hex() not in caplog.text


@ALGORITHMS
@pytest.mark.parametrize(
    ("action", "size"),
    [
        (InputAction.PUSH, 1),
        (InputAction.TWIST, 2),
        (InputAction.INPUT_NUMERIC, 8),
        (InputAction.INPUT_ALPHANUMERIC, 6),
    ],
)
def test_input_oob(algorithm: Algorithm, action: InputAction, size: int) -> None:
    requested: list[tuple[InputAction, int]] = []
    node = _node(algorithm, input_actions=frozenset({action}), input_size=size)
    node.on_input_oob_requested = lambda how, n: requested.append((how, n))
    start = ProvisioningStart(
        algorithm=algorithm, auth_method=AuthMethod.INPUT_OOB, auth_action=action, auth_size=size
    )
    run = provision(node, choice=start)
    assert run.failure is None
    assert run.result is not None
    assert requested == [(action, size)]
    assert node.input_oob_request is None
    _assert_provisioned(node, run.result)


def test_input_oob_waits_for_the_person() -> None:
    """Until someone types the value, both sides wait; then the value completes it."""
    node = _node(HMAC, input_actions=frozenset({InputAction.INPUT_NUMERIC}), input_size=4)
    start = ProvisioningStart(
        algorithm=HMAC,
        auth_method=AuthMethod.INPUT_OOB,
        auth_action=InputAction.INPUT_NUMERIC,
        auth_size=4,
    )
    run = provision(node, choice=start, type_input_oob=False)
    assert run.result is None
    assert run.failure is None
    assert node.provisioning_state is DeviceState.WAIT_USER_INPUT
    assert node.input_oob_request == (InputAction.INPUT_NUMERIC, 4)
    (value,) = run.displayed
    run.advance(30.0)  # a person takes a while
    assert run.failure is None
    node.enter_input_oob(str(value))
    run.pump()
    assert run.result is not None
    _assert_provisioned(node, run.result)


def test_input_oob_wrong_value_fails() -> None:
    node = _node(HMAC, input_actions=frozenset({InputAction.INPUT_NUMERIC}), input_size=4)
    start = ProvisioningStart(
        algorithm=HMAC,
        auth_method=AuthMethod.INPUT_OOB,
        auth_action=InputAction.INPUT_NUMERIC,
        auth_size=4,
    )
    run = provision(node, choice=start, type_input_oob=False)
    (value,) = run.displayed
    assert isinstance(value, int)
    node.enter_input_oob(value % 9999 + 1)
    run.pump()
    assert run.result is None
    assert run.failure is not None
    assert run.failure.code is ProvisioningErrorCode.CONFIRMATION_FAILED
    assert node.state is NodeStatus.UNPROVISIONED


@ALGORITHMS
def test_oob_public_key_from_qr_text(algorithm: Algorithm) -> None:
    node = _node(algorithm, public_key_oob=True, static_oob=STATIC)
    qr = parse_provisioning_oob(node.qr_text())
    assert qr.device_uuid == node.device_uuid
    assert qr.public_key == node.oob_public_key
    assert qr.static_oob == STATIC
    start = ProvisioningStart(
        algorithm=algorithm, public_key=PublicKeyMethod.OOB, auth_method=AuthMethod.STATIC_OOB
    )
    run = provision(node, choice=start, static_oob=qr.static_oob, device_public_key=qr.public_key)
    assert run.failure is None
    assert run.result is not None
    assert run.result.public_key_method is PublicKeyMethod.OOB
    _assert_provisioned(node, run.result)


def test_short_static_oob_is_padded_in_the_qr_text() -> None:
    node = _node(HMAC, static_oob=b"\x01\x02\x03")
    qr = parse_provisioning_oob(node.qr_text())
    assert qr.static_oob == b"\x01\x02\x03" + bytes(13)
    start = ProvisioningStart(algorithm=HMAC, auth_method=AuthMethod.STATIC_OOB)
    run = provision(node, choice=start, static_oob=qr.static_oob)
    assert run.result is not None


def test_auto_selected_method_with_every_capability() -> None:
    node = SimulatedNode(
        "hsl",
        oob=OobCapabilities(
            public_key_oob=True,
            static_oob=STATIC,
            output_actions=frozenset(OutputAction),
            output_size=8,
            input_actions=frozenset(InputAction),
            input_size=8,
        ),
    )
    run = provision(node, device_public_key=node.oob_public_key, static_oob=STATIC)
    assert run.result is not None
    assert run.result.number_of_elements == 3
    assert run.capabilities is not None
    assert run.capabilities.capabilities.number_of_elements == 3
    _assert_provisioned(node, run.result)


@pytest.mark.parametrize("mtu", [23, 69, 185, 517])
def test_any_mtu(mtu: int) -> None:
    node = _node(HMAC)
    run = provision(node, choice=ProvisioningStart(algorithm=HMAC), mtu=mtu)
    assert run.result is not None
    _assert_provisioned(node, run.result)


def test_gatt_table_changes_on_the_next_connection() -> None:
    node = _node(HMAC)
    (before,) = node.gatt_services()
    assert before.uuid == MESH_PROVISIONING_SERVICE_UUID
    run = provision(node, choice=ProvisioningStart(algorithm=HMAC))
    assert run.result is not None
    (after,) = node.gatt_services()
    assert after.uuid == MESH_PROXY_SERVICE_UUID
    link = FakeLink(node)
    node.connected(link)
    assert node.provisioning_state is None  # a proxy connection, no provisioning session
    node.disconnected()


def test_failed_session_retries_on_a_new_connection() -> None:
    node = _node(HMAC, static_oob=STATIC)
    start = ProvisioningStart(algorithm=HMAC, auth_method=AuthMethod.STATIC_OOB)
    bad = provision(node, choice=start, static_oob=bytes(16))
    assert bad.failure is not None
    assert node.state is NodeStatus.UNPROVISIONED
    good = provision(node, choice=start, static_oob=STATIC)
    assert good.result is not None
    assert node.is_provisioned


def test_node_identity_advertising() -> None:
    clock = FakeClock()
    node = SimulatedNode("ctl", clock=clock)
    run = provision(node, choice=ProvisioningStart(algorithm=HMAC), clock=clock)
    assert run.result is not None
    node.advertise_node_identity(60.0)
    assert node.advertising_node_identity
    from custom_components.ble_mesh.mesh.beacons import NodeIdentityAdvertisement

    adv = node.advertisement()
    assert adv is not None
    identity = NodeIdentityAdvertisement.from_bytes(adv.service_data[MESH_PROXY_SERVICE_UUID])
    assert identity.matches_node(NET_KEY, UNICAST)
    assert not identity.matches_node(NET_KEY, UNICAST + 1)
    assert node.next_deadline() == clock.now + 60.0
    node.tick(clock.now + 60.0)
    assert not node.advertising_node_identity
    adv = node.advertisement()
    assert adv is not None
    assert NetworkIdAdvertisement.from_bytes(
        adv.service_data[MESH_PROXY_SERVICE_UUID]
    ).matches_network(NET_KEY)


def test_node_identity_with_scheduler_expires_by_itself() -> None:
    clock = FakeClock()
    node = SimulatedNode("dimmable", clock=clock, schedule=clock.schedule)
    run = provision(node, choice=ProvisioningStart(algorithm=HMAC), clock=clock)
    assert run.result is not None
    node.advertise_node_identity(30.0)
    clock.now += 29.0
    clock.run_due()
    assert node.advertising_node_identity
    clock.now += 1.0
    clock.run_due()
    assert not node.advertising_node_identity


def test_device_session_states_are_exposed() -> None:
    node = _node(HMAC, input_actions=frozenset({InputAction.INPUT_NUMERIC}), input_size=4)
    node.on_input_oob_requested = None
    start = ProvisioningStart(
        algorithm=HMAC,
        auth_method=AuthMethod.INPUT_OOB,
        auth_action=InputAction.INPUT_NUMERIC,
        auth_size=4,
    )
    # Intercept the person: the harness types immediately, so check the state via a hook.
    states: list[DeviceState | None] = []
    node.on_input_oob_requested = lambda _a, _s: states.append(node.provisioning_state)
    run = provision(node, choice=start)
    assert states == [DeviceState.WAIT_USER_INPUT]
    assert run.result is not None
