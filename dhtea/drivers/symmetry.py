"""Which relabellings of node ids a protocol cannot tell apart.

A protocol that only compares ids (`<`, `==`, `between`), and never computes
with them, behaves the same on any two rings whose ids are in the same order:
the runs correspond event for event with the ids renamed. So a scope needs
only ids 0..n-1, one ring per choice of which ranks are members (the "order"
reduction). If it compares ids only on the circle (`between`, never a plain
`<`), rotating the ranks changes nothing either, and one ring per rotation
class is enough (the "rotation" reduction).

That condition is the soundness of the reduction, and it is a property of the
code, so it is checked by running: the same scenarios are simulated with ids
0..n-1, with large uneven ids in the same order, and with the ranks rotated,
under a few seeded random latencies; the runs must match event for event once
the ids are renamed back. A protocol that fails the first check cannot be
explored up to relabelling (the explorer says so; `relabel=False` explores
the ids given).
"""

from __future__ import annotations

from typing import Callable, Iterable

from dhtea.core.network import Network, Uniform
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.core.trace import RunResult
from dhtea.drivers.simulator import simulate

Scope = tuple[tuple[int, ...], tuple[tuple[int, int], ...]]  # (members, ((joiner, bootstrap), ...))

_SEEDS = (0, 1, 2)


def _rename(value: object, names: dict[int, int]) -> object:
    if type(value) is int:
        return names.get(value, value)
    if isinstance(value, tuple):
        return tuple(_rename(v, names) for v in value)
    return value


def _shape(result: RunResult, names: dict[int, int]) -> list[tuple]:
    """The run as plain values with every id renamed by `names`."""
    out = [
        (e.kind, names[e.node], e.time, e.arrive, e.timer,
         None if e.message is None else (e.message.kind, _rename(e.message.src, names), _rename(e.message.dst, names),
                                         _rename(e.message.data, names)),
         _rename(e.changes, names))
        for e in result.events
    ]
    out.extend((v.invariant, _rename(v.nodes, names), v.event) for v in result.violations)
    return out


def _run(protocol: type, scope: Scope, names: dict[int, int], seed: int) -> RunResult:
    members, joins = scope
    schedule = JoinSchedule(Join(names[j], 0, names[b]) for j, b in joins)
    # A short run is enough to see a difference; a run that never comes to rest stops early.
    scenario = Scenario(ring=[names[m] for m in members], joins=schedule, network=Network(Uniform(1, 5)), seed=seed,
                        max_events=2_000)
    return simulate(protocol, scenario)


def first_difference(protocol: type, scopes: Iterable[Scope], relabel: Callable[[int, int], int]) -> str | None:
    """Simulate each scope with ids 0..n-1 and with `relabel(rank, n)` as ids;
    describe the first place the runs differ, or None if they all match."""
    for scope in scopes:
        n = len(scope[0]) + len(scope[1])
        plain = {i: i for i in range(n)}
        there = {i: relabel(i, n) for i in range(n)}
        back = {v: k for k, v in there.items()}
        for seed in _SEEDS:
            a = _shape(_run(protocol, scope, plain, seed), plain)
            b = _shape(_run(protocol, scope, there, seed), back)
            if a != b:
                at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                members, joins = scope
                return (f"ring {list(members)} with joiners {[j for j, _ in joins]} (seed {seed}) runs differently "
                        f"from event #{at} on when the ids are renamed")
    return None


def spread(rank: int, n: int) -> int:
    """Large, unevenly spaced ids in the same order as the ranks."""
    return 1_000_003 + rank * 7919 + rank * rank * 104_729


def rotated(rank: int, n: int) -> int:
    return (rank + 1) % n


def check_order(protocol: type, scopes: Iterable[Scope]) -> str | None:
    """None if the protocol looks the same under order-preserving renaming, else where it differs."""
    return first_difference(protocol, scopes, spread)


def check_rotation(protocol: type, scopes: Iterable[Scope]) -> str | None:
    """None if the protocol also looks the same with ranks rotated on the circle."""
    return first_difference(protocol, scopes, rotated)


def rotation_canonical(scope: Scope, n: int) -> Scope:
    """The smallest rotation of `scope` over n ids: one representative per class."""
    members, joins = scope
    best = None
    for s in range(n):
        rm = tuple(sorted((m + s) % n for m in members))
        rj = tuple(sorted(((j + s) % n, (b + s) % n) for j, b in joins))
        if best is None or (rm, rj) < best:
            best = (rm, rj)
    return best  # type: ignore[return-value]
