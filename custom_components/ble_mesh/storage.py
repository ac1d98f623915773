"""Persistence of one mesh network: the Mesh Configuration Database in Home Assistant's Store.

The keys (NetKeys, AppKeys, device keys) live only here, in ``.storage/ble_mesh.<mesh uuid>``,
never in the config entry, its title, logs or diagnostics.

What changes while the network runs (the IV Index, the SEQ reservation, the replay protection
list) is kept in a second, small store, ``.storage/ble_mesh.<mesh uuid>.state``: a SEQ
reservation is written there before it is used (one small write per block of sequence numbers)
instead of rewriting the whole database. Its JSON form is that of the database's
``"x-ble-mesh"`` extension (:class:`~.mesh.database.MeshExtension`), restricted to those
fields. The extension keeps a copy, written with the database when the database is saved for
other reasons (so an export and a backup stay complete); at load the newer of the two wins
(:func:`apply_state`), which also takes over the values of installations from before the
small store (their extension is exact).
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .mesh.database import MeshExtension, MeshNetwork
from .mesh.errors import MeshError

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
STATE_VERSION = 1
SAVE_DELAY = 1.0


class StorageCorruptError(Exception):
    """The stored network could not be read; a backup copy was kept."""

    def __init__(self, reason: str, backup: Path | None) -> None:
        """Remember why and where the unreadable copy was kept."""
        super().__init__(reason)
        self.reason = reason
        self.backup = backup


def state_data(ext: MeshExtension, address: int) -> dict[str, Any]:
    """The small store's JSON: the volatile fields of the extension, for our own ``address``."""
    replay = list(ext.replay_protection.items())  # one copy (may run in the executor)
    state = MeshExtension(
        iv_index=ext.iv_index,
        iv_update_active=ext.iv_update_active,
        sequence_numbers={address: ext.sequence_numbers.get(address, 0)},
        sequence_iv_index=ext.sequence_iv_index,
        replay_protection=dict(replay),
    )
    return state.to_json()


def _iv_order(iv_index: int, update_active: bool) -> tuple[int, bool]:
    # N -> N+1 (update in progress) -> N+1 (normal): later states sort higher.
    return iv_index, not update_active


def apply_state(network: MeshNetwork, state: MeshExtension, address: int) -> None:
    """Merge the small store's values into the database's extension: the newer one wins.

    IV Index: the later state of the IV Update procedure. SEQ reservation of ``address``:
    the higher (IV Index, SEQ) (every SEQ below a stored reservation may have been used).
    Replay protection list: per source, the higher (IV Index, SEQ).
    """
    ext = network._ext()  # noqa: SLF001 - the database's own extension record
    if _iv_order(state.iv_index, state.iv_update_active) > _iv_order(
        ext.iv_index, ext.iv_update_active
    ):
        network.set_iv_index(state.iv_index, update_active=state.iv_update_active)

    def reservation(record: MeshExtension) -> tuple[int, int] | None:
        if address not in record.sequence_numbers:
            return None
        seq_iv = record.sequence_iv_index
        if seq_iv is None:  # absent: the transmit IV Index of that record
            seq_iv = record.iv_index - 1 if record.iv_update_active else record.iv_index
        return max(seq_iv, 0), record.sequence_numbers[address]

    stored = reservation(state)
    current = reservation(ext)
    if stored is not None and (current is None or stored > current):
        ext.sequence_iv_index, seq = stored
        network.set_sequence_number(address, seq)
    for src, entry in state.replay_protection.items():
        known = ext.replay_protection.get(src)
        if known is None or entry > known:
            ext.replay_protection[src] = entry


def now_iso() -> str:
    """The current time in the ISO 8601 form MshCDB timestamps use."""
    return dt_util.utcnow().isoformat(timespec="seconds")


