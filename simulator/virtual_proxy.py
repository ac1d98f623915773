"""A Bluetooth proxy made of software, plugged into Home Assistant's real Bluetooth stack.

Our test and demo machines have no Bluetooth radio. This module plays the part an ESPHome
Bluetooth proxy plays in a real installation: it registers a *remote scanner* with Home
Assistant's Bluetooth manager and hands the manager a *connector* whose client class is a bleak
backend. From there on, everything the integration does runs through Home Assistant's own code:
manifest matchers and discovery flows, ``bluetooth.async_ble_device_from_address``,
``HaBleakClientWrapper`` choosing a connection path, bleak-retry-connector's
``establish_connection``, ``start_notify`` and ``write_gatt_char``.

How the pieces fit::

    simulated node  --implements-->  VirtualPeripheral (protocol below)
         ^    |
         |    +-- advertisement() --> VirtualScanner._async_on_advertisement --> HA manager
         |
    PeripheralLink <-- VirtualBleakClient <-- HaBleakClientWrapper <-- establish_connection
    (notify, disconnect)   (one per connection; created by HA through the connector)

Timing rules a peripheral author can rely on:

* ``write()`` runs after the proxy's ``latency`` (seconds, default 0). With a latency, writes on
  one connection are serialized: each waits for the previous one, so order is kept and the link
  carries at most one write per ``latency``. With latency 0 the write reaches the peripheral
  before ``write_gatt_char`` returns.
* ``PeripheralLink.notify()`` never calls the central's callback re-entrantly: the notification
  is queued with ``loop.call_soon`` and delivered in FIFO order, like a packet arriving later.
  Tests therefore need one loop iteration (``await asyncio.sleep(0)`` or
  ``await hass.async_block_till_done()``) to see it.
* A device-side ``PeripheralLink.disconnect()`` is queued the same way, after any notifications
  sent before it, and then reaches the ``disconnected_callback`` given to bleak.

Every coupling to bleak's backend classes lives in this module; bleak 0.22.3 (the version Home
Assistant 2025.4 pins) is what is tested. The GATT classes override every property, so they do not
depend on bleak's constructors, which changed in bleak 1.0.
"""

# The link, client and proxy below are one unit that share internals on purpose; nothing
# outside this module should call the underscored methods.
# ruff: noqa: SLF001

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import logging
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast
from uuid import UUID

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakCharacteristicNotFoundError, BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_str
from bleak_retry_connector.bluez import Allocations
import habluetooth
from habluetooth import BaseHaRemoteScanner, HaBluetoothConnector
import habluetooth.base_scanner as _habluetooth_base_scanner
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval

if TYPE_CHECKING:
    from collections.abc import Buffer

    from bleak.assigned_numbers import CharacteristicPropertyName  # bleak >= 1.0 only

_LOGGER = logging.getLogger(__name__)

