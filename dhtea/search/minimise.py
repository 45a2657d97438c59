"""Re-minimising a shrunk bug by exploring the scopes below it.

Hypothesis shrinks a failing scenario well, but not always to the true minimum:
a bug that needs messages reordered may stay at more joiners than it needs, or
one delivery above the shortest. The explorer knows the minimum of a scope. So
once a hunt has shrunk a bug, every scope with no more members, joiners and
leaves than its scenario is explored, smallest first (fewest nodes, then fewest
leaves, then fewest joiners), for a violation with the same signature; the
first scope that holds one gives its shortest counterexample, which replaces the
hunt's run when it is smaller (fewer nodes, or as many nodes and fewer leaves,
or as many of both and fewer deliveries).

Only scenarios of joins and graceful leaves by initial members are
re-minimised (no crash, no network fault: the explorer would have to bound
those separately; no leave by a joiner: the explorer's leavers are members), only for
protocols that the explorer can relabel (see `dhtea/drivers/symmetry.py`), and
not for `progress`, whose lasso the simulator already reports at its first
repeat. The search is bounded (`max_states`); if it runs out first, the hunt's
run is kept.
"""

from __future__ import annotations

from typing import Callable, Iterable

from dhtea.core.node import SetTimer
from dhtea.core.scenario import Leave
from dhtea.core.trace import RunResult
from dhtea.drivers.explore_scope import ScopeError, explore_scope
from dhtea.drivers.explore_trace import NotReplayable, reproduce
from dhtea.drivers.explorer import ExploreError, Explorer
from dhtea.drivers.fingerprint import FingerprintError
from dhtea.drivers.simulator import simulate
from invariants import Invariant

#: States explored at most per bug; a few seconds at worst.
BUDGET = 200_000

#: The budget when the protocol uses timers: the explorer lets a timer fire at
#: any point, so retries and leases make even the smallest scope unbounded
#: (gaplease's 1 member + 1 joiner passes 200,000 states), and a large budget
#: would only burn a minute per bug before keeping the hunt's run.
TIMER_BUDGET = 20_000


def deliveries(result: RunResult) -> int:
    return sum(1 for e in result.events if e.kind == "deliver")


def sets_timers(cls: type, scenario) -> bool:
    """Whether `cls` sets a timer when `scenario` is simulated (a run records
    the timers that fire, not those set and cancelled, so the run is repeated
    with a subclass that watches the handlers' effects)."""
    seen = []

    def watch(handler):
        def watched(self, ctx, *args):
            handler(self, ctx, *args)
            seen.extend(e for e in ctx.effects if isinstance(e, SetTimer))
        return watched

    probe = type(cls.__name__, (cls,), {name: watch(getattr(cls, name))
                                        for name in ("on_join", "on_message", "on_timer", "on_leave")})
    simulate(probe, scenario, invariants=())
    return bool(seen)


def _size(result: RunResult) -> tuple[int, int, int]:
    s = result.scenario
    return (len(s.ring) + len(s.joins), len(s.churn), deliveries(result))


def reminimise(cls: type, result: RunResult, invariants: Iterable[Invariant], max_states: int | None = None,
               same_bug: Callable[[RunResult], bool] | None = None,
               on_progress: Callable[[int], None] | None = None) -> RunResult:
    """The explorer's shortest run with `result`'s signature in the smallest scope
    below `result`'s scenario, if it is smaller; else `result` itself.
    `same_bug` says whether a candidate run is the same bug (by default: the
    same first invariant); a scope whose counterexample is another bug (say, a
    plain join bug when `result`'s bug needs a leave) is passed over.
    `max_states` defaults to `BUDGET`, or `TIMER_BUDGET` if the protocol set
    a timer in `result`'s scenario. `on_progress` gets the states explored so far, every few thousand
    (a hunt uses it to show progress and to stop on Ctrl-C)."""
    scenario = result.scenario
    signature = result.signature
    churn = tuple(scenario.churn)
    # The explorer's leaves are by members of the initial ring: a leave by a joiner is beyond its scopes.
    if (signature in (None, "progress") or scenario.network.faulty
            or not all(isinstance(op, Leave) and op.node in scenario.ring for op in churn)):
        return result
    invariants = tuple(invariants)
    sizes = sorted(((m, j, k) for m in range(1, len(scenario.ring) + 1) for j in range(0, len(scenario.joins) + 1)
                    for k in range(0, min(len(churn), m - 1) + 1)),
                   key=lambda mjk: (mjk[0] + mjk[1], mjk[2], mjk[1], mjk[0]))
    if max_states is None:
        max_states = TIMER_BUDGET if sets_timers(cls, scenario) else BUDGET
    budget = max_states
    runs: dict[int, RunResult] = {}  # the accepted counterexamples' runs, by id of their `Found`

    def accept(explorer: Explorer, found) -> bool:
        # Only this bug counts: a scope's shortest violation of the same
        # invariant may be another bug (a plain join bug, when this one needs a leave).
        try:
            run = reproduce(explorer, found)
        except NotReplayable:
            return False
        if run.signature != signature or (same_bug is not None and not same_bug(run)):
            return False
        runs[id(found)] = run
        return True

    try:
        for members, joiners, leaves in sizes:
            if (members + joiners, leaves) > _size(result)[:2] or budget <= 0:
                break
            spent = max_states - budget
            tell = None if on_progress is None else (lambda p, spent=spent: on_progress(spent + p.states))
            scope = explore_scope(cls, members, joiners, invariants=invariants, want=[signature], max_states=budget,
                                  leaves=leaves, accept=accept, on_progress=tell)
            budget -= scope.states
            if not scope.found:
                continue
            found, _ = scope.shortest
            run = runs[id(found)]
            return run if _size(run) < _size(result) else result
    except (ScopeError, ExploreError, FingerprintError, NotReplayable):
        return result  # a protocol the explorer cannot take as it is: keep the hunt's run
    return result
