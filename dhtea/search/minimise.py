"""Re-minimising a shrunk bug by exploring the scopes below it.

Hypothesis shrinks a failing scenario well, but not always to the true minimum:
a bug that needs messages reordered may stay at more joiners than it needs, or
one delivery above the shortest. The explorer knows the minimum of a scope. So
once a hunt has shrunk a bug, every scope with no more members and joiners than
its scenario is explored, smallest first (fewest nodes, then fewest joiners),
for a violation with the same signature; the first scope that holds one gives
its shortest counterexample, which replaces the hunt's run when it is smaller
(fewer nodes, or as many nodes and fewer deliveries).

Only plain join scenarios are re-minimised (no churn, no faults), only for
protocols that the explorer can relabel (see `dhtea/drivers/symmetry.py`), and
not for `progress`, whose lasso the simulator already reports at its first
repeat. The search is bounded (`max_states`); if it runs out first, the hunt's
run is kept.
"""

from __future__ import annotations

from typing import Iterable

from dhtea.core.trace import RunResult
from dhtea.drivers.explore_scope import ScopeError, explore_scope
from dhtea.drivers.explore_trace import NotReplayable, reproduce
from dhtea.drivers.explorer import ExploreError, Explorer
from dhtea.drivers.fingerprint import FingerprintError
from invariants import Invariant

#: States explored at most per bug; a few seconds at worst.
BUDGET = 200_000


def deliveries(result: RunResult) -> int:
    return sum(1 for e in result.events if e.kind == "deliver")


def _size(result: RunResult) -> tuple[int, int]:
    s = result.scenario
    return (len(s.ring) + len(s.joins), deliveries(result))


def reminimise(cls: type, result: RunResult, invariants: Iterable[Invariant], max_states: int = BUDGET) -> RunResult:
    """The explorer's shortest run with `result`'s signature in the smallest scope
    below `result`'s scenario, if it is smaller; else `result` itself."""
    scenario = result.scenario
    signature = result.signature
    if signature in (None, "progress") or getattr(scenario, "faulty", False) or getattr(scenario, "churn", ()):
        return result
    invariants = tuple(invariants)
    sizes = sorted(((m, j) for m in range(1, len(scenario.ring) + 1) for j in range(0, len(scenario.joins) + 1)),
                   key=lambda mj: (mj[0] + mj[1], mj[1], mj[0]))
    budget = max_states
    try:
        for members, joiners in sizes:
            if members + joiners > _size(result)[0] or budget <= 0:
                break
            scope = explore_scope(cls, members, joiners, invariants=invariants, want=[signature], max_states=budget)
            budget -= scope.states
            if not scope.found:
                continue
            found, exploration = scope.shortest
            explorer = Explorer(cls, exploration.ring, exploration.joins, invariants=invariants)
            run = reproduce(explorer, found)
            if run.signature == signature and _size(run) < _size(result):
                return run
            return result
    except (ScopeError, ExploreError, FingerprintError, NotReplayable):
        return result  # a protocol the explorer cannot take as it is: keep the hunt's run
    return result
