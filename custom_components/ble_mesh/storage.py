"""Persistence of one mesh network: the Mesh Configuration Database in Home Assistant's Store.

The keys (NetKeys, AppKeys, device keys) live only here, in ``.storage/ble_mesh.<mesh uuid>``,
never in the config entry, its title, logs or diagnostics.
"""

from __future__ import annotations

import logging
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .mesh.database import MeshNetwork
from .mesh.errors import MeshError

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
SAVE_DELAY = 1.0


class StorageCorruptError(Exception):
    """The stored network could not be read; a backup copy was kept."""

    def __init__(self, reason: str, backup: Path | None) -> None:
        """Remember why and where the unreadable copy was kept."""
        super().__init__(reason)
        self.reason = reason
        self.backup = backup


def now_iso() -> str:
    """The current time in the ISO 8601 form MshCDB timestamps use."""
    return dt_util.utcnow().isoformat(timespec="seconds")


class MeshStore:
    """Load and save one network; saves are coalesced (one write per burst of changes)."""

    def __init__(self, hass: HomeAssistant, mesh_uuid: str) -> None:
        """Bind to the storage file of one network."""
        self._hass = hass
        self.key = f"{DOMAIN}.{mesh_uuid}"
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, self.key, private=True, atomic_writes=True
        )
        self._network: MeshNetwork | None = None
        self.writes = 0

    @property
    def path(self) -> Path:
        """Where Home Assistant keeps the file."""
        return Path(self._hass.config.path(".storage", self.key))

    async def async_load(self) -> MeshNetwork | None:
        """The stored network, ``None`` if there is none; raises StorageCorruptError."""
        try:
            data = await self._store.async_load()
        except (ValueError, OSError) as err:  # unreadable JSON
            raise StorageCorruptError(str(err), await self._async_backup()) from err
        if data is None:
            return None
        try:
            self._network = MeshNetwork.from_json(data)
        except MeshError as err:
            raise StorageCorruptError(str(err), await self._async_backup()) from err
        return self._network

    async def _async_backup(self) -> Path | None:
        """Copy the unreadable file aside so nothing is lost when the user recovers."""
        source = self.path
        if not source.exists():
            return None
        target = source.with_name(f"{source.name}.corrupt-{dt_util.utcnow():%Y%m%d%H%M%S}")
        await self._hass.async_add_executor_job(shutil.copy2, source, target)
        _LOGGER.error(
            "Mesh network storage %s is unreadable; a copy was kept at %s", source, target
        )
        return target

    async def async_save(self, network: MeshNetwork) -> None:
        """Write now (used when creating the network and before handing out sequence numbers)."""
        self._network = network
        self.writes += 1
        await self._store.async_save(network.to_json())

    def async_schedule_save(self, network: MeshNetwork, delay: float = SAVE_DELAY) -> None:
        """Write soon, coalescing a burst of changes into one write (HA writes it at stop)."""
        self._network = network
        self._store.async_delay_save(self._data_to_save, delay)

    def _data_to_save(self) -> dict[str, Any]:
        assert self._network is not None
        self.writes += 1
        return self._network.to_json()

    async def async_remove(self) -> None:
        """Delete the stored network (the config entry was removed)."""
        await self._store.async_remove()
