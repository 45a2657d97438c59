"""Re-minimising hunted bugs with the explorer, and the yardstick: the hunt's
shrunk classic bugs against the explorer's shortest counterexamples."""

from __future__ import annotations

import pytest

from dhtea import Join, JoinSchedule, Scenario, hunt, simulate
from dhtea.core.network import Network, Uniform
from dhtea.drivers.explore_scope import explore_scope
from dhtea.protocols import Classic
from dhtea.search.minimise import deliveries, reminimise
from invariants import DEFAULT
from tests.example_protocols import Arithmetic, WrapAround


def _smallest_scope(cls, signature, most_members=3, most_joiners=3):
    """The explorer's answer: the first scope (fewest nodes, then joiners) holding the signature."""
    sizes = sorted(((m, j) for m in range(1, most_members + 1) for j in range(1, most_joiners + 1)),
                   key=lambda mj: (mj[0] + mj[1], mj[1], mj[0]))
    for m, j in sizes:
        result = explore_scope(cls, m, j, want=[signature])
        if result.found:
            found, exploration = result.shortest
            return len(exploration.ring), len(exploration.joins), found.deliveries
    raise AssertionError(f"no scope holds {signature}")


def test_a_longer_run_is_replaced_by_the_shortest_in_the_smallest_scope():
    # ring-order with three members, three joiners and random latencies
    scenario = Scenario(ring=(10, 20, 30), joins=JoinSchedule([Join(15, 0, 10), Join(25, 0, 20), Join(35, 0, 30)]),
                        network=Network(Uniform(1, 5)), seed=3)
    long = simulate(Classic, scenario)
    assert long.signature == "ring-order"
    short = reminimise(Classic, long, DEFAULT)
    assert short.signature == "ring-order"
    members, joiners, shortest = _smallest_scope(Classic, "ring-order")
    assert (len(short.scenario.ring), len(short.scenario.joins), deliveries(short)) == (members, joiners, shortest)
    assert reminimise(Classic, short, DEFAULT) is short  # nothing smaller: kept


def test_runs_it_cannot_improve_are_kept():
    clean = simulate("gapowner", Scenario(ring=(1, 2), joins=JoinSchedule([Join(3, 0, 1)])))
    assert reminimise(Classic, clean, DEFAULT) is clean
    loop = simulate(WrapAround, Scenario(ring=(0,), joins=JoinSchedule([Join(1, 0, 0)])))
    assert loop.signature == "progress" and reminimise(WrapAround, loop, DEFAULT) is loop
    odd = simulate(Arithmetic, Scenario(ring=(0, 4), joins=JoinSchedule([Join(1, 0, 0), Join(3, 0, 4)])))
    assert reminimise(Arithmetic, odd, DEFAULT) is odd  # computes with ids: not explored


def test_hunted_classic_bugs_match_the_explorer_scope_and_are_within_a_fifth_of_its_deliveries():
    report = hunt("classic", examples=300, seed=0, database=None)
    assert {b.signature for b in report.bugs} == {"joins-complete", "ring-order", "gap-exclusive"}
    for bug in report.bugs:
        members, joiners, shortest = _smallest_scope(Classic, bug.signature)
        s = bug.result.scenario
        assert (len(s.ring), len(s.joins)) == (members, joiners), bug.signature
        assert deliveries(bug.result) <= shortest * 1.2, bug.signature


def test_a_leave_bug_is_reminimised_to_the_smallest_scope_that_still_needs_the_leave():
    from dhtea.core.network import Exponential
    from dhtea.core.scenario import Leave
    from dhtea.search.hunting import bug_signature

    # A hunt's shrunk form of classic's leave racing a join: five members, where three suffice.
    scenario = Scenario(ring=(0, 1, 3, 4, 5), joins=JoinSchedule([Join(2, 1.0, 3)]),
                        network=Network(latency=Exponential(mean=1.0)), churn=(Leave(1, 0.0),))
    result = simulate(Classic, scenario)
    signature = bug_signature(Classic, result, DEFAULT)
    assert signature == "ring-order+leave"
    smaller = reminimise(Classic, result, DEFAULT, same_bug=lambda run: bug_signature(Classic, run, DEFAULT) == signature)
    assert bug_signature(Classic, smaller, DEFAULT) == signature  # the same bug, not the plain join one
    assert len(smaller.scenario.ring) == 3 and len(smaller.scenario.joins) == 1 and len(smaller.scenario.churn) == 1
    # Without `same_bug`, the first ring-order of a smaller scope (a plain join bug) would do.
    plain = reminimise(Classic, result, DEFAULT)
    assert bug_signature(Classic, plain, DEFAULT) == "ring-order"


def test_timer_protocols_get_a_small_budget_and_progress_is_reported(monkeypatch):
    import dhtea.search.minimise as minimise
    from dhtea.protocols.gapowner import GapLease
    from invariants.core import Finding, invariant

    @invariant("two-members-at-most", when="at_rest")
    def two_members_at_most(ring, nodes):
        members = ring.members
        if len(members) > 2:
            yield Finding(tuple(members), "more than two members")

    budgets, seen = [], []
    real = minimise.explore_scope

    def spy(*args, **kw):
        budgets.append(kw["max_states"])
        return real(*args, **kw)

    monkeypatch.setattr(minimise, "explore_scope", spy)
    run = simulate(GapLease, Scenario(ring=(0, 2), joins=JoinSchedule([Join(1, 0, 0)])), invariants=[two_members_at_most])
    assert run.signature == "two-members-at-most" and minimise.sets_timers(GapLease, run.scenario)
    assert not minimise.sets_timers(Classic, run.scenario)
    minimise.reminimise(GapLease, run, [two_members_at_most], on_progress=seen.append)
    assert budgets[0] == minimise.TIMER_BUDGET
    assert seen and seen == sorted(seen) and max(seen) <= minimise.TIMER_BUDGET
    budgets.clear()
    plain = simulate(Classic, Scenario(ring=(0,), joins=JoinSchedule([Join(1, 0, 0)])))
    assert plain.signature == "joins-complete"
    minimise.reminimise(Classic, plain, DEFAULT)
    assert budgets[0] == minimise.BUDGET
