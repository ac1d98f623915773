"""End to end: a SimulatedNode behind the virtual proxy, reached through Home Assistant's real
Bluetooth stack (HaBleakClientWrapper, bleak-retry-connector), provisioned and then controlled
with the engine's client classes. This is how the integration tests and the demo wire it."""

from __future__ import annotations

import asyncio

import bleak_retry_connector
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ble_mesh.mesh.access import decode_message, encode_message
from custom_components.ble_mesh.mesh.models import config as cfg, generic as gen
from custom_components.ble_mesh.mesh.models.common import ModelId
from custom_components.ble_mesh.mesh.network import IvIndexState, NetworkKeyring
from custom_components.ble_mesh.mesh.provisioning import (
    Completed,
    Failed,
    Provisioner,
    ProvisionerResult,
    SendProvisioningPdu,
)
from custom_components.ble_mesh.mesh.provisioning.pb_gatt import PbGattBearer
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
    ProxyMessageType,
    Reassembler,
    segment,
)
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    DeviceKey,
    MeshStack,
    SendPdu,
)
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualPeripheral, VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .harness import IV_INDEX, NET_KEY, NET_KEY_INDEX, UNICAST, provisioning_data
from .proxy_client import APP_KEY, APP_KEY_INDEX, CLIENT_ADDRESS

pytestmark = pytest.mark.usefixtures("enable_custom_integrations", "mock_bluetooth")


async def _connect(
    hass: HomeAssistant, address: str
) -> bleak_retry_connector.BleakClientWithServiceCache:
    device = bluetooth.async_ble_device_from_address(hass, address, connectable=True)
    assert device is not None
    return await bleak_retry_connector.establish_connection(
        bleak_retry_connector.BleakClientWithServiceCache, device, "mesh-light"
    )


async def test_provision_and_control_through_home_assistant(
    hass: HomeAssistant, virtual_proxy: VirtualProxy, add_virtual_peripheral: AddPeripheral
) -> None:
    loop = asyncio.get_running_loop()
    node = SimulatedNode("dimmable", schedule=loop.call_later, clock=virtual_proxy.clock)
    _: VirtualPeripheral = node  # the node satisfies the virtual proxy's protocol
    await add_virtual_peripheral(node)

    # --- provisioning over PB-GATT ----------------------------------------------------
    client = await _connect(hass, node.address)
    bearer = PbGattBearer(client.mtu_size)
    inbox: asyncio.Queue[bytes] = asyncio.Queue()
    await client.start_notify(
        MESH_PROVISIONING_DATA_OUT_UUID, lambda _c, data: inbox.put_nowait(bytes(data))
    )
    bearer.open(virtual_proxy.clock())
    provisioner = Provisioner(provisioning_data(), auto_select=True)
    result: ProvisionerResult | None = None

    async def perform(actions: list[object]) -> None:
        nonlocal result
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                for value in bearer.send(action.data):
                    await client.write_gatt_char(
                        MESH_PROVISIONING_DATA_IN_UUID, value, response=False
                    )
            elif isinstance(action, Completed):
                assert isinstance(action.result, ProvisionerResult)
                result = action.result
            elif isinstance(action, Failed):
                pytest.fail(str(action.reason))

    await perform(list(provisioner.start(virtual_proxy.clock())))
    while not provisioner.finished:
        value = await asyncio.wait_for(inbox.get(), 2)
        pdu = bearer.receive(value, virtual_proxy.clock())
        if pdu is not None:
            await perform(list(provisioner.receive(pdu, virtual_proxy.clock())))
    assert result is not None
    await client.disconnect()
    await hass.async_block_till_done()
    assert node.is_provisioned

    # --- the node now advertises the Mesh Proxy service -----------------------------
    virtual_proxy.advertise_now(node.address)
    await hass.async_block_till_done()
    info = bluetooth.async_last_service_info(hass, node.address, connectable=True)
    assert info is not None
    assert "00001828-0000-1000-8000-00805f9b34fb" in info.service_uuids

    client = await _connect(hass, node.address)
    keys = NetworkKeyring()
    keys.add(NET_KEY_INDEX, NET_KEY)
    stack = MeshStack(
        primary_address=CLIENT_ADDRESS,
        net_keys=keys,
        device_keys=[DeviceKey(result.device_key, UNICAST, 1)],
        iv=IvIndexState(iv_index=IV_INDEX),
        subscriptions=None,
    )
    stack.app_keys.add(AppKey(APP_KEY_INDEX, APP_KEY, NET_KEY_INDEX))
    reassembler = Reassembler()
    beacons: list[bytes] = []
    messages: asyncio.Queue[object] = asyncio.Queue()
    pending_writes: list[bytes] = []

    def on_notify(_char: object, data: bytearray) -> None:
        message = reassembler.receive(bytes(data), virtual_proxy.clock())
        if message is None:
            return
        if message.message_type is ProxyMessageType.MESH_BEACON:
            beacons.append(message.data)
            return
        for action in stack.receive(message.data, virtual_proxy.clock()):
            if isinstance(action, AccessMessage):
                messages.put_nowait(decode_message(action.payload))
            elif isinstance(action, SendPdu):
                pending_writes.append(action.data)  # segment acknowledgments

    await client.start_notify(MESH_PROXY_DATA_OUT_UUID, on_notify)
    await asyncio.sleep(0)
    assert len(beacons) == 1  # Secure Network beacon on connect

    async def send(dst: int, payload: bytes, key: AppKey | DeviceKey) -> None:
        for action in stack.send_access(dst, payload, key=key, now=virtual_proxy.clock()):
            if isinstance(action, SendPdu):
                for value in segment(ProxyMessageType.NETWORK_PDU, action.data, 20):
                    await client.write_gatt_char(MESH_PROXY_DATA_IN_UUID, value, response=False)

    async def expect(kind: type) -> object:
        while True:
            message = await asyncio.wait_for(messages.get(), 2)
            if isinstance(message, kind):
                return message

    device_key = stack.device_keys[0]
    await send(UNICAST, encode_message(cfg.ConfigAppKeyAdd(0, 0, APP_KEY)), device_key)
    status = await expect(cfg.ConfigAppKeyStatus)
    assert isinstance(status, cfg.ConfigAppKeyStatus)
    assert status.status is cfg.ConfigStatus.SUCCESS
    bind = cfg.ConfigModelAppBind(UNICAST, 0, ModelId(0x1000))
    await send(UNICAST, encode_message(bind), device_key)
    bound = await expect(cfg.ConfigModelAppStatus)
    assert isinstance(bound, cfg.ConfigModelAppStatus)
    assert bound.status is cfg.ConfigStatus.SUCCESS

    app_key = stack.app_keys.get(APP_KEY_INDEX)
    await send(UNICAST, encode_message(gen.GenericOnOffSet(True, 1)), app_key)
    onoff = await expect(gen.GenericOnOffStatus)
    assert isinstance(onoff, gen.GenericOnOffStatus)
    assert onoff.present_on is True
    assert node.lights[0].on == 1

    await client.disconnect()
    await hass.async_block_till_done()
