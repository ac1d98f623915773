"""Mesh security toolbox (MshPRT 1.1 §3.9 "Mesh security", §3.9.2 toolbox functions).

Every primitive is the ``cryptography`` package's: AES-128 in ECB mode for the ``e``
function, AES-CMAC (RFC 4493), AES-CCM (RFC 3610), HMAC-SHA256 and ECDH on P-256. Nothing here
is a hand-written cipher; this module only composes the primitives the way the specification
names them (s1, s2, k1..k5, nonces, obfuscation, virtual addresses).

All functions take and return ``bytes``. A wrong input length raises ``ValueError`` naming the
argument; a MIC that does not verify raises :class:`InvalidMicError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import hashlib
import hmac
import secrets
import struct
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import cmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from .errors import AuthenticationError

__all__ = [
    "EcdhKeyPair",
    "InvalidMicError",
    "NetworkKeyMaterial",
    "aes_ccm_decrypt",
    "aes_ccm_encrypt",
    "aes_cmac",
    "aes_ecb",
    "application_nonce",
    "beacon_key",
    "device_nonce",
    "generate_ecdh_key_pair",
    "hmac_sha256",
    "identity_key",
    "k1",
    "k2",
    "k3",
    "k4",
    "k5",
    "load_public_key",
    "network_key_material",
    "network_nonce",
    "obfuscate",
    "private_beacon_key",
    "proxy_nonce",
    "s1",
    "s2",
    "virtual_address",
]

KEY_SIZE = 16
NONCE_SIZE = 13
MIC_SIZES = (4, 8)
PUBLIC_KEY_SIZE = 64  # X || Y, 32 octets each (MshPRT 1.1 §5.4.1.4)
ZERO_16 = bytes(16)
ZERO_32 = bytes(32)

# P-256 group order n; MshPRT 1.1 §5.4.3.1: "The private keys shall be between 1 and r/2".
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class InvalidMicError(AuthenticationError):
    """AES-CCM authentication failed: the MIC does not match the data and key."""


def _check_len(name: str, value: bytes, *sizes: int) -> None:
    if len(value) not in sizes:
        expected = " or ".join(str(s) for s in sizes)
        raise ValueError(f"{name} must be {expected} octets, got {len(value)}")


# --- the e function, AES-CMAC, s1, s2 (§3.9.2.1 - §3.9.2.4) ------------------------------


@lru_cache(maxsize=256)
def _ecb_encryptor(key: bytes) -> Any:
    # An ECB context carries no state from one block to the next, so one context per key
    # serves every e() call; building a context costs several times the encryption itself.
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - e() is one block


def aes_ecb(key: bytes, block: bytes) -> bytes:
    """Security function e (§3.9.2.1): AES-128 encryption of one 16-octet block."""
    if len(key) != KEY_SIZE or len(block) != 16:
        _check_len("key", key, KEY_SIZE)
        _check_len("block", block, 16)
    result: bytes = _ecb_encryptor(bytes(key)).update(block)
    return result


def aes_cmac(key: bytes, message: bytes) -> bytes:
    """AES-CMAC (§3.9.2.2, RFC 4493) of ``message`` under a 16-octet ``key``."""
    _check_len("key", key, KEY_SIZE)
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(message)
    return mac.finalize()


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (§3.9.2.3) of ``message`` under ``key``."""
    return hmac.new(key, message, hashlib.sha256).digest()


def s1(m: bytes) -> bytes:
    """Salt generation function s1 (§3.9.2.5): AES-CMAC with a zero key."""
    return aes_cmac(ZERO_16, m)


def s2(m: bytes) -> bytes:
    """Salt generation function s2 (§3.9.2.6, Mesh 1.1): HMAC-SHA256 with a zero key."""
    return hmac_sha256(ZERO_32, m)


# --- key derivation functions k1..k5 (§3.9.2.6 - §3.9.2.11) ------------------------------


def k1(n: bytes, salt: bytes, p: bytes) -> bytes:
    """Derivation function k1: T = AES-CMAC_SALT(N); k1 = AES-CMAC_T(P)."""
    _check_len("salt", salt, KEY_SIZE)
    t = aes_cmac(salt, n)
    return aes_cmac(t, p)


