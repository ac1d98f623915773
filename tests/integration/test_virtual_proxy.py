"""The virtual Bluetooth proxy drives Home Assistant's real Bluetooth stack end to end.

A trivial echo peripheral stands in for a mesh node: it advertises like an unprovisioned device
(0x1827 service data) and echoes every write to its Data In characteristic back as a
notification on Data Out.
"""

from __future__ import annotations

import asyncio

from bleak.exc import BleakError
import bleak_retry_connector
from bleak_retry_connector import BleakConnectionError, BleakOutOfConnectionSlotsError
import habluetooth
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant
import pytest

from simulator.virtual_proxy import (
    Advertisement,
    PeripheralLink,
    VirtualBleakClient,
    VirtualCharacteristic,
    VirtualPeripheral,
    VirtualProxy,
    VirtualService,
)
from tests.simulator_fixtures import AddPeripheral, BluetoothClock, ProxyFactory

MESH_PROVISIONING = "00001827-0000-1000-8000-00805f9b34fb"
MESH_PROXY = "00001828-0000-1000-8000-00805f9b34fb"
DATA_IN = "00002adb-0000-1000-8000-00805f9b34fb"
DATA_OUT = "00002adc-0000-1000-8000-00805f9b34fb"
ADDRESS = "AA:BB:CC:DD:EE:01"
DEVICE_UUID = bytes(range(16))
OOB_INFO = b"\x00\x00"


class EchoPeripheral:
    """Advertises as an unprovisioned mesh device; echoes Data In writes on Data Out."""

    def __init__(self, address: str = ADDRESS, name: str | None = "Echo Light") -> None:
        self.address = address
        self.name = name
        self.rssi = -60
        self.adv: Advertisement | None = Advertisement(
            service_uuids=[MESH_PROVISIONING],
            service_data={MESH_PROVISIONING: DEVICE_UUID + OOB_INFO},
        )
        self.link: PeripheralLink | None = None
        self.events: list[object] = []
        self.writes: list[tuple[str, bytes, float]] = []

    def advertisement(self) -> Advertisement | None:
        return self.adv

    def gatt_services(self) -> list[VirtualService]:
        return [
            VirtualService(
                MESH_PROVISIONING,
                [
                    VirtualCharacteristic(DATA_IN, ["write-without-response"]),
                    VirtualCharacteristic(DATA_OUT, ["notify"]),
                ],
            )
        ]

    def connected(self, link: PeripheralLink) -> None:
        self.link = link
        self.events.append("connected")

    def subscription_changed(self, char_uuid: str, enabled: bool) -> None:
        self.events.append(("subscribed", char_uuid, enabled))

    def write(self, char_uuid: str, data: bytes, now: float) -> None:
        self.writes.append((char_uuid, data, now))
        assert self.link is not None
        self.link.notify(DATA_OUT, data)

    def disconnected(self) -> None:
        assert self.link is not None
        assert not self.link.is_connected
        self.events.append("disconnected")
        self.link = None


def _echo(address: str = ADDRESS) -> EchoPeripheral:
    peripheral = EchoPeripheral(address)
    _: VirtualPeripheral = peripheral  # the test peripheral satisfies the protocol
    return peripheral


