"""Access layer: opcodes, message codecs and request/response matching (MshPRT 1.1 §3.7).

Theory of operation
-------------------
An *access payload* is an opcode (1, 2 or 3 octets, §3.7.3.1) followed by the message
parameters. Every message the engine knows is a frozen, slotted dataclass deriving from
:class:`Message`, with ``OPCODE`` (and ``RESPONSE`` for acknowledged messages) as class
variables. ``to_bytes()``/``from_bytes()`` work on the **parameters only**;
:func:`encode_message`/:func:`decode_message` add and strip the opcode, so the full access
payload is always ``encode_message(msg)``.

Each dataclass field carries a :class:`Codec` in its metadata (``field(metadata=U8)`` and
friends). The codec does three jobs from one description: it encodes and decodes the field,
it validates the value when the message is built (an invalid value raises
:class:`InvalidFieldError`, a :class:`UsageError`), and it renders the value for
:func:`describe`. Messages whose wire layout packs several fields into shared octets override
``to_bytes``/``from_bytes`` but keep the codecs for validation.

Decoding is strict: wrong length, prohibited and reserved values raise :class:`DecodeError`
naming the message and the field. An opcode nobody registered raises
:class:`UnknownOpcodeError` (a :class:`DecodeError`).

:class:`RequestTracker` is the sans-IO request/response matcher of an access client
(MshPRT 1.1 §3.7.3, acknowledged messages): the caller registers an outgoing acknowledged
message, feeds received payloads and the clock, and performs the actions it gets back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from enum import IntEnum
import importlib
import itertools
from typing import Any, ClassVar, Self

from .errors import DecodeError, MeshError, UsageError
from .network import is_unicast

type JsonValue = None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]

# MshPRT 1.1 §3.7.3.1: 0x7F is reserved for future use as a 1-octet opcode.
OPCODE_RFU = 0x7F
# MshPRT 1.1 lower transport segmentation: at most 32 segments of 12 octets carry an upper
# transport PDU; less the 4-octet TransMIC that leaves 380 octets of access payload.
MAX_ACCESS_PAYLOAD = 380


class UnknownOpcodeError(DecodeError):
    """The opcode is well formed but no message class is registered for it."""

    def __init__(self, opcode: int, params: bytes) -> None:
        self.opcode = opcode
        self.params = params
        super().__init__("AccessPayload", "opcode", f"unknown opcode {opcode_hex(opcode)}")


class InvalidFieldError(UsageError):
    """A message was built with a field value the specification does not allow."""

    def __init__(self, structure: str, field_name: str | None, reason: str) -> None:
        self.structure = structure
        self.field = field_name
        self.reason = reason
        where = f"{structure}.{field_name}" if field_name else structure
        super().__init__(f"{where}: {reason}")


# --------------------------------------------------------------------------------------------
# Opcodes (§3.7.3.1)
# --------------------------------------------------------------------------------------------


def opcode_length(opcode: int) -> int:
    """Octets the opcode takes on the air; raises UsageError for a value that is no opcode.

    Opcodes are ints: 1-octet ``0x00``-``0x7E``, 2-octet ``0x8000``-``0xBFFF`` and 3-octet
    ``0xC00000``-``0xFFFFFF`` (the wire octets read big-endian, so a vendor opcode is
    ``(0xC0 | op6) << 16 | company_id_octet0 << 8 | company_id_octet1``).
    """
    if 0 <= opcode <= 0x7E:
        return 1
    if 0x8000 <= opcode <= 0xBFFF:
        return 2
    if 0xC00000 <= opcode <= 0xFFFFFF:
        return 3
    raise UsageError(f"0x{opcode:x} is not a valid access opcode")


def encode_opcode(opcode: int) -> bytes:
    """Wire octets of an opcode (MshPRT 1.1 §3.7.3.1)."""
    return opcode.to_bytes(opcode_length(opcode), "big")


def vendor_opcode(opcode: int, company_id: int) -> int:
    """The 3-octet opcode of a vendor message: 6-bit opcode and little-endian company ID."""
    if not 0 <= opcode <= 0x3F:
        raise UsageError("vendor opcode must be 6 bits")
    if not 0 <= company_id <= 0xFFFF:
        raise UsageError("company ID must be 16 bits")
    return (0xC0 | opcode) << 16 | (company_id & 0xFF) << 8 | company_id >> 8


def opcode_hex(opcode: int) -> str:
    """The opcode's wire octets in lower-case hex, e.g. ``"8202"`` or ``"d50a00"``."""
    try:
        return encode_opcode(opcode).hex()
    except UsageError:
        return f"{opcode:x}"


