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

Radio range (optional; by default every node hears every other, exactly as before). Two
ways, combinable:

* geometry: ``MeshAir(radio_range=10.0)`` and a position in metres per node
  (``air.join(node, position=(x, y))`` or :meth:`MeshAir.place`): two placed nodes hear each
  other when they are at most ``radio_range`` apart; a node without a position hears and is
  heard by everyone;
* explicit neighbours: ``air.join(device, near=[light])`` (or :meth:`MeshAir.restrict`): the
  device hears, and is heard by, only the listed nodes, whatever the geometry. This is what
  the demo's per-device ``near: <other device name>`` key does: the device is on the air next
  to that one light and nowhere else.

Reception is symmetric (:meth:`MeshAir.in_range`). Network PDUs, mesh beacons (Secure Network
and Unprovisioned Device, MshPRT 1.1 §3.10) and PB-ADV advertisements (``pb_adv=True``,
§5.2.1: delivered to ``pb_adv_receive(data, now)`` of the nodes that have one) all obey it, so
a node out of everyone's range but one light's is reachable only through that light.

Scanning (MshPRT 1.1 §3.10.2): unprovisioned devices do not fill a quiet air with beacons.
A scanner (a Remote Provisioning Server while a scan runs) calls :meth:`MeshAir.solicit`;
every device in its range that has an ``unprovisioned_beacon()`` transmits it, as it would
at its next beacon interval. Why not a beacon timer per device: nobody but a scanner reads
these beacons, and a periodic timer would keep every simulation (the demo's event loop, a
test's fake clock) busy forever and fill :attr:`MeshAir.history` for nothing. Active scanning (the scan response of Extended Scan) reads
``scan_response()`` of a device in range (:meth:`MeshAir.neighbours`).

Hop latency: ``MeshAir(schedule=clock.schedule, delay=0.03)`` makes every transmission (each
relay hop, each PB-ADV segment) arrive 30 ms later, so a test can measure what PB-Remote
costs over several hops in simulated time.

Runtime wiring only: the air is not persisted (like a node's ``schedule``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
import math
from typing import Protocol

__all__ = ["AirNode", "AirTransmission", "MeshAir", "Position"]

type _Scheduler = Callable[[float, Callable[[], None]], object]
type Position = tuple[float, float]
"""Where a node is, in metres."""


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
    pb_adv: bool = False


class MeshAir:
    """A shared advertising bearer: every joined node hears every other node in its range.

    ``schedule``: deliver through this scheduler instead of each receiver's own. ``delay``:
    seconds between a transmission and its reception when delivery is scheduled.
    ``radio_range``: metres between two placed nodes that still hear each other (None: no
    limit).
    ``history``: the last ``history_size`` transmissions (for tests and diagnostics);
    :attr:`transmissions` and :attr:`deliveries` count all of them.
    """

    def __init__(
        self,
        *,
        schedule: _Scheduler | None = None,
        delay: float = 0.0,
        radio_range: float | None = None,
        history_size: int = 1000,
    ) -> None:
        self.schedule = schedule
        self.delay = delay
        self.radio_range = radio_range
        self._nodes: list[AirNode] = []
        self._positions: dict[int, Position] = {}
        self._near: dict[int, frozenset[int]] = {}
        self._queue: deque[tuple[AirNode, bytes, float | None, bool, bool]] = deque()
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

    def join(
        self,
        node: AirNode,
        *,
        position: Position | None = None,
        near: Iterable[AirNode] | None = None,
    ) -> None:
        """Put ``node`` on this air (it leaves any other air first), optionally at
        ``position`` (see :meth:`place`) or next to ``near`` only (see :meth:`restrict`)."""
        if position is not None:
            self.place(node, position)
        if near is not None:
            self.restrict(node, near)
        if node in self._nodes:
            return
        self._nodes.append(node)
        node.air_attached(self)

    def leave(self, node: AirNode) -> None:
        """Take ``node`` off the air; receptions still queued or scheduled for it are dropped."""
        if node not in self._nodes:
            return
        self._nodes.remove(node)
        self._positions.pop(id(node), None)
        self._near.pop(id(node), None)
        node.air_attached(None)
        self.cancel(node)

    def place(self, node: AirNode, position: Position | None) -> None:
        """Put ``node`` at ``position`` (metres; None: everywhere, the default)."""
        if position is None:
            self._positions.pop(id(node), None)
        else:
            self._positions[id(node)] = (float(position[0]), float(position[1]))

    def position(self, node: AirNode) -> Position | None:
        """Where ``node`` is, if it was placed."""
        return self._positions.get(id(node))

    def restrict(self, node: AirNode, near: Iterable[AirNode] | None) -> None:
        """Let ``node`` hear, and be heard by, only the nodes ``near`` (None: lift it)."""
        if near is None:
            self._near.pop(id(node), None)
        else:
            self._near[id(node)] = frozenset(id(other) for other in near)

    def in_range(self, a: AirNode, b: AirNode) -> bool:
        """Whether ``a`` and ``b`` hear each other (symmetric; a node does not hear itself)."""
        if a is b:
            return False
        for one, other in ((a, b), (b, a)):
            near = self._near.get(id(one))
            if near is not None:
                return id(other) in near
        if self.radio_range is None:
            return True
        pa, pb = self._positions.get(id(a)), self._positions.get(id(b))
        if pa is None or pb is None:
            return True
        return math.dist(pa, pb) <= self.radio_range

    def neighbours(self, node: AirNode) -> tuple[AirNode, ...]:
        """The nodes on the air that ``node`` hears, in joining order."""
        return tuple(other for other in self._nodes if self.in_range(node, other))

    def solicit(self, scanner: AirNode, now: float | None = None) -> int:
        """``scanner`` listens: every unprovisioned device in its range transmits its
        Unprovisioned Device beacon (``unprovisioned_beacon()``); returns how many did."""
        count = 0
        for node in self.neighbours(scanner):
            beacon_of = getattr(node, "unprovisioned_beacon", None)
            beacon = beacon_of() if callable(beacon_of) else None
            if isinstance(beacon, bytes):
                self.transmit(node, beacon, now, beacon=True)
                count += 1
        return count

    def transmit(
        self,
        sender: AirNode,
        data: bytes,
        now: float | None = None,
        *,
        beacon: bool = False,
        pb_adv: bool = False,
    ) -> None:
        """``sender`` transmits ``data`` (a beacon with ``beacon``, a PB-ADV payload with
        ``pb_adv``): every other node on the air in its range receives it once.

        ``now`` is the sender's time, handed to synchronous receptions; a scheduled
        reception reads the receiver's clock instead.
        """
        data = bytes(data)
        self.transmissions += 1
        self.history.append(AirTransmission(sender.address, data, beacon, pb_adv))
        for node in self._nodes:
            if not self.in_range(sender, node):
                continue  # a radio does not hear itself, nor what is out of its range
            if pb_adv and not callable(getattr(node, "pb_adv_receive", None)):
                continue
            schedule = self.schedule or node.schedule
            if schedule is None:
                self._queue.append((node, data, now, beacon, pb_adv))
                continue
            token = object()
            handle = schedule(
                self.delay, partial(self._deliver_scheduled, token, node, data, beacon, pb_adv)
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

    def _deliver_scheduled(
        self, token: object, node: AirNode, data: bytes, beacon: bool, pb_adv: bool
    ) -> None:
        if self._pending.pop(token, None) is None or node not in self._nodes:
            return
        self._deliver(node, data, None, beacon, pb_adv)

    def _deliver(
        self, node: AirNode, data: bytes, now: float | None, beacon: bool, pb_adv: bool
    ) -> None:
        self.deliveries += 1
        if pb_adv:
            receive = getattr(node, "pb_adv_receive", None)
            if callable(receive):
                receive(data, now)
        else:
            node.air_receive(data, now, beacon=beacon)

    def _drain(self) -> None:
        if self._draining:
            return  # the outer call delivers it: no recursion
        self._draining = True
        try:
            while self._queue:
                node, data, now, beacon, pb_adv = self._queue.popleft()
                if node in self._nodes:
                    self._deliver(node, data, now, beacon, pb_adv)
        finally:
            self._draining = False
