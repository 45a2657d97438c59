"""Bug hunts: let Hypothesis search for scenarios that break an invariant,
shrink each to its smallest form (Hypothesis shrinks, `pruning` drops the
joiners, leaves and members the bug does not need, `minimise` looks for a
shorter run with the explorer), and keep looking for bugs of other kinds.

A bug's signature is the first invariant its run violates. After each bug is
found and shrunk, the search starts again, now counting only violations with a
signature not seen yet, so each distinct bug is reported on its own and each is
shrunk as far as that bug allows.

A hunt never loses a bug it found: `on_bug` is called the moment each bug is
shrunk, and Ctrl-C (KeyboardInterrupt) ends the hunt with what it has, the bug
being shrunk included as far as it got (`Bug.shrunk` is False), and
`HuntReport.interrupted` set.
"""

from __future__ import annotations

import hashlib
import os
import random  # determinism-ok: only seeded random.Random instances are used
import time
from pathlib import Path
from typing import Callable, Iterable

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.strategies import SearchStrategy

from dhtea.traces.files import safe_name
from dhtea.traces.huntfile import save_summary, summary_dict
from dhtea.protocols import load_protocol, protocol_name
from dhtea.core.scenario import FAULT_KINDS, Scenario
from dhtea.traces.serial import save_trace
from dhtea.drivers.simulator import simulate
from dhtea.search.minimise import reminimise
from dhtea.search.pruning import prune
from dhtea.search.coverage import Coverage
from dhtea.search.ctrlc import CtrlC
from dhtea.strategies import scenarios_for
from dhtea.core.trace import RunResult
from invariants import DEFAULT, Invariant

#: Where the command line keeps Hypothesis's examples between hunts (`--no-database` turns it off).
DEFAULT_DATABASE = Path(".dhtea") / "examples"


@attrs.frozen
class Bug:
    """One distinct bug: its signature and the run of its shrunk scenario."""

    signature: str
    result: RunResult
    examples: int  # scenarios tried before this one was found and shrunk
    shrunk: bool = True  # False: the hunt was interrupted while shrinking it

    @property
    def joiners(self) -> int:
        return len(self.result.scenario.joins)

    @property
    def operations(self) -> int:
        """Joins, leaves and crashes in the shrunk scenario."""
        s = self.result.scenario
        return len(s.joins) + len(s.churn)


def without_faults(scenario: Scenario) -> Scenario:
    """The same scenario with no leave, no crash and no message fault."""
    net = attrs.evolve(scenario.network, loss=0.0, duplicate=0.0, fates=(), fate_at=(), kind_fates=(), partitions=(),
                       faults_until=None)
    return attrs.evolve(scenario, churn=(), network=net, settle=None)


#: The fault kind of a send's fault.
_SEND_FAULTS = {"lost": "loss", "duplicated": "duplicate", "partitioned": "partition"}


def kinds_before_violation(result: RunResult) -> tuple[str, ...]:
    """The kinds of churn and fault that took place in `result` up to its first
    violation, in `FAULT_KINDS` order: leaves and crashes that happened, and
    messages lost, doubled or cut by a partition. A fault the scenario holds
    that touched nothing first (a window no message was sent in, a leave due
    after the violation) is no part of the bug."""
    if not result.violations:
        return ()
    last = result.violations[0].event
    scenario = result.scenario
    ops = {op.node: op for op in scenario.churn}
    kinds = set()
    for e in result.events:
        if e.seq > last:
            break
        if e.kind in ("leave", "crash") and e.node in ops:
            kinds.add(scenario.churn_kind(ops[e.node]))
        elif e.kind == "send" and e.fault is not None:
            kinds.add(_SEND_FAULTS[e.fault])
    return tuple(k for k in FAULT_KINDS if k in kinds)


def without_kind(scenario: Scenario, kind: str) -> Scenario:
    """The same scenario without its churn or faults of one kind (a leave
    taken away takes a crash in mid-leave of the same node with it).
    ValueError if what is left is not a valid scenario."""
    net = scenario.network
    if kind == "partition":
        return attrs.evolve(scenario, network=attrs.evolve(net, partitions=()))
    if kind in ("loss", "duplicate"):
        fate = "lose" if kind == "loss" else "duplicate"
        net = attrs.evolve(net, fates=tuple("deliver" if f == fate else f for f in net.fates),
                           fate_at=tuple(p for p in net.fate_at if p[1] != fate),
                           kind_fates=tuple(p for p in net.kind_fates if p[2] != fate), **{kind: 0.0})
        return attrs.evolve(scenario, network=net)
    kinds = [(op, scenario.churn_kind(op)) for op in scenario.churn]
    leavers = {op.node for op, k in kinds if k == "leave"} if kind == "leave" else set()
    return attrs.evolve(scenario, churn=tuple(op for op, k in kinds if k != kind and op.node not in leavers))


