"""What a run records: every event in order, with its simulated time."""

from __future__ import annotations

import itertools
from array import array
from typing import Iterator, Literal, Mapping, Sequence, overload

import attrs

from dhtea.core.messages import Message, Scalar
from dhtea.core.scenario import Scenario
from dhtea.core.spool import Spool
from invariants import DEFAULT, NodeView, Violation

EventKind = Literal["join", "send", "deliver", "timer", "leave", "crash", "drop"]
EVENT_KINDS: tuple[str, ...] = ("join", "send", "deliver", "timer", "leave", "crash", "drop")
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


def _row(*fields: object) -> tuple:
    """An event's fields as they are, for `Trace.rows`."""
    return fields


def event_row(e: Event) -> tuple:
    """`e`'s fields as a tuple, in the order `Trace.rows` gives them."""
    return (e.seq, e.time, e.kind, e.node, e.message, e.changes, e.arrive, e.timer, e.fault, e.again)


# How the trace tags each event: its kind's index in EVENT_KINDS, a send that met
# a fault (its `fault` and `again` follow), and a flag for "changes follow".
JOIN, SEND, DELIVER, TIMER, LEAVE, CRASH, DROP = range(7)
_FAULTY_SEND = 7
_CHANGED = 8
_NEVER = float("nan")  # the arrival time of a send that is never delivered


