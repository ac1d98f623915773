"""Service actions of the Bluetooth Mesh integration (registered once, in ``async_setup``).

* ``reconfigure_node`` (device_id): run the node's automatic configuration again.
* ``reset_node`` (device_id): Config Node Reset, removal, Key Refresh; the device goes too.
  The same as deleting the device in Home Assistant.
* ``start_key_refresh`` (config_entry_id): replace the network's keys on every node.
* ``export_network`` (config_entry_id, include_keys): the Mesh Configuration Database JSON
  as response data, keys redacted unless asked for.
* ``refresh_device_key`` (device_id, static_oob): a new device key in place through the
  node's own Remote Provisioning Server (NPPI Device Key Refresh), then its composition is
  read again and it is configured again (node_refresh.py).
* ``identify`` (device_id, duration): Health Attention Set, the node blinks or beeps.
* ``scene_store`` / ``scene_recall`` (a group light's entity_id, or config_entry_id for
  every node; scene 1-65535; name / transition): Scene Store / Scene Recall Unacknowledged
  to the group address or to all-nodes 0xFFFF (MshMDL 1.1 §5.2.2): one message, however many
  lights. The scene is recorded in the network database with the elements that store it.

Bad input (an unknown device, a network that is not loaded) raises ServiceValidationError;
a failure in the mesh raises the runtime's HomeAssistantError, both translated.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, ATTR_NAME
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)

from .compat import vol
from .const import APP_KEY_INDEX, CONF_MESH_UUID, DOMAIN
from .devices import is_network_device, node_identifier
from .diagnostics import TO_REDACT
from .groups import all_members, group_unique_id, members
from .mesh.database import SCENE_MAX, SCENE_MIN, Node
from .mesh.models import model_ids as ids
from .mesh.models.common import TRANSITION_SECONDS_MAX, TransitionTime
from .mesh.models.health import HealthAttentionSet, HealthAttentionStatus
from .mesh.models.scenes import SceneRecallUnacknowledged, SceneStoreUnacknowledged
from .node_config import async_ensure_health_bound
from .runtime import MeshConfigEntry, MeshRuntime

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_INCLUDE_KEYS = "include_keys"
ATTR_DURATION = "duration"
ATTR_SCENE = "scene"
ATTR_TRANSITION = "transition"
ATTR_STATIC_OOB = "static_oob"

SERVICE_RECONFIGURE_NODE = "reconfigure_node"
SERVICE_RESET_NODE = "reset_node"
SERVICE_START_KEY_REFRESH = "start_key_refresh"
SERVICE_EXPORT_NETWORK = "export_network"
SERVICE_IDENTIFY = "identify"
SERVICE_REFRESH_DEVICE_KEY = "refresh_device_key"
SERVICE_SCENE_STORE = "scene_store"
SERVICE_SCENE_RECALL = "scene_recall"

ALL_NODES = 0xFFFF  # MshPRT 1.1 §3.4.2.4: the all-nodes fixed group address

# The Attention Timer is one octet of seconds (MshPRT 1.1 §4.2.9 / MshMDL Health Server).
MAX_ATTENTION = 255

DEVICE_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})
ENTRY_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string})
EXPORT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_INCLUDE_KEYS, default=False): cv.boolean,
    }
)
IDENTIFY_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_DURATION, default=10): vol.All(
            vol.Coerce(int), vol.Range(min=0, max=MAX_ATTENTION)
        ),
    }
)

REFRESH_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        # 16 or 32 octets in hex (MshPRT 1.1 §5.4.2.4: the AuthValue size of each algorithm).
        vol.Optional(ATTR_STATIC_OOB): vol.All(
            cv.string, vol.Match(r"^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$"), bytes.fromhex
        ),
    }
)


_SCENE_TARGET = {
    vol.Exclusive(ATTR_ENTITY_ID, "target"): cv.entity_id,
    vol.Exclusive(ATTR_CONFIG_ENTRY_ID, "target"): cv.string,
    vol.Required(ATTR_SCENE): vol.All(vol.Coerce(int), vol.Range(min=SCENE_MIN, max=SCENE_MAX)),
}
SCENE_STORE_SCHEMA = vol.All(
    vol.Schema({**_SCENE_TARGET, vol.Optional(ATTR_NAME): cv.string}),
    cv.has_at_least_one_key(ATTR_ENTITY_ID, ATTR_CONFIG_ENTRY_ID),
)
SCENE_RECALL_SCHEMA = vol.All(
    vol.Schema(
        {
            **_SCENE_TARGET,
            vol.Optional(ATTR_TRANSITION): vol.All(
                vol.Coerce(float), vol.Range(min=0, max=TRANSITION_SECONDS_MAX)
            ),
        }
    ),
    cv.has_at_least_one_key(ATTR_ENTITY_ID, ATTR_CONFIG_ENTRY_ID),
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> MeshConfigEntry:
    entry: MeshConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_config_entry",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    return entry


def node_for_device(
    hass: HomeAssistant, entry: MeshConfigEntry, device: dr.DeviceEntry | dr.ChildDeviceEntry
) -> Node | None:
    """The database record of the node a device stands for (None: not one of ours)."""
    runtime = entry.runtime_data
    return next(
        (
            node
            for node in runtime.network.nodes
            if node_identifier(runtime.mesh_uuid, node) in device.identifiers
        ),
        None,
    )


def _device_node(hass: HomeAssistant, device_id: str) -> tuple[MeshConfigEntry, Node]:
    # A node's device identifier names its network (mesh UUID) and the node, so the network is
    # found without the device's config entry fields (whose shape changed in Home Assistant
    # 2026: one config entry per device).
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for entry in hass.config_entries.async_entries(DOMAIN):
            if not is_network_device(entry.data[CONF_MESH_UUID], device.identifiers):
                continue
            loaded = _loaded_entry(hass, entry.entry_id)  # a network that is not loaded: say so
            node = node_for_device(hass, loaded, device)
            if node is not None:
                return loaded, node
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_device",
        translation_placeholders={"device_id": device_id},
    )


async def _async_reconfigure_node(call: ServiceCall) -> None:
    entry, node = _device_node(call.hass, call.data[ATTR_DEVICE_ID])
    await entry.runtime_data.nodes.async_reconfigure_node(node)


async def _async_reset_node(call: ServiceCall) -> None:
    device_id = call.data[ATTR_DEVICE_ID]
    entry, node = _device_node(call.hass, device_id)
    await entry.runtime_data.nodes.async_remove_node(node)
    # The device belongs to this network only, so it goes as a whole.
    dr.async_get(call.hass).async_remove_device(device_id)


async def _async_start_key_refresh(call: ServiceCall) -> None:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    if not await entry.runtime_data.nodes.async_start_key_refresh():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="key_refresh_in_progress",
            translation_placeholders={"network": entry.title},
        )


async def _async_export_network(call: ServiceCall) -> ServiceResponse:
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    # MshCDB only: our extension (SEQ, replay list, local provisioner) is Home Assistant's.
    data: dict[str, Any] = entry.runtime_data.network.to_json(include_extension=False)
    if call.data[ATTR_INCLUDE_KEYS]:
        return data
    redacted: dict[str, Any] = async_redact_data(data, TO_REDACT)
    return redacted


async def _async_identify(call: ServiceCall) -> None:
    entry, node = _device_node(call.hass, call.data[ATTR_DEVICE_ID])
    runtime = entry.runtime_data
    await async_ensure_health_bound(runtime, node)
    await runtime.async_send(
        node.unicast_address,
        HealthAttentionSet(call.data[ATTR_DURATION]),
        expect=HealthAttentionStatus,
    )


async def _async_refresh_device_key(call: ServiceCall) -> None:
    entry, node = _device_node(call.hass, call.data[ATTR_DEVICE_ID])
    await entry.runtime_data.nodes.async_refresh_device_key(
        node, static_oob=call.data.get(ATTR_STATIC_OOB)
    )


def _scene_target(call: ServiceCall) -> tuple[MeshRuntime, int]:
    """The network and the destination: a group light's group, or all nodes."""
    if ATTR_CONFIG_ENTRY_ID in call.data:
        return _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID]).runtime_data, ALL_NODES
    entity_id = call.data[ATTR_ENTITY_ID]
    registered = er.async_get(call.hass).async_get(entity_id)
    if registered is not None and registered.config_entry_id is not None:
        runtime = _loaded_entry(call.hass, registered.config_entry_id).runtime_data
        for group in runtime.network.groups:
            if registered.unique_id == group_unique_id(runtime.mesh_uuid, group.destination):
                return runtime, group.destination
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_group",
        translation_placeholders={"entity_id": entity_id},
    )