_SMK2 = s1(b"smk2")
_SMK3 = s1(b"smk3")
_SMK4 = s1(b"smk4")
_VTAD = s1(b"vtad")
_NKIK = s1(b"nkik")
_NKBK = s1(b"nkbk")
_NKPK = s1(b"nkpk")
_ID128_01 = b"id128\x01"


def k2(n: bytes, p: bytes) -> tuple[int, bytes, bytes]:
    """Network key material derivation k2: returns ``(nid, encryption_key, privacy_key)``."""
    _check_len("n", n, KEY_SIZE)
    if not p:
        raise ValueError("p must be at least 1 octet, got 0")
    t = aes_cmac(_SMK2, n)
    t1 = aes_cmac(t, p + b"\x01")
    t2 = aes_cmac(t, t1 + p + b"\x02")
    t3 = aes_cmac(t, t2 + p + b"\x03")
    # k2 = (T1 || T2 || T3) mod 2^263: the NID is the 7 least significant bits of T1.
    return t1[15] & 0x7F, t2, t3


def k3(n: bytes) -> bytes:
    """Derivation function k3: the 8-octet Network ID of a NetKey."""
    _check_len("n", n, KEY_SIZE)
    t = aes_cmac(_SMK3, n)
    return aes_cmac(t, b"id64\x01")[8:]


def k4(n: bytes) -> int:
    """Derivation function k4: the 6-bit AID of an AppKey."""
    _check_len("n", n, KEY_SIZE)
    t = aes_cmac(_SMK4, n)
    return aes_cmac(t, b"id6\x01")[15] & 0x3F


def k5(n: bytes, salt: bytes, p: bytes) -> bytes:
    """Derivation function k5 (Mesh 1.1): T = HMAC-SHA256_SALT(N); k5 = HMAC-SHA256_T(P)."""
    if len(n) < 32:
        raise ValueError(f"n must be at least 32 octets, got {len(n)}")
    _check_len("salt", salt, 32)
    t = hmac_sha256(salt, n)
    return hmac_sha256(t, p)


def identity_key(net_key: bytes) -> bytes:
    """IdentityKey (§3.9.6.3.3), used for Node Identity advertising."""
    _check_len("net_key", net_key, KEY_SIZE)
    return k1(net_key, _NKIK, _ID128_01)


def beacon_key(net_key: bytes) -> bytes:
    """BeaconKey (§3.9.6.3.4), authenticates Secure Network beacons."""
    _check_len("net_key", net_key, KEY_SIZE)
    return k1(net_key, _NKBK, _ID128_01)


def private_beacon_key(net_key: bytes) -> bytes:
    """PrivateBeaconKey (§3.9.6.3.5), protects Mesh Private beacons."""
    _check_len("net_key", net_key, KEY_SIZE)
    return k1(net_key, _NKPK, _ID128_01)


@dataclass(frozen=True, slots=True)
class NetworkKeyMaterial:
    """Everything derived from one NetKey (§3.9.6.3). ``repr`` never shows a key."""

    nid: int
    encryption_key: bytes
    privacy_key: bytes
    network_id: bytes
    identity_key: bytes
    beacon_key: bytes
    private_beacon_key: bytes

    def __repr__(self) -> str:
        return f"NetworkKeyMaterial(nid=0x{self.nid:02x}, network_id={self.network_id.hex()})"


@lru_cache(maxsize=64)
def network_key_material(net_key: bytes) -> NetworkKeyMaterial:
    """Derive (once per NetKey, cached) the flooding-credential key material."""
    nid, encryption_key, privacy_key = k2(net_key, b"\x00")
    return NetworkKeyMaterial(
        nid=nid,
        encryption_key=encryption_key,
        privacy_key=privacy_key,
        network_id=k3(net_key),
        identity_key=identity_key(net_key),
        beacon_key=beacon_key(net_key),
        private_beacon_key=private_beacon_key(net_key),
    )


