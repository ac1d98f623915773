"""Persistence of one mesh network: two private files in Home Assistant's storage.

* ``.storage/ble_mesh.<mesh uuid>``: the network as data, the Mesh Configuration Database
  (keys, nodes, groups, scenes). The keys live only here and in the next file's neighbour,
  never in the config entry, its title, logs or diagnostics. Written when the network changes.
* ``.storage/ble_mesh.<mesh uuid>.state``: Home Assistant's node's security state, exactly
  :meth:`~.mesh.node.MeshNode.snapshot` (IV Index and IV Update state, the SEQ reservation,
  the replay protection list). A SEQ reservation is written here before any PDU that uses it
  leaves (one small write per block of sequence numbers), and a replay list reservation before
  the message that needs it is acted on (one write per
  :data:`~.mesh.network.DEFAULT_REPLAY_MARGIN` SEQ numbers of a source; a burst shares one).
  Either is *on disk* when :meth:`MeshStore.async_save_state` returns, also while Home
  Assistant stops (its Store defers writes then; this one writes itself).

A database that fails validation loads what it can (:func:`~.mesh.database.load_valid_part`:
the nodes, groups and scenes that fail are left out) once its original file is kept beside it
(``ble_mesh.<mesh uuid>.corrupt-<time>``, never over an earlier copy); the valid part is then
written back and :attr:`MeshStore.dropped` says what was left out. A database whose keys,
provisioners or own fields fail does not load at all (:class:`StorageCorruptError`).

What Home Assistant's Store cannot write back unchanged is refused before anything is stored
(:func:`ensure_storable`): the Store only logs such a failure, and the data would be lost.

This file is the one home of that state. When it is missing for a network that has sent
before, sequence numbers that nodes saw cannot be known: the node then starts at
:data:`~.mesh.node.IV_UPDATE_SEQ_THRESHOLD`, above anything used in Normal Operation, which
also starts an IV Update after which SEQ restarts legitimately (MshPRT 1.1 §3.11.5).

Version 1 of the state file (0.1) and the database extension of 0.1 held the same values in
another shape (:class:`~.mesh.database.LegacyRuntimeFields`); they are read once, the newer
value of each winning, and written back as a snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import filecmp
import glob
import logging
import math
import os
from pathlib import Path
import shutil
from typing import Any, Final

from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import write_utf8_file_atomic
from homeassistant.util.json import json_loads

from .const import DOMAIN
from .mesh.database import (
    DroppedRecord,
    LegacyRuntimeFields,
    MeshNetwork,
    load_valid_part,
    parse_document,
)
from .mesh.errors import MeshError
from .mesh.network import MAX_SEQ, IvIndexState
from .mesh.node import IV_UPDATE_SEQ_THRESHOLD, NodeState

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION = 1
STATE_VERSION = 2
SAVE_DELAY = 1.0


#: The deepest a stored document may nest: orjson, which the Store writes with, refuses more
#: than 255 levels, and the Store wraps the data in an object of its own.
STORE_MAX_DEPTH: Final = 254
_PATH_PARTS_SHOWN = 4


class Unstorable(StrEnum):
    """Why data cannot be stored unchanged; the values are the import form's error keys."""

    NUMBER = "unstorable_number"
    """NaN, an infinity, or a whole number beyond 64 bits."""
    TEXT = "unstorable_text"
    """Text that is not valid Unicode (a lone surrogate, from a ``\\ud800`` escape)."""
    DEPTH = "unstorable_depth"
    """Nested deeper than :data:`STORE_MAX_DEPTH`."""
    OTHER = "unstorable"
    """Anything else that does not come back unchanged."""


class UnstorableError(Exception):
    """Home Assistant's Store cannot write the data and read it back unchanged."""

    def __init__(self, problem: Unstorable, path: str) -> None:
        """Remember what is wrong and where (a JSON path like ``nodes[1].name``)."""
        super().__init__(f"{path}: {problem}")
        self.problem = problem
        self.path = path


def ensure_storable(data: dict[str, Any]) -> None:
    """Raise :class:`UnstorableError` unless the Store writes ``data`` and reads it back unchanged.

    The round trip uses Home Assistant's own encoder and decoder (orjson, as the Store does):
    it refuses whole numbers beyond 64 bits, nesting deeper than 255 levels and lone
    surrogates, and writes NaN and infinities as ``null``.
    """
    envelope = {"data": data}  # the Store's file is an object around the data
    try:
        same = json_loads(json_bytes(envelope)) == envelope
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        same = False
    if not same:
        raise UnstorableError(*_first_unstorable(data))


