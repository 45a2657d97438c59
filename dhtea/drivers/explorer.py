"""The exhaustive explorer: every reachable state of one small scenario, breadth first.

A state is every node's state, the multiset of messages in flight and the set
of pending timers (plus, when joins may start at any point, the joins not
started yet). From a state, every message in flight may be delivered next and
every pending timer may fire next (and, with `max_losses`, the network may lose
any message in flight, up to that many in all; with `max_duplicates`, it may
deliver any message in flight twice: a second copy joins the messages in
flight, up to that many copies in all; with `max_crashes`, any node may
crash-stop, up to that many in all: its view is frozen as crashed, messages to
it are lost and its timers never fire; with `leaves`, each of those members
may begin its graceful leave at any point, and once its protocol calls
`ctx.stop()` it is gone as in the simulator: messages to it are lost and its
timers never fire): time is abstracted away, as in an
asynchronous network, so the explorer covers every order the simulator could
produce with any latencies (the network is not FIFO) and timers treated as
firing after any delay. Handlers must not branch on `ctx.now` or `ctx.rng`:
the explorer passes the step count as the time and refuses `ctx.rng`.

Breadth first, so the first violation found is a shortest one: fewest steps
(deliveries, timer firings, and joins when they are events). Safety invariants
are checked in every new state, on the nodes the step touched (as the
simulator does); the at-rest invariants in every state with nothing in flight,
no timers and no join or leave still to start. A state that violates an invariant is a
dead end: a run stops there. The search stops at the first violation (or, with
`want`, at the first of the wanted signatures), at `max_states` or
`max_depth` ("bounded"), or when nothing new is reachable ("complete"). With
`accept`, only the violations it accepts are found (the others are dead ends
all the same), so the first one is the shortest of those.

States are compared by fingerprint: each node's `snapshot` (see
`fingerprint.py`), the sorted messages in flight, the sorted timers.
"""

from __future__ import annotations

import time
from array import array
from typing import Callable, Iterable, Literal

import attrs

from dhtea.core.messages import Message
from dhtea.core.node import CancelTimer, Context, Send, SetTimer
from dhtea.drivers.fingerprint import clone, snapshot
from dhtea.protocols import protocol_name
from invariants import DEFAULT, Invariant, RingView

JoinMode = Literal["start", "any"]

#: New states between two progress calls (a few per second at this speed).
PROGRESS_EVERY = 2048


class ExploreError(Exception):
    """The protocol cannot be explored as it is (it uses `ctx.rng`, or its state has no stable value)."""


class _NoRandom:
    """Stands in for `ctx.rng`: exploring a random choice would need every outcome."""

    def __getattr__(self, name: str):
        raise ExploreError("the protocol uses ctx.rng; the explorer explores only deterministic handlers")


_NO_RANDOM = _NoRandom()


@attrs.frozen(slots=True)
class Step:
    """One transition: `join` (node starts joining through `bootstrap`),
    `deliver` (`message` reaches `node`), `timer` (`node`'s `timer` fires) or
    `lose` (the network loses `message`, on its way to `node`) or `duplicate`
    (the network will deliver `message` to `node` twice) or `crash` (`node`
    crash-stops) or `leave` (`node` begins its graceful leave)."""

    kind: str
    node: int
    message: Message | None = None
    timer: str | None = None
    bootstrap: int | None = None

    def describe(self) -> str:
        if self.kind == "deliver":
            return f"{self.message.src} -> {self.node} {self.message.describe()}"
        if self.kind == "timer":
            return f"{self.node} timer {self.timer}"
        if self.kind == "crash":
            return f"{self.node} crashes"
        if self.kind == "leave":
            return f"{self.node} begins to leave"
        if self.kind in ("lose", "duplicate"):
            what = "lost" if self.kind == "lose" else "duplicated"
            return f"{self.message.src} -> {self.node} {self.message.describe()} {what}"
        return f"{self.node} joins via {self.bootstrap}"


@attrs.frozen
class Found:
    """A violation the explorer reached: the steps from the start (joins at the
    start included), and for `progress` the cycle that can repeat forever after them."""

    invariant: str
    nodes: tuple[int, ...]
    message: str
    steps: tuple[Step, ...]
    cycle: tuple[Step, ...] = ()

    @property
    def deliveries(self) -> int:
        return sum(1 for s in self.steps + self.cycle if s.kind == "deliver")


