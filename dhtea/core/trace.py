"""What a run records: every event in order, with its simulated time."""

from __future__ import annotations

from typing import Literal

import attrs

from dhtea.core.messages import Message
from dhtea.core.scenario import Scenario
from invariants import DEFAULT, NodeView, Violation

EventKind = Literal["join", "send", "deliver", "timer"]
#: (field, old value, new value) for each field of the node view an event changed.
Change = tuple[str, object, object]


@attrs.frozen(slots=True)
class Event:
    """One step of a run.

    `join`: `node` begins to join (`message` is None). `send`: `node` sends
    `message`, which will arrive at `arrive`. `deliver`: `message` reaches `node`.
    `timer`: `node`'s timer `timer` fires. `changes` lists what the step changed in
    the node's view (pointers, membership, lock, queue).
    """

    seq: int
    time: float
    kind: EventKind
    node: int
    message: Message | None = None
    changes: tuple[Change, ...] = ()
    arrive: float | None = None
    timer: str | None = None


#: What a run is checked with unless told otherwise: the built-in invariants' names.
DEFAULT_INVARIANTS: tuple[str, ...] = tuple(i.name for i in DEFAULT)

Status = Literal["rest", "violation", "deadline", "max-events"]
STATUSES: tuple[str, ...] = ("rest", "violation", "deadline", "max-events")


@attrs.frozen
class RunResult:
    """A finished run: the trace, the violations (empty if all held) and the final views.

    `invariants` names what it was checked with (built-in names, others as `module:name`).
    """

    protocol: str
    scenario: Scenario
    events: tuple[Event, ...]
    violations: tuple[Violation, ...]
    final: tuple[NodeView, ...]
    status: Status
    end_time: float
    invariants: tuple[str, ...] = DEFAULT_INVARIANTS

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def signature(self) -> str | None:
        """The first violated invariant: what tells one bug from another."""
        return self.violations[0].invariant if self.violations else None

    @property
    def messages(self) -> int:
        return sum(1 for e in self.events if e.kind == "send")
