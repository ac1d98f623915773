"""What the integration's page offers to add, as nodes come and go (discovery.py).

- A removed node (its device deleted, or the ``reset_node`` action) is offered again at once:
  Home Assistant's Bluetooth matcher alone would show nothing new for its address.
- A node reset by hand that advertises as new is offered again in place of its record: the
  record is replaced only once the device is provisioned again; a failed attempt changes
  nothing; the device in Home Assistant stays, with new entities for its new addresses.
- A device offered before the network that has it as a node was loaded stops being offered
  when it loads (the page's list follows without a reload); if it was reset by hand it is
  offered again, in place of its record.

Everything runs through Home Assistant's Bluetooth stack, the virtual proxy and simulated
lights; nothing of ours is mocked.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.devices import element_unique_id
from simulator.node import OobCapabilities, SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .flows import configure, discover, flow_for
from .mesh_testbed import MeshTestbed, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")

STATIC = bytes(range(1, 17))
NEW_ADDRESS = "02:11:22:33:44:55"
"""Where a light reset by hand comes back: a new random static address, as many do."""


def _offers(hass: HomeAssistant, node: SimulatedNode) -> list[dict[str, Any]]:
    return [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"]["source"] == SOURCE_BLUETOOTH
        and f["context"].get("unique_id") == node.device_uuid.hex()
    ]


async def _add_with_no_oob(hass: HomeAssistant, flow_id: str) -> dict[str, Any]:
    """From the method step: No OOB, confirmed."""
    result = await configure(hass, flow_id, {"method": "no_oob"})
    assert result["step_id"] == "no_oob_warning", result
    return await configure(hass, flow_id, {})


async def _configured_light(hass: HomeAssistant, bed: MeshTestbed, node: SimulatedNode) -> str:
    """Wait until ``node`` is configured; its light entity's id."""
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured")
    address = bed.stored_node(node).unicast_address
    unique_id = element_unique_id(bed.mesh_uuid, address)
    await until(
        hass,
        lambda: er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id) is not None,
        "light entity",
    )
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id)
    assert entity_id is not None
    return entity_id


def _reset_by_hand(bed: MeshTestbed, node: SimulatedNode, **options: Any) -> SimulatedNode:
    """The light forgets its network and comes back unprovisioned at a new address."""
    bed.proxy.remove(node.address)
    bed.air.leave(node)
    node.cancel_timers()
    return SimulatedNode(
        node.profile.key, device_uuid=node.device_uuid, address=NEW_ADDRESS, **options
    )


