"""The Bluetooth Mesh integration: Home Assistant as a mesh provisioner and controller.

One config entry is one mesh network. The protocol lives in the sans-IO engine
(``custom_components.ble_mesh.mesh``); this package only wires it to Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from pathlib import Path

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, HomeAssistantError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_IDLE_SECONDS,
    CONF_MESH_UUID,
    CONF_RELEASE_WHEN_IDLE,
    DEFAULT_IDLE_SECONDS,
    DOMAIN,
)
from .devices import async_update_node_devices, element_unique_id
from .discovery import async_end_offers
from .entity import switches_as_lights
from .mesh.errors import MeshError
from .network_store import Change, NetworkStore, StoreChange
from .node_security import async_delete_insecure_node_issues, async_track_insecure_nodes
from .runtime import MeshConfigEntry, MeshRuntime
from .services import async_setup_services, node_for_device
from .storage import DroppedRecords, MeshStore, StorageCorruptError

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.LIGHT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
_DROPPED_ISSUE = "storage_dropped_"
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions (quality scale: action-setup)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: MeshConfigEntry) -> bool:
    """Set up one mesh network from its stored database."""
    store = MeshStore(hass, entry.data[CONF_MESH_UUID])
    issue_id = f"storage_corrupt_{entry.entry_id}"

    def storage_failure(key: str, error: Exception | None = None) -> ConfigEntryError:
        """A repair issue that says where the data is (and its backup), and the setup error."""
        placeholders = {"name": entry.title, "path": str(store.path)}
        if error is not None:
            backup = error.backup if isinstance(error, StorageCorruptError) else None
            placeholders["backup"] = str(backup) if backup else "-"
            placeholders["error"] = str(error)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=key,
            translation_placeholders=placeholders,
        )
        return ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"name": entry.title},
        )

    try:
        network = await store.async_load()
    except StorageCorruptError as err:
        raise storage_failure("storage_corrupt", err) from err
    if network is None:
        raise storage_failure("storage_missing")
    try:
        runtime = MeshRuntime(
            hass=hass, entry_id=entry.entry_id, store=NetworkStore(hass, store, network)
        )
    except MeshError as err:  # stored IV Index / SEQ / replay list that make no sense
        raise storage_failure("storage_corrupt", err) from err
    ir.async_delete_issue(hass, DOMAIN, issue_id)
    if store.dropped is not None:
        _async_report_dropped(hass, entry, store.path, store.dropped)
    entry.runtime_data = runtime
    async_update_node_devices(hass, entry.entry_id, network)
    entry.async_on_unload(async_track_insecure_nodes(hass, entry.entry_id, runtime.store))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    runtime.async_set_idle_release(idle_release(entry))
    shown_as_lights = switches_as_lights(entry)

    async def _async_entry_updated(hass: HomeAssistant, entry: MeshConfigEntry) -> None:
        """The options changed: the idle release applies at once (no reload); switches
        shown as lights (or back) move to their platform with a reload."""
        if switches_as_lights(entry) != shown_as_lights:
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        entry.runtime_data.async_set_idle_release(idle_release(entry))

    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    entry.async_on_unload(runtime.store.async_add_listener(_nodes_changed(hass, entry)))

    @callback
    def _loaded() -> None:
        # Devices offered while the network was not loaded may be its nodes: end those offers
        # (their flows could not know).
        if entry.state is ConfigEntryState.LOADED:
            async_end_offers(hass, [n.uuid for n in network.nodes])

    entry.async_on_unload(entry.async_on_state_change(_loaded))
    runtime.async_start()
    entry.async_on_unload(runtime.remote_scanner.async_start())
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, runtime.async_stop))
    _LOGGER.debug("Mesh network %s loaded with %d nodes", entry.title, len(network.nodes))
    return True


def _async_report_dropped(
    hass: HomeAssistant, entry: MeshConfigEntry, path: Path, dropped: DroppedRecords
) -> None:
    """One repair issue per node, group or scene the load left out (kept across restarts:
    the valid part was written back, so the next load has nothing to report)."""
    for record in dropped.records:
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{_DROPPED_ISSUE}{entry.entry_id}_{record.kind}_{record.index}",
            is_fixable=False,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=f"storage_dropped_{record.kind}",
            translation_placeholders={
                "network": entry.title,
                "name": record.label,
                "error": str(record.error),
                "path": str(path),
                "backup": str(dropped.backup),
            },
        )


def _nodes_changed(hass: HomeAssistant, entry: MeshConfigEntry) -> Callable[[StoreChange], None]:
    """What a node added or removed changes outside the network: offers and entities."""

    @callback
    def changed(change: StoreChange) -> None:
        node = change.node
        if node is None:
            return
        if change.change is Change.NODE_ADDED:
            async_end_offers(hass, [node.uuid])
        elif change.change is Change.NODE_REMOVED:
            # Its elements' entities go; the device stays when the node was replaced (added
            # again after a reset by hand: same device, new addresses, new entities).
            registry = er.async_get(hass)
            mesh_uuid = entry.data[CONF_MESH_UUID]
            for address in node.addresses:
                unique_id = element_unique_id(mesh_uuid, address)
                for platform in PLATFORMS:
                    if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
                        registry.async_remove(entity_id)

    return changed


def idle_release(entry: MeshConfigEntry) -> float | None:
    """Seconds without traffic before the proxy connection is released; None: never."""
    if not entry.options.get(CONF_RELEASE_WHEN_IDLE, False):
        return None
    return float(entry.options.get(CONF_IDLE_SECONDS, DEFAULT_IDLE_SECONDS))


async def async_unload_entry(hass: HomeAssistant, entry: MeshConfigEntry) -> bool:
    """Unload one mesh network: close its proxy connection, write what is pending."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: MeshConfigEntry) -> None:
    """The network entry was deleted: delete its stored keys (and its nodes' issues and what
    was left out) too."""
    await MeshStore(hass, entry.data[CONF_MESH_UUID]).async_remove()
    async_delete_insecure_node_issues(hass, entry.entry_id)
    prefix = f"{_DROPPED_ISSUE}{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: MeshConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Deleting a node's device removes the node from the mesh network.

    Config Node Reset, removal from the database and the Key Refresh that evicts the node's
    keys from the other nodes (:meth:`ConfigurationManager.async_remove_node`). A node out of reach
    is removed all the same, with a repair issue asking to reset it by hand: after the refresh
    its keys open nothing. A node that misses the refresh holds it, with its repair issue. A
    device that stands for no node (left over) simply goes. Home Assistant's own node is no
    device.

    The device page asks with Home Assistant's own words ("Are you sure?") and, once the device
    is gone, shows that it is not found; what will happen is told by *Configure, Remove a
    device*, which also shows the key refresh as it runs. A refusal is raised, not returned:
    the page shows the raised message, while ``False`` becomes an untranslated "rejected by
    integration".
    """
    if entry.state is not ConfigEntryState.LOADED:
        # The keys and the network are not loaded: nothing can be done safely.
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="device_removal_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    node = node_for_device(hass, entry, device)
    if node is not None:
        await entry.runtime_data.nodes.async_remove_node(node)
    return True
