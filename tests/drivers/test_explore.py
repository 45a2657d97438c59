"""The exhaustive explorer on single scenarios: shortest violations, completeness,
bounds, liveness lassos, and counterexamples the simulator reproduces."""

from __future__ import annotations

import itertools

import pytest

from dhtea import RingNode
from dhtea.core.network import Network
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.drivers.explore_trace import reproduce, scripted_scenario
from dhtea.drivers.explorer import ExploreError, Explorer, explore
from dhtea.drivers.fingerprint import FingerprintError, clone, snapshot
from dhtea.drivers.simulator import simulate
from dhtea.protocols import Classic, GapOwner
from tests.example_protocols import Dice, Forgetful, TimerJoin, Unguarded, WrapAround


def test_classic_single_join_breaks_joins_complete_after_four_deliveries():
    e = explore(Classic, (0,), [(1, 0)])
    assert e.complete
    (found,) = e.found
    assert found.invariant == "joins-complete"
    assert found.deliveries == 4
    assert [s.kind for s in found.steps] == ["join"] + ["deliver"] * 4


def test_gap_exclusive_needs_only_the_two_connects_delivered():
    e = explore(Classic, (0, 3), [(1, 0), (2, 3)])
    assert e.violation.invariant == "gap-exclusive"
    assert e.violation.deliveries == 2
    assert {s.message.kind for s in e.violation.steps if s.kind == "deliver"} == {"CONNECT"}


def test_gapowner_small_scenario_is_complete_and_clean():
    e = explore(GapOwner, (0, 3), [(1, 0), (2, 3)])
    assert e.complete and e.found == ()
    assert e.states > 10 and e.transitions >= e.states - 1 and e.depth > 5


def _every_order_depths(cls, ring, joins):
    """Brute force without state merging: the fewest deliveries to a violation, over every path."""
    ex = Explorer(cls, ring, joins)
    start, _ = ex.initial()
    best = None
    frontier = [(start, 0)]
    while frontier:
        nxt = []
        for state, depth in frontier:
            for step in ex.enabled(state):
                new, violation, _ = ex.step(state, step)
                if violation is not None:
                    best = depth + 1 if best is None else min(best, depth + 1)
                elif new.inflight:
                    nxt.append((new, depth + 1))
        if best is not None:
            return best
        frontier = nxt
    return None


@pytest.mark.parametrize("ring,joins", [((0,), [(1, 0), (2, 0)]), ((0, 2), [(1, 0), (3, 2)]), ((1, 2), [(0, 1), (3, 2)])])
def test_breadth_first_finds_the_shortest_path_a_brute_force_finds(ring, joins):
    e = explore(Classic, ring, joins)
    assert len(e.violation.steps) - len(joins) == _every_order_depths(Classic, ring, joins)


def test_bounds_make_the_search_bounded_not_complete():
    e = explore(GapOwner, (0, 3), [(1, 0), (2, 3)], max_states=10)
    assert not e.complete and e.states == 10 and e.found == ()
    e = explore(GapOwner, (0, 3), [(1, 0), (2, 3)], max_depth=3)
    assert not e.complete and e.depth == 3


def test_want_skips_other_invariants_and_finds_the_wanted_one():
    ring, joins = (1, 2), [(0, 1), (3, 2)]
    both = explore(Classic, ring, joins, want=["gap-exclusive", "ring-order"])
    assert sorted(f.invariant for f in both.found) == ["gap-exclusive", "ring-order"]
    for name in ("gap-exclusive", "ring-order"):
        e = explore(Classic, ring, joins, want=[name])
        assert [f.invariant for f in e.found] == [name]
        assert reproduce(Explorer(Classic, ring, joins), e.violation).signature == name
    assert explore(Classic, ring, joins, want=["joins-complete"]).found == ()


def test_joins_at_any_point_cover_more_states_than_joins_at_the_start():
    start = explore(GapOwner, (0,), [(1, 0), (2, 0)])
    anytime = explore(GapOwner, (0,), [(1, 0), (2, 0)], join_mode="any")
    assert anytime.complete and anytime.found == ()
    assert anytime.states > start.states


def test_livelock_is_progress_with_a_lasso_that_returns_to_the_same_state():
    ex = Explorer(WrapAround, (0, 1), [(2, 0)])
    found = ex.run().violation
    assert found.invariant == "progress"
    assert [s.message.kind for s in found.cycle] == ["CONNECT", "CONNECT"]
    assert ex.replay(found.steps).key == ex.replay(found.steps + found.cycle).key
    assert "repeat forever" in found.message


def test_deadlocked_lock_with_retries_is_progress_and_its_cycle_has_the_retry_timer():
    ex = Explorer(Forgetful, (0,), [(1, 0), (2, 0)])
    found = ex.run().violation
    assert found.invariant == "progress"
    assert {s.kind for s in found.cycle} == {"deliver", "timer"}
    assert ex.replay(found.steps).key == ex.replay(found.steps + found.cycle).key
    # the simulator follows the same steps and stops after one turn of the cycle
    run = reproduce(ex, found)
    assert run.signature == "progress"
    assert sum(e.kind == "timer" for e in run.events) == 1


def test_a_protocol_that_comes_to_rest_has_no_progress_violation():
    assert explore(GapOwner, (0,), [(1, 0), (2, 0)]).found == ()


@pytest.mark.parametrize("cls,ring,joins", [(Classic, (0,), [(1, 0)]), (Classic, (0, 3), [(1, 0), (2, 3)]),
                                            (Classic, (0, 2, 4), [(1, 0), (3, 2), (5, 4)]), (WrapAround, (0, 1), [(2, 0)])])
