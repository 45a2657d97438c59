"""A crashing handler's traceback is kept: in the run, the trace file, the timeline and the report."""

import json

from dhtea import Join, JoinSchedule, Scenario, simulate
from dhtea.show.report import write_report
from dhtea.show.sequence import sequence_diagram
from dhtea.show.timeline import format_result
from dhtea.traces.serial import read_trace, save_trace
from dhtea.search.replaying import replay

SCENARIO = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]))


def crashed():
    return simulate("tests.example_protocols:Crashing", SCENARIO)


def test_the_violation_names_the_file_line_and_code_that_raised():
    v = crashed().violations[0]
    assert v.invariant == "handler-error" and v.traceback
    where = v.traceback[-1]
    assert where.file == "tests/example_protocols.py" and where.function == "on_hello"
    assert "raise RuntimeError" in where.code
    source = open("tests/example_protocols.py").read().splitlines()
    assert source[where.line - 1].strip() == where.code
    assert not any(f.file == "dhtea/core/node.py" for f in v.traceback)  # dispatch frames left out


def test_the_traceback_is_saved_read_back_and_replayed(tmp_path):
    path = save_trace(crashed(), tmp_path / "crash.trace.json")
    saved = json.loads(path.read_text())["violations"][0]["traceback"]
    assert saved[-1]["function"] == "on_hello" and set(saved[-1]) == {"file", "line", "function", "code"}
    assert read_trace(path).violations == crashed().violations
    assert replay(path).identical


def test_a_file_without_a_traceback_still_loads_and_replays(tmp_path):
    path = save_trace(crashed(), tmp_path / "old.trace.json")
    data = json.loads(path.read_text())
    del data["violations"][0]["traceback"]  # as written before tracebacks were recorded
    path.write_text(json.dumps(data))
    tf = read_trace(path)
    assert tf.violations[0].traceback == ()
    assert replay(path).identical


def test_a_malformed_traceback_is_a_trace_file_error(tmp_path):
    from dhtea.traces.serial import TraceFileError
    import pytest

    path = save_trace(crashed(), tmp_path / "bad.trace.json")
    data = json.loads(path.read_text())
    data["violations"][0]["traceback"] = [{"file": "x.py", "line": "ten", "function": "f", "code": ""}]
    path.write_text(json.dumps(data))
    with pytest.raises(TraceFileError, match="line"):
        read_trace(path)


def test_timeline_and_report_show_where_it_raised(tmp_path):
    result = crashed()
    text = format_result(result)
    assert "at tests/example_protocols.py:" in text and "in on_hello" in text
    svg = sequence_diagram(result.scenario, result.events, result.violations)
    assert "1 ← 2 HELLO: raised RuntimeError at tests/example_protocols.py:" in svg
    path = save_trace(result, tmp_path / "crash.trace.json")
    page = write_report([path], tmp_path / "crash.html").read_text()
    assert 'class="traceback"' in page and "on_hello" in page
    assert "raises an exception at tests/example_protocols.py:" in page
