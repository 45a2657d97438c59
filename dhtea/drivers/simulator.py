"""The SimPy driver: runs protocol nodes over a simulated network, records the
trace, and checks the invariants after every event.

Event-driven: every message is one SimPy timeout whose callback delivers it, so
idle nodes cost nothing. Ties at equal times are broken by SimPy's scheduling
order, which depends only on the order of earlier events: same scenario, same
trace.
"""

from __future__ import annotations

import gc
import itertools
import random  # determinism-ok: only seeded random.Random instances are used
from typing import Iterable

import simpy

from dhtea.core.messages import Message
from dhtea.core.network import Wire
from dhtea.core.node import CancelTimer, Context, Send, SetTimer
from dhtea.protocols import load_protocol, protocol_name
from dhtea.core.scenario import Join, Scenario
from dhtea.core.trace import Event, RunResult
from invariants import DEFAULT, Invariant, RingView, Violation, view_changes
from invariants.names import invariant_specs



class _Halt(Exception):
    """Stops the SimPy loop at the first violation."""




class Simulation:
    """One run of `protocol` on `scenario`. Call `run()` once."""

    def __init__(
        self,
        protocol: type | str,
        scenario: Scenario,
        *,
        invariants: Iterable[Invariant] = DEFAULT,
        check: bool = True,
    ) -> None:
        cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
        self.protocol = protocol_name(cls)
        self.scenario = scenario
        self.env = simpy.Environment()
        self.rng = random.Random(scenario.seed)
        self.wire = Wire(scenario.network, self.rng)
        self.nodes = {n: cls(n) for n in scenario.nodes}
        ring = scenario.ring
        for i, n in enumerate(ring):
            self.nodes[n].bootstrap_ring(ring[i - 1], ring[(i + 1) % len(ring)])
        self.view = RingView(scenario.nodes, (node.view() for node in self.nodes.values()))
        invariants = tuple(invariants)
        self.invariant_names = invariant_specs(invariants)  # recorded in the trace, for replay
        self.safety = tuple(i for i in invariants if i.when == "always")
        self.per_event = self.safety if check else ()  # checked after every event
        self.at_rest = tuple(i for i in invariants if i.when == "at_rest")
        self.events: list[Event] = []
        self.violations: list[Violation] = []
        self._timers: dict[tuple[int, str], int] = {}
        self._timer_generations = itertools.count()
        for join in scenario.joins:
            self.env.timeout(join.at, value=join).callbacks.append(self._on_join)

    # -- the per-event path ---------------------------------------------------

    def _on_join(self, ev: simpy.Event) -> None:
        join: Join = ev.value
        self._step(join.node, "join", None, None, join.bootstrap)

    def _on_deliver(self, ev: simpy.Event) -> None:
        msg: Message = ev.value
        self._step(msg.dst, "deliver", msg, None, None)

    def _on_timer(self, ev: simpy.Event) -> None:
        node_id, name, generation = ev.value
        if self._timers.get((node_id, name)) != generation:
            return  # cancelled or restarted since
        del self._timers[(node_id, name)]
        self._step(node_id, "timer", None, name, None)

    def _step(self, node_id: int, kind: str, msg: Message | None, timer: str | None, bootstrap: int | None) -> None:
        events = self.events
        seq = len(events)
        if seq >= self.scenario.max_events:
            self._violate("progress", (node_id,), f"the run did not come to rest within {seq} events", seq - 1)
        now = float(self.env.now)
        node = self.nodes[node_id]
        ctx = Context(node_id, now, self.rng)
        crash = None
        try:
            if msg is not None:
                node.on_message(ctx, msg)
            elif timer is not None:
                node.on_timer(ctx, timer)
            else:
                node.on_join(ctx, bootstrap)
        except Exception as exc:  # a crashing handler is a bug we found, not ours
            crash = exc
        before = self.view.node(node_id)
        after = node.view()
        changed = after != before
        events.append(Event(seq, now, kind, node_id, msg, view_changes(before, after) if changed else (), None, timer))
        if changed:
            moved = self.view.update(after)
        if crash is not None:  # what it changed before raising is recorded; what it asked for is not done
            self._violate("handler-error", (node_id,), f"node {node_id} raised {type(crash).__name__}: {crash}", seq)
        for effect in ctx.effects:
            self._apply(node_id, effect, now)
        if changed and self.per_event:
            self._check(node_id, moved, seq)

    def _apply(self, node_id: int, effect, now: float) -> None:
        if isinstance(effect, Send):
            msg = effect.message
            arrive = self.wire.arrival(now, msg.src, msg.dst) if msg.dst in self.nodes else None
            self.events.append(Event(len(self.events), now, "send", node_id, msg, (), arrive))
            if arrive is not None:  # a message to a node outside the run is lost
                self.env.timeout(arrive - now, value=msg).callbacks.append(self._on_deliver)
        elif isinstance(effect, SetTimer):
            key = (node_id, effect.name)
            generation = next(self._timer_generations)  # never reused: an old timeout can't match
            self._timers[key] = generation
            self.env.timeout(effect.delay, value=(node_id, effect.name, generation)).callbacks.append(self._on_timer)
        elif isinstance(effect, CancelTimer):
            self._timers.pop((node_id, effect.name), None)

    def _check(self, node_id: int, moved: bool, seq: int) -> None:
        nodes: tuple[int, ...] = (node_id,)
        if moved:  # membership changed: the members on either side see a new neighbour
            around = {node_id, self.view.prev_member(node_id), self.view.next_member(node_id)}
            nodes = tuple(sorted(n for n in around if n is not None))
        self._run_checks(self.per_event, nodes, seq)
        if self.violations:
            raise _Halt

    def _run_checks(self, invariants: tuple[Invariant, ...], nodes: tuple[int, ...], seq: int) -> None:
        now = self.env.now
        for inv in invariants:
            for finding in inv.check(self.view, nodes):
                self.violations.append(Violation(inv.name, tuple(finding.nodes), finding.message, seq, now))

    def _violate(self, name: str, nodes: tuple[int, ...], message: str, seq: int) -> None:
        self.violations.append(Violation(name, nodes, message, seq, self.env.now))
        raise _Halt

    # -- running --------------------------------------------------------------

    def run(self) -> RunResult:
        deadline = self.scenario.deadline
        everyone = tuple(sorted(self.nodes))
        # The trace grows by two frozen objects per message, and the cyclic
        # garbage collector would rescan all of them again and again (a 1000-
        # joiner run spends a quarter of its time there). Nothing in a run
        # relies on it; it is switched back on, as it was, when the run ends.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._run_checks(self.safety, everyone, -1)
            if self.violations:
                raise _Halt
            self.env.run(until=deadline)
            status = "deadline" if self.env.peek() != float("inf") else "rest"
            last = len(self.events) - 1
            if not self.per_event:  # checking was off during the run: check the end state once
                self._run_checks(self.safety, everyone, last)
            self._run_checks(self.at_rest, everyone, last)
        except _Halt:
            status = "max-events" if self.violations[0].invariant == "progress" else "violation"
        finally:
            if gc_was_enabled:
                gc.enable()
        return RunResult(
            protocol=self.protocol,
            scenario=self.scenario,
            events=tuple(self.events),
            violations=tuple(self.violations),
            final=tuple(self.nodes[n].view() for n in sorted(self.nodes)),
            status=status,
            end_time=float(self.env.now),
            invariants=self.invariant_names,
        )


def simulate(protocol: type | str, scenario: Scenario, **options) -> RunResult:
    """Run `protocol` (a class or a name) on `scenario` and return the result."""
    return Simulation(protocol, scenario, **options).run()
