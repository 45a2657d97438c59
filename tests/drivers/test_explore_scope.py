"""Scopes: every ring of a size up to relabelling, every joiner position and bootstrap."""

from __future__ import annotations

import pytest

from dhtea.drivers.explore_scope import ScopeError, explore_scope, scenarios
from dhtea.drivers.symmetry import check_order, check_rotation, rotation_canonical
from dhtea.protocols import Classic, GapOwner
from tests.example_protocols import Arithmetic, WrapAround


def test_scenarios_enumerate_positions_and_bootstraps():
    every = scenarios(2, 2)
    assert len(every) == 6 * 4  # C(4, 2) member positions, 2 bootstraps for each of 2 joiners
    assert len(set(every)) == len(every)
    assert len(scenarios(2, 2, bootstraps="first")) == 6
    assert ((0, 3), ((1, 0), (2, 3))) in every
    rotations = scenarios(2, 2, rotation=True)
    assert len(rotations) < len(every)
    assert {rotation_canonical(s, 4) for s in every} == set(rotations)


def test_relabelling_checks_tell_order_from_rotation():
    sample = scenarios(2, 2)[:6]
    assert check_order(Classic, sample) is None
    assert check_rotation(Classic, sample) is not None  # plain `<` sees where the ring wraps
    assert check_order(GapOwner, sample) is None and check_rotation(GapOwner, sample) is None
    assert "renamed" in check_order(Arithmetic, sample)


def test_a_protocol_computing_with_ids_is_refused_unless_relabelling_is_off():
    with pytest.raises(ScopeError, match="computes with ids"):
        explore_scope(Arithmetic, 2, 2)
    result = explore_scope(Arithmetic, 1, 1, relabel="none")
    assert result.reduction == "none" and result.scenarios == 2


def test_gapowner_scope_is_complete_and_clean_with_the_rotation_reduction():
    result = explore_scope(GapOwner, 2, 2)
    assert result.reduction == "rotation" and result.complete and result.found == ()
    plain = explore_scope(GapOwner, 2, 2, relabel="order")
    assert plain.reduction == "order" and plain.complete and plain.found == ()
    assert plain.scenarios == 24 and result.scenarios < plain.scenarios


def test_classic_scope_keeps_the_shortest_per_invariant():
    result = explore_scope(Classic, 2, 2, want=["gap-exclusive", "ring-order", "joins-complete"])
    found = {f.invariant: (f, e) for f, e in result.found}
    # with two members, every run that leaves a join incomplete breaks a safety invariant first
    assert set(found) == {"gap-exclusive", "ring-order"}
    assert found["gap-exclusive"][0].deliveries == 2 and len(found["gap-exclusive"][1].joins) == 2
    assert result.shortest[0].deliveries == min(f.deliveries for f, _ in result.found)
    alone = explore_scope(Classic, 1, 1)
    assert [(f.invariant, f.deliveries) for f, _ in alone.found] == [("joins-complete", 4)]


def test_wrap_around_livelock_found_in_a_scope():
    result = explore_scope(WrapAround, 2, 1)
    assert result.reduction == "order"
    assert result.shortest[0].invariant == "progress"


def test_state_budget_is_shared_by_the_scope():
    result = explore_scope(GapOwner, 2, 2, max_states=50)
    assert not result.complete and result.bounded_at == 50 and result.states <= 50


def test_workers_give_the_same_result():
    one = explore_scope(Classic, 2, 2, want=["gap-exclusive"])
    two = explore_scope(Classic, 2, 2, want=["gap-exclusive"], workers=2)
    assert (one.states, one.transitions, one.scenarios) == (two.states, two.transitions, two.scenarios)
    assert [(f, e.ring, e.joins) for f, e in one.found] == [(f, e.ring, e.joins) for f, e in two.found]
