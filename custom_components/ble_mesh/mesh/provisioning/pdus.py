"""Provisioning PDUs (MshPRT 1.1 §5.4.1; error codes: Table 5.41).

One frozen, slotted dataclass per Provisioning PDU, each with ``to_bytes()`` (type octet
included) and ``from_bytes()``; :func:`decode_pdu` dispatches on the type octet. Decoding is
strict: a wrong length, a Prohibited or RFU value, or an unknown type raises
:class:`~custom_components.ble_mesh.mesh.errors.DecodeError` naming the structure and field.
Constructing a PDU with out-of-range values raises the same error, so an invalid PDU cannot
exist.

One deliberate leniency, required by §5.4.2.2: the Provisioner ignores Algorithm bits it does
not understand, so :class:`ProvisioningCapabilities` keeps unknown Algorithm bits instead of
failing (they are never selected).

The provisioning-records PDUs of Mesh 1.1 (Record Request 0x0A, Record Response 0x0B, Records
Get 0x0C, Records List 0x0D, §5.4.1.11 - §5.4.1.14) are decoded into dataclasses too; the state
machines of this package do not support certificate-based provisioning and treat them as
unexpected PDUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar, Self

from custom_components.ble_mesh.mesh.crypto import PUBLIC_KEY_SIZE
from custom_components.ble_mesh.mesh.errors import DecodeError

__all__ = [
    "ALPHANUMERIC_CHARSET",
    "LINK_TIMEOUT",
    "Algorithm",
    "AuthMethod",
    "InputAction",
    "NppiProcedure",
    "OobType",
    "OutputAction",
    "PduType",
    "ProvisioningCapabilities",
    "ProvisioningComplete",
    "ProvisioningConfirmation",
    "ProvisioningData",
    "ProvisioningDataPdu",
    "ProvisioningErrorCode",
    "ProvisioningFailed",
    "ProvisioningInputComplete",
    "ProvisioningInvite",
    "ProvisioningPdu",
    "ProvisioningPublicKey",
    "ProvisioningRandom",
    "ProvisioningRecordRequest",
    "ProvisioningRecordResponse",
    "ProvisioningRecordsGet",
    "ProvisioningRecordsList",
    "ProvisioningStart",
    "PublicKeyMethod",
    "UnknownPduTypeError",
    "capabilities",
    "decode_pdu",
]

# MshPRT 1.1 §5.4.2.4: alphanumeric OOB values use the digits and the upper-case letters.
ALPHANUMERIC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_OOB_SIZE = 8  # Output/Input OOB Size and Authentication Size: 0x01..0x08 (§5.4.1.2, §5.4.1.3)
ENCRYPTED_DATA_SIZE = 25
# Both bearers close a link that carries no Provisioning PDU for 60 s after it opened
# (MshPRT 1.1 §5.2.1.1 for PB-ADV, §5.2.2 for PB-GATT).
LINK_TIMEOUT = 60.0
DATA_MIC_SIZE = 8


class UnknownPduTypeError(DecodeError):
    """The type octet names no Provisioning PDU (a device answers Invalid PDU, 0x01)."""


class PduType(IntEnum):
    """Provisioning PDU types (§5.4.1)."""

    INVITE = 0x00
    CAPABILITIES = 0x01
    START = 0x02
    PUBLIC_KEY = 0x03
    INPUT_COMPLETE = 0x04
    CONFIRMATION = 0x05
    RANDOM = 0x06
    DATA = 0x07
    COMPLETE = 0x08
    FAILED = 0x09
    RECORD_REQUEST = 0x0A
    RECORD_RESPONSE = 0x0B
    RECORDS_GET = 0x0C
    RECORDS_LIST = 0x0D


class ProvisioningErrorCode(IntEnum):
    """Provisioning Failed error codes (§5.4.1.10, Table 5.41); 0x0A-0xFF are RFU."""

    PROHIBITED = 0x00
    INVALID_PDU = 0x01
    INVALID_FORMAT = 0x02
    UNEXPECTED_PDU = 0x03
    CONFIRMATION_FAILED = 0x04
    OUT_OF_RESOURCES = 0x05
    DECRYPTION_FAILED = 0x06
    UNEXPECTED_ERROR = 0x07
    CANNOT_ASSIGN_ADDRESSES = 0x08
    INVALID_DATA = 0x09


class NppiProcedure(IntEnum):
    """Node Provisioning Protocol Interface procedures (MshPRT 1.1 §4.4.5.4; the NPPIProcedure
    field of Remote Provisioning Link Open, §4.3.4): the provisioning protocol run again on
    a provisioned node, through its own Remote Provisioning Server. Values 0x03-0xFF are RFU.

    All three run the whole protocol (Invite to Complete, Provisioning Data included); the
    Data's NetKey, key index and IV Index must be the node's current ones (Invalid Data 0x09
    otherwise), and its address the node's primary address except for an address refresh.
    """

    DEVICE_KEY_REFRESH = 0x00  # new device key; address and composition unchanged
    NODE_ADDRESS_REFRESH = 0x01  # new device key and a new primary address
    NODE_COMPOSITION_REFRESH = 0x02  # new device key; Composition Data page 128 becomes page 0


class Algorithm(IntEnum):
    """Provisioning algorithms (§5.4.1.3 Start values; bit N of §5.4.1.2 Capabilities)."""

    BTM_ECDH_P256_CMAC_AES128_AES_CCM = 0x00
    BTM_ECDH_P256_HMAC_SHA256_AES_CCM = 0x01

    @property
    def bit(self) -> int:
        """The bit of this algorithm in the Capabilities Algorithms field (§5.4.1.2)."""
        return 1 << self.value

    @property
    def auth_size(self) -> int:
        """Octets of AuthValue, Random and Confirmation with this algorithm (§5.4.2.4.1)."""
        return 16 if self is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM else 32


class PublicKeyMethod(IntEnum):
    """Start.Public Key (§5.4.1.3): how the device public key is exchanged."""

    NO_OOB = 0x00  # in band, in a Provisioning Public Key PDU
    OOB = 0x01  # known out of band (QR code, certificate); the device does not send it


class AuthMethod(IntEnum):
    """Start.Authentication Method (§5.4.1.3)."""

    NO_OOB = 0x00
    STATIC_OOB = 0x01
    OUTPUT_OOB = 0x02
    INPUT_OOB = 0x03


class OutputAction(IntEnum):
    """Output OOB actions: Start value (§5.4.1.3) = bit number in Capabilities (§5.4.1.2)."""

    BLINK = 0x00
    BEEP = 0x01
    VIBRATE = 0x02
    OUTPUT_NUMERIC = 0x03
    OUTPUT_ALPHANUMERIC = 0x04


class InputAction(IntEnum):
    """Input OOB actions: Start value (§5.4.1.3) = bit number in Capabilities (§5.4.1.2)."""

    PUSH = 0x00
    TWIST = 0x01
    INPUT_NUMERIC = 0x02
    INPUT_ALPHANUMERIC = 0x03


class OobType(IntFlag):
    """Capabilities OOB Type (§5.4.1.2; called Static OOB Type in Mesh 1.0)."""

    STATIC_OOB = 0x01
    ONLY_OOB_AUTHENTICATED = 0x02  # Mesh 1.1: CMAC and No OOB must not be used


_OUTPUT_ACTION_MASK = (1 << len(OutputAction)) - 1
_INPUT_ACTION_MASK = (1 << len(InputAction)) - 1


def _fail(structure: str, field: str | None, reason: str) -> DecodeError:
    return DecodeError(structure, field, reason)


def _check_uint(structure: str, field: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise _fail(structure, field, f"must fit in {bits} bits")


def _check_len(structure: str, params: bytes, *sizes: int) -> None:
    if len(params) not in sizes:
        expected = " or ".join(str(s) for s in sizes)
        raise _fail(structure, None, f"parameters must be {expected} octets, got {len(params)}")


class ProvisioningPdu:
    """Base of every Provisioning PDU: the type octet, then the parameters (§5.4.1)."""

    __slots__ = ()
    PDU_TYPE: ClassVar[PduType]

    def parameters(self) -> bytes:
        """The PDU parameters, without the type octet."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The whole Provisioning PDU: type octet (padding bits 0) || parameters."""
        return bytes((self.PDU_TYPE,)) + self.parameters()

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        """Decode the parameters (everything after the type octet)."""
        raise NotImplementedError

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a whole PDU, checking that the type octet is this class's type."""
        if not data:
            raise _fail(cls.__name__, "type", "empty PDU")
        if data[0] != cls.PDU_TYPE:
            raise _fail(cls.__name__, "type", f"expected type 0x{cls.PDU_TYPE:02x}")
        return cls.from_parameters(bytes(data[1:]))


