"""Edge cases found in review: timers re-armed after a cancel, impossible effects,
odd protocol paths, extreme latencies, crafted trace files, replay --save."""

import json

import pytest

from dhtea import Join, JoinSchedule, LogNormal, Network, Scenario, TraceFileError, UnknownProtocol
from dhtea import load_protocol, read_trace, save_trace, simulate
from dhtea.cli.main import main
from dhtea.core.network import LatencyError

ONE_JOIN = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]))
GAP = Scenario(ring=(0, 3), joins=JoinSchedule([Join(1, 0, 0), Join(2, 0, 3)]))


def test_a_timer_set_again_after_a_cancel_fires_only_at_its_new_time():
    result = simulate("tests.example_protocols:Rearm", ONE_JOIN)
    fired = [(e.timer, e.time) for e in result.events if e.kind == "timer"]
    assert fired == [("cancel", 1.0), ("rearm", 2.0), ("t", 22.0)]


@pytest.mark.parametrize("protocol, words", [("BadEffects", "node ids are integers"), ("BadTimer", "finite number >= 0")])
def test_impossible_effects_are_handler_errors(protocol, words):
    result = simulate(f"tests.example_protocols:{protocol}", ONE_JOIN)
    assert result.signature == "handler-error" and words in result.violations[0].message


@pytest.mark.parametrize("spec", [":Foo", ".x:Y", "tests.example_protocols:NoIdConstructor", "json:JSONDecoder"])
def test_odd_protocol_paths_are_unknown_protocols(spec):
    with pytest.raises(UnknownProtocol):
        load_protocol(spec)


def test_a_latency_that_overflows_is_a_clean_error(capsys):
    with pytest.raises(LatencyError):
        simulate("gapowner", Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), network=Network(LogNormal(1e300, 100))))
    assert main(["run", "--protocol", "gapowner", "--ring", "1", "--join", "2@0:1", "--latency", "constant:1e308"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a finite number" in err[0]


@pytest.fixture
def gap_trace(tmp_path):
    return save_trace(simulate("classic", GAP), tmp_path / "gap.trace.json")


def _spoil(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda d: d["events"][4]["changes"].__setitem__(0, ["right", 3, "<script>alert(1)</script>"]), r"changes\[0\]' should be \[field, old, new\]"),
        (lambda d: d["events"][4]["changes"].__setitem__(0, ["colour", 3, 1]), r"changes\[0\]' should be \[field, old, new\]"),
        (lambda d: d["scenario"]["network"].__setitem__("fifo", "no"), "field 'scenario.network.fifo' should be true or false"),
        (lambda d: d.__setitem__("status", []), "field 'status'"),
        (lambda d: d["events"][1]["msg"].__setitem__("src", 99), "not part of the scenario"),
        (lambda d: d["events"][4].__setitem__("node", 99), "not part of the scenario"),
    ],
)
def test_crafted_trace_files_are_refused_on_read(gap_trace, edit, words, capsys):
    _spoil(gap_trace, edit)
    with pytest.raises(TraceFileError, match=words):
        read_trace(gap_trace)
    before = gap_trace.read_bytes()
    assert main(["report", str(gap_trace), "-o", str(gap_trace.with_suffix(".html"))]) == 2
    assert "dhtea: error:" in capsys.readouterr().err
    assert gap_trace.read_bytes() == before and not gap_trace.with_suffix(".html").exists()


def test_replay_refuses_to_save_over_the_trace_it_reads(gap_trace, capsys):
    before = gap_trace.read_bytes()
    assert main(["replay", str(gap_trace), "--protocol", "gapowner", "--save", str(gap_trace)]) == 2
    assert "would overwrite the trace being replayed" in capsys.readouterr().err
    assert gap_trace.read_bytes() == before


def test_replay_of_a_passing_trace_that_no_longer_matches_fails(tmp_path, capsys):
    passing = save_trace(simulate("gapowner", GAP), tmp_path / "pass.trace.json")
    _spoil(passing, lambda d: d["events"][1].__setitem__("arrive", 1.5))
    assert main(["replay", str(passing), "--quiet"]) == 1
    assert "diverged" in capsys.readouterr().out


def test_replay_says_a_fixed_protocol_now_passes(gap_trace, capsys):
    assert main(["replay", str(gap_trace), "--protocol", "gapowner", "--quiet"]) == 0
    assert "gapowner now passes" in capsys.readouterr().out
