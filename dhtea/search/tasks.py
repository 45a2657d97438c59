"""A hunt split into tasks that any process can run, and the merge of their bugs.

A `HuntTask` is one deterministic share of a hunt: plain data (the protocol and
invariants by name, the share's own seed, its budget and the generation
features it may use), so it runs the same in this process, in a worker process
or on a Dask worker. `merge` combines the tasks' outcomes into one report that
depends only on the tasks, never on which finished first.

Swarm testing: `swarm_tasks` gives each task a seeded random subset of the
generation features (latency models, initial ring sizes, and the churn and
fault kinds the hunt generates), so that a rare combination is the common
case of some task instead of being drowned out (a bug that one kind of fault
hides is found by the tasks without it).
"""

from __future__ import annotations

import hashlib
import random  # determinism-ok: only seeded random.Random instances are used
from typing import Callable, Iterable, Sequence

import attrs
from hypothesis import strategies as st

from dhtea.core.network import LATENCY_MODELS
from dhtea.core.scenario import FAULT_KINDS
from dhtea.protocols import load_protocol, protocol_name
from dhtea.search.coverage import Coverage
from dhtea.search.hunting import Bug, HuntReport, Progress, hunt
from dhtea.strategies import initial_rings, latency_models, networks, scenarios, scenarios_for
from dhtea.traces.serial import trace_text
from invariants.names import load_invariants


@attrs.frozen
class HuntTask:
    """One share of a hunt."""

    protocol: str  # a built-in name or module:Class
    index: int  # the share's number, 0 ...
    seed: int  # the share's own seed
    examples: int  # scenarios per bug searched, in this share
    max_bugs: int
    max_ring: int
    max_joiners: int
    invariants: tuple[str, ...]  # by name (built-in names, module:name)
    latency_kinds: tuple[str, ...] | None = None  # swarm: only these latency models (None: all)
    ring_sizes: tuple[int, ...] | None = None  # swarm: only these initial ring sizes (None: 1..max_ring)
    database: str | None = None  # a folder for Hypothesis's examples, or None
    faults: tuple[str, ...] | None = None  # churn and faults to generate (None: what the protocol tolerates)

    def strategy(self) -> st.SearchStrategy:
        if self.ring_sizes is None:
            rings = initial_rings(max_size=self.max_ring)
        else:  # one strategy per size, so each shrinks within its size
            rings = st.one_of(*(initial_rings(min_size=n, max_size=n) for n in self.ring_sizes))
        network = None if self.latency_kinds is None else networks(latency=latency_models(kinds=self.latency_kinds))
        return scenarios_for(load_protocol(self.protocol), self.faults, rings=rings, max_joiners=self.max_joiners,
                             network=network)

    @property
    def features(self) -> str:
        """The swarm subset in words ("" when the task uses every feature)."""
        parts = []
        if self.ring_sizes is not None:
            parts.append("rings of " + ",".join(map(str, self.ring_sizes)))
        if self.latency_kinds is not None:
            parts.append("latency " + ",".join(self.latency_kinds))
        if self.faults is not None:
            parts.append("faults " + (",".join(self.faults) or "none"))
        return "; ".join(parts)


@attrs.frozen
class TaskOutcome:
    """What a task sends back: its report (bugs, counts, coverage)."""

    index: int
    report: HuntReport


def share_seed(seed: int, index: int, shares: int) -> int:
    """The seed of share `index` of `shares`: the hunt's own seed when there is
    one share (so one worker hunts exactly as the library's `hunt` does)."""
    if shares == 1:
        return seed
    digest = hashlib.sha256(f"dhtea-share:{seed}:{index}:{shares}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def split(protocol: str, *, shares: int, examples: int, seed: int, max_bugs: int, max_ring: int, max_joiners: int,
          invariants: Sequence[str], database: str | None = None, faults: Sequence[str] | None = None) -> list[HuntTask]:
    """`shares` tasks that together search exactly `examples` scenarios per bug
    (the first `examples % shares` take one more); never more shares than
    scenarios, so that no share is empty."""
    shares = max(1, min(shares, examples))
    each, extra = divmod(examples, shares)
    return [HuntTask(protocol, i, share_seed(seed, i, shares), each + (i < extra), max_bugs, max_ring, max_joiners,
                     tuple(invariants), database=database, faults=None if faults is None else tuple(faults))
            for i in range(shares)]