@dataclass(frozen=True, slots=True)
class ProvisioningInvite(ProvisioningPdu):
    """Provisioning Invite (§5.4.1.1): Attention Timer state in seconds."""

    PDU_TYPE: ClassVar[PduType] = PduType.INVITE
    attention_duration: int = 0

    def __post_init__(self) -> None:
        _check_uint("ProvisioningInvite", "attention_duration", self.attention_duration, 8)

    def parameters(self) -> bytes:
        return bytes((self.attention_duration,))

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningInvite", params, 1)
        return cls(params[0])


@dataclass(frozen=True, slots=True)
class ProvisioningCapabilities(ProvisioningPdu):
    """Provisioning Capabilities (§5.4.1.2), every field as it is on the air.

    ``algorithms``, ``output_oob_actions`` and ``input_oob_actions`` are bitmasks; unknown
    Algorithm bits are kept (a Provisioner ignores them), every other RFU or Prohibited value
    is refused.
    """

    PDU_TYPE: ClassVar[PduType] = PduType.CAPABILITIES
    number_of_elements: int
    algorithms: int = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM.bit
    public_key_type: int = 0
    oob_type: int = 0
    output_oob_size: int = 0
    output_oob_actions: int = 0
    input_oob_size: int = 0
    input_oob_actions: int = 0

    def __post_init__(self) -> None:
        s = "ProvisioningCapabilities"
        _check_uint(s, "number_of_elements", self.number_of_elements, 8)
        if self.number_of_elements == 0:
            raise _fail(s, "number_of_elements", "0x00 is Prohibited")
        _check_uint(s, "algorithms", self.algorithms, 16)
        _check_uint(s, "public_key_type", self.public_key_type, 8)
        if self.public_key_type & ~0x01:
            raise _fail(s, "public_key_type", "bits 1-7 are Prohibited")
        _check_uint(s, "oob_type", self.oob_type, 8)
        if self.oob_type & ~0x03:
            raise _fail(s, "oob_type", "bits 2-7 are Prohibited")
        for prefix, size, actions, mask in (
            ("output", self.output_oob_size, self.output_oob_actions, _OUTPUT_ACTION_MASK),
            ("input", self.input_oob_size, self.input_oob_actions, _INPUT_ACTION_MASK),
        ):
            _check_uint(s, f"{prefix}_oob_size", size, 8)
            _check_uint(s, f"{prefix}_oob_actions", actions, 16)
            if size > MAX_OOB_SIZE:
                raise _fail(s, f"{prefix}_oob_size", "0x09-0xFF are Prohibited")
            if actions & ~mask:
                raise _fail(s, f"{prefix}_oob_actions", "RFU bits set")
            if actions and size == 0:
                raise _fail(s, f"{prefix}_oob_size", "must be 0x01-0x08 when actions are set")

    def parameters(self) -> bytes:
        return (
            bytes((self.number_of_elements,))
            + self.algorithms.to_bytes(2, "big")
            + bytes((self.public_key_type, self.oob_type, self.output_oob_size))
            + self.output_oob_actions.to_bytes(2, "big")
            + bytes((self.input_oob_size,))
            + self.input_oob_actions.to_bytes(2, "big")
        )

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningCapabilities", params, 11)
        return cls(
            number_of_elements=params[0],
            algorithms=int.from_bytes(params[1:3], "big"),
            public_key_type=params[3],
            oob_type=params[4],
            output_oob_size=params[5],
            output_oob_actions=int.from_bytes(params[6:8], "big"),
            input_oob_size=params[8],
            input_oob_actions=int.from_bytes(params[9:11], "big"),
        )

    @property
    def supported_algorithms(self) -> frozenset[Algorithm]:
        """The algorithms we know that the device offers (unknown bits ignored)."""
        return frozenset(a for a in Algorithm if self.algorithms & a.bit)

    @property
    def public_key_oob(self) -> bool:
        """Public Key Type bit 0: the device public key is available out of band."""
        return bool(self.public_key_type & 0x01)

    @property
    def static_oob(self) -> bool:
        """OOB Type bit 0: static OOB information is available."""
        return bool(self.oob_type & OobType.STATIC_OOB)

    @property
    def only_oob_authenticated(self) -> bool:
        """OOB Type bit 1 (Mesh 1.1): only OOB-authenticated provisioning is supported."""
        return bool(self.oob_type & OobType.ONLY_OOB_AUTHENTICATED)

    @property
    def output_actions(self) -> frozenset[OutputAction]:
        """Output OOB actions the device supports."""
        return frozenset(a for a in OutputAction if self.output_oob_actions & (1 << a))

    @property
    def input_actions(self) -> frozenset[InputAction]:
        """Input OOB actions the device supports."""
        return frozenset(a for a in InputAction if self.input_oob_actions & (1 << a))


