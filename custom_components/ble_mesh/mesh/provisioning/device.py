"""The device (Provisionee) side of the provisioning protocol (MshPRT 1.1 §5.4.2, §5.4.4).

What a simulated light runs. Same sans-IO shape as :class:`~.provisioner.Provisioner`: feed
PDU bytes to :meth:`Device.receive`, the value a person typed to :meth:`Device.provide_oob`,
the clock to :meth:`Device.timeout`; perform the returned actions.

States (§5.4.2)::

    WAIT_INVITE -Invite-> (send Capabilities) WAIT_START -Start-> WAIT_PUBLIC_KEY
    -Public Key-> (send ours unless OOB) [ShowValue (output OOB) | WAIT_USER_INPUT (input
    OOB) -provide_oob-> (send Input Complete)] WAIT_CONFIRMATION -Confirmation-> (send ours)
    WAIT_RANDOM -Random-> (send ours) WAIT_DATA -Data-> (send Complete) COMPLETED

On an error other than a timeout the device sends Provisioning Failed with the Table 5.41 code
(Unexpected PDU 0x03, Invalid Format 0x02, Confirmation Failed 0x04, Decryption Failed 0x06,
Cannot Assign Addresses 0x08, ...) and waits for the Provisioner to close the link
(``Failed(close_link=False)``); on a timeout it sends nothing and closes the link (§5.4.4).

The device is honest: it has no switch to misbehave. Attacks on the Provisioner (reflected
keys, wrong confirmations, malformed PDUs) are produced outside the engine, by the simulator
tampering with what goes in and out of this class (``simulator.faults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import hmac
import secrets

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import DecodeError

from .auth import (
    InvalidOobValueError,
    OobValue,
    ProvisioningUsageError,
    auth_value,
    check_start,
    confirmation_inputs,
    confirmation_key,
    confirmation_salt,
    confirmation_value,
    decrypt_provisioning_data,
    generate_oob_value,
    normalize_oob_value,
    provisioning_salt,
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
)
from .provisioner import (
    PROTOCOL_TIMEOUT,
    PROTOCOL_TIMEOUT_OOB,
    Completed,
    Failed,
    FailureReason,
    InputKind,
    InvalidStateError,
    NodeRefresh,
    ProvisioningAction,
    ProvisioningFailure,
    RequestInput,
    SendProvisioningPdu,
    SessionBase,
    ShowValue,
    _Abort,
    _abort,
    _Secrets,
    decode_or_abort,
    ecdh_or_abort,
)

__all__ = [
    "Device",
    "DeviceResult",
    "DeviceState",
    "oob_public_key",
]


def oob_public_key(private_value: int) -> bytes:
    """The 64-octet public key of a device's static OOB key pair (what its QR code carries)."""
    return crypto.EcdhKeyPair(private_value).public_key


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """What the device received (§5.4.2.5); ``repr`` hides the keys."""

    net_key: bytes
    key_index: int
    key_refresh: bool
    iv_update: bool
    iv_index: int
    unicast_address: int
    device_key: bytes
    number_of_elements: int
    algorithm: Algorithm
    auth_method: AuthMethod

    @property
    def flags(self) -> int:
        """The Flags octet (bit 0 Key Refresh, bit 1 IV Update)."""
        return int(self.key_refresh) | (int(self.iv_update) << 1)

    def __repr__(self) -> str:
        return (
            f"DeviceResult(key_index={self.key_index}, iv_index={self.iv_index}, "
            f"unicast_address=0x{self.unicast_address:04x}, key_refresh={self.key_refresh}, "
            f"iv_update={self.iv_update}, algorithm={self.algorithm.name}, "
            f"auth_method={self.auth_method.name})"
        )


