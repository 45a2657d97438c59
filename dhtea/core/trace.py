"""What a run records: every event in order, with its simulated time."""

from __future__ import annotations

from typing import Literal

import attrs

from dhtea.core.messages import Message
from dhtea.core.scenario import Scenario
from invariants import DEFAULT, NodeView, Violation

EventKind = Literal["join", "send", "deliver", "timer", "leave", "crash", "drop"]
#: (field, old value, new value) for each field of the node view an event changed.
Change = tuple[str, object, object]


@attrs.frozen(slots=True)
class Event:
    """One step of a run.

    `join`: `node` begins to join (`message` is None). `send`: `node` sends
    `message`, which will arrive at `arrive`. `deliver`: `message` reaches `node`.
    `timer`: `node`'s timer `timer` fires. `leave`: `node` begins a graceful
    leave. `crash`: `node` crash-stops. `drop`: `message` reaches `node`, which
    has left or crashed, and is lost. `changes` lists what the step changed in
    the node's view (pointers, membership, lock, queue, leaving, gone).

    A send's `fault` says what the network did to it: None (delivered once),
    `"lost"`, `"partitioned"` (both: `arrive` is None), or `"duplicated"`
    (delivered at `arrive` and again at `again`).
    """

    seq: int
    time: float
    kind: EventKind
    node: int
    message: Message | None = None
    changes: tuple[Change, ...] = ()
    arrive: float | None = None
    timer: str | None = None
    fault: str | None = None
    again: float | None = None


#: What a run is checked with unless told otherwise: the built-in invariants' names.
DEFAULT_INVARIANTS: tuple[str, ...] = tuple(i.name for i in DEFAULT)

#: How a run ended: at rest; at its first violation; at its deadline; out of
#: events; or at the end of its settle window with timers still running but
#: nothing changing (`settled`).
Status = Literal["rest", "violation", "deadline", "max-events", "settled"]
STATUSES: tuple[str, ...] = ("rest", "violation", "deadline", "max-events", "settled")
#: Event kinds that are churn, and send faults, as timelines and reports name them.
CHURN_KINDS = ("leave", "crash")
SEND_FAULTS = ("lost", "partitioned", "duplicated")


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


def churn_before(events: tuple[Event, ...] | list[Event], seq: int) -> str:
    """The churn and faults that happened up to event `seq`, in a few words
    ("" if none): what a violation under churn names."""
    parts: list[str] = []
    lost = partitioned = duplicated = dropped = 0
    for e in events:
        if e.seq > seq:
            break
        if e.kind in CHURN_KINDS:
            parts.append(f"{e.kind} of {e.node} at t={e.time:g}")
        elif e.kind == "drop":
            dropped += 1
        elif e.fault == "lost":
            lost += 1
        elif e.fault == "partitioned":
            partitioned += 1
        elif e.fault == "duplicated":
            duplicated += 1
    for count, words in ((lost, "lost"), (partitioned, "cut by a partition"), (duplicated, "duplicated"),
                         (dropped, "sent to a departed node")):
        if count:
            parts.append(f"{count} message{'s' if count > 1 else ''} {words}")
    return "; ".join(parts)