def _action_bitmask(actions: frozenset[OutputAction] | frozenset[InputAction]) -> int:
    mask = 0
    for action in actions:
        mask |= 1 << action
    return mask


def capabilities(
    number_of_elements: int = 1,
    *,
    algorithms: frozenset[Algorithm] = frozenset(Algorithm),
    public_key_oob: bool = False,
    static_oob: bool = False,
    only_oob_authenticated: bool = False,
    output_actions: frozenset[OutputAction] = frozenset(),
    output_oob_size: int = 0,
    input_actions: frozenset[InputAction] = frozenset(),
    input_oob_size: int = 0,
) -> ProvisioningCapabilities:
    """Build Capabilities from sets instead of bitmasks (convenience for devices and tests)."""
    algorithm_bits = 0
    for algorithm in algorithms:
        algorithm_bits |= algorithm.bit
    return ProvisioningCapabilities(
        number_of_elements=number_of_elements,
        algorithms=algorithm_bits,
        public_key_type=int(public_key_oob),
        oob_type=int(static_oob)
        | (OobType.ONLY_OOB_AUTHENTICATED if only_oob_authenticated else 0),
        output_oob_size=output_oob_size if output_actions else 0,
        output_oob_actions=_action_bitmask(output_actions),
        input_oob_size=input_oob_size if input_actions else 0,
        input_oob_actions=_action_bitmask(input_actions),
    )


