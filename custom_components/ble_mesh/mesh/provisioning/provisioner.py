"""The Provisioner side of the provisioning protocol (MshPRT 1.1 §5.4.2, §5.4.4).

Theory of operation (sans-IO, in the style of h11): a :class:`Provisioner` is one provisioning
session. The caller feeds it events -- :meth:`~Provisioner.start`, received PDU bytes
(:meth:`~Provisioner.receive`), the method choice (:meth:`~Provisioner.choose`), a value the
user typed (:meth:`~Provisioner.provide_oob`), the clock (:meth:`~Provisioner.timeout`) -- and
gets back a list of actions to perform: :class:`SendProvisioningPdu`, :class:`CapabilitiesReceived`,
:class:`RequestInput`, :class:`ShowValue`, :class:`Completed`, :class:`Failed`. After every
call the caller re-arms its timer from :meth:`~Provisioner.next_deadline`.

The session walks one path (§5.4.2)::

    IDLE -start-> WAIT_CAPABILITIES -Capabilities-> WAIT_CHOICE -choose-> (send Start,
    Public Key) WAIT_PUBLIC_KEY (skipped with an OOB public key) -Public Key->
    [WAIT_USER_INPUT (static/output OOB value) | WAIT_INPUT_COMPLETE (input OOB)]
    (send Confirmation) WAIT_CONFIRMATION -Confirmation-> (send Random) WAIT_RANDOM
    -Random-> (send Data) WAIT_COMPLETE -Complete-> COMPLETED

Anything else -- a PDU out of order, a malformed PDU, a Provisioning Failed from the device, a
security check that does not pass, the protocol timer -- ends the session in FAILED with one
:class:`Failed` action (``close_link=True``): the Provisioner never sends Provisioning Failed
(§5.4.4). A finished session refuses every further input with :class:`SessionClosedError`
and does not change; a retry is a new object with a new key pair and new values.

Security checks (CVE-2020-26556/26557/26559/26560) are explicit, named steps: a fresh key
pair per session, peer public key validated on P-256 and not equal to ours, a device
Confirmation or Random equal to ours refused, constant-time comparison, fresh random OOB values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
import hmac
import secrets

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError

from .auth import (
    InvalidOobValueError,
    OobValue,
    ProvisioningUsageError,
    SessionKeys,
    auth_value,
    check_start,
    confirmation_inputs,
    confirmation_key,
    confirmation_salt,
    confirmation_value,
    encrypt_provisioning_data,
    generate_oob_value,
    normalize_oob_value,
    provisioning_salt,
    select_method,
    session_keys,
)
from .pdus import (
    Algorithm,
    AuthMethod,
    InputAction,
    NppiProcedure,
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
    ProvisioningStart,
    PublicKeyMethod,
    UnknownPduTypeError,
    decode_pdu,
)

__all__ = [
    "PROTOCOL_TIMEOUT",
    "PROTOCOL_TIMEOUT_OOB",
    "CapabilitiesReceived",
    "Completed",
    "Failed",
    "FailureReason",
    "InputKind",
    "InvalidStateError",
    "NodeRefresh",
    "Provisioner",
    "ProvisionerResult",
    "ProvisionerState",
    "ProvisioningAction",
    "ProvisioningFailure",
    "RequestInput",
    "SendProvisioningPdu",
    "SessionClosedError",
    "ShowValue",
]

# MshPRT 1.1 §5.4.4: the provisioning protocol timer is at least 60 s, at least 120 s when
# Output OOB or Input OOB is used (a person is in the loop); it restarts whenever a PDU is
# sent or received. We also restart it when we ask a person for a value and when they answer.
PROTOCOL_TIMEOUT = 60.0
PROTOCOL_TIMEOUT_OOB = 120.0


class InvalidStateError(ProvisioningUsageError):
    """The call does not fit the session's current state (e.g. ``choose`` twice)."""


class SessionClosedError(InvalidStateError):
    """The session already completed or failed; it accepts no further input."""


