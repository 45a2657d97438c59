"""Saved counterexamples stay meaningful.

Every `*.trace.json` under tests/ is also collected by dhtea's pytest plugin and
replayed against its own protocol: the run must be identical, event for event.
Here the same scenarios must pass under the corrected protocol, so the bugs
they show stay fixed.
"""

from pathlib import Path

import pytest

from dhtea import read_trace, replay

TRACES = sorted((Path(__file__).parents[1] / "counterexamples").glob("*.trace.json"))


def test_there_are_saved_counterexamples():
    assert len(TRACES) >= 2


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_gapowner_passes_each_classic_counterexample(path):
    trace = read_trace(path)
    assert trace.protocol == "classic" and trace.violations
    outcome = replay(trace, protocol="gapowner")
    assert outcome.result.ok, outcome.verdict
    assert outcome.result.status == "rest"


TAMPERED = '"arrive":1.0}'


def test_plugin_fails_a_trace_that_no_longer_matches(pytester):
    original = next(p for p in TRACES if TAMPERED in p.read_text())
    good = pytester.path / "good.trace.json"
    bad = pytester.path / "bad.trace.json"
    good.write_text(original.read_text())
    bad.write_text(original.read_text().replace(TAMPERED, '"arrive":1.5}', 1))
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*bad.trace.json: the run diverged from the trace: event #*"])


def test_plugin_reports_a_malformed_trace_in_one_line(pytester):
    (pytester.path / "broken.trace.json").write_text('{"format": "dhtea-trace", "version": 99}')
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.trace.json: *unsupported trace version 99*"])
    assert "Traceback" not in result.stdout.str()
