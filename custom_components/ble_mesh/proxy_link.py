"""GATT connections to mesh devices through Home Assistant's Bluetooth stack.

One :class:`GattLink` is one connection to either GATT bearer service of a mesh device: the
Mesh Provisioning service (PB-GATT, data in 0x2ADB / out 0x2ADC) or the Mesh Proxy service
(data in 0x2ADD / out 0x2ADE). It only moves opaque bytes: segmentation and everything above
it is the engine's. Connections go through ``bluetooth.async_ble_device_from_address`` and
bleak-retry-connector, so a local adapter and an ESPHome Bluetooth proxy both work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
from typing import Any

from bleak.exc import BleakError
import bleak_retry_connector
from bleak_retry_connector import establish_connection
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from .mesh.proxy import (
    DEFAULT_ATT_MTU,
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GattBearerService:
    """The two characteristics of one GATT bearer service."""

    name: str
    data_in: str
    data_out: str


PB_GATT = GattBearerService(
    "provisioning", MESH_PROVISIONING_DATA_IN_UUID, MESH_PROVISIONING_DATA_OUT_UUID
)
PROXY = GattBearerService("proxy", MESH_PROXY_DATA_IN_UUID, MESH_PROXY_DATA_OUT_UUID)


class LinkError(Exception):
    """The GATT link could not be opened or was lost."""

    def __init__(self, reason: str, detail: str = "") -> None:
        """``reason`` is a stable key (translated by the UI); ``detail`` is for the log."""
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class GattLink:
    """One connection to a mesh device's provisioning or proxy service."""

    def __init__(
        self,
        hass: HomeAssistant,
        address: str,
        service: GattBearerService,
        on_data: Callable[[bytes], None],
        on_disconnect: Callable[[], None],
    ) -> None:
        """Prepare a link; nothing is connected until :meth:`async_connect`."""
        self._hass = hass
        self.address = address
        self.service = service
        self._on_data = on_data
        self._on_disconnect = on_disconnect
        self._client: Any = None
        self._closing = False
        self.writes = 0

    @property
    def is_connected(self) -> bool:
        """Whether the GATT connection is up."""
        return self._client is not None and bool(self._client.is_connected)

    @property
    def att_mtu(self) -> int:
        """The negotiated ATT MTU (23 when the backend does not report one)."""
        if self._client is None:
            return DEFAULT_ATT_MTU
        mtu = getattr(self._client, "mtu_size", DEFAULT_ATT_MTU)
        return mtu if isinstance(mtu, int) and mtu >= DEFAULT_ATT_MTU else DEFAULT_ATT_MTU

    async def async_connect(self) -> None:
        """Connect and subscribe to the data-out characteristic; raises :class:`LinkError`."""
        device = bluetooth.async_ble_device_from_address(self._hass, self.address, connectable=True)
        if device is None:
            raise LinkError("device_not_found", self.address)
        try:
            # Looked up at call time: Home Assistant swaps the class when Bluetooth starts.
            client = await establish_connection(
                bleak_retry_connector.BleakClientWithServiceCache,
                device,
                device.name or self.address,
                disconnected_callback=self._disconnected,
                ble_device_callback=lambda: bluetooth.async_ble_device_from_address(
                    self._hass, self.address, connectable=True
                )
                or device,
            )
        except (BleakError, TimeoutError) as err:
            raise LinkError("cannot_connect", str(err)) from err
        self._client = client
        try:
            await client.start_notify(self.service.data_out, self._notified)
        except (BleakError, TimeoutError) as err:
            await self.async_disconnect()
            raise LinkError("cannot_connect", f"no {self.service.name} service: {err}") from err
        _LOGGER.debug(
            "Connected to %s (%s service, MTU %d)", self.address, self.service.name, self.att_mtu
        )

    async def async_write(self, value: bytes) -> None:
        """Write one value to the data-in characteristic (write without response)."""
        if not self.is_connected:
            raise LinkError("connection_lost", self.address)
        try:
            await self._client.write_gatt_char(self.service.data_in, value, response=False)
        except (BleakError, TimeoutError) as err:
            raise LinkError("connection_lost", str(err)) from err
        self.writes += 1

    async def async_disconnect(self) -> None:
        """Close the connection (idempotent); the disconnect callback is not called."""
        self._closing = True
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except BleakError as err:  # already gone
                _LOGGER.debug("Disconnect from %s: %s", self.address, err)

    def _notified(self, _characteristic: Any, data: bytearray) -> None:
        self._on_data(bytes(data))

    def _disconnected(self, _client: Any) -> None:
        if self._closing:
            return
        _LOGGER.debug("%s dropped the %s link", self.address, self.service.name)
        self._client = None
        self._on_disconnect()
