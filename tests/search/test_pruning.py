"""Pruning shrunk bugs: joiners, leaves and members the bug does not need are dropped."""

from __future__ import annotations

from dhtea import Join, JoinSchedule, Scenario, simulate
from dhtea.core.scenario import Leave
from dhtea.protocols import Classic
from dhtea.search.hunting import bug_signature
from dhtea.search.pruning import prune, size
from invariants import DEFAULT


def _run(scenario):
    return simulate(Classic, scenario, invariants=DEFAULT)


def test_parts_the_bug_does_not_need_are_dropped_and_the_bug_is_kept():
    # classic's plain join bug needs one member and one joiner; this run has
    # three members, three joiners and a leave besides.
    scenario = Scenario(ring=(10, 20, 30), joins=JoinSchedule([Join(15, 0, 10), Join(25, 0, 20), Join(35, 0, 10)]),
                        churn=(Leave(30, 3),), seed=7)
    big = _run(scenario)
    signature = bug_signature(Classic, big, DEFAULT)
    assert signature is not None
    same_bug = lambda run: bug_signature(Classic, run, DEFAULT) == signature  # noqa: E731
    small = prune(big, _run, same_bug)
    assert same_bug(small)
    assert size(small.scenario) < size(scenario)
    assert small.scenario.churn == ()  # the leave was not needed
    assert set(small.scenario.ring) <= {10, 20, 30} and small.scenario.ring[0] == 10  # the first member stays
    assert {j.bootstrap for j in small.scenario.joins} <= set(small.scenario.ring)  # every join keeps its bootstrap
    assert prune(small, _run, same_bug) is small  # nothing left to drop: kept as it is


def test_a_part_is_kept_when_dropping_it_loses_the_bug():
    scenario = Scenario(ring=(10,), joins=JoinSchedule([Join(15, 0, 10)]))
    one = _run(scenario)
    assert one.signature is not None
    tried = []
    kept = prune(one, lambda s: tried.append(s) or _run(s), lambda run: run.signature == one.signature)
    assert kept is one
    assert tried == []  # without its only joiner nothing would happen: not even tried


def test_pruning_is_deterministic():
    scenario = Scenario(ring=(5, 40), joins=JoinSchedule([Join(20, 0, 5), Join(50, 1, 40), Join(60, 2, 5)]), seed=11)
    big = _run(scenario)
    same_bug = lambda run: run.signature == big.signature  # noqa: E731
    first, second = prune(big, _run, same_bug), prune(big, _run, same_bug)
    assert first.scenario == second.scenario and first.events == second.events