def virtual_address(label_uuid: bytes) -> int:
    """Virtual address of a Label UUID (§3.4.2.3): 0b10 || AES-CMAC_s1("vtad")(uuid) mod 2^14."""
    _check_len("label_uuid", label_uuid, 16)
    digest = aes_cmac(_VTAD, label_uuid)
    return 0x8000 | (int.from_bytes(digest[14:16], "big") & 0x3FFF)


# --- AES-CCM (§3.9.2.2) -------------------------------------------------------------------


@lru_cache(maxsize=256)
def _ccm(key: bytes, mic_size: int) -> AESCCM:
    return AESCCM(key, tag_length=mic_size)


def _check_ccm_args(key: bytes, nonce: bytes, mic_size: int) -> None:
    _check_len("key", key, KEY_SIZE)
    _check_len("nonce", nonce, NONCE_SIZE)
    if mic_size not in MIC_SIZES:
        raise ValueError(f"mic_size must be 4 or 8, got {mic_size}")


def aes_ccm_encrypt(
    key: bytes, nonce: bytes, plaintext: bytes, mic_size: int, aad: bytes = b""
) -> bytes:
    """AES-CCM encryption: returns ciphertext || MIC (``mic_size`` octets, 4 or 8)."""
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE or mic_size not in MIC_SIZES:
        _check_ccm_args(key, nonce, mic_size)
    return _ccm(key, mic_size).encrypt(nonce, plaintext, aad or None)


def aes_ccm_decrypt(
    key: bytes, nonce: bytes, ciphertext_and_mic: bytes, mic_size: int, aad: bytes = b""
) -> bytes:
    """AES-CCM decryption; raises :class:`InvalidMicError` when the MIC does not verify."""
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE or mic_size not in MIC_SIZES:
        _check_ccm_args(key, nonce, mic_size)
    if len(ciphertext_and_mic) < mic_size:
        raise ValueError(
            f"ciphertext_and_mic must be at least {mic_size} octets, got {len(ciphertext_and_mic)}"
        )
    try:
        return _ccm(key, mic_size).decrypt(nonce, ciphertext_and_mic, aad or None)
    except InvalidTag:
        raise InvalidMicError("AES-CCM MIC does not match") from None


# --- nonces (§3.9.5) ----------------------------------------------------------------------


def _check_seq_addr(seq: int, **addresses: int) -> None:
    if not 0 <= seq <= 0xFFFFFF:
        raise ValueError(f"seq must fit in 24 bits, got {seq}")
    for name, value in addresses.items():
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"{name} must fit in 16 bits, got {value}")


# Type octet, then (flags octet << 24 | SEQ) as 4 octets, then SRC, DST (or 0x0000), IV Index.
_NONCE = struct.Struct(">BIHHI")


def network_nonce(ctl_ttl: int, seq: int, src: int, iv_index: int) -> bytes:
    """Network nonce (§3.9.5.1): 0x00 || CTL|TTL || SEQ || SRC || 0x0000 || IV Index."""
    if not (0 <= seq <= 0xFFFFFF and 0 <= src <= 0xFFFF):
        _check_seq_addr(seq, src=src)
    return _NONCE.pack(0x00, ctl_ttl << 24 | seq, src, 0, iv_index)


def application_nonce(szmic: bool, seq: int, src: int, dst: int, iv_index: int) -> bytes:
    """Application nonce (§3.9.5.2): 0x01 || ASZMIC || SEQ || SRC || DST || IV Index."""
    if not (0 <= seq <= 0xFFFFFF and 0 <= src <= 0xFFFF and 0 <= dst <= 0xFFFF):
        _check_seq_addr(seq, src=src, dst=dst)
    return _NONCE.pack(0x01, (0x80000000 if szmic else 0) | seq, src, dst, iv_index)


def device_nonce(szmic: bool, seq: int, src: int, dst: int, iv_index: int) -> bytes:
    """Device nonce (§3.9.5.3): 0x02 || ASZMIC || SEQ || SRC || DST || IV Index."""
    if not (0 <= seq <= 0xFFFFFF and 0 <= src <= 0xFFFF and 0 <= dst <= 0xFFFF):
        _check_seq_addr(seq, src=src, dst=dst)
    return _NONCE.pack(0x02, (0x80000000 if szmic else 0) | seq, src, dst, iv_index)