@dataclass(frozen=True, slots=True)
class ProvisioningStart(ProvisioningPdu):
    """Provisioning Start (§5.4.1.3): the method the Provisioner chose.

    ``auth_action`` is ``None`` for No OOB and Static OOB, an :class:`OutputAction` for Output
    OOB and an :class:`InputAction` for Input OOB; ``auth_size`` is 0 for the former two and
    1..8 for the latter two.
    """

    PDU_TYPE: ClassVar[PduType] = PduType.START
    algorithm: Algorithm = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
    public_key: PublicKeyMethod = PublicKeyMethod.NO_OOB
    auth_method: AuthMethod = AuthMethod.NO_OOB
    auth_action: OutputAction | InputAction | None = None
    auth_size: int = 0

    def __post_init__(self) -> None:
        s = "ProvisioningStart"
        if not isinstance(self.algorithm, Algorithm):
            raise _fail(s, "algorithm", "not an Algorithm")
        if not isinstance(self.public_key, PublicKeyMethod):
            raise _fail(s, "public_key", "not a PublicKeyMethod")
        if not isinstance(self.auth_method, AuthMethod):
            raise _fail(s, "auth_method", "not an AuthMethod")
        if self.auth_method in (AuthMethod.NO_OOB, AuthMethod.STATIC_OOB):
            if self.auth_action is not None:
                raise _fail(s, "auth_action", "must be 0x00 without Output/Input OOB")
            if self.auth_size != 0:
                raise _fail(s, "auth_size", "must be 0x00 without Output/Input OOB")
            return
        expected = OutputAction if self.auth_method is AuthMethod.OUTPUT_OOB else InputAction
        if not isinstance(self.auth_action, expected):
            raise _fail(s, "auth_action", f"must be an {expected.__name__}")
        if not 1 <= self.auth_size <= MAX_OOB_SIZE:
            raise _fail(s, "auth_size", "must be 0x01-0x08 with Output/Input OOB")

    def parameters(self) -> bytes:
        action = 0 if self.auth_action is None else int(self.auth_action)
        return bytes((self.algorithm, self.public_key, self.auth_method, action, self.auth_size))

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        s = "ProvisioningStart"
        _check_len(s, params, 5)
        algorithm_value, public_key, method_value, action_value, size = params
        try:
            algorithm = Algorithm(algorithm_value)
        except ValueError:
            raise _fail(s, "algorithm", f"0x{algorithm_value:02x} is RFU") from None
        if public_key > PublicKeyMethod.OOB:
            raise _fail(s, "public_key", f"0x{public_key:02x} is Prohibited")
        if method_value > AuthMethod.INPUT_OOB:
            raise _fail(s, "auth_method", f"0x{method_value:02x} is Prohibited")
        method = AuthMethod(method_value)
        action: OutputAction | InputAction | None = None
        if method in (AuthMethod.NO_OOB, AuthMethod.STATIC_OOB):
            if action_value != 0:
                raise _fail(s, "auth_action", "must be 0x00 without Output/Input OOB")
        elif method is AuthMethod.OUTPUT_OOB:
            if action_value >= len(OutputAction):
                raise _fail(s, "auth_action", f"0x{action_value:02x} is RFU")
            action = OutputAction(action_value)
        else:
            if action_value >= len(InputAction):
                raise _fail(s, "auth_action", f"0x{action_value:02x} is RFU")
            action = InputAction(action_value)
        return cls(algorithm, PublicKeyMethod(public_key), method, action, size)


