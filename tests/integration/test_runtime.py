"""The runtime of a mesh network: proxy connection, messaging, automatic configuration, SEQ.

Everything runs through Home Assistant's Bluetooth stack, the virtual proxy and simulated
nodes; nothing of ours is mocked.
"""

from __future__ import annotations

import copy
import json
import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.ble_mesh.client import MeshClient
from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.exceptions import MeshNotConnectedError, MeshTimeoutError
from custom_components.ble_mesh.mesh.access import Message
from custom_components.ble_mesh.mesh.models import generic as gen, lighting as li, model_ids as ids
from custom_components.ble_mesh.mesh.models.config import (
    ConfigCompositionDataGet,
    ConfigCompositionDataStatus,
)
from custom_components.ble_mesh.mesh.models.registry import CONFIGURED_MODELS
from custom_components.ble_mesh.mesh.network import (
    DEFAULT_REPLAY_MARGIN,
    DEFAULT_UNKNOWN_SOURCES,
    NetworkKeyring,
)
from custom_components.ble_mesh.mesh.node import IV_UPDATE_SEQ_THRESHOLD, MeshNode
from custom_components.ble_mesh.mesh.proxy import (
    ATT_HEADER_SIZE,
    MESH_PROXY_DATA_OUT_UUID,
    ProxyMessageType,
    segment,
)
from custom_components.ble_mesh.mesh.transport import Heartbeat
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy

from .mesh_testbed import MeshTestbed, TimeMachine, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


async def _configured(hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode) -> None:
    await until(hass, lambda: bed.stored_node(node).config_complete, "node configured")


def _recorder(bed: MeshTestbed) -> list[tuple[int, Message]]:
    received: list[tuple[int, Message]] = []
    bed.entry.async_on_unload(  # type: ignore[union-attr]
        bed.runtime.async_subscribe(lambda src, message: received.append((src, message)))
    )
    return received


