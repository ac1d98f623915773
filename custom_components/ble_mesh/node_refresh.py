"""A node's device key refreshed in place: the Node Provisioning Protocol Interface (NPPI).

MshPRT 1.1 §4.4.5.4 (NPPI procedures) and §5.4 (the provisioning protocol they run): Home
Assistant opens a PB-Remote link to the node's own Remote Provisioning Server with the Device
Key Refresh procedure and runs the whole provisioning protocol again (new ECDH key pair, new
AuthValue); the Provisioning Data carries the node's current NetKey, IV Index and address, and
both ends derive the new device key. The node is not removed: its address, keys and settings
stay. Its composition is then read again (configuration runs again from step 1), which is
also how a firmware update's new composition is learned.

Authentication: the node's static OOB value when given, else No OOB. Over NPPI every PDU
travels through the mesh secured with the node's current device key (unlike PB-ADV or PB-GATT,
nothing is in the clear), so No OOB is not the open door it is for a new device; a node that
offers only OOB-authenticated provisioning needs its static OOB value (Output and Input OOB
need a person at the device: not offered by an action).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation

from .client import MeshClient
from .const import DOMAIN
from .exceptions import MeshCommunicationError
from .mesh.database import Node
from .mesh.models.config import ConfigCompositionDataGet, ConfigCompositionDataStatus
from .mesh.provisioning import (
    AuthMethod,
    CapabilitiesReceived,
    Completed,
    Failed,
    NoAcceptableMethodError,
    NodeRefresh,
    NppiProcedure,
    ProvisioningData,
    select_method,
)
from .network_store import key_for_new_node
from .provisioning_session import RemoteProvisioningSession, failure_reason_key
from .remote_scan import has_remote_provisioning_server

REFRESH_REASONS = frozenset(
    {"no_remote_provisioning_server", "node_busy", "not_taken", "no_answer"}
)
"""Reasons of the refresh itself, each with its own message (``device_key_refresh_<reason>``);
any other reason is a provisioning failure, one of the dialog's error keys (``config.error``)."""


class NodeRefreshError(MeshCommunicationError):
    """The device key refresh of a node failed.

    ``reason``: one of :data:`REFRESH_REASONS`, or the key of a provisioning failure, whose text
    (``reason_text``, in Home Assistant's language: :func:`_async_failed`) goes into the message.
    """

    def __init__(self, address: int, reason: str, *, reason_text: str | None = None) -> None:
        """Say which node and why."""
        if reason in REFRESH_REASONS:
            super().__init__(f"device_key_refresh_{reason}", address=f"{address:04X}")
        else:
            super().__init__(
                "device_key_refresh_failed", address=f"{address:04X}", reason=reason_text or reason
            )
        self.reason = reason


async def _async_failed(hass: HomeAssistant, node: Node, reason: str) -> NodeRefreshError:
    """The error of a failed provisioning run, with the dialog's own words for ``reason`` in
    Home Assistant's language (the frontend translates a message, never a placeholder)."""
    texts = await translation.async_get_translations(hass, hass.config.language, "config", {DOMAIN})
    text = texts.get(f"component.{DOMAIN}.config.error.{reason}", reason)
    return NodeRefreshError(node.unicast_address, reason, reason_text=text)


async def async_refresh_device_key(
    hass: HomeAssistant, client: MeshClient, node: Node, *, static_oob: bytes | None = None
) -> bytes:
    """Run Device Key Refresh on ``node``; return its new device key (not yet stored)."""
    if not has_remote_provisioning_server(node):
        raise NodeRefreshError(node.unicast_address, "no_remote_provisioning_server")
    network = client.store.network
    net_key = network.net_keys[0]
    key, key_refresh = key_for_new_node(net_key)
    data = ProvisioningData(
        net_key=key,
        key_index=net_key.index,
        iv_index=client.iv_index,
        unicast_address=node.unicast_address,
        key_refresh=key_refresh,
    )
    session = RemoteProvisioningSession(
        hass,
        client,
        node.unicast_address,
        None,
        data,
        refresh=NodeRefresh(
            NppiProcedure.DEVICE_KEY_REFRESH, node.unicast_address, node.element_count
        ),
    )
    try:
        await session.async_start()
        while True:
            event = await session.async_next_event()
            if isinstance(event, CapabilitiesReceived):
                try:
                    start = select_method(
                        event.capabilities,
                        oob_public_key_known=False,
                        static_oob_available=static_oob is not None,
                        auth_method=AuthMethod.STATIC_OOB if static_oob else AuthMethod.NO_OOB,
                    )
                except NoAcceptableMethodError:
                    raise await _async_failed(hass, node, "static_oob_required") from None
                session.choose(start, unicast_address=node.unicast_address, static_oob=static_oob)
            elif isinstance(event, Completed):
                return event.result.device_key
            elif isinstance(event, Failed):
                reason = failure_reason_key(event.failure, session.link_error)
                raise await _async_failed(hass, node, reason)
            else:  # a value to show or enter: only Output/Input OOB ask, never chosen here
                raise await _async_failed(hass, node, "static_oob_required")
    finally:
        await session.async_close()


async def async_confirm_device_key(client: MeshClient, node: Node) -> None:
    """Ask the node something only its current device key opens (Composition Data page 0);
    raises MeshCommunicationError when it does not answer under the key we hold now."""
    await client.async_send(
        node.unicast_address,
        ConfigCompositionDataGet(0),
        device_key=True,
        expect=ConfigCompositionDataStatus,
    )
