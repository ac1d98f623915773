"""Authentication and key distribution (MshPRT 1.1 §5.4.2.3 - §5.4.2.5).

* the selection policy: which algorithm, public key method and OOB method a Provisioner uses
  for a device's Capabilities (§5.4.2.3: the strongest; never CMAC when the device supports
  another algorithm; never CMAC or No OOB when the device sets "only OOB authenticated");
* OOB values and AuthValue encoding (§5.4.2.4): numeric values as big-endian integers
  right-aligned, alphanumeric values as ASCII left-aligned, static values as binary, all zero
  padded to 16 (CMAC) or 32 (HMAC) octets; fresh values come from ``secrets``;
* the derivations of both algorithms: ConfirmationInputs, ConfirmationSalt, ConfirmationKey,
  Confirmation, ProvisioningSalt, SessionKey, SessionNonce, DevKey and the encryption of the
  Provisioning Data with an 8-octet MIC (§5.4.2.4.1, §5.4.2.5), on top of ``crypto``.
"""

from __future__ import annotations

from dataclasses import dataclass
import secrets

from custom_components.ble_mesh.mesh import crypto
from custom_components.ble_mesh.mesh.errors import MeshError, UsageError

from .pdus import (
    ALPHANUMERIC_CHARSET,
    MAX_OOB_SIZE,
    Algorithm,
    AuthMethod,
    InputAction,
    OutputAction,
    ProvisioningCapabilities,
    ProvisioningData,
    ProvisioningDataPdu,
    ProvisioningInvite,
    ProvisioningStart,
    PublicKeyMethod,
)

__all__ = [
    "InvalidOobValueError",
    "NoAcceptableMethodError",
    "OobValue",
    "ProvisioningError",
    "ProvisioningUsageError",
    "SessionKeys",
    "alphanumeric_auth_value",
    "auth_value",
    "check_start",
    "confirmation_inputs",
    "confirmation_key",
    "confirmation_salt",
    "confirmation_value",
    "decrypt_provisioning_data",
    "encrypt_provisioning_data",
    "generate_oob_value",
    "is_alphanumeric",
    "normalize_oob_value",
    "numeric_auth_value",
    "provisioning_salt",
    "select_method",
    "session_keys",
    "static_auth_value",
]

type OobValue = int | str
"""An Output/Input OOB value: a count or number (int) or an alphanumeric string."""


class ProvisioningError(MeshError):
    """Base of the provisioning engine's own errors."""


class ProvisioningUsageError(ProvisioningError, UsageError):
    """The caller asked the provisioning engine for something impossible."""


class NoAcceptableMethodError(ProvisioningUsageError):
    """No provisioning method allowed by the device's Capabilities and the spec is possible."""


class InvalidOobValueError(ProvisioningUsageError):
    """An OOB value (typed by a user, or a static OOB value) has the wrong form or size."""


# --- OOB values and AuthValue (§5.4.2.4) --------------------------------------------------


def is_alphanumeric(action: OutputAction | InputAction) -> bool:
    """Whether an action carries an alphanumeric string (else a number or a count)."""
    # Identity, not equality: OutputAction and InputAction are IntEnums whose values overlap
    # (OUTPUT_NUMERIC == INPUT_ALPHANUMERIC == 3).
    return action is OutputAction.OUTPUT_ALPHANUMERIC or action is InputAction.INPUT_ALPHANUMERIC


def generate_oob_value(action: OutputAction | InputAction, size: int) -> OobValue:
    """A fresh random OOB value for one session (§5.4.2.4; CVE-2020-26556/26557).

    Numbers and counts (blink, beep, vibrate, push, twist, numeric) are drawn uniformly from
    1 .. 10^size - 1; alphanumeric values are ``size`` characters of digits and upper-case
    letters.
    """
    if not 1 <= size <= MAX_OOB_SIZE:
        raise InvalidOobValueError(f"OOB size must be 1..{MAX_OOB_SIZE}, got {size}")
    if is_alphanumeric(action):
        return "".join(secrets.choice(ALPHANUMERIC_CHARSET) for _ in range(size))
    return secrets.randbelow(10**size - 1) + 1


