"""Parse what a user scans or types to provision a device (MshPRT 1.1 §5.6.1, §5.7.2).

The Bluetooth SIG standardizes exactly one 2D-code payload for mesh: the Certificate-Based
Provisioning URI (MshPRT 1.1 §5.7.2, examples in §8.11): the Certificate-Based Provisioning
Base URI with a query component carrying the Device UUID in ITU-T X.667 canonical form::

    https://mesh.example.com/oob?uuid=b09dc847-5408-40cc-9c54-0fe8c87429e7

The scheme must be ``https`` (any case; an all-upper-case variant exists for QR alphanumeric
mode). The provisioner appends ``content=device-certificate`` (see
:meth:`ProvisioningOobData.certificate_request_uri`), fetches the certificate over TLS,
validates it and uses its public key as the OOB public key. That fetch and the certificate
check are not done here.

There is no SIG format for a static OOB value or a raw public key. We also accept, from
vendors' labels and manual entry:

* ``key:value;key:value`` text (Amazon's BSS barcode style; ``=`` also separates a pair),
* a JSON object with the same keys,
* plain hex: 16 octets = static OOB for BTM_ECDH_P256_CMAC_AES128_AES_CCM, 32 octets =
  static OOB for BTM_ECDH_P256_HMAC_SHA256_AES_CCM, 64 octets = public key X || Y, 65 octets
  starting with 0x04 = uncompressed SEC1 public key,
* a bare Device UUID in canonical (hyphenated) form.

Nothing is guessed: a key we know with a value of the wrong length, two values for one thing,
or text of no known form raises :class:`QrFormatError` saying why. Public keys are checked to
be on P-256 (§5.4.3.1, via :func:`..crypto.load_public_key`). ``repr`` and errors never show
the static OOB value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import json
import re
from urllib.parse import parse_qsl, urlsplit

from custom_components.ble_mesh.mesh.crypto import load_public_key
from custom_components.ble_mesh.mesh.errors import DecodeError

__all__ = [
    "OobSource",
    "ProvisioningOobData",
    "QrFormatError",
    "format_uuid",
    "parse_provisioning_oob",
]

_STRUCTURE = "ProvisioningOobData"
_MAX_TEXT = 4096  # no legitimate label is longer; bounds the work on hostile input
_UUID_CANONICAL = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_HEX = re.compile(r"[0-9a-fA-F]*")
_STATIC_OOB_SIZES = (16, 32)  # CMAC / HMAC AuthValue (§5.4.2.4.1)
_PUBLIC_KEY_SIZE = 64

# Recognized keys, compared after lower-casing and dropping "_", "-", " " and ".".
_UUID_KEYS = frozenset({"uuid", "deviceuuid", "devuuid"})
_STATIC_OOB_KEYS = frozenset(
    {"oob", "staticoob", "static", "oobdata", "staticoobdata", "authvalue", "oobkey"}
)
_PUBLIC_KEY_KEYS = frozenset(
    {"pubkey", "publickey", "pk", "oobpublickey", "devicepublickey", "devpubkey"}
)


class QrFormatError(DecodeError):
    """Scanned or typed provisioning data has no known form or carries invalid values."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(_STRUCTURE, field, reason)


class OobSource(Enum):
    """Which form the data was found in."""

    CERTIFICATE_URI = "certificate_uri"  # SIG Certificate-Based Provisioning URI (§5.7.2)
    KEY_VALUE = "key_value"  # vendor key:value;key:value text
    JSON = "json"  # vendor JSON object
    HEX = "hex"  # plain hex static OOB or public key
    UUID = "uuid"  # a bare canonical Device UUID


@dataclass(frozen=True, slots=True, repr=False)
class ProvisioningOobData:
    """What a QR code or label told us about a device to provision.

    ``certificate_uri`` is set for the SIG form: the URI as scanned, from which the device
    certificate (and with it the OOB public key) is fetched. ``extra`` holds the vendor keys
    we do not interpret (for example Amazon's ABV, UPC, PID), in their order.
    """

    source: OobSource
    device_uuid: bytes | None = None
    static_oob: bytes | None = None
    public_key: bytes | None = None
    certificate_uri: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        parts = [f"source={self.source.value}"]
        if self.device_uuid is not None:
            parts.append(f"device_uuid={format_uuid(self.device_uuid)}")
        if self.static_oob is not None:
            parts.append(f"static_oob=<{len(self.static_oob)} octets hidden>")
        if self.public_key is not None:
            parts.append(f"public_key={self.public_key.hex()}")
        if self.certificate_uri is not None:
            parts.append(f"certificate_uri={self.certificate_uri!r}")
        if self.extra:
            parts.append(f"extra_keys={[key for key, _ in self.extra]!r}")
        return f"ProvisioningOobData({', '.join(parts)})"

    __str__ = __repr__

    def certificate_request_uri(self, content: str = "device-certificate") -> str:
        """The URI to GET for the device certificate (§5.7.2: append ``content=...``)."""
        if self.certificate_uri is None:
            raise QrFormatError("certificate_uri", "not a Certificate-Based Provisioning URI")
        separator = "&" if urlsplit(self.certificate_uri).query else "?"
        return f"{self.certificate_uri}{separator}content={content}"