def proxy_nonce(seq: int, src: int, iv_index: int) -> bytes:
    """Proxy nonce (§3.9.5.4): 0x03 || 0x00 || SEQ || SRC || 0x0000 || IV Index."""
    if not (0 <= seq <= 0xFFFFFF and 0 <= src <= 0xFFFF):
        _check_seq_addr(seq, src=src)
    return _NONCE.pack(0x03, seq, src, 0, iv_index)


# --- network header obfuscation (§3.9.7.3) -----------------------------------------------


# 0x0000000000 || IV Index || Privacy Random (§3.9.7.3)
_PECB_PLAINTEXT = struct.Struct(">5xI7s")


def obfuscate(privacy_key: bytes, iv_index: int, privacy_random: bytes, header: bytes) -> bytes:
    """XOR the 6-octet CTL|TTL || SEQ || SRC with PECB (symmetric: also de-obfuscates).

    PECB = e(PrivacyKey, 0x0000000000 || IV Index || Privacy Random), Privacy Random being the
    first 7 octets of EncDST || EncTransportPDU || NetMIC.
    """
    if len(privacy_random) != 7 or len(header) != 6 or len(privacy_key) != KEY_SIZE:
        _check_len("privacy_random", privacy_random, 7)
        _check_len("header", header, 6)
        _check_len("privacy_key", privacy_key, KEY_SIZE)
    # e(PrivacyKey, ...) as aes_ecb computes it, without its call and checks: a hot path.
    try:
        encryptor = _ecb_encryptor(privacy_key)
    except TypeError:  # an unhashable bytes-like key (bytearray, memoryview)
        encryptor = _ecb_encryptor(bytes(privacy_key))
    pecb = encryptor.update(_PECB_PLAINTEXT.pack(iv_index, bytes(privacy_random)))
    return (int.from_bytes(header) ^ int.from_bytes(pecb[:6])).to_bytes(6)


# --- ECDH P-256 (§5.4.3.1; used by provisioning) ----------------------------------------


class EcdhKeyPair:
    """An ephemeral P-256 key pair for one provisioning session.

    The private scalar is drawn from [1, n/2] as MshPRT 1.1 §5.4.3.1 requires, with
    ``secrets``. ``repr`` shows only the public key.
    """

    __slots__ = ("_private", "public_key")

    def __init__(self, private_value: int | None = None) -> None:
        if private_value is None:
            private_value = secrets.randbelow(_P256_ORDER // 2) + 1
        if not 1 <= private_value < _P256_ORDER:
            raise ValueError("private_value is outside the P-256 group order")
        self._private = ec.derive_private_key(private_value, ec.SECP256R1())
        point = self._private.public_key().public_bytes(
            encoding=serialization.Encoding.X962,
            format=serialization.PublicFormat.UncompressedPoint,
        )
        self.public_key: bytes = point[1:]  # X || Y without the 0x04 prefix

    def shared_secret(self, peer_public_key: bytes) -> bytes:
        """ECDHSecret (the 32-octet X coordinate) with a validated peer public key."""
        return self._private.exchange(ec.ECDH(), load_public_key(peer_public_key))

    def __repr__(self) -> str:
        return f"EcdhKeyPair(public_key={self.public_key.hex()})"


def generate_ecdh_key_pair() -> EcdhKeyPair:
    """A fresh ephemeral key pair (one per provisioning session, §5.4.2.3)."""
    return EcdhKeyPair()


def load_public_key(public_key: bytes) -> ec.EllipticCurvePublicKey:
    """Validate a 64-octet X || Y public key as a P-256 point (§5.4.3.1).

    Raises ``ValueError`` for a wrong length, coordinates out of range, the point at infinity
    or a point that is not on the curve (invalid-curve attacks).
    """
    _check_len("public_key", public_key, PUBLIC_KEY_SIZE)
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + public_key)
    except ValueError as err:
        raise ValueError(f"public_key is not a valid P-256 point: {err}") from None
