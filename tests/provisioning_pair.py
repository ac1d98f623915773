"""A Provisioner and a provisioning device joined by an in-order fake link (a test helper).

Used by the engine's session tests (tests/engine/test_provisioning_sessions.py) with the
engine's honest Device, and by the simulator's fault tests (tests/simulator/
test_device_faults.py) with devices that misbehave on purpose. No tests here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from custom_components.ble_mesh.mesh.provisioning import (
    Algorithm,
    AuthMethod,
    CapabilitiesReceived,
    Completed,
    Device,
    DeviceState,
    Failed,
    FailureReason,
    InputAction,
    OobValue,
    OutputAction,
    PduType,
    Provisioner,
    ProvisionerState,
    ProvisioningAction,
    ProvisioningCapabilities,
    ProvisioningData,
    ProvisioningErrorCode,
    ProvisioningStart,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
    capabilities,
    oob_public_key,
)

CMAC = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
HMAC = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
DATA = ProvisioningData(b"\x5a" * 16, key_index=1, iv_index=0x12345678, unicast_address=0x0200)
STATIC16 = bytes(range(1, 17))
STATIC32 = bytes(range(1, 33))
OOB_PRIVATE = 0x529AA0670D72CD6497502ED473502B037E8803B5C60829A5A3CAA219505530BA
# A point that is not on P-256 (x = 1, y = 1): what an invalid-curve attacker would send.
OFF_CURVE = (1).to_bytes(32, "big") + (1).to_bytes(32, "big")


def pdu_type_of(data: bytes) -> PduType:
    return PduType(data[0] & 0x3F)


class DeviceSide(Protocol):
    """The device end of a :class:`Run`: the engine's Device or the simulator's wrapper."""

    @property
    def state(self) -> DeviceState: ...
    @property
    def finished(self) -> bool: ...
    @property
    def public_key(self) -> bytes: ...
    def receive(self, data: bytes, now: float) -> list[ProvisioningAction]: ...
    def provide_oob(self, value: OobValue, now: float) -> list[ProvisioningAction]: ...


@dataclass
class Run:
    """A Provisioner and a device connected by a fake, in-order link (h11's ConnectionPair)."""

    provisioner: Provisioner
    device: DeviceSide
    wire: list[tuple[str, bytes]] = field(default_factory=list)  # ("P"/"D" = sender, PDU)
    shown: dict[str, int | str] = field(default_factory=dict)
    requests: dict[str, RequestInput] = field(default_factory=dict)
    caps_seen: list[CapabilitiesReceived] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, Failed] = field(default_factory=dict)
    now: float = 0.0
    # How the "person" answers a RequestInput: None = copy what the other side showed.
    answer: dict[str, int | str | bytes] = field(default_factory=dict)
    _queue: list[tuple[str, bytes]] = field(default_factory=list)  # (receiver, PDU)

    def handle(self, role: str, actions: list[ProvisioningAction]) -> None:
        peer = "D" if role == "P" else "P"
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                self.wire.append((role, action.data))
                self._queue.append((peer, action.data))
            elif isinstance(action, ShowValue):
                self.shown[role] = action.value
            elif isinstance(action, RequestInput):
                self.requests[role] = action
            elif isinstance(action, CapabilitiesReceived):
                self.caps_seen.append(action)
            elif isinstance(action, Completed):
                self.results[role] = action.result
            elif isinstance(action, Failed):
                self.failures[role] = action

    def pump(self) -> Run:
        """Deliver PDUs and answer input requests until nothing moves."""
        progress = True
        while progress:
            progress = False
            for role in list(self.requests):
                peer = "D" if role == "P" else "P"
                value = self.answer.get(role, self.shown.get(peer))
                if value is None:
                    continue
                del self.requests[role]
                session = self.provisioner if role == "P" else self.device
                if session.finished:
                    continue
                self.handle(role, session.provide_oob(value, self.now))  # type: ignore[arg-type]
                progress = True
            if self._queue:
                receiver, data = self._queue.pop(0)
                session = self.provisioner if receiver == "P" else self.device
                progress = True
                if session.finished:
                    continue
                self.handle(receiver, session.receive(data, self.now))
        return self

    def types(self) -> list[tuple[str, PduType]]:
        return [(role, pdu_type_of(data)) for role, data in self.wire]