async def _async_scene_store(call: ServiceCall) -> None:
    runtime, address = _scene_target(call)
    number = call.data[ATTR_SCENE]
    await runtime.async_send(address, SceneStoreUnacknowledged(number))
    # MshCDB: the scene and the elements that store it (those with a bound Scene Setup Server).
    network = runtime.network
    candidates = members(network, address) if address != ALL_NODES else all_members(network)
    stored = sorted(
        m.address
        for m in candidates
        if (setup := m.element.model(ids.SCENE_SETUP_SERVER)) is not None
        and APP_KEY_INDEX in setup.bind
    )
    await runtime.store.async_store_scene(number, stored, call.data.get(ATTR_NAME))


async def _async_scene_recall(call: ServiceCall) -> None:
    runtime, address = _scene_target(call)
    transition = call.data.get(ATTR_TRANSITION)
    await runtime.async_send(
        address,
        SceneRecallUnacknowledged(
            call.data[ATTR_SCENE],
            runtime.next_tid(address),
            None if transition is None else TransitionTime.from_seconds(transition),
        ),
    )


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's service actions (once, whatever the number of entries)."""
    hass.services.async_register(
        DOMAIN, SERVICE_RECONFIGURE_NODE, _async_reconfigure_node, schema=DEVICE_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_RESET_NODE, _async_reset_node, DEVICE_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_START_KEY_REFRESH, _async_start_key_refresh, schema=ENTRY_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_NETWORK,
        _async_export_network,
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(DOMAIN, SERVICE_IDENTIFY, _async_identify, schema=IDENTIFY_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_REFRESH_DEVICE_KEY, _async_refresh_device_key, schema=REFRESH_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SCENE_STORE, _async_scene_store, schema=SCENE_STORE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SCENE_RECALL, _async_scene_recall, schema=SCENE_RECALL_SCHEMA
    )