@dataclass(frozen=True, slots=True)
class ProvisioningPublicKey(ProvisioningPdu):
    """Provisioning Public Key (§5.4.1.4): X || Y, 32 octets each.

    Only the length is checked here; the state machines validate the point (on P-256, not
    equal to their own key) so that they can fail with the right reason.
    """

    PDU_TYPE: ClassVar[PduType] = PduType.PUBLIC_KEY
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != PUBLIC_KEY_SIZE:
            raise _fail("ProvisioningPublicKey", "key", "must be 64 octets")

    @property
    def x(self) -> bytes:
        """Public Key X."""
        return self.key[:32]

    @property
    def y(self) -> bytes:
        """Public Key Y."""
        return self.key[32:]

    def parameters(self) -> bytes:
        return self.key

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningPublicKey", params, PUBLIC_KEY_SIZE)
        return cls(params)


@dataclass(frozen=True, slots=True)
class ProvisioningInputComplete(ProvisioningPdu):
    """Provisioning Input Complete (§5.4.1.5): no parameters."""

    PDU_TYPE: ClassVar[PduType] = PduType.INPUT_COMPLETE

    def parameters(self) -> bytes:
        return b""

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningInputComplete", params, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class ProvisioningConfirmation(ProvisioningPdu):
    """Provisioning Confirmation (§5.4.1.6): 16 octets (CMAC) or 32 octets (HMAC)."""

    PDU_TYPE: ClassVar[PduType] = PduType.CONFIRMATION
    confirmation: bytes

    def __post_init__(self) -> None:
        if len(self.confirmation) not in (16, 32):
            raise _fail("ProvisioningConfirmation", "confirmation", "must be 16 or 32 octets")

    def parameters(self) -> bytes:
        return self.confirmation

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningConfirmation", params, 16, 32)
        return cls(params)