class DeviceState(Enum):
    """Device (Provisionee) states (§5.4.2)."""

    WAIT_INVITE = "wait_invite"
    WAIT_START = "wait_start"
    WAIT_PUBLIC_KEY = "wait_public_key"
    WAIT_USER_INPUT = "wait_user_input"
    WAIT_CONFIRMATION = "wait_confirmation"
    WAIT_RANDOM = "wait_random"
    WAIT_DATA = "wait_data"
    COMPLETED = "completed"
    FAILED = "failed"


_EXPECT: dict[DeviceState, PduType] = {
    DeviceState.WAIT_INVITE: PduType.INVITE,
    DeviceState.WAIT_START: PduType.START,
    DeviceState.WAIT_PUBLIC_KEY: PduType.PUBLIC_KEY,
    DeviceState.WAIT_CONFIRMATION: PduType.CONFIRMATION,
    DeviceState.WAIT_RANDOM: PduType.RANDOM,
    DeviceState.WAIT_DATA: PduType.DATA,
}


class Device(SessionBase):
    """One provisioning session, device side.

    ``capabilities`` is what the device announces. ``static_oob`` must be given when it
    announces static OOB (16 or 32 octets; shorter values are zero padded for the algorithm),
    ``oob_private_key`` (the static key pair whose public key is in the QR code) when it
    announces an OOB public key. ``private_key`` and ``random`` fix the session's key pair and
    Random (the sample data use them; a Random whose length does not fit the algorithm chosen
    at Start is replaced): by default both come fresh from ``secrets`` for every session.
    ``refresh`` and ``node`` (what the node got when it was provisioned) make the session a
    Node Provisioning Protocol Interface procedure: the Provisioning Data is then checked
    against the node's state (Invalid Data 0x09 otherwise).
    """

    __slots__ = (
        "_invite",
        "_node",
        "_oob_key_pair",
        "_oob_value",
        "_peer_confirmation",
        "_peer_public_key",
        "_refresh",
        "_s",
        "_start",
        "_static_oob",
        "capabilities",
        "public_key",
        "state",
    )

    def __init__(
        self,
        capabilities: ProvisioningCapabilities,
        *,
        static_oob: bytes | None = None,
        oob_private_key: int | None = None,
        private_key: int | None = None,
        random: bytes | None = None,
        protocol_timeout: float = PROTOCOL_TIMEOUT,
        oob_timeout: float = PROTOCOL_TIMEOUT_OOB,
        refresh: NppiProcedure | None = None,
        node: DeviceResult | None = None,
    ) -> None:
        super().__init__(protocol_timeout, oob_timeout)
        if (refresh is None) != (node is None):
            raise ProvisioningUsageError(
                "an NPPI procedure needs the node's current provisioning, and only then"
            )
        self._refresh = refresh
        self._node = node
        if capabilities.static_oob != (static_oob is not None):
            raise ProvisioningUsageError(
                "static_oob must be given exactly when the Capabilities announce static OOB"
            )
        if capabilities.public_key_oob != (oob_private_key is not None):
            raise ProvisioningUsageError(
                "oob_private_key must be given exactly when the Capabilities announce an OOB key"
            )
        self.capabilities = capabilities
        self._static_oob = static_oob
        self._oob_key_pair = (
            crypto.EcdhKeyPair(oob_private_key) if oob_private_key is not None else None
        )
        self._s = _Secrets(crypto.EcdhKeyPair(private_key), random=random or b"")
        self.public_key: bytes = b""  # ours in this session, once Start chose the method
        self.state = DeviceState.WAIT_INVITE
        self._invite: ProvisioningInvite | None = None
        self._start: ProvisioningStart | None = None
        self._oob_value: OobValue | None = None
        self._peer_confirmation = b""
        self._peer_public_key = b""

    def __repr__(self) -> str:
        return f"Device(state={self.state.name})"

    @property
    def oob_public_key(self) -> bytes | None:
        """The static OOB public key (to put in a QR code), if the device has one."""
        return self._oob_key_pair.public_key if self._oob_key_pair is not None else None

    @property
    def attention_duration(self) -> int | None:
        """The Attention Timer the Provisioner asked for in its Invite."""
        return self._invite.attention_duration if self._invite is not None else None

    # --- events -----------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[ProvisioningAction]:
        """Process one Provisioning PDU received from the Provisioner."""
        self._check_open()
        actions: list[ProvisioningAction] = []
        try:
            pdu = decode_or_abort(data)
            self._restart_timer(now)
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

    def provide_oob(self, value: OobValue, now: float) -> list[ProvisioningAction]:
        """The value a person entered on the device after :class:`RequestInput` (Input OOB).

        Raises :class:`~.auth.InvalidOobValueError` (state unchanged) for a malformed value.
        """
        self._check_open()
        start = self._start
        if self.state is not DeviceState.WAIT_USER_INPUT or start is None:
            raise InvalidStateError("no OOB value was requested")
        assert start.auth_action is not None
        self._oob_value = normalize_oob_value(start.auth_action, start.auth_size, value)
        self.state = DeviceState.WAIT_CONFIRMATION
        actions: list[ProvisioningAction] = []
        self._restart_timer(now)
        self._send(actions, ProvisioningInputComplete(), now)
        return actions

    # --- handlers ---------------------------------------------------------------------

    def _dispatch(
        self, actions: list[ProvisioningAction], pdu: ProvisioningPdu, now: float
    ) -> None:
        if isinstance(pdu, ProvisioningInvite):
            self._invite = pdu
            self.state = DeviceState.WAIT_START
            self._send(actions, self.capabilities, now)
        elif isinstance(pdu, ProvisioningStart):
            self._on_start(pdu)
        elif isinstance(pdu, ProvisioningPublicKey):
            self._on_public_key(actions, pdu, now)
        elif isinstance(pdu, ProvisioningConfirmation):
            self._on_confirmation(actions, pdu, now)
        elif isinstance(pdu, ProvisioningRandom):
            self._on_random(actions, pdu, now)
        elif isinstance(pdu, ProvisioningDataPdu):
            self._on_data(actions, pdu, now)

    def _on_start(self, start: ProvisioningStart) -> None:
        reason = check_start(self.capabilities, start)
        if reason is not None:
            raise _abort(FailureReason.INVALID_START, ProvisioningErrorCode.INVALID_FORMAT, reason)
        if start.auth_method is AuthMethod.STATIC_OOB:
            assert self._static_oob is not None
            if len(self._static_oob) > start.algorithm.auth_size:
                raise _abort(
                    FailureReason.INVALID_START,
                    ProvisioningErrorCode.INVALID_FORMAT,
                    "our static OOB value is too long for this algorithm",
                )
        self._start = start
        self._use_oob_timer(start)
        if start.public_key is PublicKeyMethod.OOB:
            assert self._oob_key_pair is not None
            self._s.key_pair = self._oob_key_pair
        assert self._s.key_pair is not None
        self.public_key = self._s.key_pair.public_key
        self.state = DeviceState.WAIT_PUBLIC_KEY

    def _on_public_key(
        self, actions: list[ProvisioningAction], pdu: ProvisioningPublicKey, now: float
    ) -> None:
        start, invite = self._start, self._invite
        assert start is not None
        assert invite is not None
        assert self._s.key_pair is not None
        self._peer_public_key = pdu.key
        self._s.ecdh_secret = ecdh_or_abort(self._s.key_pair, pdu.key)
        self._s.key_pair = None  # §5.4.2.3: delete the (ephemeral) private key after ECDH
        inputs = confirmation_inputs(invite, self.capabilities, start, pdu.key, self.public_key)
        self._s.conf_salt = confirmation_salt(start.algorithm, inputs)
        if start.public_key is PublicKeyMethod.NO_OOB:
            self._send(actions, ProvisioningPublicKey(self.public_key), now)
        if start.auth_method is AuthMethod.OUTPUT_OOB:
            assert isinstance(start.auth_action, OutputAction)
            # §5.4.2.4: a fresh random value every session, shown to the person.
            self._oob_value = generate_oob_value(start.auth_action, start.auth_size)
            actions.append(ShowValue(self._oob_value, start.auth_action))
            self.state = DeviceState.WAIT_CONFIRMATION
        elif start.auth_method is AuthMethod.INPUT_OOB:
            assert isinstance(start.auth_action, InputAction)
            actions.append(RequestInput(InputKind.INPUT_OOB, start.auth_action, start.auth_size))
            self.state = DeviceState.WAIT_USER_INPUT
        else:
            self.state = DeviceState.WAIT_CONFIRMATION

    def _on_confirmation(
        self, actions: list[ProvisioningAction], pdu: ProvisioningConfirmation, now: float
    ) -> None:
        start = self._start
        assert start is not None
        size = start.algorithm.auth_size
        if len(pdu.confirmation) != size:
            raise _abort(
                FailureReason.WRONG_LENGTH,
                ProvisioningErrorCode.INVALID_FORMAT,
                f"the Confirmation has the wrong length for {start.algorithm.name}",
            )
        value: OobValue | bytes | None = (
            self._static_oob if start.auth_method is AuthMethod.STATIC_OOB else self._oob_value
        )
        try:
            self._s.auth_value = auth_value(
                start.algorithm, start.auth_method, start.auth_action, value
            )
        except InvalidOobValueError as err:  # defensive: checked at Start
            raise _abort(
                FailureReason.INVALID_START, ProvisioningErrorCode.UNEXPECTED_ERROR, str(err)
            ) from None
        if len(self._s.random) != size:
            self._s.random = secrets.token_bytes(size)
        self._s.conf_key = confirmation_key(
            start.algorithm, self._s.ecdh_secret, self._s.conf_salt, self._s.auth_value
        )
        self._s.confirmation = confirmation_value(
            start.algorithm, self._s.conf_key, self._s.random, self._s.auth_value
        )
        # §5.4.2.4.2: a Confirmation equal to ours is a reflection (device: Invalid Format).
        if hmac.compare_digest(pdu.confirmation, self._s.confirmation):
            raise _abort(
                FailureReason.REFLECTED_CONFIRMATION,
                ProvisioningErrorCode.INVALID_FORMAT,
                "the Provisioner Confirmation equals our own",
            )
        self._peer_confirmation = pdu.confirmation
        self.state = DeviceState.WAIT_RANDOM
        self._send(actions, ProvisioningConfirmation(self._s.confirmation), now)

    def _on_random(
        self, actions: list[ProvisioningAction], pdu: ProvisioningRandom, now: float
    ) -> None:
        start = self._start
        assert start is not None
        if len(pdu.random) != start.algorithm.auth_size:
            raise _abort(
                FailureReason.WRONG_LENGTH,
                ProvisioningErrorCode.INVALID_FORMAT,
                f"the Random has the wrong length for {start.algorithm.name}",
            )
        if hmac.compare_digest(pdu.random, self._s.random):
            raise _abort(
                FailureReason.REFLECTED_RANDOM,
                ProvisioningErrorCode.INVALID_FORMAT,
                "the Provisioner Random equals our own",
            )
        expected = confirmation_value(
            start.algorithm, self._s.conf_key, pdu.random, self._s.auth_value
        )
        if not hmac.compare_digest(expected, self._peer_confirmation):
            raise _abort(
                FailureReason.CONFIRMATION_FAILED,
                ProvisioningErrorCode.CONFIRMATION_FAILED,
                "the Provisioner Confirmation does not match its Random",
            )
        prov_salt = provisioning_salt(self._s.conf_salt, pdu.random, self._s.random)
        self._s.keys = session_keys(self._s.ecdh_secret, prov_salt)
        self.state = DeviceState.WAIT_DATA
        self._send(actions, ProvisioningRandom(self._s.random), now)

    def _on_data(
        self, actions: list[ProvisioningAction], pdu: ProvisioningDataPdu, now: float
    ) -> None:
        start, keys = self._start, self._s.keys
        assert start is not None
        assert keys is not None
        try:
            data = decrypt_provisioning_data(keys, pdu)
        except crypto.InvalidMicError:
            raise _abort(
                FailureReason.DECRYPTION_FAILED,
                ProvisioningErrorCode.DECRYPTION_FAILED,
                "the Provisioning Data MIC does not verify",
            ) from None
        except DecodeError as err:
            raise _abort(
                FailureReason.INVALID_PROVISIONING_DATA,
                ProvisioningErrorCode.INVALID_FORMAT,
                str(err),
            ) from None
        self._check_refresh(data)
        if data.unicast_address + self.capabilities.number_of_elements - 1 > 0x7FFF:
            raise _abort(
                FailureReason.CANNOT_ASSIGN_ADDRESSES,
                ProvisioningErrorCode.CANNOT_ASSIGN_ADDRESSES,
                "our elements do not fit below 0x8000 from the given address",
            )
        result = DeviceResult(
            net_key=data.net_key,
            key_index=data.key_index,
            key_refresh=data.key_refresh,
            iv_update=data.iv_update,
            iv_index=data.iv_index,
            unicast_address=data.unicast_address,
            device_key=keys.device_key,
            number_of_elements=self.capabilities.number_of_elements,
            algorithm=start.algorithm,
            auth_method=start.auth_method,
        )
        self._send(actions, ProvisioningComplete(), now)
        self.state = DeviceState.COMPLETED
        self._forget()
        self._finish()
        actions.append(Completed(result))

    def _check_refresh(self, data: ProvisioningData) -> None:
        # MshPRT 1.1 §4.4.5.4 (NPPI): the Data must carry the node's own NetKey, key index and
        # IV Index, and its primary address (a new one outside its range for an address
        # refresh); the Flags are ignored. Anything else is Invalid Data.
        node, procedure = self._node, self._refresh
        if node is None or procedure is None:
            return
        problem = NodeRefresh(
            procedure, node.unicast_address, node.number_of_elements
        ).check_address(data.unicast_address)
        if not hmac.compare_digest(data.net_key, node.net_key):
            problem = "the NetKey is not the node's"
        elif data.key_index != node.key_index or data.iv_index != node.iv_index:
            problem = "the key index or IV Index is not the node's"
        if problem is not None:
            raise _abort(
                FailureReason.INVALID_PROVISIONING_DATA, ProvisioningErrorCode.INVALID_DATA, problem
            )

    # --- plumbing ---------------------------------------------------------------------

    def _send(self, actions: list[ProvisioningAction], pdu: ProvisioningPdu, now: float) -> None:
        actions.append(SendProvisioningPdu(pdu.to_bytes()))
        self._restart_timer(now)

    def _forget(self) -> None:
        self._s = _Secrets(None)
        self._oob_value = None

    def _failed(self, failure: ProvisioningFailure) -> list[ProvisioningAction]:
        self.state = DeviceState.FAILED
        self._failure = failure
        self._forget()
        self._finish()
        code = failure.code
        if (
            failure.reason
            in (FailureReason.TIMEOUT, FailureReason.CANCELLED, FailureReason.LINK_CLOSED)
            or code is None
            or code is ProvisioningErrorCode.PROHIBITED
        ):
            # §5.4.4: no Provisioning Failed on timeout; we close the link ourselves.
            return [Failed(failure, close_link=True)]
        # §5.4.4: send Provisioning Failed, then wait for the Provisioner to close the link.
        return [
            SendProvisioningPdu(ProvisioningFailed(code).to_bytes()),
            Failed(failure, close_link=False),
        ]