@attrs.frozen
class Exploration:
    """What one exploration saw. `complete` means every reachable state was
    visited (no bound was hit), so no violation means none in this scenario."""

    protocol: str
    ring: tuple[int, ...]
    joins: tuple[tuple[int, int], ...]
    states: int
    transitions: int
    depth: int
    seconds: float
    complete: bool
    found: tuple[Found, ...]  # shortest first, at most one per invariant
    leaves: tuple[int, ...] = ()  # the members that leave, each at any point

    @property
    def violation(self) -> Found | None:
        return self.found[0] if self.found else None


class _State:
    __slots__ = ("nodes", "snaps", "views", "inflight", "timers", "pending", "key", "depth", "lost", "copies", "down",
                 "to_leave", "left")

    def __init__(self, nodes, snaps, views, inflight, timers, pending, depth, lost=0, copies=0, down=(), to_leave=(),
                 left=()):
        self.nodes = nodes
        self.snaps = snaps  # each node's snapshot, kept so a step recomputes only its own
        self.views = views
        self.inflight = inflight
        self.timers = timers
        self.pending = pending
        self.depth = depth
        self.lost = lost  # messages lost so far (bounded by max_losses)
        self.copies = copies  # messages duplicated so far (bounded by max_duplicates)
        self.down = down  # the nodes that crashed (bounded by max_crashes), sorted
        self.to_leave = to_leave  # the leaves not begun yet, sorted
        self.left = left  # the nodes that have left (stopped after their leave), sorted
        self.key = (snaps, inflight, timers, pending, lost, copies, down, to_leave, left)

    @property
    def quiet(self) -> bool:
        """Nothing in flight, no timer, no join or leave still to begin: at rest."""
        return not self.inflight and not self.timers and not self.pending and not self.to_leave

    def but(self, **changes) -> "_State":
        """This state with some fields changed (and one step deeper unless `depth` is given)."""
        fields = {name: getattr(self, name) for name in _State.__slots__ if name != "key"}
        fields["depth"] = self.depth + 1
        fields.update(changes)
        return _State(**fields)


class _Halt(Exception):
    pass