def format_uuid(device_uuid: bytes) -> str:
    """A 16-octet UUID in ITU-T X.667 canonical form (lower case, hyphenated)."""
    h = device_uuid.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_provisioning_oob(text: str) -> ProvisioningOobData:
    """Parse scanned or typed provisioning data; raises :class:`QrFormatError`."""
    if not isinstance(text, str):
        raise QrFormatError(None, "expected text")
    if len(text) > _MAX_TEXT:
        raise QrFormatError(None, f"longer than {_MAX_TEXT} characters")
    stripped = text.strip()
    if not stripped:
        raise QrFormatError(None, "empty")
    lowered = stripped.lower()
    if lowered.startswith("https://"):
        return _parse_certificate_uri(stripped)
    if re.match(r"[a-z][a-z0-9+.-]*://", lowered):
        raise QrFormatError(
            "certificate_uri", "only https:// URIs are Certificate-Based Provisioning URIs"
        )
    if stripped.startswith("{"):
        return _parse_json(stripped)
    if _UUID_CANONICAL.fullmatch(stripped):
        return ProvisioningOobData(
            OobSource.UUID, device_uuid=bytes.fromhex(stripped.replace("-", ""))
        )
    compact = re.sub(r"\s+", "", stripped)
    if compact[:2].lower() == "0x":
        compact = compact[2:]
    if compact and _HEX.fullmatch(compact):
        return _parse_plain_hex(compact)
    if ":" in stripped or "=" in stripped:
        return _parse_key_value(stripped)
    raise QrFormatError(
        None,
        "not a Certificate-Based Provisioning URI, key:value list, JSON object or hex value",
    )


# --- forms ---------------------------------------------------------------------------------


def _parse_certificate_uri(uri: str) -> ProvisioningOobData:
    if any(c.isspace() for c in uri):
        raise QrFormatError("certificate_uri", "contains white space")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise QrFormatError("certificate_uri", "not a valid URI") from None
    if not host:
        raise QrFormatError("certificate_uri", "has no host")
    if parts.fragment:
        raise QrFormatError("certificate_uri", "has a fragment")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise QrFormatError("certificate_uri", "malformed query component") from None
    uuids = [value for key, value in pairs if key.lower() == "uuid"]
    if not uuids:
        raise QrFormatError("device_uuid", "the URI has no uuid query parameter")
    if len(uuids) > 1:
        raise QrFormatError("device_uuid", "the URI has more than one uuid query parameter")
    if not _UUID_CANONICAL.fullmatch(uuids[0]):
        raise QrFormatError("device_uuid", "uuid is not in canonical 8-4-4-4-12 form")
    extra = tuple((key, value) for key, value in pairs if key.lower() != "uuid")
    return ProvisioningOobData(
        OobSource.CERTIFICATE_URI,
        device_uuid=bytes.fromhex(uuids[0].replace("-", "")),
        certificate_uri=uri,
        extra=extra,
    )


def _parse_plain_hex(compact: str) -> ProvisioningOobData:
    if len(compact) % 2:
        raise QrFormatError(None, "hex value has an odd number of digits")
    value = bytes.fromhex(compact)
    if len(value) in _STATIC_OOB_SIZES:
        return ProvisioningOobData(OobSource.HEX, static_oob=value)
    if len(value) in (_PUBLIC_KEY_SIZE, _PUBLIC_KEY_SIZE + 1):
        return ProvisioningOobData(OobSource.HEX, public_key=_public_key(value))
    raise QrFormatError(
        None,
        f"a {len(value)}-octet hex value is neither a static OOB value (16 or 32 octets) "
        "nor a public key (64 octets, or 65 starting with 04)",
    )


