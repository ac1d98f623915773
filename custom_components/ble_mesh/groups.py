"""Mesh groups: a group address the members' light servers subscribe to (MshPRT 1.1 §3.4.2.4).

Creating a group allocates an address from Home Assistant's group range, records the group,
then sends Config Model Subscription Add (device key, acknowledged) for every light server
model of every member element: Generic OnOff, Light Lightness, CTL, HSL, xyL and the Scene
servers, so one group-addressed Set (or Scene Store / Recall) reaches all members. Each
subscription is recorded in the database models' ``subscribe`` lists as soon as the node
confirms it, so the database always says what the nodes hold. The proxy's accept list gains
the group, and the light platform adds a group light (``SIGNAL_GROUP_ADDED``).

Deleting sends Subscription Delete to the members; a member out of reach keeps its
subscription (recorded as such) and is named to the caller, the group goes all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from typing import TYPE_CHECKING

from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import SIGNAL_GROUP_ADDED, SIGNAL_GROUP_REMOVED
from .exceptions import MeshCommunicationError
from .mesh.database import Element, Group, Model, Node
from .mesh.models import model_ids as ids
from .mesh.models.common import ModelId
from .mesh.models.config import (
    ConfigModelAppBind,
    ConfigModelAppStatus,
    ConfigModelSubscriptionAdd,
    ConfigModelSubscriptionDelete,
    ConfigModelSubscriptionStatus,
    ConfigStatus,
)
from .node_config import APP_KEY_INDEX, ConfigurationRefusedError

if TYPE_CHECKING:
    from .runtime import MeshRuntime

_LOGGER = logging.getLogger(__name__)

# The server models a group-addressed light command or scene message is handled by (MshMDL
# 1.1 §7.1 message tables): Scene Store is the Scene Setup Server's.
GROUP_MODELS: tuple[int, ...] = (
    ids.GENERIC_ONOFF_SERVER,
    ids.LIGHT_LIGHTNESS_SERVER,
    ids.LIGHT_CTL_SERVER,
    ids.LIGHT_HSL_SERVER,
    ids.LIGHT_XYL_SERVER,
    ids.SCENE_SERVER,
    ids.SCENE_SETUP_SERVER,
)


@dataclass(slots=True)
class Member:
    """One element of a group: its node, the element and the element's unicast address."""

    node: Node
    element: Element

    @property
    def address(self) -> int:
        """The element's unicast address."""
        return self.node.unicast_address + self.element.index

    def models(self) -> list[Model]:
        """The element's models a group message is handled by."""
        return [m for wanted in GROUP_MODELS if (m := self.element.model(wanted)) is not None]


@dataclass(slots=True)
class DeleteResult:
    """What deleting a group did: the members that could not be told (they keep it)."""

    unreachable: list[Node] = field(default_factory=list)


def group_unique_id(mesh_uuid: str, address: int) -> str:
    """The unique id of a group's light entity: the network's UUID and the group address."""
    return f"{mesh_uuid}_group_{address:04x}"


def members(runtime: MeshRuntime, address: int) -> list[Member]:
    """The elements whose group models subscribe to ``address``, per the database."""
    return [
        Member(node, element)
        for node in runtime.network.nodes
        for element in node.elements
        if any(address in m.subscribe for m in Member(node, element).models())
    ]


def all_members(runtime: MeshRuntime) -> list[Member]:
    """Every element of the network with a model a group (or all-nodes) message reaches."""
    return [
        member
        for node in runtime.network.nodes
        for element in node.elements
        if (member := Member(node, element)).models()
    ]


def member_at(runtime: MeshRuntime, address: int) -> Member | None:
    """The element with this unicast address, when it has a model a group can address."""
    found = runtime.network.element_at(address)
    if found is None:
        return None
    member = Member(*found)
    return member if member.models() else None