def test_counterexample_is_replayed_by_the_simulator_step_for_step(cls, ring, joins):
    ex = Explorer(cls, ring, joins)
    found = ex.run().violation
    scenario = scripted_scenario(ex, found)
    run = simulate(cls, scenario)
    assert run.signature == found.invariant
    delivered = [(e.node, e.message) for e in run.events if e.kind == "deliver"]
    assert delivered == [(s.node, s.message) for s in found.steps + found.cycle if s.kind == "deliver"]


def test_timer_steps_replay_at_their_deadlines():
    ex = Explorer(TimerJoin, (0,), [(1, 0)])
    e = ex.run()
    assert e.complete and e.found == ()
    # Script every path to the end: TimerJoin's timer is restarted to 2, so it fires at t=2.
    state, _ = ex.initial()
    assert state.timers == ((1, "go"),)


def test_handler_error_is_a_violation():
    class Raises(RingNode):
        def on_join(self, ctx, bootstrap):
            ctx.send(bootstrap, "X")

        def on_x(self, ctx, msg):
            raise RuntimeError("no")

    found = explore(Raises, (0,), [(1, 0)]).violation
    assert found.invariant == "handler-error" and "RuntimeError: no" in found.message


def test_random_handlers_are_refused():
    with pytest.raises(ExploreError, match="ctx.rng"):
        explore(Dice, (0,), [(1, 0)])


def test_fingerprint_is_stable_and_clone_is_independent():
    a = GapOwner(3)
    a.queue.extend([5, 4])
    a.extra = {"b": {2, 1}, "a": [1]}
    b = clone(a)
    assert snapshot(a) == snapshot(b)
    b.queue.append(9)
    b.extra["a"].append(2)
    assert list(a.queue) == [5, 4] and a.extra["a"] == [1]
    assert snapshot(a) != snapshot(b)
    a.bad = bytearray(b"x")
    with pytest.raises(FingerprintError, match="'bad'"):
        snapshot(a)


def test_a_protocol_fingerprint_overrides_the_default():
    class Counting(GapOwner):
        def __init__(self, node_id):
            super().__init__(node_id)
            self.seen = 0  # grows forever: without the override, no state would repeat

        def on_connect(self, ctx, msg):
            self.seen += 1
            super().on_connect(ctx, msg)

        def fingerprint(self):
            return (self.left, self.right, self.member, self.busy, tuple(self.queue))

    e = explore(Counting, (0,), [(1, 0), (2, 0)])
    assert e.complete and e.found == ()


def test_lost_messages_are_choices_within_a_bound_and_replay_as_scripted_fates():
    clean = explore(GapOwner, (0,), [(1, 0)])
    assert clean.found == ()
    ex = Explorer(GapOwner, (0,), [(1, 0)], max_losses=1)
    found = ex.run().violation
    assert found.invariant == "joins-complete"
    assert [s.kind for s in found.steps].count("lose") == 1
    run = reproduce(ex, found)
    assert run.signature == "joins-complete"
    assert run.scenario.network.fates.count("lose") == 1
    assert sum(e.fault == "lost" for e in run.events if e.kind == "send") == 1


def test_duplicated_messages_are_choices_within_a_bound_and_replay_as_scripted_fates():
    ring, joins = (0, 3), [(1, 0), (2, 0)]
    assert explore(Unguarded, ring, joins).found == ()
    ex = Explorer(Unguarded, ring, joins, max_duplicates=1)
    found = ex.run().violation
    assert found.invariant == "ring-order"
    (twice,) = [s for s in found.steps if s.kind == "duplicate"]
    assert twice.message.kind == "CHANGE_NEIGHBOUR"
    delivered = [s.message for s in found.steps if s.kind == "deliver"]
    assert delivered.count(twice.message) == 2
    run = reproduce(ex, found)
    assert run.signature == "ring-order"
    assert run.scenario.network.fates.count("duplicate") == 1
    assert sum(e.fault == "duplicated" for e in run.events if e.kind == "send") == 1
    arrived = [(e.node, e.message) for e in run.events if e.kind == "deliver"]
    assert arrived == [(s.node, s.message) for s in found.steps if s.kind == "deliver"]


def test_gapowner_answers_copies_so_duplicates_find_nothing_and_the_simulator_agrees():
    ring, joins = (0, 3), [(1, 0), (2, 0)]
    e = explore(GapOwner, ring, joins, max_duplicates=2)
    assert e.complete and e.found == ()
    assert e.states > explore(GapOwner, ring, joins).states  # the copies were explored
    schedule = JoinSchedule(Join(j, 0.0, b) for j, b in joins)
    for seed in range(20):
        run = simulate(GapOwner, Scenario(ring=ring, joins=schedule, network=Network(duplicate=0.5), seed=seed))
        assert run.signature is None


def test_crashes_are_choices_within_a_bound_and_replay_as_scripted_crashes():
    ring, joins = (0, 3), [(1, 0), (2, 3)]
    wanted = ("joins-complete", "departed-unlinked")
    ex = Explorer(GapOwner, ring, joins, max_crashes=1, want=wanted, progress=False)
    e = ex.run()
    assert e.complete and sorted(f.invariant for f in e.found) == sorted(wanted)
    for found in e.found:
        (crash,) = [s for s in found.steps if s.kind == "crash"]
        run = reproduce(ex, found)
        assert run.signature == found.invariant
        assert [(op.kind, op.node) for op in run.scenario.churn] == [("crash", crash.node)]
        arrived = [(x.node, x.message) for x in run.events if x.kind == "deliver"]
        assert arrived == [(s.node, s.message) for s in found.steps if s.kind == "deliver"]
    assert len(explore(GapOwner, ring, joins, max_crashes=2).violation.steps) > len(joins)
