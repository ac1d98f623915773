"""Typed errors of the mesh engine.

Errors say whose fault it was (see MshPRT 1.1 §5.4.4 for the provisioning error codes that
build on these):

* :class:`DecodeError`: bytes from the air (or from storage) were malformed. It names the
  structure and the field that was wrong, never a bare ``IndexError``/``struct.error``.
* :class:`AuthenticationError`: a MIC or a confirmation did not match: the data was tampered
  with, or the keys differ.
* :class:`UsageError`: our caller asked for something impossible (a local bug or bad input).

Every error derives from :class:`MeshError` so the Home Assistant layer can catch the engine's
errors in one place and translate them once.
"""

from __future__ import annotations


class MeshError(Exception):
    """Base class of every error the mesh engine raises on purpose."""


class DecodeError(MeshError, ValueError):
    """Bytes could not be decoded: wrong length, reserved value, unknown type.

    ``structure`` is what was being decoded (e.g. ``"ProvisioningCapabilities"``), ``field``
    the offending field (or ``None`` for the whole PDU), ``reason`` a short human explanation.
    """

    def __init__(self, structure: str, field: str | None, reason: str) -> None:
        self.structure = structure
        self.field = field
        self.reason = reason
        where = f"{structure}.{field}" if field else structure
        super().__init__(f"{where}: {reason}")


class AuthenticationError(MeshError):
    """A message integrity check (MIC) or a confirmation value did not match."""


class UsageError(MeshError, ValueError):
    """The caller asked the engine for something impossible."""
