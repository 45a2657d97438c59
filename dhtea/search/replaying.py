"""Replay a trace file: run its scenario again and compare, event for event."""

from __future__ import annotations

import os

import attrs

from dhtea.protocols import load_protocol
from dhtea.traces.serial import TraceFile, event_from_dict, read_trace, result_to_dict
from dhtea.drivers.simulator import simulate
from dhtea.show.timeline import format_event
from dhtea.core.trace import RunResult


@attrs.frozen
class Replay:
    """The outcome of a replay. `identical`: same protocol, events and violations."""

    trace: TraceFile
    result: RunResult
    difference: str | None  # the first difference, in words; None if identical

    @property
    def identical(self) -> bool:
        return self.difference is None

    @property
    def fixed(self) -> bool:
        """The trace recorded a violation and the new run has none: the bug is gone."""
        return not self.identical and self.result.ok and bool(self.trace.violations)

    @property
    def verdict(self) -> str:
        if self.identical:
            if self.result.ok:
                return "reproduced exactly: same events, and every invariant held"
            return f"reproduced exactly: same events, same violation: {self.result.violations[0]}"
        if self.fixed:
            return f"{self.result.protocol} now passes this scenario: no invariant is violated ({self.difference})"
        return f"the run diverged from the trace: {self.difference}"


def replay(trace: TraceFile | str | os.PathLike, protocol: str | type | None = None) -> Replay:
    """Run the trace's scenario with its own protocol (or `protocol`) and compare."""
    tf = trace if isinstance(trace, TraceFile) else read_trace(trace)
    spec = protocol if protocol is not None else tf.protocol
    cls = spec if isinstance(spec, type) else load_protocol(spec)
    result = simulate(cls, tf.scenario)
    return Replay(tf, result, first_difference(tf.data, result_to_dict(result)))


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
    if old["violations"] != new["violations"]:
        return "same events, but different violations"
    return None


def _line(event: dict) -> str:
    try:
        return format_event(event_from_dict(event)).strip()
    except (KeyError, TypeError, ValueError):
        return str(event)