async def _request_status(
    runtime: MeshRuntime, member: Member, message: ConfigModelSubscriptionAdd
) -> None:
    status = await runtime.async_send(
        member.node.unicast_address,
        message,
        device_key=True,
        expect=ConfigModelSubscriptionStatus,
    )
    assert isinstance(status, ConfigModelSubscriptionStatus)
    if status.status is not ConfigStatus.SUCCESS:
        raise ConfigurationRefusedError(
            member.node.unicast_address, "Model Subscription Add", status.status
        )


async def _async_subscribe(runtime: MeshRuntime, member: Member, address: int) -> None:
    for model in member.models():
        if model.model_id == ids.SCENE_SETUP_SERVER and APP_KEY_INDEX not in model.bind:
            # Scene Store needs it bound; nodes configured before node_config bound it do not
            # have it yet (binding again is harmless).
            bound = await runtime.async_send(
                member.node.unicast_address,
                ConfigModelAppBind(member.address, APP_KEY_INDEX, ModelId(model.model_id)),
                device_key=True,
                expect=ConfigModelAppStatus,
            )
            assert isinstance(bound, ConfigModelAppStatus)
            if bound.status is not ConfigStatus.SUCCESS:
                raise ConfigurationRefusedError(
                    member.node.unicast_address, "Model App Bind", bound.status
                )
            model.bind.append(APP_KEY_INDEX)
        if address in model.subscribe:
            continue
        await _request_status(
            runtime,
            member,
            ConfigModelSubscriptionAdd(member.address, address, ModelId(model.model_id)),
        )
        model.subscribe.append(address)


async def _async_unsubscribe(runtime: MeshRuntime, member: Member, address: int) -> None:
    for model in member.models():
        if address not in model.subscribe:
            continue
        status = await runtime.async_send(
            member.node.unicast_address,
            ConfigModelSubscriptionDelete(member.address, address, ModelId(model.model_id)),
            device_key=True,
            expect=ConfigModelSubscriptionStatus,
        )
        assert isinstance(status, ConfigModelSubscriptionStatus)
        # A model that does not hold the address (any status) no longer listens to it either.
        model.subscribe.remove(address)


async def async_create_group(runtime: MeshRuntime, name: str, elements: list[Member]) -> Group:
    """Allocate, record and subscribe a new group; raises MeshCommunicationError.

    On a failure the subscriptions already made are taken back (best effort) and the group
    is not kept: the caller can simply try again.
    """
    network = runtime.network
    provisioner = network.local_provisioner
    assert provisioner is not None
    address = network.allocate_group_address(provisioner.uuid)  # raises AllocationError
    group = network.add_group(name, address)
    try:
        for member in elements:
            await _async_subscribe(runtime, member, address)
    except MeshCommunicationError:
        for member in elements:
            try:
                await _async_unsubscribe(runtime, member, address)
            except MeshCommunicationError as err:
                _LOGGER.debug("Undoing subscription of %04X failed: %s", member.address, err)
        network.remove_group(address)
        await runtime.async_save()
        raise
    await runtime.async_save()
    runtime.async_add_group_to_filter(address)
    async_dispatcher_send(runtime.hass, SIGNAL_GROUP_ADDED.format(runtime.entry_id), group)
    _LOGGER.debug("Mesh group %s created at %04X", name, address)
    return group


async def async_delete_group(runtime: MeshRuntime, group: Group) -> DeleteResult:
    """Unsubscribe the members, then remove the group (and its light)."""
    address = group.destination
    result = DeleteResult()
    for member in members(runtime, address):
        try:
            await _async_unsubscribe(runtime, member, address)
        except MeshCommunicationError as err:
            _LOGGER.warning(
                "Mesh node %04X keeps its subscription to group %04X: %s",
                member.node.unicast_address,
                address,
                err,
            )
            if member.node not in result.unreachable:
                result.unreachable.append(member.node)
    runtime.network.remove_group(group.address)
    await runtime.async_save()
    runtime.async_remove_group_from_filter(address)
    async_dispatcher_send(runtime.hass, SIGNAL_GROUP_REMOVED.format(runtime.entry_id), address)
    return result
