"""Hunts split into seeded shares: worker processes, merging by signature, determinism."""

from __future__ import annotations

import attrs

from dhtea import hunt
from dhtea.protocols import load_protocol
from dhtea.search.pool import hunt_in_processes, shares_for
from dhtea.search.tasks import TaskOutcome, merge, run_task, share_seed, smallest_key, split, swarm_tasks
from dhtea.traces.serial import trace_text

from invariants import DEFAULT
from invariants.names import invariant_specs

DEFAULT_NAMES = invariant_specs(DEFAULT)


def tasks(shares: int, examples: int = 40, seed: int = 4, protocol: str = "classic"):
    return split(protocol, shares=shares, examples=examples, seed=seed, max_bugs=3, max_ring=5, max_joiners=4,
                 invariants=DEFAULT_NAMES)


def fingerprint(report):
    return [(b.signature, trace_text(b.result)) for b in report.bugs], report.examples


def test_shares_have_their_own_seeds_and_split_the_budget():
    two = tasks(2, examples=81)
    assert [t.index for t in two] == [0, 1] and [t.examples for t in two] == [41, 40]
    assert [t.examples for t in tasks(8, examples=5)] == [1] * 5  # no empty share
    assert len({t.seed for t in two}) == 2 and two == tasks(2, examples=81)
    assert tasks(1)[0].seed == 4  # one share hunts exactly as `hunt` does
    assert share_seed(4, 0, 2) != share_seed(5, 0, 2)


def test_one_share_is_the_plain_hunt():
    outcome = run_task(tasks(1)[0])
    plain = hunt("classic", examples=40, seed=4, max_bugs=3)
    assert fingerprint(outcome.report) == fingerprint(plain)


def test_merge_keeps_the_smallest_bug_per_signature_whatever_the_order():
    outcomes = [run_task(t) for t in tasks(3, examples=40)]
    merged = merge("classic", 4, outcomes, 0.0, max_bugs=5)
    again = merge("classic", 4, list(reversed(outcomes)), 0.0, max_bugs=5)
    assert fingerprint(merged) == fingerprint(again)
    assert merged.examples == sum(o.report.examples for o in outcomes)
    assert merged.coverage.runs == merged.examples
    for bug in merged.bugs:
        candidates = [b for o in outcomes for b in o.report.bugs if b.signature == bug.signature]
        assert smallest_key(bug) == min(smallest_key(b) for b in candidates)
    assert len({b.signature for b in merged.bugs}) == len(merged.bugs)
    assert len(merge("classic", 4, outcomes, 0.0, max_bugs=1).bugs) == 1


def test_unshrunk_bugs_lose_to_shrunk_ones():
    outcome = run_task(tasks(1, examples=60)[0])
    bug = outcome.report.bugs[0]
    rough = attrs.evolve(bug, shrunk=False)
    assert smallest_key(bug) < smallest_key(rough)
    other = TaskOutcome(1, attrs.evolve(outcome.report, bugs=(rough,)))
    assert merge("classic", 4, [other, outcome], 0.0, 5).bugs[0].shrunk


def test_worker_processes_give_the_same_bugs_every_time():
    seen = []
    first = hunt_in_processes(tasks(2), seed=4, max_bugs=3, on_bug=lambda bug, worker: seen.append((worker, bug.signature)))
    second = hunt_in_processes(tasks(2), seed=4, max_bugs=3)
    assert first.bugs and fingerprint(first) == fingerprint(second)
    assert not first.interrupted
    assert {w for w, _ in seen} <= {0, 1} and {s for _, s in seen} == {b.signature for b in first.bugs}
    assert fingerprint(first) == fingerprint(merge("classic", 4, [run_task(t) for t in tasks(2)], 0.0, 3))


def test_more_shares_than_workers_give_the_report_of_the_shares():
    shares = tasks(shares_for(2), examples=48)
    assert len(shares) == 8 and shares_for(1) == 1
    seen, workers = [], set()
    report = hunt_in_processes(shares, seed=4, max_bugs=3, workers=2,
                               on_bug=lambda bug, share: seen.append(share),
                               on_progress=lambda status: workers.update(status))
    assert workers == {0, 1}  # two processes ran the eight shares
    assert set(seen) <= set(range(8)) and report.bugs and not report.interrupted
    here = [run_task(t) for t in shares]
    assert report.examples == sum(o.report.examples for o in here)
    assert fingerprint(report) == fingerprint(merge("classic", 4, here, 0.0, 3))


def test_swarm_tasks_draw_seeded_feature_subsets():
    swarm = swarm_tasks(tasks(6), seed=4)
    assert swarm == swarm_tasks(tasks(6), seed=4)
    assert all(t.latency_kinds and t.ring_sizes for t in swarm)
    assert len({(t.latency_kinds, t.ring_sizes) for t in swarm}) > 1
    # Fault kinds too: the first task keeps every kind the hunt generates, the others a subset.
    lease = swarm_tasks(split("gaplease", shares=8, examples=80, seed=2, max_bugs=1, max_ring=3, max_joiners=2,
                              invariants=()), seed=2)
    claimed = set(load_protocol("gaplease").tolerates)
    assert lease[0].faults is None and all(t.faults is None or set(t.faults) < claimed for t in lease)
    assert len({t.faults for t in lease}) > 2 and any("faults" in t.features for t in lease)
    only = swarm_tasks(split("gaplease", shares=4, examples=40, seed=1, max_bugs=1, max_ring=3, max_joiners=2,
                             invariants=(), faults=("leave", "loss")), seed=1)
    assert only[0].faults == ("leave", "loss") and all(set(t.faults) <= {"leave", "loss"} for t in only)
    narrow = next(t for t in lease if t.faults is not None and "loss" not in t.faults and "leave" not in t.faults)
    kinds = run_task(attrs.evolve(narrow, examples=20)).report.coverage.features["fault kinds"]
    assert "loss" not in kinds and "leave" not in kinds
    outcome = run_task(swarm[0])
    features = outcome.report.coverage.features
    assert set(features["latency model"]) <= set(swarm[0].latency_kinds)
    assert {int(n) for n in features["ring size"]} <= set(swarm[0].ring_sizes)
