"""Remote provisioning end to end: a device only a node hears is found, added and configured.

The network's light ``relay`` has a Remote Provisioning Server (MshPRT 1.1 §4.4.5); the new
device is on the simulated air next to it only: Home Assistant's Bluetooth (the virtual proxy)
never sees it. Everything runs through the integration's real path: the scanner asks the
relay to scan, the offer's dialog provisions over PB-Remote (client -proxy- relay -PB-ADV-
device), the runtime configures the new node through the mesh, its light obeys.
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.ble_mesh import remote_scan
from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.entity import element_unique_id
from custom_components.ble_mesh.mesh.database import Security
from custom_components.ble_mesh.mesh.models.remote_provisioning import RemoteProvisioningLinkClose
from custom_components.ble_mesh.mesh.provisioning import PROTOCOL_TIMEOUT_OOB, OutputAction
from simulator.faults import ServerFaults
from simulator.node import OobCapabilities, SimulatedNode

from .flows import STRINGS, configure, configure_options, open_options
from .mesh_testbed import MeshTestbed, TimeMachine, until

STATIC = bytes(range(16))


@pytest.fixture(autouse=True)
def _short_report_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated mesh delivers within the loop's iterations: no need to wait 2 s more."""
    monkeypatch.setattr(remote_scan, "REPORT_MARGIN", 0.2)


async def _network_with_relay(hass: HomeAssistant, bed: MeshTestbed) -> SimulatedNode:
    """A configured light with a Remote Provisioning Server (Home Assistant's proxy node)."""
    relay = bed.provision(node=SimulatedNode("dimmable", rssi=-40, remote_provisioning=True))
    bed.add(relay)
    await bed.async_setup()
    await until(hass, lambda: bed.stored_node(relay).config_complete, "relay configured")
    await hass.async_block_till_done(wait_background_tasks=True)
    return relay


def _far_device(
    hass: HomeAssistant, bed: MeshTestbed, near: SimulatedNode, **kwargs: Any
) -> SimulatedNode:
    """An unprovisioned device on the air next to ``near`` only (no adapter hears it)."""
    device = SimulatedNode("dimmable", **kwargs)
    device.schedule = hass.loop.call_later
    device.clock = bed.proxy.clock
    bed.air.join(device, near=[near])
    bed.nodes.append(device)  # its timers are cancelled with the others' at the end
    bed.air.restrict(near, None)  # near hears everyone (the proxy side), the device too
    return device


