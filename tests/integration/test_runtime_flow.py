"""Provisioned through the config flow, then configured by the runtime without user action."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ble_mesh.mesh.models import generic as gen, model_ids as ids
from custom_components.ble_mesh.runtime import MeshRuntime
from simulator.node import SimulatedNode
from simulator.virtual_proxy import VirtualProxy
from tests.simulator_fixtures import AddPeripheral

from .flows import configure, discover
from .mesh_testbed import TimeMachine, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


async def _provision_by_flow(
    hass: HomeAssistant,
    add_virtual_peripheral: AddPeripheral,
    virtual_proxy: VirtualProxy,
    profile: str,
) -> SimulatedNode:
    node = SimulatedNode(profile)
    flow_id, result = await discover(hass, add_virtual_peripheral, node)
    result = await configure(hass, flow_id, {"method": "no_oob"})
    result = await configure(hass, flow_id, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "provisioned"
    # The node now advertises the Mesh Proxy service with our Network ID.
    virtual_proxy.advertise_now(node.address)
    return node


def _record(runtime: MeshRuntime, node: SimulatedNode):  # type: ignore[no-untyped-def]
    return runtime.network.node_by_uuid(node.device_uuid.hex())


async def test_nodes_added_by_the_flow_are_configured_over_their_own_proxy(
    hass: HomeAssistant,
    network_entry: MockConfigEntry,
    virtual_proxy: VirtualProxy,
    add_virtual_peripheral: AddPeripheral,
) -> None:
    runtime: MeshRuntime = network_entry.runtime_data
    assert not runtime.connected  # nothing to connect to yet

    first = await _provision_by_flow(hass, add_virtual_peripheral, virtual_proxy, "dimmable")
    await until(hass, lambda: _record(runtime, first).config_complete, "first configured")
    assert runtime.connected
    assert runtime.proxy_address == first.address

    # A second node: the runtime moves to its proxy service to configure it (the simulated
    # nodes do not relay to each other, so this only works through the new node itself).
    second = await _provision_by_flow(hass, add_virtual_peripheral, virtual_proxy, "ctl")
    clock = TimeMachine(hass)
    for _ in range(20):
        if _record(runtime, second).config_complete:
            break
        await clock.advance(1)
    assert _record(runtime, second).config_complete
    assert runtime.proxy_address == second.address
    models = second.models
    assert models is not None
    assert models.publications[(0, ids.LIGHT_CTL_SERVER)].address == runtime.unicast_address

    address = second.unicast_address
    assert address is not None
    status = await runtime.async_send(
        address, gen.GenericOnOffSet(True, runtime.next_tid(address)), expect=gen.GenericOnOffStatus
    )
    assert isinstance(status, gen.GenericOnOffStatus)
    assert status.present_on