def swarm_tasks(tasks: Iterable[HuntTask], seed: int) -> list[HuntTask]:
    """The same tasks, each with a seeded random subset of the generation
    features: at least one latency model, at least one ring size, and each of
    the hunt's churn and fault kinds with even odds (the first task keeps
    them all, so that every combination is still tried)."""
    out = []
    for task in tasks:
        rng = random.Random(f"dhtea-swarm:{seed}:{task.index}")
        kinds = [k for k in LATENCY_MODELS if rng.random() < 0.5] or [rng.choice(list(LATENCY_MODELS))]
        sizes = [n for n in range(1, task.max_ring + 1) if rng.random() < 0.5] or [rng.randint(1, task.max_ring)]
        every = task.faults if task.faults is not None else tuple(sorted(load_protocol(task.protocol).tolerates,
                                                                         key=FAULT_KINDS.index))
        faults = every if task.index == 0 else tuple(k for k in every if rng.random() < 0.5)
        out.append(attrs.evolve(task, latency_kinds=tuple(kinds), ring_sizes=tuple(sizes),
                                faults=faults if faults != every or task.faults is not None else None))
    return out


def run_task(task: HuntTask, on_bug: Callable[[Bug], None] | None = None,
             on_progress: Callable[[Progress], None] | None = None) -> TaskOutcome:
    """Run one task in this process."""
    report = hunt(
        load_protocol(task.protocol), examples=task.examples, seed=task.seed, max_bugs=task.max_bugs,
        strategy=task.strategy(), invariants=load_invariants(task.invariants), on_bug=on_bug, on_progress=on_progress,
        database=task.database, database_key=f"share {task.index}: {task.features}",
    )
    return TaskOutcome(task.index, report)


def smallest_key(bug: Bug) -> tuple:
    """How bugs of one signature are ranked, smallest first: shrunk before not
    shrunk, then fewer joiners, a smaller initial ring, fewer events, a shorter
    trace file, and last the trace file's text itself, so that no two different
    runs tie."""
    s = bug.result.scenario
    text = trace_text(bug.result)
    return (not bug.shrunk, len(s.joins), len(s.ring), len(bug.result.events), len(text), text)


def merge(protocol: str, seed: int, outcomes: Iterable[TaskOutcome], seconds: float, max_bugs: int,
          interrupted: bool = False) -> HuntReport:
    """One report from the tasks' outcomes: bugs merged by signature (the
    smallest per signature wins, see `smallest_key`), listed in the order they
    were first found (by round within a task, then task number), at most
    `max_bugs`; scenario counts and coverage summed. The same outcomes in any
    order give the same report."""
    outcomes = sorted(outcomes, key=lambda o: o.index)
    best: dict[str, Bug] = {}
    first: dict[str, tuple[int, int]] = {}
    coverage = Coverage()
    for o in outcomes:
        coverage.merge(o.report.coverage)
        for round_no, bug in enumerate(o.report.bugs):
            first[bug.signature] = min(first.get(bug.signature, (round_no, o.index)), (round_no, o.index))
            if bug.signature not in best or smallest_key(bug) < smallest_key(best[bug.signature]):
                best[bug.signature] = bug
    order = sorted(best, key=lambda sig: first[sig])[:max_bugs]
    examples = sum(o.report.examples for o in outcomes)
    interrupted = interrupted or any(o.report.interrupted for o in outcomes)
    return HuntReport(protocol_name(load_protocol(protocol)), seed, examples, seconds, tuple(best[s] for s in order),
                      coverage, interrupted)
