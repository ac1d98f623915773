"""Options flow of a mesh network: groups, removing a device, connection settings.

A menu, then a form. The settings form (idle release of the proxy connection) is stored in
``entry.options`` and applied to the running network without a reload (``__init__``'s update
listener). For the groups, the work on the nodes (Config Model Subscription Add / Delete, one
acknowledged message per model) runs in a task behind a progress step, as provisioning does
(STYLE item 11), because a node out of reach takes its retransmissions' worth of time to say
so. The mesh work itself is :mod:`.groups`; this module only asks and maps its errors, once,
to the translated form errors (``options.error`` in strings.json).

Removing a device says first what will happen (reset, removal, a Key Refresh of the other
nodes), then shows the reset and the Key Refresh as two progress steps, then what happened.

How a flow ends: the options dialog has no title of its own for an abort (the frontend does
not load the integration's title there) and shows only "Options successfully saved." for a
created entry. So the outcome of a piece of work is a form step with a title, its description
and no fields (a *result step*); its *Finish* button ends the flow as Home Assistant's options
flows end (the entry with its options unchanged). Nothing ends with an abort.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_NAME, Platform
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_IDLE_SECONDS,
    CONF_RELEASE_WHEN_IDLE,
    CONF_SWITCHES_AS_LIGHTS,
    DEFAULT_IDLE_SECONDS,
    MAX_IDLE_SECONDS,
    MIN_IDLE_SECONDS,
)
from .devices import async_remove_node_device, element_unique_id
from .exceptions import MeshCommunicationError, MeshNotConnectedError, MeshTimeoutError
from .groups import Member, async_create_group, async_delete_group, member_at
from .key_refresh import node_label
from .mesh.database import AllocationError, CdbElement, Group, Node
from .mesh.models.common import PublishPeriod
from .mesh.models.registry import SWITCH_CLIENT_MODELS, is_switch
from .network_store import targets, work_pending
from .node_config import async_publish_to
from .remote_scan import SCAN_SECONDS
from .runtime import MeshRuntime

CONF_LIGHTS = "lights"
CONF_GROUP = "group"
CONF_NODE = "node"
CONF_SWITCH = "switch"
CONF_TARGET = "target"
TARGET_HOME_ASSISTANT = "home_assistant"

# A group's members: lights, and the plugs and relays shown as switches (Generic OnOff).
GROUP_MEMBER_DOMAINS = (Platform.LIGHT, Platform.SWITCH)


@dataclass(slots=True)
class _Work:
    """The running operation (on a group, or a removal) and what it ended with."""

    action: str  # progress action, and the step to go back to on an error
    next_step: str = "finish"  # the step after the work succeeded
    step: str = "progress"  # the progress step (its title)
    progress: dict[str, str] = field(default_factory=dict)  # the progress text's placeholders
    task: asyncio.Task[None] | None = None
    error: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)
    shown: bool = False


class BleMeshOptionsFlow(OptionsFlow):
    """Manage the groups and the connection settings of one mesh network."""

    def __init__(self) -> None:
        """Nothing running yet."""
        self._work: _Work | None = None
        self._failure: tuple[str, dict[str, str]] | None = None
        self._input: dict[str, Any] = {}
        self._result: tuple[str, dict[str, str]] = ("group_created", {})
        self._removed: tuple[Node, bool] | None = None  # the node removed, and whether reset

    @property
    def _runtime(self) -> MeshRuntime:
        runtime: MeshRuntime = self.config_entry.runtime_data
        return runtime

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create a group, or delete one when there are any; remove a device; the settings."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return await self.async_step_not_loaded()
        options = ["create_group"]
        if self._runtime.network.groups:
            options.append("delete_group")
        if self._removable():
            options.append("remove_node")
        if self._wall_switches():
            options.append("wall_switch")
        if self._runtime.remote_scanner.servers():
            options.append("search_remote")
        options.append("settings")
        return self.async_show_menu(step_id="init", menu_options=options)

    async def async_step_not_loaded(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The network is not running: say so; *Try again* looks again."""
        if user_input is not None and self.config_entry.state is ConfigEntryState.LOADED:
            return await self.async_step_init()
        return self.async_show_form(
            step_id="not_loaded", description_placeholders={"network": self.config_entry.title}
        )

    # --- settings ------------------------------------------------------------------------

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Release the proxy connection when idle (off by default), and after how long."""
        switches = self._onoff_elements()
        if user_input is not None:
            return self.async_create_entry(
                data={
                    **self.config_entry.options,
                    CONF_RELEASE_WHEN_IDLE: bool(user_input[CONF_RELEASE_WHEN_IDLE]),
                    CONF_IDLE_SECONDS: int(user_input[CONF_IDLE_SECONDS]),
                    CONF_SWITCHES_AS_LIGHTS: [
                        u for u in user_input.get(CONF_SWITCHES_AS_LIGHTS, []) if u in switches
                    ],
                }
            )
        fields: dict[Any, Any] = {}
        if switches:
            fields[vol.Optional(CONF_SWITCHES_AS_LIGHTS, default=[])] = SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(value=u, label=n) for u, n in switches.items()],
                    multiple=True,
                    mode=SelectSelectorMode.LIST,
                )
            )
        schema = vol.Schema(
            {
                **fields,
                vol.Required(CONF_RELEASE_WHEN_IDLE, default=False): BooleanSelector(),
                vol.Required(CONF_IDLE_SECONDS, default=DEFAULT_IDLE_SECONDS): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_IDLE_SECONDS,
                        max=MAX_IDLE_SECONDS,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(schema, self.config_entry.options),
        )

    def _onoff_elements(self) -> dict[str, str]:
        """Elements with Generic OnOff and no light model (switches), by unique ID: labels."""
        runtime = self._runtime
        found: dict[str, str] = {}
        for node in runtime.network.device_nodes():
            for element in node.elements:
                if is_switch(element.sig_model_ids):
                    address = node.unicast_address + element.index
                    found[element_unique_id(runtime.mesh_uuid, address)] = _label(node, element)
        return found

    # --- wall switches -----------------------------------------------------------------------

    def _wall_switches(self) -> dict[str, tuple[Node, CdbElement]]:
        """Elements with a switch client model (wall switches, remotes), by address."""
        return {
            f"{node.unicast_address + element.index:04x}": (node, element)
            for node in self._runtime.network.device_nodes()
            for element in node.elements
            if any(element.model(m) is not None for m in SWITCH_CLIENT_MODELS)
        }

    async def async_step_wall_switch(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A wall switch and what it drives: Home Assistant only, or a group (and HA)."""
        switches = self._wall_switches()
        groups = {f"{g.destination:04x}": g for g in self._runtime.network.groups}
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            chosen = switches.get(user_input[CONF_SWITCH])
            target = user_input[CONF_TARGET]
            if chosen is None:
                errors[CONF_SWITCH] = "node_gone"
            elif target != TARGET_HOME_ASSISTANT and target not in groups:
                errors[CONF_TARGET] = "group_gone"
            else:
                group = groups.get(target)
                return await self._async_start(
                    "wall_switch", self._async_set_switch_target(*chosen, group)
                )
        elif self._failure is not None:
            (errors["base"], placeholders), self._failure = self._failure, None
        targets = [SelectOptionDict(value=TARGET_HOME_ASSISTANT, label=self.config_entry.title)]
        targets += [
            SelectOptionDict(value=key, label=f"{g.name} ({g.destination:04X})")
            for key, g in groups.items()
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_SWITCH): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=key, label=_label(n, e))
                            for key, (n, e) in switches.items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_TARGET, default=TARGET_HOME_ASSISTANT): SelectSelector(
                    SelectSelectorConfig(options=targets, mode=SelectSelectorMode.LIST)
                ),
            }
        )
        return self.async_show_form(
            step_id="wall_switch",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_set_switch_target(
        self, node: Node, element: CdbElement, group: Group | None
    ) -> None:
        """Point the element's client models at the group (HA hears it) or at HA itself."""
        runtime = self._runtime
        address = group.destination if group is not None else runtime.unicast_address
        for model in element.models:
            if not model.is_vendor and model.model_id in SWITCH_CLIENT_MODELS:
                await async_publish_to(
                    runtime,
                    node,
                    node.unicast_address + element.index,
                    model,
                    address,
                    PublishPeriod(0),
                )
        self._result = (
            "switch_target_set",
            {
                "name": _label(node, element),
                "target": group.name if group is not None else self.config_entry.title,
            },
        )

    # --- create --------------------------------------------------------------------------

    def _lights(self) -> dict[str, Member]:
        """This network's element lights and switches (not its group lights), by entity id."""
        runtime = self._runtime
        prefix = f"{runtime.mesh_uuid}_"
        lights: dict[str, Member] = {}
        for entry in er.async_entries_for_config_entry(
            er.async_get(self.hass), self.config_entry.entry_id
        ):
            suffix = entry.unique_id.removeprefix(prefix)
            if entry.domain not in GROUP_MEMBER_DOMAINS or len(suffix) != 4:
                continue  # a group light ("group_c000") or something else
            member = member_at(runtime.network, int(suffix, 16))
            if member is not None:
                lights[entry.entity_id] = member
        return lights

    async def async_step_create_group(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A name and the lights that join the group."""
        lights = self._lights()
        if not lights:
            return await self.async_step_no_lights()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            self._input = user_input
            name = str(user_input[CONF_NAME]).strip()
            chosen = [lights[e] for e in user_input.get(CONF_LIGHTS, []) if e in lights]
            if not name:
                errors[CONF_NAME] = "name_required"
            elif not chosen:
                errors[CONF_LIGHTS] = "no_lights_selected"
            else:
                return await self._async_start("create_group", self._async_create(name, chosen))
        elif self._failure is not None:  # back from a failed attempt
            (errors["base"], placeholders), self._failure = self._failure, None
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_LIGHTS): EntitySelector(
                    EntitySelectorConfig(
                        domain=list(GROUP_MEMBER_DOMAINS),
                        multiple=True,
                        include_entities=sorted(lights),
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="create_group",
            data_schema=self.add_suggested_values_to_schema(schema, self._input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_no_lights(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """No light to group yet: say what to do first; *Back* returns to the menu."""
        if user_input is not None:
            return await self.async_step_init()
        return self.async_show_form(step_id="no_lights")

    async def _async_create(self, name: str, chosen: list[Member]) -> None:
        group = await async_create_group(self._runtime, name, chosen)
        self._result = (
            "group_created",
            {"name": group.name, "address": f"{group.destination:04X}"},
        )

    # --- delete --------------------------------------------------------------------------

    async def async_step_delete_group(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the group to delete."""
        groups = {f"{g.destination:04x}": g for g in self._runtime.network.groups}
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            group = groups.get(user_input[CONF_GROUP])
            if group is not None:
                return await self._async_start("delete_group", self._async_delete(group))
            errors[CONF_GROUP] = "group_gone"
        elif self._failure is not None:
            (errors["base"], placeholders), self._failure = self._failure, None
        options = [
            SelectOptionDict(value=key, label=f"{g.name} ({g.destination:04X})")
            for key, g in groups.items()
        ]
        return self.async_show_form(
            step_id="delete_group",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_GROUP): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
                    )
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_delete(self, group: Group) -> None:
        if not self._runtime.available:  # (released when idle: the first send reconnects)
            # Nothing could be told to the nodes: they would keep listening to the address.
            raise MeshNotConnectedError(self._runtime.network.mesh_name)
        result = await async_delete_group(self._runtime, group)
        placeholders = {"name": group.name, "address": f"{group.destination:04X}"}
        if result.unreachable:
            placeholders["nodes"] = ", ".join(
                n.name or f"{n.unicast_address:04X}" for n in result.unreachable
            )
            self._result = ("group_deleted_unreachable", placeholders)
        else:
            self._result = ("group_deleted", placeholders)

    # --- remove a device -------------------------------------------------------------------

    def _removable(self) -> dict[str, Node]:
        """The nodes a person can remove (not a provisioner's own, Home Assistant's included)."""
        return {n.uuid.hex: n for n in self._runtime.network.device_nodes()}

    async def async_step_remove_node(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the device (the next step says what removing it does, before it is done)."""
        nodes = self._removable()
        errors: dict[str, str] = {}
        if user_input is not None:
            node = nodes.get(user_input[CONF_NODE])
            if node is not None:
                self._removed = (node, False)
                return await self.async_step_remove_node_confirm()
            errors[CONF_NODE] = "node_gone"
        options = [
            SelectOptionDict(value=key, label=node_label(n))
            for key, n in sorted(nodes.items(), key=lambda item: item[1].unicast_address)
        ]
        return self.async_show_form(
            step_id="remove_node",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_NODE): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
            errors=errors,
            description_placeholders={"network": self.config_entry.title},
            last_step=False,
        )

    async def async_step_remove_node_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """What removing this device does; *Reset and remove* does it."""
        assert self._removed is not None
        node = self._removed[0]
        nodes = self._removable()
        if node.uuid.hex not in nodes:  # removed meanwhile (the device page, an action)
            return await self.async_step_remove_node({CONF_NODE: node.uuid.hex})
        if user_input is not None:
            return await self._async_start(
                "remove_node",
                self._async_remove(node),
                next_step="key_refresh",
                step="removing",
                progress=self._removed_placeholders(),
            )
        return self.async_show_form(
            step_id="remove_node_confirm",
            description_placeholders={
                **self._removed_placeholders(),
                "network": self.config_entry.title,
                "others": str(len(nodes) - 1),
            },
        )

    def _removed_placeholders(self) -> dict[str, str]:
        assert self._removed is not None
        node = self._removed[0]
        return {"name": node.name or f"{node.unicast_address:04X}"}

    async def _async_remove(self, node: Node) -> None:
        runtime = self._runtime
        removal = await runtime.nodes.async_remove_node(node)
        # As after Delete on the device page: the node's device (and its entities) go too.
        async_remove_node_device(self.hass, runtime.entry_id, runtime.mesh_uuid, node)
        self._removed = (node, removal.reset)

    async def async_step_key_refresh(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The node is out: wait, with its own progress text, while the other nodes get the
        new keys (or until the nodes that do not answer hold the refresh)."""
        return await self._async_start(
            "key_refresh",
            self._async_wait_for_keys(),
            step="removing",
            progress=self._removed_placeholders(),
        )

    async def _async_wait_for_keys(self) -> None:
        runtime = self._runtime
        await runtime.nodes.async_wait_idle()
        assert self._removed is not None
        reset = self._removed[1]
        placeholders = self._removed_placeholders()
        network = runtime.network
        if not work_pending(network):
            placeholders["count"] = str(len(self._removable()))
            self._result = ("node_removed" if reset else "node_removed_not_reset", placeholders)
            return
        # Waiting: for the nodes that did not take a step or, without a connection, for all.
        waiting = runtime.nodes.refresh_waiting_for or [
            n for key in network.net_keys for n in targets(network, key.index)
        ]
        placeholders["nodes"] = ", ".join(dict.fromkeys(node_label(n) for n in waiting))
        self._result = (
            "node_removed_keys_pending" if reset else "node_removed_not_reset_keys_pending",
            placeholders,
        )

    # --- search through the mesh ------------------------------------------------------------

    async def async_step_search_remote(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask every node with a Remote Provisioning Server to scan (remote_scan.py)."""
        servers = self._runtime.remote_scanner.servers()
        return await self._async_start(
            "search_remote",
            self._async_search(),
            progress={
                "count": str(len(servers)),
                "seconds": str(SCAN_SECONDS),
                "nodes": ", ".join(node_label(n) for n in servers),
            },
        )

    async def _async_search(self) -> None:
        found = await self._runtime.remote_scanner.async_scan()
        network = self._runtime.network
        lines = []
        for device in found:
            relay = network.node_by_address(device.server)
            through = node_label(relay) if relay is not None else f"{device.server:04X}"
            lines.append(f"{device.device_uuid}: {through}, {device.rssi} dBm")
        if found:
            self._result = ("remote_found", {"count": str(len(found)), "devices": "\n".join(lines)})
        else:
            self._result = ("remote_none", {})

    # --- the work behind the progress step -------------------------------------------------

    async def _async_start(
        self,
        action: str,
        work: Coroutine[Any, Any, None],
        *,
        next_step: str = "finish",
        step: str = "progress",
        progress: dict[str, str] | None = None,
    ) -> ConfigFlowResult:
        # The state exists before the task: it starts at once (eagerly) and writes to it.
        self._work = state = _Work(action, next_step, step, progress or {})
        state.task = self.hass.async_create_task(self._async_run(state, work))
        return await self.async_step_progress()

    async def _async_run(self, state: _Work, work: Coroutine[Any, Any, None]) -> None:
        """Run the operation; its failure becomes the form error (STYLE item 10)."""
        try:
            await work
        except AllocationError:
            state.error = "no_free_group_address"
        except MeshNotConnectedError:
            state.error = "not_connected"
        except MeshTimeoutError as err:
            state.error = "node_no_reply"
            state.placeholders = {"node": self._node_label(err)}
        except MeshCommunicationError as err:
            state.error = "node_refused"
            state.placeholders = {
                "node": self._node_label(err),
                "reason": (err.translation_placeholders or {}).get("reason", "-"),
            }

    def _node_label(self, err: MeshCommunicationError) -> str:
        address = (err.translation_placeholders or {}).get("address", "-")
        node = self._runtime.network.node_for_element(int(address, 16)) if address != "-" else None
        return f"{node.name} ({address})" if node is not None and node.name else address

    async def async_step_progress(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait for the nodes with a visible progress step."""
        work = self._work
        assert work is not None
        assert work.task is not None
        if not work.task.done() or not work.shown:
            work.shown = True
            return self.async_show_progress(
                step_id=work.step,
                progress_action=work.action,
                progress_task=work.task,
                description_placeholders=work.progress,
            )
        self._work = None
        if work.error is not None:
            self._failure = (work.error, work.placeholders)
            return self.async_show_progress_done(next_step_id=work.action)
        return self.async_show_progress_done(next_step_id=work.next_step)

    async def async_step_removing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The progress step of a removal (its own title)."""
        return await self.async_step_progress(user_input)

    async def async_step_finish(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Say what was done: the result step of the work (see the module)."""
        step_id, placeholders = self._result
        return self.async_show_form(step_id=step_id, description_placeholders=placeholders)

    async def _async_finished(self, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        """*Finish* on a result step: the flow ends, the entry's options as they were.

        Without input it is only a fetch of the step (the frontend fetches a flow after its
        progress step ends, and may do so twice when the work ends at once): the result is
        shown again, the flow goes on.
        """
        if user_input is None:
            return await self.async_step_finish()
        return self.async_create_entry(data=dict(self.config_entry.options))

    # One handler per result step (its own title and sentence); each only ends the flow.

    async def async_step_group_created(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the group was created."""
        return await self._async_finished(user_input)

    async def async_step_group_deleted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the group was deleted."""
        return await self._async_finished(user_input)

    async def async_step_group_deleted_unreachable(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the group was deleted; some of its nodes could not be reached."""
        return await self._async_finished(user_input)

    async def async_step_switch_target_set(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the wall switch publishes to its new target."""
        return await self._async_finished(user_input)

    async def async_step_remote_found(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: devices were found through the mesh; they are offered under Discovered."""
        return await self._async_finished(user_input)

    async def async_step_remote_none(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the nodes found no device to add."""
        return await self._async_finished(user_input)

    async def async_step_node_removed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the node was reset and removed; every other node has the new keys."""
        return await self._async_finished(user_input)

    async def async_step_node_removed_not_reset(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the node was removed without a reset; every other node has the new keys."""
        return await self._async_finished(user_input)

    async def async_step_node_removed_keys_pending(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: the node was reset and removed; the key refresh waits for some nodes."""
        return await self._async_finished(user_input)

    async def async_step_node_removed_not_reset_keys_pending(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Result: removed without a reset; the key refresh waits for some nodes."""
        return await self._async_finished(user_input)


def _label(node: Node, element: CdbElement) -> str:
    """A node's name and element address, e.g. "Wall Switch (0005)"."""
    address = f"{node.unicast_address + element.index:04X}"
    return f"{node.name} ({address})" if node.name else address
