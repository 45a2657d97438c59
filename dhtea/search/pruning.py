"""Pruning a shrunk bug: drop one joiner, leave, crash or member at a time.

Hypothesis deletes a joiner from the drawn plan, but the run keeps the same
seed, so every latency after that joiner's messages is drawn anew and the bug
usually goes with it: shrunk bugs keep joiners and leaves they do not need,
most of all with timers, whose runs are too long for the explorer to
re-minimise. Here each part is dropped on its own and the scenario is run
with its own seed and then a few fixed others; the first run that is still
the same bug is kept, and pruning starts again from it until no part can go.
"""

from __future__ import annotations

from typing import Callable, Iterator

import attrs

from dhtea.core.network import Partition
from dhtea.core.scenario import Crash, JoinSchedule, Leave, Scenario
from dhtea.core.trace import RunResult

#: Seeds tried after the scenario's own when a part is dropped: fixed, so a
#: hunt stays deterministic; a few, because the latencies that made the bug
#: are redrawn once a part's messages are gone.
SEEDS = (0, 1, 2, 3, 4, 5)


def size(scenario: Scenario) -> tuple[int, int]:
    """Nodes (members and joiners), then leaves and crashes: what pruning lowers."""
    return (len(scenario.ring) + len(scenario.joins), len(scenario.churn))


def _without_nodes(scenario: Scenario, gone: set[int]) -> Scenario:
    """`scenario` without the nodes in `gone`: their joins, churn and partition sides."""
    joins = JoinSchedule(tuple(j for j in scenario.joins if j.node not in gone))
    churn = tuple(op for op in scenario.churn if op.node not in gone)
    parts = []
    for p in scenario.network.partitions:
        a = [n for n in p.side_a if n not in gone]
        b = [n for n in p.side_b if n not in gone]
        if a and b:
            parts.append(Partition(p.start, p.end, a, b))
    network = attrs.evolve(scenario.network, partitions=tuple(parts))
    return attrs.evolve(scenario, ring=tuple(n for n in scenario.ring if n not in gone), joins=joins, churn=churn,
                        network=network)


def _smaller(scenario: Scenario) -> Iterator[Scenario]:
    """Each scenario with one part fewer: a leave or crash, a joiner, or a member
    that is neither a bootstrap nor the first of the ring (churn never touches
    the first member, and every join needs its bootstrap)."""
    for make in _drops(scenario):
        try:
            yield make()
        except ValueError:  # not a valid scenario without that part: keep the part
            continue


def _drops(scenario: Scenario) -> Iterator[Callable[[], Scenario]]:
    for i, op in enumerate(scenario.churn):
        rest = scenario.churn[:i] + scenario.churn[i + 1:]
        if isinstance(op, Leave):  # a crash during this leave goes with it
            rest = tuple(c for c in rest if not (isinstance(c, Crash) and c.node == op.node and c.during == "leave"))
        yield lambda rest=rest: attrs.evolve(scenario, churn=rest)
    for join in scenario.joins:
        yield lambda node=join.node: _without_nodes(scenario, {node})
    bootstraps = {j.bootstrap for j in scenario.joins}
    for node in scenario.ring[1:]:
        if node not in bootstraps:
            yield lambda node=node: _without_nodes(scenario, {node})


def prune(result: RunResult, run: Callable[[Scenario], RunResult], same_bug: Callable[[RunResult], bool],
          seeds: tuple[int, ...] = SEEDS, on_try: Callable[[], None] | None = None) -> RunResult:
    """`result` with every part dropped that the bug does not need: the run of
    the smallest scenario reached by dropping one part at a time (trying the
    scenario's own seed, then `seeds`) while `same_bug` holds. `run` simulates
    a scenario; `on_try` is called before each run (a hunt shows progress and
    stops on Ctrl-C there). Returns `result` itself when no part can go."""
    best = result
    smaller = True
    while smaller:
        smaller = False
        for candidate in _smaller(best.scenario):
            if not candidate.ring or (not candidate.joins and not candidate.churn):
                continue  # nothing left to happen
            for seed in dict.fromkeys((candidate.seed,) + tuple(seeds)):  # its own seed first, no seed twice
                if on_try is not None:
                    on_try()
                attempt = run(attrs.evolve(candidate, seed=seed))
                if not attempt.ok and same_bug(attempt):
                    best, smaller = attempt, True
                    break
            if smaller:
                break  # start again from the smaller scenario
    return best
