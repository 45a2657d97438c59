"""A long run can spill its trace to a spool file: the same events, the same
trace file, the same verdict, with only the latest events in memory."""

from __future__ import annotations

import pytest

import dhtea.drivers.simulator as simulator
from dhtea import Join, JoinSchedule, Network, Scenario, Uniform, simulate
from dhtea.core.spool import Spool
from dhtea.core.trace import event_row
from dhtea.traces.serial import read_trace, save_trace, trace_text

CROWD = Scenario(
    ring=(10, 2000, 4000),
    joins=JoinSchedule([Join(n, 0, (10, 2000, 4000)[n % 3]) for n in range(11, 4000, 97)]),
    network=Network(latency=Uniform(1, 5)),
    seed=3,
)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(simulator, "SPILL_EVERY", 64)


def test_a_spilled_run_reads_and_writes_exactly_as_one_held_in_memory(small_chunks, tmp_path):
    held = simulate("gapowner", CROWD)
    spool = Spool(tmp_path)
    spilled = simulate("gapowner", CROWD, spool=spool)
    assert spool.chunks > 10 and spilled.events.kept <= 64 + 10  # a step's sends may run past the mark
    assert len(spilled.events) == len(held.events) and spilled.messages == held.messages
    assert list(spilled.events) == list(held.events)
    assert spilled.events[5] == held.events[5] and spilled.events[-3:] == held.events[-3:]
    assert (spilled.violations, spilled.final, spilled.status) == (held.violations, held.final, held.status)
    assert trace_text(spilled) == trace_text(held)
    saved = save_trace(spilled, tmp_path / "run.trace.json")
    assert saved.read_text() == trace_text(held) and len(read_trace(saved).events) == len(held.events)
    spool.close()
    assert not spool.path.exists()


def test_a_spilled_run_with_a_violation_names_the_same_event(small_chunks, tmp_path):
    scenario = Scenario(ring=(0, 3), joins=JoinSchedule([Join(n, 0, (0, 3)[n % 2]) for n in (1, 2)]))
    held = simulate("classic", scenario)
    spilled = simulate("classic", scenario, spool=Spool(tmp_path))
    assert not held.ok and spilled.violations == held.violations and trace_text(spilled) == trace_text(held)


def test_rows_are_the_events_fields_spilled_or_not(small_chunks, tmp_path):
    # Rows are what a trace file is written from: the same fields as the events,
    # read through the spool and then what is kept in memory.
    held = simulate("gapowner", CROWD).events
    assert list(held.rows()) == [event_row(e) for e in held]
    spool = Spool(tmp_path)
    spilled = simulate("gapowner", CROWD, spool=spool).events
    assert spool.chunks > 10
    assert list(spilled.rows()) == [event_row(e) for e in held]
    spool.close()