def parse_opcode(payload: bytes) -> tuple[int, bytes]:
    """Split an access payload into ``(opcode, parameters)``; DecodeError if malformed."""
    if not payload:
        raise DecodeError("AccessPayload", "opcode", "empty access payload")
    first = payload[0]
    if first == OPCODE_RFU:
        raise DecodeError("AccessPayload", "opcode", "opcode 0x7f is reserved for future use")
    size = 1 if first < 0x80 else 2 if first < 0xC0 else 3
    if len(payload) < size:
        raise DecodeError("AccessPayload", "opcode", f"{size}-octet opcode truncated")
    return int.from_bytes(payload[:size], "big"), bytes(payload[size:])


# --------------------------------------------------------------------------------------------
# Reading parameters
# --------------------------------------------------------------------------------------------


class Reader:
    """Cursor over message parameters whose every failure is a DecodeError."""

    __slots__ = ("_data", "_pos", "structure")

    def __init__(self, data: bytes, structure: str) -> None:
        self._data = bytes(data)
        self._pos = 0
        self.structure = structure

    @property
    def remaining(self) -> int:
        """Octets not yet consumed."""
        return len(self._data) - self._pos

    def take(self, size: int, field_name: str | None) -> bytes:
        """The next ``size`` octets."""
        if len(self._data) - self._pos < size:
            raise DecodeError(
                self.structure, field_name, f"needs {size} octets, {self.remaining} left"
            )
        chunk = self._data[self._pos : self._pos + size]
        self._pos += size
        return chunk

    def uint(self, size: int, field_name: str | None) -> int:
        """Little-endian unsigned integer of ``size`` octets."""
        return int.from_bytes(self.take(size, field_name), "little")

    def rest(self) -> bytes:
        """Every remaining octet."""
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    def finish(self) -> None:
        """Raise if octets are left over: a known message never has trailing garbage."""
        if self.remaining:
            raise DecodeError(self.structure, None, f"{self.remaining} unexpected trailing octets")


# --------------------------------------------------------------------------------------------
# Field codecs
# --------------------------------------------------------------------------------------------


class Codec(ABC):
    """Wire format, validity rule and JSON rendering of one message field."""

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """The field's octets (the value is already validated)."""

    @abstractmethod
    def decode(self, reader: Reader, field_name: str) -> Any:
        """Read the field; wrong length raises DecodeError."""

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or ``None`` if it is."""
        del value
        return None

    def to_json(self, value: Any) -> JsonValue:
        """The value in a form ``json.dumps`` accepts."""
        return jsonable(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class UInt(Codec):
    """Little-endian unsigned integer in ``lo..hi`` plus ``extra`` values, minus ``exclude``."""

    size: int
    lo: int = 0
    hi: int | None = None
    extra: frozenset[int] = frozenset()
    exclude: frozenset[int] = frozenset()

    @property
    def maximum(self) -> int:
        """The largest in-range value (``extra`` values aside)."""
        return (1 << (8 * self.size)) - 1 if self.hi is None else self.hi

    def encode(self, value: Any) -> bytes:
        return int(value).to_bytes(self.size, "little")

    def decode(self, reader: Reader, field_name: str) -> Any:
        return reader.uint(self.size, field_name)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be an int"
        if self.exclude and value in self.exclude:
            return f"value 0x{value:x} is prohibited"
        hi = (1 << (8 * self.size)) - 1 if self.hi is None else self.hi
        if self.lo <= value <= hi or value in self.extra:
            return None
        return f"value {value} is outside {self.lo}..{self.maximum}"


@dataclass(frozen=True, slots=True)
class SInt(Codec):
    """Little-endian two's complement integer."""

    size: int

    def encode(self, value: Any) -> bytes:
        return int(value).to_bytes(self.size, "little", signed=True)

    def decode(self, reader: Reader, field_name: str) -> Any:
        return int.from_bytes(reader.take(self.size, field_name), "little", signed=True)

    def check(self, value: Any) -> str | None:
        if not _is_int(value):
            return "must be an int"
        bound = 1 << (8 * self.size - 1)
        if not -bound <= value < bound:
            return f"value {value} does not fit a signed {self.size}-octet field"
        return None


