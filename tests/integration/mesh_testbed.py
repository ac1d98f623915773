"""A mesh network with simulated nodes, loaded as a config entry: for runtime and entity tests.

Nodes are provisioned by the engine's Provisioner over the simulator's fake link (fast, no
Home Assistant involved), recorded in the network database the way the config flow records
them, then plugged into a virtual proxy. Every node it provisions is on one shared
:class:`~simulator.air.MeshAir` (:attr:`MeshTestbed.air`), so the node Home Assistant connects
to relays to the others. :meth:`MeshTestbed.async_setup` stores the database
and sets up the entry; from there on everything runs through Home Assistant's Bluetooth stack.

    bed = MeshTestbed(hass, hass_storage, virtual_proxy)
    node = bed.provision("dimmable")            # unconfigured, like right after the flow
    bed.add(node)                               # advertises its Network ID
    entry = await bed.async_setup()
    await until(hass, lambda: bed.stored_node(node).config_complete)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from homeassistant.components.config import device_registry as config_device_registry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ble_mesh.compat import device_by_identifier
from custom_components.ble_mesh.const import CONF_MESH_UUID, DOMAIN, PROVISIONER_NAME
from custom_components.ble_mesh.devices import node_identifier
from custom_components.ble_mesh.mesh.database import (
    CdbElement,
    MeshNetwork,
    Node,
    NodeKey,
    Security,
)
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkKeyring,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.node import NodeState
from custom_components.ble_mesh.mesh.provisioning import Provisioner, ProvisioningData
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROXY_DATA_IN_UUID,
    ProxyMessageType,
    Reassembler,
)
from custom_components.ble_mesh.runtime import MeshRuntime
from custom_components.ble_mesh.storage import STATE_VERSION, now_iso
from simulator.air import MeshAir
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator.harness import FakeClock, ProvisioningRun


async def until(hass: HomeAssistant, predicate: Callable[[], bool], what: str = "") -> None:
    """Let the event loop run until ``predicate()`` holds (no real sleeping)."""
    for _ in range(300):
        if predicate():
            return
        await hass.async_block_till_done()
        await asyncio.sleep(0)
    raise AssertionError(f"condition never held: {what or predicate}")


class TimeMachine:
    """Moves Home Assistant's scheduler forward (cumulative ``async_fire_time_changed``)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start at the real present."""
        self._hass = hass
        self.elapsed = 0.0

    async def advance(self, seconds: float, *, step: float = 1.0) -> None:
        """Fire every timer due within ``seconds``, in steps of ``step``."""
        remaining = seconds
        while remaining > 0:
            delta = min(step, remaining)
            remaining -= delta
            self.elapsed += delta
            async_fire_time_changed(self._hass, dt_util.utcnow() + timedelta(seconds=self.elapsed))
            await self._hass.async_block_till_done()
            for _ in range(5):
                await asyncio.sleep(0)


