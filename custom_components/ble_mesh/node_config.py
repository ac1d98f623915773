"""Automatic configuration of a freshly provisioned node (the Configuration Manager's job).

Steps, each sent with the node's device key (MshPRT 1.1 §4.3.2) unless said otherwise, each
result recorded through the network store before the next step:

1. Config Composition Data Get, page 0: the node's CID/PID/VID/CRPL, features, elements and
   models go into the database record (and the device registry).
2. Config AppKey Add: AppKey 0, the key the entities use (during a Key Refresh, the one the
   network transmits with: see :func:`~.network_store.app_key_for_new_node`).
3. Config Model App Bind: AppKey 0 to every server model the registry configures and to the
   clients of wall switches (:data:`~.mesh.models.registry.CONFIGURED_MODELS`).
4. Config Model Publication Set, to Home Assistant's unicast address with AppKey 0: each
   element's primary light server (state by push), the servers the registry publishes (Health
   faults as they come, sensor readings every 10 s, battery hourly) and the clients of wall
   switches (their presses become events), unless a group was chosen for those.
5. Sensor Descriptor Get (with AppKey 0) on each Sensor Server: which properties it measures.
6. ``configComplete`` is set (the store tells the platforms: the node's entities appear).

:func:`reset_configuration` forgets these records (the ``reconfigure_node`` action), so that
the whole configuration runs again.

Resumable: every step records its result in the database before the next one, and a step
whose result is already recorded is skipped. An interrupted configuration is simply run again
(the runtime does that on the next connection); a step repeated on the node is harmless
(AppKey Add of the same key answers "already stored" or success, binding twice succeeds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .const import APP_KEY_INDEX
from .exceptions import MeshCommunicationError
from .mesh.access import Message
from .mesh.database import (
    CdbElement,
    CdbPublishPeriod,
    CdbRetransmit,
    Features,
    MeshNetwork,
    Model,
    Node,
    NodeKey,
    Publish,
    address_value,
)
from .mesh.models.common import STEP_SECONDS, ModelId, PublishPeriod, Retransmit
from .mesh.models.composition import CompositionDataPage0
from .mesh.models.config import (
    ConfigAppKeyAdd,
    ConfigAppKeyStatus,
    ConfigCompositionDataGet,
    ConfigCompositionDataStatus,
    ConfigModelAppBind,
    ConfigModelAppStatus,
    ConfigModelPublicationSet,
    ConfigModelPublicationStatus,
    ConfigStatus,
    FeatureState,
)
from .mesh.models.model_ids import HEALTH_SERVER, SENSOR_SERVER
from .mesh.models.registry import (
    BY_ID,
    CONFIGURED_MODELS,
    PUBLISHING_MODELS,
    SWITCH_CLIENT_MODELS,
    primary_light_model,
)
from .mesh.models.sensors import SensorDescriptorGet, SensorDescriptorStatus
from .network_store import app_key_for_new_node

if TYPE_CHECKING:
    from .client import MeshClient

# Publish TTL 0xFF: the node uses its Default TTL (MshPRT 1.1 §4.2.3.4).
PUBLISH_TTL_DEFAULT = 0xFF


class CompositionMismatchError(MeshCommunicationError):
    """The node reports more or fewer elements than the addresses it was given.

    Its unicast range was assigned for the element count in its Provisioning Capabilities; a
    composition that changed needs the Node Composition Refresh procedure (MshPRT 1.1
    §3.11.8.5), and a larger one would run into the next node's addresses. Nothing is recorded.
    """

    def __init__(self, address: int, provisioned: int, reported: int) -> None:
        """Name the node and both counts."""
        super().__init__(
            "composition_mismatch",
            address=f"{address:04X}",
            provisioned=str(provisioned),
            reported=str(reported),
        )
        self.provisioned = provisioned
        self.reported = reported


class ConfigurationRefusedError(MeshCommunicationError):
    """The node answered a configuration step with an error status."""

    def __init__(self, address: int, step: str, status: ConfigStatus) -> None:
        """Name the step and the node's status code."""
        super().__init__("send_failed", address=f"{address:04X}", reason=f"{step}: {status.name}")


M = TypeVar("M", bound=Message)


async def _request(client: MeshClient, node: Node, message: Message, expect: type[M]) -> M:
    # In the background: users' commands go out first.
    response = await client.async_send(
        node.unicast_address, message, device_key=True, expect=expect, background=True
    )
    assert isinstance(response, expect)
    return response


