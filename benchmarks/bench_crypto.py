"""Crypto toolbox overhead: our functions next to the bare ``cryptography`` calls they wrap."""

from __future__ import annotations

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from benchmarks.common import Case
from custom_components.ble_mesh.mesh import crypto

NET_KEY = bytes.fromhex("7dd7364cd842ad18c17c2b820c84c3d6")
KEY = bytes.fromhex("0123456789abcdef0123456789abcdef")
NONCE = bytes.fromhex("00112233445566778899aabbcc")
PLAINTEXT = bytes(16)
SMK2 = crypto.s1(b"smk2")


def _bare_cmac(key: bytes, message: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(message)
    return mac.finalize()


def _bare_k2() -> object:
    # The four AES-CMAC computations k2 consists of, with nothing around them.
    t = _bare_cmac(SMK2, NET_KEY)
    t1 = _bare_cmac(t, b"\x00\x01")
    t2 = _bare_cmac(t, t1 + b"\x00\x02")
    return _bare_cmac(t, t2 + b"\x00\x03")


_BARE_CCM = AESCCM(KEY, tag_length=4)


def _bare_ccm() -> object:
    return _BARE_CCM.decrypt(NONCE, _BARE_CCM.encrypt(NONCE, PLAINTEXT, None), None)


def _our_ccm() -> object:
    sealed = crypto.aes_ccm_encrypt(KEY, NONCE, PLAINTEXT, 4)
    return crypto.aes_ccm_decrypt(KEY, NONCE, sealed, 4)


def cases() -> list[Case]:
    """k2 and a 16-octet AES-CCM round trip, each with its bare-library baseline."""
    return [
        Case("crypto k2", "cryptography: 4x AES-CMAC", _bare_k2, unit="derivation"),
        Case(
            "crypto k2",
            "ble_mesh crypto.k2",
            lambda: crypto.k2(NET_KEY, b"\x00"),
            baseline="cryptography: 4x AES-CMAC",
            unit="derivation",
        ),
        Case("crypto ccm", "cryptography: AESCCM encrypt+decrypt", _bare_ccm, unit="round trip"),
        Case(
            "crypto ccm",
            "ble_mesh aes_ccm_encrypt+decrypt",
            _our_ccm,
            baseline="cryptography: AESCCM encrypt+decrypt",
            unit="round trip",
        ),
    ]
