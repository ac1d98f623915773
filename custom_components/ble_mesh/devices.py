"""Nodes of the network as Home Assistant devices."""

from __future__ import annotations

from bluetooth_numbers import company
from bluetooth_numbers.exceptions import UnknownCICError
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .compat import device_by_identifier
from .const import DOMAIN
from .mesh.beacons import MeshProvisioningServiceData
from .mesh.database import MeshNetwork, Node
from .mesh.errors import DecodeError
from .mesh.models.composition import COMPANY_ID_TEST
from .mesh.proxy import MESH_PROVISIONING_SERVICE_UUID


def node_identifier(mesh_uuid: str, node: Node) -> tuple[str, str]:
    """The device registry identifier of a node: its Device UUID within this network."""
    return (DOMAIN, f"{mesh_uuid}_{node.uuid.hex}")


def element_unique_id(mesh_uuid: str, address: int) -> str:
    """The unique ID of the entity of the element at ``address`` in this network."""
    return f"{mesh_uuid}_{address:04x}"


def is_network_device(mesh_uuid: str, identifiers: set[tuple[str, str]]) -> bool:
    """Whether a device's identifiers name a node of this network (see node_identifier)."""
    prefix = f"{mesh_uuid}_"
    return any(domain == DOMAIN and value.startswith(prefix) for domain, value in identifiers)


def manufacturer_name(company_id: int) -> str | None:
    """The Bluetooth SIG company name for a Company ID (CID from the composition data).

    None for 0xFFFF, which the SIG keeps for tests and prototypes: there is no maker to name.
    """
    if company_id == COMPANY_ID_TEST:
        return None
    try:
        return str(company[company_id])
    except UnknownCICError:  # assigned after our copy of the list was made
        return f"Company ID 0x{company_id:04X}"


def node_device_info(mesh_uuid: str, node: Node) -> DeviceInfo:
    """Device registry data from what the database knows (composition data when read).

    The composition data has numbers only (MshPRT 1.1 §4.2.2.1: CID, PID, VID): the card
    reads "Product ID 0x0002 by <company>" and "Firmware: 0x0100", nothing made up.
    """
    info = DeviceInfo(
        identifiers={node_identifier(mesh_uuid, node)},
        name=node.name or f"Mesh node {node.unicast_address:04X}",
    )
    if node.cid is not None and (manufacturer := manufacturer_name(node.cid)) is not None:
        info["manufacturer"] = manufacturer
    if node.pid is not None:
        info["model"] = f"Product ID 0x{node.pid:04X}"
    if node.vid is not None:
        info["sw_version"] = f"0x{node.vid:04X}"
    return info


@callback
def async_register_node(hass: HomeAssistant, entry_id: str, mesh_uuid: str, node: Node) -> None:
    """Create or update the device of one node."""
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry_id, **node_device_info(mesh_uuid, node)
    )


@callback
def async_remove_node_device(
    hass: HomeAssistant, entry_id: str, mesh_uuid: str, node: Node
) -> None:
    """Remove the device of a node that left the network (its entities go with it)."""
    registry = dr.async_get(hass)
    device = device_by_identifier(registry, node_identifier(mesh_uuid, node), entry_id)
    if device is not None:
        registry.async_remove_device(device.id)


@callback
def async_update_node_devices(hass: HomeAssistant, entry_id: str, network: MeshNetwork) -> None:
    """Create or update one device per node (provisioners' own nodes are not devices)."""
    for node in network.device_nodes():
        async_register_node(hass, entry_id, network.mesh_uuid.hex, node)


def bluetooth_address(hass: HomeAssistant, node: Node) -> str | None:
    """The Bluetooth address ``node`` advertised from while unprovisioned, if still known.

    Its provisioning advertisement carried its Device UUID; a new node is best configured over
    its own proxy service, at that address.
    """
    for info in bluetooth.async_discovered_service_info(hass, connectable=True):
        raw = info.service_data.get(MESH_PROVISIONING_SERVICE_UUID)
        if not raw:
            continue
        try:
            data = MeshProvisioningServiceData.from_bytes(bytes(raw))
        except DecodeError:
            continue
        if data.uuid == node.uuid:
            return info.address
    return None