@dataclass(frozen=True, slots=True)
class Flag(Codec):
    """One octet that is 0x00 (False) or 0x01 (True); 0x02-0xFF are prohibited."""

    def encode(self, value: Any) -> bytes:
        return b"\x01" if value else b"\x00"

    def decode(self, reader: Reader, field_name: str) -> Any:
        raw = reader.uint(1, field_name)
        if raw > 1:
            raise DecodeError(reader.structure, field_name, f"value 0x{raw:02x} is prohibited")
        return raw == 1

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else "must be a bool"


@dataclass(frozen=True, slots=True)
class EnumField(Codec):
    """An IntEnum member in ``size`` octets; values outside the enum are reserved."""

    enum: type[IntEnum]
    size: int = 1

    def encode(self, value: Any) -> bytes:
        return int(value).to_bytes(self.size, "little")

    def decode(self, reader: Reader, field_name: str) -> Any:
        raw = reader.uint(self.size, field_name)
        try:
            return self.enum(raw)
        except ValueError:
            raise DecodeError(
                reader.structure, field_name, f"value 0x{raw:x} is reserved"
            ) from None

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, self.enum) else f"must be a {self.enum.__name__}"

    def to_json(self, value: Any) -> JsonValue:
        return str(value.name)


@dataclass(frozen=True, slots=True)
class Octets(Codec):
    """Fixed-size octet string; ``secret`` ones (keys) are redacted by :func:`describe`."""

    size: int
    secret: bool = False

    def encode(self, value: Any) -> bytes:
        return bytes(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        return reader.take(self.size, field_name)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, bytes) or len(value) != self.size:
            return f"must be {self.size} octets"
        return None

    def to_json(self, value: Any) -> JsonValue:
        return "<redacted>" if self.secret else bytes(value).hex()


