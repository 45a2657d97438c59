"""The run of a trace file past its end: what the report shows after a violation.

A trace of a failing run stops right after the violation, so the ring a
reader would see next, where the bug leads once nothing is left in flight (a
split ring, a joiner stuck for good), is not in the file. The report gets it by
running the trace's scenario again with its own protocol, with the per-event
checks off so the run goes on to rest, and keeping what comes after the file.

Why re-run rather than save that continuation in the trace file: a trace file
stays what the hunt shrank (one run, up to the point where it broke) and every
trace already saved, of any version, gets the continuation; the simulation is
deterministic, so the same scenario and protocol give the same continuation
every time, and the re-run is only trusted when its first events are exactly
the file's (otherwise the protocol changed since, and the page says so rather
than show another run). A protocol that cannot be loaded here gives a page
without the continuation, with a line saying why.
"""

from __future__ import annotations

import attrs

from dhtea.drivers.simulator import simulate
from dhtea.protocols import load_protocol
from dhtea.show.steps import Continuation
from dhtea.traces.serial import TraceFile

#: At most this many events past the file's end (a run that never comes to rest stops there).
LIMIT = 400


def continue_to_rest(tf: TraceFile, limit: int = LIMIT) -> Continuation:
    """The events of `tf`'s run after its last one, up to rest (or `limit` more)."""
    status = tf.data.get("status")
    if status != "violation":
        return Continuation(note="")  # the file already holds the whole run
    first = tf.violations[0] if tf.violations else None
    if first is not None and first.invariant == "handler-error":
        return Continuation(note="A handler raised, and the run cannot go on past that: the steps end at the violation.")
    try:
        protocol = load_protocol(tf.protocol)
    except Exception as exc:  # any import problem: the page is still made, without the continuation
        return Continuation(note=f"The run past the violation is not shown: protocol {tf.protocol[:80]!r} could not be "
                                 f"loaded here ({type(exc).__name__}).")
    events = tf.events
    scenario = attrs.evolve(tf.scenario, max_events=min(tf.scenario.max_events, len(events) + limit))
    result = simulate(protocol, scenario, check=False)
    if result.events[: len(events)] != events:
        differ = next((a.seq for a, b in zip(result.events, events) if a != b), min(len(events), len(result.events)))
        return Continuation(note=f"The run past the violation is not shown: {tf.protocol} now runs this scenario "
                                 f"differently from the file (from event #{differ} on).")
    after = result.events[len(events):]
    if not after:
        return Continuation(note="Nothing happens after the violation: the run was already at its end.")
    return Continuation(after, result.status, result.end_time, result.violations)
