"""A whole scope: every ring of R members with J concurrent joiners, up to
relabelling, every joiner position and every bootstrap choice, and with L
leaves every choice of L leaving members (never a bootstrap, never every
member), each explored exhaustively (`explorer.py`).

Node ids are 0..R+J-1: which ranks are members and which join is all that
differs between scenarios once ids matter only through their order (see
`symmetry.py`, which checks that, and which also drops rotations of the same
scenario for protocols that compare ids only around the circle). Scenarios run
in a fixed order, optionally split over worker processes; the result is the
same for any number of workers. With leaves, only the order relabelling is
used: which members leave is part of the scenario, and a rotation would have to
carry it along.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from typing import Callable, Iterable, Literal

import attrs

from dhtea.core.node import RingNode
from dhtea.drivers.explorer import Exploration, Explorer, Found, JoinMode
from dhtea.drivers.symmetry import Scope, check_order, check_rotation, rotation_canonical
from dhtea.protocols import load_protocol, protocol_name
from invariants import DEFAULT, Invariant

Bootstraps = Literal["all", "first"]
Relabel = Literal["auto", "order", "none"]


class ScopeError(ValueError):
    """The scope cannot be explored as asked (e.g. the protocol computes with ids)."""


def with_leaves(scopes: Iterable[Scope], leaves: int) -> list[tuple]:
    """Each scenario once per choice of `leaves` leaving members: members that
    no joiner bootstraps through, with at least one member staying."""
    out = []
    for ring, joins in scopes:
        if leaves and leaves >= len(ring):
            continue
        boots = {b for _, b in joins}
        eligible = [m for m in ring if m not in boots]
        out.extend((ring, joins, chosen) for chosen in itertools.combinations(eligible, leaves))
    return out


def scenarios(members: int, joiners: int, bootstraps: Bootstraps = "all", rotation: bool = False) -> list[Scope]:
    """Every scenario of the scope with ids 0..n-1, in a fixed order."""
    n = members + joiners
    out = []
    for ring in itertools.combinations(range(n), members):
        joining = [i for i in range(n) if i not in ring]
        choices = itertools.product(ring, repeat=joiners) if bootstraps == "all" else [(ring[0],) * joiners]
        for boots in choices:
            scope = (ring, tuple(zip(joining, boots)))
            if rotation and rotation_canonical(scope, n) != (ring, tuple(sorted(scope[1]))):
                continue
            out.append(scope)
    return out


@attrs.frozen
class ScopeProgress:
    """How far a scope's exploration is: scenarios done of all, states so far, the
    current scenario's depth."""

    done: int
    scenarios: int
    states: int
    depth: int


@attrs.frozen
class ScopeResult:
    protocol: str
    members: int
    joiners: int
    reduction: str  # "order", "rotation" or "none"
    scenarios: int
    states: int
    transitions: int
    depth: int
    seconds: float
    complete: bool
    bounded_at: int | None  # the state budget, if it stopped the search
    #: The shortest counterexample per invariant, with the exploration that found it.
    found: tuple[tuple[Found, Exploration], ...]
    leaves: int = 0

    @property
    def shortest(self) -> tuple[Found, Exploration] | None:
        return self.found[0] if self.found else None


def _explore_many(args) -> list[Exploration]:
    spec, scopes, options = args
    cls = load_protocol(spec)
    if options["invariants"] is None:  # the default checkers (functions wrapped by a decorator do not pickle)
        options["invariants"] = DEFAULT
    out = []
    budget = options.pop("max_states", None)
    for ring, joins, leavers in scopes:
        left = None if budget is None else budget - sum(e.states for e in out)
        if left is not None and left <= 0:
            break
        out.append(Explorer(cls, ring, joins, max_states=left, leaves=leavers, **options).run())
    return out


