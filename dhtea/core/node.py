"""The protocol API: a node is a plain state machine, free of SimPy and sockets.

A driver (the simulator, or a real runtime) owns the clock, the network and the
randomness. It calls the node's handlers with a `Context`; the handler changes
the node's own state and asks for effects through the context (`send`,
`set_timer`, `cancel_timer`), which the driver carries out after the handler
returns. The same class therefore runs simulated and for real.
"""

from __future__ import annotations

import math
import random  # determinism-ok: only seeded random.Random instances are used
from collections import deque
from typing import ClassVar

import attrs

from dhtea.core.messages import Message, Scalar, message_of
from invariants.view import NodeView


@attrs.frozen(slots=True)
class Send:
    message: Message


@attrs.frozen(slots=True)
class SetTimer:
    name: str
    delay: float


@attrs.frozen(slots=True)
class CancelTimer:
    name: str


Effect = Send | SetTimer | CancelTimer


class Context:
    """Handed to every handler call: the time, the driver's seeded RNG, and the
    effects the handler asks for, in order."""

    __slots__ = ("node", "now", "rng", "effects", "stopped")

    def __init__(self, node: int, now: float, rng: random.Random) -> None:
        self.node = node
        self.now = now
        self.rng = rng
        self.effects: list[Effect] = []
        self.stopped = False

    def send(self, dst: int, kind: str, **data: Scalar) -> None:
        """Send `kind(**data)` to node `dst`; it arrives after the network's latency."""
        self.effects.append(Send(self._message(dst, kind, data)))

    def _message(self, dst: int, kind: str, data: dict[str, Scalar]) -> Message:
        if type(dst) is not int:
            raise TypeError(f"send to {dst!r}: node ids are integers")
        return message_of(kind, self.node, dst, data)

    def set_timer(self, name: str, delay: float) -> None:
        """Call `on_timer(ctx, name)` after `delay`; setting it again restarts it."""
        delay = float(delay)
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"timer {name!r}: the delay must be a finite number >= 0, got {delay!r}")
        self.effects.append(SetTimer(name, delay))

    def cancel_timer(self, name: str) -> None:
        self.effects.append(CancelTimer(name))

    def stop(self) -> None:
        """This node has finished leaving: the driver sends what the handler asked
        for, then stops the node (its view is frozen; later messages to it are lost)."""
        self.stopped = True


class UnknownMessage(Exception):
    """A node received a message kind it has no handler for."""


_HANDLER_NAMES: dict[str, str] = {}


class RingNode:
    """Base class for ring protocols.

    Subclasses set `name` and write `on_join` plus one `on_<kind>` method per
    message kind (`on_connect` handles `CONNECT`). The fields below are what the
    invariants read through `view()`; a protocol with other state keeps it in
    extra attributes and may override `view()`.
    """

    name: ClassVar[str] = ""
    #: Message kinds this protocol sends; the real runtime refuses any other.
    kinds: ClassVar[tuple[str, ...]] = ()
    #: The churn and faults the protocol claims to survive, from FAULT_KINDS
    #: (`dhtea.core.scenario`). Hunts and gate tests generate only these unless
    #: told otherwise; joins on a reliable network are always generated.
    tolerates: ClassVar[frozenset[str]] = frozenset()
    #: The longest a graceful leave may take, in time units (say, a lease it may
    #: have to wait out), or None if it needs only a few message delays. A real
    #: node stopped by a signal serves at least this long before it gives up.
    leave_within: ClassVar[float | None] = None

    def __init__(self, node_id: int) -> None:
        self.id = node_id
        self.left: int | None = None
        self.right: int | None = None
        self.member = False
        self.busy = False
        self.queue: deque[int] = deque()
        self.leaving = False

    def bootstrap_ring(self, left: int, right: int) -> None:
        """Make this node a member of the initial ring, between `left` and `right`."""
        self.left, self.right, self.member = left, right, True

    def on_join(self, ctx: Context, bootstrap: int) -> None:
        """Begin joining through `bootstrap`, a member of the ring."""
        raise NotImplementedError

    def on_leave(self, ctx: Context) -> None:
        """Begin a graceful leave; call `ctx.stop()` once it is done."""
        raise NotImplementedError(f"{type(self).__name__} has no graceful leave")

    def on_message(self, ctx: Context, msg: Message) -> None:
        name = _HANDLER_NAMES.get(msg.kind)
        if name is None:  # built once per kind: this runs for every message
            name = _HANDLER_NAMES.setdefault(msg.kind, "on_" + msg.kind.lower())
        handler = getattr(self, name, None)
        if handler is None:
            raise UnknownMessage(f"{type(self).__name__} has no handler for {msg.kind}")
        handler(ctx, msg)

    def on_timer(self, ctx: Context, name: str) -> None:
        """A timer set with `ctx.set_timer(name, ...)` fired. Default: nothing."""

    def view(self) -> NodeView:
        return NodeView(self.id, self.left, self.right, self.member, self.busy, tuple(self.queue), self.leaving)