def apply_composition(node: Node, page: CompositionDataPage0) -> None:
    """Record Composition Data page 0 in the node's database record (keeping what it had)."""
    node.cid, node.pid, node.vid, node.crpl = page.cid, page.pid, page.vid, page.crpl
    features = node.features or Features()
    for name, supported in (
        ("relay", page.relay),
        ("proxy", page.proxy),
        ("friend", page.friend),
        ("low_power", page.low_power),
    ):
        if not supported:
            setattr(features, name, FeatureState.NOT_SUPPORTED)
    node.features = features
    elements: list[CdbElement] = []
    for index, composed in enumerate(page.elements):
        old = node.elements[index] if index < len(node.elements) else None
        element = CdbElement(
            index=index, location=composed.location, name=old.name if old else None
        )
        for model_id in composed.models:
            kept = old.model(model_id.model_id, model_id.company_id) if old else None
            element.models.append(kept or Model(model_id.model_id, model_id.company_id))
        elements.append(element)
    node.elements = elements


def reset_configuration(node: Node) -> None:
    """Forget what the configuration recorded, so that it runs again from step 1.

    The composition data is read again; AppKey 0, its bindings to the light servers and
    their publications are sent again (each is harmless to repeat on the node).
    """
    node.config_complete = False
    node.cid = None
    node.app_keys = [k for k in node.app_keys if k.index != APP_KEY_INDEX]
    for element in node.elements:
        for model in element.models:
            if model.is_vendor or model.model_id not in CONFIGURED_MODELS:
                continue
            model.bind = [i for i in model.bind if i != APP_KEY_INDEX]
            model.publish = None


def bind_app_key(model: Model) -> Callable[[Node], None]:
    """A store change: ``model`` is bound to AppKey 0."""

    def change(_node: Node) -> None:
        if APP_KEY_INDEX not in model.bind:
            model.bind.append(APP_KEY_INDEX)

    return change


def set_publication(model: Model, publish: Publish) -> Callable[[Node], None]:
    """A store change: ``model`` publishes as ``publish`` says."""

    def change(_node: Node) -> None:
        model.publish = publish

    return change


def _check(node: Node, step: str, status: ConfigStatus, *accepted: ConfigStatus) -> None:
    if status is not ConfigStatus.SUCCESS and status not in accepted:
        raise ConfigurationRefusedError(node.unicast_address, step, status)


def _check_element_count(network: MeshNetwork, node: Node, reported: int) -> None:
    """Refuse a composition that does not fit the node's addresses (see the error)."""
    if node.elements:  # provisioned here (or imported with its elements): the count is known
        if reported != node.element_count:
            raise CompositionMismatchError(node.unicast_address, node.element_count, reported)
        return
    wanted = set(range(node.unicast_address, node.unicast_address + max(1, reported)))
    for other in network.nodes:
        if other is not node and wanted.intersection(other.addresses):
            raise CompositionMismatchError(node.unicast_address, node.element_count, reported)


async def async_configure_node(client: MeshClient, node: Node) -> None:
    """Run (or resume) the configuration of ``node``; raises MeshCommunicationError."""
    store = client.store
    if node.cid is None or not any(e.models for e in node.elements):
        composition = await _request(
            client, node, ConfigCompositionDataGet(0), ConfigCompositionDataStatus
        )
        try:
            page = composition.page0()
        except Exception as err:
            raise MeshCommunicationError(
                "send_failed", address=f"{node.unicast_address:04X}", reason=str(err)
            ) from err
        _check_element_count(store.network, node, len(page.elements))
        await store.async_update_node(node, lambda n: apply_composition(n, page))

    app_key = store.network.app_key(APP_KEY_INDEX)
    if app_key is None:
        raise MeshCommunicationError(
            "send_failed", address=f"{node.unicast_address:04X}", reason="no application key"
        )
    if not node.has_app_key(APP_KEY_INDEX):
        key, updated = app_key_for_new_node(store.network, app_key)
        added = await _request(
            client,
            node,
            ConfigAppKeyAdd(app_key.bound_net_key, app_key.index, key),
            ConfigAppKeyStatus,
        )
        _check(node, "AppKey Add", added.status, ConfigStatus.KEY_INDEX_ALREADY_STORED)
        await store.async_update_node(
            node, lambda n: n.app_keys.append(NodeKey(APP_KEY_INDEX, updated=updated))
        )

    own = client.unicast_address
    for element in node.elements:
        element_address = node.unicast_address + element.index
        for model in element.models:
            if model.is_vendor or model.model_id not in CONFIGURED_MODELS:
                continue
            if APP_KEY_INDEX in model.bind:
                continue
            bound = await _request(
                client,
                node,
                ConfigModelAppBind(element_address, APP_KEY_INDEX, ModelId(model.model_id)),
                ConfigModelAppStatus,
            )
            _check(node, "Model App Bind", bound.status)
            await store.async_update_node(node, bind_app_key(model))
        for model in published_to_us(element):
            if model.publish is not None and (
                model.model_id in SWITCH_CLIENT_MODELS  # a group chosen in the options stays
                or address_value(model.publish.address) == own
            ):
                continue
            spec = BY_ID.get(model.model_id)
            period = spec.published if spec is not None and spec.published else PublishPeriod(0)
            await async_publish_to(client, node, element_address, model, own, period)

    for element in node.elements:
        sensor = element.model(SENSOR_SERVER)
        if sensor is not None and sensor.sensor_properties is None:
            await _async_read_sensor_properties(client, node, element, sensor)

    await store.async_node_configured(node)  # entities appear once the node can be controlled