@dataclass(frozen=True, slots=True)
class ProvisioningRandom(ProvisioningPdu):
    """Provisioning Random (§5.4.1.7): 16 octets (CMAC) or 32 octets (HMAC)."""

    PDU_TYPE: ClassVar[PduType] = PduType.RANDOM
    random: bytes

    def __post_init__(self) -> None:
        if len(self.random) not in (16, 32):
            raise _fail("ProvisioningRandom", "random", "must be 16 or 32 octets")

    def parameters(self) -> bytes:
        return self.random

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningRandom", params, 16, 32)
        return cls(params)


@dataclass(frozen=True, slots=True)
class ProvisioningDataPdu(ProvisioningPdu):
    """Provisioning Data (§5.4.1.8): Encrypted Provisioning Data (25) || MIC (8)."""

    PDU_TYPE: ClassVar[PduType] = PduType.DATA
    encrypted_data: bytes
    mic: bytes

    def __post_init__(self) -> None:
        if len(self.encrypted_data) != ENCRYPTED_DATA_SIZE:
            raise _fail("ProvisioningDataPdu", "encrypted_data", "must be 25 octets")
        if len(self.mic) != DATA_MIC_SIZE:
            raise _fail("ProvisioningDataPdu", "mic", "must be 8 octets")

    def parameters(self) -> bytes:
        return self.encrypted_data + self.mic

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningDataPdu", params, ENCRYPTED_DATA_SIZE + DATA_MIC_SIZE)
        return cls(params[:ENCRYPTED_DATA_SIZE], params[ENCRYPTED_DATA_SIZE:])


@dataclass(frozen=True, slots=True)
class ProvisioningComplete(ProvisioningPdu):
    """Provisioning Complete (§5.4.1.9): no parameters."""

    PDU_TYPE: ClassVar[PduType] = PduType.COMPLETE

    def parameters(self) -> bytes:
        return b""

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningComplete", params, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class ProvisioningFailed(ProvisioningPdu):
    """Provisioning Failed (§5.4.1.10): one error code (Table 5.41; 0x00 and RFU refused)."""

    PDU_TYPE: ClassVar[PduType] = PduType.FAILED
    error_code: ProvisioningErrorCode

    def __post_init__(self) -> None:
        if not isinstance(self.error_code, ProvisioningErrorCode) or (
            self.error_code is ProvisioningErrorCode.PROHIBITED
        ):
            raise _fail("ProvisioningFailed", "error_code", "Prohibited or not an error code")

    def parameters(self) -> bytes:
        return bytes((self.error_code,))

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningFailed", params, 1)
        if params[0] == ProvisioningErrorCode.PROHIBITED:
            raise _fail("ProvisioningFailed", "error_code", "0x00 is Prohibited")
        if params[0] > max(ProvisioningErrorCode):
            raise _fail("ProvisioningFailed", "error_code", f"0x{params[0]:02x} is RFU")
        return cls(ProvisioningErrorCode(params[0]))