@pytest.mark.parametrize("how", ["delete_device", "reset_node_action"])
async def test_a_removed_light_is_offered_again_at_once(
    hass: HomeAssistant,
    bed: MeshTestbed,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
    hass_ws_client: Any,
    how: str,
) -> None:
    await bed.async_setup()  # a network with no node yet
    node = SimulatedNode("dimmable")
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    assert (await _add_with_no_oob(hass, flow_id))["reason"] == "provisioned"
    virtual_proxy.advertise_now(node.address)  # its Mesh Proxy service, with our Network ID
    await _configured_light(hass, bed, node)
    old_address = bed.stored_node(node).unicast_address
    device_id = bed.device(node).id

    if how == "delete_device":
        response = await bed.async_delete_device_in_ui(hass_ws_client, device_id)
        assert response["success"], response
    else:
        await hass.services.async_call(
            DOMAIN, "reset_node", {"device_id": device_id}, blocking=True
        )
    await hass.async_block_till_done()
    assert not node.is_provisioned  # Config Node Reset reached it
    assert bed.runtime.network.node_by_uuid(node.device_uuid.hex()) is None

    # No time passed and the light advertised nothing new: its card is back all the same.
    flow = flow_for(hass, node)
    assert flow["step_id"] == "bluetooth_confirm"
    result = await configure(hass, flow["flow_id"], {})
    assert result["step_id"] == "method"
    result = await _add_with_no_oob(hass, flow["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "provisioned"
    again = bed.stored_node(node)
    # A new node: its old addresses stay excluded until the IV Index moves on.
    assert again.unicast_address != old_address
    assert old_address in bed.runtime.network.excluded_addresses()
    # Home Assistant brings back the deleted device (same identifier) for the new node.
    assert bed.device(node).id == device_id
    assert not _offers(hass, node)


async def test_a_light_reset_by_hand_is_offered_again_in_place_of_its_node(
    hass: HomeAssistant, bed: MeshTestbed, add_virtual_peripheral: AddPeripheral
) -> None:
    node = bed.provision("dimmable")
    bed.add(node)
    await bed.async_setup()
    old_entity = await _configured_light(hass, bed, node)
    record = bed.stored_node(node)
    old_address = record.unicast_address
    device = bed.device(node)

    again = _reset_by_hand(bed, node)
    await add_virtual_peripheral(again)
    (offer,) = _offers(hass, again)
    assert offer["step_id"] == "bluetooth_readd"
    assert offer["context"]["title_placeholders"] == {"name": record.name}
    # Opening the card shows the offer with the node it replaces.
    result = await hass.config_entries.flow.async_configure(offer["flow_id"])
    assert result["step_id"] == "bluetooth_readd"
    assert result["description_placeholders"]["network"] == "Home mesh"
    assert result["description_placeholders"]["address"] == f"{old_address:04X}"

    result = await configure(hass, offer["flow_id"], {})
    assert result["step_id"] == "method"
    assert bed.stored_node(node) is record  # nothing changes before it is provisioned
    result = await _add_with_no_oob(hass, offer["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "provisioned"

    network = bed.runtime.network
    replaced = [n for n in network.nodes if n.uuid == record.uuid]
    assert len(replaced) == 1
    new = replaced[0]
    assert new is not record
    assert new.unicast_address != old_address
    assert new.name == record.name
    assert old_address in network.excluded_addresses()
    assert not network.reserved_addresses()
    saved = bed.saved_network().node_by_uuid(record.uuid)
    assert saved is not None
    assert saved.unicast_address == new.unicast_address
    # Same device; the old address's entity went, the new address gets one once configured.
    assert bed.device(again).id == device.id
    assert er.async_get(hass).async_get(old_entity) is None
    assert hass.states.get(old_entity) is None
    bed.proxy.advertise_now(again.address)
    new_entity = await _configured_light(hass, bed, again)
    entry = er.async_get(hass).async_get(new_entity)
    assert entry is not None
    assert entry.device_id == device.id
    assert not _offers(hass, again)


async def test_a_failed_attempt_to_add_a_node_again_changes_nothing(
    hass: HomeAssistant, bed: MeshTestbed, add_virtual_peripheral: AddPeripheral
) -> None:
    oob = OobCapabilities(static_oob=STATIC)
    node = bed.provision(node=SimulatedNode("dimmable", oob=oob))
    bed.add(node)
    await bed.async_setup()
    old_entity = await _configured_light(hass, bed, node)
    record = bed.stored_node(node)
    before = record.to_json()

    again = _reset_by_hand(bed, node, oob=oob)
    await add_virtual_peripheral(again)
    (offer,) = _offers(hass, again)
    flow_id = offer["flow_id"]
    await configure(hass, flow_id, {})
    result = await configure(hass, flow_id, {"method": "static_oob"})
    assert result["step_id"] == "oob_data"
    result = await configure(hass, flow_id, {"oob_text": bytes(16).hex()})  # the wrong value
    assert result["step_id"] == "failed", result
    assert result["errors"] == {"base": "confirmation_failed"}

    network = bed.runtime.network
    assert network.node_by_uuid(record.uuid) is record
    assert record.to_json() == before
    assert not network.reserved_addresses()  # the range held for the attempt is free again
    saved = bed.saved_network()
    assert saved.node_by_uuid(record.uuid) is not None
    assert saved.node_by_uuid(record.uuid).to_json() == before  # type: ignore[union-attr]
    assert not saved.reserved_addresses()
    assert er.async_get(hass).async_get(old_entity) is not None

    # Trying again (the method is kept: only the value is asked again) with the light's
    # value replaces the record.
    result = await configure(hass, flow_id, {})
    assert result["step_id"] == "oob_data"
    result = await configure(hass, flow_id, {"oob_text": STATIC.hex()})
    assert result["reason"] == "provisioned", result
    assert network.node_by_uuid(record.uuid) is not record


async def test_an_offer_to_add_a_node_again_becomes_a_plain_offer_once_it_is_removed(
    hass: HomeAssistant, bed: MeshTestbed, add_virtual_peripheral: AddPeripheral
) -> None:
    node = bed.provision("dimmable")
    bed.add(node)
    await bed.async_setup()
    await _configured_light(hass, bed, node)
    device_id = bed.device(node).id
    again = _reset_by_hand(bed, node)
    await add_virtual_peripheral(again)
    (offer,) = _offers(hass, again)
    assert offer["step_id"] == "bluetooth_readd"

    # The person deletes the old node instead (it is out of reach: removed all the same).
    await hass.services.async_call(DOMAIN, "reset_node", {"device_id": device_id}, blocking=True)
    result = await hass.config_entries.flow.async_configure(offer["flow_id"])
    assert result["step_id"] == "bluetooth_confirm"
    result = await configure(hass, offer["flow_id"], {})
    result = await _add_with_no_oob(hass, offer["flow_id"])
    assert result["reason"] == "provisioned"


@pytest.mark.parametrize("reset_by_hand", [False, True], ids=["provisioned", "reset_by_hand"])
async def test_offers_of_nodes_end_when_their_network_loads(
    hass: HomeAssistant,
    bed: MeshTestbed,
    add_virtual_peripheral: AddPeripheral,
    reset_by_hand: bool,
) -> None:
    """Seen unprovisioned before the network that has them was loaded (here: a network whose
    nodes another provisioner added), they were offered as new devices."""
    node = SimulatedNode("dimmable")
    stranger = SimulatedNode("onoff_plug")
    for device in (node, stranger):
        await add_virtual_peripheral(device)
        assert flow_for(hass, device)["step_id"] == "bluetooth_new_network"
    bed.provision(node=node)  # by another provisioner, into the network loaded below
    if reset_by_hand:
        # ... and since reset by hand, still seen at its old address as unprovisioned.
        node.cancel_timers()
        bed.air.leave(node)
        bed.proxy.remove(node.address)
        node = SimulatedNode("dimmable", device_uuid=node.device_uuid, address=node.address)
        bed.proxy.add(node)
    else:
        bed.proxy.advertise_now(node.address)  # its Mesh Proxy service now
    (offer,) = _offers(hass, node)
    removed: list[str] = []
    # Home Assistant 2025.4 has no flow subscription API (its page reloads the list itself).
    subscribe = getattr(hass.config_entries.flow, "async_subscribe_flow", None)
    unsubscribe = (
        subscribe(lambda change, flow_id: removed.append(flow_id) if change == "removed" else None)
        if subscribe is not None
        else None
    )

    await bed.async_setup()
    await hass.async_block_till_done()
    if unsubscribe is not None:
        unsubscribe()
        # The page was told (config_entries/flow/subscribe): its list follows without a reload.
        assert offer["flow_id"] in removed
    assert offer["flow_id"] not in {f["flow_id"] for f in _offers(hass, node)}
    offers = _offers(hass, node)
    if reset_by_hand:
        assert [f["step_id"] for f in offers] == ["bluetooth_readd"]
    else:
        assert offers == []
    assert flow_for(hass, stranger)["flow_id"] not in removed  # not a node: still offered
