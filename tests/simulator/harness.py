"""Drive a SimulatedNode as a peripheral: a fake link, a fake clock, a provisioner side.

The fake link behaves like ``simulator.virtual_proxy.PeripheralLink``: notifications are
queued (delivered later, never re-entrantly) and a device-side disconnect calls the node's
``disconnected()`` at once, then is reported to the central.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.provisioning import (
    CapabilitiesReceived,
    Completed,
    Failed,
    InputKind,
    Provisioner,
    ProvisionerResult,
    ProvisioningData,
    ProvisioningFailure,
    ProvisioningStart,
    RequestInput,
    SendProvisioningPdu,
    ShowValue,
)
from custom_components.ble_mesh.mesh.provisioning.pb_gatt import PbGattBearer
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROVISIONING_DATA_IN_UUID,
    MESH_PROVISIONING_DATA_OUT_UUID,
)
from simulator.node import SimulatedNode

NET_KEY = bytes.fromhex("7dd7364cd842ad18c17c2b820c84c3d6")
NET_KEY_INDEX = 0x000
IV_INDEX = 0x12345678
UNICAST = 0x0B0C


class FakeClock:
    """A manual clock with a ``schedule(delay, callback)`` like ``loop.call_later``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._pending: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        self._seq += 1
        self._pending.append((self.now + delay, self._seq, callback))

    def run_due(self) -> None:
        while True:
            due = sorted(p for p in self._pending if p[0] <= self.now)
            if not due:
                return
            entry = due[0]
            self._pending.remove(entry)
            entry[2]()


class FakeLink:
    """The peripheral's end of one connection."""

    def __init__(self, node: SimulatedNode, mtu: int = 23) -> None:
        self.node = node
        self.mtu = mtu
        self.is_connected = True
        self.notifications: deque[tuple[str, bytes]] = deque()
        self.device_disconnected = False
        self.subscribed: set[str] = set()

    @property
    def max_value_size(self) -> int:
        return self.mtu - 3

    def notify(self, char_uuid: str, data: bytes) -> bool:
        assert len(data) <= self.max_value_size, "notification longer than ATT_MTU - 3"
        if not self.is_connected or char_uuid not in self.subscribed:
            return False
        self.notifications.append((char_uuid, bytes(data)))
        return True

    def disconnect(self) -> None:
        if self.is_connected:
            self.is_connected = False
            self.device_disconnected = True
            self.node.disconnected()

    def central_disconnect(self) -> None:
        if self.is_connected:
            self.is_connected = False
            self.node.disconnected()

    def subscribe(self, char_uuid: str) -> None:
        self.subscribed.add(char_uuid)
        self.node.subscription_changed(char_uuid, True)


def provisioning_data(unicast: int = UNICAST) -> ProvisioningData:
    return ProvisioningData(
        net_key=NET_KEY, key_index=NET_KEY_INDEX, iv_index=IV_INDEX, unicast_address=unicast
    )