def normalize_oob_value(
    action: OutputAction | InputAction, size: int, value: int | str
) -> OobValue:
    """Check and normalise a value a person entered for ``action`` (at most ``size`` digits).

    Numbers may be given as ``int`` or as a decimal string; alphanumeric strings are
    upper-cased. Raises :class:`InvalidOobValueError` (the value is never echoed).
    """
    if is_alphanumeric(action):
        if not isinstance(value, str):
            raise InvalidOobValueError("an alphanumeric OOB value must be a string")
        text = value.strip().upper()
        if not 1 <= len(text) <= size or any(c not in ALPHANUMERIC_CHARSET for c in text):
            raise InvalidOobValueError(f"the OOB value must be 1..{size} characters of 0-9 and A-Z")
        return text
    if isinstance(value, bool):
        raise InvalidOobValueError("the OOB value must be a number")
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdecimal() or len(text) > size:
            raise InvalidOobValueError(f"the OOB value must be a number of at most {size} digits")
        number = int(text)
    else:
        number = value
    if not 0 <= number < 10**size:
        raise InvalidOobValueError(f"the OOB value must be a number of at most {size} digits")
    return number


def numeric_auth_value(number: int, algorithm: Algorithm) -> bytes:
    """Numeric AuthValue: a big-endian unsigned integer right-aligned in 16/32 octets."""
    if not 0 <= number < 10**MAX_OOB_SIZE:
        raise InvalidOobValueError("numeric OOB value out of range")
    return number.to_bytes(algorithm.auth_size, "big")


def alphanumeric_auth_value(text: str, algorithm: Algorithm) -> bytes:
    """Alphanumeric AuthValue: ASCII, left-aligned and zero padded to 16/32 octets."""
    if not 1 <= len(text) <= MAX_OOB_SIZE or any(c not in ALPHANUMERIC_CHARSET for c in text):
        raise InvalidOobValueError("alphanumeric OOB value must be 1..8 characters 0-9, A-Z")
    return text.encode("ascii").ljust(algorithm.auth_size, b"\x00")


def static_auth_value(value: bytes, algorithm: Algorithm) -> bytes:
    """Static OOB AuthValue: binary, 16 octets (CMAC) or 32 octets (HMAC).

    A shorter value is zero padded on the right (Binary type, §5.4.2.4.1); a longer one is an
    error. Callers should supply the full length: padding throws away entropy.
    """
    if not 1 <= len(value) <= algorithm.auth_size:
        raise InvalidOobValueError(
            f"static OOB value must be 1..{algorithm.auth_size} octets for {algorithm.name}"
        )
    return bytes(value).ljust(algorithm.auth_size, b"\x00")


def auth_value(
    algorithm: Algorithm,
    method: AuthMethod,
    action: OutputAction | InputAction | None = None,
    value: OobValue | bytes | None = None,
) -> bytes:
    """The AuthValue of one session for the chosen method (§5.4.2.4)."""
    if method is AuthMethod.NO_OOB:
        return bytes(algorithm.auth_size)
    if method is AuthMethod.STATIC_OOB:
        if not isinstance(value, bytes):
            raise InvalidOobValueError("static OOB needs a bytes value")
        return static_auth_value(value, algorithm)
    if action is None or value is None or isinstance(value, bytes):
        raise InvalidOobValueError("Output/Input OOB needs an action and a number or string")
    if is_alphanumeric(action):
        if not isinstance(value, str):
            raise InvalidOobValueError("an alphanumeric OOB value must be a string")
        return alphanumeric_auth_value(value, algorithm)
    if not isinstance(value, int):
        raise InvalidOobValueError("a numeric OOB value must be an integer")
    return numeric_auth_value(value, algorithm)


# --- method selection (§5.4.2.3) ----------------------------------------------------------