@dataclass(frozen=True, slots=True)
class ProvisioningRecordRequest(ProvisioningPdu):
    """Provisioning Record Request (§5.4.1.11): Record ID, Fragment Offset, Maximum Size."""

    PDU_TYPE: ClassVar[PduType] = PduType.RECORD_REQUEST
    record_id: int
    fragment_offset: int
    fragment_maximum_size: int

    def __post_init__(self) -> None:
        s = "ProvisioningRecordRequest"
        _check_uint(s, "record_id", self.record_id, 16)
        _check_uint(s, "fragment_offset", self.fragment_offset, 16)
        _check_uint(s, "fragment_maximum_size", self.fragment_maximum_size, 16)
        if self.fragment_maximum_size == 0:
            raise _fail(s, "fragment_maximum_size", "0x0000 is Prohibited")

    def parameters(self) -> bytes:
        return b"".join(
            v.to_bytes(2, "big")
            for v in (self.record_id, self.fragment_offset, self.fragment_maximum_size)
        )

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningRecordRequest", params, 6)
        return cls(
            int.from_bytes(params[0:2], "big"),
            int.from_bytes(params[2:4], "big"),
            int.from_bytes(params[4:6], "big"),
        )


@dataclass(frozen=True, slots=True)
class ProvisioningRecordResponse(ProvisioningPdu):
    """Provisioning Record Response (§5.4.1.12): status 0x00 success, 0x01 not present."""

    PDU_TYPE: ClassVar[PduType] = PduType.RECORD_RESPONSE
    status: int
    record_id: int
    fragment_offset: int
    total_length: int
    data: bytes = b""

    def __post_init__(self) -> None:
        s = "ProvisioningRecordResponse"
        _check_uint(s, "status", self.status, 8)
        if self.status > 0x01:
            raise _fail(s, "status", f"0x{self.status:02x} is RFU")
        _check_uint(s, "record_id", self.record_id, 16)
        _check_uint(s, "fragment_offset", self.fragment_offset, 16)
        _check_uint(s, "total_length", self.total_length, 16)

    def parameters(self) -> bytes:
        return (
            bytes((self.status,))
            + self.record_id.to_bytes(2, "big")
            + self.fragment_offset.to_bytes(2, "big")
            + self.total_length.to_bytes(2, "big")
            + self.data
        )

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        if len(params) < 7:
            raise _fail("ProvisioningRecordResponse", None, "parameters shorter than 7 octets")
        return cls(
            params[0],
            int.from_bytes(params[1:3], "big"),
            int.from_bytes(params[3:5], "big"),
            int.from_bytes(params[5:7], "big"),
            params[7:],
        )


@dataclass(frozen=True, slots=True)
class ProvisioningRecordsGet(ProvisioningPdu):
    """Provisioning Records Get (§5.4.1.13): no parameters."""

    PDU_TYPE: ClassVar[PduType] = PduType.RECORDS_GET

    def parameters(self) -> bytes:
        return b""

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        _check_len("ProvisioningRecordsGet", params, 0)
        return cls()


@dataclass(frozen=True, slots=True)
class ProvisioningRecordsList(ProvisioningPdu):
    """Provisioning Records List (§5.4.1.14): Provisioning Extensions, then record IDs."""

    PDU_TYPE: ClassVar[PduType] = PduType.RECORDS_LIST
    provisioning_extensions: int = 0
    record_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        s = "ProvisioningRecordsList"
        _check_uint(s, "provisioning_extensions", self.provisioning_extensions, 16)
        for record_id in self.record_ids:
            _check_uint(s, "record_ids", record_id, 16)

    def parameters(self) -> bytes:
        return self.provisioning_extensions.to_bytes(2, "big") + b"".join(
            r.to_bytes(2, "big") for r in self.record_ids
        )

    @classmethod
    def from_parameters(cls, params: bytes) -> Self:
        s = "ProvisioningRecordsList"
        if len(params) < 2 or len(params) % 2:
            raise _fail(s, "record_ids", "parameters must be an even number >= 2 of octets")
        ids = tuple(int.from_bytes(params[i : i + 2], "big") for i in range(2, len(params), 2))
        return cls(int.from_bytes(params[0:2], "big"), ids)


