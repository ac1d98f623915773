"""Home Assistant's side of a proxy connection, built from the engine's client classes.

A :class:`MeshStack` at address 0x0001 (the provisioner) with the node's device key, Proxy
PDU SAR over a :class:`FakeLink`, proxy configuration and Secure Network beacons.
"""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.ble_mesh.mesh.access import Message, decode_message, encode_message
from custom_components.ble_mesh.mesh.network import IvIndexState, NetworkKeyring
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROXY_DATA_IN_UUID,
    MESH_PROXY_DATA_OUT_UUID,
    ProxyMessageType,
    ProxySarError,
    Reassembler,
    segment,
)
from custom_components.ble_mesh.mesh.proxy_config import (
    FilterStatus,
    ProxyConfigMessage,
    receive_proxy_config,
    send_proxy_config,
)
from custom_components.ble_mesh.mesh.transport import (
    AccessMessage,
    AppKey,
    DeviceKey,
    MeshStack,
    SendPdu,
)
from simulator.node import SimulatedNode

from .harness import IV_INDEX, NET_KEY, NET_KEY_INDEX, FakeClock, FakeLink

CLIENT_ADDRESS = 0x0001
APP_KEY = bytes.fromhex("63964771734fbd76e3b40519d1d94a48")
APP_KEY_INDEX = 0x000


@dataclass(frozen=True, slots=True)
class Received:
    """One access message the client received."""

    src: int
    dst: int
    message: Message
    app_key_index: int | None


class ProxyClient:
    """Connects to a provisioned ``node`` as its proxy client."""

    def __init__(
        self,
        node: SimulatedNode,
        device_key: bytes,
        clock: FakeClock,
        *,
        mtu: int = 23,
        net_key: bytes = NET_KEY,
    ) -> None:
        assert node.unicast_address is not None
        self.node = node
        self.clock = clock
        keys = NetworkKeyring()
        keys.add(NET_KEY_INDEX, net_key)
        self.stack = MeshStack(
            primary_address=CLIENT_ADDRESS,
            net_keys=keys,
            device_keys=[
                DeviceKey(device_key, node.unicast_address, node.profile.number_of_elements)
            ],
            iv=IvIndexState(iv_index=IV_INDEX),
            subscriptions=None,
        )
        self.stack.app_keys.add(AppKey(APP_KEY_INDEX, APP_KEY, NET_KEY_INDEX))
        self.device_key = device_key
        self.mtu = mtu
        self.reassembler = Reassembler()
        self.received: list[Received] = []
        self.beacons: list[bytes] = []
        self.filter_statuses: list[FilterStatus] = []
        self.sar_error: ProxySarError | None = None
        self.link = FakeLink(node, mtu)
        node.connected(self.link)
        self.link.subscribe(MESH_PROXY_DATA_OUT_UUID)
        self.pump()

    # --- sending ----------------------------------------------------------------------

    def _write(self, kind: ProxyMessageType, data: bytes) -> None:
        for value in segment(kind, data, self.mtu - 3):
            if self.link.is_connected:
                self.node.write(MESH_PROXY_DATA_IN_UUID, value, self.clock.now)

    def _perform(self, actions: list[object]) -> None:
        for action in actions:
            if isinstance(action, SendPdu):
                self._write(ProxyMessageType.NETWORK_PDU, action.data)
            elif isinstance(action, AccessMessage):
                self.received.append(
                    Received(
                        action.src,
                        action.dst,
                        decode_message(action.payload),
                        action.app_key_index,
                    )
                )

    def send(
        self, dst: int, message: Message, *, app_key: bool = True, ttl: int | None = None
    ) -> None:
        """Send ``message`` (with the AppKey, or the device key when ``app_key`` is False)."""
        key: AppKey | DeviceKey
        key = self.stack.app_keys.get(APP_KEY_INDEX) if app_key else self.stack.device_keys[0]
        actions = self.stack.send_access(
            dst, encode_message(message), key=key, now=self.clock.now, ttl=ttl
        )
        self._perform(list(actions))
        self.pump()

    def request[M: Message](
        self, dst: int, message: Message, expect: type[M], *, app_key: bool = True
    ) -> M:
        """Send and return the (last) reply of type ``expect`` from ``dst``."""
        start = len(self.received)
        self.send(dst, message, app_key=app_key)
        replies = [
            r.message
            for r in self.received[start:]
            if isinstance(r.message, expect) and r.src == dst and r.dst == CLIENT_ADDRESS
        ]
        assert replies, f"no {expect.__name__} from 0x{dst:04x}"
        reply = replies[-1]
        assert isinstance(reply, expect)
        return reply

    def config[M: Message](self, message: Message, expect: type[M]) -> M:
        """A Configuration Server request to the node's primary element (device key)."""
        assert self.node.unicast_address is not None
        return self.request(self.node.unicast_address, message, expect, app_key=False)

    def proxy_config(self, message: ProxyConfigMessage) -> FilterStatus:
        start = len(self.filter_statuses)
        for action in send_proxy_config(self.stack, message):
            if isinstance(action, SendPdu):
                self._write(ProxyMessageType.PROXY_CONFIGURATION, action.data)
        self.pump()
        assert len(self.filter_statuses) > start, "no Filter Status"
        return self.filter_statuses[-1]

    # --- receiving --------------------------------------------------------------------

    def pump(self) -> None:
        while self.link.notifications:
            _, value = self.link.notifications.popleft()
            try:
                message = self.reassembler.receive(value, self.clock.now)
            except ProxySarError as err:
                self.sar_error = err  # §6.5: disconnect
                self.link.central_disconnect()
                self.link.notifications.clear()
                return
            if message is None:
                continue
            if message.message_type is ProxyMessageType.NETWORK_PDU:
                self._perform(list(self.stack.receive(message.data, self.clock.now)))
            elif message.message_type is ProxyMessageType.MESH_BEACON:
                self.beacons.append(message.data)
            elif message.message_type is ProxyMessageType.PROXY_CONFIGURATION:
                received, _ = receive_proxy_config(self.stack, message.data)
                assert received is not None
                assert isinstance(received.message, FilterStatus)
                self.filter_statuses.append(received.message)

    def advance(self, seconds: float) -> None:
        """Let time pass for the node's scheduled work and both stacks' timers."""
        self.clock.now += seconds
        self.clock.run_due()
        deadline = self.node.next_deadline()
        if deadline is not None and self.clock.now >= deadline:
            self.node.tick(self.clock.now)
        self._perform(list(self.stack.handle_timeout(self.clock.now)))
        self.pump()

    def messages_of[M: Message](self, kind: type[M]) -> list[M]:
        return [r.message for r in self.received if isinstance(r.message, kind)]

    def clear(self) -> None:
        self.received.clear()

    def disconnect(self) -> None:
        self.link.central_disconnect()
