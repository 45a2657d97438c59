"""The SimPy driver: runs protocol nodes over a simulated network, records the
trace, and checks the invariants after every event.

Event-driven: every message is one SimPy event whose callback delivers it, so
idle nodes cost nothing. Ties at equal times are broken by SimPy's scheduling
order, which depends only on the order of earlier events: same scenario, same
trace.

Churn and faults: a leave calls the node's `on_leave` (a joiner's leave that
comes before the joiner is a member waits until it is one: see `Leave`); a node that calls
`ctx.stop()`, or crashes, is *gone* (its view's `gone` field says how): it
handles nothing more, its timers never fire, and a message reaching it is a
`drop` event. Message faults are decided by the network (`Wire.fate`) only
when the scenario has any, so a fault-free run takes the same path as ever.
A scenario with a settle window runs until the window's end unless it comes
to rest first (see `Scenario.settle`).

A run may send millions of messages, so the per-message path does little: a
send waits in SimPy's queue as one small event holding the message's fields
(`_InFlight`; the `Message` is built when it arrives), the trace keeps numbers
in arrays and ids in a flat list rather than objects per event (`Trace`), and
a node's view fields are compared with their values before the handler, the
view built only when they changed.
"""

from __future__ import annotations

import gc
import itertools
import math
import random  # determinism-ok: only seeded random.Random instances are used
from typing import Iterable

import attrs
import simpy
from simpy.events import NORMAL

from dhtea.core.messages import Message, Scalar, check_values
from dhtea.core.network import Wire
from dhtea.core.node import CancelTimer, Context, RingNode, SetTimer
from dhtea.drivers.crashes import handler_frames
from dhtea.protocols import load_protocol, protocol_name
from dhtea.core.scenario import Crash, Join, Leave, Scenario
from dhtea.core.spool import Spool
from dhtea.core.trace import CRASH, DELIVER, JOIN, LEAVE, TIMER, RunResult, Trace, churn_before
from dhtea.drivers.livelock import RepeatWatch
from invariants import DEFAULT, Invariant, NodeView, RingView, Violation, view_changes
from invariants.names import invariant_specs


#: With a spool, how many events the trace keeps in memory before spilling them.
SPILL_EVERY = 100_000


class _Due:
    """A timer waiting in SimPy's queue: what `Environment.step` reads of an
    event (`callbacks`, `_ok`) and the `value` the callback reads.

    A run has thousands of events waiting at once; a `simpy.Timeout` would be
    an object, its attribute values and a callbacks list each, scattered over
    memory that the event loop's heap then reads back cold. One slotted object
    with a shared callbacks tuple keeps a long run's cost per event close
    to a short one's. Scheduled through `Environment.schedule` exactly where a
    Timeout would be, so the order of events (and the trace) is the same.
    """

    __slots__ = ("callbacks", "value")
    _ok = True  # never fails: SimPy's loop only re-raises failed events

    def __init__(self, callbacks: tuple, value: object) -> None:
        self.callbacks = callbacks
        self.value = value


class _InFlight:
    """A sent message waiting in SimPy's queue: an event as `_Due` is, holding
    the message's fields, its values still the handler's keyword arguments.

    Most of what a message costs in a long run is memory read back cold when
    it arrives: one object per message in flight, rather than an event, a
    `Message`, its data tuple and a tuple per value, is fewer cache lines to
    read and fewer objects to free. The `Message` the receiver gets is built
    on arrival (`_on_deliver`), equal to the one sent.
    """

    __slots__ = ("callbacks", "kind", "src", "dst", "values")
    _ok = True

    def __init__(self, kind: str, src: int, dst: int, values: dict[str, Scalar]) -> None:
        self.callbacks = None  # set when it is scheduled
        self.kind = kind
        self.src = src
        self.dst = dst
        self.values = values


class _Halt(Exception):
    """Stops the SimPy loop at the first violation."""


class _SimContext(Context):
    """A `Context` whose sends are the events that will deliver them
    (`_InFlight`, given their callback when scheduled): one object per send.
    Checked as `Context.send` checks them."""

    __slots__ = ()

    def send(self, dst: int, kind: str, **data: Scalar) -> None:
        if type(dst) is not int:
            raise TypeError(f"send to {dst!r}: node ids are integers")
        check_values(data)
        self.effects.append(_InFlight(kind, self.node, dst, data))