def _first_unstorable(data: dict[str, Any]) -> tuple[Unstorable, str]:
    """What the round trip of :func:`ensure_storable` refused, and where (no recursion)."""
    stack: list[tuple[object, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        problem: Unstorable | None = None
        if isinstance(value, dict | list):
            if len(parts) >= STORE_MAX_DEPTH:
                problem = Unstorable.DEPTH
            elif isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        return Unstorable.OTHER, _path_text(parts)
                    if not _is_text(key):
                        return Unstorable.TEXT, _path_text(parts)
                children = [(v, (*parts, f".{k}")) for k, v in value.items()]
                stack.extend(reversed(children))
            else:
                stack.extend(reversed([(v, (*parts, f"[{i}]")) for i, v in enumerate(value)]))
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            problem = None if -(2**63) <= value < 2**64 else Unstorable.NUMBER
        elif isinstance(value, float):
            problem = None if math.isfinite(value) else Unstorable.NUMBER
        elif isinstance(value, str):
            problem = None if _is_text(value) else Unstorable.TEXT
        else:
            problem = Unstorable.OTHER
        if problem is not None:
            return problem, _path_text(parts)
    return Unstorable.OTHER, ""


def _is_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path_text(parts: tuple[str, ...]) -> str:
    """``nodes[1].name``; a deep path shows its first parts and an ellipsis."""
    text = "".join(parts[:_PATH_PARTS_SHOWN]).lstrip(".")
    return text + "…" if len(parts) > _PATH_PARTS_SHOWN else text


def importable_network(text: str) -> MeshNetwork:
    """An exported Mesh Configuration Database, if it can be stored unchanged.

    Runs in the executor (a large file takes seconds). Raises
    :class:`~.mesh.database.CdbFormatError` (not a valid database) or
    :class:`UnstorableError`; the storability is checked first, so the parser never sees
    nesting deeper than the Store allows.
    """
    document = parse_document(text)
    ensure_storable(document)
    return MeshNetwork.from_json(document)


class StorageCorruptError(Exception):
    """The stored network could not be read; a backup copy was kept."""

    def __init__(self, reason: str, backup: Path | None) -> None:
        """Remember why and where the unreadable copy was kept."""
        super().__init__(reason)
        self.reason = reason
        self.backup = backup


@dataclass(frozen=True, slots=True)
class DroppedRecords:
    """What a load left out of a database that failed validation, and where its original is."""

    records: list[DroppedRecord]
    backup: Path


def now_iso() -> str:
    """The current time in the ISO 8601 form MshCDB timestamps use."""
    return dt_util.utcnow().isoformat(timespec="seconds")


def _iv_order(fields: LegacyRuntimeFields) -> tuple[int, bool]:
    # N -> N+1 (update in progress) -> N+1 (normal): later states sort higher.
    return fields.iv_index, not fields.iv_update_active


def legacy_node_state(
    records: list[LegacyRuntimeFields], address: int
) -> tuple[NodeState | None, bool]:
    """The node state of 0.1's records (the newer value of each wins).

    Returns the state and whether it knew our SEQ (False: the caller must assume the worst).
    """
    if not records:
        return None, False
    latest = max(records, key=_iv_order)
    iv = IvIndexState(iv_index=latest.iv_index, update_in_progress=latest.iv_update_active)
    reservations = [
        (record.transmit_iv_index, record.sequence_numbers[address])
        for record in records
        if address in record.sequence_numbers
    ]
    tx_iv = iv.tx_iv_index
    seq_iv, seq = max(reservations, default=(tx_iv, 0))
    if seq_iv < tx_iv:
        seq_iv, seq = tx_iv, 0  # the IV Index moved on since: SEQ restarted
    replay: dict[int, tuple[int, int]] = {}
    for record in records:
        for src, entry in record.replay_protection.items():
            if entry > replay.get(src, (-1, -1)):
                replay[src] = entry
    state = NodeState(
        iv,
        {"iv_index": seq_iv, "seq": seq},
        {f"{src:04x}": list(entry) for src, entry in sorted(replay.items())},
    )
    return state, bool(reservations)


def recovered_node_state(state: NodeState | None) -> NodeState:
    """The state to continue with when the stored one is lost (see the module's notes)."""
    iv = state.iv if state is not None else IvIndexState()
    seq = max(IV_UPDATE_SEQ_THRESHOLD, state.sequence["seq"] if state is not None else 0)
    return NodeState(
        iv,
        {"iv_index": iv.tx_iv_index, "seq": min(seq, MAX_SEQ + 1)},
        state.replay_list if state is not None else {},
    )


class MeshStore:
    """Load and save one network; database saves are coalesced (one write per burst).

    ``writes`` and ``state_writes`` count the writes of each file (for the benchmarks).
    """

    def __init__(self, hass: HomeAssistant, mesh_uuid: str) -> None:
        """Bind to the storage files of one network."""
        self._hass = hass
        self.key = f"{DOMAIN}.{mesh_uuid}"
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, self.key, private=True, atomic_writes=True
        )
        self.state_key = f"{self.key}.state"
        self._state_store = _StateStore(
            hass, STATE_VERSION, self.state_key, private=True, atomic_writes=True
        )
        self._network: MeshNetwork | None = None
        self._save_pending = False
        self.node_state: NodeState | None = None
        """The node state as loaded (migrated, or recovered when it was lost)."""
        self.dropped: DroppedRecords | None = None
        """What the load left out of a database that failed validation (None: nothing)."""
        self.writes = 0
        self.state_writes = 0

    @property
    def path(self) -> Path:
        """Where Home Assistant keeps the database file."""
        return Path(self._hass.config.path(".storage", self.key))

    @property
    def state_path(self) -> Path:
        """Where the node state file is."""
        return Path(self._hass.config.path(".storage", self.state_key))

    async def async_load(self) -> MeshNetwork | None:
        """The stored network, ``None`` if there is none; raises StorageCorruptError.

        Parsed in the executor (a large network takes seconds). A database that fails
        validation loads without the nodes, groups and scenes that fail, and only once its
        original is kept: the valid part is written back at once and :attr:`dropped` lists
        what was left out (see the module's notes).
        """
        try:
            data = await self._store.async_load()
        except (ValueError, OSError) as err:  # unreadable JSON
            raise await self._async_corrupt(str(err)) from err
        if data is None:
            return None
        try:
            network, dropped = await self._hass.async_add_executor_job(load_valid_part, data)
        except MeshError as err:
            raise await self._async_corrupt(str(err)) from err
        if dropped:
            backup = await self._async_backup()
            if backup is None:  # never write over the only copy of what was dropped
                raise self._corrupt(str(dropped[0].error), self.path, None)
            _LOGGER.warning(
                "Mesh network %s: %d invalid record(s) of %s were left out (%s); "
                "the original was kept at %s",
                network.mesh_name,
                len(dropped),
                self.path,
                ", ".join(record.path for record in dropped),
                backup,
            )
            self.dropped = DroppedRecords(dropped, backup)
        self._network = network
        self.node_state = await self._async_load_state(network)
        if dropped:
            await self.async_save(network)
        return network

    async def _async_load_state(self, network: MeshNetwork) -> NodeState | None:
        """The node state, migrated from 0.1's forms or recovered when lost (None: new)."""
        try:
            raw = await self._state_store.async_load()
        except (ValueError, OSError) as err:
            raise await self._async_corrupt(str(err), self.state_path) from err
        extension = network.extension
        legacy = [extension.legacy] if extension is not None and extension.legacy else []
        own = _own_address(network)
        try:
            if raw is not None and _LEGACY_V1 not in raw:
                return NodeState.from_json(raw)
            if raw is not None:  # version 1: the extension's shape
                legacy.append(LegacyRuntimeFields.from_json(raw[_LEGACY_V1], self.state_key))
        except MeshError as err:
            raise await self._async_corrupt(str(err), self.state_path) from err
        if own is None:
            return None
        state, knew_seq = legacy_node_state(legacy, own)
        if raw is not None or (state is not None and not knew_seq):
            return state  # migrated; an exact copy of what 0.1 stored
        if state is None and not _has_sent(network, own):
            return None  # a new network: nothing was ever sent
        # The state file is gone (deleted, or moved aside by Home Assistant as unreadable) but
        # this network has sent before: never risk a SEQ twice (MshPRT 1.1 §3.9.3).
        recovered = recovered_node_state(state)
        _LOGGER.warning(
            "Mesh network %s: its node state (%s) is missing; sequence numbers continue at "
            "%d, which starts an IV Update",
            network.mesh_name,
            self.state_path,
            recovered.sequence["seq"],
        )
        return recovered

    async def _async_backup(self, source: Path | None = None) -> Path | None:
        """Copy the unreadable file aside so nothing is lost when the user recovers.

        The copy is ``<file>.corrupt-<UTC time>`` beside it, private like the file (it holds
        the keys), never written over an earlier one; an earlier identical copy is reused.
        None: there is no file, or it could not be copied.
        """
        source = source or self.path
        stamp = f"{dt_util.utcnow():%Y%m%d%H%M%S}"
        try:
            return await self._hass.async_add_executor_job(_keep_copy, source, stamp)
        except OSError as err:
            _LOGGER.error("Mesh network storage %s could not be copied aside: %s", source, err)
            return None

    async def _async_corrupt(self, reason: str, source: Path | None = None) -> StorageCorruptError:
        """Keep a copy of the unreadable file; the error that says so."""
        source = source or self.path
        return self._corrupt(reason, source, await self._async_backup(source))

    def _corrupt(self, reason: str, source: Path, backup: Path | None) -> StorageCorruptError:
        _LOGGER.error(
            "Mesh network storage %s is unreadable (%s); copy kept: %s",
            source,
            reason,
            backup,
        )
        return StorageCorruptError(reason, backup)

    async def async_save(self, network: MeshNetwork) -> None:
        """Write the database now (when creating the network, after a change of it)."""
        await self._async_write(network, network.to_json())

    async def async_save_new(self, network: MeshNetwork) -> None:
        """Write a new network's database; it is nobody else's yet, so its JSON is built in
        the executor (an imported network of thousands of nodes takes seconds)."""
        await self._async_write(network, await self._hass.async_add_executor_job(network.to_json))

    async def _async_write(self, network: MeshNetwork, data: dict[str, Any]) -> None:
        self._network = network
        self._save_pending = False
        self.writes += 1
        await self._store.async_save(data)

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

    async def async_save_state(self, state: NodeState) -> None:
        """Write the node state now; it is on disk when this returns (SEQ before use)."""
        self.state_writes += 1
        data = state.to_json()
        await self._state_store.async_save(data)
        if self._hass.state is CoreState.stopping:
            # Home Assistant's Store only writes at its final write while stopping; a SEQ
            # reservation must be on disk before the PDUs that use it leave.
            envelope = {
                "version": STATE_VERSION,
                "minor_version": 1,
                "key": self.state_key,
                "data": data,
            }
            await self._hass.async_add_executor_job(
                _write_now, self.state_path, json_bytes(envelope).decode()
            )

    async def async_remove(self) -> None:
        """Delete the stored network and its node state (the config entry was removed)."""
        await self._store.async_remove()
        await self._state_store.async_remove()


_LEGACY_V1 = "legacy_v1"


class _StateStore(Store[dict[str, Any]]):
    """The node state file; version 1 (0.1) is migrated at load, with the database's help."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        if old_major_version == 1:
            # Turning it into a node state needs the network (our address, the database's
            # copy of the same values): MeshStore._async_load_state does it.
            return {_LEGACY_V1: old_data}
        raise NotImplementedError(f"unknown node state version {old_major_version}")


def _keep_copy(source: Path, stamp: str) -> Path | None:
    """Copy ``source`` to a new ``<name>.corrupt-<stamp>[-n]`` (see ``_async_backup``)."""
    if not source.exists():
        return None
    earlier = sorted(source.parent.glob(f"{glob.escape(source.name)}.corrupt-*"))
    for copy in earlier:
        if filecmp.cmp(source, copy, shallow=False):
            return copy
    for attempt in range(1, 1000):
        suffix = stamp if attempt == 1 else f"{stamp}-{attempt}"
        target = source.with_name(f"{source.name}.corrupt-{suffix}")
        try:  # O_EXCL: an existing file is never written over
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
        return target
    raise FileExistsError(f"no free name for a copy of {source}")


def _write_now(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_utf8_file_atomic(str(path), text, private=True)


def _own_address(network: MeshNetwork) -> int | None:
    provisioner = network.local_provisioner
    node = network.node_by_uuid(provisioner.uuid) if provisioner is not None else None
    return node.unicast_address if node is not None else None


def _has_sent(network: MeshNetwork, own: int) -> bool:
    """Whether Home Assistant's node has talked to the network (it configured a node)."""
    return any(node.unicast_address != own and node.config_complete for node in network.nodes)
