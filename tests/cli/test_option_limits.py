"""Options a user can push past what dhtea can do or write, and files a command
must not replace: each refusal is one line on stderr and exit 2, before any work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dhtea.cli.main import main
from dhtea.traces.huntfile import read_json, summary_from_data
from dhtea.traces.serial import read_trace

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "tests" / "counterexamples" / "classic-3-gap-exclusive.trace.json"
HUGE = str(10**45)  # 46 digits: more than a trace file or hunt.json may hold


def one_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dhtea: error: "), captured.err
    return lines[0]


@pytest.mark.parametrize("argv, words", [
    (["hunt", "--protocol", "classic", "--seed", HUGE], "at most 40 digits"),
    (["hunt", "--protocol", "classic", "--examples", HUGE], "at most 40 digits"),
    (["hunt", "--protocol", "classic", "--max-ring", "65"], "at most 64 (a hunt draws node ids from 0 to 63)"),
    (["hunt", "--protocol", "classic", "--max-ring", "100000000"], "at most 64"),
    (["hunt", "--protocol", "classic", "--max-joiners", "64"], "at most 63"),
    (["run", "--protocol", "gapowner", "--ring", f"1,{HUGE}"], "a node id has at most 40 digits"),
    (["run", "--protocol", "gapowner", "--ring", "1", "--join", f"{HUGE}@0:1"], "a node id has at most 40 digits"),
    (["run", "--protocol", "gapowner", "--ring", "1", "--seed", HUGE], "at most 40 digits"),
    (["explore", "--protocol", "classic", "--ring", "3", "--joiners", "0", "--leaves", "20"],
     "--leaves 20: at most 11"),
    (["explore", "--protocol", "classic", "--ring", "3", "--joiners", "0", "--leaves", HUGE], "at most 40 digits"),
])
def test_values_dhtea_cannot_run_or_write_are_refused_in_one_line(tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert words in one_error(capsys)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_a_hunt_never_writes_a_summary_its_report_refuses(tmp_path, capsys):
    # The largest seed accepted still makes a hunt.json that `dhtea report` reads.
    seed = str(10**39)
    out = tmp_path / "hunt"
    assert main(["hunt", "--protocol", "classic", "--seed", seed, "--examples", "5", "--max-bugs", "1",
                 "--workers", "1", "--quiet", "--no-database", "--out", str(out)]) == 1
    assert main(["report", str(out), "-o", str(tmp_path / "page.html")]) == 0
    assert f"seed {seed}" in (tmp_path / "page.html").read_text()


def test_hunt_runs_no_more_processes_than_scenarios_and_says_so(tmp_path, capsys):
    out = tmp_path / "hunt"
    assert main(["hunt", "--protocol", "classic", "--examples", "3", "--workers", "50", "--max-bugs", "1",
                 "--quiet", "--no-database", "--no-timings", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "in 3 worker processes" in printed and "50" not in printed.splitlines()[0]
    summary = summary_from_data(out / "hunt.json", read_json(out / "hunt.json"))
    assert summary.settings["workers"] == 3


def test_report_refuses_to_write_over_a_file_it_reads(tmp_path, capsys):
    trace = tmp_path / "bug.trace.json"
    shutil.copy(TRACE, trace)
    before = trace.read_bytes()
    assert main(["report", str(trace), "-o", str(trace)]) == 2
    assert "is one of the files the report reads" in one_error(capsys)
    assert trace.read_bytes() == before

    out = tmp_path / "hunt"
    assert main(["hunt", "--protocol", "classic", "--examples", "5", "--max-bugs", "1", "--workers", "1",
                 "--quiet", "--no-database", "--out", str(out)]) == 1
    capsys.readouterr()
    kept = {p: p.read_bytes() for p in out.iterdir()}
    for target in kept:  # the summary and each bug it lists
        assert main(["report", str(out), "-o", str(target)]) == 2
        assert str(target) in one_error(capsys)
    assert {p: p.read_bytes() for p in out.iterdir()} == kept
    assert main(["report", str(out), "-o", str(tmp_path / "page.html")]) == 0


def test_explore_checks_out_before_exploring(tmp_path, capsys):
    taken = tmp_path / "a-file"
    taken.write_text("mine")
    assert main(["explore", "--protocol", "classic", "--ring", "2", "--joiners", "1", "--out", str(taken)]) == 2
    assert one_error(capsys) == f"dhtea: error: --out {taken}: exists and is not a folder"
    assert taken.read_text() == "mine"
    assert "exploring" not in capsys.readouterr().out  # refused before the search began


def test_explore_names_only_the_leaves_the_counterexample_began(tmp_path, capsys):
    # Member 0 is chosen to leave but crashes first: the run has no leave.
    assert main(["explore", "--protocol", "classic", "--ring", "3", "--joiners", "0", "--leaves", "1",
                 "--crashes", "1", "--quiet", "--out", str(tmp_path)]) == 1
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("shortest counterexample")]
    assert line == "shortest counterexample: departed-unlinked with 0 joiner(s), initial ring of 3, 0 deliveries"
    (path,) = tmp_path.glob("*.trace.json")
    assert [op.kind for op in read_trace(path).scenario.churn] == ["crash"]

    assert main(["explore", "--protocol", "classic", "--ring", "3", "--joiners", "0", "--leaves", "2",
                 "--quiet", "--out", str(tmp_path)]) == 1
    assert ("shortest counterexample: departed-unlinked with 0 joiner(s), initial ring of 3, leave(s) of 0, 1, "
            "2 deliveries") in capsys.readouterr().out


def test_explore_starts_no_more_processes_than_scenarios(monkeypatch):
    import multiprocessing

    from dhtea.drivers.explore_scope import explore_scope
    from dhtea.protocols import load_protocol

    started = []
    real = multiprocessing.get_context

    class Counting:
        def __init__(self, method):
            self.ctx = real(method)

        def Pool(self, n):
            started.append(n)
            return self.ctx.Pool(n)

    monkeypatch.setattr(multiprocessing, "get_context", Counting)
    r = explore_scope(load_protocol("classic"), 2, 1, workers=50)
    assert started == [r.scenarios] and 1 < r.scenarios < 50 and r.found


def test_a_truncated_file_reads_as_one_plain_sentence(tmp_path, capsys):
    cut = tmp_path / "cut.trace.json"
    cut.write_text(TRACE.read_text()[:300])
    assert main(["show", str(cut)]) == 2
    line = one_error(capsys)
    assert "at at" not in line and "not valid JSON (Unterminated string starting at line " in line


@pytest.mark.parametrize("argv, expected", [
    (["report", str(TRACE), "-o", "{file}/page.html"], "{file} is a file, so no folder can be made there"),
    (["replay", str(TRACE), "--quiet", "--save", "{file}/again.trace.json"],
     "{file} is a file, so no folder can be made there"),
    (["run", "--protocol", "gapowner", "--ring", "1", "--save", "{file}/a/b.trace.json"],
     "{file}/a: a folder on this path is a file"),
])
def test_an_output_path_through_a_file_says_so(tmp_path, capsys, argv, expected):
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    assert main([a.format(file=file) for a in argv]) == 2
    assert one_error(capsys) == "dhtea: error: " + expected.format(file=file)
    assert file.read_text() == "mine"


def test_a_missing_class_is_named_with_its_module(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "lonely_protocols.py").write_text("X = 1\n")
    assert main(["hunt", "--protocol", "lonely_protocols:Walk"]) == 2
    line = one_error(capsys)
    assert "module 'lonely_protocols'" in line and "lonely_protocols.py" in line and "has no 'Walk'" in line
    assert main(["hunt", "--protocol", "lonely_protocols:X"]) == 2
    assert "is not a protocol class" in one_error(capsys)


@pytest.mark.parametrize("value, words", [("", "name the kinds"), (" , ", "name the kinds"), ("bogus", "unknown fault 'bogus'")])
def test_bad_faults_are_refused_before_the_hunt_starts(tmp_path, capsys, value, words):
    out = tmp_path / "hunt"
    assert main(["hunt", "--protocol", "classic", "--faults", value, "--out", str(out)]) == 2
    assert words in one_error(capsys)
    assert capsys.readouterr().out == "" and not out.exists()


@pytest.mark.parametrize("port", ["-1", "0", "65536"])
def test_a_base_port_outside_udp_ports_is_one_line(capsys, port):
    assert main(["cluster", "--protocol", "gapowner", "--nodes", "3", "--base-port", port]) == 2
    assert f"expected a port from 1 to 65535, got {port}" in one_error(capsys)