class Simulation:
    """One run of `protocol` on `scenario`. Call `run()` once."""

    def __init__(
        self,
        protocol: type | str,
        scenario: Scenario,
        *,
        invariants: Iterable[Invariant] = DEFAULT,
        check: bool = True,
        watch_from_start: bool = False,
        spool: Spool | None = None,
    ) -> None:
        cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
        self.protocol = protocol_name(cls)
        self.scenario = scenario
        self.env = simpy.Environment()
        self._schedule = self.env.schedule
        self._deliver_callbacks = (self._on_deliver,)
        self._timer_callbacks = (self._on_timer,)
        self.rng = random.Random(scenario.seed)
        self.wire = Wire(scenario.network, self.rng, scenario.seed)
        self._faulty = scenario.network.faulty  # off: sends never ask the wire for a fate
        self._settle_end = scenario.settle_end  # where the settle window ends, so far
        self._cut_by_deadline = False  # the window was moved later, but the deadline came first
        self._gone: dict[int, str] = {}  # node -> "left" | "crashed"
        self._waiting_leaves: dict[int, Leave] = {}  # joiner -> its leave, due when it becomes a member
        self._last_change = 0.0  # time of the last event that changed a view
        self._changed_at: dict[int, float] = {}  # node -> time of the last event that changed its view
        self.nodes = {n: cls(n) for n in scenario.nodes}
        ring = scenario.ring
        self._initial = frozenset(ring)
        for i, n in enumerate(ring):
            self.nodes[n].bootstrap_ring(ring[i - 1], ring[(i + 1) % len(ring)])
        views = [node.view() for node in self.nodes.values()]
        self.view = RingView(scenario.nodes, views)
        self._views = self.view.nodes  # the checkers' copy of each view, read when a step changed one
        # Nodes whose view is RingNode's own fields are compared field by field;
        # others build their view themselves, and it is compared whole.
        self._fields_are_view = getattr(cls, "view", None) is RingNode.view
        # With a spool, the trace keeps at most SPILL_EVERY events in memory.
        self.trace = Trace({v.id: tuple(v.queue) for v in views if v.queue}, spool)
        self._spill_at = SPILL_EVERY if spool is not None else math.inf
        invariants = tuple(invariants)
        self.invariant_names = invariant_specs(invariants)  # recorded in the trace, for replay
        self.safety = tuple(i for i in invariants if i.when == "always")
        self.per_event = self.safety if check else ()  # checked after every event
        self.at_rest = tuple(i for i in invariants if i.when == "at_rest")
        self.violations: list[Violation] = []
        self._timers: dict[tuple[int, str], int] = {}
        self._timer_generations = itertools.count()
        # Looks for a repeated whole state once the run is long (livelock.py); the
        # per-event path pays only the comparison with `_look_at` it made anyway.
        self._watch = RepeatWatch(len(self.nodes), watch_from_start)
        self._look_at = min(scenario.max_events, self._watch.next, self._spill_at)
        if scenario.settle is not None:
            # Under the settle rule the window judges progress: a protocol that
            # resends on timers while a lease runs out repeats its state without
            # being stuck (the lease depends on the time, which no state holds).
            self._watch.next = math.inf
            self._look_at = min(scenario.max_events, self._spill_at)
        for join in scenario.joins:
            self.env.timeout(join.at, value=join).callbacks.append(self._on_join)
        for op in scenario.churn:  # scheduled after the joins: a join-only run is scheduled as before
            self.env.timeout(op.at, value=op).callbacks.append(self._on_leave if isinstance(op, Leave) else self._on_crash)

    # -- the per-event path ---------------------------------------------------

    def _on_join(self, ev: simpy.Event) -> None:
        join: Join = ev.value
        if join.node not in self._gone:  # a joiner that crashed before its start never starts
            self._step(join.node, JOIN, None, None, join.bootstrap)

    def _on_leave(self, ev: simpy.Event) -> None:
        op: Leave = ev.value
        if op.node in self._gone:
            return
        if op.node not in self._initial and not self.view.node(op.node).member:
            # A joiner leaves once it is a member: the event that makes it one
            # schedules the leave (`_step`); if it never becomes one, it never leaves.
            self._waiting_leaves[op.node] = op
            return
        self._step(op.node, LEAVE, None, None, None)

    def _leave_now(self, node_id: int) -> None:
        """A joiner whose leave was waiting has just become a member: it leaves
        at this same time, after the events already due now."""
        op = self._waiting_leaves.pop(node_id)
        self.env.timeout(0, value=op).callbacks.append(self._on_leave)

    def _on_crash(self, ev: simpy.Event) -> None:
        op: Crash = ev.value
        if op.node in self._gone:
            return
        if op.during is not None:  # a crash in mid-operation: only if that operation is under way
            view = self.view.node(op.node)
            if (op.during == "join" and view.member) or (op.during == "leave" and not view.leaving):
                return
        self._gone[op.node] = "crashed"
        seq = len(self.trace)
        before = self.view.node(op.node)
        after = attrs.evolve(before, gone="crashed")
        now = float(self.env.now)
        self.trace.step(CRASH, now, op.node, view_changes(before, after))
        self._last_change = self._changed_at[op.node] = now
        moved = self.view.update(after)
        if self.per_event:
            self._check(op.node, moved, seq)

    def _on_deliver(self, ev: _InFlight) -> None:
        msg = tuple.__new__(Message, (ev.kind, ev.src, ev.dst, tuple(ev.values.items())))  # as `message_of` builds it
        if self._gone and msg.dst in self._gone:  # lost at a node that has stopped
            self.trace.drop(float(self.env.now), msg)
            return
        self._step(msg.dst, DELIVER, msg, None, None)

    def _on_timer(self, ev: simpy.Event) -> None:
        node_id, name, generation = ev.value
        if self._timers.get((node_id, name)) != generation:
            return  # cancelled or restarted since
        del self._timers[(node_id, name)]
        if node_id not in self._gone:
            self._step(node_id, TIMER, None, name, None)

    def _step(self, node_id: int, kind: int, msg: Message | None, timer: str | None, bootstrap: int | None) -> None:
        trace = self.trace
        seq = len(trace)
        if seq >= self._look_at:
            self._look(node_id, seq)
        now = float(self.env.now)
        node = self.nodes[node_id]
        fields = self._fields_are_view
        if fields:  # what RingNode.view() copies, as it is before the handler: most events change none of it
            queue = node.queue
            was = (node.left, node.right, node.member, node.busy, node.leaving, node.id, tuple(queue) if queue else ())
        ctx = _SimContext(node_id, now, self.rng)
        crash = None
        try:
            if msg is not None:
                node.on_message(ctx, msg)
            elif timer is not None:
                node.on_timer(ctx, timer)
            elif kind == JOIN:
                node.on_join(ctx, bootstrap)
            else:
                node.on_leave(ctx)
        except Exception as exc:  # a crashing handler is a bug we found, not ours
            crash = exc
        # Compared with the node's own fields as they were, not with the
        # checkers' copy of its view (always equal to them before a step): in a
        # long run that copy is cold memory, read only when something changed.
        if fields:  # inline: this runs for every event
            queue = node.queue
            if (
                node.left == was[0]
                and node.right == was[1]
                and node.member == was[2]
                and node.busy == was[3]
                and node.leaving == was[4]
                and node.id == was[5]
                and len(queue) == len(was[6])
                and (not queue or tuple(queue) == was[6])
            ):
                after = None
            else:
                after = node.view()
        else:
            after = self._own_view_changed(node, self._views[node_id])
        if ctx.stopped:  # the node has left: it stops once its last sends are out
            self._gone[node_id] = "left"
            after = attrs.evolve(after or node.view(), gone="left")
        changed = after is not None
        changes = view_changes(self._views[node_id], after) if changed else None
        if kind == DELIVER:
            trace.deliver(now, msg, changes)
        elif kind == TIMER:
            trace.timer(now, node_id, timer, changes)
        else:
            trace.step(kind, now, node_id, changes)
        if changed:
            self._last_change = self._changed_at[node_id] = now
            moved = self.view.update(after)
            if self._waiting_leaves and after.member and node_id in self._waiting_leaves:
                self._leave_now(node_id)
        if crash is not None:  # what it changed before raising is recorded; what it asked for is not done
            where = handler_frames(crash.__traceback__.tb_next)
            self._violate("handler-error", (node_id,), f"node {node_id} raised {type(crash).__name__}: {crash}", seq, where)
        for effect in ctx.effects:
            if type(effect) is _InFlight:  # the common effect, handled without a detour
                self._send(effect, now)
            else:
                self._apply(node_id, effect, now)
        if changed and self.per_event:
            self._check(node_id, moved, seq)

    def _look(self, node_id: int, seq: int) -> None:
        """What is due only now and then: the event limit, the livelock watch, spilling the trace."""
        if seq >= self.scenario.max_events:
            self._violate("progress", (node_id,), f"the run did not come to rest within {seq} events", seq - 1)
        if seq >= self._watch.next:
            lasso = self._watch.probe(self, seq)
            if lasso is not None:
                a, b, nodes = lasso
                self._violate("progress", nodes, RepeatWatch.describe(a, b), b)
        if seq >= self._spill_at:
            self.trace.spill()
            self._spill_at = seq + SPILL_EVERY
        self._look_at = min(self.scenario.max_events, self._watch.next, self._spill_at)

    @property
    def events(self) -> Trace:
        """The events so far."""
        return self.trace

    @staticmethod
    def _own_view_changed(node, before: NodeView) -> NodeView | None:
        """For a node that builds its own view: the view if it differs from `before`, else None."""
        after = node.view()
        return None if after == before else after

    def _apply(self, node_id: int, effect, now: float) -> None:
        if type(effect) is _InFlight:
            self._send(effect, now)
        elif isinstance(effect, SetTimer):
            key = (node_id, effect.name)
            generation = next(self._timer_generations)  # never reused: an old timeout can't match
            self._timers[key] = generation
            self._schedule(_Due(self._timer_callbacks, (node_id, effect.name, generation)), NORMAL, effect.delay)
        elif isinstance(effect, CancelTimer):
            self._timers.pop((node_id, effect.name), None)

    def _send(self, msg: _InFlight, now: float) -> None:
        dst = msg.dst
        arrive = self.wire.arrival(now, msg.src, dst, msg.kind) if dst in self.nodes else None
        if self._faulty and arrive is not None:
            self._send_with_fault(msg, now, arrive)
            return
        self.trace.send(now, msg.kind, msg.src, dst, msg.values, arrive)
        if arrive is not None:  # a message to a node outside the run is lost
            msg.callbacks = self._deliver_callbacks
            self._schedule(msg, NORMAL, arrive - now)

    def _send_with_fault(self, msg: _InFlight, now: float, arrive: float) -> None:
        fault, again = self.wire.fate(now, msg.src, msg.dst, arrive, msg.kind)
        if fault is not None and again is None:  # lost, or cut by a partition
            arrive = None
        if self.wire.by_kind and self._settle_end is not None and now + self.scenario.settle > self._settle_end:
            # A fate by message kind may fall after `calm_at`: the protocol
            # still gets its whole settle window after it (never past the deadline).
            deadline = self.scenario.deadline
            self._settle_end = now + self.scenario.settle if deadline is None else min(now + self.scenario.settle, deadline)
            self._cut_by_deadline = self._settle_end == deadline
        self.trace.send(now, msg.kind, msg.src, msg.dst, msg.values, arrive, fault, again)
        if arrive is not None:
            msg.callbacks = self._deliver_callbacks
            self._schedule(msg, NORMAL, arrive - now)
        if again is not None:  # a second event: SimPy's loop clears an event's callbacks once it has run
            copy = _InFlight(msg.kind, msg.src, msg.dst, msg.values)
            copy.callbacks = self._deliver_callbacks
            self._schedule(copy, NORMAL, again - now)

    def _check(self, node_id: int, moved: bool, seq: int) -> None:
        nodes: tuple[int, ...] = (node_id,)
        if moved:  # membership changed: the members on either side see a new neighbour
            around = {node_id, self.view.prev_member(node_id), self.view.next_member(node_id)}
            nodes = tuple(sorted(n for n in around if n is not None))
        self._run_checks(self.per_event, nodes, seq)
        if self.violations:
            raise _Halt

    def _run_checks(self, invariants: tuple[Invariant, ...], nodes: tuple[int, ...], seq: int,
                    now: float | None = None) -> None:
        now = self.env.now if now is None else now
        for inv in invariants:
            for finding in inv.check(self.view, nodes):
                self.violations.append(Violation(inv.name, tuple(finding.nodes), finding.message, seq, now))

    def _violate(self, name: str, nodes: tuple[int, ...], message: str, seq: int, where: tuple = ()) -> None:
        self.violations.append(Violation(name, nodes, message, seq, self.env.now, where))
        raise _Halt

    # -- running --------------------------------------------------------------

    def run(self) -> RunResult:
        deadline = self.scenario.deadline
        everyone = tuple(sorted(self.nodes))
        # A run allocates and frees objects at a high rate but keeps almost
        # none (the trace is an array and a flat list), so the cyclic collector
        # would only slow it down; it is switched back on, as it was, when the
        # run ends, and then has little to scan.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._run_checks(self.safety, everyone, -1)
            if self.violations:
                raise _Halt
            settle_end = self.scenario.settle_end
            if settle_end is None or (deadline is not None and deadline < settle_end):
                self._settle_end = None
                self.env.run(until=deadline)
                status = "deadline" if self.env.peek() != float("inf") else "rest"
            else:
                status = self._run_to_settle()
            last = len(self.trace) - 1
            if status == "settled" and self._still_changing(self._settle_end, last):
                raise _Halt
            if not self.per_event:  # checking was off during the run: check the end state once
                self._run_checks(self.safety, everyone, last, self._end_time(status) if status == "rest" else None)
            self._run_checks(self.at_rest, everyone, last, self._end_time(status) if status == "rest" else None)
        except _Halt:
            status = "max-events" if self.violations[0].invariant == "progress" and self._out_of_events else "violation"
        finally:
            if gc_was_enabled:
                gc.enable()
        violations = tuple(self.violations)
        if self.scenario.faulty:  # a violation names the churn and faults before it
            violations = tuple(self._with_churn(v) for v in violations)
        return RunResult(
            protocol=self.protocol,
            scenario=self.scenario,
            events=self.trace,
            violations=violations,
            final=tuple(self._final_view(n) for n in sorted(self.nodes)),
            status=status,
            end_time=self._end_time(status),
            invariants=self.invariant_names,
        )


    def _run_to_settle(self) -> str:
        """Run until rest or the end of the settle window, whichever comes
        first (the window may move later while the run goes: `_send_with_fault`)."""
        env = self.env
        while env.peek() <= self._settle_end:
            env.step()
        if env.peek() == float("inf"):
            return "rest"
        if env.now < self._settle_end:
            env.run(until=self._settle_end)  # only moves the clock: nothing is due before it
        if self._cut_by_deadline:
            return "deadline"
        return "settled"

    def _end_time(self, status: str) -> float:
        # At rest the run ends with its last event: a cancelled timer still
        # waiting in SimPy's queue moves the clock but is no part of the run.
        times = getattr(self.events, "times", None)  # the compact trace keeps times apart: no event is built
        if status == "rest" and len(self.events):
            return times[-1] if times is not None else self.events[-1].time
        return float(self.env.now)

    def _final_view(self, node_id: int):
        view = self.nodes[node_id].view()
        gone = self._gone.get(node_id) if self._gone else None
        return view if gone is None else attrs.evolve(view, gone=gone)

    @property
    def _out_of_events(self) -> bool:
        return len(self.trace) >= self.scenario.max_events

    def _still_changing(self, settle_end: float, last: int) -> bool:
        """The settle rule: views still changed in the last half of the window."""
        half = settle_end - self.scenario.settle / 2
        if self._last_change <= half:
            return False
        late = sorted(n for n, t in self._changed_at.items() if t > half)
        self.violations.append(Violation(
            "progress", tuple(late),
            f"the run was still changing at the end of its settle window (t={settle_end:g}): "
            f"the last change was at t={self._last_change:g}, after t={half:g}", last, settle_end))
        return True

    def _with_churn(self, v: Violation) -> Violation:
        note = churn_before(self.trace, v.event)
        return attrs.evolve(v, message=f"{v.message} (after: {note})") if note else v


def simulate(protocol: type | str, scenario: Scenario, **options) -> RunResult:
    """Run `protocol` (a class or a name) on `scenario` and return the result."""
    sim = Simulation(protocol, scenario, **options)
    result = sim.run()
    if sim._watch.found is not None and not sim._watch.from_start:
        # A repeat seen late in the run: run again watching every step, so the
        # lasso reported is the run's first (short, and the same on replay).
        # The first repeat comes no later than this one: kept in memory, never
        # spilled into the spool the long run already wrote to.
        again = {k: v for k, v in options.items() if k != "spool"}
        result = Simulation(protocol, scenario, **dict(again, watch_from_start=True)).run()
    return result
