"""Saved counterexamples are regression tests.

dhtea's pytest plugin collects every `*.trace.json` under the test paths. By
default it runs the trace's scenario on the protocol under test (here
`gapowner`, set in pyproject.toml; else the trace's own protocol), checked with
the trace's invariants, and passes when nothing is violated: a counterexample
fails while its bug is there and passes once it is fixed. `--dhtea-replay=exact`
checks instead that the trace's own protocol reproduces the file exactly.
"""

import json
import textwrap
from pathlib import Path

import pytest

from dhtea import Join, JoinSchedule, Scenario, read_trace, replay, save_trace, simulate

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


def _copy(pytester, name="bug.trace.json", source=None):
    source = source or next(p for p in TRACES if "gap-exclusive" in p.name)
    target = pytester.path / name
    target.write_text(source.read_text())
    return target


# -- regression mode (the default) -------------------------------------------------------


def test_a_counterexample_fails_while_its_bug_is_there(pytester):
    path = _copy(pytester)
    result = pytester.runpytest("-q")  # no protocol given: the trace's own, classic, still has the bug
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"{path}: the saved counterexample still fails on classic: gap-exclusive violated at event #7 (t=1), "
        "nodes [[]0, 3, 1, 2[]]: *",
        "#7 *CONNECT*",  # the timeline
        f"run it again: dhtea replay {path}",
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_counterexample_passes_once_the_protocol_under_test_fixes_it(pytester):
    for path in TRACES:
        _copy(pytester, path.name, path)
    pytester.runpytest("-q", "--dhtea-protocol", "gapowner").assert_outcomes(passed=len(TRACES))


def test_the_protocol_under_test_may_be_set_in_the_ini_file(pytester):
    _copy(pytester)
    pytester.makeini("[pytest]\ndhtea_protocol = gapowner\n")
    pytester.runpytest("-q").assert_outcomes(passed=1)
    # the command line wins over the ini file
    pytester.runpytest("-q", "--dhtea-protocol", "classic").assert_outcomes(failed=1)


def test_an_unknown_protocol_under_test_is_a_usage_error(pytester):
    _copy(pytester)
    result = pytester.runpytest("-q", "--dhtea-protocol", "regress_missing_module:Nope")
    assert result.ret == 4  # before any test runs
    result.stderr.fnmatch_lines(["*--dhtea-protocol: cannot import protocol module 'regress_missing_module'*"])


def test_the_failure_names_the_protocol_it_ran_on(pytester):
    path = _copy(pytester, source=next(p for p in TRACES if "ring-order" in p.name))
    result = pytester.runpytest("-q", "--dhtea-protocol", "classic")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"{path}: the saved counterexample still fails on classic: ring-order violated*"])


SHORT_QUEUES = '''
from dhtea import Finding, invariant

@invariant("short-queues")
def short_queues(ring, nodes):
    for n in nodes:
        if len(ring.node(n).queue) > 1:
            yield Finding((n,), f"node {n} queues {len(ring.node(n).queue)} requests")
'''


def test_a_counterexample_of_a_custom_invariant_keeps_failing(pytester, monkeypatch, request):
    """Checked with the trace's own invariants: not "passes" because the default ones hold."""
    import sys

    from invariants import DEFAULT
    from invariants.names import load_invariant

    pytester.makepyfile(regress_queue_checks=textwrap.dedent(SHORT_QUEUES))
    monkeypatch.syspath_prepend(str(pytester.path))
    request.addfinalizer(lambda: sys.modules.pop("regress_queue_checks", None))
    custom = load_invariant("regress_queue_checks:short_queues")
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(n, 0, 0) for n in (10, 20, 30)]))
    path = save_trace(simulate("gapowner", scenario, invariants=DEFAULT + (custom,)), pytester.path / "q.trace.json")
    assert simulate("gapowner", scenario).ok  # the default invariants alone pass it
    result = pytester.runpytest("-q", "--dhtea-protocol", "gapowner")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"{path}: the saved counterexample still fails on gapowner: short-queues violated*"])


def test_a_counterexample_whose_invariant_is_gone_fails_in_one_line(pytester):
    path = _copy(pytester)
    data = json.loads(path.read_text())
    data.update(version=2, invariants=["ring-order", "regress_gone_module:check"])
    path.write_text(json.dumps(data))
    result = pytester.runpytest("-q", "--dhtea-protocol", "gapowner")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"{path}: the trace was checked with an invariant dhtea cannot load: "
        "cannot import invariant module 'regress_gone_module'*"
    ])
    assert "Traceback" not in result.stdout.str()


def test_a_counterexample_of_a_protocol_that_is_gone_fails_in_one_line(pytester):
    path = _copy(pytester)
    data = json.loads(path.read_text())
    data["protocol"] = "regress_gone_protocols:Old"
    path.write_text(json.dumps(data))
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"{path}: cannot import protocol module 'regress_gone_protocols'*"])
    assert "Traceback" not in result.stdout.str()


# -- exact mode --------------------------------------------------------------------------


TAMPERED = '"arrive":1.0}'


def test_exact_mode_fails_a_trace_that_no_longer_matches(pytester):
    original = next(p for p in TRACES if TAMPERED in p.read_text())
    good = pytester.path / "good.trace.json"
    bad = pytester.path / "bad.trace.json"
    good.write_text(original.read_text())
    bad.write_text(original.read_text().replace(TAMPERED, '"arrive":1.5}', 1))
    result = pytester.runpytest("-q", "--dhtea-replay=exact")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*bad.trace.json: exact replay: the run diverged from the trace: event #*"])


def test_exact_mode_compares_how_the_run_ended(pytester):
    path = _copy(pytester)
    data = json.loads(path.read_text())
    data["final"][0]["busy"] = False
    path.write_text(json.dumps(data))
    result = pytester.runpytest("-q", "--dhtea-replay", "exact")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"{path}: exact replay: same events and violations, but node 0's final view is *busy=True*"])


def test_exact_mode_replays_the_traces_own_protocol(pytester):
    for path in TRACES:
        _copy(pytester, path.name, path)
    # classic still reproduces each of its counterexamples, whatever the protocol under test
    pytester.runpytest("-q", "--dhtea-replay=exact", "--dhtea-protocol", "gapowner").assert_outcomes(passed=len(TRACES))


def test_the_mode_may_be_set_in_the_ini_file_and_a_bad_one_is_a_usage_error(pytester):
    _copy(pytester)
    pytester.makeini("[pytest]\ndhtea_replay = exact\n")
    pytester.runpytest("-q").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ndhtea_replay = sometimes\n")
    result = pytester.runpytest("-q")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*dhtea_replay: expected one of regression, exact, got 'sometimes'*"])


def test_plugin_reports_a_malformed_trace_in_one_line(pytester):
    (pytester.path / "broken.trace.json").write_text('{"format": "dhtea-trace", "version": 99}')
    result = pytester.runpytest("-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*broken.trace.json: *unsupported trace version 99*"])
    assert "Traceback" not in result.stdout.str()
