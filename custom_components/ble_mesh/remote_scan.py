"""Devices no adapter hears, found through the network's Remote Provisioning Servers.

Nodes with a Remote Provisioning Server (MshPRT 1.1 §4.4.5) scan for unprovisioned devices on
Home Assistant's behalf (Remote Provisioning Scan Start, Scan Reports: §4.3.4). Each device a
scan reports that is neither a node of a loaded network nor heard by Home Assistant's own
Bluetooth is offered under *Discovered*, like a device heard directly, saying through which
node it was found; its dialog then provisions it through that node (PB-Remote,
:class:`~.provisioning_session.RemoteProvisioningSession`).

A device offered for the first time is named as it names itself: its server is asked for the
device's Complete Local Name (Remote Provisioning Extended Scan, one exchange per new device);
a device that gives none is "Mesh device <first digits of its UUID>".

When: every :data:`SCAN_INTERVAL` while the network is loaded, and at once from the network's
options (*Search through the mesh*). A quiet network stays quiet: a scan costs one Scan Start
and one Scan Status per server, plus one report per device found, and the server listens for
:data:`SCAN_SECONDS`. New devices appear rarely and the person adding one can ask for a scan at
once, so the periodic scan runs every 10 minutes with at most :data:`SERVERS_PER_ROUND` servers,
taking turns (a network of 20 servers has each of them scan once every 50 minutes: 8 messages
per 10 minutes in all, where one sensor publishing every 10 s sends 60). A search from the
options asks every server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import timedelta
import logging
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from homeassistant.components import bluetooth
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_track_time_interval

from .const import DOMAIN
from .exceptions import MeshCommunicationError
from .mesh.access import Message
from .mesh.beacons import COMPLETE_LOCAL_NAME_AD_TYPE, MeshProvisioningServiceData
from .mesh.database import Node
from .mesh.errors import DecodeError
from .mesh.models.model_ids import REMOTE_PROVISIONING_SERVER
from .mesh.models.remote_provisioning import (
    RemoteProvisioningExtendedScanReport,
    RemoteProvisioningExtendedScanStart,
    RemoteProvisioningScanReport,
    RemoteProvisioningScanStart,
    RemoteProvisioningScanStatus,
    RemoteProvisioningStatus,
    ad_structures,
)
from .mesh.proxy import MESH_PROVISIONING_SERVICE_UUID

if TYPE_CHECKING:
    from .client import MeshClient

_LOGGER = logging.getLogger(__name__)

SCAN_INTERVAL: Final = timedelta(minutes=10)
SCAN_SECONDS: Final = 10
"""How long each server scans (Scan Start's timeout)."""
SERVERS_PER_ROUND: Final = 4
"""Servers asked by one periodic scan (they take turns); a search from the options asks all."""
REPORT_MARGIN: Final = 2.0
"""Seconds past the scan's end to wait for its last reports to cross the mesh."""
NAME_SECONDS: Final = 2
"""How long a server looks for a new device's name (Extended Scan Start's timeout)."""

DISCOVERY_UUID: Final = "uuid"
DISCOVERY_SERVER: Final = "server"
DISCOVERY_RSSI: Final = "rssi"
DISCOVERY_OOB: Final = "oob_information"
DISCOVERY_ENTRY: Final = "entry_id"
DISCOVERY_NAME: Final = "name"


@dataclass(frozen=True, slots=True)
class RemoteDevice:
    """An unprovisioned device a server reported: the discovery data of its offer."""

    device_uuid: UUID
    server: int
    rssi: int
    oob_information: int
    name: str | None = None
    """Its Complete Local Name, when it gave one (Extended Scan)."""

    def discovery_data(self, entry_id: str) -> dict[str, Any]:
        """What the config flow's ``integration_discovery`` step receives."""
        return {
            DISCOVERY_ENTRY: entry_id,
            DISCOVERY_UUID: self.device_uuid.hex,
            DISCOVERY_SERVER: self.server,
            DISCOVERY_RSSI: self.rssi,
            DISCOVERY_OOB: self.oob_information,
            DISCOVERY_NAME: self.name,
        }


def has_remote_provisioning_server(node: Node) -> bool:
    """Whether the node's composition shows a Remote Provisioning Server (primary element)."""
    return bool(node.elements) and REMOTE_PROVISIONING_SERVER in node.elements[0].sig_model_ids


def _heard_directly(hass: HomeAssistant) -> set[UUID]:
    """Device UUIDs Home Assistant's own Bluetooth hears advertising unprovisioned."""
    heard: set[UUID] = set()
    for info in bluetooth.async_discovered_service_info(hass, connectable=True):
        raw = info.service_data.get(MESH_PROVISIONING_SERVICE_UUID)
        if raw is None:
            continue
        try:
            heard.add(MeshProvisioningServiceData.from_bytes(raw).uuid)
        except DecodeError:
            continue
    return heard


class RemoteScanner:
    """Scans through one network's Remote Provisioning Servers and offers what they find."""

    def __init__(self, hass: HomeAssistant, client: MeshClient, entry_id: str) -> None:
        """Scan through the servers of ``client``'s network (the entry ``entry_id``)."""
        self._hass = hass
        self._client = client
        self._entry_id = entry_id
        self._lock = asyncio.Lock()
        self._turn = 0
        self._stopped = False
        self.scans = 0
        self.last_found: list[RemoteDevice] = []

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Scan every :data:`SCAN_INTERVAL`; call the result to stop."""

        async def periodic(_now: Any) -> None:
            await self.async_scan(limit=SERVERS_PER_ROUND)

        cancel = async_track_time_interval(
            self._hass, periodic, SCAN_INTERVAL, name=f"{DOMAIN} remote scan"
        )

        @callback
        def stop() -> None:
            self._stopped = True  # a scan still running offers nothing for an unloaded entry
            cancel()

        return stop

    def servers(self) -> list[Node]:
        """The network's configured nodes that have a Remote Provisioning Server (and are
        not relaying one of our provisioning links right now)."""
        network = self._client.store.network
        busy = self._client.relay_links
        return [
            n
            for n in network.device_nodes()
            if n.config_complete
            and not n.excluded
            and has_remote_provisioning_server(n)
            and n.unicast_address not in busy
        ]

    async def async_scan(
        self, *, limit: int | None = None, seconds: int = SCAN_SECONDS
    ) -> list[RemoteDevice]:
        """Ask up to ``limit`` servers (all by default) to scan; offer what they found.

        Returns the devices offered (one per device: the server that heard it best). A
        server that cannot be reached or refuses is skipped; a scan already running is
        waited for instead of starting a second one.
        """
        if self._lock.locked():
            async with self._lock:
                return self.last_found
        async with self._lock:
            servers = self._pick(limit)
            if not servers:
                return []
            found = await self._async_collect(servers, seconds)
            self.scans += 1
            new = self._new(found)
            named = [replace(d, name=await self._async_name(d)) for d in new]
            self._offer(named)
            self.last_found = named
            return named

    def _pick(self, limit: int | None) -> list[Node]:
        servers = self.servers()
        if limit is None or len(servers) <= limit:
            return servers
        start = self._turn % len(servers)
        self._turn = start + limit
        return (servers[start:] + servers[:start])[:limit]

    async def _async_collect(self, servers: list[Node], seconds: int) -> dict[UUID, RemoteDevice]:
        runtime = self._client
        addresses = {n.unicast_address for n in servers}
        found: dict[UUID, RemoteDevice] = {}

        @callback
        def on_message(src: int, message: Message) -> None:
            if src not in addresses or not isinstance(message, RemoteProvisioningScanReport):
                return
            device = RemoteDevice(
                UUID(bytes=message.uuid), src, message.rssi, message.oob_information
            )
            known = found.get(device.device_uuid)
            if known is None or device.rssi > known.rssi:
                found[device.device_uuid] = device

        unsubscribe = runtime.async_subscribe(on_message)
        try:
            started = 0
            for node in servers:
                started += await self._async_start_scan(node, seconds)
            if started:
                await asyncio.sleep(seconds + REPORT_MARGIN)
        finally:
            unsubscribe()
        _LOGGER.debug(
            "Remote scan through %d of %d nodes found %d devices",
            started,
            len(servers),
            len(found),
        )
        return found

    async def _async_start_scan(self, node: Node, seconds: int) -> bool:
        runtime = self._client
        try:
            status = await runtime.async_send(
                node.unicast_address,
                RemoteProvisioningScanStart(scanned_items_limit=0, timeout=seconds),
                device_key=True,
                expect=RemoteProvisioningScanStatus,
            )
        except MeshCommunicationError as err:
            _LOGGER.debug("Remote scan through %04X not started: %s", node.unicast_address, err)
            return False
        assert isinstance(status, RemoteProvisioningScanStatus)
        if status.status is not RemoteProvisioningStatus.SUCCESS:
            _LOGGER.debug(
                "Remote scan through %04X refused: %s", node.unicast_address, status.status.name
            )
            return False
        return True

    async def _async_name(self, device: RemoteDevice) -> str | None:
        """The device's Complete Local Name, asked of its server (None: none came)."""
        reports: asyncio.Queue[RemoteProvisioningExtendedScanReport] = asyncio.Queue()
        uuid = device.device_uuid.bytes

        @callback
        def on_message(src: int, message: Message) -> None:
            if (
                src == device.server
                and isinstance(message, RemoteProvisioningExtendedScanReport)
                and message.uuid == uuid
            ):
                reports.put_nowait(message)

        unsubscribe = self._client.async_subscribe(on_message, src=device.server)
        try:
            await self._client.async_send(
                device.server,
                RemoteProvisioningExtendedScanStart(
                    bytes((COMPLETE_LOCAL_NAME_AD_TYPE,)), uuid, NAME_SECONDS
                ),
                device_key=True,
            )
            async with asyncio.timeout(NAME_SECONDS + REPORT_MARGIN):
                report = await reports.get()
        except (MeshCommunicationError, TimeoutError) as err:
            _LOGGER.debug("No name for %s: %s", device.device_uuid, err or "no report")
            return None
        finally:
            unsubscribe()
        if report.status is not RemoteProvisioningStatus.SUCCESS or not report.adv_structures:
            return None
        try:
            structures = ad_structures(report.adv_structures)
        except DecodeError:
            return None
        for ad_type, data in structures:
            if ad_type == COMPLETE_LOCAL_NAME_AD_TYPE:
                name = data.decode("utf-8", errors="replace").strip()
                return name or None
        return None

    def _new(self, found: dict[UUID, RemoteDevice]) -> list[RemoteDevice]:
        """The devices to offer: not a node, not heard directly, not offered already."""
        hass = self._hass
        nodes = {
            n.uuid
            for e in hass.config_entries.async_loaded_entries(DOMAIN)
            for n in e.runtime_data.network.nodes
        }
        heard = _heard_directly(hass)
        offered = {
            f["context"].get("unique_id")
            for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        }
        # A device the person chose to ignore has an (ignored) entry with its UUID.
        offered |= {
            e.unique_id for e in hass.config_entries.async_entries(DOMAIN, include_ignore=True)
        }
        return [
            d
            for d in found.values()
            if d.device_uuid not in nodes
            and d.device_uuid not in heard
            and d.device_uuid.hex not in offered
        ]

    def _offer(self, new: list[RemoteDevice]) -> None:
        if self._stopped:
            return
        for device in new:
            discovery_flow.async_create_flow(
                self._hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data=device.discovery_data(self._entry_id),
            )
