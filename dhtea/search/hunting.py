"""Bug hunts: let Hypothesis search for scenarios that break an invariant,
shrink each to its smallest form, and keep looking for bugs of other kinds.

A bug's signature is the first invariant its run violates. After each bug is
found and shrunk, the search starts again, now counting only violations with a
signature not seen yet, so each distinct bug is reported on its own and each is
shrunk as far as that bug allows.
"""

from __future__ import annotations

import random  # determinism-ok: only seeded random.Random instances are used
import time
from pathlib import Path
from typing import Callable, Iterable

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from dhtea.traces.files import safe_name
from dhtea.traces.huntfile import save_summary, summary_dict
from dhtea.protocols import load_protocol, protocol_name
from dhtea.core.scenario import Scenario
from dhtea.traces.serial import save_trace
from dhtea.drivers.simulator import simulate
from dhtea.strategies import scenarios
from dhtea.core.trace import RunResult
from invariants import DEFAULT, Invariant


@attrs.frozen
class Bug:
    """One distinct bug: its signature and the run of its shrunk scenario."""

    signature: str
    result: RunResult
    examples: int  # scenarios tried before this one was found and shrunk

    @property
    def joiners(self) -> int:
        return len(self.result.scenario.joins)


@attrs.frozen
class HuntReport:
    protocol: str
    seed: int
    examples: int  # scenarios run in all, shrinking included
    seconds: float
    bugs: tuple[Bug, ...]


def hunt(
    protocol: type | str,
    *,
    examples: int = 1000,
    seed: int = 0,
    max_bugs: int = 5,
    strategy: SearchStrategy[Scenario] | None = None,
    invariants: Iterable[Invariant] = DEFAULT,
    on_bug: Callable[[Bug], None] | None = None,
) -> HuntReport:
    """Search up to `examples` scenarios per round for a new kind of bug.

    Deterministic: the same protocol, strategy, `examples` and `seed` find the
    same bugs, shrunk to the same scenarios.
    """
    cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
    strategy = strategy if strategy is not None else scenarios()
    invariants = tuple(invariants)
    config = settings(
        max_examples=examples,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        # The explain phase only annotates the report; it costs more than the hunt.
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    )
    bugs: list[Bug] = []
    total = 0
    started = time.perf_counter()
    for round_no in range(max_bugs):
        known = {b.signature for b in bugs}
        tried = 0

        def new_bug(scenario: Scenario) -> bool:
            nonlocal tried
            tried += 1
            result = simulate(cls, scenario, invariants=invariants)
            return not result.ok and result.signature not in known

        try:
            minimal = find(strategy, new_bug, settings=config, random=random.Random(seed * 1_000 + round_no))
        except NoSuchExample:
            total += tried
            break
        total += tried
        result = simulate(cls, minimal, invariants=invariants)
        bug = Bug(result.signature, result, tried)
        bugs.append(bug)
        if on_bug is not None:
            on_bug(bug)
    return HuntReport(protocol_name(cls), seed, total, time.perf_counter() - started, tuple(bugs))


def bug_filename(protocol: str, index: int, bug: Bug) -> str:
    safe = safe_name(protocol)
    return f"{safe}-{index}-{bug.signature}.trace.json"


def save_bugs(report: HuntReport, out_dir: str | Path) -> list[Path]:
    """Save each bug's trace as `<protocol>-<n>-<invariant>.trace.json` in `out_dir`."""
    out = Path(out_dir)
    return [save_trace(bug.result, out / bug_filename(report.protocol, i, bug)) for i, bug in enumerate(report.bugs, 1)]


def save_hunt(
    report: HuntReport, out_dir: str | Path, settings: dict | None = None, *, timings: bool = True
) -> tuple[list[Path], Path]:
    """Save each bug's trace (see `save_bugs`) and the hunt summary `hunt.json`
    listing them, in `out_dir`; return (trace paths, summary path). `timings=False`
    leaves the wall-clock time out of the summary, so the same hunt gives the same file."""
    paths = save_bugs(report, out_dir)
    seconds = report.seconds if timings else None
    data = summary_dict(report.protocol, report.seed, report.examples, seconds, [p.name for p in paths], settings or {})
    return paths, save_summary(out_dir, data)
