"""Mesh groups: a group address the members' light servers subscribe to (MshPRT 1.1 §3.4.2.4).

Creating a group reserves an address from Home Assistant's group range, then sends Config
Model Subscription Add (device key, acknowledged) for every light server model of every member
element: Generic OnOff, Light Lightness, CTL, HSL, xyL and the Scene servers, so one
group-addressed Set (or Scene Store / Recall) reaches all members. Each subscription is
recorded (through the network store) in the database models' ``subscribe`` lists as soon as
the node confirms it, so the database always says what the nodes hold. Then the group itself
is recorded: the store tells the runtime (the proxy's accept list gains the group) and the
light platform (a group light).

Deleting sends Subscription Delete to the members; a member out of reach keeps its
subscription (recorded as such) and is named to the caller, the group goes all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
from typing import TYPE_CHECKING

from .const import APP_KEY_INDEX
from .exceptions import MeshCommunicationError
from .mesh.database import CdbElement, Group, MeshNetwork, Model, Node
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
from .mesh.models.registry import GROUP_MODELS
from .node_config import ConfigurationRefusedError, bind_app_key

if TYPE_CHECKING:
    from .client import MeshClient

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class Member:
    """One element of a group: its node, the element and the element's unicast address."""

    node: Node
    element: CdbElement

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


def members(network: MeshNetwork, address: int) -> list[Member]:
    """The elements whose group models subscribe to ``address``, per the database."""
    return [
        Member(node, element)
        for node in network.nodes
        for element in node.elements
        if any(address in m.subscribe for m in Member(node, element).models())
    ]


def all_members(network: MeshNetwork) -> list[Member]:
    """Every element of the network with a model a group (or all-nodes) message reaches."""
    return [
        member
        for node in network.nodes
        for element in node.elements
        if (member := Member(node, element)).models()
    ]


def member_at(network: MeshNetwork, address: int) -> Member | None:
    """The element with this unicast address, when it has a model a group can address."""
    found = network.element_at(address)
    if found is None:
        return None
    member = Member(*found)
    return member if member.models() else None


def _subscription(model: Model, address: int, subscribed: bool) -> Callable[[Node], None]:
    """A store change: ``model`` listens to ``address`` (or no longer does)."""

    def change(_node: Node) -> None:
        if subscribed and address not in model.subscribe:
            model.subscribe.append(address)
        elif not subscribed and address in model.subscribe:
            model.subscribe.remove(address)

    return change


async def _request_status(
    client: MeshClient, member: Member, message: ConfigModelSubscriptionAdd
) -> None:
    status = await client.async_send(
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


async def _async_subscribe(client: MeshClient, member: Member, address: int) -> None:
    for model in member.models():
        if model.model_id == ids.SCENE_SETUP_SERVER and APP_KEY_INDEX not in model.bind:
            # Scene Store needs it bound; nodes configured before node_config bound it do not
            # have it yet (binding again is harmless).
            bound = await client.async_send(
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
            await client.store.async_update_node(member.node, bind_app_key(model))
        if address in model.subscribe:
            continue
        await _request_status(
            client,
            member,
            ConfigModelSubscriptionAdd(member.address, address, ModelId(model.model_id)),
        )
        await client.store.async_update_node(member.node, _subscription(model, address, True))


async def _async_unsubscribe(client: MeshClient, member: Member, address: int) -> None:
    for model in member.models():
        if address not in model.subscribe:
            continue
        status = await client.async_send(
            member.node.unicast_address,
            ConfigModelSubscriptionDelete(member.address, address, ModelId(model.model_id)),
            device_key=True,
            expect=ConfigModelSubscriptionStatus,
        )
        assert isinstance(status, ConfigModelSubscriptionStatus)
        # A model that does not hold the address (any status) no longer listens to it either.
        await client.store.async_update_node(member.node, _subscription(model, address, False))


async def async_create_group(client: MeshClient, name: str, elements: list[Member]) -> Group:
    """Reserve an address, subscribe the members, record the group; raises
    MeshCommunicationError (AllocationError when the range is full).

    On a failure the subscriptions already made are taken back (best effort) and the group
    is not kept: the caller can simply try again.
    """
    store = client.store
    address = store.reserve_group_address()  # raises AllocationError
    try:
        for member in elements:
            await _async_subscribe(client, member, address)
    except MeshCommunicationError:
        for member in elements:
            try:
                await _async_unsubscribe(client, member, address)
            except MeshCommunicationError as err:
                _LOGGER.debug("Undoing subscription of %04X failed: %s", member.address, err)
        store.release_group_address(address)
        raise
    except BaseException:
        store.release_group_address(address)
        raise
    group = await store.async_add_group(name, address)  # ends the reservation
    _LOGGER.debug("Mesh group %s created at %04X", name, address)
    return group


async def async_delete_group(client: MeshClient, group: Group) -> DeleteResult:
    """Unsubscribe the members, then remove the group (and its light)."""
    address = group.destination
    result = DeleteResult()
    for member in members(client.store.network, address):
        try:
            await _async_unsubscribe(client, member, address)
        except MeshCommunicationError as err:
            _LOGGER.warning(
                "Mesh node %04X keeps its subscription to group %04X: %s",
                member.node.unicast_address,
                address,
                err,
            )
            if member.node not in result.unreachable:
                result.unreachable.append(member.node)
    await client.store.async_remove_group(group)
    return result