def check_start(caps: ProvisioningCapabilities, start: ProvisioningStart) -> str | None:
    """Why ``start`` is not allowed for a device with ``caps`` (``None`` when it is).

    Used by the device to validate a received Start (Invalid Format) and by the Provisioner to
    validate a caller's choice.
    """
    if start.algorithm not in caps.supported_algorithms:
        return f"algorithm {start.algorithm.name} is not supported by the device"
    if caps.only_oob_authenticated:
        if start.algorithm is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM:
            return "the device allows only OOB authenticated provisioning: CMAC is not allowed"
        if start.auth_method is AuthMethod.NO_OOB:
            return "the device allows only OOB authenticated provisioning: No OOB is not allowed"
    if start.public_key is PublicKeyMethod.OOB and not caps.public_key_oob:
        return "the device has no OOB public key"
    if start.auth_method is AuthMethod.STATIC_OOB and not caps.static_oob:
        return "the device has no static OOB information"
    if start.auth_method is AuthMethod.OUTPUT_OOB:
        if not isinstance(start.auth_action, OutputAction) or (
            start.auth_action not in caps.output_actions
        ):
            return "the device does not support this Output OOB action"
        if start.auth_size > caps.output_oob_size:
            return "the Output OOB size exceeds the device's maximum"
    if start.auth_method is AuthMethod.INPUT_OOB:
        if not isinstance(start.auth_action, InputAction) or (
            start.auth_action not in caps.input_actions
        ):
            return "the device does not support this Input OOB action"
        if start.auth_size > caps.input_oob_size:
            return "the Input OOB size exceeds the device's maximum"
    return None


def _action_richness(action: OutputAction | InputAction) -> int:
    if is_alphanumeric(action):
        return 2
    if action is OutputAction.OUTPUT_NUMERIC or action is InputAction.INPUT_NUMERIC:
        return 1
    return 0  # counted actions: blink, beep, vibrate, push, twist


def select_method(
    caps: ProvisioningCapabilities,
    oob_public_key_known: bool,
    static_oob_available: bool,
    *,
    auth_method: AuthMethod | None = None,
) -> ProvisioningStart:
    """The strongest Start parameters for ``caps`` (§5.4.2.3).

    With ``auth_method`` (a person's choice of method) only that method's candidates count;
    the algorithm, public key method, action and size are still the strongest offered.

    * Algorithm: HMAC-SHA256 whenever offered; CMAC only when it is the only one (and never
      when the device sets "only OOB authenticated").
    * Public key: OOB when the device offers it and the caller knows the key.
    * Method: Static OOB when both sides have it and it is not the CMAC-with-in-band-key case
      (where CVE-2020-26559 lets a rogue device recover the static value); then Input OOB or
      Output OOB, preferring alphanumeric over numeric over counted actions and the largest
      size, Input over Output at equal strength (we pick the random value ourselves); Static
      OOB under CMAC with an in-band key next; No OOB last (refused if "only OOB
      authenticated").

    Raises :class:`NoAcceptableMethodError` when nothing is allowed.
    """
    algorithms = caps.supported_algorithms
    if Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM in algorithms:
        algorithm = Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
    elif Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM in algorithms:
        if caps.only_oob_authenticated:
            raise NoAcceptableMethodError(
                "the device allows only OOB authenticated provisioning but offers only CMAC"
            )
        algorithm = Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM
    else:
        raise NoAcceptableMethodError("the device offers no known provisioning algorithm")
    public_key = (
        PublicKeyMethod.OOB
        if oob_public_key_known and caps.public_key_oob
        else PublicKeyMethod.NO_OOB
    )
    strong_static = (
        algorithm is Algorithm.BTM_ECDH_P256_HMAC_SHA256_AES_CCM
        or public_key is PublicKeyMethod.OOB
    )
    # (tier, action richness, size, prefer input) -> Start; the largest key wins.
    candidates: list[tuple[tuple[int, int, int, int], ProvisioningStart]] = []
    if caps.static_oob and static_oob_available:
        candidates.append(
            (
                (3 if strong_static else 1, 0, 0, 0),
                ProvisioningStart(algorithm, public_key, AuthMethod.STATIC_OOB),
            )
        )
    candidates.extend(
        (
            (2, _action_richness(out_action), caps.output_oob_size, 0),
            ProvisioningStart(
                algorithm, public_key, AuthMethod.OUTPUT_OOB, out_action, caps.output_oob_size
            ),
        )
        for out_action in caps.output_actions
    )
    candidates.extend(
        (
            (2, _action_richness(in_action), caps.input_oob_size, 1),
            ProvisioningStart(
                algorithm, public_key, AuthMethod.INPUT_OOB, in_action, caps.input_oob_size
            ),
        )
        for in_action in caps.input_actions
    )
    if not caps.only_oob_authenticated:
        candidates.append(((0, 0, 0, 0), ProvisioningStart(algorithm, public_key)))
    if auth_method is not None:
        candidates = [c for c in candidates if c[1].auth_method is auth_method]
        if not candidates:
            raise NoAcceptableMethodError(f"{auth_method.name} is not usable with this device")
    if not candidates:
        raise NoAcceptableMethodError(
            "the device allows only OOB authenticated provisioning but no OOB method is usable"
        )
    return max(candidates, key=lambda c: (c[0], int(c[1].auth_action or 0)))[1]


