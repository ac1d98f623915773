"""What keeps the runtime fast in a large network: behaviour only, no timings.

* the SEQ reservation goes to the small runtime-state store, not the whole database;
* users' commands go out before background traffic (state reads, configuration);
* a subscriber with ``src`` gets the messages of that source only;
* a new proxy connection is not sent a redundant Set Filter Type.

Everything runs through Home Assistant's Bluetooth stack, the virtual proxy and simulated
nodes; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ble_mesh.const import DOMAIN, PROVISIONER_NAME
from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.database import MeshExtension, MeshNetwork
from custom_components.ble_mesh.mesh.models import generic as gen
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkKeyring,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROXY_DATA_IN_UUID,
    ProxyMessageType,
    Reassembler,
)
from custom_components.ble_mesh.mesh.proxy_config import (
    AddAddresses,
    SetFilterType,
    decode_proxy_config,
)
from custom_components.ble_mesh.runtime import SEQ_RECOVERY_MARGIN
from custom_components.ble_mesh.storage import apply_state, now_iso
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


@pytest.fixture(name="bed")
async def bed_fixture(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    enable_bluetooth: None,
    virtual_proxy: VirtualProxy,
) -> AsyncGenerator[MeshTestbed]:
    """A network with no node yet; tests provision nodes, then set it up."""
    testbed = MeshTestbed(hass, hass_storage, virtual_proxy)
    yield testbed
    if testbed.entry is not None and testbed.entry.state is ConfigEntryState.LOADED:
        await testbed.async_unload()
    testbed.cleanup()


async def _configured_network(
    hass: HomeAssistant, bed: MeshTestbed, *profiles: str
) -> list[SimulatedNode]:
    nodes = [bed.provision(profile) for profile in profiles]
    for node in nodes:
        bed.add(node)
    await bed.async_setup()
    for node in nodes:
        await until(hass, lambda n=node: bed.stored_node(n).config_complete, "configured")
    await hass.async_block_till_done()
    return nodes


def _address(node: SimulatedNode) -> int:
    assert node.unicast_address is not None
    return node.unicast_address


@dataclass(frozen=True, slots=True)
class Sent:
    """One Proxy PDU Home Assistant wrote to a proxy node, decrypted at the network layer."""

    proxy_configuration: bool
    seq: int
    dst: int
    transport_pdu: bytes


def _sent(bed: MeshTestbed, proxy_node: SimulatedNode, start: int = 0) -> list[Sent]:
    """What our node wrote to ``proxy_node``, in write order, from log record ``start`` on."""
    keys = NetworkKeyring()
    for net_key in bed.network.net_keys:
        keys.add(net_key.index, net_key.key)
    iv = IvIndexState(iv_index=bed.network.iv_index)
    reassembler = Reassembler()
    own = bed.runtime.unicast_address
    sent: list[Sent] = []
    for record in bed.proxy.stats.log[start:]:
        if record.address != proxy_node.address.upper() or record.direction != "write":
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
        if pdu.src == own:
            sent.append(Sent(proxy, pdu.seq, pdu.dst, pdu.transport_pdu))
    return sent


# --- 1. the SEQ reservation in its own small store ---------------------------------------------


async def test_sequence_blocks_go_to_the_small_store_not_the_database(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await _configured_network(hass, bed, "onoff_plug")
    address = _address(node)
    store = bed.runtime.store
    own = bed.runtime.unicast_address
    database_writes, state_writes = store.writes, store.state_writes
    for _ in range(600):  # more than two blocks of 256
        await bed.runtime.async_send(
            address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
        )
    assert 2 <= store.state_writes - state_writes <= 3  # one per block
    assert store.writes == database_writes  # the database is not written per block
    # What is on "disk" covers every SEQ that left.
    state = bed.hass_storage[f"{DOMAIN}.{bed.mesh_uuid}.state"]["data"]
    assert state["sequenceNumbers"][f"{own:04X}"] > max(bed.sent_sequence_numbers(node, own))


async def test_sequence_continues_from_the_database_without_a_small_store(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """No runtime-state store (an older installation, or the file was lost): the database's
    extension is taken, plus a safety margin, since the database copy may be behind."""
    node = bed.provision("onoff_plug")
    bed.add(node)
    own = bed.network.nodes[0].unicast_address
    bed.network.set_sequence_number(own, 5000)
    await bed.async_setup()
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured")
    sent = bed.sent_sequence_numbers(node, own)
    assert sent
    assert min(sent) >= 5000 + SEQ_RECOVERY_MARGIN
    assert f"{DOMAIN}.{bed.mesh_uuid}.state" in bed.hass_storage


async def test_sequence_continues_from_the_newer_of_both_stores(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await _configured_network(hass, bed, "onoff_plug")
    address = _address(node)
    own = bed.runtime.unicast_address
    await bed.async_unload()
    state_key = f"{DOMAIN}.{bed.mesh_uuid}.state"
    state = bed.hass_storage[state_key]["data"]
    state["sequenceNumbers"][f"{own:04X}"] = 9000  # the database's copy is far behind
    sent_before = len(bed.sent_sequence_numbers(node, own))

    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    status = await bed.runtime.async_send(
        address, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)
    after = bed.sent_sequence_numbers(node, own)[sent_before:]
    assert after
    assert min(after) >= 9000


async def test_the_newer_of_both_copies_wins() -> None:
    network = MeshNetwork.create("Home mesh", PROVISIONER_NAME, now_iso())
    network.set_iv_index(5, update_active=True)
    network.set_sequence_number(1, 100)
    ext = network.extension
    assert ext is not None
    ext.sequence_iv_index = 4
    ext.replay_protection = {2: (5, 10), 3: (5, 50)}
    state = MeshExtension(
        iv_index=5,
        iv_update_active=False,  # the IV Update finished after the database was saved
        sequence_numbers={1: 20},
        sequence_iv_index=5,  # SEQ restarted with the new IV Index
        replay_protection={2: (5, 11), 3: (5, 40), 4: (4, 1)},
    )
    apply_state(network, state, 1)
    assert (network.iv_index, network.iv_update_active) == (5, False)
    assert (ext.sequence_iv_index, network.sequence_number(1)) == (5, 20)
    assert ext.replay_protection == {2: (5, 11), 3: (5, 50), 4: (4, 1)}

    older = MeshExtension(iv_index=5, iv_update_active=True, sequence_numbers={1: 900})
    older.sequence_iv_index = 4
    apply_state(network, older, 1)  # nothing in it is newer
    assert (network.iv_index, network.iv_update_active) == (5, False)
    assert (ext.sequence_iv_index, network.sequence_number(1)) == (5, 20)


async def test_removing_the_entry_removes_the_small_store(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    await _configured_network(hass, bed, "onoff_plug")
    keys = (f"{DOMAIN}.{bed.mesh_uuid}", f"{DOMAIN}.{bed.mesh_uuid}.state")
    assert all(key in bed.hass_storage for key in keys)
    assert bed.entry is not None
    await hass.config_entries.async_remove(bed.entry.entry_id)
    await hass.async_block_till_done()
    assert not any(key in bed.hass_storage for key in keys)


# --- 2. subscribers with a source filter ---------------------------------------------------------


async def test_subscriber_with_src_gets_only_that_source(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    first, second = await _configured_network(hass, bed, "onoff_plug", "onoff_plug")
    a, b = _address(first), _address(second)
    runtime = bed.runtime
    from_a: list[tuple[int, Message]] = []
    from_b: list[tuple[int, Message]] = []
    everything: list[tuple[int, Message]] = []
    remove_a = runtime.async_subscribe(lambda s, m: from_a.append((s, m)), src=a)
    remove_b = runtime.async_subscribe(lambda s, m: from_b.append((s, m)), src=b)
    remove_all = runtime.async_subscribe(lambda s, m: everything.append((s, m)))

    for address in (a, a, b):
        await runtime.async_send(address, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus)
    # (A state read of an entity may still be answered meanwhile: count by source.)
    assert {s for s, _ in from_a} == {a}
    assert {s for s, _ in from_b} == {b}
    assert len(from_a) >= 2
    assert len(from_b) >= 1
    assert sorted(everything, key=lambda e: e[0]) == sorted(from_a + from_b, key=lambda e: e[0])

    remove_a()
    remove_a()  # twice is harmless
    seen = len(from_a)
    await runtime.async_send(a, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus)
    assert len(from_a) == seen
    assert everything[-1][0] == a
    remove_b()
    remove_all()
    nobody = 0x7000  # no entity listens to it
    remove = runtime.async_subscribe(lambda s, m: None, src=nobody)
    assert nobody in runtime._subscribers_by_src
    remove()
    assert nobody not in runtime._subscribers_by_src  # nothing left behind


# --- 3. users' commands before background traffic --------------------------------------------


async def test_user_command_goes_out_before_queued_background_reads(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    proxy_node, other = await _configured_network(hass, bed, "onoff_plug", "onoff_plug")
    assert bed.runtime.proxy_address == proxy_node.address
    runtime = bed.runtime
    user_dst, background_dst = _address(proxy_node), _address(other)
    virtual_proxy.latency = 0.002  # every write takes a while: a queue builds up
    start = len(virtual_proxy.stats.log)

    reads = [
        hass.async_create_background_task(
            runtime.async_send(
                background_dst,
                gen.GenericOnOffGet(),
                expect=gen.GenericOnOffStatus,
                background=True,
            ),
            f"read {i}",
        )
        for i in range(50)
    ]
    command = await runtime.async_send(
        user_dst,
        gen.GenericOnOffSet(True, runtime.next_tid(user_dst)),
        expect=gen.GenericOnOffStatus,
    )
    assert isinstance(command, gen.GenericOnOffStatus)
    statuses = await asyncio.wait_for(asyncio.gather(*reads), timeout=30)
    assert all(isinstance(s, gen.GenericOnOffStatus) for s in statuses)

    sent = [s for s in _sent(bed, proxy_node, start) if not s.proxy_configuration]
    destinations = [s.dst for s in sent]
    assert destinations.count(background_dst) >= 50
    # At most the one background read already being written went ahead of the command.
    assert destinations.index(user_dst) <= 1
    # SEQ numbers leave in increasing order (the nodes' replay protection needs it).
    seqs = [s.seq for s in sent]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)


async def test_background_read_cancelled_before_its_turn_is_not_sent(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    proxy_node, other = await _configured_network(hass, bed, "onoff_plug", "onoff_plug")
    runtime = bed.runtime
    virtual_proxy.latency = 0.002
    start = len(virtual_proxy.stats.log)
    reads = [
        hass.async_create_background_task(
            runtime.async_send(
                _address(other),
                gen.GenericOnOffGet(),
                expect=gen.GenericOnOffStatus,
                background=True,
            ),
            f"read {i}",
        )
        for i in range(20)
    ]
    await asyncio.sleep(0)
    for task in reads[5:]:
        task.cancel()
    results = await asyncio.gather(*reads, return_exceptions=True)
    answered = [r for r in results if isinstance(r, gen.GenericOnOffStatus)]
    assert len(answered) >= 1
    await hass.async_block_till_done()
    sent = [s for s in _sent(bed, proxy_node, start) if s.dst == _address(other)]
    assert len(sent) <= 6  # the cancelled reads never left (one may have been under way)
    assert runtime._tracker.pending == 0


# --- 4. the proxy filter at connect --------------------------------------------------------------


async def test_connect_sets_up_the_filter_without_set_filter_type(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await _configured_network(hass, bed, "onoff_plug")
    configuration = [
        decode_proxy_config(s.transport_pdu) for s in _sent(bed, node) if s.proxy_configuration
    ]
    assert configuration
    assert not any(isinstance(m, SetFilterType) for m in configuration)
    assert isinstance(configuration[0], AddAddresses)
    assert bed.runtime.unicast_address in configuration[0].addresses
    # The node's filter lets our statuses through (the configuration above needed them).
    assert bed.stored_node(node).config_complete