def bug_signature(cls: type, result: RunResult, invariants: Iterable[Invariant] = DEFAULT) -> str | None:
    """What tells one bug from another: the first invariant the run violates,
    followed by the kinds of churn and faults it needs (`joins-complete+leave`
    is a bug that needs a leave; a join bug that happens with or without one
    keeps its plain name). Only kinds that took place before the violation
    count (`kinds_before_violation`), and of those, in `FAULT_KINDS` order,
    each whose removal still leaves the run violating that invariant first
    is dropped: a crash that merely came along does not make a leave bug
    another bug."""
    first = result.signature
    kinds = kinds_before_violation(result)
    if first is None or not kinds:
        return first
    plain = simulate(cls, without_faults(result.scenario), invariants=invariants)
    if plain.signature == first:
        return first
    needed = []
    scenario = result.scenario
    for kind in kinds:
        try:
            fewer = without_kind(scenario, kind)
        except ValueError:
            needed.append(kind)
            continue
        if simulate(cls, fewer, invariants=invariants).signature == first:
            scenario = fewer  # the bug does without it
        else:
            needed.append(kind)
    return "+".join((first, *needed))


@attrs.frozen
class HuntReport:
    protocol: str
    seed: int
    examples: int  # scenarios run in all, shrinking included
    seconds: float
    bugs: tuple[Bug, ...]
    coverage: Coverage = attrs.field(factory=Coverage, eq=False)
    interrupted: bool = False


@attrs.frozen
class Progress:
    """Where a hunt is, for a progress display."""

    tried: int  # scenarios run so far, shrinking included
    bugs: int  # bugs found and shrunk so far
    shrinking: str | None  # the signature of the bug being shrunk, if one is
    smaller: int  # smaller failing scenarios found so far while shrinking it


