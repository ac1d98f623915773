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
from dataclasses import dataclass

from homeassistant.core import HomeAssistant
import pytest

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.database import LegacyRuntimeFields
from custom_components.ble_mesh.mesh.models import generic as gen
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    NetworkKeyring,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.node import IV_UPDATE_SEQ_THRESHOLD
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
from custom_components.ble_mesh.storage import legacy_node_state
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


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
    iv = IvIndexState(iv_index=bed.iv_index)
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
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = _address(node)
    store = bed.runtime.store.files
    own = bed.runtime.unicast_address
    database_writes, state_writes = store.writes, store.state_writes
    for _ in range(600):  # more than two blocks of 256
        await bed.runtime.async_send(
            address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
        )
    assert 2 <= store.state_writes - state_writes <= 3  # one per block
    assert store.writes == database_writes  # the database is not written per block
    # What is on "disk" covers every SEQ that left.
    assert bed.stored_node_state().sequence["seq"] > max(bed.sent_sequence_numbers(node, own))


async def test_lost_node_state_continues_at_the_iv_update_threshold(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The state file is gone but the network has sent before: SEQ numbers nodes saw cannot be
    known, so Home Assistant continues above anything Normal Operation uses, and starts an IV
    Update so that SEQ may restart legitimately (MshPRT 1.1 §3.11.5)."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    own = bed.runtime.unicast_address
    await bed.async_unload()
    del bed.hass_storage[f"{DOMAIN}.{bed.mesh_uuid}.state"]
    sent_before = len(bed.sent_sequence_numbers(node, own))
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    status = await bed.runtime.async_send(
        _address(node), gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)  # the node's replay list accepted it
    after = bed.sent_sequence_numbers(node, own)[sent_before:]
    assert min(after) >= IV_UPDATE_SEQ_THRESHOLD
    assert bed.runtime.iv_update_in_progress
    assert bed.runtime.iv_index == 1
    await hass.async_block_till_done()
    assert bed.stored_node_state().iv.update_in_progress


async def test_state_of_version_0_1_is_migrated(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """0.1 kept the values in the database's extension and a small store of the extension's
    shape; the newer of both is taken over, then written as a node state."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = _address(node)
    own = bed.runtime.unicast_address
    await bed.async_unload()
    key = f"{DOMAIN}.{bed.mesh_uuid}"
    database = bed.hass_storage[key]["data"]
    database["x-ble-mesh"] |= {
        "ivIndex": 0,
        "ivUpdateActive": False,
        "sequenceNumbers": {f"{own:04X}": 7000},  # the database's copy, behind
        "replayProtection": {f"{address:04X}": [0, 3]},
    }
    bed.hass_storage[f"{key}.state"] = {
        "version": 1,
        "key": f"{key}.state",
        "data": {
            "ivIndex": 0,
            "ivUpdateActive": False,
            "sequenceNumbers": {f"{own:04X}": 9000},
            "replayProtection": {f"{address:04X}": [0, 2]},
        },
    }
    sent_before = len(bed.sent_sequence_numbers(node, own))
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    status = await bed.runtime.async_send(
        address, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)
    after = bed.sent_sequence_numbers(node, own)[sent_before:]
    assert min(after) >= 9000
    assert not bed.runtime.iv_update_in_progress  # migrated, not recovered
    state = bed.stored_node_state()
    assert state.sequence["seq"] > 9000
    assert state.replay_list[f"{address:04x}"][1] >= 3
    # The database no longer carries the values once it is saved again.
    await bed.runtime.store.async_save()
    assert "sequenceNumbers" not in bed.hass_storage[key]["data"]["x-ble-mesh"]


def test_the_newer_of_both_legacy_copies_wins() -> None:
    database = LegacyRuntimeFields(
        iv_index=5,
        iv_update_active=True,
        sequence_numbers={1: 100},
        sequence_iv_index=4,
        replay_protection={2: (5, 10), 3: (5, 50)},
    )
    small = LegacyRuntimeFields(
        iv_index=5,
        iv_update_active=False,  # the IV Update finished after the database was saved
        sequence_numbers={1: 20},
        sequence_iv_index=5,  # SEQ restarted with the new IV Index
        replay_protection={2: (5, 11), 3: (5, 40), 4: (4, 1)},
    )
    state, knew = legacy_node_state([database, small], 1)
    assert knew
    assert state is not None
    assert (state.iv.iv_index, state.iv.update_in_progress) == (5, False)
    assert state.sequence == {"iv_index": 5, "seq": 20}
    assert state.replay_list == {"0002": [5, 11], "0003": [5, 50], "0004": [4, 1]}
    older = LegacyRuntimeFields(iv_index=5, iv_update_active=True, sequence_numbers={1: 900})
    older.sequence_iv_index = 4
    state, _ = legacy_node_state([small, older], 1)
    assert state is not None
    assert state.sequence == {"iv_index": 5, "seq": 20}  # a reservation of the old IV Index
    assert legacy_node_state([], 1) == (None, False)


async def test_removing_the_entry_removes_the_small_store(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    await bed.async_setup_configured("onoff_plug")
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
    first, second = await bed.async_setup_configured("onoff_plug", "onoff_plug")
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
    assert nobody in runtime._subscriptions._by_src
    remove()
    assert nobody not in runtime._subscriptions._by_src  # nothing left behind


# --- 3. users' commands before background traffic --------------------------------------------


async def test_user_command_goes_out_before_queued_background_reads(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    proxy_node, other = await bed.async_setup_configured("onoff_plug", "onoff_plug")
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
    proxy_node, other = await bed.async_setup_configured("onoff_plug", "onoff_plug")
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
    assert runtime.diagnostics()["pending_requests"] == 0


# --- 4. the proxy filter at connect --------------------------------------------------------------


async def test_connect_sets_up_the_filter_without_set_filter_type(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await bed.async_setup_configured("onoff_plug")
    configuration = [
        decode_proxy_config(s.transport_pdu) for s in _sent(bed, node) if s.proxy_configuration
    ]
    assert configuration
    assert not any(isinstance(m, SetFilterType) for m in configuration)
    assert isinstance(configuration[0], AddAddresses)
    assert bed.runtime.unicast_address in configuration[0].addresses
    # The node's filter lets our statuses through (the configuration above needed them).
    assert bed.stored_node(node).config_complete