# --- derivations (§5.4.2.4.1, §5.4.2.5) ---------------------------------------------------


def confirmation_inputs(
    invite: ProvisioningInvite,
    caps: ProvisioningCapabilities,
    start: ProvisioningStart,
    provisioner_public_key: bytes,
    device_public_key: bytes,
) -> bytes:
    """ConfirmationInputs: the three PDUs' parameters (type octets excluded) and both keys."""
    return (
        invite.parameters()
        + caps.parameters()
        + start.parameters()
        + provisioner_public_key
        + device_public_key
    )


def confirmation_salt(algorithm: Algorithm, inputs: bytes) -> bytes:
    """ConfirmationSalt: s1(inputs) with CMAC, s2(inputs) with HMAC."""
    if algorithm is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM:
        return crypto.s1(inputs)
    return crypto.s2(inputs)


def confirmation_key(
    algorithm: Algorithm, ecdh_secret: bytes, salt: bytes, auth_value: bytes
) -> bytes:
    """ConfirmationKey: k1(ECDHSecret, salt, "prck") or k5(ECDHSecret || AuthValue, ...)."""
    if algorithm is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM:
        return crypto.k1(ecdh_secret, salt, b"prck")
    return crypto.k5(ecdh_secret + auth_value, salt, b"prck256")


def confirmation_value(
    algorithm: Algorithm, conf_key: bytes, random: bytes, auth_value: bytes
) -> bytes:
    """Confirmation: AES-CMAC(key, Random || AuthValue) or HMAC-SHA256(key, Random)."""
    if algorithm is Algorithm.BTM_ECDH_P256_CMAC_AES128_AES_CCM:
        return crypto.aes_cmac(conf_key, random + auth_value)
    return crypto.hmac_sha256(conf_key, random)


def provisioning_salt(conf_salt: bytes, random_provisioner: bytes, random_device: bytes) -> bytes:
    """ProvisioningSalt = s1(ConfirmationSalt || RandomProvisioner || RandomDevice)."""
    return crypto.s1(conf_salt + random_provisioner + random_device)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """SessionKey, SessionNonce and DevKey of one session (§5.4.2.5). Hidden from ``repr``."""

    session_key: bytes
    session_nonce: bytes
    device_key: bytes

    def __repr__(self) -> str:
        return "SessionKeys(<hidden>)"


def session_keys(ecdh_secret: bytes, prov_salt: bytes) -> SessionKeys:
    """SessionKey k1(.., "prsk"), SessionNonce (13 LSB of k1(.., "prsn")), DevKey "prdk"."""
    return SessionKeys(
        session_key=crypto.k1(ecdh_secret, prov_salt, b"prsk"),
        session_nonce=crypto.k1(ecdh_secret, prov_salt, b"prsn")[3:],
        device_key=crypto.k1(ecdh_secret, prov_salt, b"prdk"),
    )


def encrypt_provisioning_data(keys: SessionKeys, data: ProvisioningData) -> ProvisioningDataPdu:
    """Encrypt the Provisioning Data with AES-CCM and an 8-octet MIC (§5.4.2.5)."""
    sealed = crypto.aes_ccm_encrypt(keys.session_key, keys.session_nonce, data.to_bytes(), 8)
    return ProvisioningDataPdu(sealed[:-8], sealed[-8:])


def decrypt_provisioning_data(keys: SessionKeys, pdu: ProvisioningDataPdu) -> ProvisioningData:
    """Decrypt and decode; raises ``crypto.InvalidMicError`` or ``DecodeError``."""
    plain = crypto.aes_ccm_decrypt(
        keys.session_key, keys.session_nonce, pdu.encrypted_data + pdu.mic, 8
    )
    return ProvisioningData.from_bytes(plain)
