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
"""

from __future__ import annotations

from dhtea.core.network import Network
from dhtea.core.node import CancelTimer, Send, SetTimer
from dhtea.core.scenario import Join, JoinSchedule, Scenario
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
            delays[index] = now - sent_at
        elif step.kind == "join":
            join_at[step.node] = now
        state, _, effects = explorer.step(state, step)
        events += 1 + sum(isinstance(e, Send) for e in effects)
        post(effects, step.node, now)
    for pending in waiting.values():  # still in flight at the end: arrives after it
        for index, sent_at in pending:
            delays[index] = now + 1 - sent_at
    scripted = [delays.get(i, 1.0) for i in range(sent)]
    while scripted and scripted[-1] == 1.0:  # the default latency: no need to script it
        scripted.pop()
    joins = JoinSchedule(Join(j, join_at[j], b) for j, b in explorer.joins)
    options = {"max_events": events} if found.cycle else {}
    fates = tuple("lose" if i in lost else "deliver" for i in range(max(lost) + 1)) if lost else ()
    network = Network(delays=tuple(scripted), fates=fates)
    return Scenario(ring=explorer.ring, joins=joins, network=network, seed=0, **options)


def reproduce(explorer: Explorer, found: Found) -> RunResult:
    """Simulate `found`'s scripted scenario: an ordinary run, ready for `save_trace`."""
    return simulate(explorer.cls, scripted_scenario(explorer, found), invariants=explorer.safety + explorer.at_rest)
