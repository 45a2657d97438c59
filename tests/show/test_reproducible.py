"""`make reports` is reproducible: the same recipe writes the same bytes.

Re-running the whole recipe takes too long for the suite, so this checks its
parts: every hunt in the recipe is seeded, pins its worker count, starts from
no saved examples and leaves wall-clock time out, a
seeded hunt with --no-timings writes the same files twice, and the report of
the same files is the same page (the committed pages themselves are checked
against their files in test_report.py).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from dhtea.cli.main import main
from dhtea.show.report import load, render

ROOT = Path(__file__).parents[2]


def recipe(target: str) -> list[str]:
    """The shell lines of a Makefile target, continuation lines joined."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        body.append(line.strip())
    return body


def test_every_hunt_of_make_reports_is_seeded_and_untimed():
    hunts = [shlex.split(line.split(";")[0]) for line in recipe("reports") if " hunt " in line]
    assert len(hunts) == 2, hunts
    for argv in hunts:
        assert "--seed" in argv and "--no-timings" in argv and "--no-database" in argv, argv
        assert "--workers" in argv, argv  # the default follows the machine's cores, and the shares with it
        out = argv[argv.index("--out") + 1]
        assert not Path(out).is_absolute() and out.startswith("reports/"), out
    for line in recipe("reports"):
        assert not re.search(r"\$\((CURDIR|shell pwd)\)|`pwd`|/tmp", line), line  # no machine-specific paths


def test_an_untimed_hunt_writes_the_same_files_twice(tmp_path, capsys):
    folders = [tmp_path / "a" / "classic", tmp_path / "b" / "classic"]
    for out in folders:
        argv = ["hunt", "--protocol", "classic", "--seed", "1", "--examples", "60", "--quiet", "--no-color", "--no-timings",
                "--out", str(out)]
        assert main(argv) == 1
    capsys.readouterr()
    a, b = folders
    names = sorted(p.name for p in a.iterdir())
    assert "hunt.json" in names and len(names) > 1 and names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert "seconds" not in json.loads((a / "hunt.json").read_text(encoding="utf-8"))
    page = render(load([a]))
    assert "not recorded (hunted with --no-timings)" in page
    assert page == render(load([a]))


def test_a_timed_hunt_records_its_time(tmp_path, capsys):
    out = tmp_path / "timed"
    assert main(["hunt", "--protocol", "classic", "--seed", "1", "--examples", "30", "--quiet", "--out", str(out)]) == 1
    capsys.readouterr()
    data = json.loads((out / "hunt.json").read_text(encoding="utf-8"))
    assert isinstance(data["seconds"], float) and data["seconds"] >= 0
    assert f"{data['seconds']:.1f} s" in render(load([out]))


def test_committed_report_traces_are_what_their_scenarios_give_now(tmp_path):
    """Each trace under reports/ is what `make reports` would save for its
    scenario today (same bytes): a change of schema or protocol shows up here,
    not as a dirty `git status` after the next `make reports`."""
    from dhtea.drivers.simulator import simulate
    from dhtea.search.replaying import trace_invariants
    from dhtea.traces.serial import read_trace, save_trace

    traces = sorted(p for folder in ("classic", "gapowner") for p in (ROOT / "reports" / folder).glob("*.trace.json"))
    assert len(traces) >= 6
    for path in traces:
        tf = read_trace(path)
        again = save_trace(simulate(tf.protocol, tf.scenario, invariants=trace_invariants(tf)), tmp_path / path.name)
        assert again.read_bytes() == path.read_bytes(), f"{path.relative_to(ROOT)} is stale: run `make reports`"