class MeshTestbed:
    """One network, its simulated nodes and its config entry."""

    def __init__(
        self, hass: HomeAssistant, hass_storage: dict[str, Any], proxy: VirtualProxy
    ) -> None:
        """Create a network the way the user flow does."""
        self.hass = hass
        self.hass_storage = hass_storage
        self.proxy = proxy
        self.network = MeshNetwork.create("Home mesh", PROVISIONER_NAME, now_iso())
        self.nodes: list[SimulatedNode] = []
        self.air = MeshAir()
        self.entry: MockConfigEntry | None = None
        self.start_iv_index = 0
        """The IV Index the network starts at (the state store written at the first setup)."""
        self.start_iv_known = True
        """False: Home Assistant starts without knowing the IV Index (an imported network)."""

    @property
    def mesh_uuid(self) -> str:
        """The network's UUID (hex)."""
        return self.network.mesh_uuid.hex

    @property
    def iv_index(self) -> int:
        """The network's IV Index: Home Assistant's node's once loaded, else the start one."""
        loaded = self.entry is not None and hasattr(self.entry, "runtime_data")
        return self.runtime.iv_index if loaded else self.start_iv_index

    def stored_node_state(self) -> NodeState:
        """Home Assistant's node state as last written to storage."""
        return NodeState.from_json(self.hass_storage[f"{DOMAIN}.{self.mesh_uuid}.state"]["data"])

    @property
    def runtime(self) -> MeshRuntime:
        """The loaded entry's runtime."""
        assert self.entry is not None
        runtime: MeshRuntime = self.entry.runtime_data
        return runtime

    def provision(
        self,
        profile: str = "dimmable",
        *,
        rssi: int = -60,
        iv_index: int | None = None,
        node: SimulatedNode | None = None,
    ) -> SimulatedNode:
        """Provision a new simulated node (or ``node``) into the network (not configured yet)."""
        loop = asyncio.get_running_loop()
        node = node or SimulatedNode(profile, rssi=rssi)
        net_key = self.network.net_keys[0]
        assert self.network.local_provisioner is not None
        address = self.network.allocate_unicast(
            self.network.local_provisioner.uuid,
            node.profile.number_of_elements,
            iv_index=self.iv_index,
        )
        data = ProvisioningData(
            net_key=net_key.key,
            key_index=net_key.index,
            iv_index=self.iv_index if iv_index is None else iv_index,
            unicast_address=address,
        )
        run = ProvisioningRun(node, Provisioner(data), FakeClock()).start()
        assert run.result is not None, run.failure
        self.network.add_node(
            Node(
                uuid=_uuid(node),
                unicast_address=run.result.unicast_address,
                device_key=run.result.device_key,
                security=Security.SECURE if run.result.authenticated else Security.INSECURE,
                net_keys=[NodeKey(index=0)],
                config_complete=False,
                elements=[CdbElement(index=i) for i in range(run.result.number_of_elements)],
                name=node.name,
            )
        )
        # From now on the node runs on the event loop, like the virtual proxy.
        node.schedule = loop.call_later
        node.clock = self.proxy.clock
        self.air.join(node)
        self.nodes.append(node)
        return node

    async def async_setup_configured(self, *profiles: str) -> list[SimulatedNode]:
        """Nodes of these profiles, set up and configured, their entities' states read.

        Their signal falls in order (-40, -50, ... dBm): Home Assistant connects to the first.
        """
        nodes = [self.provision(p, rssi=-40 - 10 * i) for i, p in enumerate(profiles)]
        for node in nodes:
            self.add(node)
        await self.async_setup()
        await until(
            self.hass,
            lambda: all(self.stored_node(n).config_complete for n in nodes),
            "nodes configured",
        )
        # The entities' state reads are done: what a test counts from here is its own traffic.
        await self.hass.async_block_till_done(wait_background_tasks=True)
        return nodes

    def add(self, node: SimulatedNode, proxy: VirtualProxy | None = None) -> None:
        """Plug the node into a virtual proxy: Home Assistant sees its advertisement."""
        (proxy or self.proxy).add(node)

    def saved_network(self) -> MeshNetwork:
        """The network as last written to storage."""
        return MeshNetwork.from_json(self.hass_storage[f"{DOMAIN}.{self.mesh_uuid}"]["data"])

    def stored_node(self, node: SimulatedNode) -> Node:
        """The database record of a simulated node (the loaded runtime's, else the saved one)."""
        loaded = self.entry is not None and hasattr(self.entry, "runtime_data")
        network = self.runtime.network if loaded else self.saved_network()
        record = network.node_by_uuid(_uuid(node))
        assert record is not None
        return record

    def device(self, node: SimulatedNode) -> dr.DeviceEntry:
        """The Home Assistant device of a simulated node."""
        assert self.entry is not None
        device = device_by_identifier(
            dr.async_get(self.hass),
            node_identifier(self.mesh_uuid, self.stored_node(node)),
            self.entry.entry_id,
        )
        assert device is not None
        return device

    async def async_delete_device_in_ui(self, ws_client: Any, device_id: str) -> dict[str, Any]:
        """What *Delete* on a device page sends, as this Home Assistant's frontend sends it.

        Home Assistant 2026.10 has ``config/device_registry/remove`` (a device has one config
        entry); older releases only ``remove_config_entry``, deprecated since then.
        """
        assert self.entry is not None
        assert await async_setup_component(self.hass, "config", {})
        message: dict[str, Any] = {"device_id": device_id}
        if hasattr(config_device_registry, "websocket_remove_device"):
            message["type"] = "config/device_registry/remove"
        else:
            message["type"] = "config/device_registry/remove_config_entry"
            message["config_entry_id"] = self.entry.entry_id
        client = await ws_client(self.hass)
        await client.send_json_auto_id(message)
        response: dict[str, Any] = await client.receive_json()
        return response

    def _write_storage(self) -> None:
        key = f"{DOMAIN}.{self.mesh_uuid}"
        self.hass_storage[key] = {"version": 1, "key": key, "data": self.network.to_json()}
        iv = IvIndexState(iv_index=self.start_iv_index, known=self.start_iv_known)
        state = NodeState(iv, {"iv_index": iv.tx_iv_index, "seq": 0}, {})
        self.hass_storage[f"{key}.state"] = {
            "version": STATE_VERSION,
            "key": f"{key}.state",
            "data": state.to_json(),
        }

    async def async_setup(self) -> MockConfigEntry:
        """Store the network (first time) and set up its config entry."""
        if self.entry is None:
            self._write_storage()
            self.entry = MockConfigEntry(
                domain=DOMAIN,
                title="Home mesh",
                unique_id=self.mesh_uuid,
                data={CONF_MESH_UUID: self.mesh_uuid},
            )
            self.entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self.hass.async_block_till_done()
        return self.entry

    async def async_unload(self) -> None:
        """Unload the entry (what a restart or a reload does first)."""
        assert self.entry is not None
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()

    def cleanup(self) -> None:
        """Cancel the simulated nodes' timers."""
        for node in self.nodes:
            node.cancel_timers()

    def sent_sequence_numbers(self, node: SimulatedNode, src: int) -> list[int]:
        """SEQ of every Network PDU (and proxy configuration PDU) ``src`` wrote to ``node``."""
        keys = NetworkKeyring()
        for net_key in self.network.net_keys:
            keys.add(net_key.index, net_key.key)
        iv = IvIndexState(iv_index=self.iv_index)
        reassembler = Reassembler()
        seqs: list[int] = []
        for record in self.proxy.stats.log:
            if record.address != node.address.upper() or record.direction != "write":
                continue
            if record.char_uuid.lower() != MESH_PROXY_DATA_IN_UUID:
                continue
            message = reassembler.receive(record.data, record.time)
            if message is None or message.message_type not in (
                ProxyMessageType.NETWORK_PDU,
                ProxyMessageType.PROXY_CONFIGURATION,
            ):
                continue
            proxy = message.message_type is ProxyMessageType.PROXY_CONFIGURATION
            pdu = decrypt_with_keyring(message.data, keys, iv, proxy=proxy).pdu
            if pdu.src == src:
                seqs.append(pdu.seq)
        return seqs


def _uuid(node: SimulatedNode) -> UUID:
    return UUID(bytes=node.device_uuid)