class FailureReason(StrEnum):
    """Why a session failed: finer than the spec's error codes, for logs and tests."""

    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    LINK_CLOSED = "link_closed"
    REMOTE_FAILED = "remote_failed"  # the device sent Provisioning Failed
    INVALID_PDU = "invalid_pdu"  # unknown PDU type
    MALFORMED_PDU = "malformed_pdu"  # wrong length, Prohibited/RFU value
    UNEXPECTED_PDU = "unexpected_pdu"
    NO_ACCEPTABLE_METHOD = "no_acceptable_method"
    INVALID_START = "invalid_start"  # (device) Start not allowed by our Capabilities
    INVALID_PUBLIC_KEY = "invalid_public_key"  # not a P-256 point
    REFLECTED_PUBLIC_KEY = "reflected_public_key"  # equal to our own (CVE-2020-26560)
    REFLECTED_CONFIRMATION = "reflected_confirmation"
    REFLECTED_RANDOM = "reflected_random"
    WRONG_LENGTH = "wrong_length"  # Confirmation/Random size does not match the algorithm
    CONFIRMATION_FAILED = "confirmation_failed"
    DECRYPTION_FAILED = "decryption_failed"
    INVALID_PROVISIONING_DATA = "invalid_provisioning_data"
    CANNOT_ASSIGN_ADDRESSES = "cannot_assign_addresses"


@dataclass(frozen=True, slots=True)
class ProvisioningFailure:
    """Why provisioning failed.

    ``code`` is the spec error code (Table 5.41) that describes the failure -- the one the
    device sent for ``REMOTE_FAILED``, the one a device would use for our own checks -- or
    ``None`` for timeout, cancel and link loss, which have no code. A PB-ADV bearer closes the
    link with reason Timeout (0x01) when :attr:`is_timeout`, else Fail (0x02) (Link Close, §5.3.1.4.3).
    """

    reason: FailureReason
    code: ProvisioningErrorCode | None
    text: str

    @property
    def is_timeout(self) -> bool:
        """Whether the provisioning protocol timer expired."""
        return self.reason is FailureReason.TIMEOUT

    def __str__(self) -> str:
        code = f" ({self.code.name})" if self.code is not None else ""
        return f"{self.reason.value}{code}: {self.text}"


@dataclass(frozen=True, slots=True)
class SendProvisioningPdu:
    """Send these Provisioning PDU bytes (type octet included) over the bearer."""

    data: bytes

    @property
    def pdu_type(self) -> PduType | None:
        """The PDU type of ``data`` (for logs); ``None`` if it is not a known type."""
        if not self.data or self.data[0] & 0xC0:
            return None
        try:
            return PduType(self.data[0])
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class CapabilitiesReceived:
    """The device's Capabilities arrived; call ``choose`` (``suggested`` is the policy's pick,
    ``None`` when no method is acceptable)."""

    capabilities: ProvisioningCapabilities
    suggested: ProvisioningStart | None

    @property
    def caps(self) -> ProvisioningCapabilities:
        """Alias of :attr:`capabilities`."""
        return self.capabilities


class InputKind(StrEnum):
    """What a :class:`RequestInput` asks a person for."""

    STATIC_OOB = "static_oob"  # Provisioner: the device's static OOB value (bytes)
    OUTPUT_OOB = "output_oob"  # Provisioner: the value the device blinked/beeped/displayed
    INPUT_OOB = "input_oob"  # device: the value the Provisioner displays, typed/pushed in


@dataclass(frozen=True, slots=True)
class RequestInput:
    """Ask a person for a value, then call ``provide_oob``.

    ``action`` is ``None`` for static OOB; ``size`` is the maximum number of digits or
    characters (Output/Input OOB) or the AuthValue size in octets (static OOB, 16 or 32).
    """

    kind: InputKind
    action: OutputAction | InputAction | None
    size: int


@dataclass(frozen=True, slots=True)
class ShowValue:
    """Show ``value`` to a person: the Provisioner displays the Input OOB value to type into
    the device; the device blinks/beeps/vibrates/displays its Output OOB value."""

    value: OobValue
    action: OutputAction | InputAction

    def __repr__(self) -> str:
        return f"ShowValue(value=<hidden>, action={self.action.name})"


@dataclass(frozen=True, slots=True)
class NodeRefresh:
    """Run a Node Provisioning Protocol Interface procedure on a provisioned node instead of
    provisioning a new device (MshPRT 1.1 §4.4.5.4; the bearer is PB-Remote to the node's own
    Remote Provisioning Server).

    ``address`` and ``elements`` are the node's current primary address and element count.
    The protocol is the same (every method, both algorithms, the same checks); what differs is
    the Provisioning Data: the node checks that NetKey, key index and IV Index are its current
    ones and that the address is its primary address -- or, for an address refresh, an address
    outside its current range -- and fails with Invalid Data (0x09) otherwise.
    """

    procedure: NppiProcedure
    address: int
    elements: int = 1

    def check_address(self, unicast_address: int) -> str | None:
        """Why ``unicast_address`` cannot be the Provisioning Data address, or ``None``."""
        old = range(self.address, self.address + self.elements)
        if self.procedure is NppiProcedure.NODE_ADDRESS_REFRESH:
            if unicast_address in old:
                return "an address refresh needs an address outside the node's current range"
        elif unicast_address != self.address:
            return f"{self.procedure.name} keeps the node's address 0x{self.address:04x}"
        return None


