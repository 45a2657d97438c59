"""Hunts find the classic protocol's distinct bugs, each shrunk to its minimal form."""

from dhtea import hunt, replay
from dhtea.search.hunting import save_bugs


def test_classic_hunt_finds_distinct_minimal_bugs(tmp_path):
    report = hunt("classic", examples=300, seed=1)
    by_signature = {bug.signature: bug for bug in report.bugs}
    assert len(by_signature) == len(report.bugs) >= 2  # each bug reported once
    # A bug that needs one joiner, shrunk to one joiner...
    single = [b for b in report.bugs if b.joiners == 1]
    assert single and all(len(b.result.scenario.ring) <= 3 for b in single)
    # ...and one that needs two concurrent joiners, shrunk to exactly two.
    concurrent = by_signature["gap-exclusive"]
    assert concurrent.joiners == 2 and len(concurrent.result.scenario.ring) <= 3
    assert {j.bootstrap for j in concurrent.result.scenario.joins} == set(concurrent.result.scenario.ring)
    # Shrinking went all the way: start at time 0, constant latency, and scripted
    # delays only where re-minimising found a shorter order (whole time units).
    for bug in report.bugs:
        s = bug.result.scenario
        assert all(j.at == 0 for j in s.joins)
        assert s.network.latency.kind == "constant" and all(d == int(d) >= 1 for d in s.network.delays)
    paths = save_bugs(report, tmp_path)
    assert [p.name for p in paths] == [f"classic-{i}-{b.signature}.trace.json" for i, b in enumerate(report.bugs, 1)]
    for path in paths:
        assert replay(path).identical


def test_hunts_are_deterministic():
    a = hunt("classic", examples=100, seed=7, max_bugs=2)
    b = hunt("classic", examples=100, seed=7, max_bugs=2)
    assert [(x.signature, x.result.scenario) for x in a.bugs] == [(y.signature, y.result.scenario) for y in b.bugs]
    assert a.examples == b.examples


def test_corrected_protocol_survives_a_hunt():
    report = hunt("gapowner", examples=300, seed=3)
    assert report.bugs == () and report.examples == 300


def test_max_bugs_limits_the_hunt():
    report = hunt("classic", examples=200, seed=1, max_bugs=1)
    assert len(report.bugs) == 1


def test_on_bug_is_called_for_each_bug_in_order():
    seen = []
    report = hunt("classic", examples=200, seed=1, max_bugs=2, on_bug=seen.append)
    assert seen == list(report.bugs)