def explore_scope(
    protocol: type | str,
    members: int,
    joiners: int,
    *,
    bootstraps: Bootstraps = "all",
    relabel: Relabel = "auto",
    invariants: Iterable[Invariant] = DEFAULT,
    join_mode: JoinMode = "start",
    max_states: int | None = None,
    max_depth: int | None = None,
    want: Iterable[str] | None = None,
    max_losses: int = 0,
    max_duplicates: int = 0,
    max_crashes: int = 0,
    leaves: int = 0,
    accept: Callable[[Explorer, Found], bool] | None = None,
    workers: int = 1,
    on_exploration: Callable[[Exploration], None] | None = None,
    on_progress: Callable[[ScopeProgress], None] | None = None,
) -> ScopeResult:
    """Explore every scenario of the scope; see the module docstring. Each
    scenario's search stops at its first violation (with `want`, at the first of
    those invariants); the shortest per invariant over the scope is kept, with
    the shortest of all first."""
    cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
    if members < 1 or joiners < 0 or leaves < 0:
        raise ScopeError("a scope needs at least one member and no negative number of joiners or leaves")
    if leaves and leaves >= members:
        raise ScopeError(f"{leaves} leave(s) in a ring of {members}: at least one member must stay")
    if leaves and cls.on_leave is RingNode.on_leave:
        raise ScopeError(f"{protocol_name(cls)} has no graceful leave (its class does not define on_leave)")
    started = time.perf_counter()
    plain = scenarios(members, joiners, bootstraps)
    reduction = "none"
    if relabel != "none":
        sample = plain[:: max(1, len(plain) // 4)][:4]
        problem = check_order(cls, sample) if joiners else None
        if problem is not None:
            raise ScopeError(
                f"{protocol_name(cls)} does not behave the same when node ids are renamed in the same order ({problem}): "
                "it computes with ids, so rings cannot be explored up to relabelling; explore given ids instead"
            )
        reduction = "order"
        if relabel == "auto" and joiners and not leaves and check_rotation(cls, sample) is None:
            reduction = "rotation"
    todo = with_leaves(scenarios(members, joiners, bootstraps, rotation=reduction == "rotation"), leaves)
    invariants = tuple(invariants)
    options = {"invariants": invariants, "join_mode": join_mode, "max_depth": max_depth, "max_losses": max_losses,
               "max_duplicates": max_duplicates, "max_crashes": max_crashes,
               "want": None if want is None else tuple(want), "accept": accept}
    explorations: list[Exploration] = []
    spec = protocol_name(cls)
    workers = min(workers, len(todo))  # a process with no scenario would only cost a start-up
    if workers > 1 and accept is None:  # `accept` is a function of this process
        chunks = [todo[i::workers] for i in range(workers)]
        budget = None if max_states is None else max(1, max_states // workers)
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            shipped = dict(options, max_states=budget, invariants=None if invariants == DEFAULT else invariants)
            parts = pool.map(_explore_many, [(spec, c, shipped) for c in chunks])
        by_scope = {}
        for chunk, part in zip(chunks, parts):
            by_scope.update({s: e for s, e in zip(chunk, part)})
        explorations = [by_scope[s] for s in todo if s in by_scope]
        for e in explorations:
            if on_exploration is not None:
                on_exploration(e)
    else:
        spent = 0
        for ring, joins, leavers in todo:
            left = None if max_states is None else max_states - spent
            if left is not None and left <= 0:
                break
            tell = None
            if on_progress is not None:
                done, before = len(explorations), spent
                tell = lambda states, _t, depth: on_progress(ScopeProgress(done, len(todo), before + states, depth))
                tell(0, 0, 0)
            e = Explorer(cls, ring, joins, max_states=left, leaves=leavers, on_progress=tell, **options).run()
            spent += e.states
            explorations.append(e)
            if on_exploration is not None:
                on_exploration(e)
    best: dict[str, tuple[Found, Exploration]] = {}
    for e in explorations:
        for f in e.found:
            old = best.get(f.invariant)
            if old is None or _size(f, e) < _size(*old):
                best[f.invariant] = (f, e)
    found = tuple(sorted(best.values(), key=lambda fe: (_size(*fe), fe[0].invariant)))
    states = sum(e.states for e in explorations)
    complete = len(explorations) == len(todo) and all(e.complete for e in explorations)
    bounded_at = max_states if max_states is not None and states >= max_states else None
    return ScopeResult(
        spec, members, joiners, reduction, len(explorations), states, sum(e.transitions for e in explorations),
        max((e.depth for e in explorations), default=0), time.perf_counter() - started, complete, bounded_at, found,
        leaves,
    )


def _size(found: Found, exploration: Exploration) -> tuple[int, int, int]:
    return (found.deliveries, len(found.steps) + len(found.cycle), len(exploration.joins))