@dataclass(frozen=True, slots=True)
class ProvisionerResult:
    """What the Provisioner learned; ``repr`` hides the device key.

    ``authenticated`` is ``False`` for No OOB: nothing proves which device got the keys.
    """

    device_key: bytes
    unicast_address: int
    number_of_elements: int
    algorithm: Algorithm
    public_key_method: PublicKeyMethod
    auth_method: AuthMethod
    auth_action: OutputAction | InputAction | None
    auth_size: int
    authenticated: bool
    capabilities: ProvisioningCapabilities
    refresh: NppiProcedure | None = None  # the NPPI procedure run, None for a new device

    def __repr__(self) -> str:
        return (
            f"ProvisionerResult(unicast_address=0x{self.unicast_address:04x}, "
            f"number_of_elements={self.number_of_elements}, algorithm={self.algorithm.name}, "
            f"public_key_method={self.public_key_method.name}, "
            f"auth_method={self.auth_method.name}, authenticated={self.authenticated})"
        )


@dataclass(frozen=True, slots=True)
class Completed[ResultT]:
    """Provisioning succeeded: ``result`` is a ProvisionerResult or a DeviceResult."""

    result: ResultT


@dataclass(frozen=True, slots=True)
class Failed:
    """Provisioning failed: ``reason`` says why; close the bearer link when ``close_link``.

    The Provisioner always closes (§5.4.4); the device closes only on a timeout, otherwise it
    has sent Provisioning Failed and waits for the Provisioner to close. On PB-ADV, close with
    Link Close reason Timeout (0x01) when ``reason.is_timeout``, else Fail (0x02).
    """

    reason: ProvisioningFailure
    close_link: bool = True

    @property
    def failure(self) -> ProvisioningFailure:
        """Alias of :attr:`reason`."""
        return self.reason


type ProvisioningAction = (
    SendProvisioningPdu
    | CapabilitiesReceived
    | RequestInput
    | ShowValue
    | Completed[object]
    | Failed
)


class ProvisionerState(Enum):
    """Provisioner states (§5.4.2)."""

    IDLE = "idle"
    WAIT_CAPABILITIES = "wait_capabilities"
    WAIT_CHOICE = "wait_choice"
    WAIT_PUBLIC_KEY = "wait_public_key"
    WAIT_USER_INPUT = "wait_user_input"
    WAIT_INPUT_COMPLETE = "wait_input_complete"
    WAIT_CONFIRMATION = "wait_confirmation"
    WAIT_RANDOM = "wait_random"
    WAIT_COMPLETE = "wait_complete"
    COMPLETED = "completed"
    FAILED = "failed"


_FINAL = (ProvisionerState.COMPLETED, ProvisionerState.FAILED)

# The one PDU each waiting state accepts (h11 style); everything else is Unexpected PDU.
_EXPECT: dict[ProvisionerState, PduType] = {
    ProvisionerState.WAIT_CAPABILITIES: PduType.CAPABILITIES,
    ProvisionerState.WAIT_PUBLIC_KEY: PduType.PUBLIC_KEY,
    ProvisionerState.WAIT_INPUT_COMPLETE: PduType.INPUT_COMPLETE,
    ProvisionerState.WAIT_CONFIRMATION: PduType.CONFIRMATION,
    ProvisionerState.WAIT_RANDOM: PduType.RANDOM,
    ProvisionerState.WAIT_COMPLETE: PduType.COMPLETE,
}


class _Abort(Exception):  # noqa: N818 - internal control flow, never escapes a session
    """Raised inside a handler to end the session with ``failure``."""

    def __init__(self, failure: ProvisioningFailure) -> None:
        super().__init__(failure.reason.value)
        self.failure = failure


def _abort(reason: FailureReason, code: ProvisioningErrorCode | None, text: str) -> _Abort:
    return _Abort(ProvisioningFailure(reason, code, text))


def decode_or_abort(data: bytes) -> ProvisioningPdu:
    """Decode received bytes, mapping decode errors to the failure a peer must report."""
    try:
        return decode_pdu(data)
    except UnknownPduTypeError as err:
        raise _abort(
            FailureReason.INVALID_PDU, ProvisioningErrorCode.INVALID_PDU, str(err)
        ) from None
    except DecodeError as err:
        raise _abort(
            FailureReason.MALFORMED_PDU, ProvisioningErrorCode.INVALID_FORMAT, str(err)
        ) from None