def _parse_key_value(text: str) -> ProvisioningOobData:
    pairs: list[tuple[str, str]] = []
    for raw_item in text.split(";"):
        item = raw_item.strip()
        if not item:
            continue
        cut = min((i for i in (item.find(":"), item.find("=")) if i >= 0), default=-1)
        if cut <= 0:
            raise QrFormatError(None, "a ';'-separated item is not key:value")
        pairs.append((item[:cut].strip(), item[cut + 1 :].strip()))
    return _from_pairs(OobSource.KEY_VALUE, pairs)


def _parse_json(text: str) -> ProvisioningOobData:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise QrFormatError(None, "not valid JSON") from None
    if not isinstance(document, dict):
        raise QrFormatError(None, "JSON is not an object")
    pairs: list[tuple[str, str]] = []
    for key, value in document.items():
        if isinstance(value, str):
            pairs.append((key, value))
        elif _normalize_key(key) in _UUID_KEYS | _STATIC_OOB_KEYS | _PUBLIC_KEY_KEYS:
            raise QrFormatError(key, "must be a hex string")
        else:
            pairs.append((key, json.dumps(value)))
    return _from_pairs(OobSource.JSON, pairs)


def _from_pairs(source: OobSource, pairs: list[tuple[str, str]]) -> ProvisioningOobData:
    device_uuid: bytes | None = None
    static_oob: bytes | None = None
    public_key: bytes | None = None
    extra: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in pairs:
        name = _normalize_key(key)
        if name in seen:
            raise QrFormatError(key, "appears twice")
        seen.add(name)
        if name in _UUID_KEYS:
            if device_uuid is not None:
                raise QrFormatError(key, "a second device UUID")
            device_uuid = _uuid_value(key, value)
        elif name in _STATIC_OOB_KEYS:
            if static_oob is not None:
                raise QrFormatError(key, "a second static OOB value")
            static_oob = _static_oob_value(key, value)
        elif name in _PUBLIC_KEY_KEYS:
            if public_key is not None:
                raise QrFormatError(key, "a second public key")
            public_key = _public_key(_hex_value(key, value))
        else:
            extra.append((key, value))
    if device_uuid is None and static_oob is None and public_key is None:
        raise QrFormatError(None, "no device UUID, static OOB value or public key found")
    return ProvisioningOobData(
        source,
        device_uuid=device_uuid,
        static_oob=static_oob,
        public_key=public_key,
        extra=tuple(extra),
    )


# --- values --------------------------------------------------------------------------------


def _normalize_key(key: str) -> str:
    return re.sub(r"[_\-\s.]", "", key).lower()


def _hex_value(key: str, value: str) -> bytes:
    compact = re.sub(r"\s+", "", value)
    if compact[:2].lower() == "0x":
        compact = compact[2:]
    if not compact or not _HEX.fullmatch(compact) or len(compact) % 2:
        # Never echo the value: it may be a secret.
        raise QrFormatError(key, "is not a hex string of whole octets")
    return bytes.fromhex(compact)


def _uuid_value(key: str, value: str) -> bytes:
    text = value.strip()
    if _UUID_CANONICAL.fullmatch(text):
        return bytes.fromhex(text.replace("-", ""))
    raw = _hex_value(key, text)
    if len(raw) != 16:
        raise QrFormatError(key, f"a device UUID is 16 octets, got {len(raw)}")
    return raw


def _static_oob_value(key: str, value: str) -> bytes:
    raw = _hex_value(key, value)
    if len(raw) in _STATIC_OOB_SIZES:
        return raw
    if len(raw) in (_PUBLIC_KEY_SIZE, _PUBLIC_KEY_SIZE + 1):
        raise QrFormatError(
            key, f"{len(raw)} octets look like a public key, not a static OOB value"
        )
    raise QrFormatError(
        key,
        f"a static OOB value is 16 (CMAC) or 32 (HMAC) octets, got {len(raw)}; "
        "shorter values are not padded here, enter the full value",
    )


def _public_key(raw: bytes) -> bytes:
    if len(raw) == _PUBLIC_KEY_SIZE + 1:
        if raw[0] != 0x04:
            raise QrFormatError(
                "public_key", "a 65-octet public key must be uncompressed (start with 04)"
            )
        raw = raw[1:]
    if len(raw) != _PUBLIC_KEY_SIZE:
        raise QrFormatError("public_key", f"a public key is 64 octets X || Y, got {len(raw)}")
    try:
        load_public_key(raw)
    except ValueError:
        raise QrFormatError("public_key", "not a valid point on the P-256 curve") from None
    return raw
