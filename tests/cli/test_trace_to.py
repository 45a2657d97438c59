"""`dhtea run --trace-to FILE`: the trace is streamed to FILE; same report, same file."""

from __future__ import annotations

import dhtea.drivers.simulator as simulator
from dhtea.cli.main import main

ARGS = ["run", "--protocol", "gapowner", "--ring", "10,2000,4000", "--latency", "uniform:1,5", "--seed", "3", "--no-color"]
JOINS = [f"--join={n}@0:{(10, 2000, 4000)[n % 3]}" for n in range(11, 4000, 211)]


def test_trace_to_writes_the_same_file_and_prints_the_same_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(simulator, "SPILL_EVERY", 50)  # spill many times in a small run
    assert main(ARGS + JOINS + ["--save", str(tmp_path / "held.trace.json")]) == 0
    held = capsys.readouterr().out
    assert main(ARGS + JOINS + ["--trace-to", str(tmp_path / "streamed.trace.json")]) == 0
    streamed = capsys.readouterr().out
    assert (tmp_path / "streamed.trace.json").read_bytes() == (tmp_path / "held.trace.json").read_bytes()
    assert streamed.replace("streamed", "held").startswith(held.rsplit("trace saved", 1)[0])
    assert "trace written to" in streamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["held.trace.json", "streamed.trace.json"]  # no spool left


def test_trace_to_a_folder_is_one_line_error(tmp_path, capsys):
    assert main(ARGS + JOINS + ["--trace-to", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dhtea: error: --trace-to") and len(err.splitlines()) == 1
