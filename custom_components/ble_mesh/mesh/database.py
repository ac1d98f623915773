"""The mesh network as data: the Mesh Configuration Database (MshCDB 1.0.1 §2).

The Bluetooth SIG Mesh Configuration Database Profile 1.0.1 defines one JSON document (its
§2 "Mesh Configuration Database" and the JSON schema published with it) holding everything a
Configuration Manager knows about a network: network and application keys, provisioners and
their allocated address ranges, nodes with their elements and models, groups, scenes and the
network exclusion lists. nRF Mesh (Android and iOS) exports and imports this format. It is the
native persistent form of one ``ble_mesh`` config entry.

Design choices:

* :meth:`MeshNetwork.from_json` validates strictly. Anything malformed raises
  :class:`CdbFormatError`, a :class:`~.errors.DecodeError` whose ``path`` names the JSON
  location, e.g. ``nodes[2].unicastAddress: not a 4-digit hex address``. Key material is
  never echoed in a message.
* :meth:`MeshNetwork.to_json` writes back exactly what was read: unknown fields at every level
  are kept (``extra``) and rewritten, the key order seen on import is kept (``key_order``), and
  UUIDs keep their spelling. Hex numbers (keys, addresses, ids) are written upper-case with a
  fixed number of digits, as the schema uses them.
* Our own data that MshCDB 1.0.1 has no field for (the IV Index, IV Update flag and the
  sequence numbers we used as a source, and which provisioner is us) lives in one top-level
  extension object ``"x-ble-mesh"`` (:class:`MeshExtension`). Other tools ignore it (nRF keeps
  its IV Index outside the document too); ``to_json(include_extension=False)`` leaves it out
  for a clean export.
* Records are mutable slotted dataclasses: a database is edited in place through the
  :class:`MeshNetwork` methods (add/remove node, allocate addresses) that keep it consistent.
  Keys never appear in ``repr``.

Address rules (MshPRT 1.1 §3.4.2): unicast 0x0001-0x7FFF, virtual 0x8000-0xBFFF, group
0xC000-0xFEFF plus the fixed group addresses 0xFF00-0xFFFF. A node owns the addresses
``unicastAddress .. unicastAddress + number of elements - 1``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
import copy
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import json
import re
import secrets
from typing import Any, ClassVar, Final, Self
from uuid import UUID, uuid4

from .access import KEY_INDEX_MAX
from .crypto import virtual_address
from .errors import DecodeError, UsageError
from .models.config import FeatureState
from .network import KeyRefreshPhase

__all__ = [
    "CDB_ID",
    "CDB_SCHEMA",
    "CDB_VERSION",
    "EXTENSION_KEY",
    "AddressRange",
    "AllocationError",
    "CdbAppKey",
    "CdbElement",
    "CdbFormatError",
    "CdbProvisioner",
    "CdbPublishPeriod",
    "CdbRetransmit",
    "DatabaseError",
    "DroppedRecord",
    "ExclusionList",
    "Features",
    "Group",
    "HeartbeatPublication",
    "HeartbeatSubscription",
    "MeshAddress",
    "MeshExtension",
    "MeshNetwork",
    "Model",
    "NetKey",
    "Node",
    "NodeKey",
    "Publish",
    "Scene",
    "SceneRange",
    "Security",
    "address_value",
    "load_valid_part",
    "parse_document",
]

type JsonDict = dict[str, Any]
#: A publication / subscription / group address: a 16-bit address or a virtual Label UUID.
type MeshAddress = int | UUID

CDB_SCHEMA: Final = "http://json-schema.org/draft-04/schema#"
CDB_ID: Final = "https://www.bluetooth.com/specifications/specs/mesh-cdb-1-0-1-schema.json#"
CDB_VERSION: Final = "1.0.1"
#: A model's Sensor Server property IDs (see :class:`Model`).
SENSOR_PROPERTIES_KEY = "x-ble-mesh-sensorProperties"

#: Top-level key of our extension object (see :class:`MeshExtension`).
EXTENSION_KEY: Final = "x-ble-mesh"

# MshPRT 1.1 §3.4.2 address ranges.
UNICAST_MIN: Final = 0x0001
UNICAST_MAX: Final = 0x7FFF
VIRTUAL_MIN: Final = 0x8000
GROUP_MIN: Final = 0xC000
GROUP_MAX: Final = 0xFEFF  # 0xFF00-0xFFFF are fixed group addresses, never allocated
SCENE_MIN: Final = 0x0001  # MshMDL 1.1 Scene Number: 0x0000 is prohibited
SCENE_MAX: Final = 0xFFFF
IV_INDEX_MAX: Final = 0xFFFFFFFF
SEQ_MAX: Final = 0xFFFFFF

_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_HEX32 = re.compile(r"[0-9A-Fa-f]{32}")
_UUID_DASHED = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_HEARTBEAT_FEATURES: Final = ("relay", "proxy", "friend", "lowPower")
_PERIOD_RESOLUTIONS: Final = (100, 1000, 10000, 600000)  # ms: Publish Step Resolution values


# --------------------------------------------------------------------------------------------
# Errors


class CdbFormatError(DecodeError):
    """The document is not a valid Mesh Configuration Database.

    ``path`` is the JSON location (``nodes[2].unicastAddress``; empty for the document itself)
    and ``reason`` says what is wrong with it. ``str()`` gives ``"<path>: <reason>"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__("MeshCDB", path or None, reason)
        self.path = path
        self.args = (f"{path}: {reason}" if path else reason,)


class DatabaseError(UsageError):
    """The caller asked the database for something inconsistent (unknown node, clash...)."""


class AllocationError(DatabaseError):
    """No free address, range or scene number is left where one was asked for."""


# --------------------------------------------------------------------------------------------
# Enumerations


class Security(StrEnum):
    """How a node was provisioned / a key's minimum security (MshCDB 1.0.1 §2)."""

    SECURE = "secure"  # provisioned with an authenticated OOB method
    INSECURE = "insecure"


# --------------------------------------------------------------------------------------------
# Reading helpers: every check names the JSON path it failed at.


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object, path: str, lo: int, hi: int) -> int:
    if not _is_int(value):
        raise CdbFormatError(path, "not an integer")
    assert isinstance(value, int)
    if not lo <= value <= hi:
        raise CdbFormatError(path, f"out of range {lo}..{hi}")
    return value


