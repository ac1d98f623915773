"""to_dict / from_dict round trips keep the node's whole state (JSON-able)."""

from __future__ import annotations

import json

import pytest

from custom_components.ble_mesh.mesh.provisioning import (
    AuthMethod,
    InputAction,
    OutputAction,
    ProvisioningStart,
    PublicKeyMethod,
)
from simulator.node import OobCapabilities, SimulatedNode

from .harness import NET_KEY, UNICAST, provision


def _round_trip(node: SimulatedNode) -> SimulatedNode:
    return SimulatedNode.from_dict(json.loads(json.dumps(node.to_dict())))


def test_unprovisioned_round_trip() -> None:
    node = SimulatedNode(
        "hsl",
        name="Hall",
        rssi=-42,
        oob=OobCapabilities(
            public_key_oob=True,
            static_oob=bytes(range(16)),
            output_actions=frozenset({OutputAction.BLINK, OutputAction.OUTPUT_NUMERIC}),
            output_size=4,
            input_actions=frozenset({InputAction.PUSH}),
            input_size=2,
            only_oob_authenticated=True,
        ),
    )
    copy = _round_trip(node)
    assert copy.to_dict() == node.to_dict()
    assert copy.address == node.address
    assert copy.name == "Hall"
    assert copy.rssi == -42
    assert copy.profile is node.profile
    assert copy.oob == node.oob
    assert copy.oob_public_key == node.oob_public_key
    assert copy.qr_text() == node.qr_text()
    assert copy.advertisement() == node.advertisement()
    assert copy.capabilities == node.capabilities


def test_provisioned_round_trip_keeps_the_keys() -> None:
    node = SimulatedNode("ctl", oob=OobCapabilities(public_key_oob=True))
    start = ProvisioningStart(public_key=PublicKeyMethod.OOB, auth_method=AuthMethod.NO_OOB)
    run = provision(node, choice=start, device_public_key=node.oob_public_key)
    assert run.result is not None
    copy = _round_trip(node)
    assert copy.provisioned == node.provisioned
    assert copy.provisioned is not None
    assert copy.provisioned.net_key == NET_KEY
    assert copy.provisioned.unicast_address == UNICAST
    assert copy.provisioned.device_key == run.result.device_key
    assert copy.advertisement() == node.advertisement()
    assert copy.to_dict() == node.to_dict()


def test_unknown_version_is_refused() -> None:
    data = SimulatedNode().to_dict()
    data["version"] = 99
    with pytest.raises(ValueError, match="version"):
        SimulatedNode.from_dict(data)


def test_runtime_wiring_is_passed_through() -> None:
    calls: list[object] = []
    node = SimulatedNode.from_dict(SimulatedNode().to_dict(), on_provisioned=calls.append)
    run = provision(node, choice=ProvisioningStart())
    assert run.result is not None
    assert calls == [node]
