"""The service actions, called the way an automation calls them.

Through Home Assistant's service registry, the virtual proxy and simulated nodes; nothing of
ours is mocked.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.ble_mesh.const import DOMAIN
from custom_components.ble_mesh.mesh.models import model_ids as ids
from custom_components.ble_mesh.mesh.network import KeyRefreshPhase
from custom_components.ble_mesh.services import (
    SERVICE_EXPORT_NETWORK,
    SERVICE_IDENTIFY,
    SERVICE_RECONFIGURE_NODE,
    SERVICE_RESET_NODE,
    SERVICE_START_KEY_REFRESH,
)
from simulator.node import SimulatedNode

from .mesh_testbed import MeshTestbed, TimeMachine, until

pytestmark = pytest.mark.usefixtures("no_connect_backoff")


async def _network(hass: HomeAssistant, bed: MeshTestbed, *profiles: str) -> list[SimulatedNode]:
    nodes = [bed.provision(p, rssi=-40 - 10 * i) for i, p in enumerate(profiles)]
    for node in nodes:
        bed.add(node)
    await bed.async_setup()
    for node in nodes:
        await until(hass, lambda n=node: bed.stored_node(n).config_complete, "configured")
    return nodes


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


async def test_services_are_registered_without_an_entry(hass: HomeAssistant) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, DOMAIN, {})
    for service in (
        SERVICE_RECONFIGURE_NODE,
        SERVICE_RESET_NODE,
        SERVICE_START_KEY_REFRESH,
        SERVICE_EXPORT_NETWORK,
        SERVICE_IDENTIFY,
    ):
        assert hass.services.has_service(DOMAIN, service)


async def test_export_redacts_keys_unless_asked(hass: HomeAssistant, bed: MeshTestbed) -> None:
    await _network(hass, bed, "dimmable")
    network = bed.runtime.network
    secrets = [network.net_keys[0].key, network.app_keys[0].key]
    secrets += [n.device_key for n in network.nodes if n.device_key is not None]
    entry_id = bed.runtime.entry_id

    exported = await _call(
        hass, SERVICE_EXPORT_NETWORK, {"config_entry_id": entry_id}, response=True
    )
    text = json.dumps(exported).upper()
    assert all(key.hex().upper() not in text for key in secrets)
    assert exported["netKeys"][0]["key"] == "**REDACTED**"
    assert exported["meshUUID"].replace("-", "").lower() == bed.mesh_uuid
    assert "x-ble-mesh" not in exported  # Home Assistant's own bookkeeping stays home
    assert {n["unicastAddress"] for n in exported["nodes"]} == {
        f"{n.unicast_address:04X}" for n in network.nodes
    }

    full = await _call(
        hass,
        SERVICE_EXPORT_NETWORK,
        {"config_entry_id": entry_id, "include_keys": True},
        response=True,
    )
    assert full["netKeys"][0]["key"] == network.net_keys[0].key.hex().upper()
    assert full["appKeys"][0]["key"] == network.app_keys[0].key.hex().upper()


async def test_identify_sets_the_attention_timer(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (node,) = await _network(hass, bed, "dimmable")
    await _call(hass, SERVICE_IDENTIFY, {"device_id": bed.device(node).id, "duration": 7})
    models = node.models
    assert models is not None
    assert models.attention_until is not None
    assert 0 in models.bindings[(0, ids.HEALTH_SERVER)]  # bound on first use, and recorded
    health = bed.stored_node(node).elements[0].model(ids.HEALTH_SERVER)
    assert health is not None
    assert 0 in health.bind


async def test_identify_unanswered_raises(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (node,) = await _network(hass, bed, "dimmable")
    node.faults.stop_answering = True
    clock = TimeMachine(hass)
    task = hass.async_create_background_task(
        _call(hass, SERVICE_IDENTIFY, {"device_id": bed.device(node).id}), "identify"
    )
    await clock.advance(20)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "no_response"


async def test_reconfigure_node_runs_the_configuration_again(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await _network(hass, bed, "dimmable")
    models = node.models
    assert models is not None
    models.bindings.clear()  # the node lost its configuration (say, a firmware update)
    models.publications.clear()

    await _call(hass, SERVICE_RECONFIGURE_NODE, {"device_id": bed.device(node).id})
    await until(hass, lambda: bed.stored_node(node).config_complete, "configured again")
    assert 0 in models.bindings[(0, ids.LIGHT_LIGHTNESS_SERVER)]
    assert models.publications[(0, ids.LIGHT_LIGHTNESS_SERVER)].address == (
        bed.runtime.unicast_address
    )


async def test_reset_node_removes_node_and_device(hass: HomeAssistant, bed: MeshTestbed) -> None:
    keep, gone = await _network(hass, bed, "dimmable", "onoff_plug")
    device_id = bed.device(gone).id
    record = bed.stored_node(gone)

    await _call(hass, SERVICE_RESET_NODE, {"device_id": device_id})
    assert not gone.is_provisioned
    assert dr.async_get(hass).async_get(device_id) is None
    assert bed.runtime.network.node_by_uuid(record.uuid) is None
    network = bed.runtime.network
    await until(
        hass,
        lambda: network.net_keys[0].phase == KeyRefreshPhase.NORMAL
        and network.net_keys[0].old_key is None,
        "refreshed",
    )
    models = keep.models
    assert models is not None
    assert models.net_keys.get(0).key == network.net_keys[0].key


async def test_start_key_refresh(hass: HomeAssistant, bed: MeshTestbed) -> None:
    (node,) = await _network(hass, bed, "dimmable")
    network = bed.runtime.network
    old = network.net_keys[0].key
    node.faults.stop_answering = True  # the refresh waits in phase 1
    entry_id = bed.runtime.entry_id

    await _call(hass, SERVICE_START_KEY_REFRESH, {"config_entry_id": entry_id})
    assert network.net_keys[0].old_key == old
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, SERVICE_START_KEY_REFRESH, {"config_entry_id": entry_id})
    assert err.value.translation_key == "key_refresh_in_progress"

    node.faults.stop_answering = False
    clock = TimeMachine(hass)
    await clock.advance(60, step=5)
    await until(hass, lambda: network.net_keys[0].old_key is None, "refreshed")
    models = node.models
    assert models is not None
    assert models.net_keys.get(0).key == network.net_keys[0].key != old


async def test_invalid_targets_raise_translated_errors(
    hass: HomeAssistant, bed: MeshTestbed
) -> None:
    (node,) = await _network(hass, bed, "dimmable")
    device_id = bed.device(node).id
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, SERVICE_IDENTIFY, {"device_id": "no-such-device"})
    assert err.value.translation_key == "invalid_device"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, SERVICE_EXPORT_NETWORK, {"config_entry_id": "nope"}, response=True)
    assert err.value.translation_key == "invalid_config_entry"

    await bed.async_unload()
    assert bed.entry is not None
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass, SERVICE_EXPORT_NETWORK, {"config_entry_id": bed.entry.entry_id}, response=True
        )
    assert err.value.translation_key == "entry_not_loaded"
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, SERVICE_RECONFIGURE_NODE, {"device_id": device_id})
    assert err.value.translation_key == "entry_not_loaded"
