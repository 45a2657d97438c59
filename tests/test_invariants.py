"""The ring checkers on hand-made ring states, and user-defined invariants in runs."""

import pytest

from dhtea import Finding, Join, JoinSchedule, Scenario, invariant, simulate
from invariants import AT_REST, DEFAULT, SAFETY, NodeView, RingView, between


def ring_of(*views, known=None):
    return RingView(known if known is not None else [v.id for v in views], views)


def member(i, left, right, **kw):
    return NodeView(i, left, right, member=True, **kw)


def findings(ring, invariants=SAFETY, nodes=None):
    nodes = sorted(ring.nodes) if nodes is None else nodes
    return [(inv.name, f.nodes) for inv in invariants for f in inv.check(ring, nodes)]


def test_between_handles_the_wrap_around():
    assert between(5, 1, 10) and not between(1, 1, 10) and not between(10, 1, 10)
    assert between(60, 50, 1) and between(0, 50, 1) and not between(20, 50, 1)
    assert between(3, 7, 7) and not between(7, 7, 7)  # alone: the gap is the whole ring


def test_a_correct_ring_passes_every_invariant():
    ring = ring_of(member(1, 50, 49), member(49, 1, 50), member(50, 49, 1))
    assert findings(ring, DEFAULT) == []
    assert ring.members == (1, 49, 50)
    assert (ring.next_member(50), ring.prev_member(1), ring.next_member(10)) == (1, 50, 49)


def test_a_lone_member_may_point_to_itself_but_two_may_not():
    assert findings(ring_of(member(4, 4, 4)), DEFAULT) == []
    ring = ring_of(member(1, 1, 1), member(2, 1, 1))
    assert ("ring-order", (1, 1, 2)) in findings(ring)


def test_a_joiner_being_inserted_may_stand_in_the_gap():
    ring = ring_of(member(1, 50, 10), NodeView(10, 1, None, busy=True), member(49, 10, 50), member(50, 49, 1))
    assert findings(ring) == []


def test_a_pointer_that_skips_a_member_breaks_ring_order():
    ring = ring_of(member(1, 50, 60), member(49, 1, 50), member(50, 49, 1), NodeView(60, 1, None))
    assert findings(ring, nodes=[1]) == [("ring-order", (1, 60, 49))]


def test_two_joiners_claiming_one_gap_break_gap_exclusive():
    ring = ring_of(member(1, 50, 10), NodeView(10), NodeView(20), member(49, 20, 50), member(50, 49, 1))
    assert findings(ring, nodes=[49]) == [("gap-exclusive", (1, 49, 10, 20))]


def test_pointers_to_unknown_nodes_break_known_nodes():
    ring = ring_of(member(1, 2, 2), member(2, 1, 77))
    assert ("known-nodes", (2, 77)) in findings(ring)


def test_at_rest_invariants_name_the_stuck_nodes():
    ring = ring_of(member(1, 2, 2, busy=True), member(2, 1, 3), NodeView(3, 2, None, queue=(8,)), known=[1, 2, 3, 8])
    found = findings(ring, AT_REST)
    assert ("joins-complete", (3,)) in found
    assert ("pointers-mutual", (2, 3)) in found
    assert ("locks-released", (1,)) in found and ("locks-released", (3, 8)) in found


def test_membership_changes_keep_the_member_list_sorted():
    ring = ring_of(member(5, 5, 5), NodeView(3))
    assert ring.update(NodeView(3, 5, 5, member=True)) is True
    assert ring.update(NodeView(3, 5, 5, member=True, busy=True)) is False
    assert ring.members == (3, 5)
    ring.update(NodeView(5, 3, 3))
    assert ring.members == (3,)


def test_invariant_names_are_validated():
    with pytest.raises(ValueError):
        invariant("Bad Name")(lambda ring, nodes: ())


def test_a_user_invariant_is_checked_after_every_event():
    @invariant("short-queues")
    def short_queues(ring, nodes):
        """No node queues more than one join request."""
        for n in nodes:
            if len(ring.node(n).queue) > 1:
                yield Finding((n,), f"node {n} queues {len(ring.node(n).queue)} requests")

    assert short_queues.description == "No node queues more than one join request."
    # Joiner 5 is not a member while it waits for its insertion, so requests
    # forwarded to it pile up in its queue: gapowner queues them by design.
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(n, 0, 0) for n in (10, 20, 30)]))
    assert simulate("gapowner", scenario).ok
    result = simulate("gapowner", scenario, invariants=DEFAULT + (short_queues,))
    assert result.signature == "short-queues"
    v = result.violations[0]
    assert v.event >= 0 and v.time > 0 and "queues 2 requests" in v.message
    assert str(v).startswith(f"short-queues violated at event #{v.event} (t=")


def test_violations_name_invariant_nodes_event_and_time():
    scenario = Scenario(ring=(1, 49, 50), joins=JoinSchedule([Join(60, 0, 1)]))
    result = simulate("classic", scenario)
    v = result.violations[0]
    assert (v.invariant, v.nodes, v.event, v.time) == ("ring-order", (1, 60, 49), 9, 4.0)
    assert result.events[v.event].kind == "deliver" and result.events[v.event].node == 1


def test_pointers_mutual_says_whose_pointer_disagrees():
    from invariants.ring import pointers_mutual
    ring = ring_of(member(1, 3, 2), member(2, 3, 3), member(3, 2, 1))
    messages = [f.message for f in pointers_mutual.check(ring, [1, 2, 3])]
    assert "member 1's right is 2, but 2's left is 3" in messages
    lone = ring_of(member(1, 1, 2), NodeView(2))
    assert [f.message for f in pointers_mutual.check(lone, [1])] == ["member 1's right is 2, but that is not a member"]