class _Search:
    """The state of a hunt between Hypothesis calls: what ran, what is being shrunk."""

    def __init__(self, cls: type, invariants: tuple[Invariant, ...], coverage: Coverage,
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.cls, self.invariants, self.coverage, self.on_progress = cls, invariants, coverage, on_progress
        self.tried = 0  # in all rounds
        self.bugs = 0
        self.ctrl_c = CtrlC()
        self.start_round(frozenset())

    def start_round(self, known: frozenset[str]) -> None:
        self.known = known
        self.round_tried = 0
        self.best: Scenario | None = None  # the smallest failing scenario of this round so far
        self.best_signature: str | None = None
        self.smaller = 0

    def is_new_bug(self, scenario: Scenario) -> bool:
        if self.ctrl_c.pressed:  # stop here, between two runs, where nothing is half done
            raise KeyboardInterrupt
        result = simulate(self.cls, scenario, invariants=self.invariants)
        self.tried += 1
        self.round_tried += 1
        self.coverage.add(result)
        signature = None if result.ok else bug_signature(self.cls, result, self.invariants)
        new = not result.ok and signature not in self.known
        if new:
            # Hypothesis only tries smaller scenarios once one fails, so the
            # latest failure is the smallest so far.
            self.smaller += self.best is not None
            self.best, self.best_signature = scenario, signature
        if self.on_progress is not None:
            self.on_progress(Progress(self.tried, self.bugs, self.best_signature, self.smaller))
        return new

    def exploring(self, states: int) -> None:
        """Re-minimising explores states: show it, and stop there on Ctrl-C."""
        if self.ctrl_c.pressed:
            raise KeyboardInterrupt
        if self.on_progress is not None:
            self.on_progress(Progress(self.tried, self.bugs, self.best_signature, self.smaller))

    def pruning(self) -> None:
        """Pruning runs one more scenario: show it, and stop there on Ctrl-C
        (like re-minimising's states, its runs are not counted as scenarios tried)."""
        self.exploring(0)

    def run(self, scenario: Scenario) -> RunResult:
        return simulate(self.cls, scenario, invariants=self.invariants)


def hunt(
    protocol: type | str,
    *,
    examples: int = 1000,
    seed: int = 0,
    max_bugs: int = 5,
    strategy: SearchStrategy[Scenario] | None = None,
    invariants: Iterable[Invariant] = DEFAULT,
    on_bug: Callable[[Bug], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    database: str | os.PathLike | None = None,
    database_key: str = "",
    faults: Iterable[str] | None = None,
) -> HuntReport:
    """Search up to `examples` scenarios per round for a new kind of bug.

    Deterministic: the same protocol, strategy, `examples` and `seed` find the
    same bugs, shrunk to the same scenarios. With `database` (a folder),
    Hypothesis keeps the failing examples there and a later hunt with the same
    settings tries them first (`database_key` tells apart hunts that share a folder).
    """
    cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
    # Without a strategy: the churn and faults in `faults`, by default those the protocol tolerates.
    strategy = strategy if strategy is not None else scenarios_for(cls, faults)
    search = _Search(cls, tuple(invariants), Coverage(), on_progress)
    config = _settings(examples, database)
    # Not the seed or the budget: a hunt with another seed also starts from the failures saved.
    key = f"dhtea-hunt\0{protocol_name(cls)}\0{database_key}\0{repr(strategy)}"
    bugs: list[Bug] = []
    interrupted = False
    started = time.perf_counter()

    def found(bug: Bug) -> None:
        bugs.append(bug)
        search.bugs += bug.shrunk
        if on_bug is not None:
            on_bug(bug)

    try:
        with search.ctrl_c:
            for round_no in range(max_bugs):
                search.start_round(frozenset(b.signature for b in bugs))
                round_key = hashlib.sha256(f"{key}\0{sorted(search.known)}".encode()).digest()
                minimal = _find(strategy, search.is_new_bug, config, random.Random(seed * 1_000 + round_no), round_key)
                if minimal is None:
                    break
                shrunk = search.run(minimal)
                signature = bug_signature(cls, shrunk, search.invariants)

                def same_bug(run: RunResult) -> bool:
                    return bug_signature(cls, run, search.invariants) == signature

                pruned = prune(shrunk, search.run, same_bug, on_try=search.pruning)
                result = reminimise(cls, pruned, search.invariants, on_progress=search.exploring, same_bug=same_bug)
                found(Bug(signature, result, search.round_tried))
                if search.ctrl_c.pressed:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        if search.best is not None and len(bugs) < max_bugs and search.best_signature not in {b.signature for b in bugs}:
            result = search.run(search.best)  # keep the bug being shrunk, as small as it got
            found(Bug(bug_signature(cls, result, search.invariants), result, search.round_tried, shrunk=False))
    return HuntReport(protocol_name(cls), seed, search.tried, time.perf_counter() - started, tuple(bugs),
                      search.coverage, interrupted)


class _Found(Exception):
    """Raised inside the Hypothesis test when the condition holds."""


def _find(strategy: SearchStrategy[Scenario], condition: Callable[[Scenario], bool], config: settings,
          rng: random.Random, key: bytes) -> Scenario | None:
    """The smallest scenario for which `condition` holds, or None if none was
    found. What `hypothesis.find` does, except that a seeded search may still
    use the example database (`find` turns the database off when given a seed)."""
    last: list[Scenario] = []

    @config
    @given(strategy)
    def test(scenario: Scenario) -> None:
        if condition(scenario):
            last[:] = [scenario]
            raise _Found

    test._hypothesis_internal_use_seed = rng.getrandbits(64)  # type: ignore[attr-defined]
    test._hypothesis_internal_database_key = key  # type: ignore[attr-defined]
    try:
        test()
    except _Found:
        return last[0]
    return None


def _settings(examples: int, database: str | os.PathLike | None) -> settings:
    # The explain phase only annotates the report; it costs more than the hunt.
    phases = [Phase.explicit, Phase.generate, Phase.target, Phase.shrink]
    return settings(
        max_examples=examples,
        database=DirectoryBasedExampleDatabase(str(database)) if database is not None else None,
        deadline=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        phases=([Phase.reuse] if database is not None else []) + phases,
        report_multiple_bugs=False,
    )


def bug_filename(protocol: str, index: int, bug: Bug) -> str:
    safe = safe_name(protocol)
    return f"{safe}-{index}-{bug.signature}.trace.json"


def save_bugs(report: HuntReport, out_dir: str | Path) -> list[Path]:
    """Save each bug's trace as `<protocol>-<n>-<invariant>.trace.json` in `out_dir`."""
    out = Path(out_dir)
    return [save_trace(bug.result, out / bug_filename(report.protocol, i, bug)) for i, bug in enumerate(report.bugs, 1)]


def save_hunt(report: HuntReport, out_dir: str | Path, settings: dict | None = None, *, timings: bool = True,
              expected: dict[str, list[str]] | None = None) -> tuple[list[Path], Path]:
    """Save each bug's trace (see `save_bugs`) and the hunt summary `hunt.json`
    listing them, in `out_dir`; return (trace paths, summary path). `timings=False`
    leaves the wall-clock time out of the summary, so the same hunt gives the same file."""
    paths = save_bugs(report, out_dir)
    return paths, save_hunt_summary(report, out_dir, [p.name for p in paths], settings, timings=timings, expected=expected)


def save_hunt_summary(report: HuntReport, out_dir: str | Path, names: list[str], settings: dict | None = None, *,
                      timings: bool = True, expected: dict[str, list[str]] | None = None) -> Path:
    """Write `hunt.json` for `report`, whose bugs are saved as `names` in `out_dir`."""
    data = summary_dict(
        report.protocol, report.seed, report.examples, report.seconds if timings else None, names, settings or {},
        statistics=report.coverage.to_dict(expected),
        interrupted=report.interrupted,
        unshrunk=[n for n, b in zip(names, report.bugs) if not b.shrunk],
    )
    return save_summary(out_dir, data)
