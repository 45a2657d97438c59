"""`dhtea hunt` never loses a bug (Ctrl-C included), checks --out first, says
what it exercised, shows progress on a terminal only, and reuses its examples."""

from __future__ import annotations

import io
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dhtea.cli.main import main
from dhtea.cli.progress import ProgressLine
from dhtea.search.replaying import replay
from dhtea.traces.huntfile import read_json, summary_from_data

ROOT = Path(__file__).resolve().parents[2]


def dhtea_process(*argv: str, cwd: Path, env: dict | None = None, **kw) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "dhtea", *argv], cwd=cwd, env=environ, **kw)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_after_the_first_bug_keeps_its_trace_and_the_summary(tmp_path, workers):
    out = tmp_path / "hunt"
    # A budget far too large to finish: the hunt is still searching when interrupted.
    proc = dhtea_process("hunt", "--protocol", "classic", "--seed", "1", "--examples", "1000000", "--out", str(out),
                         "--quiet", "--no-database", "--workers", workers, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("*.trace.json")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the hunt ended before it could be interrupted"
        assert list(out.glob("*.trace.json")), "no bug was saved while the hunt ran"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    summary = summary_from_data(out / "hunt.json", read_json(out / "hunt.json"))
    assert summary.interrupted and summary.bugs
    assert sorted(out.glob("*.trace.json")) == sorted(summary.bugs)  # every bug saved is listed, and only those
    for trace in summary.bugs:
        assert replay(trace).identical
    assert summary.statistics["runs"] == summary.examples > 0
    assert "interrupted after" in stdout


def test_bad_out_is_one_line_before_the_hunt_starts(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep", encoding="utf-8")
    for out in (blocker, blocker / "sub"):
        code = main(["hunt", "--protocol", "classic", "--examples", "5000", "--out", str(out)])
        stdout, stderr = capsys.readouterr()
        assert code == 2 and stdout == ""  # nothing was hunted
        assert len(stderr.splitlines()) == 1 and stderr.startswith(f"dhtea: error: --out {out}")
    assert blocker.read_text(encoding="utf-8") == "keep"


def test_statistics_show_what_was_never_exercised(capsys, tmp_path):
    out = tmp_path / "hunt"
    code = main(["hunt", "--protocol", "gapowner", "--examples", "60", "--max-joiners", "1", "--max-ring", "3", "--faults", "none",
                 "--out", str(out), "--quiet"])
    stdout, _ = capsys.readouterr()
    assert code == 0
    stats = json.loads((out / "hunt.json").read_text())["statistics"]
    assert stats["runs"] == 60
    assert list(stats["features"]["ring size"]) == ["1", "2", "3"]
    assert sum(stats["features"]["joiners"].values()) == 60 and stats["features"]["joiners"] == {"1": 60}
    assert set(stats["features"]["latency model"]) == {"constant", "uniform", "exponential", "lognormal", "pareto", "bimodal"}
    # One joiner at a time never waits behind another's lock.
    assert stats["states"]["a joiner queued behind a lock"] == 0
    assert "a joiner queued behind a lock" in stats["never"]
    assert "what the hunt exercised (60 runs)" in stdout and "never exercised: " in stdout
    assert "a joiner queued behind a lock: 0 run(s) (never)" in stdout
    page = tmp_path / "r.html"
    main(["report", str(out), "-o", str(page)])
    html = page.read_text()
    assert "What the hunt exercised (60 runs)" in html and "<td class=\"never\">never reached</td>" in html


def test_a_hunt_summary_without_statistics_still_reports(tmp_path, capsys):
    out = tmp_path / "hunt"
    main(["hunt", "--protocol", "gapowner", "--examples", "20", "--out", str(out), "--quiet"])
    data = json.loads((out / "hunt.json").read_text())
    del data["statistics"]
    (out / "hunt.json").write_text(json.dumps(data))
    assert main(["report", str(out), "-o", str(tmp_path / "r.html")]) == 0
    assert "What the hunt exercised" not in (tmp_path / "r.html").read_text()
    data["statistics"] = {"runs": "many"}
    (out / "hunt.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["report", str(out), "-o", str(tmp_path / "r.html")]) == 2
    assert "statistics" in capsys.readouterr().err


def test_progress_only_on_a_terminal(tmp_path):
    quiet = ProgressLine(io.StringIO())  # not a terminal: nothing
    quiet.show("x", force=True)
    assert quiet.stream.getvalue() == ""
    master, slave = pty.openpty()
    proc = dhtea_process("hunt", "--protocol", "gapowner", "--examples", "400", "--out", str(tmp_path / "h"),
                         "--quiet", "--no-database", "--workers", "1", cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(master)
    text = seen.decode()
    assert proc.returncode == 0
    assert "\r" in text and "scenarios, " in text and "/s, 0 bug(s) so far; searching" in text


def test_progress_of_workers_names_each_worker():
    from dhtea.cli.huntcmd import workers_text
    from dhtea.search.hunting import Progress
    from dhtea.search.pool import WorkerProgress

    status = {0: WorkerProgress(0, Progress(120, 1, "ring-order", 3), share=4, finished=30),
              1: WorkerProgress(1, Progress(80, 0, None, 0), share=0),
              2: WorkerProgress(2, Progress(0, 0, None, 0), done=True, finished=50)}
    assert workers_text(status, 2, 2.0) == (
        "280 scenarios, 140/s, 2 bug(s) so far; w1 share 5 shrinking ring-order (3), w2 share 1 searching, w3 done")


def test_a_rerun_starts_from_the_saved_failures(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DHTEA_DATABASE")
    args = ["hunt", "--protocol", "classic", "--seed", "1", "--examples", "300", "--quiet", "--workers", "1"]
    counts = []
    for _ in range(2):
        assert main([*args, "--out", "first"]) == 1
        counts.append(json.loads(Path("first/hunt.json").read_text())["examples"])
    assert Path(".dhtea/examples").is_dir()
    assert counts[1] < counts[0]  # the saved failing examples were tried first
    capsys.readouterr()
    assert main([*args, "--out", "off", "--no-database", "--seed", "2"]) == 1
    monkeypatch.setenv("DHTEA_DATABASE", "off")
    before = sorted(p.name for p in Path(".dhtea/examples").rglob("*"))
    assert main([*args, "--out", "again", "--seed", "5"]) == 1
    assert sorted(p.name for p in Path(".dhtea/examples").rglob("*")) == before  # off: nothing written


def test_workers_find_the_same_bugs_for_the_same_seed(capsys, tmp_path):
    args = ["hunt", "--protocol", "classic", "--seed", "2", "--examples", "60", "--max-bugs", "3", "--workers", "2",
            "--quiet", "--no-timings"]
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 1
    a, b = sorted((tmp_path / "a").iterdir()), sorted((tmp_path / "b").iterdir())
    assert [p.name for p in a] == [p.name for p in b] and [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    summary = summary_from_data(tmp_path / "a" / "hunt.json", read_json(tmp_path / "a" / "hunt.json"))
    assert summary.settings["workers"] == 2 and summary.bugs and not summary.interrupted
    assert sorted(summary.bugs) == sorted((tmp_path / "a").glob("*.trace.json"))
    for trace in summary.bugs:
        assert replay(trace).identical
    assert "in 2 worker processes" in capsys.readouterr().out