@dataclass
class ProvisioningRun:
    """One provisioning attempt of ``node`` by the engine's Provisioner over a fake link."""

    node: SimulatedNode
    provisioner: Provisioner
    clock: FakeClock
    choice: ProvisioningStart | None = None
    static_oob: bytes | None = None
    mtu: int = 23
    type_input_oob: bool = True
    displayed: list[object] = field(default_factory=list)
    result: ProvisionerResult | None = None
    failure: ProvisioningFailure | None = None
    sar_error: MeshError | None = None
    capabilities: CapabilitiesReceived | None = None
    input_requests: list[RequestInput] = field(default_factory=list)
    link: FakeLink = field(init=False)
    bearer: PbGattBearer = field(init=False)
    _writes: deque[bytes] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.link = FakeLink(self.node, self.mtu)
        self.bearer = PbGattBearer(self.mtu)
        self.node.connected(self.link)
        self.link.subscribe(MESH_PROVISIONING_DATA_OUT_UUID)
        self.bearer.open(self.clock.now)

    @property
    def finished(self) -> bool:
        return self.provisioner.finished

    def start(self) -> ProvisioningRun:
        self.perform(self.provisioner.start(self.clock.now))
        self.pump()
        return self

    def perform(self, actions: Sequence[object]) -> None:
        now = self.clock.now
        for action in actions:
            if isinstance(action, SendProvisioningPdu):
                self._writes.extend(self.bearer.send(action.data))
            elif isinstance(action, CapabilitiesReceived):
                self.capabilities = action
                if not self.provisioner.auto_select:
                    choice = self.choice or action.suggested
                    assert choice is not None
                    self.perform(self.provisioner.choose(choice, now))
            elif isinstance(action, RequestInput):
                self.input_requests.append(action)
                if action.kind is InputKind.OUTPUT_OOB:
                    value = self.node.shown_oob_value
                    assert value is not None, "the node shows no Output OOB value"
                    self.perform(self.provisioner.provide_oob(value, now))
                elif action.kind is InputKind.STATIC_OOB and self.static_oob is not None:
                    self.perform(self.provisioner.provide_oob(self.static_oob, now))
            elif isinstance(action, ShowValue):
                # Input OOB: the person types what Home Assistant shows into the device.
                self.displayed.append(action.value)
                if self.type_input_oob:
                    self.node.enter_input_oob(action.value, now)
            elif isinstance(action, Completed):
                assert isinstance(action.result, ProvisionerResult)
                self.result = action.result
                self.link.central_disconnect()  # §5.4.4: the Provisioner closes the link
            elif isinstance(action, Failed):
                self.failure = action.reason
                self.link.central_disconnect()

    def pump(self) -> None:
        """Deliver writes and notifications until both directions are quiet."""
        while True:
            if self._writes and self.link.is_connected:
                self.node.write(
                    MESH_PROVISIONING_DATA_IN_UUID, self._writes.popleft(), self.clock.now
                )
                continue
            self._writes.clear()
            if self.link.notifications:
                _, value = self.link.notifications.popleft()
                if self.provisioner.finished:
                    continue
                try:
                    pdu = self.bearer.receive(value, self.clock.now)
                except MeshError as err:
                    # §6.5: a SAR violation closes the connection.
                    self.sar_error = err
                    self.link.central_disconnect()
                    self.perform(self.provisioner.link_closed(self.clock.now))
                    continue
                if pdu is not None:
                    self.perform(self.provisioner.receive(pdu, self.clock.now))
                continue
            if self.link.device_disconnected and not self.provisioner.finished:
                self.perform(self.provisioner.link_closed(self.clock.now))
                continue
            return

    def advance(self, seconds: float) -> None:
        """Let time pass: the Provisioner's timers first (it is under test), then the node's."""
        self.clock.now += seconds
        now = self.clock.now
        if not self.provisioner.finished:
            deadline = self.provisioner.next_deadline()
            if deadline is not None and now >= deadline:
                self.perform(self.provisioner.timeout(now))
        deadline = self.bearer.next_deadline()
        if deadline is not None and now >= deadline and self.bearer.timeout(now) is not None:
            self.link.central_disconnect()
            if not self.provisioner.finished:
                self.perform(self.provisioner.link_closed(now))
        self.clock.run_due()
        self.pump()
        deadline = self.node.next_deadline()
        if deadline is not None and now >= deadline:
            self.node.tick(now)
        self.pump()


def provision(
    node: SimulatedNode,
    *,
    choice: ProvisioningStart | None = None,
    static_oob: bytes | None = None,
    device_public_key: bytes | None = None,
    clock: FakeClock | None = None,
    mtu: int = 23,
    unicast: int = UNICAST,
    type_input_oob: bool = True,
) -> ProvisioningRun:
    """Run one provisioning session to its end (or until it waits for time to pass)."""
    provisioner = Provisioner(
        provisioning_data(unicast),
        static_oob=static_oob,
        device_public_key=device_public_key,
    )
    run = ProvisioningRun(
        node,
        provisioner,
        clock or FakeClock(),
        choice=choice,
        static_oob=static_oob,
        mtu=mtu,
        type_input_oob=type_input_oob,
    )
    return run.start()
