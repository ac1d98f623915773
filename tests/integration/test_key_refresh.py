"""Removing a node: Config Node Reset, removal, and the Key Refresh of the remaining nodes.

Through Home Assistant's device registry, the virtual proxy and simulated nodes sharing one
mesh air; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.ble_mesh.configuration import node_not_reset_issue
from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.key_refresh import OLD_KEYS_LIMIT
from custom_components.ble_mesh.mesh.database import MeshNetwork
from custom_components.ble_mesh.mesh.errors import MeshError
from custom_components.ble_mesh.mesh.models import generic as gen
from custom_components.ble_mesh.mesh.network import (
    IvIndexState,
    KeyRefreshPhase,
    NetworkKeyring,
    decrypt_with_keyring,
)
from custom_components.ble_mesh.mesh.proxy import (
    MESH_PROXY_DATA_IN_UUID,
    ProxyMessageType,
    Reassembler,
)
from custom_components.ble_mesh.network_store import distributed
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .flows import configure, discover, flow_for
from .mesh_testbed import MeshTestbed, TimeMachine, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


async def _network(hass: HomeAssistant, bed: MeshTestbed) -> list[SimulatedNode]:
    """Three configured nodes; Home Assistant connects to the first (strongest signal)."""
    nodes = [
        bed.provision("dimmable", rssi=-40),
        bed.provision("onoff_plug", rssi=-70),
        bed.provision("ctl", rssi=-80),
    ]
    for node in nodes:
        bed.add(node)
    await bed.async_setup()
    for node in nodes:
        await until(hass, lambda n=node: bed.stored_node(n).config_complete, "configured")
    assert bed.runtime.proxy_address == nodes[0].address
    return nodes


def _refresh_done(bed: MeshTestbed) -> bool:
    key = bed.runtime.network.net_keys[0]
    return key.old_key is None and key.phase == KeyRefreshPhase.NORMAL


def _node_keys(node: SimulatedNode) -> tuple[bytes, bytes | None, int, bytes]:
    models = node.models
    assert models is not None
    entry = models.net_keys.get(0)
    return entry.key, entry.new_key, int(entry.phase), models.app_keys.get(0).key


def _assert_has_network_keys(node: SimulatedNode, network: MeshNetwork) -> None:
    net_key, new_key, phase, app_key = _node_keys(node)
    assert net_key == network.net_keys[0].key
    assert app_key == network.app_keys[0].key
    assert new_key is None
    assert phase == KeyRefreshPhase.NORMAL


def _network_pdus_to(proxy: VirtualProxy, node: SimulatedNode) -> list[bytes]:
    """Every Network PDU Home Assistant wrote to ``node`` (reassembled, still encrypted)."""
    reassembler = Reassembler()
    pdus: list[bytes] = []
    for record in proxy.stats.log:
        if record.address != node.address.upper() or record.direction != "write":
            continue
        if record.char_uuid.lower() != MESH_PROXY_DATA_IN_UUID:
            continue
        message = reassembler.receive(record.data, record.time)
        if message is not None and message.message_type is ProxyMessageType.NETWORK_PDU:
            pdus.append(message.data)
    return pdus


async def test_deleting_a_device_resets_the_node_and_refreshes_the_keys(
    hass: HomeAssistant,
    bed: MeshTestbed,
    virtual_proxy: VirtualProxy,
    hass_ws_client: Any,
) -> None:
    proxy_node, gone, other = await _network(hass, bed)
    network = bed.runtime.network
    old_net_key, old_app_key = network.net_keys[0].key, network.app_keys[0].key
    gone_address = gone.unicast_address
    device_id = bed.device(gone).id

    # What the user does: delete the device in the UI (the websocket command behind it).
    response = await bed.async_delete_device_in_ui(hass_ws_client, device_id)
    assert response["success"], response

    # The node got Config Node Reset: unprovisioned, advertising the provisioning service.
    assert not gone.is_provisioned
    assert dr.async_get(hass).async_get(device_id) is None
    assert network.node_by_address(gone_address or 0) is None
    assert gone_address in network.excluded_addresses()

    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    new_net_key, new_app_key = network.net_keys[0].key, network.app_keys[0].key
    assert new_net_key != old_net_key
    assert new_app_key != old_app_key
    for node in (proxy_node, other):
        _assert_has_network_keys(node, network)
    stored = bed.saved_network()
    assert stored.net_keys[0].key == new_net_key
    assert stored.net_keys[0].old_key is None
    assert stored.app_keys[0].old_key is None
    assert all(not k.updated for n in stored.nodes for k in (*n.net_keys, *n.app_keys))

    # The lights still work, with the new keys...
    address = other.unicast_address
    assert address is not None
    status = await bed.runtime.async_send(
        address,
        gen.GenericOnOffSet(True, bed.runtime.next_tid(address)),
        expect=gen.GenericOnOffStatus,
    )
    assert isinstance(status, gen.GenericOnOffStatus)
    # ... and what Home Assistant sends now is opaque to the removed node's old NetKey.
    sent = _network_pdus_to(virtual_proxy, proxy_node)[-1]
    iv = IvIndexState(iv_index=bed.iv_index)
    old_ring = NetworkKeyring()
    old_ring.add(0, old_net_key)
    with pytest.raises(MeshError):
        decrypt_with_keyring(sent, old_ring, iv)
    new_ring = NetworkKeyring()
    new_ring.add(0, new_net_key)
    assert decrypt_with_keyring(sent, new_ring, iv).pdu.dst == address


async def test_unreachable_node_holds_the_refresh_with_a_repair_issue(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    proxy_node, gone, late = await _network(hass, bed)
    network = bed.runtime.network
    late.faults.stop_answering = True
    clock = TimeMachine(hass)

    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    assert not gone.is_provisioned
    issue_id = f"key_refresh_stuck_{bed.runtime.entry_id}"
    registry = ir.async_get(hass)
    await clock.advance(20)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "key_refresh_stuck"
    assert late.name in issue.translation_placeholders["nodes"]
    assert issue.translation_placeholders["phase"] == "1"
    # The refresh waits in phase 1: Home Assistant still transmits with the old keys.
    net_key = network.net_keys[0]
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION
    assert net_key.old_key is not None
    assert bed.stored_node(proxy_node).net_keys[0].updated
    assert not bed.stored_node(late).net_keys[0].updated
    assert bed.runtime.diagnostics()["refresh_waiting_for"] == [f"{late.unicast_address:04X}"]

    late.faults.stop_answering = False
    await clock.advance(35, step=5)
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    for node in (proxy_node, late):
        _assert_has_network_keys(node, network)


async def test_a_device_added_while_the_refresh_waits_in_phase_1_works_at_once(
    hass: HomeAssistant, bed: MeshTestbed, add_virtual_peripheral: AddPeripheral
) -> None:
    """It gets the keys the network transmits with (the old ones), then the new ones."""
    proxy_node, gone, late = await _network(hass, bed)
    network = bed.runtime.network
    late.faults.stop_answering = True
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    net_key = network.net_keys[0]
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION  # waits for `late`
    old_net_key, old_app_key = net_key.old_key, network.app_keys[0].old_key
    assert old_net_key is not None
    assert old_app_key is not None

    new = SimulatedNode("dimmable", name="New Lamp", rssi=-90)
    new.schedule = asyncio.get_running_loop().call_later
    new.clock = bed.proxy.clock
    bed.air.join(new)
    flow_id, _ = await discover(hass, add_virtual_peripheral, new)
    await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["reason"] == "provisioned"
    # Configured through the mesh at once, in phase 1, with the old keys; then the refresh
    # gave it the new ones, as it did to the other nodes that answer.
    await until(hass, lambda: bed.stored_node(new).config_complete, "configured")
    await clock.advance(35, step=5)
    net, new_key, phase, app = _node_keys(new)
    assert (net, new_key, phase) == (old_net_key, net_key.key, KeyRefreshPhase.KEY_DISTRIBUTION)
    assert app == old_app_key
    assert new.models is not None
    assert new.models.app_key_records[0][2] == network.app_keys[0].key
    assert bed.stored_node(new).net_keys[0].updated

    late.faults.stop_answering = False
    await clock.advance(35, step=5)
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    for node in (proxy_node, late, new):
        _assert_has_network_keys(node, network)


async def test_a_device_gets_the_keys_of_when_they_are_sent_not_of_when_its_dialog_began(
    hass: HomeAssistant, bed: MeshTestbed, add_virtual_peripheral: AddPeripheral
) -> None:
    """The dialog opens (its attempt starts) while the refresh waits in phase 1; the refresh
    reaches phase 2 before the device is given its keys: it gets the new ones and works.

    (Found in the browser suite: a device added again while another removal's refresh moved
    on got the keys of the moment its dialog began, which the network no longer used.)
    """
    _proxy_node, gone, late = await _network(hass, bed)
    network = bed.runtime.network
    late.faults.stop_answering = True
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    net_key = network.net_keys[0]
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION  # waits for `late`

    new = SimulatedNode("dimmable", name="New Lamp", rssi=-90)
    new.schedule = asyncio.get_running_loop().call_later
    new.clock = bed.proxy.clock
    bed.air.join(new)
    flow_id, _ = await discover(hass, add_virtual_peripheral, new)  # its attempt: phase 1
    late.faults.stop_answering = False
    await clock.advance(30, step=5)
    assert net_key.phase == KeyRefreshPhase.USING_NEW_KEYS or _refresh_done(bed)
    await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["reason"] == "provisioned"
    assert new.models is not None
    given = new.models.net_keys.get(0)
    assert net_key.key in (given.key, given.new_key)  # what the network transmits with now
    await until(hass, lambda: bed.stored_node(new).config_complete, "configured")
    await clock.advance(35, step=5)
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    _assert_has_network_keys(new, network)


async def test_interrupted_refresh_resumes_after_a_restart(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    proxy_node, gone, late = await _network(hass, bed)
    late.faults.stop_answering = True
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    await bed.async_unload()  # Home Assistant restarts in the middle of phase 1

    stored = bed.saved_network()
    assert stored.net_keys[0].phase == KeyRefreshPhase.KEY_DISTRIBUTION
    assert stored.net_keys[0].old_key is not None
    assert stored.app_keys[0].old_key is not None
    assert stored.node_by_uuid(bed.stored_node(proxy_node).uuid).net_keys[0].updated  # type: ignore[union-attr]
    # The proxy node holds both keys, the silent one only the old keys.
    assert _node_keys(proxy_node)[1] == stored.net_keys[0].key
    assert _node_keys(late)[1] is None

    late.faults.stop_answering = False
    await bed.async_setup()
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    network = bed.runtime.network
    assert network.net_keys[0].key == stored.net_keys[0].key  # the same new keys, resumed
    for node in (proxy_node, late):
        _assert_has_network_keys(node, network)


async def test_refresh_interrupted_in_phase_2_resumes(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """A node falls silent after switching to the new keys; the revocation waits for it."""
    proxy_node, gone, late = await _network(hass, bed)
    receive = late.air_receive

    def receive_then_fall_silent(
        data: bytes, now: float | None = None, *, beacon: bool = False
    ) -> None:
        receive(data, now, beacon=beacon)
        if (
            late.models is not None
            and late.models.net_keys.get(0).phase == KeyRefreshPhase.USING_NEW_KEYS
        ):
            late.faults.stop_answering = True

    late.air_receive = receive_then_fall_silent  # type: ignore[method-assign]
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"key_refresh_stuck_{bed.runtime.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders["phase"] == "3"
    await bed.async_unload()
    stored = bed.saved_network()
    assert stored.net_keys[0].phase == KeyRefreshPhase.USING_NEW_KEYS
    # The proxy node has revoked its old keys already; the silent node has not.
    assert _node_keys(proxy_node)[2] == KeyRefreshPhase.NORMAL
    assert _node_keys(late)[2] == KeyRefreshPhase.USING_NEW_KEYS

    late.air_receive = receive  # type: ignore[method-assign]
    late.faults.stop_answering = False
    await bed.async_setup()
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    for node in (proxy_node, late):
        _assert_has_network_keys(node, bed.runtime.network)


async def test_node_out_of_reach_is_removed_anyway(
    hass: HomeAssistant, bed: MeshTestbed, caplog: pytest.LogCaptureFixture
) -> None:
    proxy_node, gone, other = await _network(hass, bed)
    gone.faults.stop_answering = True
    caplog.set_level(logging.INFO, logger="custom_components.ble_mesh")
    clock = TimeMachine(hass)
    record = bed.stored_node(gone)
    task = hass.async_create_background_task(bed.runtime.nodes.async_remove_node(record), "remove")
    await clock.advance(10)
    removal = await task
    assert not removal.reset
    assert removal.key_refresh
    assert "could not be reset" in caplog.text
    assert gone.is_provisioned  # it never heard the reset ...
    assert bed.runtime.network.node_by_uuid(record.uuid) is None
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
    # ... but what it holds is worthless now.
    assert _node_keys(gone)[0] != bed.runtime.network.net_keys[0].key
    for node in (proxy_node, other):
        _assert_has_network_keys(node, bed.runtime.network)
    # Not only in the log: a repair asks to reset it by hand, and goes once that is confirmed.
    issue_id = node_not_reset_issue(bed.runtime.entry_id, record)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "node_not_reset"
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "name": gone.name,
        "address": f"{record.unicast_address:04X}",
        "network": "Home mesh",
    }
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["name"] == gone.name
    done = await manager.async_configure(flow["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_deleting_a_device_of_a_network_not_loaded_says_why(
    hass: HomeAssistant, bed: MeshTestbed, hass_ws_client: Any
) -> None:
    """The device page shows the raised message; a refusal returned as False would read
    "Failed to remove device entry, rejected by integration"."""
    (node,) = [bed.provision("dimmable")]
    bed.add(node)
    await bed.async_setup()
    device_id = bed.device(node).id
    await bed.async_unload()
    response = await bed.async_delete_device_in_ui(hass_ws_client, device_id)
    assert not response["success"]
    error = response["error"]
    assert error.get("translation_key", "device_removal_not_loaded") == "device_removal_not_loaded"
    assert error["message"].startswith(  # (newer releases drop the final full stop)
        "Mesh network Home mesh is not loaded, so its device cannot be reset and removed now. "
        "Try again once the network is running"
    )
    assert dr.async_get(hass).async_get(device_id) is not None


# --- removing a device from the options: what will happen, progress, what happened ----------


async def _follow(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any] | None, seconds: int = 0
) -> tuple[Any, list[tuple[str, str]]]:
    """Submit, then follow the progress steps (firing ``seconds`` of timers at each, without
    waiting for the flow's task, which waits for them); return the result and the progress
    steps shown as (step, action)."""
    result = await hass.config_entries.options.async_configure(flow_id, user_input)
    shown: list[tuple[str, str]] = []
    elapsed = 0
    for _ in range(20):
        if result["type"] is FlowResultType.SHOW_PROGRESS:
            shown.append((result["step_id"], result["progress_action"]))
            for _second in range(seconds):
                elapsed += 1
                async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=elapsed))
                for _ in range(10):
                    await asyncio.sleep(0)
            await hass.async_block_till_done()
        elif result["type"] is not FlowResultType.SHOW_PROGRESS_DONE:
            return result, shown
        result = await hass.config_entries.options.async_configure(flow_id)
    raise AssertionError(f"flow stuck in progress: {result}")


async def _remove_node_form(hass: HomeAssistant, bed: MeshTestbed) -> Any:
    assert bed.entry is not None
    menu = await hass.config_entries.options.async_init(bed.entry.entry_id)
    assert "remove_node" in menu["menu_options"]
    return await hass.config_entries.options.async_configure(
        menu["flow_id"], {"next_step_id": "remove_node"}
    )


async def _pick(hass: HomeAssistant, form: Any, node: SimulatedNode, bed: MeshTestbed) -> Any:
    """Choose the device; the confirmation comes next."""
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"node": bed.stored_node(node).uuid.hex}
    )
    assert result["step_id"] == "remove_node_confirm"
    return result


async def test_remove_a_device_from_the_options(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    proxy_node, gone, other = await _network(hass, bed)
    form = await _remove_node_form(hass, bed)
    assert form["step_id"] == "remove_node"
    assert form["last_step"] is False  # Next, not Submit: nothing happens yet
    (selector,) = form["data_schema"].schema.values()
    labels = [option["label"] for option in selector.config["options"]]
    assert labels == [
        f"{n.name} ({bed.stored_node(n).unicast_address:04X})" for n in (proxy_node, gone, other)
    ]
    record = bed.stored_node(gone)
    device_id = bed.device(gone).id
    # Like the demo's lights, it advertises as unprovisioned the moment it is reset (while
    # Home Assistant still has it in the network, which refuses that discovery).
    gone.on_reset = lambda node: virtual_proxy.advertise_now(node.address)
    # Before: what removing this device does, for this network and its other nodes.
    confirm = await _pick(hass, form, gone, bed)
    assert confirm["description_placeholders"] == {
        "name": gone.name,
        "network": "Home mesh",
        "others": "2",
    }
    assert gone.is_provisioned  # nothing happened yet

    result, shown = await _follow(hass, form["flow_id"], {})
    # While: the reset, then the key refresh, each with its own text.
    assert shown == [("removing", "remove_node"), ("removing", "key_refresh")]
    # After: what happened, with a title (a form without fields, not an abort).
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "node_removed"
    assert result["description_placeholders"] == {"name": gone.name, "count": "2"}
    assert not gone.is_provisioned
    assert _refresh_done(bed)
    assert bed.runtime.network.node_by_uuid(record.uuid) is None
    assert dr.async_get(hass).async_get(device_id) is None
    for node in (proxy_node, other):
        _assert_has_network_keys(node, bed.runtime.network)
    # As the result says, it can be added again: it is offered under Discovered.
    await hass.async_block_till_done()
    assert flow_for(hass, gone)["step_id"] == "bluetooth_confirm"
    done = await hass.config_entries.options.async_configure(form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("gone_answers", "late_answers", "step_id"),
    [
        (False, True, "node_removed_not_reset"),
        (True, False, "node_removed_keys_pending"),
        (False, False, "node_removed_not_reset_keys_pending"),
    ],
)
async def test_remove_a_device_when_nodes_do_not_answer(
    hass: HomeAssistant, bed: MeshTestbed, gone_answers: bool, late_answers: bool, step_id: str
) -> None:
    """The result says whether the device was reset and which nodes miss the new keys; the
    repairs say it too, for as long as it matters."""
    _proxy_node, gone, late = await _network(hass, bed)
    gone.faults.stop_answering = not gone_answers
    late.faults.stop_answering = not late_answers
    form = await _remove_node_form(hass, bed)
    record = bed.stored_node(gone)
    late_record = bed.stored_node(late)
    await _pick(hass, form, gone, bed)
    result, shown = await _follow(hass, form["flow_id"], {}, seconds=30)
    assert shown == [("removing", "remove_node"), ("removing", "key_refresh")]
    assert result["step_id"] == step_id
    expected = {"name": gone.name}
    if late_answers:
        expected["count"] = "2"
    else:
        expected["nodes"] = f"{late.name} ({late_record.unicast_address:04X})"
    assert result["description_placeholders"] == expected
    registry = ir.async_get(hass)
    not_reset = node_not_reset_issue(bed.runtime.entry_id, record)
    assert (registry.async_get_issue(DOMAIN, not_reset) is None) is gone_answers
    stuck = f"key_refresh_stuck_{bed.runtime.entry_id}"
    assert (registry.async_get_issue(DOMAIN, stuck) is None) is late_answers
    assert gone.is_provisioned is not gone_answers
    assert bed.runtime.network.node_by_uuid(record.uuid) is None
    done = await hass.config_entries.options.async_configure(form["flow_id"], {})
    assert done["type"] is FlowResultType.CREATE_ENTRY


async def test_remove_a_device_while_disconnected(
    hass: HomeAssistant, bed: MeshTestbed, virtual_proxy: VirtualProxy
) -> None:
    """No proxy node: removed without a reset; the refresh waits for every other node."""
    nodes = await _network(hass, bed)
    form = await _remove_node_form(hass, bed)
    await _pick(hass, form, nodes[1], bed)
    for node in nodes:
        virtual_proxy.set_unreachable(node.address, True)
        virtual_proxy.drop_connection(node.address)
    await until(hass, lambda: not bed.runtime.connected, "disconnected")
    result, _shown = await _follow(hass, form["flow_id"], {})
    assert result["step_id"] == "node_removed_not_reset_keys_pending"
    waiting = [bed.stored_node(n) for n in (nodes[0], nodes[2])]
    assert result["description_placeholders"]["nodes"] == ", ".join(
        f"{n.name} ({n.unicast_address:04X})" for n in waiting
    )


async def test_remove_a_device_that_went_meanwhile(hass: HomeAssistant, bed: MeshTestbed) -> None:
    _proxy_node, gone, other = await _network(hass, bed)
    form = await _remove_node_form(hass, bed)
    record = bed.stored_node(gone)
    await bed.runtime.nodes.async_remove_node(record)
    result = await hass.config_entries.options.async_configure(
        form["flow_id"], {"node": record.uuid.hex}
    )
    assert result["step_id"] == "remove_node"
    assert result["errors"] == {"node": "node_gone"}
    # Gone between the choice and the confirmation: back to the choice, saying so.
    await _pick(hass, result, other, bed)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(other))
    result = await hass.config_entries.options.async_configure(form["flow_id"], {})
    assert result["step_id"] == "remove_node"
    assert result["errors"] == {"node": "node_gone"}


async def test_removing_a_node_that_holds_the_new_keys_owes_another_refresh(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    proxy_node, first, second = await _network(hass, bed)
    network = bed.runtime.network
    old_key = network.net_keys[0].key
    second.faults.stop_answering = True  # holds the refresh in phase 1
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(first))
    await clock.advance(20)
    first_new_key = network.net_keys[0].key
    assert bed.stored_node(proxy_node).net_keys[0].updated
    # The proxy node received the new keys, and is removed now: they are compromised.
    second.faults.stop_answering = False
    assert bed.runtime.network.extension is not None
    task = hass.async_create_background_task(
        bed.runtime.nodes.async_remove_node(bed.stored_node(proxy_node)), "remove"
    )
    await clock.advance(10)
    await task
    assert network.extension is not None
    assert network.extension.key_refresh_pending or _refresh_done(bed)
    await clock.advance(35, step=5)

    def done() -> bool:
        ext = network.extension
        return _refresh_done(bed) and ext is not None and not ext.key_refresh_pending

    await until(hass, done, "both refreshes complete")
    assert network.net_keys[0].key not in (old_key, first_new_key)
    _assert_has_network_keys(second, network)


async def test_leftover_device_without_a_node_is_simply_removed(
    hass: HomeAssistant, bed: MeshTestbed, hass_ws_client: Any
) -> None:
    (node,) = [bed.provision("dimmable")]
    bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured")
    registry = dr.async_get(hass)
    leftover = registry.async_get_or_create(
        config_entry_id=bed.runtime.entry_id, identifiers={(DOMAIN, "gone-long-ago")}
    )
    keys_before = bed.runtime.network.net_keys[0].key
    response = await bed.async_delete_device_in_ui(hass_ws_client, leftover.id)
    assert response["success"], response
    assert registry.async_get(leftover.id) is None
    # Nothing left the network: no key refresh.
    assert node.is_provisioned
    assert bed.runtime.network.net_keys[0].key == keys_before
    assert bed.runtime.network.net_keys[0].old_key is None


async def test_the_switch_to_the_new_keys_waits_for_a_device_being_provisioned(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """A device being provisioned holds a reserved range and may have been given the keys the
    network transmits with (the old ones, in phase 1). Switching to the new keys before it
    is recorded cut it off (found by the browser suite: it was Home Assistant's next proxy
    node, and every node "did not answer" phase 2). The switch waits for it."""
    _proxy_node, gone, late = await _network(hass, bed)
    network = bed.runtime.network
    store = bed.runtime.store
    late.faults.stop_answering = True
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    net_key = network.net_keys[0]
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION  # waits for `late`
    reservation = await store.async_reserve_unicast(1, iv_index=bed.iv_index)  # a dialog
    store.old_keys_given(reservation)  # its Provisioning Data went out with the old keys

    late.faults.stop_answering = False
    await clock.advance(35, step=5)
    assert distributed(network, net_key)  # every node has the new keys, yet:
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION

    await store.async_release(reservation)  # the dialog ended
    await clock.advance(35, step=5)
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")


async def test_a_dialog_left_open_holds_the_switch_no_longer_than_a_session_lives(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """A device sent the old keys whose dialog is never finished nor closed: its session
    ended by its protocol timer long ago; the refresh goes on after OLD_KEYS_LIMIT."""
    _proxy_node, gone, late = await _network(hass, bed)
    network = bed.runtime.network
    store = bed.runtime.store
    late.faults.stop_answering = True
    clock = TimeMachine(hass)
    await bed.runtime.nodes.async_remove_node(bed.stored_node(gone))
    await clock.advance(20)
    net_key = network.net_keys[0]
    store.old_keys_given(await store.async_reserve_unicast(1, iv_index=bed.iv_index))
    late.faults.stop_answering = False
    await clock.advance(35, step=5)
    assert net_key.phase == KeyRefreshPhase.KEY_DISTRIBUTION  # held for the device
    await clock.advance(OLD_KEYS_LIMIT, step=5)
    await until(hass, lambda: _refresh_done(bed), "key refresh complete")