class Trace(Sequence[Event]):
    """The events of a run, in order, held compactly; a sequence of `Event`s.

    A long run records millions of events, so they are not kept as objects:
    event times and sends' arrival times go into arrays of doubles, everything
    else into one flat list of ids, names and values (each is a single object
    to the garbage collector, and an event costs a few dozen bytes). Arrival
    times are the one new number each event brings; kept in the list, each
    would be a float object for the life of the run, interleaved in memory
    with the short-lived ones the event loop reads back, which a long run then
    pays for in cache misses. A queue change is kept as
    how many ids left its front and which joined its back, not as the whole
    queue before and after.

    Reading builds each `Event` as it was seen, going through the list from the
    first event (queues are rebuilt on the way), so iterating is cheap; the
    first index or slice builds every event once and keeps them.
    """

    def __init__(self, queues: Mapping[int, tuple[int, ...]] | None = None, spool: Spool | None = None) -> None:
        #: The time of each event, in order; its length is the number of events.
        self.times = array("d")
        #: The arrival time of each send, in order (NaN: never delivered).
        self.arrivals = array("d")
        # Per event, its tag, then:
        #   join, leave, crash: node;   timer: node, name;
        #   send: kind, src, dst, [fault, again,] n, n (name, value) pairs;
        #   deliver, drop: kind, src, dst, n, n (name, value) pairs;
        # then, if changed, the number of changes and for each the field and its
        # old and new values, or for "queue": ids dropped, ids added, the ids added.
        self._log: list[object] = []
        self._initial = dict(queues or {})  # the queues before the first event (absent: empty)
        # Events spilled to `spool` (see `spill`); those kept here follow them.
        self._spool = spool
        self._base = 0  # how many events were spilled
        self._queues = dict(self._initial)  # the queues before the first event kept here
        self._queues_now: dict[int, tuple[int, ...]] = dict(self._initial)
        self._counts = [0] * len(EVENT_KINDS)  # events of each kind
        self._events: tuple[Event, ...] | None = None  # every event, once indexed at random
        self._cursor: tuple[int, int, int, dict] = (0, 0, 0, dict(self._queues))  # where the last read ended

    # -- recording (the driver calls these, in order) --------------------------

    def send(self, time: float, kind: str, src: int, dst: int, values: dict[str, Scalar], arrive: float | None,
             fault: str | None = None, again: float | None = None) -> None:
        """`src` sends `kind(**values)` to `dst`, to arrive at `arrive` (None: it is lost)."""
        self.times.append(time)
        self._counts[SEND] += 1
        self.arrivals.append(_NEVER if arrive is None else arrive)
        log = self._log
        if fault is None and again is None:
            log += (SEND, kind, src, dst, len(values))
        else:
            log += (_FAULTY_SEND, kind, src, dst, fault, again, len(values))
        for pair in values.items():  # flat: a pair kept as a tuple would be one more object per message
            log += pair

    def deliver(self, time: float, msg: Message, changes: tuple[Change, ...] | None) -> None:
        """`msg` reaches `msg.dst`, whose view changed by `changes` (field, old,
        new, whole queues; None or empty: nothing changed)."""
        self.times.append(time)
        self._counts[DELIVER] += 1
        log = self._log
        data = msg.data
        log += (DELIVER + _CHANGED if changes else DELIVER, msg.kind, msg.src, msg.dst, len(data))
        for pair in data:
            log += pair
        if changes:
            self._changes(msg.dst, changes)

    def drop(self, time: float, msg: Message) -> None:
        """`msg` reaches `msg.dst`, which has stopped: it is lost."""
        self.times.append(time)
        self._counts[DROP] += 1
        self._log += (DROP, msg.kind, msg.src, msg.dst)
        self._data(msg.data)

    def step(self, kind: int, time: float, node: int, changes: tuple[Change, ...] | None) -> None:
        """A join, leave or crash of `node` (`kind` is JOIN, LEAVE or CRASH)."""
        self.times.append(time)
        self._counts[kind] += 1
        self._log += (kind + _CHANGED if changes else kind, node)
        if changes:
            self._changes(node, changes)

    def timer(self, time: float, node: int, name: object, changes: tuple[Change, ...] | None) -> None:
        self.times.append(time)
        self._counts[TIMER] += 1
        self._log += (TIMER + _CHANGED if changes else TIMER, node, name)
        if changes:
            self._changes(node, changes)

    def _data(self, data: tuple[tuple[str, object], ...]) -> None:
        log = self._log
        log.append(len(data))
        for pair in data:  # flat: a pair kept as a tuple would be one more object per message
            log += pair

    def _changes(self, node: int, changes: tuple[Change, ...]) -> None:
        log = self._log
        log.append(len(changes))
        for field, old, new in changes:
            if field == "queue":
                self._queues_now[node] = new  # type: ignore[assignment]
                dropped, added = queue_edit(old, new)  # type: ignore[arg-type]
                log += (field, dropped, len(added))
                log += added
            else:
                log += (field, old, new)

    # -- reading ----------------------------------------------------------------

    def spill(self) -> None:
        """Move the events kept here to the spool: memory then holds only the
        events since, whatever the length of the run."""
        assert self._spool is not None, "spill needs a spool"
        self._spool.append(self.times, self.arrivals, self._log)
        self._base += len(self.times)
        self.times, self.arrivals, self._log = array("d"), array("d"), []
        self._queues = dict(self._queues_now)
        self._cursor = (0, 0, 0, dict(self._queues))
        self._events = None

    @property
    def kept(self) -> int:
        """How many events are held in memory (the others were spilled)."""
        return len(self.times)

    def __len__(self) -> int:
        return self._base + len(self.times)

    def kind_count(self, kind: str) -> int:
        """How many events are of `kind` (join, send, deliver, ...)."""
        return self._counts[EVENT_KINDS.index(kind)]

    def __iter__(self) -> Iterator[Event]:
        if self._events is not None and len(self._events) == len(self):
            return iter(self._events)
        return self._all()

    def _all(self, make=Event) -> Iterator[Event]:
        queues = dict(self._initial)
        base = 0
        for times, arrivals, log in self._spool or ():
            yield from self._decode(times, arrivals, log, base, 0, 0, 0, queues, len(times), make)
            base += len(times)
        yield from self._decode(self.times, self.arrivals, self._log, self._base, 0, 0, 0, queues, len(self.times), make)

    def rows(self) -> Iterator[tuple]:
        """Every event as a plain tuple of `Event`'s fields, in their order: what
        writing a long run's file reads, without building an object per event."""
        return self._all(_row)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Event, ...]: ...
    def __getitem__(self, index):
        if self._events is not None and len(self._events) == len(self):
            return self._events[index]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1 and start >= self._base:  # a run of recent events: read it, from where the last read ended if it can
                return tuple(self._read(start - self._base, stop - self._base)) if start < stop else ()
            return tuple(itertools.islice(self._all(), start, stop, step))
        if self._spool is not None:  # spilled: read through, never hold every event
            position = range(len(self))[index]
            return next(itertools.islice(self._all(), position, None))
        self._events = tuple(self)  # random access: build every event once
        return self._events[index]

    def _read(self, start: int, stop: int) -> list[Event]:
        """Events start..stop-1 of those kept here. A driver reads the new events
        now and then while the run goes on; where the last read ended is kept,
        so that costs only them."""
        seq, i, a, queues = self._cursor
        if start < seq:
            seq, i, a, queues = 0, 0, 0, dict(self._queues)
        events = list(self._decode(self.times, self.arrivals, self._log, self._base, seq, i, a, queues, stop))[start - seq :]
        self._cursor = self._stopped_at  # the queues are this read's own: nothing else changes them
        return events

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Trace, tuple, list)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Trace of {len(self)} events>"

    def _decode(self, times: array, arrivals: array, log: list, base: int, seq: int, i: int, a: int,
                queues: dict[int, tuple[int, ...]], stop: int, make=Event) -> Iterator[Event]:
        """Events seq..stop-1 of (times, arrivals, log), the first at `i` in the
        log, its sends' arrivals from `a` on, `queues` as they were before it
        (updated on the way); `base` is the
        number of events before `times[0]`. At the end, `_stopped_at` says where it stopped."""
        for seq in range(seq, stop):
            tag = log[i]
            kind = tag & ~_CHANGED  # type: ignore[operator]
            message = arrive = timer = fault = again = None
            if kind in (JOIN, LEAVE, CRASH):
                node = log[i + 1]
                i += 2
            elif kind == TIMER:
                node, timer = log[i + 1], log[i + 2]
                i += 3
            else:
                msg_kind, src, dst = log[i + 1 : i + 4]
                i += 4
                if kind == SEND or kind == _FAULTY_SEND:
                    node, arrive = src, arrivals[a]
                    a += 1
                    if arrive != arrive:  # NaN: never delivered
                        arrive = None
                    if kind == _FAULTY_SEND:
                        kind, fault, again = SEND, log[i], log[i + 1]
                        i += 2
                else:
                    node = dst
                n = log[i]
                flat = log[i + 1 : i + 1 + 2 * n]  # type: ignore[operator]
                # Checked when it was sent: rebuilt without checking again.
                message = tuple.__new__(Message, (msg_kind, src, dst, tuple(zip(flat[::2], flat[1::2]))))
                i += 1 + 2 * n  # type: ignore[operator]
            changes: tuple[Change, ...] = ()
            if tag & _CHANGED:  # type: ignore[operator]
                changes, i = self._read_changes(log, i, node, queues)  # type: ignore[arg-type]
            yield make(base + seq, times[seq], EVENT_KINDS[kind], node, message, changes, arrive, timer, fault, again)  # type: ignore[arg-type]
        self._stopped_at = (stop, i, a, queues)

    @staticmethod
    def _read_changes(log: list, i: int, node: int, queues: dict[int, tuple[int, ...]]) -> tuple[tuple[Change, ...], int]:
        count = log[i]
        i += 1
        changes = []
        for _ in range(count):  # type: ignore[call-overload]
            field = log[i]
            if field == "queue":
                dropped, n_added = log[i + 1], log[i + 2]
                added = tuple(log[i + 3 : i + 3 + n_added])  # type: ignore[operator]
                old = queues.get(node, ())
                new = added if dropped < 0 else old[dropped:] + added  # type: ignore[operator, index]
                queues[node] = new
                changes.append((field, old, new))
                i += 3 + n_added  # type: ignore[operator]
            else:
                changes.append((field, log[i + 1], log[i + 2]))
                i += 3
        return tuple(changes), i  # type: ignore[return-value]


def queue_edit(old: Sequence[int], new: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """How `new` follows from `old`: (ids dropped from the front, ids added at the
    back), so that new == old[dropped:] + added; dropped is -1 when the queue was
    reordered and `added` is then the whole new queue."""
    old, new = tuple(old), tuple(new)
    keep = len(old)
    if new[:keep] == old:
        return 0, new[keep:]
    start = 1
    for _ in range(8):  # FIFO queues: what is left of the old queue starts the new one
        if not new:
            return len(old), ()
        try:
            dropped = old.index(new[0], start)
        except ValueError:
            break
        rest = old[dropped:]
        if new[: len(rest)] == rest:
            return dropped, new[len(rest):]
        start = dropped + 1
    return -1, new


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
    events: Sequence[Event]
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
        if isinstance(self.events, Trace):
            return self.events.kind_count("send")
        return sum(1 for e in self.events if e.kind == "send")


def churn_before(events: Sequence[Event], seq: int) -> str:
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
