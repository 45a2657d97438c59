"""The step-through view: one step per event, the run continued past the
violation to rest, and the marks the page's script moves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.drivers.simulator import simulate
from dhtea.search.continuing import continue_to_rest
from dhtea.show.explain import ring_walk
from dhtea.show.report import load, render, snapshots
from dhtea.show.steps import Continuation, steps_of
from dhtea.traces.serial import read_trace, save_trace
from dhtea.traces.states import views_after

CASES = Path(__file__).parents[1] / "counterexamples"
GAP = CASES / "classic-3-gap-exclusive.trace.json"
ORDER = CASES / "classic-2-ring-order.trace.json"
JOINS = CASES / "classic-1-joins-complete.trace.json"


def stepper_of(page: str) -> dict[str, str]:
    """The data attributes of the first stepper on the page."""
    tag = re.search(r'<div class="stepper"[^>]*>', page).group(0)
    return dict(re.findall(r'(data-[a-z]+)="([^"]*)"', tag))


@pytest.mark.parametrize("path", [GAP, ORDER], ids=lambda p: p.name)
def test_a_failing_run_is_continued_to_rest_from_exactly_where_the_file_stops(path):
    tf = read_trace(path)
    after = continue_to_rest(tf)
    assert tf.data["status"] == "violation" and after.status == "rest" and after.events
    assert [e.seq for e in after.events] == list(range(len(tf.events), len(tf.events) + len(after.events)))
    whole = simulate(tf.protocol, tf.scenario, check=False)  # the same run, never stopped
    assert whole.events == tf.events + after.events and whole.end_time == after.end_time


def test_the_classic_gap_bug_ends_in_a_split_ring_and_the_page_shows_it():
    tf = read_trace(GAP)
    after = continue_to_rest(tf)
    end = views_after(tf.scenario, tf.events + after.events, after.events[-1].seq)
    assert all(v.member for v in end.values())  # every joiner thinks it made it...
    assert ring_walk(end) == "0 → 2 → 3 → 0"  # ...but member 1 is cut off
    shots = snapshots(tf, after)
    assert shots[-1].views == end and shots[-1].blamed  # the last picture is the split ring, wrong pointers red
    assert "continued past the violation" in shots[-1].caption and "t=4 (at rest)" in shots[-1].caption
    page = render(load([GAP]), continue_run=continue_to_rest)
    assert "member 1 is never reached that way: the ring is split" in page
    assert "trace file ends after #9; below: the run continued" in page


def test_without_a_continuation_the_steps_end_where_the_file_ends():
    tf = read_trace(GAP)
    page = render(load([GAP]))
    data = stepper_of(page)
    assert data["data-last"] == str(len(tf.events) - 1) and data["data-broke"] == "7"
    assert "the ring is split" not in page and "trace file ends after" not in page


def test_every_event_is_a_step_with_its_marks():
    tf = read_trace(GAP)
    after = continue_to_rest(tf)
    page = render(load([GAP]), continue_run=continue_to_rest)
    data = stepper_of(page)
    last = len(tf.events) + len(after.events) - 1
    assert (data["data-first"], data["data-last"], data["data-broke"]) == ("-1", str(last), "7")
    states = json.loads(data["data-states"].replace("&quot;", '"'))
    assert len(states) == last + 2 and states[0] == 0 and states == sorted(states)
    steps, pictures = steps_of(tf.scenario, tf.events, tf.violations, after)
    assert [s.state for s in steps] == states and len(pictures) == states[-1] + 1
    for seq in range(-1, last + 1):
        assert page.count(f'class="step-info" data-seq="{seq}"') == 1
    for seq in range(last + 1):  # a hidden band in the diagram and a line of the text timeline per event
        assert page.count(f'class="cursor" data-seq="{seq}"') == 1
        assert page.count(f'class="tl" data-seq="{seq}"') == 1
    sends = [e.seq for e in tf.events + after.events if e.kind == "send"]
    assert sorted(int(x) for x in re.findall(r'data-send="(\d+)"', page)) == sends
    assert page.count('class="step-ring"') == len(pictures)
    # a new picture exactly when the step changed a node, or found a violation (red marks)
    for s, e in zip(steps[1:], tf.events + after.events):
        assert (s.state != steps[e.seq].state) == bool(e.changes or s.broke), s


def test_the_violation_step_names_the_invariant_and_later_steps_say_they_are_past_the_file():
    page = render(load([GAP]), continue_run=continue_to_rest)
    info = dict(re.findall(r'<div class="step-info" data-seq="(-?\d+)"[^>]*>(.*?)</div>', page))
    assert "✗ gap-exclusive" in info["7"] and "after the trace file ends" not in info["7"]
    assert "after the trace file ends" in info["10"]
    assert "✗ pointers-mutual" in info[max(info, key=int)]  # at rest: the at-rest checks


def test_runs_with_nothing_after_them_are_not_continued(tmp_path, monkeypatch):
    assert continue_to_rest(read_trace(JOINS)) == Continuation()  # already at rest: the file is the whole run
    passing = save_trace(simulate("gapowner", read_trace(GAP).scenario), tmp_path / "pass.trace.json")
    assert continue_to_rest(read_trace(passing)) == Continuation()
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    crash = simulate("example_protocols:Crashing", Scenario(ring=(0,), joins=JoinSchedule([Join(3, 0, 0)])))
    crashed = read_trace(save_trace(crash, tmp_path / "crash.trace.json"))
    note = continue_to_rest(crashed)
    assert note.events == () and "handler raised" in note.note
    assert "handler raised" in render(load([crashed.path]), continue_run=continue_to_rest)


def test_a_protocol_that_cannot_be_loaded_or_runs_differently_gives_a_note(tmp_path):
    data = json.loads(GAP.read_text(encoding="utf-8"))
    data["protocol"] = "no_such_module_here:Nope"
    gone = tmp_path / "gone.trace.json"
    gone.write_text(json.dumps(data), encoding="utf-8")
    note = continue_to_rest(read_trace(gone))
    assert note.events == () and "could not be loaded" in note.note and "no_such_module_here" in note.note
    page = render(load([gone]), continue_run=continue_to_rest)
    assert "could not be loaded" in page and stepper_of(page)["data-last"] == "9"
    data["protocol"] = "gapowner"  # the same file, now claimed by a protocol that runs it otherwise
    other = tmp_path / "other.trace.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    note = continue_to_rest(read_trace(other))
    assert note.events == () and "runs this scenario differently from the file (from event #" in note.note


def test_a_run_that_never_rests_is_continued_only_so_far():
    tf = read_trace(GAP)
    after = continue_to_rest(tf, limit=12)
    assert after.status == "max-events" and len(tf.events) + len(after.events) <= len(tf.events) + 12
