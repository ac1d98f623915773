"""Provisioning benchmarks: one full provisioning per method, both roles in one process.

Each call runs a Provisioner against a Device (MshPRT 1.1 §5.4.2) from Invite to Complete,
ECDH key generation and agreement included, so the unit is "node". ``count_exchanges(method)``
reports how many Provisioning PDUs crossed the fake link for one run of a method.
"""

from __future__ import annotations

from benchmarks.common import Case
from custom_components.ble_mesh.mesh.provisioning import (
    AuthMethod,
    Completed,
    Device,
    Failed,
    InputAction,
    InputKind,
    OutputAction,
    Provisioner,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningData,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
    capabilities,
    oob_public_key,
)

_DATA = ProvisioningData(bytes(range(16)), key_index=0, iv_index=0, unicast_address=0x0100)
_STATIC = bytes(range(32))
_OOB_PRIVATE = 0x529AA0670D72CD6497502ED473502B037E8803B5C60829A5A3CAA219505530BA

METHODS: tuple[str, ...] = (
    "no_oob",
    "static_oob",
    "output_oob",
    "input_oob",
    "oob_public_key",
)


def _pair(method: str) -> tuple[Provisioner, Device]:
    caps: ProvisioningCapabilities
    static: bytes | None = None
    oob_private: int | None = None
    device_key: bytes | None = None
    if method == "no_oob":
        caps = capabilities()
    elif method == "static_oob":
        caps = capabilities(static_oob=True)
        static = _STATIC
    elif method == "output_oob":
        caps = capabilities(
            output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_oob_size=6
        )
    elif method == "input_oob":
        caps = capabilities(
            input_actions=frozenset({InputAction.INPUT_ALPHANUMERIC}), input_oob_size=8
        )
    elif method == "oob_public_key":
        caps = capabilities(public_key_oob=True, static_oob=True)
        static = _STATIC
        oob_private = _OOB_PRIVATE
        device_key = oob_public_key(_OOB_PRIVATE)
    else:
        raise ValueError(f"unknown method {method!r}")
    provisioner = Provisioner(
        _DATA, static_oob=static, device_public_key=device_key, auto_select=True
    )
    device = Device(caps, static_oob=static, oob_private_key=oob_private)
    return provisioner, device


def provision(method: str) -> tuple[int, AuthMethod]:
    """One full provisioning with ``method``; returns (PDUs exchanged, method used)."""
    provisioner, device = _pair(method)
    exchanged = 0
    shown: dict[str, int | str] = {}
    waiting: set[str] = set()
    done: set[str] = set()
    wire: list[tuple[str, bytes]] = []  # (receiver, PDU)

    def handle(actions: list[ProvisioningAction], role: str) -> None:
        peer = "d" if role == "p" else "p"
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                wire.append((peer, action.data))
            elif isinstance(action, ShowValue):
                shown[role] = action.value
            elif isinstance(action, RequestInput) and action.kind is not InputKind.STATIC_OOB:
                waiting.add(role)
            elif isinstance(action, Completed):
                done.add(role)
            elif isinstance(action, Failed):
                raise RuntimeError(f"{role} failed: {action.failure}")

    handle(provisioner.start(0.0), "p")
    while wire or waiting:
        for role in sorted(waiting):
            peer = "d" if role == "p" else "p"
            if peer in shown:
                waiting.discard(role)
                session = provisioner if role == "p" else device
                handle(session.provide_oob(shown[peer], 0.0), role)
        if not wire:
            if waiting and not all(("d" if r == "p" else "p") in shown for r in waiting):
                raise RuntimeError("deadlock: an OOB value was never shown")
            continue
        receiver, pdu = wire.pop(0)
        exchanged += 1
        if receiver == "d":
            handle(device.receive(pdu, 0.0), "d")
        else:
            handle(provisioner.receive(pdu, 0.0), "p")
    if done != {"p", "d"}:
        raise RuntimeError("provisioning did not complete")
    start = provisioner.start_parameters
    assert start is not None
    return exchanged, start.auth_method


def count_exchanges(method: str) -> int:
    """How many Provisioning PDUs one provisioning with ``method`` exchanges."""
    return provision(method)[0]


def cases() -> list[Case]:
    """One full provisioning (both roles, ECDH included) per method."""
    return [
        Case(
            group="provisioning",
            name=f"provision {method}",
            func=lambda m=method: provision(m),  # type: ignore[misc]
            unit="node",
        )
        for method in METHODS
    ]
