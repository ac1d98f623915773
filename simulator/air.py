"""The advertising bearer between simulated nodes: "the air" (MshPRT 1.1 §3.3.1).

Every :class:`~simulator.node.SimulatedNode` runs its own network stack; a :class:`MeshAir`
connects them the way radio does. A node that joined the air hands every Network PDU it
transmits (its own messages, relayed PDUs, PDUs its proxy server forwards from its GATT
client) and every beacon (``beacon=True``: the Mesh Beacon AD type) to
:meth:`MeshAir.transmit`, and every *other* node on the air receives it through
``air_receive(data, now, beacon=...)``. What a node does with it (decrypt, deliver locally, relay, forward
to its GATT proxy client) is the node's business; the air only carries octets.

    air = MeshAir()
    a = SimulatedNode("dimmable", air=air)
    b = SimulatedNode("dimmable")
    air.join(b)

Delivery: when the receiving node (or the air itself) has a ``schedule(delay, callback)``
(``loop.call_later``, a fake clock), each reception is scheduled ``delay`` seconds later (0 by
default: the next loop iteration). Otherwise delivery is synchronous but never recursive: a
transmission made while the air is delivering is queued and delivered after the current one,
in order (breadth first), so a relay chain is a loop, not a call stack.

Runtime wiring only: the air is not persisted (like a node's ``schedule``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

__all__ = ["AirNode", "AirTransmission", "MeshAir"]

type _Scheduler = Callable[[float, Callable[[], None]], object]


class AirNode(Protocol):
    """What the air needs from a node (:class:`~simulator.node.SimulatedNode` implements it)."""

    @property
    def address(self) -> str:
        """The node's Bluetooth address (for logs and :attr:`MeshAir.history`)."""
        ...

    @property
    def schedule(self) -> _Scheduler | None:
        """The node's scheduler (``loop.call_later``), if any."""
        ...

    def air_receive(self, data: bytes, now: float | None = None, *, beacon: bool = False) -> None:
        """One Network PDU (or, with ``beacon``, a mesh beacon) heard on the air."""
        ...

    def air_attached(self, air: MeshAir | None) -> None:
        """Remember which air the node transmits on (None: it left)."""
        ...


@dataclass(frozen=True, slots=True)
class AirTransmission:
    """One Network PDU (or beacon) put on the air."""

    sender: str
    data: bytes
    beacon: bool = False


class MeshAir:
    """A shared advertising bearer: every joined node hears every other node.

    ``schedule``: deliver through this scheduler instead of each receiver's own. ``delay``:
    seconds between a transmission and its reception when delivery is scheduled.
    ``history``: the last ``history_size`` transmissions (for tests and diagnostics);
    :attr:`transmissions` and :attr:`deliveries` count all of them.
    """

    def __init__(
        self,
        *,
        schedule: _Scheduler | None = None,
        delay: float = 0.0,
        history_size: int = 1000,
    ) -> None:
        self.schedule = schedule
        self.delay = delay
        self._nodes: list[AirNode] = []
        self._queue: deque[tuple[AirNode, bytes, float | None, bool]] = deque()
        self._draining = False
        self._pending: dict[object, tuple[AirNode, object]] = {}
        self.history: deque[AirTransmission] = deque(maxlen=history_size)
        self.transmissions = 0
        self.deliveries = 0

    def __repr__(self) -> str:
        return f"MeshAir(nodes={len(self._nodes)}, transmissions={self.transmissions})"

    @property
    def nodes(self) -> tuple[AirNode, ...]:
        """The nodes on the air, in joining order."""
        return tuple(self._nodes)

    def join(self, node: AirNode) -> None:
        """Put ``node`` on this air (it leaves any other air first)."""
        if node in self._nodes:
            return
        self._nodes.append(node)
        node.air_attached(self)

    def leave(self, node: AirNode) -> None:
        """Take ``node`` off the air; receptions still queued or scheduled for it are dropped."""
        if node not in self._nodes:
            return
        self._nodes.remove(node)
        node.air_attached(None)
        self.cancel(node)

    def transmit(
        self, sender: AirNode, data: bytes, now: float | None = None, *, beacon: bool = False
    ) -> None:
        """``sender`` transmits ``data`` (a beacon with ``beacon``): every other node on the
        air receives it once.

        ``now`` is the sender's time, handed to synchronous receptions; a scheduled
        reception reads the receiver's clock instead.
        """
        data = bytes(data)
        self.transmissions += 1
        self.history.append(AirTransmission(sender.address, data, beacon))
        for node in self._nodes:
            if node is sender:
                continue  # a radio does not hear itself
            schedule = self.schedule or node.schedule
            if schedule is None:
                self._queue.append((node, data, now, beacon))
                continue
            token = object()
            handle = schedule(
                self.delay, partial(self._deliver_scheduled, token, node, data, beacon)
            )
            self._pending[token] = (node, handle)
        self._drain()

    def cancel(self, node: AirNode | None = None) -> None:
        """Drop the receptions not yet delivered (to ``node``, or to every node)."""
        for token, (target, handle) in list(self._pending.items()):
            if node is None or target is node:
                del self._pending[token]
                cancel = getattr(handle, "cancel", None)
                if callable(cancel):
                    cancel()
        if node is None:
            self._queue.clear()
        else:
            self._queue = deque(entry for entry in self._queue if entry[0] is not node)

    def _deliver_scheduled(self, token: object, node: AirNode, data: bytes, beacon: bool) -> None:
        if self._pending.pop(token, None) is None or node not in self._nodes:
            return
        self.deliveries += 1
        node.air_receive(data, None, beacon=beacon)

    def _drain(self) -> None:
        if self._draining:
            return  # the outer call delivers it: no recursion
        self._draining = True
        try:
            while self._queue:
                node, data, now, beacon = self._queue.popleft()
                if node in self._nodes:
                    self.deliveries += 1
                    node.air_receive(data, now, beacon=beacon)
        finally:
            self._draining = False
