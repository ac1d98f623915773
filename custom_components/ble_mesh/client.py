"""What node configuration, the Key Refresh and groups need of a network: a narrow protocol.

:mod:`.node_config`, :mod:`.key_refresh`, :mod:`.groups`, :mod:`.configuration`,
:mod:`.remote_scan` and the remote provisioning session talk to the mesh through
:class:`MeshClient` and change the database through its :class:`~.network_store.NetworkStore`;
:class:`~.runtime.MeshRuntime` implements it. They never import the runtime, so there is no
import cycle between it and them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from homeassistant.core import CALLBACK_TYPE

    from .mesh.access import Message
    from .network_store import NetworkStore
    from .subscriptions import MessageCallback


@runtime_checkable
class MeshClient(Protocol):
    """Messaging and the network's store, as the runtime offers them."""

    @property
    def store(self) -> NetworkStore:
        """The single writer of the network database."""
        ...

    @property
    def connected(self) -> bool:
        """True while a proxy node is reachable."""
        ...

    @property
    def available(self) -> bool:
        """True while connected, or while the link is released on purpose (idle release)."""
        ...

    @property
    def relay_links(self) -> set[int]:
        """Nodes whose Remote Provisioning Server runs one of our provisioning links now
        (a server has one link: its messages cannot tell two sessions apart)."""
        ...

    @property
    def unicast_address(self) -> int:
        """Home Assistant's own unicast address in the network."""
        ...

    @property
    def iv_index(self) -> int:
        """The network's current IV Index."""
        ...

    async def async_send(
        self,
        dst: int,
        message: Message,
        *,
        device_key: bool = False,
        expect: type[Message] | None = None,
        timeout: float = ...,  # noqa: ASYNC109 - per attempt, run by the engine
        retries: int = ...,
        background: bool = False,
    ) -> Message | None:
        """Send ``message``; with ``expect`` wait for the response (see runtime.py)."""
        ...

    def async_subscribe(
        self, subscriber: MessageCallback, *, src: int | None = None
    ) -> CALLBACK_TYPE:
        """Call ``subscriber(src, message)`` for every access message received (from ``src``)."""
        ...