async def test_new_node_is_configured_automatically(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    node = bed.provision("ctl")
    bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected")
    assert bed.runtime.proxy_address == node.address
    await _configured(hass, bed, node)

    record = bed.stored_node(node)
    assert record.cid == node.profile.company_id
    assert record.pid == node.profile.product_id
    assert [len(e.models) for e in record.elements] == [
        len(e.models) for e in node.profile.elements
    ]
    assert record.has_app_key(0)
    # Every light server of every element is bound to AppKey 0, on the node itself.
    models = node.models
    assert models is not None
    for element in record.elements:
        for model in element.models:
            if model.model_id in CONFIGURED_MODELS:
                assert 0 in model.bind
                assert 0 in models.bindings[(element.index, model.model_id)]
    # The primary element's CTL server publishes to Home Assistant.
    publication = models.publications[(0, ids.LIGHT_CTL_SERVER)]
    assert publication.address == bed.runtime.unicast_address
    assert publication.app_key_index == 0
    diagnostics = bed.runtime.diagnostics()
    assert diagnostics["connected"] is True
    assert diagnostics["unconfigured_nodes"] == []
    assert "key" not in str(diagnostics).lower()
    # Stored, and the device shows what the composition data said.
    stored = bed.hass_storage[f"{DOMAIN}.{bed.mesh_uuid}"]["data"]
    node_json = next(
        n for n in stored["nodes"] if n["unicastAddress"] == f"{node.unicast_address:04X}"
    )
    assert node_json["configComplete"] is True
    device = bed.device(node)
    # What is known, plainly: no maker for company ID 0xFFFF, the product and version IDs.
    assert device.model == f"Product ID 0x{node.profile.product_id:04X}"
    assert device.manufacturer is None
    assert device.sw_version == f"0x{node.profile.version_id:04X}"


async def test_node_identity_advertisement_is_a_proxy_of_ours(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    node = bed.provision("onoff_plug")
    node.advertise_node_identity(60)  # Node Identity instead of the Network ID
    assert node.advertising_node_identity
    bed.add(node)
    await bed.async_setup()
    await _configured(hass, bed, node)
    assert bed.runtime.proxy_address == node.address


async def test_send_with_response_and_push_updates(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (node,) = await bed.async_setup_configured("dimmable")
    received = _recorder(bed)
    address = node.unicast_address
    assert address is not None

    tid = bed.runtime.next_tid(address)
    status = await bed.runtime.async_send(
        address, gen.GenericOnOffSet(True, tid), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)
    assert status.present_on is True
    assert node.lights[0].on
    assert (address, status) in received  # subscribers see replies too

    # A wall switch: the node publishes its Lightness status to us, no polling involved.
    received.clear()
    node.set_state(on=False)
    await until(hass, lambda: bool(received), "a publication")
    src, message = received[0]
    assert src == address
    assert isinstance(message, li.LightLightnessStatus)
    assert message.present_lightness == 0

    # An unacknowledged message returns once written.
    assert (
        await bed.runtime.async_send(
            address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
        )
        is None
    )
    await until(hass, lambda: bool(node.lights[0].on), "light on")


async def test_unanswered_request_times_out_after_retries(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    node.faults.stop_answering = True
    own = bed.runtime.unicast_address
    sent = len(bed.sent_sequence_numbers(node, own))
    clock = TimeMachine(hass)
    # A background task: block_till_done must not wait for the answer that never comes.
    task = hass.async_create_background_task(
        bed.runtime.async_send(
            address,
            gen.GenericOnOffSet(True, bed.runtime.next_tid(address)),
            expect=gen.GenericOnOffStatus,
            timeout=2.0,
            retries=2,
        ),
        "send",
    )
    await clock.advance(7)
    with pytest.raises(MeshTimeoutError):
        await task
    # The first attempt and two retransmissions of the same message (same TID).
    assert len(bed.sent_sequence_numbers(node, own)) - sent == 3


async def test_link_dropped_reconnects_without_going_unavailable(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    (node,) = await bed.async_setup_configured("dimmable")
    changes: list[bool] = []
    bed.runtime.async_add_connection_listener(lambda: changes.append(bed.runtime.connected))
    connects = virtual_proxy.stats.connects[node.address.upper()]

    assert virtual_proxy.drop_connection(node.address)
    await until(
        hass,
        lambda: virtual_proxy.stats.connects[node.address.upper()] == connects + 1
        and bed.runtime.proxy_address == node.address,
        "reconnected",
    )
    assert changes == []  # never unavailable
    address = node.unicast_address
    assert address is not None
    status = await bed.runtime.async_send(
        address,
        gen.GenericOnOffSet(True, bed.runtime.next_tid(address)),
        expect=gen.GenericOnOffStatus,
    )
    assert isinstance(status, gen.GenericOnOffStatus)


async def test_failover_to_another_proxy_node(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    near = bed.provision("dimmable", rssi=-40)
    far = bed.provision("onoff_plug", rssi=-80)
    # Both marked configured: this test is about the connection only.
    for node in (near, far):
        record = bed.network.node_by_address(node.unicast_address or 0)
        assert record is not None
        record.config_complete = True
        bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.proxy_address == near.address, "near proxy")
    changes: list[bool] = []
    bed.runtime.async_add_connection_listener(lambda: changes.append(bed.runtime.connected))

    virtual_proxy.remove(near.address)  # switched off: its link drops, it stops advertising
    await until(hass, lambda: bed.runtime.proxy_address == far.address, "failover")
    assert changes == []
    address = far.unicast_address
    assert address is not None
    status = await bed.runtime.async_send(
        address, ConfigCompositionDataGet(0), device_key=True, expect=ConfigCompositionDataStatus
    )
    assert isinstance(status, ConfigCompositionDataStatus)


async def test_no_proxy_reachable_then_back(
    hass: HomeAssistant,
    bed: MeshTestbed,
    virtual_proxy: VirtualProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (node,) = await bed.async_setup_configured("dimmable")
    changes: list[bool] = []
    bed.runtime.async_add_connection_listener(lambda: changes.append(bed.runtime.connected))
    caplog.set_level(logging.INFO, logger="custom_components.ble_mesh")
    clock = TimeMachine(hass)

    virtual_proxy.set_unreachable(node.address)
    virtual_proxy.drop_connection(node.address)
    await until(hass, lambda: not bed.runtime.connected, "unreachable")
    assert changes == [False]
    address = node.unicast_address
    assert address is not None
    with pytest.raises(MeshNotConnectedError):
        await bed.runtime.async_send(address, gen.GenericOnOffGet())
    await clock.advance(20)  # backoff attempts keep failing: logged once
    assert caplog.text.count("no proxy node is reachable") == 1

    virtual_proxy.set_unreachable(node.address, False)
    await clock.advance(60, step=5)
    await until(hass, lambda: bed.runtime.connected, "reachable again")
    assert changes == [False, True]
    assert caplog.text.count("a proxy node is reachable again") == 1


async def test_interrupted_configuration_resumes(hass: HomeAssistant, bed: MeshTestbed) -> None:
    node = bed.provision("dimmable")
    bed.add(node)
    write = node.write

    def write_then_fall_silent(char_uuid: str, data: bytes, now: float) -> None:
        """The node goes silent once it has stored the AppKey (its answer still leaves)."""
        write(char_uuid, data, now)
        if node.models is not None and node.models.app_key_records:
            node.faults.stop_answering = True

    node.write = write_then_fall_silent  # type: ignore[method-assign]
    await bed.async_setup()
    await until(hass, lambda: bed.stored_node(node).has_app_key(0), "AppKey added")
    await bed.async_unload()  # Home Assistant restarts in the middle of the configuration
    record = bed.stored_node(node)
    assert record.cid is not None
    assert record.config_complete is False
    models = node.models
    assert models is not None
    assert not models.bindings.get((0, ids.LIGHT_LIGHTNESS_SERVER))

    node.write = write  # type: ignore[method-assign]
    node.faults.stop_answering = False
    await bed.async_setup()
    await _configured(hass, bed, node)
    assert 0 in models.bindings[(0, ids.LIGHT_LIGHTNESS_SERVER)]
    assert models.publications[(0, ids.LIGHT_LIGHTNESS_SERVER)].address == 0x0001


async def test_configuration_failing_raises_a_repair_issue(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    node = bed.provision("onoff_plug")
    node.faults.stop_answering = True
    bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected")
    record = bed.stored_node(node)
    issue_id = f"node_not_configured_{bed.runtime.entry_id}_{record.uuid.hex}"
    registry = ir.async_get(hass)
    clock = TimeMachine(hass)
    await clock.advance(3 * (15 + 30) + 5, step=5)
    assert registry.async_get_issue(DOMAIN, issue_id) is not None
    assert record.config_complete is False

    node.faults.stop_answering = False
    await clock.advance(35, step=5)
    await _configured(hass, bed, node)
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_restart_never_reuses_a_sequence_number(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await bed.async_setup_configured("dimmable")
    address = node.unicast_address
    assert address is not None
    own = bed.runtime.unicast_address
    for _ in range(3):
        await bed.runtime.async_send(
            address,
            gen.GenericOnOffSet(True, bed.runtime.next_tid(address)),
            expect=gen.GenericOnOffStatus,
        )
    before = bed.sent_sequence_numbers(node, own)
    assert before == sorted(before)
    assert len(set(before)) == len(before)

    await bed.async_unload()
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    status = await bed.runtime.async_send(
        address,
        gen.GenericOnOffSet(False, bed.runtime.next_tid(address)),
        expect=gen.GenericOnOffStatus,
    )
    assert isinstance(status, gen.GenericOnOffStatus)  # the node's replay list accepted it
    after = bed.sent_sequence_numbers(node, own)[len(before) :]
    assert after
    assert min(after) > max(before)
    # The replay protection list was stored too (in the node state, not the database).
    await bed.async_unload()
    assert f"{address:04x}" in bed.stored_node_state().replay_list
    assert (
        "replayProtection"
        not in bed.hass_storage[f"{DOMAIN}.{bed.mesh_uuid}"]["data"]["x-ble-mesh"]
    )


async def test_crash_never_reuses_a_sequence_number(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """Without a clean stop, the stored reservation is still ahead of every SEQ used."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    own = bed.runtime.unicast_address
    for _ in range(5):
        await bed.runtime.async_send(
            address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
        )
    keys = (f"{DOMAIN}.{bed.mesh_uuid}", f"{DOMAIN}.{bed.mesh_uuid}.state")
    # What was on disk at the "crash": the database and the small runtime-state store.
    crashed = {key: copy.deepcopy(bed.hass_storage[key]) for key in keys}
    before = bed.sent_sequence_numbers(node, own)

    await bed.async_unload()
    bed.hass_storage.update(crashed)  # the clean-stop writes never happened
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    # The node obeys (its replay list takes our new SEQ). Its answers could be lost here: the
    # replay list Home Assistant stored before the crash reaches a margin ahead of the node.
    await bed.runtime.async_send(
        address, gen.GenericOnOffSetUnacknowledged(False, bed.runtime.next_tid(address))
    )
    await until(hass, lambda: not node.lights[0].on, "the node obeys")
    after = bed.sent_sequence_numbers(node, own)[len(before) :]
    assert after
    assert min(after) > max(before)


def _notifications(bed: MeshTestbed, node: SimulatedNode, since: int) -> list[bytes]:
    """The Mesh Proxy Data Out values ``node`` sent since log entry ``since`` (an eavesdropper's
    capture of the link)."""
    return [
        record.data
        for record in bed.proxy.stats.log[since:]
        if record.address == node.address.upper()
        and record.direction == "notify"
        and record.char_uuid.lower() == MESH_PROXY_DATA_OUT_UUID
    ]


async def test_a_status_replayed_after_a_kill_is_refused(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """Home Assistant is killed right after acting on a status; after the restart an attacker
    replays the captured status before the node says anything new. The replay list on disk
    already refuses it (§3.9.8): it was stored before the status reached the subscribers. The
    price of the kill: the node's next messages within the margin reserved ahead are lost."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    received = _recorder(bed)
    start = len(bed.proxy.stats.log)
    node.set_state(on=True)  # a wall switch: the node publishes its status to us
    await until(hass, lambda: (address, gen.GenericOnOffStatus(True)) in received, "status")
    captured = _notifications(bed, node, start)
    assert captured
    keys = (f"{DOMAIN}.{bed.mesh_uuid}", f"{DOMAIN}.{bed.mesh_uuid}.state")
    crashed = {key: copy.deepcopy(bed.hass_storage[key]) for key in keys}  # the kill

    await bed.async_unload()
    node.set_state(on=False)  # switched off while Home Assistant is down: nobody hears it
    node.faults.reply_delay = 3600.0  # and slow to answer the state reads after the restart
    bed.hass_storage.update(crashed)  # the clean-stop writes never happened
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")
    received = _recorder(bed)
    link = node.connected_link
    assert link is not None
    for value in captured:
        assert link.notify(MESH_PROXY_DATA_OUT_UUID, value)
    await hass.async_block_till_done()
    assert received == []  # the light is off: the old "on" was not taken for news

    node.faults.reply_delay = 0.0
    for switched in range(1, DEFAULT_REPLAY_MARGIN + 1):
        node.set_state(on=switched % 2 == 1)
        await hass.async_block_till_done()
        if received:
            break
    assert received[-1] == (address, gen.GenericOnOffStatus(switched % 2 == 1))


async def test_spoofed_sources_cannot_crowd_out_a_node(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """Anyone holding the network key sends 1100 control messages from addresses no node has;
    the node's next status still arrives, and the flood costs no state write."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    keys = NetworkKeyring()
    keys.add(0, bed.network.net_keys[0].key)
    spoofer = MeshNode(address=0x7000, net_keys=keys, persist_state=False)
    link = node.connected_link
    assert link is not None
    files = bed.runtime.store.files
    state_writes = files.state_writes
    heartbeat = Heartbeat(5, 0).to_bytes()
    for n in range(1100):
        [pdu] = spoofer.encode(
            bed.runtime.unicast_address, heartbeat, seq=n, control=True, src=0x1000 + n
        )
        for value in segment(ProxyMessageType.NETWORK_PDU, pdu, link.mtu - ATT_HEADER_SIZE):
            assert link.notify(MESH_PROXY_DATA_OUT_UUID, value)
    await hass.async_block_till_done()
    assert bed.runtime.diagnostics()["replay_protection_entries"] == 1 + DEFAULT_UNKNOWN_SOURCES
    assert files.state_writes == state_writes

    received = _recorder(bed)
    node.set_state(on=True)
    await until(hass, lambda: (address, gen.GenericOnOffStatus(True)) in received, "status")
    await bed.async_unload()  # what is stored stays small too
    assert len(bed.stored_node_state().replay_list) == 1 + DEFAULT_UNKNOWN_SOURCES


async def test_sequence_reservations_are_written_once_per_block(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    store = bed.runtime.store.files
    writes, state_writes = store.writes, store.state_writes
    for _ in range(100):
        await bed.runtime.async_send(
            address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
        )
    # The reservation goes to the small runtime-state store, never the whole database.
    assert store.state_writes - state_writes <= 1
    assert store.writes == writes


async def test_iv_index_follows_the_network_beacon(hass: HomeAssistant, bed: MeshTestbed) -> None:
    node = bed.provision("onoff_plug", iv_index=bed.iv_index + 1)
    bed.add(node)
    await bed.async_setup()
    await _configured(hass, bed, node)  # every message after the beacon uses the new IV Index
    assert bed.runtime.iv_index == 1
    await hass.async_block_till_done()
    assert bed.stored_node_state().iv.iv_index == 1


async def test_an_unknown_iv_index_is_learnt_from_the_first_beacon(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """A network imported from a Mesh CDB file (no IV Index in it) whose nodes are at IV Index
    100, more than the 42 a known IV Index may jump: Home Assistant takes the proxy node's
    authenticated beacon, configures the node and keeps the IV Index as known."""
    bed.start_iv_known = False
    node = bed.provision("onoff_plug", iv_index=100)
    bed.add(node)
    await bed.async_setup()
    await _configured(hass, bed, node)
    assert bed.runtime.iv_index == 100
    await hass.async_block_till_done()
    stored = bed.stored_node_state().iv
    assert (stored.iv_index, stored.known) == (100, True)


async def test_a_known_iv_index_does_not_jump_more_than_42(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The same node with Home Assistant's IV Index known (0): its beacon is ignored
    (§3.11.5.2), and nothing is configured with a foreign IV Index."""
    node = bed.provision("onoff_plug", iv_index=100)
    bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected")
    await hass.async_block_till_done()
    assert bed.runtime.iv_index == 0
    assert not bed.stored_node(node).config_complete


async def test_unload_closes_the_connection(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    (node,) = await bed.async_setup_configured("dimmable")
    assert virtual_proxy.is_connected(node.address)
    await bed.async_unload()
    assert not virtual_proxy.is_connected(node.address)
    assert bed.entry is not None
    assert bed.entry.state is ConfigEntryState.NOT_LOADED
    # verify_cleanup (pytest-homeassistant-custom-component) fails the test on any task or
    # timer left behind.


async def test_home_assistant_runs_a_whole_iv_update(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """Home Assistant's SEQ passes the threshold: it starts an IV Update, the proxy node and
    the node behind it follow its beacon, 96 hours later it returns to Normal Operation with
    the new IV Index and SEQ from 0; the lights answer throughout (MshPRT 1.1 §3.11.5)."""
    proxy_node, other = await bed.async_setup_configured("onoff_plug", "onoff_plug")
    await bed.async_unload()
    # A node state whose SEQ is just below the threshold, as after a long life.
    key = f"{DOMAIN}.{bed.mesh_uuid}.state"
    state = bed.hass_storage[key]["data"]
    state["sequence"] = {"iv_index": 0, "seq": IV_UPDATE_SEQ_THRESHOLD - 4}
    state["iv"]["changed_at"] = None
    await bed.async_setup()
    await until(hass, lambda: bed.runtime.connected, "connected again")

    async def round_trip(node: SimulatedNode) -> None:
        address = node.unicast_address
        assert address is not None
        status = await bed.runtime.async_send(
            address, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus
        )
        assert isinstance(status, gen.GenericOnOffStatus)

    for _ in range(5):
        await round_trip(other)
    assert bed.runtime.iv_update_in_progress
    assert bed.runtime.iv_index == 1
    for node in (proxy_node, other):  # the proxy node over GATT, the other on the air
        assert node.iv_state == (1, True)
    await hass.async_block_till_done()
    assert bed.stored_node_state().iv.update_in_progress
    await round_trip(proxy_node)  # still transmitting with IV Index 0 (§3.11.5)

    clock = TimeMachine(hass)
    await clock.advance(97 * 3600, step=3600)
    assert not bed.runtime.iv_update_in_progress
    assert bed.runtime.iv_index == 1
    await round_trip(other)
    await round_trip(proxy_node)
    assert bed.runtime.diagnostics()["next_seq"] < 16  # SEQ restarted with the new IV Index
    await hass.async_block_till_done()
    stored = bed.stored_node_state()
    assert (stored.iv.iv_index, stored.iv.update_in_progress) == (1, False)


async def test_a_node_reporting_more_elements_than_provisioned_is_refused(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """Its composition would run over the next node's address: a repair issue, nothing else.

    The twin fixture has two elements; its record says one (as if its firmware had grown an
    element since it was provisioned), so the next node got the address right after it.
    """
    twin = bed.provision("two_element", rssi=-80)
    record = bed.network.nodes[-1]  # its record, before anything is stored
    record.elements = record.elements[:1]
    lamp = bed.provision("dimmable", rssi=-40)  # the proxy: the twin would keep 0003 to itself
    assert bed.network.nodes[-1].unicast_address == record.unicast_address + 1
    for node in (twin, lamp):
        bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.stored_node(lamp).config_complete, "the lamp configured")
    issue_id = f"node_not_configured_{bed.entry.entry_id}_{record.uuid.hex}"  # type: ignore[union-attr]
    await until(hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "node_composition_mismatch"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["reported"] == "2"
    stored = bed.stored_node(twin)
    assert stored.element_count == 1  # nothing recorded over the lamp's address
    assert not stored.config_complete
    # The database stays valid: the entry loads again after a restart.
    await bed.async_unload()
    await bed.async_setup()
    assert bed.entry is not None
    assert bed.entry.state is ConfigEntryState.LOADED
    assert bed.stored_node(lamp).config_complete


@pytest.mark.parametrize("message_type", [0x04, 0x3F])
async def test_a_reserved_proxy_message_type_is_ignored(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy, message_type: int
) -> None:
    """MshPRT 1.1 §6.3.1: a Proxy PDU of an RFU type is ignored; the link stays up."""
    (node,) = await bed.async_setup_configured("dimmable")
    connects = virtual_proxy.stats.connects[node.address.upper()]
    link = node.connected_link
    assert link is not None
    assert link.notify(MESH_PROXY_DATA_OUT_UUID, bytes([message_type, 0x01, 0x02]))
    await hass.async_block_till_done()
    assert bed.runtime.connected
    assert node.connected_link is link
    assert virtual_proxy.stats.connects[node.address.upper()] == connects
    address = node.unicast_address
    assert address is not None
    status = await bed.runtime.async_send(
        address, gen.GenericOnOffGet(), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)


async def test_no_sequence_number_leaves_before_its_reservation_is_on_disk_while_stopping(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """Home Assistant's Store does not write while HA stops; the reservation still must be
    on disk before a PDU using it leaves, so a kill at any point of a shutdown that sends
    cannot make a restart reuse a SEQ. Checked after every message across two blocks."""
    (node,) = await bed.async_setup_configured("onoff_plug")
    address = node.unicast_address
    assert address is not None
    own = bed.runtime.unicast_address
    files = bed.runtime.store.files
    key = f"{DOMAIN}.{bed.mesh_uuid}.state"

    def reserved_on_disk() -> int:
        """What a restart after a kill now would read (the file once written directly)."""
        if files.state_path.exists():
            data = json.loads(files.state_path.read_text())["data"]
        else:
            data = bed.hass_storage[key]["data"]
        return int(data["sequence"]["seq"])

    before = len(bed.sent_sequence_numbers(node, own))
    hass.set_state(CoreState.stopping)
    try:
        for _ in range(300):  # more than one block of 256
            await bed.runtime.async_send(
                address, gen.GenericOnOffSetUnacknowledged(True, bed.runtime.next_tid(address))
            )
            sent = bed.sent_sequence_numbers(node, own)
            assert max(sent) < reserved_on_disk()
    finally:
        hass.set_state(CoreState.running)
    assert len(bed.sent_sequence_numbers(node, own)) - before == 300
    assert files.state_path.exists()  # written directly while stopping


async def test_the_runtime_is_the_client_the_procedures_talk_to(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """Configuration, Key Refresh and groups need only MeshClient (client.py) of the runtime."""
    await bed.async_setup_configured("onoff_plug")
    assert isinstance(bed.runtime, MeshClient)
    assert not isinstance(object(), MeshClient)