@dataclass(frozen=True, slots=True)
class ProvisioningData:
    """The plaintext of Provisioning Data (§5.4.2.5), 25 octets.

    NetKey || Key Index (2) || Flags (1: bit 0 Key Refresh, bit 1 IV Update) || IV Index (4)
    || Unicast Address (2). ``repr`` never shows the NetKey.
    """

    net_key: bytes
    key_index: int
    iv_index: int
    unicast_address: int
    key_refresh: bool = False
    iv_update: bool = False

    def __post_init__(self) -> None:
        s = "ProvisioningData"
        if len(self.net_key) != 16:
            raise _fail(s, "net_key", "must be 16 octets")
        _check_uint(s, "key_index", self.key_index, 12)
        _check_uint(s, "iv_index", self.iv_index, 32)
        if not 0x0001 <= self.unicast_address <= 0x7FFF:
            raise _fail(s, "unicast_address", "must be a unicast address 0x0001-0x7FFF")

    @property
    def flags(self) -> int:
        """The Flags octet (§5.4.2.5: bit 0 Key Refresh, bit 1 IV Update; bits 2-7 Prohibited)."""
        return int(self.key_refresh) | (int(self.iv_update) << 1)

    def to_bytes(self) -> bytes:
        """The 25-octet plaintext."""
        return (
            self.net_key
            + self.key_index.to_bytes(2, "big")
            + bytes((self.flags,))
            + self.iv_index.to_bytes(4, "big")
            + self.unicast_address.to_bytes(2, "big")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the 25-octet plaintext; Prohibited flag bits and addresses are refused."""
        s = "ProvisioningData"
        if len(data) != ENCRYPTED_DATA_SIZE:
            raise _fail(s, None, f"must be 25 octets, got {len(data)}")
        key_index = int.from_bytes(data[16:18], "big")
        if key_index > 0x0FFF:
            raise _fail(s, "key_index", "must fit in 12 bits")
        flags = data[18]
        if flags & ~0x03:
            raise _fail(s, "flags", "bits 2-7 are Prohibited")
        return cls(
            net_key=bytes(data[:16]),
            key_index=key_index,
            iv_index=int.from_bytes(data[19:23], "big"),
            unicast_address=int.from_bytes(data[23:25], "big"),
            key_refresh=bool(flags & 0x01),
            iv_update=bool(flags & 0x02),
        )

    def __repr__(self) -> str:
        return (
            f"ProvisioningData(key_index={self.key_index}, iv_index={self.iv_index}, "
            f"unicast_address=0x{self.unicast_address:04x}, key_refresh={self.key_refresh}, "
            f"iv_update={self.iv_update})"
        )


_PDU_CLASSES: dict[int, type[ProvisioningPdu]] = {
    cls.PDU_TYPE: cls
    for cls in (
        ProvisioningInvite,
        ProvisioningCapabilities,
        ProvisioningStart,
        ProvisioningPublicKey,
        ProvisioningInputComplete,
        ProvisioningConfirmation,
        ProvisioningRandom,
        ProvisioningDataPdu,
        ProvisioningComplete,
        ProvisioningFailed,
        ProvisioningRecordRequest,
        ProvisioningRecordResponse,
        ProvisioningRecordsGet,
        ProvisioningRecordsList,
    )
}


def decode_pdu(data: bytes) -> ProvisioningPdu:
    """Decode one Provisioning PDU, dispatching on the type octet (§5.4.1).

    The two padding bits of the type octet must be 0; an unknown type raises
    :class:`UnknownPduTypeError`; anything else malformed raises ``DecodeError``.
    """
    if not data:
        raise _fail("ProvisioningPdu", "type", "empty PDU")
    type_octet = data[0]
    if type_octet & 0xC0:
        raise _fail("ProvisioningPdu", "type", "padding bits 6-7 must be 0")
    cls = _PDU_CLASSES.get(type_octet)
    if cls is None:
        raise UnknownPduTypeError("ProvisioningPdu", "type", f"0x{type_octet:02x} is RFU")
    return cls.from_parameters(bytes(data[1:]))