class Explorer:
    """Explores `protocol` on one scenario: `ring` (initial members) and `joins`
    ((joiner, bootstrap) pairs). `joins="start"` starts every join at the
    beginning; `"any"` lets each join start at any point. Each member in
    `leaves` begins a graceful leave at any point (once)."""

    def __init__(
        self,
        protocol: type,
        ring: Iterable[int],
        joins: Iterable[tuple[int, int]],
        *,
        invariants: Iterable[Invariant] = DEFAULT,
        join_mode: JoinMode = "start",
        max_states: int | None = None,
        max_depth: int | None = None,
        want: Iterable[str] | None = None,
        progress: bool = True,
        max_losses: int = 0,
        max_duplicates: int = 0,
        max_crashes: int = 0,
        leaves: Iterable[int] = (),
        accept: Callable[["Explorer", Found], bool] | None = None,
        on_progress: Callable[[int, int, int], None] | None = None,
    ) -> None:
        self.cls = protocol
        self.ring = tuple(sorted(ring))
        self.joins = tuple(joins)
        self.ids = self.ring + tuple(j for j, _ in self.joins)
        self.index = {n: i for i, n in enumerate(self.ids)}
        invariants = tuple(invariants)
        self.safety = tuple(i for i in invariants if i.when == "always")
        self.at_rest = tuple(i for i in invariants if i.when == "at_rest")
        self.join_mode = join_mode
        self.max_states = max_states
        self.max_depth = max_depth
        self.want = None if want is None else frozenset(want)
        self.progress = progress
        self.max_losses = max_losses
        self.max_duplicates = max_duplicates
        self.max_crashes = max_crashes
        self.on_progress = on_progress  # called with (states, transitions, depth) every PROGRESS_EVERY states
        self.accept = accept  # which violations count (say, only those that need a leave); None: all
        self.leaves = tuple(sorted(set(leaves)))
        if not set(self.leaves) <= set(self.ring):
            raise ValueError(f"only members of the initial ring leave, not {sorted(set(self.leaves) - set(self.ring))}")
        self._messages: dict[Message, Message] = {}  # one object per distinct message
        self._order: dict[Message, tuple] = {}
        self._verdicts: dict[tuple, tuple | None] = {}

    # -- one step ----------------------------------------------------------------

    def _sort_key(self, msg: Message) -> tuple:
        key = self._order.get(msg)
        if key is None:
            key = self._order[msg] = (msg.dst, msg.src, msg.kind, repr(msg.data))
        return key

    def _intern(self, msg: Message) -> Message:
        return self._messages.setdefault(msg, msg)

    def initial(self) -> tuple[_State, list[tuple[Step, list]]]:
        """The state before any delivery (joins done, in schedule order, when they
        all start at the beginning), and the join steps with the effects each asked for."""
        nodes = [self.cls(n) for n in self.ids]
        ring = self.ring
        for i, n in enumerate(ring):
            nodes[i].bootstrap_ring(ring[i - 1], ring[(i + 1) % len(ring)])
        views = tuple(n.view() for n in nodes)
        pending = tuple((j, b) for j, b in self.joins)
        state = _State(tuple(nodes), tuple(snapshot(n) for n in nodes), views, (), (),
                       pending if self.join_mode == "any" else (), 0, to_leave=self.leaves)
        record: list[tuple[Step, list]] = []
        if self.join_mode == "start":
            for j, b in self.joins:
                step = Step("join", j, bootstrap=b)
                state, violation, effects = self.step(state, step, keep_depth=True)
                record.append((step, effects))
                if violation is not None:
                    return state, record
        return state, record

    def enabled(self, state: _State) -> list[Step]:
        steps = []
        last = None
        for msg in state.inflight:
            if msg is not last:  # equal copies lead to the same state
                steps.append(Step("deliver", msg.dst, msg))
                last = msg
        for kind, allowed in (("lose", state.lost < self.max_losses), ("duplicate", state.copies < self.max_duplicates)):
            last = None
            for msg in state.inflight if allowed else ():
                if msg is not last:
                    steps.append(Step(kind, msg.dst, msg))
                    last = msg
        for node, name in state.timers:
            steps.append(Step("timer", node, timer=name))
        for j, b in state.pending:
            steps.append(Step("join", j, bootstrap=b))
        steps.extend(Step("leave", n) for n in state.to_leave)
        if len(state.down) < self.max_crashes:
            steps.extend(Step("crash", n) for n in self.ids if n not in state.down and n not in state.left)
        return steps

    def step(self, state: _State, step: Step, keep_depth: bool = False):
        """The state after `step`, the violation it causes (or None), and the
        effects the handler asked for (none if it raised: they are not done)."""
        if step.kind == "lose":
            return self._lose(state, step)
        if step.kind == "duplicate":  # only the messages in flight change, and nothing comes to rest
            inflight = tuple(sorted(state.inflight + (step.message,), key=self._sort_key))
            return state.but(inflight=inflight, copies=state.copies + 1), None, []
        if step.kind == "crash":
            return self._crash(state, step)
        i = self.index[step.node]
        node = clone(state.nodes[i])
        depth = state.depth if keep_depth else state.depth + 1
        ctx = Context(step.node, float(depth), _NO_RANDOM)  # type: ignore[arg-type]
        timers = state.timers
        pending = state.pending
        to_leave = state.to_leave
        inflight = state.inflight
        crash = None
        try:
            if step.kind == "deliver":
                k = inflight.index(step.message)
                inflight = inflight[:k] + inflight[k + 1 :]
                node.on_message(ctx, step.message)
            elif step.kind == "timer":
                timers = tuple(t for t in timers if t != (step.node, step.timer))
                node.on_timer(ctx, step.timer)
            elif step.kind == "leave":
                to_leave = tuple(n for n in to_leave if n != step.node)
                node.on_leave(ctx)
            else:
                pending = tuple(p for p in pending if p[0] != step.node)
                node.on_join(ctx, step.bootstrap)
        except ExploreError:
            raise
        except Exception as exc:  # a crashing handler is a bug found, as in the simulator
            crash = exc
        nodes = state.nodes[:i] + (node,) + state.nodes[i + 1 :]
        before = state.views[i]
        after = node.view()
        views = state.views if after == before else state.views[:i] + (after,) + state.views[i + 1 :]
        effects = ctx.effects if crash is None else []
        left = state.left
        stopped = crash is None and ctx.stopped
        if stopped:  # gone once its last sends are out, as in the simulator
            left = tuple(sorted(left + (step.node,)))
            after = attrs.evolve(after, gone="left")
            views = state.views[:i] + (after,) + state.views[i + 1 :]
        if crash is None:
            added = []
            timer_set = set(timers)
            for effect in effects:
                if isinstance(effect, Send):
                    dst = effect.message.dst
                    if dst in self.index and dst not in state.down and dst not in left:  # outside the run, or gone: lost
                        added.append(self._intern(effect.message))
                elif isinstance(effect, SetTimer):
                    timer_set.add((step.node, effect.name))
                elif isinstance(effect, CancelTimer):
                    timer_set.discard((step.node, effect.name))
            if added:
                inflight = tuple(sorted(inflight + tuple(added), key=self._sort_key))
            timers = tuple(sorted(timer_set))
        if stopped:
            inflight = tuple(m for m in inflight if m.dst != step.node)
            timers = tuple(t for t in timers if t[0] != step.node)
        snap = snapshot(node)
        snaps = state.snaps if snap == state.snaps[i] else state.snaps[:i] + (snap,) + state.snaps[i + 1 :]
        new = state.but(nodes=nodes, snaps=snaps, views=views, inflight=inflight, timers=timers, pending=pending,
                        depth=depth, to_leave=to_leave, left=left)
        if crash is not None:
            text = f"node {step.node} raised {type(crash).__name__}: {crash}"
            return new, ("handler-error", (step.node,), text), effects
        violation = None
        if after != before and self.safety:
            violation = self._check(new, step.node, before.member != after.member or stopped)
        if violation is None and new.quiet and self.at_rest:
            ring = self._ring(new)
            violation = self._first(self.at_rest, ring, self.ids)
        return new, violation, effects

    def _lose(self, state: _State, step: Step):
        """The network loses one copy of `step.message`: only the messages in flight change."""
        k = state.inflight.index(step.message)
        inflight = state.inflight[:k] + state.inflight[k + 1 :]
        new = state.but(inflight=inflight, lost=state.lost + 1)
        violation = None
        if new.quiet and self.at_rest:
            violation = self._first(self.at_rest, self._ring(new), self.ids)
        return new, violation, []

    def _crash(self, state: _State, step: Step):
        """`step.node` crash-stops: its view is frozen as crashed, what is on its way to it is lost."""
        n = step.node
        i = self.index[n]
        before = state.views[i]
        after = attrs.evolve(before, gone="crashed")
        views = state.views[:i] + (after,) + state.views[i + 1 :]
        inflight = tuple(m for m in state.inflight if m.dst != n)
        timers = tuple(t for t in state.timers if t[0] != n)
        pending = tuple(p for p in state.pending if p[0] != n)
        down = tuple(sorted(state.down + (n,)))
        to_leave = tuple(m for m in state.to_leave if m != n)  # a crashed node begins no leave
        new = state.but(views=views, inflight=inflight, timers=timers, pending=pending, down=down, to_leave=to_leave)
        violation = None
        if self.safety:
            violation = self._check(new, n, before.member and before.gone is None)
        if violation is None and new.quiet and self.at_rest:
            violation = self._first(self.at_rest, self._ring(new), self.ids)
        return new, violation, []

    def _ring(self, state: _State) -> RingView:
        return RingView(self.ids, state.views)

    def _check(self, state: _State, node: int, moved: bool):
        # The checkers read only the views, and many states share them (they differ in flight).
        key = (state.views, node, moved)
        if key in self._verdicts:
            return self._verdicts[key]
        verdict = self._verdicts[key] = self._check_views(state, node, moved)
        return verdict

    def _check_views(self, state: _State, node: int, moved: bool):
        ring = self._ring(state)
        nodes: tuple[int, ...] = (node,)
        if moved:
            around = {node, ring.prev_member(node), ring.next_member(node)}
            nodes = tuple(sorted(n for n in around if n is not None))
        return self._first(self.safety, ring, nodes)

    @staticmethod
    def _first(invariants, ring, nodes):
        for inv in invariants:
            for finding in inv.check(ring, nodes):
                return (inv.name, tuple(finding.nodes), finding.message)
        return None

    def replay(self, steps: Iterable[Step]) -> _State:
        """The state after `steps` from the start (the start's own join steps skipped)."""
        state, joined = self.initial()
        for step in tuple(steps)[len(joined) :]:
            state, _, _ = self.step(state, step)
        return state

    # -- the search ----------------------------------------------------------------

    def run(self) -> Exploration:
        started = time.perf_counter()
        start, joined = self.initial()
        head = tuple(step for step, _ in joined)
        parents = array("q", [-1])
        labels: list[Step | None] = [None]
        seen = {start.key: 0}
        found: dict[str, Found] = {}
        edges = array("q")
        lo = array("q", [0])  # edges of state i: edges[lo[i]:hi[i]], once expanded
        hi = array("q", [0])
        # A state can come to rest (as far as this search knows) if it is at rest,
        # violating (a run stops there) or not expanded; the liveness pass starts from these.
        settled = bytearray()
        transitions = 0
        complete = True
        depth = 0

        def path(index: int) -> tuple[Step, ...]:
            out = []
            while index > 0:
                out.append(labels[index])
                index = parents[index]
            return head + tuple(reversed(out))

        def record(violation, index: int) -> bool:
            name, nodes, text = violation
            if name not in found and (self.want is None or name in self.want):
                candidate = Found(name, nodes, text, path(index))
                if self.accept is not None and not self.accept(self, candidate):
                    return False  # not one we look for: a dead end all the same, and the search goes on
                found[name] = candidate
            return self.want is None or self.want <= found.keys()

        at_rest = start.quiet
        violation = self._first(self.safety, self._ring(start), self.ids)
        if violation is None and at_rest and len(joined) == len(self.joins):
            violation = self._first(self.at_rest, self._ring(start), self.ids)
        settled.append(True)  # until expanded
        frontier = [] if violation is not None else [(0, start)]
        try:
            if violation is not None and record(violation, 0):
                raise _Halt
            while frontier:
                nxt = []
                for index, state in frontier:
                    if self.max_depth is not None and state.depth >= self.max_depth:
                        complete = False
                        continue
                    first = len(edges)
                    for step in self.enabled(state):
                        new, violation, _ = self.step(state, step)
                        transitions += 1
                        target = seen.get(new.key)
                        if target is None:
                            if self.max_states is not None and len(parents) >= self.max_states:
                                complete = False
                                raise _Halt
                            target = len(parents)
                            if self.on_progress is not None and target % PROGRESS_EVERY == 0:
                                self.on_progress(target, transitions, new.depth)
                            seen[new.key] = target
                            parents.append(index)
                            labels.append(step)
                            lo.append(0)
                            hi.append(0)
                            settled.append(True)
                            depth = max(depth, new.depth)
                            if violation is not None:
                                if record(violation, target):
                                    raise _Halt
                            elif not new.quiet:
                                nxt.append((target, new))
                        edges.append(target)
                    lo[index], hi[index] = first, len(edges)
                    settled[index] = first == len(edges)  # nothing enabled: at rest
                frontier = nxt
        except _Halt:
            pass
        states = len(parents)
        if self.progress and (not found if self.want is None else "progress" in self.want):
            from dhtea.drivers.lasso import stuck_lasso  # the liveness pass

            lasso = stuck_lasso(lo, hi, edges, settled)
            if lasso is not None:
                index, walk, cycle = lasso
                prefix = path(index)
                state = self.replay(prefix)
                moves = []
                for k in walk + cycle:
                    step = self.enabled(state)[k]
                    moves.append(step)
                    state, _, _ = self.step(state, step)
                prefix += tuple(moves[: len(walk)])
                turn = tuple(moves[len(walk) :])
                nodes = tuple(sorted({s.node for s in turn}))
                found["progress"] = Found(
                    "progress", nodes,
                    f"after {len(prefix)} step(s) no run can come to rest any more: the next {len(turn)} "
                    "step(s) lead back to the same state and can repeat forever",
                    prefix, turn,
                )
        ordered = tuple(sorted(found.values(), key=lambda f: (len(f.steps) + len(f.cycle), f.invariant)))
        return Exploration(
            protocol_name(self.cls), self.ring, self.joins, states, transitions, depth,
            time.perf_counter() - started, complete, ordered, self.leaves,
        )


def explore(protocol: type, ring: Iterable[int], joins: Iterable[tuple[int, int]], **options) -> Exploration:
    """Explore every reachable state of one scenario; see `Explorer`."""
    return Explorer(protocol, ring, joins, **options).run()