DEFAULT_SOURCE = "02:00:00:00:00:01"
"""Scanner source (the proxy's own address). Locally administered, so it clashes with nothing."""
DEFAULT_NAME = "virtual-proxy"
DEFAULT_READVERTISE_INTERVAL = 30.0
"""Seconds between re-advertisements. HA expires a remote scanner's device after 195 s unseen."""
DEFAULT_CONNECTION_SLOTS = 3
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds, for a client created without one (Home Assistant's wrapper always passes its own)."""
ATT_DEFAULT_MTU = 23
ATT_MAX_MTU = 517
ATT_HEADER_SIZE = 3
"""Opcode + handle: an ATT_MTU of 23 leaves 20 bytes of value per write or notification."""
MAX_ATTRIBUTE_VALUE = 512
CCCD_UUID = normalize_uuid_str("2902")
DEFAULT_CONNECT_FAILURE = "injected connection failure"

type Direction = Literal["write", "notify"]


def bluetooth_clock() -> float:
    """Return habluetooth's monotonic time, looked up at call time.

    HA core tests move Bluetooth time by patching ``habluetooth.base_scanner.monotonic_time_coarse``
    (``patch_bluetooth_time``). Reading it through the module keeps the proxy's advertisement
    timestamps on the same clock when a test does that.
    """
    return float(_habluetooth_base_scanner.monotonic_time_coarse())  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# What a simulated peripheral provides
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertisement (with its scan response) as HA's Bluetooth stack would parse it.

    HA keeps only these fields (notes §2.2): mesh ADV-bearer AD types (PB-ADV, Mesh Message, Mesh
    Beacon) never reach an integration, so they have no place here.

    UUIDs may be given short ("1827") or in full; they are normalized to lowercase 128-bit form.
    ``local_name`` None means "no name in this advertisement": the peripheral's ``name`` is used
    instead, as if it came in the scan response.
    """

    local_name: str | None = None
    service_uuids: Sequence[str] = ()
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    tx_power: int | None = None


@dataclass(frozen=True, slots=True)
class VirtualCharacteristic:
    """A characteristic in a peripheral's GATT table.

    ``properties`` uses bleak's names: "read", "write", "write-without-response", "notify",
    "indicate". Notify/indicate characteristics get a CCCD (0x2902) descriptor automatically.
    """

    uuid: str
    properties: Sequence[str]


@dataclass(frozen=True, slots=True)
class VirtualService:
    """A primary service in a peripheral's GATT table."""

    uuid: str
    characteristics: Sequence[VirtualCharacteristic]


class VirtualPeripheral(Protocol):
    """What a simulated BLE peripheral implements to be reachable through a `VirtualProxy`.

    The proxy reads ``address``, ``name`` and ``rssi`` every time it advertises the peripheral,
    so a peripheral may change them at any time. ``address`` must stay the same while the
    peripheral is added to a proxy (the proxy keys its registry on it, in upper case).

    Lifecycle of one connection, all calls on the event loop:

    1. ``connected(link)``: a central connected. Keep ``link`` to notify or to drop the link.
       Only one connection per peripheral is allowed at a time.
    2. ``subscription_changed(char_uuid, True)``: the central enabled notifications (wrote the
       CCCD). Notifications on a characteristic nobody subscribed to are dropped, as on air.
    3. ``write(char_uuid, data, now)``: the central wrote ``data`` (``now`` is the proxy clock,
       seconds, monotonic; the same clock HA's Bluetooth stack uses).
    4. ``disconnected()``: the link is gone, whoever ended it (the central, the peripheral via
       ``link.disconnect()``, ``VirtualProxy.remove`` or ``async_stop``). Called exactly once
       per ``connected``; ``link.is_connected`` is already False.

    Characteristic UUIDs passed in are lowercase 128-bit strings.
    """

    @property
    def address(self) -> str:
        """The Bluetooth address HA will see, "AA:BB:CC:DD:EE:FF"."""
        ...

    @property
    def name(self) -> str | None:
        """Name from the scan response, used when the advertisement carries none."""
        ...

    @property
    def rssi(self) -> int:
        """Signal strength HA records with each advertisement (dBm)."""
        ...

    def advertisement(self) -> Advertisement | None:
        """Return what the peripheral advertises now, or None when it is not advertising.

        A peripheral that is not advertising cannot be connected to and, after HA's stale
        limit (195 s for a connectable remote scanner), disappears from HA.
        """
        ...

    def gatt_services(self) -> Sequence[VirtualService]:
        """Return the GATT table; read once per connection, when the central connects."""
        ...

    def connected(self, link: PeripheralLink) -> None:
        """A central connected; ``link`` is valid until ``disconnected``."""
        ...

    def subscription_changed(self, char_uuid: str, enabled: bool) -> None:
        """The central enabled or disabled notifications on ``char_uuid``."""
        ...

    def write(self, char_uuid: str, data: bytes, now: float) -> None:
        """The central wrote ``data`` to ``char_uuid``. Exceptions propagate to the writer."""
        ...

    def disconnected(self) -> None:
        """The connection ended."""
        ...


class PeripheralLink:
    """The peripheral's end of one connection. Created by the proxy, handed to ``connected``."""

    def __init__(self, client: VirtualBleakClient, address: str, mtu: int) -> None:
        """Bind the link to the central's client."""
        self._client = client
        self.address = address
        self.mtu = mtu
        """The ATT MTU of this connection."""
        self._open = True

    @property
    def is_connected(self) -> bool:
        """Whether the connection is still up."""
        return self._open

    @property
    def max_value_size(self) -> int:
        """Largest notification value (and write-without-response value): ATT_MTU - 3."""
        return self.mtu - ATT_HEADER_SIZE

    def notify(self, char_uuid: str, data: bytes) -> bool:
        """Send a notification to the central, delivered on a later loop iteration.

        Returns False, and drops the data, when the link is down or the central has not
        subscribed to the characteristic. Raises ValueError for a characteristic that is not in
        the GATT table or cannot notify, and for data longer than ``max_value_size``: both are
        bugs in the peripheral.
        """
        if not self._open:
            return False
        return self._client._peripheral_notify(normalize_uuid_str(char_uuid), bytes(data))

    def disconnect(self) -> None:
        """Drop the connection from the device side (reset, power loss, link supervision)."""
        if self._open:
            self._client._drop_link(device_side=True)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One GATT value that crossed the link."""

    time: float
    address: str
    direction: Direction
    """"write": central to peripheral; "notify": peripheral to central."""
    char_uuid: str
    data: bytes


@dataclass(slots=True)
class ProxyStats:
    """Counters per peripheral address, and an optional traffic log."""

    writes: Counter[str] = field(default_factory=Counter)
    bytes_written: Counter[str] = field(default_factory=Counter)
    notifications: Counter[str] = field(default_factory=Counter)
    bytes_notified: Counter[str] = field(default_factory=Counter)
    dropped_notifications: Counter[str] = field(default_factory=Counter)
    """Notifications sent without a subscription, which never reached the central."""
    connect_attempts: Counter[str] = field(default_factory=Counter)
    connects: Counter[str] = field(default_factory=Counter)
    """Successful connections."""
    connect_failures: Counter[str] = field(default_factory=Counter)
    disconnects: Counter[str] = field(default_factory=Counter)
    """Connections ended by the central."""
    device_disconnects: Counter[str] = field(default_factory=Counter)
    """Connections ended by the peripheral or the proxy."""
    advertisements: Counter[str] = field(default_factory=Counter)
    log: list[TrafficRecord] = field(default_factory=list)
    log_enabled: bool = True

    def reset(self) -> None:
        """Zero every counter and clear the log (``log_enabled`` is kept)."""
        for counter in (
            self.writes,
            self.bytes_written,
            self.notifications,
            self.bytes_notified,
            self.dropped_notifications,
            self.connect_attempts,
            self.connects,
            self.connect_failures,
            self.disconnects,
            self.device_disconnects,
            self.advertisements,
        ):
            counter.clear()
        self.log.clear()

    def _record(
        self, now: float, address: str, direction: Direction, char_uuid: str, data: bytes
    ) -> None:
        if direction == "write":
            self.writes[address] += 1
            self.bytes_written[address] += len(data)
        else:
            self.notifications[address] += 1
            self.bytes_notified[address] += len(data)
        if self.log_enabled:
            self.log.append(TrafficRecord(now, address, direction, char_uuid, data))


# --------------------------------------------------------------------------------------------
# Scanner half
# --------------------------------------------------------------------------------------------


class VirtualScanner(BaseHaRemoteScanner):
    """The proxy's scanner: feeds peripheral advertisements into HA's Bluetooth manager."""

    def async_inject(
        self, address: str, rssi: int, fallback_name: str | None, adv: Advertisement, now: float
    ) -> None:
        """Report one advertisement, as a proxy does for every packet it hears."""
        self._async_on_advertisement(
            address,
            rssi,
            adv.local_name if adv.local_name is not None else fallback_name,
            [normalize_uuid_str(service_uuid) for service_uuid in adv.service_uuids],
            {normalize_uuid_str(key): bytes(value) for key, value in adv.service_data.items()},
            {int(key): bytes(value) for key, value in adv.manufacturer_data.items()},
            adv.tx_power,
            {},
            now,
        )


# --------------------------------------------------------------------------------------------
# GATT objects for bleak. bleak 0.22 declares these abstract; bleak 1.x made them concrete with
# different constructors. Overriding every property (and not calling the base constructor)
# works with both.
# --------------------------------------------------------------------------------------------


class _VirtualGattDescriptor(BleakGATTDescriptor):
    def __init__(self, handle: int, uuid_: str, characteristic: _VirtualGattCharacteristic) -> None:
        self.obj = None
        self._v_handle = handle
        self._v_uuid = uuid_
        self._v_characteristic = characteristic

    @property
    def characteristic_uuid(self) -> str:
        return self._v_characteristic.uuid

    @property
    def characteristic_handle(self) -> int:
        return self._v_characteristic.handle

    @property
    def uuid(self) -> str:
        return self._v_uuid

    @property
    def handle(self) -> int:
        return self._v_handle


class _VirtualGattCharacteristic(BleakGATTCharacteristic):
    def __init__(
        self,
        handle: int,
        uuid_: str,
        properties: list[CharacteristicPropertyName],
        service: _VirtualGattService,
        max_write_without_response_size: Callable[[], int],
    ) -> None:
        self.obj = None
        self._max_write_without_response_size = max_write_without_response_size
        self._v_handle = handle
        self._v_uuid = uuid_
        self._v_properties = properties
        self._v_service = service
        self._v_descriptors: list[BleakGATTDescriptor] = []

    @property
    def service_uuid(self) -> str:
        return self._v_service.uuid

    @property
    def service_handle(self) -> int:
        return self._v_service.handle

    @property
    def handle(self) -> int:
        return self._v_handle

    @property
    def uuid(self) -> str:
        return self._v_uuid

    @property
    def properties(self) -> list[CharacteristicPropertyName]:
        return self._v_properties

    @property
    def max_write_without_response_size(self) -> int:
        return self._max_write_without_response_size()

    @property
    def descriptors(self) -> list[BleakGATTDescriptor]:
        return self._v_descriptors

    def get_descriptor(self, specifier: int | str | UUID) -> BleakGATTDescriptor | None:
        for descriptor in self._v_descriptors:
            if isinstance(specifier, int):
                if descriptor.handle == specifier:
                    return descriptor
            elif descriptor.uuid == normalize_uuid_str(str(specifier)):
                return descriptor
        return None

    def add_descriptor(self, descriptor: BleakGATTDescriptor) -> None:
        self._v_descriptors.append(descriptor)

    @property
    def can_notify(self) -> bool:
        return "notify" in self._v_properties or "indicate" in self._v_properties


class _VirtualGattService(BleakGATTService):
    def __init__(self, handle: int, uuid_: str) -> None:
        self.obj = None
        self._v_handle = handle
        self._v_uuid = uuid_
        self._v_characteristics: list[BleakGATTCharacteristic] = []

    @property
    def handle(self) -> int:
        return self._v_handle

    @property
    def uuid(self) -> str:
        return self._v_uuid

    @property
    def characteristics(self) -> list[BleakGATTCharacteristic]:
        return self._v_characteristics

    def add_characteristic(self, characteristic: BleakGATTCharacteristic) -> None:
        self._v_characteristics.append(characteristic)


def _build_gatt(
    services: Sequence[VirtualService], max_write_without_response_size: Callable[[], int]
) -> BleakGATTServiceCollection:
    """Lay the GATT table out with handles as a real server would (declaration, value, CCCD)."""
    collection = BleakGATTServiceCollection()
    handle = 1
    for service in services:
        gatt_service = _VirtualGattService(handle, normalize_uuid_str(service.uuid))
        collection.add_service(gatt_service)
        handle += 1
        for char in service.characteristics:
            # handle: characteristic declaration; handle + 1: its value (bleak's "handle").
            gatt_char = _VirtualGattCharacteristic(
                handle + 1,
                normalize_uuid_str(char.uuid),
                cast("list[CharacteristicPropertyName]", list(char.properties)),
                gatt_service,
                max_write_without_response_size,
            )
            collection.add_characteristic(gatt_char)
            handle += 2
            if gatt_char.can_notify:
                collection.add_descriptor(_VirtualGattDescriptor(handle, CCCD_UUID, gatt_char))
                handle += 1
    return collection


# --------------------------------------------------------------------------------------------
# Client half
# --------------------------------------------------------------------------------------------


class VirtualBleakClient(BaseBleakClient):
    """A bleak backend whose "radio" is a `VirtualProxy`.

    Home Assistant creates one per connection attempt through the proxy's connector:
    ``VirtualBleakClient(ble_device, disconnected_callback=..., timeout=...)``. Integrations
    never see it directly; they talk to ``HaBleakClientWrapper``, which forwards here.

    It serves both bleak generations Home Assistant has shipped: bleak 0.22 (HA 2025.4) hands
    the backend a characteristic, handle or UUID and reads ``True`` from ``connect`` (its
    wrapper counts anything else as a failed attempt); bleak 3 (HA 2026) hands it resolved
    characteristic/descriptor objects and ignores the results. So every GATT method accepts
    either form, and the connectivity methods return ``True`` (typed ``Any``: bleak 3 declares
    ``None``).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *args: Any,
        proxy: VirtualProxy,
        **kwargs: Any,
    ) -> None:
        """Create an unconnected client for ``proxy``."""
        # bleak 3's base class requires the connect timeout (HA's wrapper always passes it).
        kwargs.setdefault("timeout", DEFAULT_CONNECT_TIMEOUT)
        super().__init__(address_or_ble_device, **kwargs)
        self._proxy = proxy
        self._peripheral: VirtualPeripheral | None = None
        self._link: PeripheralLink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mtu = proxy.mtu
        self._chars_by_uuid: dict[str, _VirtualGattCharacteristic] = {}
        self._subscriptions: dict[int, NotifyCallback] = {}
        self._write_lock = asyncio.Lock()

    def __repr__(self) -> str:
        """Say which peripheral and proxy this is."""
        state = "connected" if self.is_connected else "disconnected"
        return f"<VirtualBleakClient {self.address} via {self._proxy.source} {state}>"

    # Connectivity ----------------------------------------------------------------------

    async def connect(self, *args: Any, **kwargs: Any) -> Any:
        """Connect through the proxy. Raises BleakError subclasses like a real proxy does."""
        if self._link is not None:
            return True
        self._loop = asyncio.get_running_loop()
        proxy = self._proxy
        if not proxy.started:
            raise BleakError(f"{self.address}: proxy {proxy.source} is stopped")
        with proxy.scanner.connecting():
            peripheral, mtu = proxy._open_connection(self)
            try:
                self._mtu = mtu
                self.services = _build_gatt(peripheral.gatt_services(), self._max_write_size)
                self._chars_by_uuid = {
                    char.uuid: char
                    for char in self.services.characteristics.values()
                    if isinstance(char, _VirtualGattCharacteristic)
                }
            except BaseException:
                proxy._connection_closed(self.address, self, device_side=False, counted=False)
                raise
            self._peripheral = peripheral
            self._subscriptions.clear()
            link = self._link = PeripheralLink(self, self.address, mtu)
        try:
            peripheral.connected(link)
        except BaseException:
            # A peripheral that fails to accept the connection never hears of it again.
            link._open = False
            self._link = self._peripheral = None
            proxy._connection_closed(self.address, self, device_side=False, counted=False)
            raise
        return True

    async def disconnect(self) -> Any:
        """Disconnect from the central's side.

        As with an ESPHome proxy, the disconnected callback is not called for a disconnect the
        central asked for; only device-side drops reach it.
        """
        self._drop_link(device_side=False)
        return True

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._link is not None

    @property
    def mtu_size(self) -> int:
        """The ATT MTU negotiated for this connection (the proxy's ``mtu``)."""
        return self._mtu

    async def pair(self, *args: Any, **kwargs: Any) -> Any:
        """Pairing is not simulated; succeed like a device that needs none."""
        return True

    async def unpair(self) -> Any:
        """Pairing is not simulated."""
        return True

    async def clear_cache(self) -> bool:
        """There is no GATT cache to clear."""
        return True

    # GATT ------------------------------------------------------------------------------

    async def get_services(self, **kwargs: Any) -> BleakGATTServiceCollection:
        """Return the GATT table read at connect time."""
        if self.services is None:
            raise BleakError(f"{self.address}: not connected")
        return self.services

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic | int | str | UUID,
        **kwargs: Any,
    ) -> bytearray:
        """Read a value from a peripheral that offers an optional ``read(char_uuid)`` method."""
        self._require_link()
        char = self._resolve(characteristic)
        if "read" not in char.properties:
            raise BleakError(f"{self.address}: {char.uuid} is not readable")
        reader = getattr(self._peripheral, "read", None)
        if reader is None:
            raise BleakError(f"{self.address}: the peripheral does not implement read()")
        return bytearray(reader(char.uuid))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor | int, **kwargs: Any
    ) -> bytearray:
        """Read a CCCD: 0x0001 while notifications are enabled, else 0x0000."""
        self._require_link()
        char = self._cccd_owner(descriptor)
        return bytearray(b"\x01\x00" if char.handle in self._subscriptions else b"\x00\x00")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Buffer, response: bool
    ) -> None:
        """Write a value; it reaches the peripheral after the proxy's latency."""
        self._require_link()
        char = self._resolve(characteristic)
        payload = bytes(data)
        if response:
            if "write" not in char.properties:
                raise BleakError(f"{self.address}: {char.uuid} does not accept write requests")
            if len(payload) > MAX_ATTRIBUTE_VALUE:
                raise BleakError(f"{self.address}: {len(payload)} bytes exceed 512")
        else:
            if "write-without-response" not in char.properties:
                raise BleakError(f"{self.address}: {char.uuid} does not accept write commands")
            if len(payload) > self._max_write_size():
                raise BleakError(
                    f"{self.address}: {len(payload)} bytes exceed ATT_MTU - 3 = "
                    f"{self._max_write_size()} for a write without response"
                )
        latency = self._proxy.latency
        if latency > 0:
            async with self._write_lock:
                await asyncio.sleep(latency)
                self._deliver_write(char, payload)
        else:
            self._deliver_write(char, payload)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor | int, data: Buffer
    ) -> None:
        """Accept a CCCD write. Subscriptions follow ``start_notify``/``stop_notify`` only."""
        self._require_link()
        self._cccd_owner(descriptor)

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Subscribe: the callback gets one ``bytearray`` per notification."""
        self._require_link()
        char = self._resolve(characteristic)
        if not char.can_notify:
            raise BleakError(f"{self.address}: {char.uuid} cannot notify")
        self._subscriptions[char.handle] = callback
        if self._peripheral is not None:
            self._peripheral.subscription_changed(char.uuid, True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic | int | str | UUID) -> None:
        """Unsubscribe."""
        self._require_link()
        char = self._resolve(characteristic)
        if self._subscriptions.pop(char.handle, None) is not None and self._peripheral:
            self._peripheral.subscription_changed(char.uuid, False)

    # Internals -------------------------------------------------------------------------

    def _max_write_size(self) -> int:
        return self._mtu - ATT_HEADER_SIZE

    def _require_link(self) -> PeripheralLink:
        if self._link is None:
            raise BleakError(f"{self.address}: not connected")
        return self._link

    def _resolve(
        self, specifier: BleakGATTCharacteristic | int | str | UUID
    ) -> _VirtualGattCharacteristic:
        if self.services is None:
            raise BleakError(f"{self.address}: not connected")
        if isinstance(specifier, BleakGATTCharacteristic):
            specifier = specifier.handle
        char = self.services.get_characteristic(specifier)
        if not isinstance(char, _VirtualGattCharacteristic):
            raise BleakCharacteristicNotFoundError(specifier)
        return char

    def _cccd_owner(self, specifier: BleakGATTDescriptor | int) -> _VirtualGattCharacteristic:
        handle = specifier if isinstance(specifier, int) else specifier.handle
        descriptor = self.services.get_descriptor(handle) if self.services else None
        if not isinstance(descriptor, _VirtualGattDescriptor) or descriptor.uuid != CCCD_UUID:
            raise BleakError(f"{self.address}: no CCCD at handle {handle}")
        return descriptor._v_characteristic

    def _deliver_write(self, char: _VirtualGattCharacteristic, payload: bytes) -> None:
        peripheral = self._peripheral
        if self._link is None or peripheral is None:
            raise BleakError(f"{self.address}: disconnected before the write was sent")
        now = self._proxy.clock()
        self._proxy.stats._record(now, self.address, "write", char.uuid, payload)
        peripheral.write(char.uuid, payload, now)

    def _peripheral_notify(self, char_uuid: str, data: bytes) -> bool:
        char = self._chars_by_uuid.get(char_uuid)
        if char is None:
            raise ValueError(f"{self.address}: {char_uuid} is not in the GATT table")
        if not char.can_notify:
            raise ValueError(f"{self.address}: {char_uuid} cannot notify")
        if len(data) > self._max_write_size():
            raise ValueError(
                f"{self.address}: notification of {len(data)} bytes exceeds ATT_MTU - 3 = "
                f"{self._max_write_size()}"
            )
        stats = self._proxy.stats
        if char.handle not in self._subscriptions:
            stats.dropped_notifications[self.address] += 1
            return False
        stats._record(self._proxy.clock(), self.address, "notify", char_uuid, data)
        assert self._loop is not None
        self._loop.call_soon(self._deliver_notification, char.handle, data)
        return True

    def _deliver_notification(self, handle: int, data: bytes) -> None:
        if (notify_callback := self._subscriptions.get(handle)) is not None:
            notify_callback(bytearray(data))

    def _drop_link(self, *, device_side: bool) -> None:
        """End the connection. The peripheral hears of it now; the central, if the device
        dropped it, on a later loop iteration after notifications already in flight."""
        link, peripheral = self._link, self._peripheral
        if link is None:
            return
        link._open = False
        self._link = None
        self._peripheral = None
        if not device_side:
            self._subscriptions.clear()
        self._proxy._connection_closed(self.address, self, device_side=device_side)
        try:
            if peripheral is not None:
                peripheral.disconnected()
        finally:
            if device_side and self._loop is not None:
                self._loop.call_soon(self._report_device_disconnect)

    def _report_device_disconnect(self) -> None:
        self._subscriptions.clear()
        if self._link is None and self._disconnected_callback is not None:
            self._disconnected_callback()


# --------------------------------------------------------------------------------------------
# The proxy
# --------------------------------------------------------------------------------------------


class VirtualProxy:
    """A simulated Bluetooth proxy: a registry of peripherals plus HA scanner and connector.

    Peripherals may be added before or after ``async_start``. The options are plain attributes:
    ``latency`` and ``connection_slots`` may be changed at any time, ``mtu`` applies from the
    next connection, ``readvertise_interval`` at ``async_start``.

    Typical use (the ``virtual_proxy`` fixture does the first two steps)::

        proxy = VirtualProxy(latency=0.03, mtu=185)
        await proxy.async_start(hass)           # needs the bluetooth integration set up
        proxy.add(node)                         # HA sees node's advertisement at once
        ...                                     # the integration connects through HA as usual
        node_state_changed(); proxy.advertise_now(node.address)
        await proxy.async_stop()

    Args:
        source: the proxy's address; HA reports it as ``BluetoothServiceInfoBleak.source``.
        name: the scanner's name (HA also uses it as the adapter name).
        latency: seconds each GATT write takes to reach the peripheral (0 = immediately).
        mtu: the ATT MTU every connection reports (23 to 517; 185 is common).
        connection_slots: concurrent connections allowed; ``can_connect`` is False when full.
        readvertise_interval: seconds between re-advertisements of every peripheral.
        record_traffic: start with the traffic log on (``stats.log_enabled``).
        clock: monotonic seconds for advertisement times and ``write(now=)``; defaults to
            habluetooth's clock (see `bluetooth_clock`).
    """

    def __init__(
        self,
        source: str = DEFAULT_SOURCE,
        name: str = DEFAULT_NAME,
        *,
        latency: float = 0.0,
        mtu: int = ATT_DEFAULT_MTU,
        connection_slots: int = DEFAULT_CONNECTION_SLOTS,
        readvertise_interval: float = DEFAULT_READVERTISE_INTERVAL,
        record_traffic: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Configure the proxy; nothing talks to Home Assistant until ``async_start``."""
        if not ATT_DEFAULT_MTU <= mtu <= ATT_MAX_MTU:
            raise ValueError(f"ATT MTU must be within 23..517, not {mtu}")
        if connection_slots < 1:
            raise ValueError("a proxy needs at least one connection slot")
        self.source = source.upper()
        self.name = name
        self.latency = latency
        self.mtu = mtu
        self.connection_slots = connection_slots
        self.readvertise_interval = readvertise_interval
        self.clock: Callable[[], float] = clock or bluetooth_clock
        self.stats = ProxyStats(log_enabled=record_traffic)
        self._peripherals: dict[str, VirtualPeripheral] = {}
        self._connections: dict[str, VirtualBleakClient] = {}
        self._fail_next = 0
        self._fail_next_by_address: Counter[str] = Counter()
        self._unreachable: set[str] = set()
        self._failure_message = DEFAULT_CONNECT_FAILURE
        self._hass: HomeAssistant | None = None
        self._scanner: VirtualScanner | None = None
        self._connector: HaBluetoothConnector | None = None
        self._cancels: list[CALLBACK_TYPE] = []

    def __repr__(self) -> str:
        """Name the proxy and its load."""
        return (
            f"<VirtualProxy {self.source} peripherals={len(self._peripherals)} "
            f"connections={len(self._connections)}/{self.connection_slots}>"
        )

    # Lifecycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether the proxy is registered with Home Assistant."""
        return self._scanner is not None

    @property
    def scanner(self) -> VirtualScanner:
        """The registered scanner (only after ``async_start``)."""
        if self._scanner is None:
            raise RuntimeError("VirtualProxy.async_start has not been called")
        return self._scanner

    @property
    def connector(self) -> HaBluetoothConnector:
        """The connector HA uses to create `VirtualBleakClient` instances."""
        if self._connector is None:
            raise RuntimeError("VirtualProxy.async_start has not been called")
        return self._connector

    async def async_start(self, hass: HomeAssistant) -> None:
        """Register with HA's Bluetooth manager, as the ESPHome integration does for a proxy.

        Needs the ``bluetooth`` integration set up (in tests: the ``enable_bluetooth`` fixture).
        Then advertises every peripheral once and re-advertises every ``readvertise_interval``.
        """
        if self._scanner is not None:
            raise RuntimeError("VirtualProxy is already started")
        self._hass = hass
        # HaBluetoothConnector.client is typed as a class; HA only ever calls it, so a partial
        # carrying the proxy works, as it does for bleak-esphome.
        self._connector = HaBluetoothConnector(
            client=partial(VirtualBleakClient, proxy=self),  # type: ignore[arg-type]
            source=self.source,
            can_connect=self.can_connect,
        )
        self._scanner = VirtualScanner(self.source, self.name, self._connector, True)
        self._cancels = [
            bluetooth.async_register_scanner(
                hass, self._scanner, connection_slots=self.connection_slots
            ),
            self._scanner.async_setup(),
            async_track_time_interval(
                hass,
                self._async_readvertise,
                timedelta(seconds=self.readvertise_interval),
                name=f"virtual proxy {self.source} re-advertise",
                cancel_on_shutdown=True,
            ),
        ]
        self._report_allocations()
        self.advertise_all()

    async def async_stop(self) -> None:
        """Drop every connection (the central hears a device-side disconnect), stop advertising
        and unregister from HA. Safe to call twice."""
        for client in list(self._connections.values()):
            client._drop_link(device_side=True)
        # Let the queued disconnect callbacks run while HA's Bluetooth stack is still up.
        await asyncio.sleep(0)
        cancels, self._cancels = self._cancels, []
        for cancel in reversed(cancels):
            cancel()
        self._scanner = None
        self._connector = None
        self._hass = None

    @callback
    def _async_readvertise(self, _now: datetime) -> None:
        self.advertise_all()

    # Peripherals -----------------------------------------------------------------------

    @property
    def peripherals(self) -> Mapping[str, VirtualPeripheral]:
        """Registered peripherals by upper-case address (read-only view)."""
        return dict(self._peripherals)

    def get(self, address: str) -> VirtualPeripheral | None:
        """Return the peripheral at ``address``, if registered."""
        return self._peripherals.get(address.upper())

    def add(self, peripheral: VirtualPeripheral) -> None:
        """Register a peripheral; if the proxy is running, advertise it at once."""
        address = peripheral.address.upper()
        if address in self._peripherals:
            raise ValueError(f"a peripheral with address {address} is already added")
        self._peripherals[address] = peripheral
        if self.started:
            self.advertise_now(address)

    def remove(self, address: str) -> VirtualPeripheral:
        """Unregister a peripheral, like switching it off: its connection drops and it stops
        advertising. HA notices the silence the way it would for real hardware, after its
        stale limit (195 s for a connectable remote scanner, checked every 300 s)."""
        address = address.upper()
        if (client := self._connections.get(address)) is not None:
            client._drop_link(device_side=True)
        return self._peripherals.pop(address)

    def advertise_now(self, address: str) -> bool:
        """Push the peripheral's current advertisement into HA now.

        Call it when a peripheral's advertisement changes (e.g. after provisioning or reset).
        Returns False when the peripheral is not advertising or the proxy is not started
        (``async_start`` advertises every peripheral). Remember that HA merges
        advertisements (notes §2.2): service data and UUIDs seen before stay until they expire.
        """
        address = address.upper()
        peripheral = self._peripherals[address]
        if self._scanner is None or (adv := peripheral.advertisement()) is None:
            return False
        self.scanner.async_inject(address, peripheral.rssi, peripheral.name, adv, self.clock())
        self.stats.advertisements[address] += 1
        return True

    def advertise_all(self) -> None:
        """Advertise every registered peripheral once (the periodic timer calls this)."""
        for address in list(self._peripherals):
            self.advertise_now(address)

    # Connections -----------------------------------------------------------------------

    def can_connect(self) -> bool:
        """Whether a connection slot is free (HA's wrapper asks before creating a client)."""
        return len(self._connections) < self.connection_slots

    @property
    def connected_addresses(self) -> list[str]:
        """Addresses of the peripherals connected right now."""
        return list(self._connections)

    def is_connected(self, address: str) -> bool:
        """Whether the peripheral at ``address`` has a connection."""
        return address.upper() in self._connections

    def drop_connection(self, address: str) -> bool:
        """Drop the connection to ``address`` as a link loss would (device-side disconnect)."""
        if (client := self._connections.get(address.upper())) is None:
            return False
        client._drop_link(device_side=True)
        return True

    def fail_next_connects(
        self,
        count: int = 1,
        *,
        address: str | None = None,
        message: str = DEFAULT_CONNECT_FAILURE,
    ) -> None:
        """Make the next ``count`` connection attempts fail (to ``address`` only, if given).

        Each failure raises ``BleakError(f"{address}: {message}")``. bleak-retry-connector counts
        the default message as a connect error: it retries with a 0.1 s backoff and, after
        ``max_attempts`` (4), raises ``BleakConnectionError``. A message containing one of its
        transient markers (e.g. "ESP_GATT_CONN_FAIL_ESTABLISH") is retried up to 9 times instead.
        """
        if address is None:
            self._fail_next += count
        else:
            self._fail_next_by_address[address.upper()] += count
        self._failure_message = message

    def set_unreachable(self, address: str, unreachable: bool = True) -> None:
        """Make every connection attempt to ``address`` fail (it still advertises)."""
        if unreachable:
            self._unreachable.add(address.upper())
        else:
            self._unreachable.discard(address.upper())

    def clear_connect_failures(self) -> None:
        """Forget all injected connection failures."""
        self._fail_next = 0
        self._fail_next_by_address.clear()
        self._unreachable.clear()
        self._failure_message = DEFAULT_CONNECT_FAILURE

    def _open_connection(self, client: VirtualBleakClient) -> tuple[VirtualPeripheral, int]:
        """Admit a connection or raise the error a proxy would report."""
        address = client.address.upper()
        stats = self.stats
        stats.connect_attempts[address] += 1
        try:
            if address in self._unreachable:
                raise BleakError(f"{address}: {self._failure_message}")
            if self._fail_next_by_address[address] > 0:
                self._fail_next_by_address[address] -= 1
                raise BleakError(f"{address}: {self._failure_message}")
            if self._fail_next > 0:
                self._fail_next -= 1
                raise BleakError(f"{address}: {self._failure_message}")
            peripheral = self._peripherals.get(address)
            if peripheral is None or peripheral.advertisement() is None:
                raise BleakDeviceNotFoundError(
                    address, f"{address}: device not found by {self.source} (not advertising)"
                )
            if address in self._connections:
                raise BleakError(f"{address}: the peripheral already has a connection")
            if not self.can_connect():
                raise BleakError(f"{address}: {self.source} has no free connection slot")
        except BleakError:
            stats.connect_failures[address] += 1
            raise
        self._connections[address] = client
        stats.connects[address] += 1
        self._report_allocations()
        return peripheral, self.mtu

    def _connection_closed(
        self,
        address: str,
        client: VirtualBleakClient,
        *,
        device_side: bool,
        counted: bool = True,
    ) -> None:
        address = address.upper()
        if self._connections.get(address) is client:
            del self._connections[address]
            self._report_allocations()
        if counted:
            (self.stats.device_disconnects if device_side else self.stats.disconnects)[address] += 1

    def _report_allocations(self) -> None:
        """Tell HA how many slots are free, as bleak-esphome does for a real proxy."""
        if self._scanner is None:
            return
        habluetooth.get_manager().async_on_allocation_changed(
            Allocations(
                self._scanner.adapter,
                self.connection_slots,
                self.connection_slots - len(self._connections),
                list(self._connections),
            )
        )
