"""A trace records the invariants it was checked with, and replay uses them;
`replay --strict` compares how the run ended too and says why it fails."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from dhtea import Join, JoinSchedule, Scenario, read_trace, replay, save_trace, simulate
from dhtea.cli.main import main
from dhtea.core.trace import DEFAULT_INVARIANTS
from dhtea.traces.serial import TRACE_VERSION
from invariants import DEFAULT
from invariants.names import BUILTIN, UnknownInvariant, invariant_spec, load_invariant

COUNTEREXAMPLES = Path(__file__).parents[1] / "counterexamples"
# gapowner queues the later joiners of three that ask one lone member at once.
QUEUEING = Scenario(ring=(0,), joins=JoinSchedule([Join(n, 0, 0) for n in (10, 20, 30)]))
QUEUEING_ARGS = ["--protocol", "gapowner", "--ring", "0", "--join", "10@0:0", "--join", "20@0:0", "--join", "30@0:0"]

SHORT_QUEUES = '''
from dhtea import Finding, invariant

@invariant("short-queues")
def short_queues(ring, nodes):
    """No node queues more than one join request."""
    for n in nodes:
        if len(ring.node(n).queue) > 1:
            yield Finding((n,), f"node {n} queues {len(ring.node(n).queue)} requests")

not_an_invariant = 42
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's invariant module `queuechecks` in the current folder, forgotten afterwards."""
    (tmp_path / "queuechecks.py").write_text(textwrap.dedent(SHORT_QUEUES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    yield tmp_path
    sys.modules.pop("queuechecks", None)


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "", (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dhtea: error: ") and "Traceback" not in err
    return lines[0]


# -- naming invariants ---------------------------------------------------------------------


def test_builtin_invariants_are_named_by_their_own_names():
    assert [invariant_spec(i) for i in DEFAULT] == list(DEFAULT_INVARIANTS)
    assert all(load_invariant(name) is BUILTIN[name] for name in DEFAULT_INVARIANTS)


def test_a_user_invariant_is_named_module_colon_attribute(user_module):
    inv = load_invariant("queuechecks:short_queues")
    assert inv.name == "short-queues"
    assert invariant_spec(inv) == "queuechecks:short_queues"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("no-such-check", "unknown invariant 'no-such-check'"),
        ("nosuchmodule_xyz:check", "cannot import invariant module 'nosuchmodule_xyz'"),
        ("queuechecks:not_an_invariant", "is not an invariant"),
        ("queuechecks:missing", "is not an invariant"),
        ("__main__:short_queues", "defined in a script run as __main__ and cannot be found again"),
    ],
)
def test_a_bad_invariant_name_says_what_is_wrong(user_module, spec, words):
    with pytest.raises(UnknownInvariant, match=words):
        load_invariant(spec)


# -- what a trace records --------------------------------------------------------------------


def test_a_trace_records_the_invariants_it_was_checked_with(user_module, tmp_path):
    custom = load_invariant("queuechecks:short_queues")
    result = simulate("gapowner", QUEUEING, invariants=DEFAULT + (custom,))
    assert result.signature == "short-queues"
    data = json.loads(save_trace(result, tmp_path / "q.trace.json").read_text())
    assert data["version"] == TRACE_VERSION == 2
    assert data["invariants"] == [*DEFAULT_INVARIANTS, "queuechecks:short_queues"]
    assert read_trace(tmp_path / "q.trace.json").invariants == (*DEFAULT_INVARIANTS, "queuechecks:short_queues")


def test_a_trace_with_a_custom_invariant_replays_exactly_not_as_now_passing(user_module, tmp_path):
    custom = load_invariant("queuechecks:short_queues")
    path = save_trace(simulate("gapowner", QUEUEING, invariants=DEFAULT + (custom,)), tmp_path / "q.trace.json")
    outcome = replay(path)
    assert outcome.exact and not outcome.fixed
    assert outcome.result.signature == "short-queues"
    assert outcome.verdict.startswith("reproduced exactly: same events, same violation: short-queues violated")


def test_replay_cli_uses_the_recorded_invariant(user_module, capsys):
    code, out, err = cli(capsys, "run", *QUEUEING_ARGS, "--invariant", "queuechecks:short_queues", "--save", "q.trace.json")
    assert code == 1 and "short-queues violated at event #" in out
    code, out, err = cli(capsys, "replay", "q.trace.json", "--strict", "--quiet")
    assert (code, err) == (0, "")
    assert out.startswith("reproduced exactly: same events, same violation: short-queues violated")


def test_replay_of_a_trace_whose_invariant_is_gone_is_one_line_exit_2(user_module, capsys):
    assert cli(capsys, "run", *QUEUEING_ARGS, "--invariant", "queuechecks:short_queues", "--save", "q.trace.json")[0] == 1
    (user_module / "queuechecks.py").unlink()
    sys.modules.pop("queuechecks", None)
    line = one_line_error(*cli(capsys, "replay", "q.trace.json"))
    assert "q.trace.json: the trace was checked with an invariant dhtea cannot load" in line
    assert "queuechecks" in line


def test_a_version_1_trace_loads_with_the_default_invariants_and_replays_exactly():
    for path in sorted(COUNTEREXAMPLES.glob("*.trace.json")):
        data = json.loads(path.read_text())
        assert data["version"] == 1 and "invariants" not in data
        trace = read_trace(path)
        assert trace.invariants == DEFAULT_INVARIANTS
        assert replay(trace).exact, path.name


def test_a_malformed_invariants_field_is_one_line_exit_2(capsys, tmp_path):
    data = json.loads((COUNTEREXAMPLES / "classic-1-joins-complete.trace.json").read_text())
    data.update(version=2, invariants="ring-order")
    path = tmp_path / "bad.trace.json"
    path.write_text(json.dumps(data))
    line = one_line_error(*cli(capsys, "replay", str(path)))
    assert "field 'invariants' should be a list of invariant names" in line


def test_an_unknown_builtin_name_in_a_trace_is_one_line_exit_2(capsys, tmp_path):
    data = json.loads((COUNTEREXAMPLES / "classic-1-joins-complete.trace.json").read_text())
    data.update(version=2, invariants=["ring-order", "no-such-check"])
    path = tmp_path / "future.trace.json"
    path.write_text(json.dumps(data))
    line = one_line_error(*cli(capsys, "replay", str(path)))
    assert "unknown invariant 'no-such-check'" in line


# -- --invariant on hunt and run -------------------------------------------------------------


def test_hunt_with_a_user_invariant_finds_and_records_it(user_module, capsys):
    code, out, err = cli(capsys, "hunt", "--protocol", "gapowner", "--examples", "200", "--max-bugs", "1",
                         "--invariant", "queuechecks:short_queues", "--out", "hunt", "--quiet")
    assert code == 1, out + err
    [path] = sorted((user_module / "hunt").glob("*.trace.json"))
    trace = read_trace(path)
    assert trace.violations[0].invariant == "short-queues"
    assert trace.invariants[-1] == "queuechecks:short_queues"
    assert replay(trace).exact


def test_run_without_the_invariant_passes_the_same_scenario(capsys):
    code, out, _ = cli(capsys, "run", *QUEUEING_ARGS)
    assert code == 0 and "violated" not in out


@pytest.mark.parametrize("command", ["run", "hunt"])
@pytest.mark.parametrize(
    "value, words",
    [
        ("no-such-check", "unknown invariant 'no-such-check'"),
        ("nosuchmodule_xyz:check", "cannot import invariant module 'nosuchmodule_xyz'"),
        ("queuechecks:not_an_invariant", "'queuechecks:not_an_invariant' is not an invariant"),
        ("", "an invariant is named by a string"),
    ],
)
def test_a_bad_invariant_option_is_one_line_exit_2(user_module, capsys, command, value, words):
    args = QUEUEING_ARGS if command == "run" else ["--protocol", "gapowner", "--examples", "5", "--out", "hunt"]
    line = one_line_error(*cli(capsys, command, *args, "--invariant", value))
    assert line.startswith("dhtea: error: --invariant: ") and words in line
    assert not (user_module / "hunt").exists()


# -- replay --strict -------------------------------------------------------------------------


def _tampered(tmp_path: Path, change) -> Path:
    data = json.loads((COUNTEREXAMPLES / "classic-3-gap-exclusive.trace.json").read_text())
    change(data)
    path = tmp_path / "tampered.trace.json"
    path.write_text(json.dumps(data))
    return path


def _set_status(d):
    d["status"] = "rest"


def _set_end_time(d):
    d["end_time"] = 99.5


def _set_final_left(d):
    d["final"][1]["left"] = 2


@pytest.mark.parametrize(
    "change, words",
    [
        (_set_status, "the run ended with status 'violation', the trace says 'rest'"),
        (_set_end_time, "the run ended at t=1, the trace says t=99.5"),
        (_set_final_left, "node 1's final view is left="),
    ],
    ids=["status", "end-time", "final-view"],
)
def test_strict_replay_compares_how_the_run_ended_and_says_why_it_fails(capsys, tmp_path, change, words):
    path = _tampered(tmp_path, change)
    code, out, err = cli(capsys, "replay", str(path), "--quiet")
    assert (code, err) == (0, "")  # same events and violations: not strict
    assert out.startswith("same events and violations, but ") and words in out
    code, out, err = cli(capsys, "replay", str(path), "--strict", "--quiet")
    assert (code, err) == (1, "")
    last = out.strip().splitlines()[-1]
    assert last.startswith("--strict: exit 1 because the run is not the trace's run: ") and words in last


def test_strict_replay_under_another_protocol_says_why_it_fails(capsys):
    path = COUNTEREXAMPLES / "classic-3-gap-exclusive.trace.json"
    code, out, _ = cli(capsys, "replay", str(path), "--protocol", "gapowner", "--strict", "--quiet")
    assert code == 1
    assert out.strip().splitlines()[-1] == (
        "--strict: exit 1 because the run is not the trace's run: the trace was made with classic, this run uses gapowner"
    )
