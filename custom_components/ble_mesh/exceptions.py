"""Errors the runtime raises to its callers (entities, services), translated for the UI.

The engine's own errors (:mod:`.mesh.errors`) never leave the runtime: they become one of
these at the edge, once (STYLE item 10).
"""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN


class MeshCommunicationError(HomeAssistantError):
    """A message could not be delivered or answered."""

    def __init__(self, translation_key: str, **placeholders: str) -> None:
        """Name the translated message and its placeholders."""
        super().__init__(
            translation_domain=DOMAIN,
            translation_key=translation_key,
            translation_placeholders=placeholders or None,
        )


class MeshNotConnectedError(MeshCommunicationError):
    """No proxy node is reachable: nothing can be sent into the mesh network."""

    def __init__(self, network: str) -> None:
        """``network`` is the network's name."""
        super().__init__("not_connected", network=network)


class MeshTimeoutError(MeshCommunicationError):
    """The destination did not answer, after every retransmission."""

    def __init__(self, address: int) -> None:
        """``address`` is the destination that stayed silent."""
        super().__init__("no_response", address=f"{address:04X}")


class MeshSendError(MeshCommunicationError):
    """The message cannot be sent to this destination (no key for it, or too long)."""

    def __init__(self, address: int, reason: str) -> None:
        """``reason`` is for the log; the UI shows the address."""
        super().__init__("send_failed", address=f"{address:04X}", reason=reason)
