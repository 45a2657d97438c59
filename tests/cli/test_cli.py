"""The `dhtea` command line, run in-process through `dhtea.cli.main.main`.

Every failure must be one line `dhtea: error: ...` on stderr and exit code 2,
never a traceback; a user's trace files are never changed by reading them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dhtea.cli.main import main
from dhtea.search.replaying import replay
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.traces.serial import read_trace, save_trace
from dhtea.drivers.simulator import simulate

SCENARIO = Scenario(ring=(0, 3), joins=JoinSchedule([Join(1, 0, 0), Join(2, 0, 3)]))


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `dhtea argv...` in-process: (exit code, stdout, stderr).

    An exception escaping `main` is what the user would see as a traceback, so
    it fails the test with a readable message instead of erroring out."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse must not exit on its own either
        out, err = capsys.readouterr()
        pytest.fail(f"dhtea {' '.join(argv)} called sys.exit({exc.code}) instead of returning; stderr={err!r}")
    except BaseException as exc:
        out, err = capsys.readouterr()
        pytest.fail(f"dhtea {' '.join(argv)} crashed with {type(exc).__name__}: {exc} (a traceback for the user)")
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *fragments: str) -> str:
    """Exit 2, exactly one stderr line `dhtea: error: ...`, nothing on stdout."""
    assert code == 2, f"exit code {code}, stderr={err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    assert lines[0].startswith("dhtea: error: ")
    assert "Traceback" not in err and "Traceback" not in out
    assert out == ""
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def classic_result():
    result = simulate("classic", SCENARIO)
    assert not result.ok and result.signature == "gap-exclusive"
    return result


@pytest.fixture
def trace(tmp_path, classic_result):
    """A valid classic counterexample trace file."""
    return save_trace(classic_result, tmp_path / "classic-gap.trace.json")


def _rewrite(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


# -- replay and show on a good trace -------------------------------------------


def test_replay_reproduces_classic_counterexample_exactly(capsys, trace):
    code, out, err = cli(capsys, "replay", str(trace))
    assert code == 0 and err == ""
    last = out.strip().splitlines()[-1]
    assert last.startswith("reproduced exactly")
    assert "gap-exclusive" in last
    assert "protocol: classic" in out  # the timeline is printed before the verdict


def test_replay_strict_quiet_prints_only_verdict(capsys, trace):
    code, out, err = cli(capsys, "replay", str(trace), "--strict", "--quiet")
    assert code == 0 and err == ""
    assert out.strip().splitlines() == [out.strip()]
    assert out.startswith("reproduced exactly: same events, same violation: gap-exclusive")


def test_replay_under_fixed_protocol_says_it_now_passes(capsys, trace):
    code, out, err = cli(capsys, "replay", str(trace), "--protocol", "gapowner", "--quiet")
    assert code == 0 and err == ""
    assert "gapowner now passes this scenario" in out
    assert "no invariant is violated" in out


def test_replay_under_fixed_protocol_strict_fails_because_run_differs(capsys, trace):
    code, out, _ = cli(capsys, "replay", str(trace), "--protocol", "gapowner", "--strict", "--quiet")
    assert code == 1
    assert "now passes" in out


def test_tampered_trace_fails_strict_replay_naming_the_event(capsys, trace):
    def change(data):
        data["events"][5]["t"] = 0.25

    _rewrite(trace, change)
    code, out, err = cli(capsys, "replay", str(trace), "--strict", "--quiet")
    assert code == 1 and err == ""
    verdict = out.strip()
    assert verdict.startswith("the run diverged from the trace")
    assert "event #5 was" in verdict
    assert "t=0.25" in verdict


def test_tampered_trace_also_fails_plain_replay(capsys, trace):
    _rewrite(trace, lambda d: d["events"][2].update(t=0.5))
    code, out, _ = cli(capsys, "replay", str(trace), "--quiet")
    assert code == 1
    assert "event #2" in out


def test_show_prints_the_timeline(capsys, trace, classic_result):
    code, out, err = cli(capsys, "show", str(trace))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "protocol: classic"
    event_lines = [line for line in lines if line.startswith("#")]
    assert len(event_lines) == len(classic_result.events)
    assert [int(line[1:].split()[0]) for line in event_lines] == list(range(len(classic_result.events)))
    assert "1 starts joining" in out and "2 starts joining" in out
    assert "CONNECT" in out
    assert any(line.startswith("!! gap-exclusive violated at event #7") for line in lines)


def test_replay_and_show_leave_a_good_file_unchanged(capsys, trace):
    before = trace.read_bytes()
    assert cli(capsys, "show", str(trace))[0] == 0
    assert cli(capsys, "replay", str(trace), "--strict")[0] == 0
    assert trace.read_bytes() == before


def test_protocols_lists_builtins(capsys):
    code, out, err = cli(capsys, "protocols")
    assert code == 0 and err == ""
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["classic", "gaplease", "gapowner"]


# -- run -------------------------------------------------------------------------


def test_run_saves_a_trace_that_replays_exactly(capsys, tmp_path, classic_result):
    target = tmp_path / "out" / "run.trace.json"
    code, out, err = cli(
        capsys, "run", "--protocol", "classic", "--ring", "0,3", "--join", "1@0:0", "--join", "2@0:3", "--save", str(target)
    )
    assert code == 1 and err == ""  # a violation was found
    assert f"trace saved to {target}" in out
    assert "gap-exclusive" in out
    assert read_trace(target).scenario == SCENARIO
    assert target.read_text(encoding="utf-8") == (save_trace(classic_result, tmp_path / "ref.json").read_text("utf-8"))
    code, out, _ = cli(capsys, "replay", str(target), "--strict", "--quiet")
    assert code == 0 and out.startswith("reproduced exactly")


def test_run_that_passes_exits_zero(capsys):
    code, out, err = cli(capsys, "run", "--protocol", "gapowner", "--ring", "0,3", "--join", "1@0:0", "--join", "2@0:3")
    assert code == 0 and err == ""
    assert "all invariants held" in out


# -- bad input: exit 2, one stderr line, no traceback ------------------------------


BAD_ARGS = [
    pytest.param(["run", "--protocol", "nosuch", "--ring", "0,3"], ["unknown protocol 'nosuch'", "classic"], id="unknown-protocol"),
    pytest.param(
        ["replay", "{trace}", "--protocol", "no_such_module_xyz:Proto"],
        ["cannot import protocol module 'no_such_module_xyz'"],
        id="module-class-does-not-import",
    ),
    pytest.param(
        ["run", "--protocol", "json:NoSuchClass", "--ring", "0,3"], ["'json:NoSuchClass': module 'json'", "has no 'NoSuchClass'"], id="module-without-class"
    ),
    pytest.param(["hunt", "--protocol", "classic", "--examples", "0"], ["--examples", "at least 1"], id="examples-0"),
    pytest.param(["hunt", "--protocol", "classic", "--examples", "abc"], ["--examples", "'abc'"], id="examples-abc"),
    pytest.param(["hunt", "--protocol", "classic", "--seed", "x"], ["--seed", "'x'"], id="seed-not-a-number"),
    pytest.param([], ["required", "command"], id="no-subcommand"),
    pytest.param(["frobnicate"], ["frobnicate"], id="unknown-subcommand"),
    pytest.param(["replay"], ["trace"], id="replay-without-file"),
    pytest.param(["run", "--ring", "0,3"], ["--protocol"], id="run-without-protocol"),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "1@0:7"],
        ["impossible scenario", "bootstraps through 7, not a member"],
        id="bootstrap-non-member",
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "3@0:0"], ["already a member"], id="joiner-already-member"
    ),
    pytest.param(["run", "--protocol", "classic", "--ring", "0,0"], ["duplicate node id"], id="duplicate-ring"),
    pytest.param(["run", "--protocol", "classic", "--ring", "a,b"], ["bad --ring 'a,b'"], id="ring-not-numbers"),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--latency", "bogus:1"], ["unknown latency model 'bogus'", "uniform"], id="latency-bogus"
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--latency", "uniform:5,1"],
        ["bad --latency 'uniform:5,1'", "low <= high"],
        id="latency-low-above-high",
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--latency", "constant:-1"], ["bad --latency 'constant:-1'", ">= 0"], id="latency-negative"
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "1@-1:0"], ["bad --join '1@-1:0'", ">= 0"], id="join-negative-time"
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--latency", "uniform:1"], ["uniform takes low, high"], id="latency-missing-arg"
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "garbage"],
        ["bad --join 'garbage'", "NODE@TIME:BOOTSTRAP"],
        id="join-garbage",
    ),
    pytest.param(
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "1@0:0", "--join", "1@1:3"],
        ["more than once"],
        id="join-twice",
    ),
]


@pytest.mark.parametrize("argv, fragments", BAD_ARGS)
def test_bad_arguments_are_one_line_errors(capsys, trace, argv, fragments):
    argv = [a.replace("{trace}", str(trace)) for a in argv]
    code, out, err = cli(capsys, *argv)
    assert_usage_error(code, out, err, *fragments)


def test_run_join_at_infinite_time_is_rejected_cleanly(capsys, tmp_path):
    # A join at t=inf cannot be simulated meaningfully nor stored in a trace file
    # (trace files are strict JSON), so it must be a usage error, not a traceback.
    target = tmp_path / "inf.trace.json"
    code, out, err = cli(
        capsys, "run", "--protocol", "classic", "--ring", "0,3", "--join", "1@inf:0", "--save", str(target)
    )
    assert_usage_error(code, out, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_run_save_onto_a_directory_is_a_one_line_error(capsys, tmp_path):
    folder = tmp_path / "existing-folder"
    folder.mkdir()
    code, out, err = cli(
        capsys, "run", "--protocol", "classic", "--ring", "0,3", "--join", "1@0:0", "--join", "2@0:3", "--save", str(folder)
    )
    assert code == 2, f"exit {code}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dhtea: error: ") and str(folder) in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing-folder"]


# -- bad trace files ----------------------------------------------------------------


def _wrong_version(path):
    return _rewrite(path, lambda d: d.update(version=3))


def _not_json(path):
    path.write_text("not json at all\n", encoding="utf-8")
    return path


def _truncated(path):
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path


def _bootstrap_non_member(path):
    return _rewrite(path, lambda d: d["scenario"]["joins"][0].update(bootstrap=42))


def _send_without_message(path):
    def change(data):
        send = next(e for e in data["events"] if e["kind"] == "send")
        del send["msg"]

    return _rewrite(path, change)


def _event_time_not_a_number(path):
    return _rewrite(path, lambda d: d["events"][0].update(t="soon"))


def _deeply_nested(path):
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return path


def _unknown_protocol(path):
    return _rewrite(path, lambda d: d.update(protocol="nosuchproto"))


BAD_FILES = [
    pytest.param(_wrong_version, "unsupported trace version 3", id="wrong-version"),
    pytest.param(_not_json, "not valid JSON", id="not-json"),
    pytest.param(_truncated, "not valid JSON", id="truncated"),
    pytest.param(_bootstrap_non_member, "not a member of the initial ring", id="bootstrap-non-member"),
    pytest.param(_send_without_message, "", id="send-event-without-msg"),
    pytest.param(_deeply_nested, "", id="deeply-nested-json"),
]


@pytest.mark.parametrize("command", [["replay"], ["replay", "--strict", "--quiet"], ["show"]], ids=["replay", "replay-strict", "show"])
@pytest.mark.parametrize("spoil, fragment", BAD_FILES)
def test_bad_trace_file_is_one_line_error_and_file_is_kept(capsys, trace, command, spoil, fragment):
    path = spoil(trace)
    before = path.read_bytes()
    listing = sorted(p.name for p in path.parent.iterdir())
    code, out, err = cli(capsys, *command, str(path))
    assert_usage_error(code, out, err, str(path), fragment)
    assert path.read_bytes() == before, "reading a bad trace file changed it"
    assert sorted(p.name for p in path.parent.iterdir()) == listing


def test_show_of_event_with_non_numeric_time_is_one_line_error(capsys, trace):
    path = _event_time_not_a_number(trace)
    before = path.read_bytes()
    code, out, err = cli(capsys, "show", str(path))
    assert_usage_error(code, out, err, str(path))
    assert path.read_bytes() == before


def test_replay_of_trace_naming_unknown_protocol(capsys, trace):
    path = _unknown_protocol(trace)
    before = path.read_bytes()
    code, out, err = cli(capsys, "replay", str(path))
    assert_usage_error(code, out, err, "unknown protocol 'nosuchproto'")
    assert path.read_bytes() == before


def test_replay_missing_file_and_directory(capsys, tmp_path):
    missing = tmp_path / "missing.trace.json"
    assert_usage_error(*cli(capsys, "replay", str(missing)), f"{missing}: no such file")
    assert_usage_error(*cli(capsys, "show", str(tmp_path)), f"{tmp_path}: is a folder")
    assert not missing.exists()


def test_bad_trace_file_in_subprocess_gives_one_line_and_exit_2(tmp_path, trace):
    path = _wrong_version(trace)
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "dhtea", "replay", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stderr.splitlines() == [
        f"dhtea: error: {path}: unsupported trace version 3 (this dhtea reads versions 1 and 2)"
    ]
    assert proc.stdout == ""
    assert path.read_bytes() == before


# -- hunt ---------------------------------------------------------------------------


def test_hunt_classic_finds_and_saves_replayable_bugs(capsys, tmp_path):
    out_dir = tmp_path / "hunt"
    code, out, err = cli(
        capsys, "hunt", "--protocol", "classic", "--examples", "200", "--seed", "1", "--out", str(out_dir), "--quiet"
    )
    assert code == 1 and err == ""
    files = sorted(out_dir.glob("*.trace.json"))
    assert len(files) >= 2
    assert sorted(out_dir.iterdir()) == sorted(files + [out_dir / "hunt.json"])  # the summary, no temp files
    replay_lines = [line.strip() for line in out.splitlines() if "dhtea replay" in line]
    assert sorted(line.split("dhtea replay ", 1)[1] for line in replay_lines) == [str(f) for f in files]
    assert "=== bug" not in out  # --quiet: no timelines
    assert f"{len(files)} distinct bug(s)" in out
    for f in files:
        assert f.name.startswith("classic-")
        outcome = replay(f)
        assert outcome.identical, f"{f.name}: {outcome.verdict}"
        assert not outcome.result.ok
        assert outcome.result.signature in f.name


def test_hunt_is_deterministic_for_a_seed(capsys, tmp_path):
    args = ["hunt", "--protocol", "classic", "--examples", "50", "--seed", "3", "--max-bugs", "2", "--quiet"]
    cli(capsys, *args, "--out", str(tmp_path / "a"))
    cli(capsys, *args, "--out", str(tmp_path / "b"))
    a = sorted((tmp_path / "a").glob("*.trace.json"))
    b = sorted((tmp_path / "b").glob("*.trace.json"))
    assert a and [f.name for f in a] == [f.name for f in b]
    assert [f.read_bytes() for f in a] == [f.read_bytes() for f in b]


def test_hunt_gapowner_finds_nothing_and_writes_only_the_summary(capsys, tmp_path):
    out_dir = tmp_path / "hunt"
    code, out, err = cli(capsys, "hunt", "--protocol", "gapowner", "--examples", "100", "--quiet", "--out", str(out_dir))
    assert code == 0 and err == ""
    assert "no invariant was violated" in out
    assert "0 distinct bug(s)" in out
    assert list(out_dir.iterdir()) == [out_dir / "hunt.json"]  # no trace files; the summary says "bugs": []
    assert json.loads((out_dir / "hunt.json").read_text(encoding="utf-8"))["bugs"] == []


def test_hunt_out_is_an_existing_file_is_a_one_line_error(capsys, tmp_path):
    blocker = tmp_path / "notadir"
    blocker.write_text("keep me", encoding="utf-8")
    code, out, err = cli(
        capsys, "hunt", "--protocol", "classic", "--examples", "30", "--max-bugs", "1", "--quiet", "--out", str(blocker)
    )
    assert code == 2, f"exit {code}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dhtea: error: ") and str(blocker) in lines[0]
    assert blocker.read_text(encoding="utf-8") == "keep me"
