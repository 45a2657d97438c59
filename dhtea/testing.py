"""Helpers for property tests of protocols (the CI gate)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from dhtea.traces.files import safe_name
from dhtea.core.scenario import Scenario
from dhtea.traces.serial import save_trace
from dhtea.drivers.simulator import simulate
from dhtea.show.timeline import format_result
from dhtea.core.trace import RunResult
from invariants import DEFAULT, Invariant


class RingViolation(AssertionError):
    """A protocol broke an invariant; the message is the run's whole timeline."""

    def __init__(self, result: RunResult, saved: Path | None = None) -> None:
        self.result = result
        self.saved = saved
        text = f"{result.violations[0]}\n\n{format_result(result)}"
        if saved is not None:
            text += (f"\n\ntrace saved to {saved}\nreplay with: dhtea replay {saved}"
                     "\nkeep it as a regression test: copy it under your tests (e.g. tests/counterexamples/)")
        super().__init__(text)


def _final_example() -> bool:
    """True while Hypothesis runs the shrunk example for its report (not while searching)."""
    try:
        from hypothesis.control import current_build_context

        return current_build_context().is_final
    except Exception:  # not inside a Hypothesis test, or an older Hypothesis
        return True


def assert_ring_holds(
    protocol: type | str,
    scenario: Scenario,
    save_dir: str | Path | None = None,
    invariants: Iterable[Invariant] = DEFAULT,
) -> RunResult:
    """Simulate, checking `invariants`, and raise `RingViolation` if any breaks.

    With `save_dir`, the failing trace of the final (shrunk) example is saved as
    `<protocol>-<invariant>.trace.json` there, ready for `dhtea replay`.
    """
    result = simulate(protocol, scenario, invariants=invariants)
    if result.ok:
        return result
    saved = None
    if save_dir is not None and _final_example():
        saved = save_trace(result, Path(save_dir) / f"{safe_name(result.protocol)}-{result.signature}.trace.json")
    raise RingViolation(result, saved)


class ScopeNotProved(AssertionError):
    """An exploration hit a bound before covering its scope: it proves nothing."""


def assert_scope_clean(
    protocol: type | str,
    members: int | range,
    joiners: int | range,
    *,
    bootstraps: str = "all",
    invariants=None,
    max_states: int | None = None,
    save_dir: str | Path | None = None,
) -> list:
    """Explore every scenario of the scope exhaustively (`dhtea explore`) and
    pass only if the search was complete and found no violation: a proof for
    that scope, as a test. `members` and `joiners` are a number or a range
    (every ring of 1 to 3 members: `range(1, 4)`).

    A violation raises `RingViolation` with the shortest counterexample's
    timeline (saved to `save_dir` if given); a bound hit before the scope was
    covered raises `ScopeNotProved`. Returns the per-scope results.
    """
    from dhtea.drivers.explore_scope import explore_scope
    from dhtea.drivers.explore_trace import reproduce
    from dhtea.drivers.explorer import Explorer
    from dhtea.protocols import load_protocol
    from invariants import DEFAULT

    cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
    invariants = DEFAULT if invariants is None else tuple(invariants)
    sizes = [(m, j) for m in _span(members) for j in _span(joiners)]
    results = []
    for m, j in sizes:
        left = None if max_states is None else max_states - sum(r.states for r in results)
        r = explore_scope(cls, m, j, bootstraps=bootstraps, invariants=invariants, max_states=left)  # type: ignore[arg-type]
        results.append(r)
        if r.found:
            found, exploration = r.shortest
            run = reproduce(Explorer(cls, exploration.ring, exploration.joins, invariants=invariants), found)
            saved = None
            if save_dir is not None:
                saved = save_trace(run, Path(save_dir) / f"{safe_name(run.protocol)}-explore-{found.invariant}.trace.json")
            raise RingViolation(run, saved)
        if not r.complete:
            raise ScopeNotProved(f"ring {m}, joiners {j}: stopped at {r.states} states before covering the scope")
    return results


def _span(value: int | range) -> range:
    return range(value, value + 1) if isinstance(value, int) else value
