"""The Configuration Manager: the background work a network owes its nodes.

Two kinds of work, in one pass at a time, whenever a proxy node is reachable:

* the automatic configuration of every node that is not configured yet (:mod:`.node_config`);
  a node that keeps failing gets the ``node_not_configured`` repair issue after
  :data:`CONFIG_ATTEMPTS_BEFORE_ISSUE` attempts;
* the Key Refresh in progress, or owed (:mod:`.key_refresh`); nodes that do not take a step
  get the ``key_refresh_stuck`` repair issue and the refresh waits in its phase.

Removing a node (the device page, the reset action, the options flow) resets it first; a node
that cannot be reset is removed anyway and gets the ``node_not_reset`` repair issue, which the
person closes once they have reset it by hand.

A failed pass is retried after :data:`CONFIG_RETRY_DELAY` seconds; new work (a node added, a
node removed, an action) runs at once. The manager talks to the mesh through a
:class:`~.client.MeshClient` (the runtime) and never imports the runtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .const import DOMAIN
from .devices import bluetooth_address
from .discovery import async_rediscover
from .exceptions import MeshCommunicationError
from .key_refresh import KeyRefreshStuckError, async_refresh_keys, async_reset_node, node_label
from .mesh.database import Node
from .network_store import in_progress, work_pending
from .node_config import CompositionMismatchError, async_configure_node, reset_configuration
from .node_refresh import NodeRefreshError, async_confirm_device_key, async_refresh_device_key

if TYPE_CHECKING:
    from .client import MeshClient

_LOGGER = logging.getLogger(__name__)

CONFIG_ATTEMPTS_BEFORE_ISSUE = 3
CONFIG_RETRY_DELAY = 30.0
NODE_NOT_RESET = "node_not_reset"
"""The repair issue (and its translation key) of a removed node that could not be reset."""


@dataclass(frozen=True, slots=True)
class NodeRemoval:
    """What removing a node did."""

    reset: bool
    """The node confirmed Config Node Reset (else it was removed without being reset)."""
    key_refresh: bool
    """A Key Refresh started or is owed, to evict the keys the node knew."""


def node_not_reset_issue(entry_id: str, node: Node) -> str:
    """The id of the ``node_not_reset`` repair issue of ``node``."""
    return f"{NODE_NOT_RESET}_{entry_id}_{node.uuid.hex}"


class ConfigurationManager:
    """Configure new nodes and run the Key Refresh in the background (see the module)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        client: MeshClient,
        *,
        wake: Callable[[], None],
        all_configured: Callable[[], None],
    ) -> None:
        """``wake()`` reconnects a released link; ``all_configured()`` runs when no node is
        left to configure (the runtime stops preferring a node's own proxy then)."""
        self._hass = hass
        self._entry_id = entry_id
        self._client = client
        self._wake = wake
        self._all_configured = all_configured
        self._task: asyncio.Task[None] | None = None
        self._attempts: dict[str, int] = {}
        self._refused: set[str] = set()  # nodes whose composition does not fit: not retried
        self._cancel_retry: CALLBACK_TYPE | None = None
        self._refresh_stuck: list[Node] = []
        self._again = False
        self._running = False
        self._idle = asyncio.Event()  # no pass runs and none is due (see async_wait_idle)
        self._idle.set()

    @property
    def busy(self) -> bool:
        """Whether a pass runs now."""
        return self._task is not None and not self._task.done()

    def unconfigured(self) -> list[Node]:
        """The nodes still to configure (not provisioners' own, not excluded)."""
        network = self._client.store.network
        return [
            n
            for n in network.device_nodes()
            if not n.config_complete and not n.excluded and n.uuid.hex not in self._refused
        ]

    @property
    def refresh_waiting_for(self) -> list[Node]:
        """The nodes that did not take the last step of the Key Refresh (its repair issue)."""
        return list(self._refresh_stuck)

    def diagnostics(self) -> dict[str, Any]:
        """What the manager knows, for diagnostics (no key material)."""
        network = self._client.store.network
        return {
            "unconfigured_nodes": [f"{n.unicast_address:04X}" for n in self.unconfigured()],
            "configuration_attempts": dict(self._attempts),
            "refresh_phases": {
                str(k.index): int(k.phase) for k in network.net_keys if k.old_key is not None
            },
            "refresh_pending": work_pending(network),
            "refresh_waiting_for": [f"{n.unicast_address:04X}" for n in self._refresh_stuck],
        }

    # --- lifecycle ----------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Work may run from now on (when connected)."""
        self._running = True

    async def async_stop(self) -> None:
        """Cancel the pass and the retry timer."""
        self._running = False
        if self._cancel_retry is not None:
            self._cancel_retry()
            self._cancel_retry = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._idle.set()

    # --- what services and the device page ask for -------------------------------------------

    async def async_remove_node(self, node: Node) -> NodeRemoval:
        """Reset ``node``, remove it from the network and refresh the keys of the others.

        The node is removed even when it cannot be reset (out of reach, no proxy): the Key
        Refresh that follows makes the keys it still holds useless (MshPRT 1.1 §3.11.4). It
        then gets the ``node_not_reset`` repair issue: it still believes it belongs to the
        network until it is reset by hand. Either way the integration's page offers the
        device again at once (reset now, or once reset by hand): Home Assistant's Bluetooth
        matcher is asked to look again at the address it advertised from while unprovisioned,
        which alone would show it nothing new.
        """
        client, network = self._client, self._client.store.network
        reset = False
        address = bluetooth_address(self._hass, node)
        if client.unicast_address and client.available:  # released: the send reconnects
            reset = await async_reset_node(client, node)
        else:
            _LOGGER.warning(
                "Mesh node %s cannot be reset (no proxy node of %s is reachable); it is removed "
                "anyway, and the key refresh makes the keys it still holds useless",
                node_label(node),
                network.mesh_name,
            )
        if network.node_by_uuid(node.uuid) is None:
            # Removed meanwhile (a second request for the same node).
            return NodeRemoval(reset=reset, key_refresh=work_pending(network))
        started = await client.store.async_remove_node(node, iv_index=client.iv_index)
        # Looked up again: the reset device may have advertised as unprovisioned meanwhile
        # (its Device UUID at its address), which the earlier lookup could not see yet.
        async_rediscover(self._hass, bluetooth_address(self._hass, node) or address)
        _LOGGER.info(
            "Mesh node %s removed from network %s%s",
            node_label(node),
            network.mesh_name,
            "; key refresh started" if started else "",
        )
        if not reset:
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                node_not_reset_issue(self._entry_id, node),
                is_fixable=True,
                severity=ir.IssueSeverity.WARNING,
                translation_key=NODE_NOT_RESET,
                translation_placeholders={
                    "name": node.name or f"{node.unicast_address:04X}",
                    "address": f"{node.unicast_address:04X}",
                    "network": network.mesh_name,
                },
            )
        self.async_kick()
        return NodeRemoval(reset=reset, key_refresh=work_pending(network))

    async def async_wait_idle(self) -> None:
        """Return once no pass runs and none is due now (a retry later does not count).

        The options flow waits here, behind a progress step, for the Key Refresh that a
        removal started: when this returns, the refresh is complete, or waits for the nodes
        of :attr:`refresh_waiting_for`, or for a connection.
        """
        await self._idle.wait()

    async def async_start_key_refresh(self) -> bool:
        """Start a Key Refresh of every NetKey; False when one is already in progress."""
        if in_progress(self._client.store.network):
            return False
        await self._client.store.async_begin_key_refresh()
        self.async_kick()
        return True

    async def async_reconfigure_node(self, node: Node) -> None:
        """Run the automatic configuration of ``node`` again (see node_config)."""
        await self._client.store.async_update_node(node, reset_configuration)
        self.async_forget_attempts(node)
        self.async_kick()

    async def async_refresh_device_key(
        self, node: Node, *, static_oob: bytes | None = None
    ) -> None:
        """Give ``node`` a new device key in place (NPPI), then configure it again from its
        composition (see node_refresh); raises MeshCommunicationError.

        Refused while the node is being configured or a key refresh runs (they use its device
        key). The node takes the new key when our Link Close reaches it, which nothing
        acknowledges (the node may answer under either key): which key it uses is asked.
        """
        if self.busy or not node.config_complete or work_pending(self._client.store.network):
            raise NodeRefreshError(node.unicast_address, "node_busy")
        old = node.device_key
        new = await async_refresh_device_key(self._hass, self._client, node, static_oob=static_oob)
        store = self._client.store
        for key in (new, old):
            await store.async_update_node(node, _with_device_key(key))
            try:
                await async_confirm_device_key(self._client, node)
            except MeshCommunicationError:
                continue
            if key != new:
                raise NodeRefreshError(node.unicast_address, "not_taken")
            await store.async_update_node(node, reset_configuration)
            self.async_forget_attempts(node)
            self.async_kick()
            return
        await store.async_update_node(node, _with_device_key(new))  # the likelier one
        raise NodeRefreshError(node.unicast_address, "no_answer")

    def async_node_removed(self, node: Node) -> None:
        """Forget ``node``'s attempts and its repair issue."""
        self._attempts.pop(node.uuid.hex, None)
        ir.async_delete_issue(self._hass, DOMAIN, self._node_issue(node))
        self._refresh_stuck = [n for n in self._refresh_stuck if n is not node]

    @callback
    def async_forget_attempts(self, node: Node) -> None:
        """``node``'s configuration starts afresh (the reconfigure action)."""
        self._attempts.pop(node.uuid.hex, None)
        self._refused.discard(node.uuid.hex)

    @callback
    def async_kick(self) -> None:
        """Run pending work now rather than after the retry delay (connecting if released)."""
        if self._cancel_retry is not None:
            self._cancel_retry()
            self._cancel_retry = None
        if self.unconfigured() or work_pending(self._client.store.network):
            self._wake()
        self.async_schedule()

    @callback
    def async_schedule(self) -> None:
        """Start a pass when connected and there is work (or mark one to follow)."""
        if not self._running or not self._client.connected:
            if not self.busy:
                self._idle.set()
            return
        if self.busy:
            self._again = True  # picked up when the running pass ends
            return
        if not self.unconfigured() and not work_pending(self._client.store.network):
            self._idle.set()
            return
        self._idle.clear()
        self._task = self._hass.async_create_background_task(
            self._async_pass(), f"ble_mesh {self._client.store.network.mesh_name} configuration"
        )

    # --- the pass ------------------------------------------------------------------------------

    async def _async_pass(self) -> None:
        self._again = False
        again = False
        try:
            failed = await self._async_configure_pending()
            if self._client.connected and work_pending(self._client.store.network):
                failed = not await self._async_refresh_keys() or failed
            again = self._again and self._running
            if again:
                self._hass.loop.call_soon(self.async_schedule)  # asked for during the pass
            elif failed and self._running:
                if self._cancel_retry is not None:
                    self._cancel_retry()
                self._cancel_retry = async_call_later(self._hass, CONFIG_RETRY_DELAY, self._retry)
        finally:
            if not again:  # (else the next pass decides)
                self._idle.set()

    @callback
    def _retry(self, _now: object) -> None:
        self._cancel_retry = None
        self.async_schedule()

    def _node_issue(self, node: Node) -> str:
        return f"node_not_configured_{self._entry_id}_{node.uuid.hex}"

    def _node_issue_raise(
        self, node: Node, key: str, severity: ir.IssueSeverity, **placeholders: str
    ) -> None:
        """The repair issue of ``node`` (one per node), with the ``key`` text."""
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self._node_issue(node),
            is_fixable=False,
            severity=severity,
            translation_key=key,
            translation_placeholders={
                "name": node.name or f"{node.unicast_address:04X}",
                "address": f"{node.unicast_address:04X}",
                "network": self._client.store.network.mesh_name,
                **placeholders,
            },
        )

    async def _async_configure_pending(self) -> bool:
        """Configure every unconfigured node; True when one of them failed."""
        failed = False
        client = self._client
        network = client.store.network
        for node in self.unconfigured():
            if not client.connected:
                return failed
            if network.node_by_uuid(node.uuid) is None:
                continue  # removed meanwhile
            key = node.uuid.hex
            try:
                await async_configure_node(client, node)
            except CompositionMismatchError as err:
                # Trying again cannot help: say so once and leave the database as it is.
                failed = True
                self._refused.add(key)
                _LOGGER.info("Mesh node %04X not configured: %s", node.unicast_address, err)
                self._node_issue_raise(
                    node,
                    "node_composition_mismatch",
                    ir.IssueSeverity.ERROR,
                    provisioned=str(err.provisioned),
                    reported=str(err.reported),
                )
                continue
            except MeshCommunicationError as err:
                failed = True
                attempts = self._attempts.get(key, 0) + 1
                self._attempts[key] = attempts
                _LOGGER.info(
                    "Configuring mesh node %04X failed (attempt %d): %s",
                    node.unicast_address,
                    attempts,
                    err,
                )
                if attempts >= CONFIG_ATTEMPTS_BEFORE_ISSUE:
                    self._node_issue_raise(
                        node, "node_not_configured", ir.IssueSeverity.WARNING, error=str(err)
                    )
                continue
            self._attempts.pop(key, None)
            ir.async_delete_issue(self._hass, DOMAIN, self._node_issue(node))
            if not self.unconfigured():
                self._all_configured()
            _LOGGER.debug("Mesh node %04X configured", node.unicast_address)
        return failed

    async def _async_refresh_keys(self) -> bool:
        """Run the Key Refresh; False (and the repair issue) when nodes did not take a step."""
        issue_id = f"key_refresh_stuck_{self._entry_id}"
        network = self._client.store.network
        try:
            await async_refresh_keys(self._client)
        except KeyRefreshStuckError as err:
            if not self._client.connected:
                return False  # the connection went away: resumed on the next one
            self._refresh_stuck = err.nodes
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="key_refresh_stuck",
                translation_placeholders={
                    "network": network.mesh_name,
                    "phase": str(err.phase),
                    "nodes": ", ".join(node_label(n) for n in err.nodes),
                },
            )
            return False
        except MeshCommunicationError as err:
            _LOGGER.info("Key refresh of %s interrupted: %s", network.mesh_name, err)
            return False
        self._refresh_stuck = []
        ir.async_delete_issue(self._hass, DOMAIN, issue_id)
        return True


def _with_device_key(key: bytes | None) -> Callable[[Node], None]:
    """A store change: the node's device key is ``key``."""

    def change(node: Node) -> None:
        node.device_key = key

    return change