@dataclass(frozen=True, slots=True)
class Tail(Codec):
    """Every remaining octet (fault arrays, composition data)."""

    min_size: int = 0

    def encode(self, value: Any) -> bytes:
        return bytes(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        if reader.remaining < self.min_size:
            raise DecodeError(reader.structure, field_name, f"needs {self.min_size} octets")
        return reader.rest()

    def check(self, value: Any) -> str | None:
        if not isinstance(value, bytes) or len(value) < self.min_size:
            return f"must be at least {self.min_size} octets"
        return None


@dataclass(frozen=True, slots=True)
class U16List(Codec):
    """Every remaining octet as a tuple of little-endian 16-bit values (addresses, scenes)."""

    exclude: frozenset[int] = frozenset()

    def encode(self, value: Any) -> bytes:
        return b"".join(int(v).to_bytes(2, "little") for v in value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        raw = reader.rest()
        if len(raw) % 2:
            raise DecodeError(reader.structure, field_name, "odd length for a 16-bit list")
        return tuple(int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2))

    def check(self, value: Any) -> str | None:
        if not isinstance(value, tuple):
            return "must be a tuple"
        for item in value:
            if not _is_int(item) or not 0 <= item <= 0xFFFF:
                return "items must be 16-bit ints"
            if item in self.exclude:
                return f"value 0x{item:04x} is prohibited"
        return None


KEY_INDEX_MAX = 0xFFF


def pack_key_indexes(indexes: tuple[int, ...] | list[int]) -> bytes:
    """MshPRT 1.1 §4.3.1.1: two 12-bit key indexes per 3 octets, an odd last one in 2."""
    out = bytearray()
    for i in range(0, len(indexes) - 1, 2):
        out += (indexes[i] | indexes[i + 1] << 12).to_bytes(3, "little")
    if len(indexes) % 2:
        out += indexes[-1].to_bytes(2, "little")
    return bytes(out)


def unpack_key_indexes(raw: bytes, structure: str, field_name: str) -> tuple[int, ...]:
    """Inverse of :func:`pack_key_indexes`; a 1-octet remainder or RFU bits are errors."""
    if len(raw) % 3 == 1:
        raise DecodeError(structure, field_name, "packed key index list has a stray octet")
    out: list[int] = []
    full = len(raw) - len(raw) % 3
    for i in range(0, full, 3):
        value = int.from_bytes(raw[i : i + 3], "little")
        out += (value & KEY_INDEX_MAX, value >> 12)
    if len(raw) % 3 == 2:
        value = int.from_bytes(raw[full:], "little")
        if value > KEY_INDEX_MAX:
            raise DecodeError(structure, field_name, "RFU bits of a key index are set")
        out.append(value)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class KeyIndexList(Codec):
    """Every remaining octet as packed 12-bit key indexes (§4.3.1.1)."""

    def encode(self, value: Any) -> bytes:
        return pack_key_indexes(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        return unpack_key_indexes(reader.rest(), reader.structure, field_name)

    def check(self, value: Any) -> str | None:
        if not isinstance(value, tuple):
            return "must be a tuple"
        if not all(_is_int(v) and 0 <= v <= KEY_INDEX_MAX for v in value):
            return "items must be 12-bit key indexes"
        return None


@dataclass(frozen=True, slots=True)
class Maybe(Codec):
    """A field that may be absent (``None``) in a message whose own ``to_bytes``/``from_bytes``
    decide from the length which fields are present (e.g. Remote Provisioning Link Open: a
    UUID, or an NPPI procedure); present values follow ``inner``."""

    inner: Codec

    def encode(self, value: Any) -> bytes:
        return b"" if value is None else self.inner.encode(value)

    def decode(self, reader: Reader, field_name: str) -> Any:
        return self.inner.decode(reader, field_name)

    def check(self, value: Any) -> str | None:
        return None if value is None else self.inner.check(value)

    def to_json(self, value: Any) -> JsonValue:
        return None if value is None else self.inner.to_json(value)


# Metadata shortcuts: ``x: int = field(metadata=U8)``.
def codec(c: Codec, *, optional: bool = False) -> Mapping[str, Any]:
    """Field metadata holding a codec; ``optional`` fields form the trailing optional group."""
    return {"codec": c, "optional": optional}


U8 = codec(UInt(1))
U16 = codec(UInt(2))
U24 = codec(UInt(3))
U32 = codec(UInt(4))
BOOL = codec(Flag())
TID = codec(UInt(1))
KEY_INDEX = codec(UInt(2, hi=KEY_INDEX_MAX))
ADDRESS = codec(UInt(2))
KEY = codec(Octets(16, secret=True))
LABEL_UUID = codec(Octets(16))


# --------------------------------------------------------------------------------------------
# Messages and the registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    name: str
    codec: Codec
    optional: bool
    default: Any


_LAYOUTS: dict[type[Message], tuple[_FieldSpec, ...]] = {}
# Filled in with _LAYOUTS: the first optional field of each class (None: all mandatory).
_FIRST_OPTIONAL: dict[type[Message], _FieldSpec | None] = {}


def layout(cls: type[Message]) -> tuple[_FieldSpec, ...]:
    """The codec of every field of a message class, in wire order (cached)."""
    specs = _LAYOUTS.get(cls)
    if specs is None:
        items = []
        for f in fields(cls):
            c = f.metadata.get("codec")
            if not isinstance(c, Codec):
                raise TypeError(f"{cls.__name__}.{f.name} has no codec")
            default = None if f.default is MISSING else f.default
            items.append(_FieldSpec(f.name, c, bool(f.metadata.get("optional")), default))
        specs = tuple(items)
        _LAYOUTS[cls] = specs
        _FIRST_OPTIONAL[cls] = _first_optional(specs)
    return specs


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every access message: parameters in ``to_bytes``/``from_bytes``."""

    OPCODE: ClassVar[int]
    RESPONSE: ClassVar[type[Message] | None] = None
    # Fields the response repeats from the request (e.g. the NetKeyIndex and AppKeyIndex of a
    # Config AppKey Add come back in its Config AppKey Status): a response only answers a
    # request whose echoed fields it carries, so concurrent requests of one type to one node
    # are told apart.
    ECHO: ClassVar[tuple[str, ...]] = ()
    # Messages of models that only a device key secures (Configuration, MshPRT 1.1 §4.3.2;
    # Remote Provisioning, §4.3.4): one received under an application key is not theirs
    # (any node holds the AppKey) and is ignored. Set by those modules (mark_device_key_only).
    DEVICE_KEY_ONLY: ClassVar[bool] = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        specs = layout(type(self))
        first_optional = _FIRST_OPTIONAL[type(self)]
        group_present = True
        for spec in specs:
            value = getattr(self, spec.name)
            if spec.optional:
                if spec is first_optional:
                    group_present = value is not None
                if not group_present:
                    if value != spec.default:
                        raise InvalidFieldError(
                            name, spec.name, "must keep its default when the group is absent"
                        )
                    continue
                if value is None:
                    raise InvalidFieldError(name, spec.name, "the optional group is incomplete")
            reason = spec.codec.check(value)
            if reason is not None:
                raise InvalidFieldError(name, spec.name, reason)
        self._check()

    def _check(self) -> None:
        """Cross-field rules of one message (override; raise InvalidFieldError)."""

    @property
    def name(self) -> str:
        """The message's name, e.g. ``"GenericOnOffSet"``."""
        return type(self).__name__

    def to_bytes(self) -> bytes:
        """The message parameters (without the opcode)."""
        out = bytearray()
        for spec in layout(type(self)):
            value = getattr(self, spec.name)
            if spec.optional and value is None:
                break  # the optional group is absent (validated in __post_init__)
            out += spec.codec.encode(value)
        return bytes(out)

    @classmethod
    def from_bytes(cls, params: bytes) -> Self:
        """Decode the message parameters (without the opcode); strict."""
        reader = Reader(params, cls.__name__)
        values: dict[str, Any] = {}
        specs = layout(cls)
        first_optional = _FIRST_OPTIONAL[cls]
        for spec in specs:
            if spec is first_optional and not reader.remaining:
                break
            values[spec.name] = spec.codec.decode(reader, spec.name)
        reader.finish()
        return cls.build(values)

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Self:
        """Construct from decoded values, turning a validation failure into a DecodeError."""
        try:
            return cls(**values)
        except InvalidFieldError as err:
            raise DecodeError(cls.__name__, err.field, err.reason) from None

    def parameters(self) -> dict[str, JsonValue]:
        """The fields as a JSON-ready dict (keys redacted)."""
        return {
            spec.name: (
                None
                if getattr(self, spec.name) is None
                else spec.codec.to_json(getattr(self, spec.name))
            )
            for spec in layout(type(self))
        }


def _first_optional(specs: tuple[_FieldSpec, ...]) -> _FieldSpec | None:
    return next((s for s in specs if s.optional), None)


_REGISTRY: dict[int, type[Message]] = {}


def register[M: Message](cls: type[M]) -> type[M]:
    """Class decorator: make ``decode_message`` know the class's OPCODE."""
    opcode_length(cls.OPCODE)  # a malformed opcode is a programming error
    other = _REGISTRY.get(cls.OPCODE)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise RuntimeError(f"opcode {opcode_hex(cls.OPCODE)} registered twice")
    names = {spec.name for spec in layout(cls)}  # fails at import if a field has no codec
    if cls.ECHO:
        response_names = {s.name for s in layout(cls.RESPONSE)} if cls.RESPONSE else set()
        if not set(cls.ECHO) <= names & response_names:
            raise RuntimeError(f"{cls.__name__}.ECHO names fields its response lacks")
    _REGISTRY[cls.OPCODE] = cls
    return cls


_models_loaded = False


def _load_models() -> None:
    # The model packages register their messages on import; access.py cannot import them at
    # module level (they import access), so the first lookup loads them.
    global _models_loaded  # noqa: PLW0603
    if not _models_loaded:
        importlib.import_module(f"{__package__}.models")
        _models_loaded = True


def message_class(opcode: int) -> type[Message] | None:
    """The registered class for an opcode, if any."""
    _load_models()
    return _REGISTRY.get(opcode)


def mark_device_key_only(namespace: dict[str, object]) -> None:
    """Mark every message class defined in a model module (its ``globals()``) device-key only."""
    module = namespace["__name__"]
    for value in list(namespace.values()):
        if (
            isinstance(value, type)
            and issubclass(value, Message)
            and value is not Message
            and value.__module__ == module
        ):
            value.DEVICE_KEY_ONLY = True


def registered_messages() -> tuple[type[Message], ...]:
    """Every registered message class, by opcode."""
    _load_models()
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def encode_message(message: Message) -> bytes:
    """The full access payload: opcode followed by parameters."""
    payload = encode_opcode(message.OPCODE) + message.to_bytes()
    if len(payload) > MAX_ACCESS_PAYLOAD:
        raise UsageError(f"{message.name} is {len(payload)} octets, above {MAX_ACCESS_PAYLOAD}")
    return payload


def decode_message(payload: bytes) -> Message:
    """Decode a full access payload; UnknownOpcodeError or DecodeError on failure."""
    opcode, params = parse_opcode(payload)
    cls = message_class(opcode)
    if cls is None:
        raise UnknownOpcodeError(opcode, params)
    return cls.from_bytes(params)


def describe(payload: bytes, *, reveal_keys: bool = False) -> dict[str, JsonValue]:
    """JSON-ready description of an access payload for debugging tools; never raises.

    ``{"opcode": "8202", "name": "GenericOnOffSet", "parameters": {...}}``. An unknown opcode
    gives ``name="unknown"`` and the parameters in hex; a malformed known message gives its
    name, ``"error"`` with the decode error and the raw parameters.
    """
    try:
        opcode, params = parse_opcode(payload)
    except DecodeError as err:
        return {"opcode": None, "name": "invalid", "error": str(err), "raw": bytes(payload).hex()}
    result: dict[str, JsonValue] = {"opcode": opcode_hex(opcode)}
    cls = message_class(opcode)
    if cls is None:
        result |= {"name": "unknown", "parameters": {"raw": params.hex()}}
        return result
    result["name"] = cls.__name__
    try:
        message = cls.from_bytes(params)
    except MeshError as err:
        # A malformed AppKey/NetKey Add may still carry most of a key: keep it out of logs.
        secret = any(isinstance(spec.codec, Octets) and spec.codec.secret for spec in layout(cls))
        raw = "<redacted>" if secret and not reveal_keys else params.hex()
        result |= {"error": str(err), "parameters": {"raw": raw}}
        return result
    parameters = message.parameters()
    if reveal_keys:
        for spec in layout(cls):
            if isinstance(spec.codec, Octets) and spec.codec.secret:
                parameters[spec.name] = bytes(getattr(message, spec.name)).hex()
    result["parameters"] = parameters
    return result


def answers(request: Message, response: Message) -> bool:
    """True if ``response`` carries the same values as ``request`` in the request's ECHO fields."""
    return all(getattr(response, name, _NOTHING) == getattr(request, name) for name in request.ECHO)


_NOTHING = object()


def jsonable(value: object) -> JsonValue:
    """Best-effort JSON rendering of engine values (enums by name, bytes as hex)."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, IntEnum):
        return value.name
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        result: JsonValue = to_json()
        return result
    return repr(value)


# --------------------------------------------------------------------------------------------
# Request/response matching (sans-IO)
# --------------------------------------------------------------------------------------------

# Defaults in the spirit of zephyr's cfg_cli / nRF Mesh: a node answers within a few seconds
# even through a proxy and a relay; we resend twice before giving up.
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Action: send ``payload`` (the encoded ``message``) to ``dst``; attempt 0 is the first.

    ``context`` is whatever the caller passed to :meth:`RequestTracker.send` (e.g. which key
    and TTL to send with), handed back so a retransmission goes out exactly like the first.
    """

    request_id: int
    dst: int
    message: Message
    payload: bytes
    attempt: int
    context: object = None


@dataclass(frozen=True, slots=True)
class RequestCompleted:
    """Event: the response to request ``request_id`` arrived from ``src``."""

    request_id: int
    src: int
    request: Message
    response: Message
    context: object = None


@dataclass(frozen=True, slots=True)
class TrackedRequestTimedOut:
    """Event: every attempt of request ``request_id`` went unanswered."""

    request_id: int
    dst: int
    request: Message
    attempts: int
    context: object = None


@dataclass(frozen=True, slots=True)
class UnsolicitedMessage:
    """Event: a decoded message that answered no pending request (e.g. a publication)."""

    src: int
    message: Message


@dataclass(frozen=True, slots=True)
class UnknownMessageReceived:
    """Event: an access payload with an opcode no registered message has."""

    src: int
    opcode: int
    params: bytes


@dataclass(frozen=True, slots=True)
class MalformedMessageReceived:
    """Event: an access payload that failed to decode (``error`` says why)."""

    src: int
    payload: bytes
    error: DecodeError


type TrackerEvent = (
    SendRequest
    | RequestCompleted
    | TrackedRequestTimedOut
    | UnsolicitedMessage
    | UnknownMessageReceived
    | MalformedMessageReceived
)


@dataclass(slots=True)
class _Pending:
    request_id: int
    dst: int
    message: Message
    payload: bytes
    expect: type[Message]
    match: Callable[[Message], bool] | None
    timeout: float
    retries_left: int
    attempts: int
    deadline: float
    context: object


class RequestTracker:
    """Sans-IO matcher of acknowledged requests and their responses (MshPRT 1.1 §3.7.3).

    ``send()`` registers a request and returns the first :class:`SendRequest` to perform.
    ``receive()`` takes a received access payload (or decoded message) and returns events;
    ``poll(now)`` returns due retransmissions and time-outs; ``next_deadline()`` says when to
    call ``poll`` next. A response matches the oldest pending request whose destination it
    came from (any source for a group or virtual destination), whose expected response class
    it is, whose echoed fields (``ECHO``, see :func:`answers`) it repeats and whose optional
    ``match`` predicate accepts it. Each attempt waits ``timeout`` seconds; after ``retries``
    retransmissions the request times out.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES) -> None:
        if timeout <= 0 or retries < 0:
            raise UsageError("timeout must be positive and retries non-negative")
        self._default_timeout = timeout
        self._default_retries = retries
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}

    @property
    def pending(self) -> int:
        """Requests still waiting for a response."""
        return len(self._pending)

    def send(
        self,
        dst: int,
        message: Message,
        *,
        now: float,
        expect: type[Message] | None = None,
        match: Callable[[Message], bool] | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        context: object = None,
    ) -> SendRequest:
        """Register an acknowledged request; perform the returned action to send it.

        ``expect`` defaults to the message's ``RESPONSE``; an unacknowledged message without
        ``expect`` is a UsageError (nothing would ever complete it).
        """
        expected = expect if expect is not None else message.RESPONSE
        if expected is None:
            raise UsageError(f"{message.name} is unacknowledged: no response to wait for")
        wait = self._default_timeout if timeout is None else timeout
        tries = self._default_retries if retries is None else retries
        if wait <= 0 or tries < 0:
            raise UsageError("timeout must be positive and retries non-negative")
        request_id = next(self._ids)
        payload = encode_message(message)
        self._pending[request_id] = _Pending(
            request_id, dst, message, payload, expected, match, wait, tries, 1, now + wait, context
        )
        return SendRequest(request_id, dst, message, payload, 0, context)

    def cancel(self, request_id: int) -> bool:
        """Forget a pending request; False if it was not pending."""
        return self._pending.pop(request_id, None) is not None

    def receive(self, src: int, payload: bytes | Message, *, now: float) -> list[TrackerEvent]:
        """Feed one received access payload; never raises for what came from the air."""
        del now  # matching does not depend on time; kept for a uniform sans-IO signature
        if isinstance(payload, Message):
            message = payload
        else:
            try:
                message = decode_message(payload)
            except UnknownOpcodeError as err:
                return [UnknownMessageReceived(src, err.opcode, err.params)]
            except DecodeError as err:
                return [MalformedMessageReceived(src, bytes(payload), err)]
        for pending in self._pending.values():
            if type(message) is not pending.expect:
                continue
            if is_unicast(pending.dst) and src != pending.dst:
                continue
            if not answers(pending.message, message):
                continue
            if pending.match is not None and not pending.match(message):
                continue
            del self._pending[pending.request_id]
            return [
                RequestCompleted(pending.request_id, src, pending.message, message, pending.context)
            ]
        return [UnsolicitedMessage(src, message)]

    def poll(self, now: float) -> list[TrackerEvent]:
        """Retransmissions and time-outs due at ``now``."""
        events: list[TrackerEvent] = []
        for pending in list(self._pending.values()):
            if now < pending.deadline:
                continue
            if pending.retries_left > 0:
                pending.retries_left -= 1
                pending.attempts += 1
                pending.deadline = now + pending.timeout
                events.append(
                    SendRequest(
                        pending.request_id,
                        pending.dst,
                        pending.message,
                        pending.payload,
                        pending.attempts - 1,
                        pending.context,
                    )
                )
            else:
                del self._pending[pending.request_id]
                events.append(
                    TrackedRequestTimedOut(
                        pending.request_id,
                        pending.dst,
                        pending.message,
                        pending.attempts,
                        pending.context,
                    )
                )
        return events

    def next_deadline(self) -> float | None:
        """When ``poll`` has something to do next, or None when nothing is pending."""
        return min((p.deadline for p in self._pending.values()), default=None)


__all__ = [
    "ADDRESS",
    "BOOL",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "KEY",
    "KEY_INDEX",
    "KEY_INDEX_MAX",
    "LABEL_UUID",
    "MAX_ACCESS_PAYLOAD",
    "OPCODE_RFU",
    "TID",
    "U8",
    "U16",
    "U24",
    "U32",
    "Codec",
    "EnumField",
    "Flag",
    "InvalidFieldError",
    "JsonValue",
    "KeyIndexList",
    "MalformedMessageReceived",
    "Maybe",
    "Message",
    "Octets",
    "Reader",
    "RequestCompleted",
    "RequestTracker",
    "SInt",
    "SendRequest",
    "Tail",
    "TrackedRequestTimedOut",
    "TrackerEvent",
    "U16List",
    "UInt",
    "UnknownMessageReceived",
    "UnknownOpcodeError",
    "UnsolicitedMessage",
    "answers",
    "codec",
    "decode_message",
    "describe",
    "encode_message",
    "encode_opcode",
    "jsonable",
    "layout",
    "message_class",
    "opcode_hex",
    "opcode_length",
    "pack_key_indexes",
    "parse_opcode",
    "register",
    "registered_messages",
    "unpack_key_indexes",
    "vendor_opcode",
]
