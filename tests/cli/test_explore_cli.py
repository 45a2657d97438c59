"""`dhtea explore`: verdicts, exit codes, saved counterexamples that replay, one-line errors."""

from __future__ import annotations

import pytest

from dhtea.cli.main import main
from dhtea.traces.serial import read_trace


def test_classic_counterexample_is_saved_and_replays_exactly(tmp_path, capsys):
    code = main(["explore", "--protocol", "classic", "--ring", "2", "--joiners", "2", "--out", str(tmp_path), "--no-color"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ring 2, joiners 2: 24 scenario(s)" in out and "states/s" in out
    assert "shortest counterexample: " in out and "!! " in out
    (path,) = tmp_path.glob("*.trace.json")
    trace = read_trace(path)
    assert trace.violations and trace.scenario.network.delays
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0
    assert main(["show", str(path), "--no-color"]) == 0
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0


def test_one_file_per_signature(tmp_path, capsys):
    code = main(["explore", "--protocol", "classic", "--ring", "1-2", "--joiners", "1-2", "--out", str(tmp_path),
                 "--signature", "joins-complete", "--signature", "gap-exclusive", "--quiet"])
    assert code == 1
    names = sorted(p.name for p in tmp_path.glob("*.trace.json"))
    assert names == ["classic-explore-gap-exclusive.trace.json", "classic-explore-joins-complete.trace.json"]
    for name in names:
        assert main(["replay", str(tmp_path / name), "--strict", "--quiet"]) == 0


def test_gapowner_small_scope_is_complete(tmp_path, capsys):
    code = main(["explore", "--protocol", "gapowner", "--ring", "1-2", "--joiners", "0-2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert out.rstrip().endswith("no violation in this scope (complete)")
    assert "ids up to" in out and not list(tmp_path.iterdir())


def test_bounded_search_says_so_and_exits_3(tmp_path, capsys):
    code = main(["explore", "--protocol", "gapowner", "--ring", "2", "--joiners", "2", "--max-states", "20", "--out", str(tmp_path)])
    assert code == 3
    assert "bounded: stopped at" in capsys.readouterr().out


def test_livelock_is_saved_as_progress_and_replays(tmp_path, capsys):
    code = main(["explore", "--protocol", "tests.example_protocols:WrapAround", "--ring", "2", "--joiners", "1",
                 "--out", str(tmp_path), "--no-color"])
    out = capsys.readouterr().out
    assert code == 1 and "progress" in out and "cycle of 2 step(s)" in out
    (path,) = tmp_path.glob("*progress.trace.json")
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0


@pytest.mark.parametrize("argv,message", [
    (["--protocol", "nope", "--ring", "2", "--joiners", "1"], "unknown protocol"),
    (["--protocol", "classic", "--ring", "x", "--joiners", "1"], "expected N or LOW-HIGH"),
    (["--protocol", "classic", "--ring", "3-1", "--joiners", "1"], "expected N or LOW-HIGH"),
    (["--protocol", "classic", "--ring", "0", "--joiners", "1"], "at least one member"),
    (["--protocol", "classic", "--ring", "2", "--joiners", "1", "--signature", "bogus"], "unknown invariant 'bogus'"),
    (["--protocol", "tests.example_protocols:Arithmetic", "--ring", "2", "--joiners", "2"], "computes with ids"),
    (["--protocol", "tests.example_protocols:Dice", "--ring", "1", "--joiners", "1", "--no-relabel"], "ctx.rng"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    assert main(["explore", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dhtea: error: ") and message in err


def test_losses_find_what_a_reliable_network_hides(tmp_path, capsys):
    assert main(["explore", "--protocol", "gapowner", "--ring", "1", "--joiners", "1", "--out", str(tmp_path)]) == 0
    code = main(["explore", "--protocol", "gapowner", "--ring", "1", "--joiners", "1", "--losses", "1",
                 "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1 and "up to 1 message(s) lost" in out and "joins-complete" in out
    (path,) = tmp_path.glob("*.trace.json")
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0
    assert main(["explore", "--protocol", "gapowner", "--ring", "1", "--joiners", "1", "--losses", "-1"]) == 2


def test_duplicates_find_a_late_copy_bug_and_the_trace_replays_strictly(tmp_path, capsys):
    argv = ["explore", "--protocol", "tests.example_protocols:Unguarded", "--ring", "2", "--joiners", "2",
            "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    assert main([*argv, "--duplicates", "1"]) == 1
    out = capsys.readouterr().out
    assert "up to 1 message(s) duplicated" in out and "ring-order" in out
    (path,) = tmp_path.glob("*.trace.json")
    assert read_trace(path).scenario.network.fates.count("duplicate") == 1
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0
    assert main(["explore", "--protocol", "gapowner", "--ring", "1-2", "--joiners", "1-2", "--duplicates", "1",
                 "--out", str(tmp_path / "clean"), "--quiet"]) == 0
    assert main([*argv, "--duplicates", "-1"]) == 2
    assert "--duplicates: expected a number >= 0" in capsys.readouterr().err


def test_joins_at_any_point_over_two_workers(tmp_path, capsys):
    code = main(["explore", "--protocol", "gapowner", "--ring", "2", "--joiners", "2", "--joins", "any",
                 "--workers", "2", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "joins at any" in out and "no violation in this scope (complete)" in out


def test_crashes_find_what_gapowner_does_not_claim_and_the_trace_replays_strictly(tmp_path, capsys):
    code = main(["explore", "--protocol", "gapowner", "--ring", "2", "--joiners", "1", "--crashes", "1",
                 "--signature", "joins-complete", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1 and "up to 1 crash(es)" in out and "joins-complete" in out
    (path,) = tmp_path.glob("*.trace.json")
    assert [op.kind for op in read_trace(path).scenario.churn] == ["crash"]
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0
    assert main(["explore", "--protocol", "gapowner", "--ring", "1", "--joiners", "1", "--crashes", "-1"]) == 2


def test_leaves_option_finds_classic_neighbours_leaving_together(tmp_path, capsys):
    code = main(["explore", "--protocol", "classic", "--ring", "1-3", "--joiners", "0", "--leaves", "2",
                 "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ring 3, joiners 0, leaves 2: 3 scenario(s)" in out and "ring 1," not in out  # too small rings skipped
    assert "shortest counterexample: departed-unlinked" in out
    (path,) = tmp_path.glob("*.trace.json")
    assert len(read_trace(path).scenario.churn) == 2
    assert main(["replay", str(path), "--strict", "--quiet"]) == 0


@pytest.mark.parametrize("argv, text", [
    (["--ring", "1-2", "--leaves", "2"], "--leaves 2: every ring in --ring would lose all its members"),
    (["--ring", "3", "--leaves", "-1"], "--leaves: expected a number >= 0, got -1"),
])
def test_impossible_leaves_are_one_line(tmp_path, capsys, argv, text):
    assert main(["explore", "--protocol", "classic", "--joiners", "0", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_ctrl_c_keeps_what_finished_scopes_found(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # gapowner's small scopes finish at once; ring 4 with 3 joiners takes long enough to be interrupted.
    proc = subprocess.Popen([sys.executable, "-m", "dhtea", "explore", "--protocol", "gapowner", "--ring", "1-4",
                             "--joiners", "3", "--out", str(tmp_path), "--quiet"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while "ring 2, joiners 3" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.readline()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err and "dhtea: interrupted" in err
    assert "interrupted after" in out and "not a proof" in out


def test_explorer_reports_progress_every_few_thousand_states():
    from dhtea.drivers.explore_scope import explore_scope
    from dhtea.drivers.explorer import PROGRESS_EVERY, Explorer
    from dhtea.protocols import GapOwner
    from dhtea.protocols.gapowner import GapLease

    seen = []
    r = explore_scope(GapOwner, 3, 2, on_progress=seen.append)
    assert len(seen) >= r.scenarios and seen[-1].states <= r.states and seen[-1].scenarios == r.scenarios
    assert [p.done for p in seen] == sorted(p.done for p in seen)  # scenarios in order
    calls = []  # within one long scenario: every PROGRESS_EVERY new states
    Explorer(GapLease, (0, 1), ((2, 0),), max_states=2 * PROGRESS_EVERY + 1,
             on_progress=lambda *a: calls.append(a)).run()
    assert [c[0] for c in calls] == [PROGRESS_EVERY, 2 * PROGRESS_EVERY]
