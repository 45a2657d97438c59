"""An explored counterexample as an ordinary scenario the simulator reproduces.

The explorer's steps carry no time. To replay them, each step gets a time
(joins at the start at t=0, then one step per time unit) and each message the
scripted delay that makes it arrive exactly at its step (`Network.delays`
holds the delay of the n-th message sent): the simulator then delivers in the
explorer's order. A timer fires in the simulator at its set time plus its
delay, so a step that fires a timer takes that time, and the steps before it
are fitted in between; an order that needs a timer to fire before an earlier
deadline cannot be replayed (`NotReplayable`). A `progress` lasso is replayed
up to one turn of its cycle, with `max_events` set so the run stops there.
A message the explorer lost is scripted as lost when sent (`Network.fates`).
A message it duplicated is scripted as duplicated when sent; the simulator
sends the copy with its link's latency, so the copy's link gets a `Constant`
latency that makes it arrive at its step (every message's own delay is
scripted, so nothing else reads those latencies). Two copies on one link that
need different latencies cannot be replayed. A node the explorer crashed is
scripted as a `Crash` at its step's time (messages to it arrive after the end).
A leave is scripted as a `Leave` at its step's time; a leave the explored run
never began is scripted after the end.
"""

from __future__ import annotations

from dhtea.core.network import Constant, LinkLatency, Network
from dhtea.core.node import CancelTimer, Send, SetTimer
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.core.trace import RunResult
from dhtea.drivers.explorer import Explorer, Found
from dhtea.drivers.simulator import simulate


class NotReplayable(ValueError):
    """The explored order needs timers to fire in an order their delays never give."""


def scripted_scenario(explorer: Explorer, found: Found) -> Scenario:
    """The scenario whose simulation takes exactly `found`'s steps."""
    state, joined = explorer.initial()
    steps = found.steps + found.cycle
    events = sum(1 + sum(isinstance(e, Send) for e in effects) for _, effects in joined)
    deadlines: dict[tuple[int, str], float] = {}
    waiting: dict[object, list[tuple[int, float]]] = {}  # message -> [(send index, send time)], oldest first
    delays: dict[int, float] = {}
    lost: set[int] = set()  # send indexes the network loses
    doubled: set[int] = set()  # send indexes the network duplicates
    gaps: dict[tuple[int, int], float] = {}  # (src, dst) -> the latency of its copies
    crashes: list[Crash] = []
    leave_at: dict[int, float] = {}
    started = {step.node for step, _ in joined}
    sent = 0
    join_at = {j: 0.0 for j, _ in explorer.joins}

    def post(effects: list, node: int, now: float) -> None:
        nonlocal sent
        for effect in effects:
            if isinstance(effect, Send):
                if effect.message.dst in explorer.index:  # the simulator scripts only messages that can arrive
                    waiting.setdefault(effect.message, []).append((sent, now))
                    sent += 1
            elif isinstance(effect, SetTimer):
                deadlines[(node, effect.name)] = now + effect.delay
            elif isinstance(effect, CancelTimer):
                deadlines.pop((node, effect.name), None)

    for step, effects in joined:
        post(effects, step.node, 0.0)
    now = 0.0
    for step in steps[len(joined) :]:
        if step.kind == "lose":  # lost when sent: it takes no step in the simulator
            index, _ = waiting[step.message].pop(0)
            lost.add(index)
            state, _, _ = explorer.step(state, step)
            continue
        if step.kind == "duplicate":  # duplicated when sent: the copy is delivered after the first
            sends = [(i, t) for i, t in waiting[step.message] if i >= 0 and i not in doubled]
            if not sends:
                raise NotReplayable("this order duplicates a message again; the simulator duplicates a send once")
            index, sent_at = sends[0]
            doubled.add(index)
            waiting[step.message].append((~index, sent_at))  # ~index: the copy of send `index`
            state, _, _ = explorer.step(state, step)
            continue
        soonest = min(deadlines.values(), default=float("inf"))
        if step.kind == "timer":
            at = deadlines.pop((step.node, step.timer))
            if not (now < at < min(deadlines.values(), default=float("inf"))):
                raise NotReplayable(
                    f"this order fires node {step.node}'s timer {step.timer!r} at t={at:g}, out of order with "
                    "other steps or timers; with the timers' delays the simulator never runs it"
                )
        else:
            if soonest <= now:
                raise NotReplayable("this order holds a timer back past its deadline; the simulator never does that")
            at = now + 1 if now + 1 < soonest else (now + soonest) / 2
        now = at
        if step.kind == "deliver":
            index, sent_at = waiting[step.message].pop(0)
            if index >= 0:
                delays[index] = now - sent_at
            else:
                _copy_gap(gaps, step.message, now - sent_at)
        elif step.kind == "join":
            join_at[step.node] = now
            started.add(step.node)
        elif step.kind == "leave":
            leave_at[step.node] = now
        elif step.kind == "crash":  # its timers never fire, and what is on its way to it is lost
            crashes.append(Crash(step.node, now, during="leave" if step.node in leave_at else None))
            for key in [k for k in deadlines if k[0] == step.node]:
                del deadlines[key]
        state, _, effects = explorer.step(state, step)
        events += 1 + sum(isinstance(e, Send) for e in effects)
        post(effects, step.node, now)
    for pending in waiting.values():  # still in flight at the end: arrives after it
        for index, sent_at in pending:
            if index >= 0:
                delays[index] = now + 1 - sent_at
    for message, pending in waiting.items():  # a copy still in flight must arrive after the end
        for index, sent_at in pending:
            if index < 0 and sent_at + gaps.setdefault((message.src, message.dst), now + 1) <= now:
                raise NotReplayable(f"a copy from {message.src} to {message.dst} would arrive before the end")
    scripted = [delays.get(i, 1.0) for i in range(sent)]
    while scripted and scripted[-1] == 1.0 and not gaps:  # the default latency: no need to script it
        scripted.pop()
    for op in crashes:  # a joiner that crashed before it started: its join comes after (and never starts)
        if op.node in join_at and op.node not in started:
            join_at[op.node] = now + 1
    joins = JoinSchedule(Join(j, join_at[j], b) for j, b in explorer.joins)
    crashed = {op.node for op in crashes}  # a node that crashed before its leave began never leaves
    leaves = [Leave(n, leave_at.get(n, now + 1)) for n in explorer.leaves if n in leave_at or n not in crashed]
    options = {"max_events": events} if found.cycle else {}
    faulty = lost | doubled
    fates = tuple("lose" if i in lost else "duplicate" if i in doubled else "deliver"
                  for i in range(max(faulty) + 1)) if faulty else ()
    links = tuple(LinkLatency(src, dst, Constant(gap)) for (src, dst), gap in sorted(gaps.items()))
    network = Network(delays=tuple(scripted), fates=fates, links=links)
    return Scenario(ring=explorer.ring, joins=joins, network=network, seed=0, churn=tuple(leaves) + tuple(crashes),
                    **options)


def _copy_gap(gaps: dict[tuple[int, int], float], message, gap: float) -> None:
    link = (message.src, message.dst)
    if gaps.setdefault(link, gap) != gap:
        raise NotReplayable(f"two copies from {message.src} to {message.dst} need different latencies")


def reproduce(explorer: Explorer, found: Found) -> RunResult:
    """Simulate `found`'s scripted scenario: an ordinary run, ready for `save_trace`."""
    return simulate(explorer.cls, scripted_scenario(explorer, found), invariants=explorer.safety + explorer.at_rest)
