"""Composition Data Page 0 (MshPRT 1.1 §4.2.2.1, sample data §8.10.1).

Layout, all little-endian: CID (2), PID (2), VID (2), CRPL (2), Features (2), then one or more
elements: Loc (2), NumS (1), NumV (1), NumS SIG model IDs (2 each), NumV vendor model IDs
(company ID then model ID, 4 each).
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.ble_mesh.mesh.access import JsonValue, Reader
from custom_components.ble_mesh.mesh.errors import DecodeError, UsageError

from .common import ModelId

# Features bits of page 0 (MshPRT 1.1 §4.2.2.1, Table 4.3); bits 4-15 are RFU.
FEATURE_BIT_RELAY = 0x0001
FEATURE_BIT_PROXY = 0x0002
FEATURE_BIT_FRIEND = 0x0004
FEATURE_BIT_LOW_POWER = 0x0008
_FEATURES_RFU = 0xFFF0

COMPANY_ID_TEST = 0xFFFF
"""The CID no company holds: Bluetooth SIG Assigned Numbers keep 0xFFFF for tests and
prototypes (the simulated lights use it), so it names no manufacturer."""


@dataclass(frozen=True, slots=True)
class Element:
    """One element: GATT Bluetooth Namespace location and its models."""

    location: int
    sig_models: tuple[int, ...]
    vendor_models: tuple[ModelId, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.location <= 0xFFFF:
            raise UsageError("location must be 16 bits")
        if len(self.sig_models) > 0xFF or len(self.vendor_models) > 0xFF:
            raise UsageError("at most 255 SIG and 255 vendor models per element")
        if not all(0 <= m <= 0xFFFF for m in self.sig_models):
            raise UsageError("SIG model IDs must be 16 bits")
        if not all(m.is_vendor for m in self.vendor_models):
            raise UsageError("vendor models need a company ID")

    @property
    def models(self) -> tuple[ModelId, ...]:
        """Every model of the element, SIG first, as ModelIds."""
        return tuple(ModelId(m) for m in self.sig_models) + self.vendor_models

    def to_json(self) -> JsonValue:
        """JSON form."""
        return {
            "location": self.location,
            "sig_models": [f"{m:04x}" for m in self.sig_models],
            "vendor_models": [m.to_json() for m in self.vendor_models],
        }


@dataclass(frozen=True, slots=True)
class CompositionDataPage0:
    """Composition Data Page 0 of a node."""

    cid: int
    pid: int
    vid: int
    crpl: int
    features: int
    elements: tuple[Element, ...]

    def __post_init__(self) -> None:
        for name in ("cid", "pid", "vid", "crpl"):
            if not 0 <= getattr(self, name) <= 0xFFFF:
                raise UsageError(f"{name} must be 16 bits")
        if not 0 <= self.features <= 0xFFFF or self.features & _FEATURES_RFU:
            raise UsageError("features has RFU bits set")
        if not self.elements:
            raise UsageError("a node has at least one element")

    @property
    def relay(self) -> bool:
        """Relay feature supported."""
        return bool(self.features & FEATURE_BIT_RELAY)

    @property
    def proxy(self) -> bool:
        """Proxy feature supported."""
        return bool(self.features & FEATURE_BIT_PROXY)

    @property
    def friend(self) -> bool:
        """Friend feature supported."""
        return bool(self.features & FEATURE_BIT_FRIEND)

    @property
    def low_power(self) -> bool:
        """Low Power feature supported."""
        return bool(self.features & FEATURE_BIT_LOW_POWER)

    def to_bytes(self) -> bytes:
        """Wire form of the page (without the page number octet)."""
        out = bytearray()
        for value in (self.cid, self.pid, self.vid, self.crpl, self.features):
            out += value.to_bytes(2, "little")
        for element in self.elements:
            out += element.location.to_bytes(2, "little")
            out += bytes([len(element.sig_models), len(element.vendor_models)])
            for sig in element.sig_models:
                out += sig.to_bytes(2, "little")
            for vendor in element.vendor_models:
                out += vendor.to_bytes()
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompositionDataPage0:
        """Strict decode: truncated elements, RFU feature bits or no element raise."""
        name = cls.__name__
        reader = Reader(data, name)
        cid, pid, vid, crpl, features = (
            reader.uint(2, f) for f in ("cid", "pid", "vid", "crpl", "features")
        )
        if features & _FEATURES_RFU:
            raise DecodeError(name, "features", "RFU bits are set")
        elements: list[Element] = []
        while reader.remaining:
            index = len(elements)
            where = f"elements[{index}]"
            location = reader.uint(2, f"{where}.location")
            num_s = reader.uint(1, f"{where}.num_s")
            num_v = reader.uint(1, f"{where}.num_v")
            sig = tuple(reader.uint(2, f"{where}.sig_models") for _ in range(num_s))
            vendor = tuple(
                ModelId.from_bytes(reader.take(4, f"{where}.vendor_models")) for _ in range(num_v)
            )
            elements.append(Element(location, sig, vendor))
        if not elements:
            raise DecodeError(name, "elements", "a node has at least one element")
        return cls(cid, pid, vid, crpl, features, tuple(elements))

    def to_json(self) -> JsonValue:
        """JSON form (16-bit identifiers as hex strings)."""
        return {
            "cid": f"{self.cid:04x}",
            "pid": f"{self.pid:04x}",
            "vid": f"{self.vid:04x}",
            "crpl": self.crpl,
            "features": {
                "relay": self.relay,
                "proxy": self.proxy,
                "friend": self.friend,
                "low_power": self.low_power,
            },
            "elements": [e.to_json() for e in self.elements],
        }