def _offers(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def _static_oob(hass: HomeAssistant, flow_id: str) -> dict[str, Any]:
    """Choose static OOB at the method step and give the value: the attempt's result."""
    await configure(hass, flow_id, {"method": "static_oob"})
    return await configure(hass, flow_id, {"oob_text": STATIC.hex()})


async def _scan(bed: MeshTestbed) -> list[remote_scan.RemoteDevice]:
    return await bed.runtime.remote_scanner.async_scan(seconds=1)


async def _wait_configured(hass: HomeAssistant, bed: MeshTestbed, device: SimulatedNode) -> None:
    for _ in range(100):
        if device.is_provisioned and bed.stored_node(device).config_complete:
            return
        await hass.async_block_till_done()
        await asyncio.sleep(0.05)
    raise AssertionError("the remote node was never configured")


async def test_a_device_only_a_node_hears_is_offered_added_and_obeys(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    relay = await _network_with_relay(hass, bed)
    device = _far_device(
        hass, bed, relay, oob=OobCapabilities(static_oob=STATIC), name="Garage Light"
    )

    found = await _scan(bed)
    assert [d.device_uuid.bytes for d in found] == [device.device_uuid]
    assert found[0].server == bed.stored_node(relay).unicast_address
    (offer,) = _offers(hass)
    assert offer["step_id"] == "remote_confirm"
    # Named as it names itself (its Complete Local Name, through the relay's Extended Scan).
    assert offer["context"]["title_placeholders"]["name"] == device.name == "Garage Light"

    result = await configure(hass, offer["flow_id"], {})
    assert result["step_id"] == "method", result
    result = await configure(hass, offer["flow_id"], {"method": "static_oob"})
    assert result["step_id"] == "oob_data"
    result = await configure(hass, offer["flow_id"], {"oob_text": STATIC.hex()})
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "provisioned"
    stored = bed.runtime.network.node_by_uuid(device.device_uuid.hex())
    assert stored is not None
    assert stored.security is Security.SECURE

    await _wait_configured(hass, bed, device)
    unique_id = element_unique_id(bed.mesh_uuid, stored.unicast_address)
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id)
    assert entity_id is not None
    await hass.services.async_call("light", "turn_on", {"entity_id": entity_id}, blocking=True)
    await until(hass, lambda: device.lights[0].on == 1, "the remote light turned on")
    # A second scan offers nothing: the device is a node now.
    assert await _scan(bed) == []
    assert _offers(hass) == []


async def test_output_oob_through_the_relay(hass: HomeAssistant, bed: MeshTestbed) -> None:
    relay = await _network_with_relay(hass, bed)
    device = _far_device(
        hass,
        bed,
        relay,
        oob=OobCapabilities(output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_size=4),
    )
    await _scan(bed)
    (offer,) = _offers(hass)
    flow_id = offer["flow_id"]
    await configure(hass, flow_id, {})
    result = await configure(hass, flow_id, {"method": "output_oob"})
    assert result["step_id"] == "output_oob_number", result
    assert device.shown_oob_value is not None
    result = await configure(hass, flow_id, {"value": str(device.shown_oob_value)})
    assert result["reason"] == "provisioned", result
    await _wait_configured(hass, bed, device)


def _nothing_left(bed: MeshTestbed, device: SimulatedNode) -> None:
    """A failed attempt stored no node and holds no address range."""
    network = bed.runtime.network
    assert network.node_by_uuid(device.device_uuid.hex()) is None
    assert network.extension is not None
    assert network.extension.reserved == []
    assert bed.runtime.relay_links == set()


@pytest.mark.parametrize("after", range(6), ids=lambda n: f"after_{n}_pdus")
async def test_a_relay_that_drops_the_link_at_any_step_fails_cleanly_and_a_retry_works(
    hass: HomeAssistant, bed: MeshTestbed, after: int
) -> None:
    """Static OOB sends 6 PDUs through the relay (Invite, Start, Public Key, Confirmation,
    Random, Data): the relay closes the link on each in turn."""
    relay = await _network_with_relay(hass, bed)
    device = _far_device(hass, bed, relay, oob=OobCapabilities(static_oob=STATIC))
    await _scan(bed)
    (offer,) = _offers(hass)
    flow_id = offer["flow_id"]
    relay.faults.remote_provisioning = ServerFaults(close_link_after_pdu=after)
    result = await configure(hass, flow_id, {})
    if after > 0:  # Invite went through: the rest goes with the method and the value
        assert result["step_id"] == "method", result
        result = await _static_oob(hass, flow_id)
    assert result["step_id"] == "failed", result
    assert result["errors"] == {"base": "link_closed"}
    _nothing_left(bed, device)

    relay.faults.remote_provisioning = ServerFaults()
    result = await configure(hass, flow_id, {})  # Try again: the same method and value
    if after == 0:
        result = await _static_oob(hass, flow_id)
    assert result["reason"] == "provisioned", result
    await _wait_configured(hass, bed, device)


async def test_a_relay_that_falls_silent_times_out_cleanly(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The relay stops answering mid-way (it went away): the dialog fails when the client's
    timer runs out (no Outbound Report within 30 s), nothing is stored."""
    relay = await _network_with_relay(hass, bed)
    device = _far_device(hass, bed, relay, oob=OobCapabilities(static_oob=STATIC))
    await _scan(bed)
    (offer,) = _offers(hass)
    flow_id = offer["flow_id"]
    relay.faults.remote_provisioning = ServerFaults(silent_after_pdu=2)
    await configure(hass, flow_id, {})
    await configure(hass, flow_id, {"method": "static_oob"})
    step = hass.async_create_task(configure(hass, flow_id, {"oob_text": STATIC.hex()}))
    clock = TimeMachine(hass)
    for _ in range(40):
        if step.done():
            break
        await clock.advance(1)
    result = step.result()
    assert result["step_id"] == "failed", result
    assert result["errors"] == {"base": "timeout"}
    _nothing_left(bed, device)


async def test_the_device_key_is_refreshed_in_place_and_the_node_still_obeys(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    relay = await _network_with_relay(hass, bed)
    node = bed.stored_node(relay)
    old_key = node.device_key
    device_id = bed.device(relay).id
    await hass.services.async_call(
        DOMAIN, "refresh_device_key", {"device_id": device_id}, blocking=True
    )
    stored = bed.stored_node(relay)
    assert stored.device_key is not None
    assert stored.device_key != old_key
    assert bed.saved_network().node_by_uuid(stored.uuid).device_key == stored.device_key
    await until(hass, lambda: bed.stored_node(relay).config_complete, "configured again")
    # Configuration ran again with the new key: the node answered it.
    unique_id = element_unique_id(bed.mesh_uuid, stored.unicast_address)
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id)
    assert entity_id is not None
    await hass.services.async_call("light", "turn_off", {"entity_id": entity_id}, blocking=True)
    await until(hass, lambda: relay.lights[0].on == 0, "the light turned off")


async def test_a_device_key_refresh_that_fails_keeps_the_old_key(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    relay = await _network_with_relay(hass, bed)
    old_key = bed.stored_node(relay).device_key
    relay.faults.remote_provisioning = ServerFaults(close_link_after_pdu=2)
    with pytest.raises(HomeAssistantError, match="could not be refreshed") as raised:
        await hass.services.async_call(
            DOMAIN, "refresh_device_key", {"device_id": bed.device(relay).id}, blocking=True
        )
    assert bed.stored_node(relay).device_key == old_key
    # The reason in words (the dialog's own text for it), never its key.
    reason = raised.value.translation_placeholders["reason"]
    errors = STRINGS["config"]["error"]
    assert reason in errors.values(), reason
    assert reason not in errors


async def test_search_through_the_mesh_from_the_options(
    hass: HomeAssistant, bed: MeshTestbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_scan, "SCAN_SECONDS", 1)
    relay = await _network_with_relay(hass, bed)
    device = _far_device(hass, bed, relay)
    result = await open_options(hass, bed.entry, "search_remote")
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    for _ in range(100):
        if result["type"] is not FlowResultType.SHOW_PROGRESS:
            break
        await asyncio.sleep(0.05)
        result = await configure_options(hass, result["flow_id"])
    assert result["step_id"] == "remote_found", result
    assert str(device.device_uuid.hex()) in result["description_placeholders"]["devices"].replace(
        "-", ""
    )
    assert len(_offers(hass)) == 1
    result = await configure_options(hass, result["flow_id"], {})  # Finish
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_one_device_at_a_time_per_relay(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """A node has one provisioning link: a second dialog through it fails cleanly (and
    works once the first is done)."""
    relay = await _network_with_relay(hass, bed)
    first = _far_device(hass, bed, relay, oob=OobCapabilities(static_oob=STATIC))
    second = _far_device(hass, bed, relay, oob=OobCapabilities(static_oob=STATIC))
    await _scan(bed)
    offers = {f["context"]["unique_id"]: f["flow_id"] for f in _offers(hass)}
    assert set(offers) == {first.device_uuid.hex(), second.device_uuid.hex()}
    one, two = offers[first.device_uuid.hex()], offers[second.device_uuid.hex()]
    assert (await configure(hass, one, {}))["step_id"] == "method"  # the relay's link is open
    result = await configure(hass, two, {})
    assert result["step_id"] == "failed", result
    # Refused here, the relay not asked: its answer would have reached the first dialog too.
    assert result["errors"] == {"base": "relay_busy"}
    result = await _static_oob(hass, one)
    assert result["reason"] == "provisioned", result
    result = await configure(hass, two, {})  # Try again, now that the relay is free
    assert result["step_id"] == "method", result
    result = await _static_oob(hass, two)
    assert result["reason"] == "provisioned", result
    await _wait_configured(hass, bed, first)
    await _wait_configured(hass, bed, second)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {"uuid": "not a uuid", "server": 2, "oob_information": 0, "entry_id": "x"},
            "not_mesh_device",
        ),
        ({"server": 2}, "not_mesh_device"),
        (
            {"uuid": "00" * 16, "server": 0x7000, "oob_information": 0, "entry_id": None},
            "relay_gone",
        ),
    ],
)
async def test_an_offer_that_makes_no_sense_is_refused(
    hass: HomeAssistant, bed: MeshTestbed, data: dict[str, Any], reason: str
) -> None:
    await _network_with_relay(hass, bed)
    if data.get("entry_id", "") is None:
        data = {**data, "entry_id": bed.entry.entry_id}  # the network, but no such node
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_a_node_reported_by_a_scan_is_not_offered(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    relay = await _network_with_relay(hass, bed)
    node = bed.stored_node(relay)
    data = remote_scan.RemoteDevice(node.uuid, node.unicast_address, -50, 0).discovery_data(
        bed.entry.entry_id
    )
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data
    )
    assert result["reason"] == "already_provisioned"
    # The scanner itself never offers a node, nor a device the adapters hear directly.
    offered = bed.runtime.remote_scanner._new(
        {node.uuid: remote_scan.RemoteDevice(node.uuid, node.unicast_address, -50, 0)}
    )
    assert offered == []


async def test_search_finds_nothing_and_says_so(
    hass: HomeAssistant, bed: MeshTestbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote_scan, "SCAN_SECONDS", 1)
    await _network_with_relay(hass, bed)
    result = await open_options(hass, bed.entry, "search_remote")
    for _ in range(100):
        if result["type"] is not FlowResultType.SHOW_PROGRESS:
            break
        await asyncio.sleep(0.05)
        result = await configure_options(hass, result["flow_id"])
    assert result["step_id"] == "remote_none", result
    result = await configure_options(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_network_without_servers_has_no_search(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    await bed.async_setup_configured("dimmable")
    menu = await hass.config_entries.options.async_init(bed.entry.entry_id)
    assert "search_remote" not in menu["menu_options"]
    assert await bed.runtime.remote_scanner.async_scan(seconds=1) == []


async def test_periodic_scans_take_turns(hass: HomeAssistant, bed: MeshTestbed) -> None:
    """Each periodic round asks at most SERVERS_PER_ROUND servers, the next ones next time."""
    nodes = [
        bed.provision(node=SimulatedNode("dimmable", rssi=-40 - i, remote_provisioning=True))
        for i in range(remote_scan.SERVERS_PER_ROUND + 1)
    ]
    for node in nodes:
        bed.add(node)
    await bed.async_setup()
    await until(hass, lambda: all(bed.stored_node(n).config_complete for n in nodes), "ready")
    await hass.async_block_till_done(wait_background_tasks=True)
    scanner = bed.runtime.remote_scanner
    first = [n.unicast_address for n in scanner._pick(remote_scan.SERVERS_PER_ROUND)]
    second = [n.unicast_address for n in scanner._pick(remote_scan.SERVERS_PER_ROUND)]
    addresses = [bed.stored_node(n).unicast_address for n in nodes]
    assert first == addresses[: remote_scan.SERVERS_PER_ROUND]
    assert second[0] == addresses[-1]  # the one left out goes first next time
    assert set(first) | set(second) == set(addresses)


async def test_a_node_added_through_the_mesh_gets_a_new_device_key_through_it(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """NPPI to a node Home Assistant reaches only through another: every message is relayed."""
    relay = await _network_with_relay(hass, bed)
    device = _far_device(
        hass, bed, relay, oob=OobCapabilities(static_oob=STATIC), remote_provisioning=True
    )
    await _scan(bed)
    (offer,) = _offers(hass)
    await configure(hass, offer["flow_id"], {})
    result = await _static_oob(hass, offer["flow_id"])
    assert result["reason"] == "provisioned", result
    await _wait_configured(hass, bed, device)
    old_key = bed.stored_node(device).device_key
    await hass.services.async_call(
        DOMAIN,
        "refresh_device_key",
        {"device_id": bed.device(device).id, "static_oob": STATIC.hex()},
        blocking=True,
    )
    assert bed.stored_node(device).device_key != old_key
    await _wait_configured(hass, bed, device)
    unique_id = element_unique_id(bed.mesh_uuid, bed.stored_node(device).unicast_address)
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id)
    assert entity_id is not None
    await hass.services.async_call("light", "turn_on", {"entity_id": entity_id}, blocking=True)
    await until(hass, lambda: device.lights[0].on == 1, "the remote light turned on")


async def test_a_device_without_a_name_is_named_after_its_uuid(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    relay = await _network_with_relay(hass, bed)
    device = _far_device(hass, bed, relay)
    device._name = None
    (found,) = await _scan(bed)
    assert found.name is None
    (offer,) = _offers(hass)
    expected = f"Mesh device {device.device_uuid.hex()[:8].upper()}"
    assert offer["context"]["title_placeholders"]["name"] == expected


async def test_the_link_closes_while_the_person_reads_the_label(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The session ends (its timer) while the OOB form waits: submitting the value then says
    why the attempt failed, not that the value is unreadable; nothing is left behind."""
    relay = await _network_with_relay(hass, bed)
    device = _far_device(hass, bed, relay, oob=OobCapabilities(static_oob=STATIC))
    await _scan(bed)
    (offer,) = _offers(hass)
    flow_id = offer["flow_id"]
    await configure(hass, flow_id, {})
    result = await configure(hass, flow_id, {"method": "static_oob"})
    assert result["step_id"] == "oob_data"
    await TimeMachine(hass).advance(75, step=5)  # the person looks for the label
    result = await configure(hass, flow_id, {"oob_text": STATIC.hex()})
    assert result["step_id"] == "failed", result
    assert result["errors"] == {"base": "timeout"}, result
    _nothing_left(bed, device)


async def test_a_lost_link_close_keeps_the_key_the_node_still_uses(
    hass: HomeAssistant, bed: MeshTestbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node takes the new device key only when our (unacknowledged) Link Close reaches
    it. Lost: the node keeps the old key; Home Assistant asks, finds it, keeps it, and says
    the refresh did not take."""
    relay = await _network_with_relay(hass, bed)
    old_key = bed.stored_node(relay).device_key
    send = bed.runtime.async_send

    async def lossy(dst: int, message: Any, **kwargs: Any) -> Any:
        if isinstance(message, RemoteProvisioningLinkClose):
            return None  # lost on the way
        return await send(dst, message, **kwargs)

    monkeypatch.setattr(bed.runtime, "async_send", lossy)
    call = hass.async_create_task(
        hass.services.async_call(
            DOMAIN, "refresh_device_key", {"device_id": bed.device(relay).id}, blocking=True
        )
    )
    clock = TimeMachine(hass)
    for _ in range(60):
        if call.done():
            break
        await clock.advance(1)
    with pytest.raises(HomeAssistantError, match="did not take its new device key"):
        await call
    assert bed.stored_node(relay).device_key == old_key
    monkeypatch.setattr(bed.runtime, "async_send", send)
    unique_id = element_unique_id(bed.mesh_uuid, bed.stored_node(relay).unicast_address)
    entity_id = er.async_get(hass).async_get_entity_id("light", DOMAIN, unique_id)
    assert entity_id is not None
    await hass.services.async_call("light", "turn_off", {"entity_id": entity_id}, blocking=True)
    await until(hass, lambda: relay.lights[0].on == 0, "the light still obeys")


async def test_the_link_closes_while_the_person_counts_the_output(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    """The same at the Output OOB step: the value typed after the end says why it ended."""
    relay = await _network_with_relay(hass, bed)
    device = _far_device(
        hass,
        bed,
        relay,
        oob=OobCapabilities(output_actions=frozenset({OutputAction.OUTPUT_NUMERIC}), output_size=4),
    )
    await _scan(bed)
    (offer,) = _offers(hass)
    flow_id = offer["flow_id"]
    await configure(hass, flow_id, {})
    result = await configure(hass, flow_id, {"method": "output_oob"})
    assert result["step_id"] == "output_oob_number", result
    await TimeMachine(hass).advance(PROTOCOL_TIMEOUT_OOB + 5, step=5)  # a slow count
    result = await configure(hass, flow_id, {"value": str(device.shown_oob_value)})
    assert result["step_id"] == "failed", result
    assert result["errors"] == {"base": "timeout"}, result
    _nothing_left(bed, device)