def ecdh_or_abort(key_pair: crypto.EcdhKeyPair, peer_public_key: bytes) -> bytes:
    """ECDHSecret with a validated peer key: reflection and invalid points fail the session."""
    # MshPRT 1.1 §5.4.2.3: a public key equal to ours fails provisioning (CVE-2020-26560).
    if hmac.compare_digest(peer_public_key, key_pair.public_key):
        raise _abort(
            FailureReason.REFLECTED_PUBLIC_KEY,
            ProvisioningErrorCode.INVALID_FORMAT,
            "the peer public key equals our own",
        )
    # §5.4.3.1: the peer key must be a point on P-256 (invalid-curve attacks).
    try:
        return key_pair.shared_secret(peer_public_key)
    except ValueError:
        raise _abort(
            FailureReason.INVALID_PUBLIC_KEY,
            ProvisioningErrorCode.INVALID_FORMAT,
            "the peer public key is not a valid P-256 point",
        ) from None


class SessionBase:
    """Timer, final states and failure bookkeeping shared by Provisioner and Device."""

    __slots__ = (
        "_deadline",
        "_failure",
        "_finished",
        "_timeout_value",
        "oob_timeout",
        "protocol_timeout",
    )

    def __init__(self, protocol_timeout: float, oob_timeout: float) -> None:
        self.protocol_timeout = protocol_timeout
        self.oob_timeout = oob_timeout
        self._timeout_value = protocol_timeout
        self._deadline: float | None = None
        self._failure: ProvisioningFailure | None = None
        self._finished = False

    @property
    def failure(self) -> ProvisioningFailure | None:
        """Why the session failed, once it has."""
        return self._failure

    @property
    def finished(self) -> bool:
        """Whether the session completed or failed (it then refuses every input)."""
        return self._finished

    def next_deadline(self) -> float | None:
        """When :meth:`timeout` must be called, or ``None`` when no timer runs."""
        return self._deadline

    def _restart_timer(self, now: float) -> None:
        self._deadline = now + self._timeout_value

    def _use_oob_timer(self, start: ProvisioningStart) -> None:
        if start.auth_method in (AuthMethod.OUTPUT_OOB, AuthMethod.INPUT_OOB):
            self._timeout_value = max(self.oob_timeout, self.protocol_timeout)

    def _check_open(self) -> None:
        if self._finished:
            raise SessionClosedError("the provisioning session is finished; start a new one")

    def _finish(self) -> None:
        self._finished = True
        self._deadline = None

    def _failed(self, failure: ProvisioningFailure) -> list[ProvisioningAction]:
        """Subclasses turn a failure into their actions (and maybe a Failed PDU)."""
        raise NotImplementedError

    def timeout(self, now: float) -> list[ProvisioningAction]:
        """The timer fired: fail with Timeout if the deadline passed (else nothing)."""
        self._check_open()
        if self._deadline is None or now < self._deadline:
            return []
        return self._failed(
            ProvisioningFailure(
                FailureReason.TIMEOUT, None, "the provisioning protocol timer expired"
            )
        )

    def cancel(self, now: float) -> list[ProvisioningAction]:
        """Abandon the session (user cancel); the link is closed."""
        self._check_open()
        return self._failed(
            ProvisioningFailure(FailureReason.CANCELLED, None, "provisioning was cancelled")
        )

    def link_closed(
        self,
        now: float,
        *,
        text: str = "the provisioning bearer closed",
        reason: FailureReason = FailureReason.LINK_CLOSED,
    ) -> list[ProvisioningAction]:
        """The bearer closed under us, or failed (``reason``, e.g. a bearer's own TIMEOUT):
        provisioning has failed (§5.4.4); ``text`` says what the bearer saw."""
        self._check_open()
        failure = ProvisioningFailure(reason, None, text)
        actions = self._failed(failure)
        return [a for a in actions if not isinstance(a, SendProvisioningPdu)]


@dataclass(slots=True)
class _Secrets:
    """Per-session values; never shown in ``repr``."""

    key_pair: crypto.EcdhKeyPair | None
    ecdh_secret: bytes = b""
    auth_value: bytes = b""
    random: bytes = b""
    confirmation: bytes = b""
    conf_salt: bytes = b""
    conf_key: bytes = b""
    keys: SessionKeys | None = field(default=None)

    def __repr__(self) -> str:
        return "_Secrets(<hidden>)"


