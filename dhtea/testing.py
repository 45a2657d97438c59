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
