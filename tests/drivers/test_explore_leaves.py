"""The explorer with graceful leaves: each leaving member may begin its leave at
any point; a node that stops is gone, as in the simulator."""

from __future__ import annotations

import pytest

from dhtea.core.node import RingNode
from dhtea.drivers.explore_scope import ScopeError, explore_scope, with_leaves
from dhtea.drivers.explore_trace import reproduce, scripted_scenario
from dhtea.drivers.explorer import Explorer
from dhtea.protocols import Classic, GapOwner
from dhtea.search.replaying import replay
from dhtea.traces.serial import save_trace


def test_two_neighbours_leaving_together_unlink_classic_and_the_trace_replays(tmp_path):
    explorer = Explorer(Classic, (0, 1, 2), (), leaves=(1, 2))
    found = explorer.run().violation
    assert found.invariant == "departed-unlinked"
    assert [s.kind for s in found.steps].count("leave") == 2 and found.deliveries == 2
    run = reproduce(explorer, found)
    assert run.signature == "departed-unlinked"
    assert sorted(op.node for op in run.scenario.churn) == [1, 2]
    assert replay(save_trace(run, tmp_path / "t.trace.json")).identical


def test_one_leave_alone_is_clean_in_classic_and_the_search_is_complete():
    e = Explorer(Classic, (0, 1, 2), (), leaves=(1,)).run()
    assert e.complete and not e.found and e.leaves == (1,)


def test_a_leave_not_begun_before_a_violation_is_scheduled_after_it():
    explorer = Explorer(Classic, (1, 2), ((0, 1),), leaves=(2,))
    found = explorer.run().violation
    assert found.invariant == "ring-order" and not any(s.kind == "leave" for s in found.steps)
    scenario = scripted_scenario(explorer, found)
    (leave,) = scenario.churn
    assert leave.node == 2 and leave.at > max(j.at for j in scenario.joins)
    assert reproduce(explorer, found).signature == "ring-order"


def test_a_stopped_node_receives_nothing_more():
    # gapowner's leaver stops once both neighbours have answered; a second leaver's DEPART to it is lost.
    explorer = Explorer(GapOwner, (0, 1, 2), (), leaves=(1, 2))
    found = explorer.run().violation
    assert found.invariant == "leaves-complete"
    state = explorer.replay(found.steps)
    assert state.left and all(m.dst not in state.left for m in state.inflight)


def test_only_members_leave():
    with pytest.raises(ValueError, match="only members of the initial ring leave"):
        Explorer(Classic, (0, 2), ((1, 0),), leaves=(1,))


def test_scopes_choose_leavers_among_members_that_are_no_bootstrap():
    scopes = with_leaves([((0, 1, 2), ((3, 0),))], 1)
    assert [s[2] for s in scopes] == [(1,), (2,)]
    assert with_leaves([((0,), ())], 1) == []  # nobody would stay
    r = explore_scope(Classic, 3, 0, leaves=2)
    assert r.leaves == 2 and r.reduction == "order" and r.shortest[0].invariant == "departed-unlinked"


def test_impossible_leave_scopes_are_refused():
    with pytest.raises(ScopeError, match="at least one member must stay"):
        explore_scope(Classic, 2, 0, leaves=2)
    with pytest.raises(ScopeError, match="has no graceful leave"):
        explore_scope(NoLeave, 3, 0, leaves=1)


class NoLeave(Classic):
    on_leave = RingNode.on_leave  # the base class's: no graceful leave