def published_to_us(element: CdbElement) -> list[Model]:
    """The models of ``element`` whose messages Home Assistant is to hear (MshMDL 1.1 §7.1).

    The element's light (its richest model: the status of every part of the light), the
    servers the registry marks (Health faults, sensor readings, battery) and the clients of
    wall switches and remotes.
    """
    sig = [m for m in element.models if not m.is_vendor]
    spec = primary_light_model({m.model_id for m in sig})
    return [
        m
        for m in sig
        if (spec is not None and m.model_id == spec.model_id)
        or m.model_id in PUBLISHING_MODELS
        or m.model_id in SWITCH_CLIENT_MODELS
    ]


async def async_publish_to(
    client: MeshClient,
    node: Node,
    element_address: int,
    model: Model,
    address: int,
    period: PublishPeriod,
) -> None:
    """Config Model Publication Set: ``model`` publishes to ``address`` with AppKey 0."""
    published = await _request(
        client,
        node,
        ConfigModelPublicationSet(
            element_address=element_address,
            publish_address=address,
            app_key_index=APP_KEY_INDEX,
            credential_flag=False,
            publish_ttl=PUBLISH_TTL_DEFAULT,
            publish_period=period,
            publish_retransmit=Retransmit(0, 0),
            model_id=ModelId(model.model_id),
        ),
        ConfigModelPublicationStatus,
    )
    _check(node, "Model Publication Set", published.status)
    publish = Publish(
        address=address,
        index=APP_KEY_INDEX,
        ttl=PUBLISH_TTL_DEFAULT,
        period=CdbPublishPeriod(period.steps, round(STEP_SECONDS[period.resolution] * 1000)),
        credentials=0,
        retransmit=CdbRetransmit(0, 50),
    )
    await client.store.async_update_node(node, set_publication(model, publish))


async def _async_read_sensor_properties(
    client: MeshClient, node: Node, element: CdbElement, sensor: Model
) -> None:
    """Sensor Descriptor Get: which properties the element measures (its sensor entities)."""
    status = await client.async_send(
        node.unicast_address + element.index,
        SensorDescriptorGet(),
        expect=SensorDescriptorStatus,
        background=True,
    )
    assert isinstance(status, SensorDescriptorStatus)
    properties = [d.property_id for d in status.descriptors]

    def change(_node: Node) -> None:
        sensor.sensor_properties = properties

    await client.store.async_update_node(node, change)


async def async_ensure_health_bound(client: MeshClient, node: Node) -> None:
    """Bind AppKey 0 to the primary element's Health Server if it is not (Attention needs it).

    The automatic configuration binds it; a node configured by an earlier version was not.
    """
    element = node.elements[0] if node.elements else None
    model = element.model(HEALTH_SERVER) if element is not None else None
    if model is None or APP_KEY_INDEX in model.bind:
        return
    bound = await _request(
        client,
        node,
        ConfigModelAppBind(node.unicast_address, APP_KEY_INDEX, ModelId(HEALTH_SERVER)),
        ConfigModelAppStatus,
    )
    _check(node, "Model App Bind", bound.status)
    await client.store.async_update_node(node, bind_app_key(model))