def run(
    caps: ProvisioningCapabilities,
    *,
    static_oob: bytes | None = None,
    oob_key: bool = False,
    device: DeviceSide | None = None,
    start: ProvisioningStart | None = None,
    provisioner_static: bytes | None = None,
    data: ProvisioningData = DATA,
    answer: dict[str, int | str | bytes] | None = None,
) -> Run:
    """Provision an honest Device for ``caps`` (or ``device``, built for the same ``caps``,
    ``static_oob`` and :data:`OOB_PRIVATE`) until nothing moves."""
    if device is None:
        device = Device(
            caps,
            static_oob=static_oob,
            oob_private_key=OOB_PRIVATE if caps.public_key_oob else None,
        )
    provisioner = Provisioner(
        data,
        static_oob=provisioner_static if provisioner_static is not None else static_oob,
        device_public_key=oob_public_key(OOB_PRIVATE) if oob_key else None,
        auto_select=start is None,
    )
    pair = Run(provisioner, device, answer=answer or {})
    pair.handle("P", provisioner.start(0.0))
    pair.pump()
    if start is not None and provisioner.state is ProvisionerState.WAIT_CHOICE:
        pair.handle("P", provisioner.choose(start, 0.0))
        pair.pump()
    return pair


def assert_refused(pair: Run, reason: FailureReason, code: ProvisioningErrorCode | None) -> None:
    failed = pair.failures["P"]
    assert failed.close_link
    assert failed.failure.reason is reason
    assert failed.failure.code is code
    assert pair.provisioner.state is ProvisionerState.FAILED
    assert pair.provisioner.failure == failed.failure
    assert "P" not in pair.results
    # §5.4.4: the Provisioner never sends Provisioning Failed.
    assert all(pdu_type_of(d) is not PduType.FAILED for r, d in pair.wire if r == "P")
    assert pair.provisioner.next_deadline() is None


# --- wrong OOB values ------------------------------------------------------------------

HMAC_CAPS = capabilities(static_oob=True)
WRONG_OOB_METHODS = [AuthMethod.STATIC_OOB, AuthMethod.OUTPUT_OOB, AuthMethod.INPUT_OOB]


@dataclass(frozen=True)
class WrongOob:
    """A session in which the Provisioner and the device hold different OOB values."""

    caps: ProvisioningCapabilities
    static: bytes | None  # the device's static OOB value
    provisioner_static: bytes | None  # the (wrong) one given to the Provisioner
    answer: dict[str, int | str | bytes]  # what the person types in (wrongly)


def wrong_oob(method: AuthMethod) -> WrongOob:
    caps = capabilities(
        static_oob=method is AuthMethod.STATIC_OOB,
        output_actions=frozenset({OutputAction.OUTPUT_NUMERIC})
        if method is AuthMethod.OUTPUT_OOB
        else frozenset(),
        output_oob_size=8,
        input_actions=frozenset({InputAction.INPUT_NUMERIC})
        if method is AuthMethod.INPUT_OOB
        else frozenset(),
        input_oob_size=8,
    )
    static = STATIC32 if method is AuthMethod.STATIC_OOB else None
    wrong: dict[str, int | str | bytes] = {}
    if method is AuthMethod.OUTPUT_OOB:
        wrong = {"P": 0}  # the user types something else than the device displays
    elif method is AuthMethod.INPUT_OOB:
        wrong = {"D": 0}  # the user types something else into the device
    return WrongOob(caps, static, bytes(32) if static else None, wrong)