def _str(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise CdbFormatError(path, "not a string")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise CdbFormatError(path, "not a boolean")
    return value


def _list(value: object, path: str) -> list[tuple[object, str]]:
    if not isinstance(value, list):
        raise CdbFormatError(path, "not an array")
    return [(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _hex4(value: object, path: str) -> int:
    if not isinstance(value, str) or not _HEX4.fullmatch(value):
        raise CdbFormatError(path, "not a 4-digit hex address")
    return int(value, 16)


def _unicast(value: object, path: str) -> int:
    address = _hex4(value, path)
    if not UNICAST_MIN <= address <= UNICAST_MAX:
        raise CdbFormatError(path, "not a unicast address (0001-7FFF)")
    return address


def _key(value: object, path: str) -> bytes:
    # Never echo the value: it is key material.
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise CdbFormatError(path, "not a 128-bit key (32 hex digits)")
    return bytes.fromhex(value)


def _uuid(value: object, path: str) -> tuple[UUID, str]:
    if not isinstance(value, str) or not (_HEX32.fullmatch(value) or _UUID_DASHED.fullmatch(value)):
        raise CdbFormatError(path, "not a UUID (32 hex digits, with or without dashes)")
    return UUID(value), value


def _timestamp(value: object, path: str) -> str:
    text = _str(value, path)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise CdbFormatError(path, "not an ISO 8601 date-time") from None
    return text


def _mesh_address(value: object, path: str) -> MeshAddress:
    """A 16-bit address (4 hex digits) or a virtual Label UUID (32 hex digits)."""
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return UUID(value)
    if isinstance(value, str) and _HEX4.fullmatch(value):
        return int(value, 16)
    raise CdbFormatError(path, "not a 4-digit hex address or a 32-digit virtual label")


def _group_address(value: object, path: str, *, allow_unassigned: bool = False) -> MeshAddress:
    address = _mesh_address(value, path)
    if isinstance(address, UUID):
        return address
    if allow_unassigned and address == 0:
        return address
    if not GROUP_MIN <= address <= GROUP_MAX:
        raise CdbFormatError(path, "not a group address (C000-FEFF) or a virtual label")
    return address


class _Obj:
    """A JSON object being read: typed getters that remember which keys were understood."""

    __slots__ = ("_data", "_seen", "path")

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise CdbFormatError(path, "not a JSON object")
        self._data: dict[str, Any] = value
        self._seen: set[str] = set()
        self.path = path

    def at(self, key: str) -> str:
        return _join(self.path, key)

    def req(self, key: str) -> object:
        self._seen.add(key)
        if key not in self._data:
            raise CdbFormatError(self.at(key), "missing")
        value: object = self._data[key]
        if value is None:
            raise CdbFormatError(self.at(key), "is null")
        return value

    def get[T](self, key: str, parse: Callable[[object, str], T]) -> T:
        return parse(self.req(key), self.at(key))

    def opt[T](self, key: str, parse: Callable[[object, str], T]) -> T | None:
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.get(key, parse)

    def items(self, key: str) -> list[tuple[object, str]]:
        return _list(self.req(key), self.at(key))

    def consumed(self, key: str) -> None:
        """Mark a key as understood elsewhere (it is not kept as an unknown field)."""
        self._seen.add(key)

    def extra(self) -> JsonDict:
        try:
            return {k: copy.deepcopy(v) for k, v in self._data.items() if k not in self._seen}
        except RecursionError:  # an unknown field nested deeper than Python can copy
            raise CdbFormatError(self.path, "nested too deeply") from None

    def order(self) -> tuple[str, ...]:
        return tuple(self._data)


def _emit(known: JsonDict, extra: JsonDict, order: tuple[str, ...]) -> JsonDict:
    """Known fields (``None`` means absent) plus unknown ones, in the imported key order."""
    merged: JsonDict = {k: v for k, v in known.items() if v is not None}
    for key, value in extra.items():
        if key not in merged:
            merged[key] = copy.deepcopy(value)
    out: JsonDict = {k: merged[k] for k in order if k in merged}
    for key, value in merged.items():
        if key not in out:
            out[key] = value
    return out


def _h4(value: int) -> str:
    return f"{value:04X}"


def _address_out(address: MeshAddress) -> str:
    return address.hex.upper() if isinstance(address, UUID) else _h4(address)


def _uuid_out(value: UUID, spelling: str) -> str:
    """Keep an imported UUID's spelling when it still names the same UUID."""
    if spelling:
        try:
            if UUID(spelling) == value:
                return spelling
        except ValueError:
            pass
    return str(value).upper()


def address_value(address: MeshAddress) -> int:
    """The 16-bit destination for an address: a virtual Label UUID gives its virtual
    address (MshPRT 1.1 §3.4.2.3), a number is returned as it is."""
    return virtual_address(address.bytes) if isinstance(address, UUID) else address


def _as_uuid(value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except ValueError:
        raise DatabaseError("not a UUID") from None


# --------------------------------------------------------------------------------------------
# Records


@dataclass(slots=True)
class NetKey:
    """A network key (MshCDB 1.0.1 §2, netKeys). ``old_key`` is set during Key Refresh."""

    name: str
    index: int
    key: bytes = field(repr=False)
    phase: KeyRefreshPhase = KeyRefreshPhase.NORMAL
    min_security: Security = Security.SECURE
    timestamp: str = ""
    old_key: bytes | None = field(default=None, repr=False)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        phase = o.get("phase", lambda v, p: _int(v, p, 0, 2))
        old_key = o.opt("oldKey", _key)
        if phase != KeyRefreshPhase.NORMAL and old_key is None:
            raise CdbFormatError(o.at("oldKey"), "missing while a Key Refresh is in progress")
        return cls(
            name=o.get("name", _str),
            index=o.get("index", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            key=o.get("key", _key),
            old_key=old_key,
            phase=KeyRefreshPhase(phase),
            min_security=o.get("minSecurity", _security),
            timestamp=o.get("timestamp", _timestamp),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "name": self.name,
            "index": self.index,
            "key": self.key.hex().upper(),
            "oldKey": self.old_key.hex().upper() if self.old_key is not None else None,
            "phase": int(self.phase),
            "minSecurity": str(self.min_security),
            "timestamp": self.timestamp,
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class CdbAppKey:
    """An application key bound to one NetKey (MshCDB 1.0.1 §2, appKeys)."""

    name: str
    index: int
    bound_net_key: int
    key: bytes = field(repr=False)
    old_key: bytes | None = field(default=None, repr=False)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            name=o.get("name", _str),
            index=o.get("index", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            bound_net_key=o.get("boundNetKey", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            key=o.get("key", _key),
            old_key=o.opt("oldKey", _key),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "name": self.name,
            "index": self.index,
            "boundNetKey": self.bound_net_key,
            "key": self.key.hex().upper(),
            "oldKey": self.old_key.hex().upper() if self.old_key is not None else None,
        }
        return _emit(known, self.extra, self.key_order)


def _security(value: object, path: str) -> Security:
    text = _str(value, path)
    try:
        return Security(text)
    except ValueError:
        raise CdbFormatError(path, 'not "secure" or "insecure"') from None


@dataclass(slots=True)
class AddressRange:
    """An inclusive range of unicast or group addresses allocated to a provisioner."""

    low: int
    high: int
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, int) and self.low <= address <= self.high

    def __len__(self) -> int:
        return self.high - self.low + 1

    @classmethod
    def from_json(cls, data: object, path: str = "", *, group: bool = False) -> Self:
        """Parse a unicast (or with ``group`` a group) address range from its JSON form."""
        o = _Obj(data, path)
        lo, hi, what = (
            (GROUP_MIN, GROUP_MAX, "group") if group else (UNICAST_MIN, UNICAST_MAX, "unicast")
        )

        def bound(v: object, p: str) -> int:
            address = _hex4(v, p)
            if not lo <= address <= hi:
                raise CdbFormatError(p, f"not a {what} address ({lo:04X}-{hi:04X})")
            return address

        low = o.get("lowAddress", bound)
        high = o.get("highAddress", bound)
        if high < low:
            raise CdbFormatError(o.at("highAddress"), "below lowAddress")
        return cls(low, high, o.extra(), o.order())

    def to_json(self) -> JsonDict:
        known: JsonDict = {"lowAddress": _h4(self.low), "highAddress": _h4(self.high)}
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class SceneRange:
    """An inclusive range of scene numbers allocated to a provisioner."""

    first: int
    last: int
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        first = o.get("firstScene", _scene_number)
        last = o.get("lastScene", _scene_number)
        if last < first:
            raise CdbFormatError(o.at("lastScene"), "below firstScene")
        return cls(first, last, o.extra(), o.order())

    def to_json(self) -> JsonDict:
        known: JsonDict = {"firstScene": _h4(self.first), "lastScene": _h4(self.last)}
        return _emit(known, self.extra, self.key_order)


def _scene_number(value: object, path: str) -> int:
    if not isinstance(value, str) or not _HEX4.fullmatch(value):
        raise CdbFormatError(path, "not a 4-digit hex scene number")
    number = int(value, 16)
    if number == 0:
        raise CdbFormatError(path, "scene number 0000 is prohibited")
    return number


@dataclass(slots=True)
class CdbProvisioner:
    """A provisioner and the address/scene ranges it may hand out (MshCDB 1.0.1 §2)."""

    name: str
    uuid: UUID
    unicast_ranges: list[AddressRange] = field(default_factory=list)
    group_ranges: list[AddressRange] = field(default_factory=list)
    scene_ranges: list[SceneRange] = field(default_factory=list)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)
    uuid_text: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        uuid, text = o.get("UUID", _uuid)
        unicast = [AddressRange.from_json(v, p) for v, p in o.items("allocatedUnicastRange")]
        group = [
            AddressRange.from_json(v, p, group=True) for v, p in o.items("allocatedGroupRange")
        ]
        scene = [SceneRange.from_json(v, p) for v, p in o.items("allocatedSceneRange")]
        return cls(
            name=o.get("provisionerName", _str),
            uuid=uuid,
            unicast_ranges=unicast,
            group_ranges=group,
            scene_ranges=scene,
            extra=o.extra(),
            key_order=o.order(),
            uuid_text=text,
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "provisionerName": self.name,
            "UUID": _uuid_out(self.uuid, self.uuid_text),
            "allocatedUnicastRange": [r.to_json() for r in self.unicast_ranges],
            "allocatedGroupRange": [r.to_json() for r in self.group_ranges],
            "allocatedSceneRange": [r.to_json() for r in self.scene_ranges],
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class NodeKey:
    """A NetKey or AppKey index known to a node; ``updated`` during Key Refresh."""

    index: int
    updated: bool = False
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            index=o.get("index", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            updated=o.get("updated", _bool),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        return _emit({"index": self.index, "updated": self.updated}, self.extra, self.key_order)


def _feature(value: object, path: str) -> FeatureState:
    return FeatureState(_int(value, path, 0, 2))


@dataclass(slots=True)
class Features:
    """Relay/Proxy/Friend/Low Power feature states; ``None`` where the database is silent."""

    relay: FeatureState | None = None
    proxy: FeatureState | None = None
    friend: FeatureState | None = None
    low_power: FeatureState | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            relay=o.opt("relay", _feature),
            proxy=o.opt("proxy", _feature),
            friend=o.opt("friend", _feature),
            low_power=o.opt("lowPower", _feature),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        def out(state: FeatureState | None) -> int | None:
            return None if state is None else int(state)

        known: JsonDict = {
            "relay": out(self.relay),
            "proxy": out(self.proxy),
            "friend": out(self.friend),
            "lowPower": out(self.low_power),
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class CdbRetransmit:
    """``count`` and ``interval`` (ms) of networkTransmit, relayRetransmit or a publication.

    Ranges differ by use: network transmit / relay retransmit count 1-8, interval 10-320 ms
    in 10 ms steps (MshPRT 1.1 Network Transmit / Relay Retransmit states); publish
    retransmit count 0-7, interval 50-1600 ms in 50 ms steps (Model Publication state).
    """

    count: int
    interval: int
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "", *, publish: bool = False) -> Self:
        """Parse network transmit / relay retransmit (or with ``publish`` a publication's
        retransmit) from its JSON form."""
        o = _Obj(data, path)
        counts, (lo, hi, step) = ((0, 7), (50, 1600, 50)) if publish else ((1, 8), (10, 320, 10))
        count = o.get("count", lambda v, p: _int(v, p, *counts))
        interval = o.get("interval", lambda v, p: _int(v, p, lo, hi))
        if interval % step:
            raise CdbFormatError(o.at("interval"), f"not a multiple of {step} ms")
        return cls(count, interval, o.extra(), o.order())

    def to_json(self) -> JsonDict:
        known: JsonDict = {"count": self.count, "interval": self.interval}
        return _emit(known, self.extra, self.key_order)


def _transmit(value: object, path: str) -> CdbRetransmit:
    return CdbRetransmit.from_json(value, path)


@dataclass(slots=True)
class CdbPublishPeriod:
    """Publish period: ``number_of_steps`` (0-63) x ``resolution`` ms (100/1000/10000/600000)."""

    number_of_steps: int = 0
    resolution: int = 100
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def milliseconds(self) -> int:
        return self.number_of_steps * self.resolution

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        steps = o.get("numberOfSteps", lambda v, p: _int(v, p, 0, 63))
        resolution = o.get("resolution", lambda v, p: _int(v, p, 0, 600000))
        if resolution not in _PERIOD_RESOLUTIONS:
            raise CdbFormatError(o.at("resolution"), "not one of 100, 1000, 10000, 600000")
        return cls(steps, resolution, o.extra(), o.order())

    def to_json(self) -> JsonDict:
        known: JsonDict = {"numberOfSteps": self.number_of_steps, "resolution": self.resolution}
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class Publish:
    """Model publication (MshCDB 1.0.1 §2; MshPRT 1.1 Model Publication state)."""

    address: MeshAddress
    index: int
    ttl: int
    period: CdbPublishPeriod
    credentials: int
    retransmit: CdbRetransmit
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)

        def ttl(v: object, p: str) -> int:
            value = _int(v, p, 0, 255)
            if 127 < value < 255:
                raise CdbFormatError(p, "not 0-127 or 255")
            return value

        return cls(
            address=o.get("address", _mesh_address),
            index=o.get("index", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            ttl=o.get("ttl", ttl),
            period=o.get("period", lambda v, p: CdbPublishPeriod.from_json(v, p)),
            credentials=o.get("credentials", lambda v, p: _int(v, p, 0, 1)),
            retransmit=o.get(
                "retransmit", lambda v, p: CdbRetransmit.from_json(v, p, publish=True)
            ),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "address": _address_out(self.address),
            "index": self.index,
            "ttl": self.ttl,
            "period": self.period.to_json(),
            "credentials": self.credentials,
            "retransmit": self.retransmit.to_json(),
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class Model:
    """A model on an element. ``company_id`` is set for vendor models (8-digit modelId).

    ``sensor_properties``: a Sensor Server's property IDs, as its descriptors said (MshMDL 1.1
    §4.1.1), once read; our extension ``"x-ble-mesh-sensorProperties"``: ``["004F", ...]``.
    """

    model_id: int
    company_id: int | None = None
    bind: list[int] = field(default_factory=list)
    subscribe: list[MeshAddress] = field(default_factory=list)
    publish: Publish | None = None
    sensor_properties: list[int] | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_vendor(self) -> bool:
        return self.company_id is not None

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        raw = o.req("modelId")
        if isinstance(raw, str) and _HEX4.fullmatch(raw):
            model_id, company_id = int(raw, 16), None
        elif isinstance(raw, str) and _HEX8.fullmatch(raw):
            model_id, company_id = int(raw[4:], 16), int(raw[:4], 16)
        else:
            raise CdbFormatError(o.at("modelId"), "not a 4- or 8-digit hex model identifier")

        def subscription(v: object, p: str) -> MeshAddress:
            address = _mesh_address(v, p)
            if isinstance(address, int) and address < VIRTUAL_MIN:
                raise CdbFormatError(p, "not a group or virtual address")
            return address

        return cls(
            model_id=model_id,
            company_id=company_id,
            bind=[_int(v, p, 0, KEY_INDEX_MAX) for v, p in o.items("bind")],
            subscribe=[subscription(v, p) for v, p in o.items("subscribe")],
            publish=o.opt("publish", lambda v, p: Publish.from_json(v, p)),
            sensor_properties=o.opt(
                SENSOR_PROPERTIES_KEY, lambda v, p: [_hex4(i, ip) for i, ip in _list(v, p)]
            ),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        model_id = (
            _h4(self.model_id)
            if self.company_id is None
            else f"{self.company_id:04X}{self.model_id:04X}"
        )
        known: JsonDict = {
            "modelId": model_id,
            "bind": list(self.bind),
            "subscribe": [_address_out(a) for a in self.subscribe],
            "publish": self.publish.to_json() if self.publish is not None else None,
        }
        if self.sensor_properties is not None:
            known[SENSOR_PROPERTIES_KEY] = [_h4(i) for i in self.sensor_properties]
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class CdbElement:
    """An element of a node: its index, GATT location descriptor and models."""

    index: int
    location: int = 0x0000
    models: list[Model] = field(default_factory=list)
    name: str | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def sig_model_ids(self) -> set[int]:
        """The IDs of the element's SIG models (vendor models left out)."""
        return {m.model_id for m in self.models if not m.is_vendor}

    def model(self, model_id: int, company_id: int | None = None) -> Model | None:
        """The model with this id on the element, if any."""
        for model in self.models:
            if model.model_id == model_id and model.company_id == company_id:
                return model
        return None

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            name=o.opt("name", _str),
            index=o.get("index", lambda v, p: _int(v, p, 0, 255)),
            location=o.get("location", _hex4),
            models=[Model.from_json(v, p) for v, p in o.items("models")],
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "name": self.name,
            "index": self.index,
            "location": _h4(self.location),
            "models": [m.to_json() for m in self.models],
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class HeartbeatPublication:
    """Heartbeat publication of a node (MshPRT 1.1 Heartbeat Publication state)."""

    address: int
    period: int
    ttl: int
    index: int
    features: list[str] = field(default_factory=list)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)

        def feature(v: object, p: str) -> str:
            if v not in _HEARTBEAT_FEATURES:
                raise CdbFormatError(p, "not one of relay, proxy, friend, lowPower")
            assert isinstance(v, str)
            return v

        return cls(
            address=o.get("address", _hex4),
            period=o.get("period", lambda v, p: _int(v, p, 0, 65536)),
            ttl=o.get("ttl", lambda v, p: _int(v, p, 0, 127)),
            index=o.get("index", lambda v, p: _int(v, p, 0, KEY_INDEX_MAX)),
            features=[feature(v, p) for v, p in o.items("features")],
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "address": _h4(self.address),
            "period": self.period,
            "ttl": self.ttl,
            "index": self.index,
            "features": list(self.features),
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class HeartbeatSubscription:
    """Heartbeat subscription of a node (MshPRT 1.1 Heartbeat Subscription state)."""

    source: int
    destination: int
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(o.get("source", _hex4), o.get("destination", _hex4), o.extra(), o.order())

    def to_json(self) -> JsonDict:
        known: JsonDict = {"source": _h4(self.source), "destination": _h4(self.destination)}
        return _emit(known, self.extra, self.key_order)


def _default_ttl(value: object, path: str) -> int:
    ttl = _int(value, path, 0, 127)
    if ttl == 1:  # MshPRT 1.1 Default TTL state: 0x01 is prohibited
        raise CdbFormatError(path, "1 is prohibited")
    return ttl


@dataclass(slots=True)
class Node:
    """A provisioned node (MshCDB 1.0.1 §2, nodes). A provisioner's own node has its UUID.

    ``device_key`` may be ``None`` in a partial export. The node occupies
    ``unicast_address .. unicast_address + element_count - 1``.
    """

    uuid: UUID
    unicast_address: int
    device_key: bytes | None = field(repr=False)
    security: Security = Security.SECURE
    net_keys: list[NodeKey] = field(default_factory=list)
    app_keys: list[NodeKey] = field(default_factory=list)
    config_complete: bool = False
    elements: list[CdbElement] = field(default_factory=list)
    excluded: bool = False
    name: str | None = None
    cid: int | None = None
    pid: int | None = None
    vid: int | None = None
    crpl: int | None = None
    features: Features | None = None
    secure_network_beacon: bool | None = None
    default_ttl: int | None = None
    network_transmit: CdbRetransmit | None = None
    relay_retransmit: CdbRetransmit | None = None
    heartbeat_pub: HeartbeatPublication | None = None
    heartbeat_sub: HeartbeatSubscription | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)
    uuid_text: str = field(default="", repr=False, compare=False)

    @property
    def element_count(self) -> int:
        """Number of unicast addresses the node occupies (at least 1)."""
        return max(1, len(self.elements))

    @property
    def addresses(self) -> range:
        """The node's element addresses."""
        return range(self.unicast_address, self.unicast_address + self.element_count)

    @property
    def last_address(self) -> int:
        return self.unicast_address + self.element_count - 1

    @property
    def is_authenticated(self) -> bool:
        """Whether the node was provisioned with OOB authentication (security "secure")."""
        return self.security is Security.SECURE

    @property
    def is_configured(self) -> bool:
        """Whether the Configuration Manager finished configuring it (configComplete)."""
        return self.config_complete

    def owns(self, address: int) -> bool:
        """Whether ``address`` is one of this node's element addresses."""
        return self.unicast_address <= address <= self.last_address

    def element_at(self, address: int) -> CdbElement | None:
        """The element with this unicast address, if the node has it."""
        if not self.owns(address):
            return None
        offset = address - self.unicast_address
        return self.elements[offset] if offset < len(self.elements) else None

    def has_net_key(self, index: int) -> bool:
        return any(k.index == index for k in self.net_keys)

    def has_app_key(self, index: int) -> bool:
        return any(k.index == index for k in self.app_keys)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        uuid, text = o.get("UUID", _uuid)
        unicast = o.get("unicastAddress", _unicast)
        elements = [CdbElement.from_json(v, p) for v, p in o.items("elements")]
        for position, element in enumerate(elements):
            if element.index != position:
                path = o.at(f"elements[{position}].index")
                raise CdbFormatError(path, f"expected {position} (elements in index order)")
        if unicast + max(1, len(elements)) - 1 > UNICAST_MAX:
            raise CdbFormatError(o.at("elements"), "element addresses run past 7FFF")

        def node_keys(key: str) -> list[NodeKey]:
            keys = [NodeKey.from_json(v, p) for v, p in o.items(key)]
            _unique((k.index for k in keys), o.at(key), "key index")
            return keys

        return cls(
            uuid=uuid,
            unicast_address=unicast,
            device_key=o.opt("deviceKey", _key),
            security=o.get("security", _security),
            net_keys=node_keys("netKeys"),
            app_keys=node_keys("appKeys"),
            config_complete=o.get("configComplete", _bool),
            elements=elements,
            excluded=o.get("excluded", _bool),
            name=o.opt("name", _str),
            cid=o.opt("cid", _hex4),
            pid=o.opt("pid", _hex4),
            vid=o.opt("vid", _hex4),
            crpl=o.opt("crpl", _hex4),
            features=o.opt("features", lambda v, p: Features.from_json(v, p)),
            secure_network_beacon=o.opt("secureNetworkBeacon", _bool),
            default_ttl=o.opt("defaultTTL", _default_ttl),
            network_transmit=o.opt("networkTransmit", _transmit),
            relay_retransmit=o.opt("relayRetransmit", _transmit),
            heartbeat_pub=o.opt("heartbeatPub", lambda v, p: HeartbeatPublication.from_json(v, p)),
            heartbeat_sub=o.opt("heartbeatSub", lambda v, p: HeartbeatSubscription.from_json(v, p)),
            extra=o.extra(),
            key_order=o.order(),
            uuid_text=text,
        )

    def to_json(self) -> JsonDict:
        def h4(value: int | None) -> str | None:
            return None if value is None else _h4(value)

        known: JsonDict = {
            "UUID": _uuid_out(self.uuid, self.uuid_text),
            "unicastAddress": _h4(self.unicast_address),
            "deviceKey": self.device_key.hex().upper() if self.device_key is not None else None,
            "security": str(self.security),
            "netKeys": [k.to_json() for k in self.net_keys],
            "appKeys": [k.to_json() for k in self.app_keys],
            "configComplete": self.config_complete,
            "name": self.name,
            "cid": h4(self.cid),
            "pid": h4(self.pid),
            "vid": h4(self.vid),
            "crpl": h4(self.crpl),
            "features": self.features.to_json() if self.features is not None else None,
            "secureNetworkBeacon": self.secure_network_beacon,
            "defaultTTL": self.default_ttl,
            "networkTransmit": _opt_json(self.network_transmit),
            "relayRetransmit": _opt_json(self.relay_retransmit),
            "elements": [e.to_json() for e in self.elements],
            "excluded": self.excluded,
            "heartbeatPub": _opt_json(self.heartbeat_pub),
            "heartbeatSub": _opt_json(self.heartbeat_sub),
        }
        return _emit(known, self.extra, self.key_order)


def _opt_json(value: CdbRetransmit | HeartbeatPublication | HeartbeatSubscription | None) -> Any:
    return None if value is None else value.to_json()


@dataclass(slots=True)
class Group:
    """A group: a group address (C000-FEFF) or a virtual Label UUID; parent 0 means none."""

    name: str
    address: MeshAddress
    parent_address: MeshAddress = 0
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def is_virtual(self) -> bool:
        return isinstance(self.address, UUID)

    @property
    def destination(self) -> int:
        """The 16-bit address to send to (the virtual address for a Label UUID)."""
        return address_value(self.address)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            name=o.get("name", _str),
            address=o.get("address", _group_address),
            parent_address=o.get(
                "parentAddress", lambda v, p: _group_address(v, p, allow_unassigned=True)
            ),
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "name": self.name,
            "address": _address_out(self.address),
            "parentAddress": _address_out(self.parent_address),
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class Scene:
    """A scene: its number and the unicast addresses of the elements that store it."""

    name: str
    number: int
    addresses: list[int] = field(default_factory=list)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            name=o.get("name", _str),
            number=o.get("number", _scene_number),
            addresses=[_unicast(v, p) for v, p in o.items("addresses")],
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "name": self.name,
            "number": _h4(self.number),
            "addresses": [_h4(a) for a in self.addresses],
        }
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class ExclusionList:
    """Unicast addresses of removed nodes, excluded since ``iv_index`` (MshCDB 1.0.1 §2).

    They may be given to a new node only once the IV Index has grown by 2 or more: then every
    SeqAuth the new node uses is above what the removed node used, so no replay protection
    list still holding the old node's values can drop the new node's messages.
    """

    iv_index: int
    addresses: list[int] = field(default_factory=list)
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def blocks(self, current_iv_index: int) -> bool:
        """Whether these addresses are still excluded at ``current_iv_index``."""
        return current_iv_index < self.iv_index + 2

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        return cls(
            iv_index=o.get("ivIndex", lambda v, p: _int(v, p, 0, IV_INDEX_MAX)),
            addresses=[_unicast(v, p) for v, p in o.items("addresses")],
            extra=o.extra(),
            key_order=o.order(),
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {"ivIndex": self.iv_index, "addresses": [_h4(a) for a in self.addresses]}
        return _emit(known, self.extra, self.key_order)


@dataclass(slots=True)
class LegacyRuntimeFields:
    """Volatile values that this integration's databases kept in ``"x-ble-mesh"`` up to 0.1.

    The IV Index, the SEQ reservation and the replay protection list now live only in the
    node's state (:meth:`.node.MeshNode.snapshot`, stored apart from the database). An older
    database still carries them: they are read once, to start the node's state from them, and
    never written again. The JSON shape (also that of the small state store of 0.1)::

        {"ivIndex": 0, "ivUpdateActive": false, "sequenceNumbers": {"0001": 1200},
         "sequenceIvIndex": 0, "replayProtection": {"0002": [0, 17]}}

    ``sequenceIvIndex`` and ``replayProtection`` are optional (absent: the sequence numbers
    belong to the transmit IV Index, the replay protection list is empty).
    """

    iv_index: int = 0
    iv_update_active: bool = False
    sequence_numbers: dict[int, int] = field(default_factory=dict)
    sequence_iv_index: int | None = None
    replay_protection: dict[int, tuple[int, int]] = field(default_factory=dict)

    FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"ivIndex", "ivUpdateActive", "sequenceNumbers", "sequenceIvIndex", "replayProtection"}
    )

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse the fields (``path`` names the object in errors); others are ignored."""
        o = _Obj(data, path)
        seq_obj = _Obj(o.req("sequenceNumbers"), o.at("sequenceNumbers"))
        sequence: dict[int, int] = {}
        for key in seq_obj.order():
            address = _unicast(key, seq_obj.at(key))
            sequence[address] = seq_obj.get(key, lambda v, p: _int(v, p, 0, SEQ_MAX + 1))
        replay: dict[int, tuple[int, int]] = {}
        rpl_raw = o.opt("replayProtection", lambda v, p: _Obj(v, p))
        if rpl_raw is not None:
            for key in rpl_raw.order():
                address = _unicast(key, rpl_raw.at(key))
                pair = rpl_raw.items(key)
                if len(pair) != 2:
                    raise CdbFormatError(rpl_raw.at(key), "not an [IV Index, SEQ] pair")
                replay[address] = (
                    _int(pair[0][0], pair[0][1], 0, IV_INDEX_MAX),
                    _int(pair[1][0], pair[1][1], 0, SEQ_MAX),
                )
        return cls(
            iv_index=o.get("ivIndex", lambda v, p: _int(v, p, 0, IV_INDEX_MAX)),
            iv_update_active=o.get("ivUpdateActive", _bool),
            sequence_numbers=sequence,
            sequence_iv_index=o.opt("sequenceIvIndex", lambda v, p: _int(v, p, 0, IV_INDEX_MAX)),
            replay_protection=replay,
        )

    @property
    def transmit_iv_index(self) -> int:
        """The IV Index the sequence numbers belong to."""
        if self.sequence_iv_index is not None:
            return self.sequence_iv_index
        return max(self.iv_index - 1, 0) if self.iv_update_active else self.iv_index


@dataclass(slots=True)
class MeshExtension:
    """Our data that MshCDB 1.0.1 has no field for, stored under ``"x-ble-mesh"``.

    JSON form::

        "x-ble-mesh": {
          "localProvisioner": "UUID",        # which provisioner this Home Assistant is
          "keyRefreshPending": true,         # another Key Refresh must follow the current one
          "reservedAddresses": [{"lowAddress": "0005", "highAddress": "0007"}]
        }

    ``reservedAddresses`` (optional) are unicast ranges promised to devices being provisioned:
    no other node is given them until the node is recorded or the range released.
    ``keyRefreshPending`` is optional: set when a node that already held the *new* keys of a
    running Key Refresh was removed: the new keys are then compromised too, and a fresh Key
    Refresh (MshPRT 1.1 §3.11.4) must run once the current one has finished. A database
    written by 0.1 also has :class:`LegacyRuntimeFields` here: read into ``legacy``, dropped
    at the next save.
    """

    local_provisioner: UUID | None = None
    key_refresh_pending: bool = False
    reserved: list[tuple[int, int]] = field(default_factory=list)
    legacy: LegacyRuntimeFields | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)
    uuid_text: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object, path: str = "") -> Self:
        """Parse this object from its MshCDB JSON form (``path`` names it in errors)."""
        o = _Obj(data, path)
        local = o.opt("localProvisioner", _uuid)
        legacy = None
        if isinstance(data, dict) and "sequenceNumbers" in data:
            legacy = LegacyRuntimeFields.from_json(data, path)
            for name in LegacyRuntimeFields.FIELDS:
                o.consumed(name)
        reserved: list[tuple[int, int]] = []
        for item, item_path in o.opt("reservedAddresses", _list) or []:
            r = _Obj(item, item_path)
            low = r.get("lowAddress", _unicast)
            high = r.get("highAddress", _unicast)
            if high < low:
                raise CdbFormatError(item_path, "highAddress below lowAddress")
            reserved.append((low, high))
        return cls(
            local_provisioner=local[0] if local is not None else None,
            key_refresh_pending=bool(o.opt("keyRefreshPending", _bool)),
            reserved=reserved,
            legacy=legacy,
            extra=o.extra(),
            key_order=tuple(k for k in o.order() if k not in LegacyRuntimeFields.FIELDS),
            uuid_text=local[1] if local is not None else "",
        )

    def to_json(self) -> JsonDict:
        known: JsonDict = {
            "localProvisioner": (
                _uuid_out(self.local_provisioner, self.uuid_text)
                if self.local_provisioner is not None
                else None
            ),
            "keyRefreshPending": True if self.key_refresh_pending else None,
            "reservedAddresses": (
                [{"lowAddress": _h4(low), "highAddress": _h4(high)} for low, high in self.reserved]
                if self.reserved
                else None
            ),
        }
        return _emit(known, self.extra, self.key_order)


def _unique(values: Iterable[object], path: str, what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise CdbFormatError(path, f"duplicate {what}")
        seen.add(value)


def parse_document(text: str) -> JsonDict:
    """JSON text as the document object :meth:`MeshNetwork.from_json` reads.

    Raises :class:`CdbFormatError` if it is not JSON or nested deeper than Python can read.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:  # its msg holds no document text
        raise CdbFormatError("", f"not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise CdbFormatError("", "nested too deeply") from None
    if not isinstance(data, dict):
        raise CdbFormatError("", "not a JSON object")
    return data


# --------------------------------------------------------------------------------------------
# Allocation helpers


def _first_fit(
    ranges: Iterable[tuple[int, int]], blocked: list[tuple[int, int]], size: int
) -> int | None:
    """Lowest start of ``size`` consecutive values inside one of ``ranges``, avoiding
    every (inclusive) ``blocked`` interval."""
    blocked = sorted(blocked)
    for low, high in sorted(ranges):
        candidate = low
        for b_low, b_high in blocked:
            if b_high < candidate:
                continue
            if b_low > candidate + size - 1:
                break
            candidate = b_high + 1
            if candidate + size - 1 > high:
                break
        if candidate + size - 1 <= high:
            return candidate
    return None


def _free_gaps(space: tuple[int, int], taken: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Maximal free intervals of ``space`` outside ``taken``."""
    low, high = space
    cursor = low
    for t_low, t_high in sorted(taken):
        if t_high < cursor:
            continue
        if t_low > high:
            break
        if t_low > cursor:
            yield cursor, t_low - 1
        cursor = max(cursor, t_high + 1)
    if cursor <= high:
        yield cursor, high


def _carve(space: tuple[int, int], taken: list[tuple[int, int]], size: int) -> tuple[int, int]:
    """The lowest free block of ``size`` in ``space``, or else the largest free gap."""
    gaps = list(_free_gaps(space, taken))
    if not gaps:
        raise AllocationError("no free range left")
    for low, high in gaps:
        if high - low + 1 >= size:
            return low, low + size - 1
    return max(gaps, key=lambda g: g[1] - g[0])


# --------------------------------------------------------------------------------------------
# The network


@dataclass(slots=True)
class MeshNetwork:
    """A whole Mesh Configuration Database document (MshCDB 1.0.1 §2)."""

    mesh_uuid: UUID
    mesh_name: str
    timestamp: str
    net_keys: list[NetKey] = field(default_factory=list)
    app_keys: list[CdbAppKey] = field(default_factory=list)
    provisioners: list[CdbProvisioner] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    network_exclusions: list[ExclusionList] | None = None
    partial: bool = False
    schema: str = CDB_SCHEMA
    id: str = CDB_ID
    version: str = CDB_VERSION
    extension: MeshExtension | None = None
    extra: JsonDict = field(default_factory=dict, repr=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)
    uuid_text: str = field(default="", repr=False, compare=False)

    # ---- import / export ------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: JsonDict | str) -> Self:
        """Parse and validate a MshCDB document (a dict or its JSON text).

        Raises :class:`CdbFormatError` naming the JSON path of the first problem found.
        """
        if isinstance(data, str):
            data = parse_document(data)
        o = _Obj(data, "")
        schema = o.get("$schema", _str)
        id_ = o.get("id", _str)
        version = o.get("version", _str)
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            raise CdbFormatError("version", "not a version number like 1.0.1")
        mesh_uuid, uuid_text = o.get("meshUUID", _uuid)
        net_keys = [NetKey.from_json(v, p) for v, p in o.items("netKeys")]
        if not net_keys:
            raise CdbFormatError("netKeys", "a network has at least one NetKey")
        _unique((k.index for k in net_keys), "netKeys", "index")
        app_keys = [CdbAppKey.from_json(v, p) for v, p in o.items("appKeys")]
        _unique((k.index for k in app_keys), "appKeys", "index")
        net_indexes = {k.index for k in net_keys}
        for i, app_key in enumerate(app_keys):
            if app_key.bound_net_key not in net_indexes:
                raise CdbFormatError(f"appKeys[{i}].boundNetKey", "no NetKey with this index")
        provisioners = [CdbProvisioner.from_json(v, p) for v, p in o.items("provisioners")]
        _unique((p.uuid for p in provisioners), "provisioners", "UUID")
        claims = _Claims()
        nodes = [claims.node(Node.from_json(v, p), p) for v, p in o.items("nodes")]
        groups = [claims.group(Group.from_json(v, p), p) for v, p in o.items("groups")]
        scenes = [claims.scene(Scene.from_json(v, p), p) for v, p in o.items("scenes")]
        exclusions = o.opt(
            "networkExclusions",
            lambda v, p: [ExclusionList.from_json(i, ip) for i, ip in _list(v, p)],
        )
        extension = o.opt(EXTENSION_KEY, lambda v, p: MeshExtension.from_json(v, p))
        return cls(
            schema=schema,
            id=id_,
            version=version,
            mesh_uuid=mesh_uuid,
            mesh_name=o.get("meshName", _str),
            timestamp=o.get("timestamp", _timestamp),
            partial=o.get("partial", _bool),
            net_keys=net_keys,
            app_keys=app_keys,
            provisioners=provisioners,
            nodes=nodes,
            groups=groups,
            scenes=scenes,
            network_exclusions=exclusions,
            extension=extension,
            extra=o.extra(),
            key_order=o.order(),
            uuid_text=uuid_text,
        )

    def to_json(self, *, include_extension: bool = True) -> JsonDict:
        """The document as a JSON-ready dict; exactly what was imported if nothing changed.

        ``include_extension=False`` leaves out our ``"x-ble-mesh"`` object (for sharing).
        """
        known: JsonDict = {
            "$schema": self.schema,
            "id": self.id,
            "version": self.version,
            "meshUUID": _uuid_out(self.mesh_uuid, self.uuid_text),
            "meshName": self.mesh_name,
            "timestamp": self.timestamp,
            "partial": self.partial,
            "netKeys": [k.to_json() for k in self.net_keys],
            "appKeys": [k.to_json() for k in self.app_keys],
            "provisioners": [p.to_json() for p in self.provisioners],
            "nodes": [n.to_json() for n in self.nodes],
            "groups": [g.to_json() for g in self.groups],
            "scenes": [s.to_json() for s in self.scenes],
            "networkExclusions": (
                [e.to_json() for e in self.network_exclusions]
                if self.network_exclusions is not None
                else None
            ),
            EXTENSION_KEY: (
                self.extension.to_json()
                if self.extension is not None and include_extension
                else None
            ),
        }
        out = _emit(known, self.extra, self.key_order)
        if not include_extension:
            out.pop(EXTENSION_KEY, None)
        return out

    def to_json_text(self, *, include_extension: bool = True, indent: int | None = 2) -> str:
        """:meth:`to_json` as JSON text."""
        return json.dumps(self.to_json(include_extension=include_extension), indent=indent)

    # ---- creation ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: str,
        provisioner_name: str,
        now_iso: str,
        *,
        mesh_uuid: UUID | None = None,
        provisioner_uuid: UUID | None = None,
    ) -> Self:
        """A new network: fresh primary NetKey and one AppKey, us as its first provisioner.

        The provisioner gets unicast 0001-3FFF, groups C000-DFFF and scenes 0001-7FFF (half of
        each space, so provisioners added later have room) and its own node at 0001. The
        extension records that provisioner as the local one.
        """
        timestamp = _timestamp(now_iso, "now_iso")
        network = cls(
            mesh_uuid=mesh_uuid or uuid4(),
            mesh_name=name,
            timestamp=timestamp,
            net_keys=[
                NetKey(
                    name="Primary Network Key",
                    index=0,
                    key=secrets.token_bytes(16),
                    timestamp=timestamp,
                )
            ],
            app_keys=[
                CdbAppKey(
                    name="Application Key 1",
                    index=0,
                    bound_net_key=0,
                    key=secrets.token_bytes(16),
                )
            ],
            network_exclusions=[],
            extension=MeshExtension(),
        )
        uuid = provisioner_uuid or uuid4()
        network.provisioners.append(
            CdbProvisioner(
                name=provisioner_name,
                uuid=uuid,
                unicast_ranges=[AddressRange(UNICAST_MIN, 0x3FFF)],
                group_ranges=[AddressRange(GROUP_MIN, 0xDFFF)],
                scene_ranges=[SceneRange(SCENE_MIN, 0x7FFF)],
            )
        )
        network.add_provisioner_node(uuid)
        assert network.extension is not None
        network.extension.local_provisioner = uuid
        return network

    def touch(self, now_iso: str) -> None:
        """Set the document timestamp (call after a change; time is passed in)."""
        self.timestamp = _timestamp(now_iso, "now_iso")

    # ---- lookups ----------------------------------------------------------------------------

    def net_key(self, index: int) -> NetKey | None:
        return next((k for k in self.net_keys if k.index == index), None)

    def app_key(self, index: int) -> CdbAppKey | None:
        return next((k for k in self.app_keys if k.index == index), None)

    def provisioner(self, uuid: UUID | str) -> CdbProvisioner | None:
        wanted = _as_uuid(uuid)
        return next((p for p in self.provisioners if p.uuid == wanted), None)

    def node_by_uuid(self, uuid: UUID | str) -> Node | None:
        wanted = _as_uuid(uuid)
        return next((n for n in self.nodes if n.uuid == wanted), None)

    def device_nodes(self) -> list[Node]:
        """The nodes that are devices: all but the provisioners' own (a provisioner's node has
        the provisioner's UUID)."""
        provisioners = {p.uuid for p in self.provisioners}
        return [n for n in self.nodes if n.uuid not in provisioners]

    def node_by_address(self, address: int) -> Node | None:
        """The node whose primary element has this unicast address."""
        return next((n for n in self.nodes if n.unicast_address == address), None)

    def node_for_element(self, address: int) -> Node | None:
        """The node that owns this element address (any element, not only the primary)."""
        return next((n for n in self.nodes if n.owns(address)), None)

    def element_at(self, address: int) -> tuple[Node, CdbElement] | None:
        """The node and element with this unicast address, if the element is known."""
        node = self.node_for_element(address)
        if node is None:
            return None
        element = node.element_at(address)
        return None if element is None else (node, element)

    def provisioner_node(self, uuid: UUID | str) -> Node | None:
        """The node of a provisioner (a provisioner's node carries the provisioner's UUID)."""
        return self.node_by_uuid(uuid)

    def group(self, address: MeshAddress) -> Group | None:
        return next((g for g in self.groups if g.address == address), None)

    def scene(self, number: int) -> Scene | None:
        return next((s for s in self.scenes if s.number == number), None)

    # ---- our extension ---------------------------------------------------------------------

    def _ext(self) -> MeshExtension:
        if self.extension is None:
            self.extension = MeshExtension()
        return self.extension

    @property
    def local_provisioner(self) -> CdbProvisioner | None:
        """The provisioner this Home Assistant acts as (from our extension)."""
        if self.extension is None or self.extension.local_provisioner is None:
            return None
        return self.provisioner(self.extension.local_provisioner)

    def set_local_provisioner(self, uuid: UUID | str) -> None:
        wanted = _as_uuid(uuid)
        if self.provisioner(wanted) is None:
            raise DatabaseError("no provisioner with this UUID")
        self._ext().local_provisioner = wanted

    # ---- address bookkeeping -------------------------------------------------------------

    def reserved_addresses(self) -> list[tuple[int, int]]:
        """Unicast ranges promised to devices being provisioned (see :class:`MeshExtension`)."""
        return list(self.extension.reserved) if self.extension is not None else []

    def reserve_addresses(self, low: int, high: int) -> None:
        """Promise ``low .. high`` to a device being provisioned (it must be free)."""
        if not UNICAST_MIN <= low <= high <= UNICAST_MAX:
            raise DatabaseError("reserved addresses outside 0001-7FFF")
        if any(a <= high and low <= b for a, b in self.reserved_addresses()) or any(
            n.unicast_address <= high and low <= n.last_address for n in self.nodes
        ):
            raise DatabaseError("the range is taken")
        self._ext().reserved.append((low, high))

    def release_addresses(self, low: int, high: int) -> None:
        """The device was recorded, or not provisioned: the promise ends."""
        if self.extension is not None:
            self.extension.reserved = [r for r in self.extension.reserved if r != (low, high)]

    def excluded_addresses(self, iv_index: int | None = None) -> set[int]:
        """Unicast addresses of removed nodes that may not be reused yet at ``iv_index``.

        The IV Index is the network's (the node's state, not the database's); ``None`` (not
        known, e.g. while importing) counts every listed address as still excluded.
        """
        return {
            address
            for entry in self.network_exclusions or ()
            if iv_index is None or entry.blocks(iv_index)
            for address in entry.addresses
        }

    def _unicast_blocked(
        self, *, besides: CdbProvisioner | None, iv_index: int | None
    ) -> list[tuple[int, int]]:
        blocked = [(n.unicast_address, n.last_address) for n in self.nodes]
        blocked += [(a, a) for a in self.excluded_addresses(iv_index)]
        blocked += self.reserved_addresses()
        for other in self.provisioners:
            if other is not besides:
                blocked += [(r.low, r.high) for r in other.unicast_ranges]
        return blocked

    def _need_provisioner(self, uuid: UUID | str) -> CdbProvisioner:
        provisioner = self.provisioner(uuid)
        if provisioner is None:
            raise DatabaseError("no provisioner with this UUID")
        return provisioner

    def allocate_unicast(
        self, provisioner_uuid: UUID | str, element_count: int, *, iv_index: int | None = None
    ) -> int:
        """Lowest free unicast address for a node of ``element_count`` elements.

        The block lies inside one of the provisioner's allocated unicast ranges and clashes
        with no node (nor a provisioner's own node), no still-excluded address and no other
        provisioner's range. Nothing is reserved: pass the result to :meth:`add_node`.
        """
        if not 1 <= element_count <= 255:
            raise DatabaseError("element count must be 1..255")
        provisioner = self._need_provisioner(provisioner_uuid)
        ranges = [(r.low, r.high) for r in provisioner.unicast_ranges]
        blocked = self._unicast_blocked(besides=provisioner, iv_index=iv_index)
        found = _first_fit(ranges, blocked, element_count)
        if found is None:
            raise AllocationError(
                f"no {element_count} free unicast addresses in the ranges of this provisioner"
            )
        return found

    def allocate_group_address(
        self, provisioner_uuid: UUID | str, *, besides: Iterable[int] = ()
    ) -> int:
        """Lowest group address in the provisioner's group ranges not used by a group (nor
        in ``besides``, addresses held for groups being created)."""
        provisioner = self._need_provisioner(provisioner_uuid)
        used = [(g.address, g.address) for g in self.groups if isinstance(g.address, int)]
        used += [(a, a) for a in besides]
        for other in self.provisioners:
            if other is not provisioner:
                used += [(r.low, r.high) for r in other.group_ranges]
        found = _first_fit([(r.low, r.high) for r in provisioner.group_ranges], used, 1)
        if found is None:
            raise AllocationError("no free group address in the ranges of this provisioner")
        return found

    def allocate_scene_number(self, provisioner_uuid: UUID | str) -> int:
        """Lowest scene number in the provisioner's scene ranges not used by a scene."""
        provisioner = self._need_provisioner(provisioner_uuid)
        used = [(s.number, s.number) for s in self.scenes]
        for other in self.provisioners:
            if other is not provisioner:
                used += [(r.first, r.last) for r in other.scene_ranges]
        found = _first_fit([(r.first, r.last) for r in provisioner.scene_ranges], used, 1)
        if found is None:
            raise AllocationError("no free scene number in the ranges of this provisioner")
        return found

    # ---- provisioners ----------------------------------------------------------------------

    def add_provisioner(
        self,
        name: str,
        uuid: UUID | str,
        *,
        unicast_size: int = 0x0800,
        group_size: int = 0x0400,
        scene_size: int = 0x0400,
        create_node: bool = True,
    ) -> CdbProvisioner:
        """Add a provisioner with ranges no other provisioner (or node) uses.

        Each range is the lowest free block of the requested size; if no gap is that large,
        the largest free gap is taken instead. With ``create_node`` the provisioner also gets
        its own node (one element) at the first address of its unicast range.
        """
        wanted = _as_uuid(uuid)
        if self.provisioner(wanted) is not None or self.node_by_uuid(wanted) is not None:
            raise DatabaseError("a provisioner or node with this UUID exists")
        for size in (unicast_size, group_size, scene_size):
            if size < 1:
                raise DatabaseError("range sizes must be positive")
        taken_unicast = [(r.low, r.high) for p in self.provisioners for r in p.unicast_ranges]
        taken_unicast += [(n.unicast_address, n.last_address) for n in self.nodes]
        taken_unicast += [(a, a) for a in self.excluded_addresses()]
        taken_unicast += self.reserved_addresses()
        taken_group = [(r.low, r.high) for p in self.provisioners for r in p.group_ranges]
        taken_group += [(g.address, g.address) for g in self.groups if isinstance(g.address, int)]
        taken_scene = [(r.first, r.last) for p in self.provisioners for r in p.scene_ranges]
        taken_scene += [(s.number, s.number) for s in self.scenes]
        try:
            unicast = _carve((UNICAST_MIN, UNICAST_MAX), taken_unicast, unicast_size)
        except AllocationError:
            raise AllocationError("no free unicast range left for a provisioner") from None
        group = _try_carve((GROUP_MIN, GROUP_MAX), taken_group, group_size)
        scene = _try_carve((SCENE_MIN, SCENE_MAX), taken_scene, scene_size)
        provisioner = CdbProvisioner(
            name=name,
            uuid=wanted,
            unicast_ranges=[AddressRange(*unicast)],
            group_ranges=[AddressRange(*group)] if group else [],
            scene_ranges=[SceneRange(*scene)] if scene else [],
        )
        self.provisioners.append(provisioner)
        if create_node:
            self.add_provisioner_node(wanted)
        return provisioner

    def add_provisioner_node(self, provisioner_uuid: UUID | str) -> Node:
        """Give a provisioner its own node (one element, all keys) so it can send messages."""
        provisioner = self._need_provisioner(provisioner_uuid)
        if self.node_by_uuid(provisioner.uuid) is not None:
            raise DatabaseError("this provisioner already has a node")
        node = Node(
            uuid=provisioner.uuid,
            unicast_address=self.allocate_unicast(provisioner.uuid, 1),
            device_key=secrets.token_bytes(16),
            security=Security.SECURE,
            net_keys=[NodeKey(k.index) for k in self.net_keys],
            app_keys=[NodeKey(k.index) for k in self.app_keys],
            config_complete=True,
            elements=[
                CdbElement(
                    index=0,
                    location=0x0000,
                    # Configuration Server and Configuration Client (MshPRT 1.1 §4.4).
                    models=[Model(0x0000), Model(0x0001)],
                    name="Primary Element",
                )
            ],
            excluded=False,
            name=provisioner.name,
        )
        self.add_node(node)
        return node

    def remove_provisioner(self, uuid: UUID | str, *, iv_index: int) -> CdbProvisioner:
        """Remove a provisioner (and its own node, whose addresses become excluded at the
        network's current ``iv_index``)."""
        provisioner = self._need_provisioner(uuid)
        if self.node_by_uuid(provisioner.uuid) is not None:
            self.remove_node(provisioner.uuid, iv_index=iv_index)
        self.provisioners.remove(provisioner)
        if self.extension is not None and self.extension.local_provisioner == provisioner.uuid:
            self.extension.local_provisioner = None
        return provisioner

    # ---- nodes ------------------------------------------------------------------------------

    def add_node(self, node: Node, *, iv_index: int | None = None) -> None:
        """Record a node; its addresses must be free (no node, no excluded address)."""
        if self.node_by_uuid(node.uuid) is not None:
            raise DatabaseError("a node with this UUID exists")
        if not UNICAST_MIN <= node.unicast_address <= node.last_address <= UNICAST_MAX:
            raise DatabaseError("node addresses outside 0001-7FFF")
        for other in self.nodes:
            if (
                node.unicast_address <= other.last_address
                and other.unicast_address <= node.last_address
            ):
                raise DatabaseError("node addresses overlap an existing node")
        if self.excluded_addresses(iv_index).intersection(node.addresses):
            raise DatabaseError("node addresses belong to a recently removed node")
        self.nodes.append(node)

    def remove_node(self, uuid: UUID | str, *, iv_index: int) -> Node:
        """Remove a node; its addresses go into the exclusion list of ``iv_index``, the
        network's current IV Index (MshCDB 1.0.1 §2.1.3)."""
        node = self.node_by_uuid(uuid)
        if node is None:
            raise DatabaseError("no node with this UUID")
        self.nodes.remove(node)
        if self.network_exclusions is None:
            self.network_exclusions = []
        entry = next((e for e in self.network_exclusions if e.iv_index == iv_index), None)
        if entry is None:
            entry = ExclusionList(iv_index=iv_index)
            self.network_exclusions.append(entry)
        entry.addresses.extend(a for a in node.addresses if a not in entry.addresses)
        # The node no longer stores scenes nor is referenced by them.
        for scene in self.scenes:
            scene.addresses = [a for a in scene.addresses if not node.owns(a)]
        return node

    def prune_exclusions(self, iv_index: int) -> None:
        """Drop exclusion lists that no longer block anything at ``iv_index``."""
        if self.network_exclusions is not None:
            self.network_exclusions = [
                e for e in self.network_exclusions if e.addresses and e.blocks(iv_index)
            ]

    # ---- groups and scenes -------------------------------------------------------------------

    def add_group(self, name: str, address: MeshAddress, parent_address: MeshAddress = 0) -> Group:
        """Add a group with a group address (C000-FEFF) or a virtual Label UUID."""
        if isinstance(address, int) and not GROUP_MIN <= address <= GROUP_MAX:
            raise DatabaseError("not a group address (C000-FEFF)")
        if self.group(address) is not None:
            raise DatabaseError("a group with this address exists")
        if parent_address != 0 and self.group(parent_address) is None:
            raise DatabaseError("no parent group with this address")
        group = Group(name=name, address=address, parent_address=parent_address)
        self.groups.append(group)
        return group

    def remove_group(self, address: MeshAddress) -> Group:
        group = self.group(address)
        if group is None:
            raise DatabaseError("no group with this address")
        if any(g.parent_address == address for g in self.groups):
            raise DatabaseError("the group is the parent of another group")
        self.groups.remove(group)
        return group

    def add_scene(self, name: str, number: int, addresses: Iterable[int] = ()) -> Scene:
        if not SCENE_MIN <= number <= SCENE_MAX:
            raise DatabaseError("scene number must be 0001-FFFF")
        if self.scene(number) is not None:
            raise DatabaseError("a scene with this number exists")
        scene = Scene(name=name, number=number, addresses=list(addresses))
        self.scenes.append(scene)
        return scene


def _try_carve(
    space: tuple[int, int], taken: list[tuple[int, int]], size: int
) -> tuple[int, int] | None:
    try:
        return _carve(space, taken, size)
    except AllocationError:
        return None


class _Claims:
    """What the nodes, groups and scenes read so far claim, to refuse a record that clashes.

    The document's uniqueness rules (MshCDB: a node's UUID and its unicast addresses, a group's
    address, a scene's number belong to one record), checked one record at a time: the strict
    parse (:meth:`MeshNetwork.from_json`) raises on the first clash, :func:`load_valid_part`
    leaves the clashing record out. Each check returns the record it accepted.
    """

    def __init__(self) -> None:
        self._uuids: set[UUID] = set()
        self._spans: list[tuple[int, int]] = []  # disjoint node address ranges, sorted
        self._group_addresses: set[object] = set()
        self._scene_numbers: set[int] = set()

    def node(self, node: Node, path: str) -> Node:
        if node.uuid in self._uuids:
            raise CdbFormatError(_join(path, "UUID"), "duplicate UUID")
        span = (node.unicast_address, node.last_address)
        at = bisect.bisect_left(self._spans, span)
        if (at > 0 and self._spans[at - 1][1] >= span[0]) or (
            at < len(self._spans) and self._spans[at][0] <= span[1]
        ):
            raise CdbFormatError(
                _join(path, "unicastAddress"), "overlaps the addresses of another node"
            )
        self._uuids.add(node.uuid)
        self._spans.insert(at, span)
        return node

    def group(self, group: Group, path: str) -> Group:
        if group.address in self._group_addresses:
            raise CdbFormatError(_join(path, "address"), "duplicate address")
        self._group_addresses.add(group.address)
        return group

    def scene(self, scene: Scene, path: str) -> Scene:
        if scene.number in self._scene_numbers:
            raise CdbFormatError(_join(path, "number"), "duplicate number")
        self._scene_numbers.add(scene.number)
        return scene


# --------------------------------------------------------------------------------------------
# Loading the valid part of a database


@dataclass(frozen=True, slots=True)
class DroppedRecord:
    """A node, group or scene that :func:`load_valid_part` left out, and why.

    ``kind`` is ``"node"``, ``"group"`` or ``"scene"`` and ``index`` its position in that
    list; ``label`` its name, else what identifies it as written (UUID, address, number),
    else :attr:`path`; ``addresses`` a dropped node's unicast range where it could be read.
    """

    kind: str
    index: int
    label: str
    error: CdbFormatError
    addresses: tuple[int, int] | None = None

    @property
    def path(self) -> str:
        """Where it was in the document: ``nodes[3]``."""
        return f"{self.kind}s[{self.index}]"


def load_valid_part(data: JsonDict) -> tuple[MeshNetwork, list[DroppedRecord]]:
    """Parse a database, leaving out the nodes, groups and scenes that fail validation.

    A valid document loads whole. Otherwise each node, group and scene is checked on its own
    and against the ones kept before it (the rules of :meth:`MeshNetwork.from_json`: unique
    UUIDs, disjoint node addresses, unique group addresses and scene numbers) and the failing
    ones are left out: each can be made again (the device added again, the group or scene
    created again) and nothing else in the document needs it to be valid. Anything else that
    fails (keys, provisioners and their ranges, exclusion lists, our extension, the document's
    own fields) still raises :class:`CdbFormatError`: loaded without it, keys or addresses
    would be used wrongly.

    A dropped node's addresses, where they can still be read, become reserved (see
    :class:`MeshExtension`): the device may still use them, so no new device is given them.
    """
    try:
        return MeshNetwork.from_json(data), []
    except CdbFormatError:
        pass
    document = dict(data)
    dropped: list[DroppedRecord] = []
    claims = _Claims()
    _keep_valid(document, "nodes", Node.from_json, claims.node, dropped)
    _keep_valid(document, "groups", Group.from_json, claims.group, dropped)
    _keep_valid(document, "scenes", Scene.from_json, claims.scene, dropped)
    network = MeshNetwork.from_json(document)
    for record in dropped:
        if record.addresses is not None:
            taken = [(n.unicast_address, n.last_address) for n in network.nodes]
            for low, high in list(
                _free_gaps(record.addresses, taken + network.reserved_addresses())
            ):
                network.reserve_addresses(low, high)
    return network, dropped


_KINDS: Final = {"nodes": "node", "groups": "group", "scenes": "scene"}
_LABEL_FIELDS: Final = {
    "nodes": ("name", "UUID", "unicastAddress"),
    "groups": ("name", "address"),
    "scenes": ("name", "number"),
}


def _keep_valid[T](
    document: JsonDict,
    key: str,
    parse: Callable[[object, str], T],
    claim: Callable[[T, str], T],
    dropped: list[DroppedRecord],
) -> None:
    """Keep the items of ``document[key]`` that parse and clash with none kept before them."""
    items = document.get(key)
    if not isinstance(items, list):
        return  # not droppable one by one: the strict parse says what is wrong
    kept_items: list[object] = []
    for index, item in enumerate(items):
        path = f"{key}[{index}]"
        try:
            claim(parse(item, path), path)
        except CdbFormatError as err:
            label = next(
                (
                    value
                    for name in _LABEL_FIELDS[key]
                    if isinstance(item, dict)
                    and isinstance(value := item.get(name), str)
                    and value.strip()
                ),
                path,
            )
            addresses = _readable_range(item) if key == "nodes" else None
            dropped.append(DroppedRecord(_KINDS[key], index, label, err, addresses))
            continue
        kept_items.append(item)
    document[key] = kept_items


def _readable_range(item: object) -> tuple[int, int] | None:
    """A node record's unicast range, as far as it can be read (at least its first address)."""
    if not isinstance(item, dict):
        return None
    try:
        low = _unicast(item.get("unicastAddress"), "")
    except CdbFormatError:
        return None
    elements = item.get("elements")
    count = len(elements) if isinstance(elements, list) else 1
    return low, min(low + max(count, 1) - 1, UNICAST_MAX)