async def _connect(
    hass: HomeAssistant,
    address: str = ADDRESS,
    disconnected: list[object] | None = None,
    **kwargs: object,
) -> bleak_retry_connector.BleakClientWithServiceCache:
    device = bluetooth.async_ble_device_from_address(hass, address, connectable=True)
    assert device is not None
    return await bleak_retry_connector.establish_connection(
        # Looked up now, not at import: HA swaps the class in when bluetooth starts.
        bleak_retry_connector.BleakClientWithServiceCache,
        device,
        "echo",
        disconnected_callback=None if disconnected is None else disconnected.append,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_advertisement_reaches_home_assistant(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, add_virtual_peripheral: AddPeripheral
) -> None:
    await add_virtual_peripheral(_echo())

    infos = {info.address: info for info in bluetooth.async_discovered_service_info(hass)}
    info = infos[ADDRESS]
    assert info.source == virtual_proxy.source
    assert info.connectable
    assert info.name == "Echo Light"
    assert info.rssi == -60
    assert info.service_uuids == [MESH_PROVISIONING]
    assert info.service_data == {MESH_PROVISIONING: DEVICE_UUID + OOB_INFO}
    assert bluetooth.async_scanner_by_source(hass, virtual_proxy.source) is virtual_proxy.scanner
    assert virtual_proxy.stats.advertisements[ADDRESS] == 1


async def test_manifest_matcher_starts_discovery_flow(
    hass: HomeAssistant, add_virtual_peripheral: AddPeripheral
) -> None:
    await add_virtual_peripheral(_echo())

    flows = hass.config_entries.flow.async_progress_by_handler("ble_mesh")
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == "bluetooth"
    # The flow waits for the user on its first Bluetooth form; which form depends on the
    # integration (confirm, or name the new network first).
    assert flows[0]["step_id"].startswith("bluetooth")


async def test_advertise_now_pushes_a_changed_advertisement(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, add_virtual_peripheral: AddPeripheral
) -> None:
    peripheral = _echo()
    await add_virtual_peripheral(peripheral)
    network_id = bytes([0x00]) + bytes(range(8))
    peripheral.adv = Advertisement(service_uuids=["1828"], service_data={"1828": network_id})

    assert virtual_proxy.advertise_now(ADDRESS)
    await hass.async_block_till_done()

    info = bluetooth.async_last_service_info(hass, ADDRESS, connectable=True)
    assert info is not None
    assert info.service_data[MESH_PROXY] == network_id
    # HA merges advertisements like BlueZ does: the old 0x1827 entry lingers (notes §2.2).
    assert MESH_PROVISIONING in info.service_data
    assert set(info.service_uuids) == {MESH_PROVISIONING, MESH_PROXY}

    peripheral.adv = None
    assert not virtual_proxy.advertise_now(ADDRESS)


async def test_gatt_round_trip_through_home_assistant(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, add_virtual_peripheral: AddPeripheral
) -> None:
    peripheral = _echo()
    await add_virtual_peripheral(peripheral)
    disconnected: list[object] = []

    client = await _connect(hass, disconnected=disconnected)

    # HA's wrapper chose our proxy's connection path.
    assert isinstance(client, habluetooth.HaBleakClientWrapper)
    assert isinstance(client._backend, VirtualBleakClient)
    assert client.is_connected
    assert client.mtu_size == 23
    assert virtual_proxy.is_connected(ADDRESS)
    data_in = client.services.get_characteristic(DATA_IN)
    assert data_in is not None
    assert data_in.max_write_without_response_size == 20

    received: asyncio.Queue[bytes] = asyncio.Queue()
    await client.start_notify(DATA_OUT, lambda _char, data: received.put_nowait(bytes(data)))
    await client.write_gatt_char(DATA_IN, b"hello", response=False)
    assert await asyncio.wait_for(received.get(), 1) == b"hello"
    assert peripheral.writes[0][:2] == (DATA_IN, b"hello")

    # 20 bytes fit an ATT MTU of 23; 21 do not, and with-response writes are not offered.
    await client.write_gatt_char(DATA_IN, bytes(20), response=False)
    assert await asyncio.wait_for(received.get(), 1) == bytes(20)
    with pytest.raises(BleakError, match="ATT_MTU"):
        await client.write_gatt_char(DATA_IN, bytes(21), response=False)
    with pytest.raises(BleakError, match="write requests"):
        await client.write_gatt_char(DATA_IN, b"x", response=True)

    await client.stop_notify(DATA_OUT)
    await client.disconnect()
    await hass.async_block_till_done()
    assert not client.is_connected
    assert not virtual_proxy.is_connected(ADDRESS)
    assert peripheral.events == [
        "connected",
        ("subscribed", DATA_OUT, True),
        ("subscribed", DATA_OUT, False),
        "disconnected",
    ]
    assert disconnected == []  # a central-side disconnect does not call the callback

    stats = virtual_proxy.stats
    assert stats.connect_attempts[ADDRESS] == stats.connects[ADDRESS] == 1
    assert stats.disconnects[ADDRESS] == 1
    assert stats.writes[ADDRESS] == 2
    assert stats.bytes_written[ADDRESS] == 25
    assert stats.notifications[ADDRESS] == 2
    assert stats.bytes_notified[ADDRESS] == 25
    assert [(r.address, r.direction, r.char_uuid, r.data) for r in stats.log] == [
        (ADDRESS, "write", DATA_IN, b"hello"),
        (ADDRESS, "notify", DATA_OUT, b"hello"),
        (ADDRESS, "write", DATA_IN, bytes(20)),
        (ADDRESS, "notify", DATA_OUT, bytes(20)),
    ]


async def test_latency_and_mtu_options(
    hass: HomeAssistant,
    virtual_proxy_factory: ProxyFactory,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    proxy = await virtual_proxy_factory(latency=0.02, mtu=185, record_traffic=False)
    peripheral = _echo()
    await add_virtual_peripheral(peripheral, proxy=proxy)
    # The default proxy runs too; only this one hears the device.
    info = bluetooth.async_last_service_info(hass, ADDRESS, connectable=True)
    assert info is not None
    assert info.source == proxy.source

    client = await _connect(hass)
    assert client.mtu_size == 185
    received: asyncio.Queue[bytes] = asyncio.Queue()
    await client.start_notify(DATA_OUT, lambda _char, data: received.put_nowait(bytes(data)))

    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.write_gatt_char(DATA_IN, bytes(182), response=False)
    assert loop.time() - started >= 0.019  # asyncio may wake a timer a hair early
    assert await asyncio.wait_for(received.get(), 1) == bytes(182)
    with pytest.raises(BleakError):
        await client.write_gatt_char(DATA_IN, bytes(183), response=False)

    # Writes sent back to back arrive in order, one latency apart.
    started = loop.time()
    await asyncio.gather(
        *(client.write_gatt_char(DATA_IN, bytes([i]), response=False) for i in range(3))
    )
    assert loop.time() - started >= 0.059
    assert [data for _uuid, data, _now in peripheral.writes[1:]] == [b"\x00", b"\x01", b"\x02"]

    # The log was off; counters still count.
    assert proxy.stats.log == []
    assert proxy.stats.writes[ADDRESS] == 4
    await client.disconnect()


async def test_device_side_disconnect_reaches_the_callback(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, add_virtual_peripheral: AddPeripheral
) -> None:
    peripheral = _echo()
    await add_virtual_peripheral(peripheral)
    events: list[object] = []
    client = await _connect(hass, disconnected=events)
    await client.start_notify(DATA_OUT, lambda _char, data: events.append(bytes(data)))

    assert peripheral.link is not None
    link = peripheral.link
    assert link.notify(DATA_OUT, b"last words")
    link.disconnect()
    assert not link.is_connected
    assert not link.notify(DATA_OUT, b"too late")
    await hass.async_block_till_done()

    # The notification already in flight arrives first, then the wrapper's callback.
    assert events == [b"last words", client]
    assert not client.is_connected
    assert peripheral.events[-1] == "disconnected"
    assert virtual_proxy.stats.device_disconnects[ADDRESS] == 1

    # Reconnect; then switching the peripheral off drops the link the same way.
    events.clear()
    client = await _connect(hass, disconnected=events)
    virtual_proxy.remove(ADDRESS)
    await hass.async_block_till_done()
    assert events == [client]
    with pytest.raises(BleakError):
        await client.write_gatt_char(DATA_IN, b"x", response=False)


async def test_injected_connect_failures_are_retried(
    hass: HomeAssistant,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    no_connect_backoff: None,
) -> None:
    await add_virtual_peripheral(_echo())
    stats = virtual_proxy.stats

    virtual_proxy.fail_next_connects(2)
    client = await _connect(hass)
    assert client.is_connected
    assert (stats.connect_attempts[ADDRESS], stats.connect_failures[ADDRESS]) == (3, 2)
    await client.disconnect()

    virtual_proxy.set_unreachable(ADDRESS)
    with pytest.raises(BleakConnectionError, match="injected connection failure"):
        await _connect(hass)
    assert stats.connect_failures[ADDRESS] == 2 + bleak_retry_connector.MAX_CONNECT_ATTEMPTS

    virtual_proxy.clear_connect_failures()
    client = await _connect(hass)
    assert stats.connects[ADDRESS] == 2
    await client.disconnect()


async def test_connection_slots_are_limited(
    hass: HomeAssistant,
    virtual_proxy_factory: ProxyFactory,
    add_virtual_peripheral: AddPeripheral,
    no_connect_backoff: None,
) -> None:
    proxy = await virtual_proxy_factory(connection_slots=1)
    first, second = _echo("AA:BB:CC:DD:EE:01"), _echo("AA:BB:CC:DD:EE:02")
    await add_virtual_peripheral(first, proxy=proxy)
    await add_virtual_peripheral(second, proxy=proxy)

    client = await _connect(hass, first.address)
    assert not proxy.can_connect()
    allocations = habluetooth.get_manager().async_current_allocations(proxy.source)
    assert allocations is not None
    assert (allocations[0].slots, allocations[0].free) == (1, 0)
    assert allocations[0].allocated == [first.address]

    with pytest.raises(BleakOutOfConnectionSlotsError):
        await _connect(hass, second.address)
    # HA's wrapper asked can_connect() and never created a client for the second device.
    assert proxy.stats.connect_attempts[second.address] == 0
    assert client.is_connected

    await client.disconnect()
    assert proxy.can_connect()
    second_client = await _connect(hass, second.address)
    assert second_client.is_connected
    await second_client.disconnect()


async def test_readvertising_keeps_the_device_available_until_removed(
    hass: HomeAssistant,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    bluetooth_clock: BluetoothClock,
) -> None:
    await add_virtual_peripheral(_echo())
    unavailable: list[str] = []
    cancel = bluetooth.async_track_unavailable(
        hass, lambda info: unavailable.append(info.address), ADDRESS, connectable=True
    )

    # Well past the 195 s stale limit and two 300 s unavailable checks.
    await bluetooth_clock.advance(700, step=30)
    assert unavailable == []
    assert bluetooth.async_ble_device_from_address(hass, ADDRESS, connectable=True)
    assert virtual_proxy.stats.advertisements[ADDRESS] > 10
    info = bluetooth.async_last_service_info(hass, ADDRESS, connectable=True)
    assert info is not None
    assert info.time == bluetooth_clock.now  # advertised on the Bluetooth clock

    virtual_proxy.remove(ADDRESS)
    await bluetooth_clock.advance(700, step=30)
    assert unavailable == [ADDRESS]
    assert bluetooth.async_ble_device_from_address(hass, ADDRESS, connectable=True) is None
    cancel()


async def test_connect_to_a_silent_or_unknown_peripheral_fails(
    hass: HomeAssistant,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    peripheral = _echo()
    await add_virtual_peripheral(peripheral)
    device = bluetooth.async_ble_device_from_address(hass, ADDRESS, connectable=True)
    assert device is not None

    peripheral.adv = None  # stopped advertising: a proxy cannot reach it
    backend = VirtualBleakClient(device, proxy=virtual_proxy)
    with pytest.raises(BleakError, match="not found"):
        await backend.connect()

    peripheral.adv = Advertisement()
    assert await backend.connect()
    # One connection per peripheral.
    with pytest.raises(BleakError, match="already has a connection"):
        await VirtualBleakClient(device, proxy=virtual_proxy).connect()
    data_out = (await backend.get_services()).get_characteristic(DATA_OUT)
    assert data_out is not None
    cccd = data_out.get_descriptor("2902")
    assert cccd is not None
    assert cccd.handle == data_out.handle + 1
    assert await backend.read_gatt_descriptor(cccd.handle) == b"\x00\x00"
    await backend.start_notify(data_out, lambda _data: None)
    assert await backend.read_gatt_descriptor(cccd.handle) == b"\x01\x00"
    await backend.disconnect()
    assert virtual_proxy.stats.connect_failures[ADDRESS] == 2


async def test_stopping_the_proxy_drops_connections_and_unregisters(
    hass: HomeAssistant,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    no_connect_backoff: None,
) -> None:
    peripheral = _echo()
    await add_virtual_peripheral(peripheral)
    events: list[object] = []
    client = await _connect(hass, disconnected=events)

    assert virtual_proxy.drop_connection(ADDRESS)  # a link loss
    await hass.async_block_till_done()
    assert events == [client]
    assert not virtual_proxy.drop_connection(ADDRESS)

    client = await _connect(hass, disconnected=events)
    await virtual_proxy.async_stop()
    assert events[-1] is client
    assert peripheral.events.count("disconnected") == 2
    assert bluetooth.async_scanner_by_source(hass, virtual_proxy.source) is None
    # HA still remembers the device for a while, but no connection path is left.
    with pytest.raises(BleakOutOfConnectionSlotsError):
        await _connect(hass)
    await virtual_proxy.async_stop()  # the fixture stops it again: harmless