class MeshStore:
    """Load and save one network; saves are coalesced (one write per burst of changes).

    Two files: the database (:meth:`async_save`, :meth:`async_schedule_save`; ``writes``
    counts them) and the small runtime state (:meth:`async_save_state`,
    :meth:`async_schedule_state_save`; ``state_writes`` counts them).
    """

    def __init__(self, hass: HomeAssistant, mesh_uuid: str) -> None:
        """Bind to the storage files of one network."""
        self._hass = hass
        self.key = f"{DOMAIN}.{mesh_uuid}"
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, self.key, private=True, atomic_writes=True
        )
        self.state_key = f"{self.key}.state"
        self._state_store: Store[dict[str, Any]] = Store(
            hass, STATE_VERSION, self.state_key, private=True, atomic_writes=True
        )
        self._network: MeshNetwork | None = None
        self._save_pending = False
        self.state: MeshExtension | None = None  # the small store as loaded (None: none yet)
        self.writes = 0
        self.state_writes = 0

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
        self.state = await self._async_load_state()
        return self._network

    async def _async_load_state(self) -> MeshExtension | None:
        """The small store (None when there is none yet: the extension's values are used).

        Unreadable JSON is moved aside by Home Assistant's Store itself (with a repair issue)
        and reads as None; well-formed JSON with wrong values is a StorageCorruptError.
        """
        state_path = Path(self._hass.config.path(".storage", self.state_key))
        try:
            data = await self._state_store.async_load()
        except (ValueError, OSError) as err:
            raise StorageCorruptError(str(err), await self._async_backup(state_path)) from err
        if data is None:
            return None
        try:
            return MeshExtension.from_json(data, self.state_key)
        except MeshError as err:
            raise StorageCorruptError(str(err), await self._async_backup(state_path)) from err

    async def _async_backup(self, source: Path | None = None) -> Path | None:
        """Copy the unreadable file aside so nothing is lost when the user recovers."""
        source = source or self.path
        if not source.exists():
            return None
        target = source.with_name(f"{source.name}.corrupt-{dt_util.utcnow():%Y%m%d%H%M%S}")
        await self._hass.async_add_executor_job(shutil.copy2, source, target)
        _LOGGER.error(
            "Mesh network storage %s is unreadable; a copy was kept at %s", source, target
        )
        return target

    async def async_save(self, network: MeshNetwork) -> None:
        """Write the database now (when creating the network, after a change of it)."""
        self._network = network
        self._save_pending = False
        self.writes += 1
        await self._store.async_save(network.to_json())

    @property
    def save_pending(self) -> bool:
        """Whether a coalesced database write is scheduled."""
        return self._save_pending

    def async_schedule_save(self, network: MeshNetwork, delay: float = SAVE_DELAY) -> None:
        """Write soon, coalescing a burst of changes into one write (HA writes it at stop)."""
        self._network = network
        self._save_pending = True
        self._store.async_delay_save(self._data_to_save, delay)

    async def async_flush(self) -> None:
        """Write the database now if a coalesced save is still pending."""
        if self._save_pending and self._network is not None:
            await self.async_save(self._network)

    def _data_to_save(self) -> dict[str, Any]:
        assert self._network is not None
        self._save_pending = False
        self.writes += 1
        return self._network.to_json()

    async def async_save_state(self, data: dict[str, Any]) -> None:
        """Write the small runtime state now (before a reserved block of SEQ is used)."""
        self.state_writes += 1
        await self._state_store.async_save(data)

    def async_schedule_state_save(
        self, data_func: Callable[[], dict[str, Any]], delay: float = SAVE_DELAY
    ) -> None:
        """Write the small runtime state soon (coalesced; ``data_func`` is called then)."""

        def data() -> dict[str, Any]:
            self.state_writes += 1
            return data_func()

        self._state_store.async_delay_save(data, delay)

    async def async_remove(self) -> None:
        """Delete the stored network and its runtime state (the config entry was removed)."""
        await self._store.async_remove()
        await self._state_store.async_remove()
