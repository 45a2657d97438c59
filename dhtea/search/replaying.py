"""Replay a trace file: run its scenario again, checked with the invariants the
trace records, and compare, event for event (and, strictly, how the run ended)."""

from __future__ import annotations

import os
from typing import Iterable

import attrs

from dhtea.protocols import load_protocol
from dhtea.traces.serial import TraceFile, event_from_dict, read_trace, result_to_dict
from dhtea.drivers.simulator import simulate
from dhtea.show.timeline import format_event
from dhtea.core.trace import RunResult
from invariants import Invariant
from invariants.names import UnknownInvariant, load_invariant


@attrs.frozen
class Replay:
    """The outcome of a replay.

    `identical`: same protocol, events and violations. `exact`: identical, and
    the run also ended the same way (status, end time, every final view).
    """

    trace: TraceFile
    result: RunResult
    difference: str | None  # the first difference in events or violations, in words; None if identical
    end_difference: str | None = None  # the first difference in status, end time or final views

    @property
    def identical(self) -> bool:
        return self.difference is None

    @property
    def exact(self) -> bool:
        return self.difference is None and self.end_difference is None

    @property
    def strict_difference(self) -> str | None:
        """Why a strict replay fails, in words; None when the run is exact."""
        return self.difference or self.end_difference

    @property
    def fixed(self) -> bool:
        """The trace recorded a violation and the new run has none: the bug is gone."""
        return not self.identical and self.result.ok and bool(self.trace.violations)

    @property
    def verdict(self) -> str:
        if self.identical:
            if self.end_difference is not None:
                return f"same events and violations, but {self.end_difference}"
            if self.result.ok:
                return "reproduced exactly: same events, and every invariant held"
            return f"reproduced exactly: same events, same violation: {self.result.violations[0]}"
        if self.fixed:
            return f"{self.result.protocol} now passes this scenario: no invariant is violated ({self.difference})"
        return f"the run diverged from the trace: {self.difference}"


def trace_invariants(tf: TraceFile) -> tuple[Invariant, ...]:
    """The invariants `tf` was checked with, loaded; one that cannot be is a one-line error."""
    loaded: list[Invariant] = []
    for spec in tf.invariants:
        try:
            inv = load_invariant(spec)
        except UnknownInvariant as exc:
            raise UnknownInvariant(f"{tf.path}: the trace was checked with an invariant dhtea cannot load: {exc}") from None
        if inv not in loaded:
            loaded.append(inv)
    return tuple(loaded)


def replay(
    trace: TraceFile | str | os.PathLike,
    protocol: str | type | None = None,
    invariants: Iterable[Invariant] | None = None,
) -> Replay:
    """Run the trace's scenario with its own protocol (or `protocol`), checked
    with the trace's own invariants (or `invariants`), and compare."""
    tf = trace if isinstance(trace, TraceFile) else read_trace(trace)
    spec = protocol if protocol is not None else tf.protocol
    cls = spec if isinstance(spec, type) else load_protocol(spec)
    checks = tuple(invariants) if invariants is not None else trace_invariants(tf)
    result = simulate(cls, tf.scenario, invariants=checks)
    new = result_to_dict(result)
    return Replay(tf, result, first_difference(tf.data, new), end_difference(tf.data, new))


def first_difference(old: dict, new: dict) -> str | None:
    """Where two trace files' runs first differ, in words (None: they do not)."""
    if old["protocol"] != new["protocol"]:
        return f"the trace was made with {old['protocol']}, this run uses {new['protocol']}"
    old_events, new_events = old["events"], new["events"]
    for i, (a, b) in enumerate(zip(old_events, new_events)):
        if a != b:
            return f"event #{i} was [{_line(a)}] and is now [{_line(b)}]"
    if len(old_events) != len(new_events):
        return f"the trace has {len(old_events)} events, the new run {len(new_events)}"
    if _without_tracebacks(old["violations"]) != _without_tracebacks(new["violations"]):
        return "same events, but different violations"
    return None


def end_difference(old: dict, new: dict) -> str | None:
    """How two runs' ends differ (status, end time, final views), in words; None if alike."""
    if old.get("status") != new["status"]:
        return f"the run ended with status {new['status']!r}, the trace says {_short(old.get('status'))}"
    if old.get("end_time") != new["end_time"]:
        return f"the run ended at t={new['end_time']:g}, the trace says t={_number(old.get('end_time'))}"
    old_final, new_final = old.get("final"), new["final"]
    if not isinstance(old_final, list) or len(old_final) != len(new_final):
        count = len(old_final) if isinstance(old_final, list) else "no"
        return f"the trace has {count} final views, the run {len(new_final)}"
    for a, b in zip(old_final, new_final):
        if a != b:
            return f"node {b['id']}'s final view is {_view(b)}, the trace says {_view(a)}"
    return None


def _view(view: object) -> str:
    if not isinstance(view, dict):
        return _short(view)
    return ", ".join(f"{k}={_short(v)}" for k, v in view.items() if k != "id")


def _number(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return _short(value)


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _without_tracebacks(violations: list) -> list:
    # Where a handler raised depends on the protocol file's line numbers, which
    # an edit elsewhere in the file moves: the run is the same all the same.
    return [{k: v for k, v in d.items() if k != "traceback"} if isinstance(d, dict) else d for d in violations]


def _line(event: dict) -> str:
    try:
        return format_event(event_from_dict(event)).strip()
    except (KeyError, TypeError, ValueError):
        return _short(event, 200)