class Provisioner(SessionBase):
    """One provisioning session, Provisioner side (what Home Assistant runs).

    ``data`` is what the new node receives (NetKey, key index, flags, IV Index, unicast
    address). ``device_public_key`` (e.g. from a QR code) and ``static_oob`` may be given here
    or to :meth:`choose`. With ``auto_select`` the session continues with
    :func:`~.auth.select_method`'s choice right after Capabilities (still reporting
    :class:`CapabilitiesReceived`). ``private_key`` and ``random`` are for tests only
    (sample data); by default both come from ``secrets``. With ``refresh`` the session runs a
    Node Provisioning Protocol Interface procedure on a provisioned node (:class:`NodeRefresh`;
    ``data`` then carries the node's current NetKey, key index and IV Index). ``key_source``,
    when given, is asked for the NetKey and Key Refresh flag right before the Provisioning
    Data is sent (a Key Refresh may have moved on since the session began); ``data`` holds
    them otherwise.
    """

    __slots__ = (
        "_capabilities",
        "_data",
        "_device_public_key",
        "_invite",
        "_oob_value",
        "_peer_confirmation",
        "_s",
        "_start",
        "_static_oob",
        "attention_duration",
        "auto_select",
        "key_source",
        "public_key",
        "refresh",
        "state",
    )

    def __init__(
        self,
        data: ProvisioningData,
        *,
        attention_duration: int = 0,
        device_public_key: bytes | None = None,
        static_oob: bytes | None = None,
        auto_select: bool = False,
        private_key: int | None = None,
        random: bytes | None = None,
        protocol_timeout: float = PROTOCOL_TIMEOUT,
        oob_timeout: float = PROTOCOL_TIMEOUT_OOB,
        refresh: NodeRefresh | None = None,
        key_source: Callable[[], tuple[bytes, bool]] | None = None,
    ) -> None:
        super().__init__(protocol_timeout, oob_timeout)
        if refresh is not None and (problem := refresh.check_address(data.unicast_address)):
            raise ProvisioningUsageError(problem)
        self.refresh = refresh
        self._data = data
        self.key_source = key_source
        self.attention_duration = attention_duration
        self._device_public_key = device_public_key
        self._static_oob = static_oob
        self.auto_select = auto_select
        # A fresh key pair per session (§5.4.2.3); the private key is dropped after ECDH.
        key_pair = crypto.EcdhKeyPair(private_key)
        self.public_key: bytes = key_pair.public_key
        self._s = _Secrets(key_pair, random=random or b"")
        self.state = ProvisionerState.IDLE
        self._invite = ProvisioningInvite(attention_duration)
        self._capabilities: ProvisioningCapabilities | None = None
        self._start: ProvisioningStart | None = None
        self._oob_value: OobValue | bytes | None = None
        self._peer_confirmation = b""

    def __repr__(self) -> str:
        return f"Provisioner(state={self.state.name})"

    @property
    def capabilities(self) -> ProvisioningCapabilities | None:
        """The device's Capabilities, once received."""
        return self._capabilities

    @property
    def start_parameters(self) -> ProvisioningStart | None:
        """The chosen Start parameters, once chosen."""
        return self._start

    # --- events -----------------------------------------------------------------------

    def start(self, now: float) -> list[ProvisioningAction]:
        """Send Provisioning Invite (the bearer link is open)."""
        self._check_open()
        if self.state is not ProvisionerState.IDLE:
            raise InvalidStateError("start() was already called")
        self.state = ProvisionerState.WAIT_CAPABILITIES
        return self._send([], self._invite, now)

    def receive(self, data: bytes, now: float) -> list[ProvisioningAction]:
        """Process one Provisioning PDU received from the device."""
        self._check_open()
        if self.state is ProvisionerState.IDLE:
            raise InvalidStateError("receive() before start()")
        actions: list[ProvisioningAction] = []
        try:
            pdu = decode_or_abort(data)
            self._restart_timer(now)
            if isinstance(pdu, ProvisioningFailed):
                raise _abort(
                    FailureReason.REMOTE_FAILED,
                    pdu.error_code,
                    f"the device reported {pdu.error_code.name}",
                )
            if _EXPECT.get(self.state) is not pdu.PDU_TYPE:
                raise _abort(
                    FailureReason.UNEXPECTED_PDU,
                    ProvisioningErrorCode.UNEXPECTED_PDU,
                    f"{pdu.PDU_TYPE.name} is not expected in state {self.state.name}",
                )
            self._dispatch(actions, pdu, now)
        except _Abort as abort:
            actions.extend(self._failed(abort.failure))
        return actions

    def choose(
        self,
        parameters: ProvisioningStart,
        now: float,
        *,
        static_oob: bytes | None = None,
        device_public_key: bytes | None = None,
        unicast_address: int | None = None,
    ) -> list[ProvisioningAction]:
        """Provision with ``parameters`` (after :class:`CapabilitiesReceived`).

        ``unicast_address`` replaces the address given at construction: the caller can only
        allocate a block once Capabilities told it the number of elements.

        Raises :class:`ProvisioningUsageError` (state unchanged) when the choice is not
        allowed by the Capabilities or §5.4.2.3, the address block does not fit, or the OOB
        public key / static value is unusable.
        """
        self._check_open()
        if self.state is not ProvisionerState.WAIT_CHOICE or self._capabilities is None:
            raise InvalidStateError("choose() is only possible after Capabilities")
        caps = self._capabilities
        reason = check_start(caps, parameters)
        if reason is not None:
            raise ProvisioningUsageError(reason)
        if unicast_address is not None and not (
            unicast_address >= 0x0001 and unicast_address + caps.number_of_elements - 1 <= 0x7FFF
        ):
            raise ProvisioningUsageError(
                "the unicast address block does not fit in the unicast range"
            )
        if (
            unicast_address is not None
            and self.refresh is not None
            and (problem := self.refresh.check_address(unicast_address))
        ):
            raise ProvisioningUsageError(problem)
        # §5.4.2.3: "The Provisioner shall not use BTM_ECDH_P256_CMAC_AES128_AES_CCM if
        # another algorithm is supported by the Provisionee."
        if (
            parameters.algorithm is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
            and len(caps.supported_algorithms) > 1
        ):
            raise ProvisioningUsageError("CMAC must not be used: the device supports HMAC")
        peer_key = device_public_key or self._device_public_key
        if parameters.public_key is PublicKeyMethod.OOB:
            if peer_key is None:
                raise ProvisioningUsageError("an OOB public key method needs the device key")
            try:
                crypto.load_public_key(peer_key)
            except ValueError:
                raise ProvisioningUsageError(
                    "the OOB device public key is not a valid P-256 point"
                ) from None
        static = static_oob or self._static_oob
        if parameters.auth_method is AuthMethod.STATIC_OOB and static is not None:
            auth_value(parameters.algorithm, AuthMethod.STATIC_OOB, None, static)  # validate
        self._static_oob = static
        self._device_public_key = peer_key
        if unicast_address is not None:
            self._data = replace(self._data, unicast_address=unicast_address)
        self._start = parameters
        self._use_oob_timer(parameters)
        actions: list[ProvisioningAction] = []
        try:
            self._send(actions, parameters, now)
            self._send(actions, ProvisioningPublicKey(self.public_key), now)
            if parameters.public_key is PublicKeyMethod.OOB:
                assert peer_key is not None
                self._key_agreement(peer_key)
                self._authenticate(actions, now)
            else:
                self.state = ProvisionerState.WAIT_PUBLIC_KEY
        except _Abort as abort:
            actions.extend(self._failed(abort.failure))
        return actions

    def provide_oob(self, value: OobValue | bytes, now: float) -> list[ProvisioningAction]:
        """The value a person entered after :class:`RequestInput`.

        Static OOB: ``bytes`` (16 octets for CMAC, 32 for HMAC; shorter is zero padded).
        Output OOB: the number (int or decimal string) or the string the device showed.
        Raises :class:`~.auth.InvalidOobValueError` (state unchanged) for a malformed value.
        """
        self._check_open()
        if self.state is not ProvisionerState.WAIT_USER_INPUT or self._start is None:
            raise InvalidStateError("no OOB value was requested")
        start = self._start
        if start.auth_method is AuthMethod.STATIC_OOB:
            if not isinstance(value, bytes):
                raise InvalidOobValueError("a static OOB value must be bytes")
            auth_value(start.algorithm, AuthMethod.STATIC_OOB, None, value)  # validate
            self._static_oob = value
        else:
            assert start.auth_action is not None
            if isinstance(value, bytes):
                raise InvalidOobValueError("an Output OOB value must be a number or a string")
            self._oob_value = normalize_oob_value(start.auth_action, start.auth_size, value)
        actions: list[ProvisioningAction] = []
        self._restart_timer(now)
        self._send_confirmation(actions, now)
        return actions

    # --- handlers ---------------------------------------------------------------------

    def _dispatch(
        self, actions: list[ProvisioningAction], pdu: ProvisioningPdu, now: float
    ) -> None:
        if isinstance(pdu, ProvisioningCapabilities):
            self._on_capabilities(actions, pdu, now)
        elif isinstance(pdu, ProvisioningPublicKey):
            self._key_agreement(pdu.key)
            self._authenticate(actions, now)
        elif isinstance(pdu, ProvisioningInputComplete):
            self._send_confirmation(actions, now)
        elif isinstance(pdu, ProvisioningConfirmation):
            self._on_confirmation(actions, pdu, now)
        elif isinstance(pdu, ProvisioningRandom):
            self._on_random(actions, pdu, now)
        elif isinstance(pdu, ProvisioningComplete):
            self._on_complete(actions)

    def _on_capabilities(
        self, actions: list[ProvisioningAction], caps: ProvisioningCapabilities, now: float
    ) -> None:
        last = self._data.unicast_address + caps.number_of_elements - 1
        if last > 0x7FFF:
            raise _abort(
                FailureReason.CANNOT_ASSIGN_ADDRESSES,
                ProvisioningErrorCode.CANNOT_ASSIGN_ADDRESSES,
                "the device's elements do not fit below 0x8000 from the given address",
            )
        self._capabilities = caps
        self.state = ProvisionerState.WAIT_CHOICE
        try:
            suggested: ProvisioningStart | None = select_method(
                caps,
                oob_public_key_known=self._device_public_key is not None,
                static_oob_available=self._static_oob is not None,
            )
        except ProvisioningUsageError:
            suggested = None
        actions.append(CapabilitiesReceived(caps, suggested))
        if self.auto_select:
            if suggested is None:
                raise _abort(
                    FailureReason.NO_ACCEPTABLE_METHOD,
                    None,
                    "no provisioning method is acceptable for this device",
                )
            try:
                actions.extend(self.choose(suggested, now))
            except ProvisioningUsageError as err:
                raise _abort(FailureReason.NO_ACCEPTABLE_METHOD, None, str(err)) from None

    def _key_agreement(self, device_public_key: bytes) -> None:
        assert self._s.key_pair is not None
        assert self._capabilities is not None
        assert self._start is not None
        self._s.ecdh_secret = ecdh_or_abort(self._s.key_pair, device_public_key)
        # §5.4.2.3: delete the private key once ECDHSecret is computed.
        self._s.key_pair = None
        inputs = confirmation_inputs(
            self._invite, self._capabilities, self._start, self.public_key, device_public_key
        )
        self._s.conf_salt = confirmation_salt(self._start.algorithm, inputs)

    def _authenticate(self, actions: list[ProvisioningAction], now: float) -> None:
        start = self._start
        assert start is not None
        if start.auth_method is AuthMethod.NO_OOB or (
            start.auth_method is AuthMethod.STATIC_OOB and self._static_oob is not None
        ):
            self._send_confirmation(actions, now)
        elif start.auth_method is AuthMethod.STATIC_OOB:
            self.state = ProvisionerState.WAIT_USER_INPUT
            actions.append(RequestInput(InputKind.STATIC_OOB, None, start.algorithm.auth_size))
        elif start.auth_method is AuthMethod.OUTPUT_OOB:
            self.state = ProvisionerState.WAIT_USER_INPUT
            actions.append(RequestInput(InputKind.OUTPUT_OOB, start.auth_action, start.auth_size))
        else:
            assert isinstance(start.auth_action, InputAction)
            # §5.4.2.4: a fresh random value every session (CVE-2020-26556/26557).
            value = generate_oob_value(start.auth_action, start.auth_size)
            self._oob_value = value
            self.state = ProvisionerState.WAIT_INPUT_COMPLETE
            actions.append(ShowValue(value, start.auth_action))

    def _send_confirmation(self, actions: list[ProvisioningAction], now: float) -> None:
        start = self._start
        assert start is not None
        value: OobValue | bytes | None = (
            self._static_oob if start.auth_method is AuthMethod.STATIC_OOB else self._oob_value
        )
        try:
            self._s.auth_value = auth_value(
                start.algorithm, start.auth_method, start.auth_action, value
            )
        except InvalidOobValueError as err:  # defensive: values were validated on entry
            raise _abort(
                FailureReason.UNEXPECTED_PDU, ProvisioningErrorCode.UNEXPECTED_ERROR, str(err)
            ) from None
        size = start.algorithm.auth_size
        if len(self._s.random) != size:
            self._s.random = secrets.token_bytes(size)
        self._s.conf_key = confirmation_key(
            start.algorithm, self._s.ecdh_secret, self._s.conf_salt, self._s.auth_value
        )
        self._s.confirmation = confirmation_value(
            start.algorithm, self._s.conf_key, self._s.random, self._s.auth_value
        )
        self.state = ProvisionerState.WAIT_CONFIRMATION
        self._send(actions, ProvisioningConfirmation(self._s.confirmation), now)

    def _check_size(self, name: str, value: bytes) -> None:
        assert self._start is not None
        if len(value) != self._start.algorithm.auth_size:
            raise _abort(
                FailureReason.WRONG_LENGTH,
                ProvisioningErrorCode.INVALID_FORMAT,
                f"the device {name} has the wrong length for {self._start.algorithm.name}",
            )

    def _on_confirmation(
        self, actions: list[ProvisioningAction], pdu: ProvisioningConfirmation, now: float
    ) -> None:
        self._check_size("Confirmation", pdu.confirmation)
        # §5.4.2.4.2: a device Confirmation equal to ours fails (reflection).
        if hmac.compare_digest(pdu.confirmation, self._s.confirmation):
            raise _abort(
                FailureReason.REFLECTED_CONFIRMATION,
                ProvisioningErrorCode.CONFIRMATION_FAILED,
                "the device Confirmation equals our own",
            )
        self._peer_confirmation = pdu.confirmation
        self.state = ProvisionerState.WAIT_RANDOM
        self._send(actions, ProvisioningRandom(self._s.random), now)

    def _on_random(
        self, actions: list[ProvisioningAction], pdu: ProvisioningRandom, now: float
    ) -> None:
        start = self._start
        assert start is not None
        self._check_size("Random", pdu.random)
        # Defence in depth (BlueZ): a device Random equal to ours is a reflection.
        if hmac.compare_digest(pdu.random, self._s.random):
            raise _abort(
                FailureReason.REFLECTED_RANDOM,
                ProvisioningErrorCode.CONFIRMATION_FAILED,
                "the device Random equals our own",
            )
        expected = confirmation_value(
            start.algorithm, self._s.conf_key, pdu.random, self._s.auth_value
        )
        if not hmac.compare_digest(expected, self._peer_confirmation):
            raise _abort(
                FailureReason.CONFIRMATION_FAILED,
                ProvisioningErrorCode.CONFIRMATION_FAILED,
                "the device Confirmation does not match its Random",
            )
        prov_salt = provisioning_salt(self._s.conf_salt, self._s.random, pdu.random)
        self._s.keys = session_keys(self._s.ecdh_secret, prov_salt)
        if self.key_source is not None:  # the keys of now, not of when the session began
            net_key, key_refresh = self.key_source()
            self._data = replace(self._data, net_key=net_key, key_refresh=key_refresh)
        data_pdu: ProvisioningDataPdu = encrypt_provisioning_data(self._s.keys, self._data)
        self.state = ProvisionerState.WAIT_COMPLETE
        self._send(actions, data_pdu, now)

    def _on_complete(self, actions: list[ProvisioningAction]) -> None:
        start, caps, keys = self._start, self._capabilities, self._s.keys
        assert start is not None
        assert caps is not None
        assert keys is not None
        result = ProvisionerResult(
            device_key=keys.device_key,
            unicast_address=self._data.unicast_address,
            number_of_elements=caps.number_of_elements,
            algorithm=start.algorithm,
            public_key_method=start.public_key,
            auth_method=start.auth_method,
            auth_action=start.auth_action,
            auth_size=start.auth_size,
            authenticated=start.auth_method is not AuthMethod.NO_OOB,
            capabilities=caps,
            refresh=self.refresh.procedure if self.refresh is not None else None,
        )
        self.state = ProvisionerState.COMPLETED
        self._forget()
        self._finish()
        actions.append(Completed(result))

    # --- plumbing ---------------------------------------------------------------------

    def _send(
        self, actions: list[ProvisioningAction], pdu: ProvisioningPdu, now: float
    ) -> list[ProvisioningAction]:
        actions.append(SendProvisioningPdu(pdu.to_bytes()))
        self._restart_timer(now)
        return actions

    def _forget(self) -> None:
        self._s = _Secrets(None)
        self._oob_value = None
        self._static_oob = None

    def _failed(self, failure: ProvisioningFailure) -> list[ProvisioningAction]:
        # §5.4.4: the Provisioner closes the link and never sends Provisioning Failed.
        self.state = ProvisionerState.FAILED
        self._failure = failure
        self._forget()
        self._finish()
        return [Failed(failure, close_link=True)]
