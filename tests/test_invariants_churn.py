"""The ring checkers under churn: leavers and departed nodes as stand-ins, and
the eventual invariants that name departures."""

from invariants import AT_REST, DEFAULT, SAFETY, NodeView, RingView


def ring_of(*views):
    return RingView([v.id for v in views], views)


def member(i, left, right, **kw):
    return NodeView(i, left, right, member=True, **kw)


def names(ring, invariants=DEFAULT):
    return sorted({inv.name for inv in invariants for _ in inv.check(ring, sorted(ring.nodes))})


def test_a_pointer_to_a_crashed_node_inside_its_gap_is_safe_but_not_eventually():
    ring = ring_of(member(1, 4, 2), member(2, 1, 4, gone="crashed"), member(4, 2, 1))
    assert ring.members == (1, 4)
    assert names(ring, SAFETY) == []
    assert names(ring, AT_REST) == ["departed-unlinked", "pointers-mutual"]


def test_a_pointer_past_a_live_member_to_a_dead_node_breaks_ring_order():
    ring = ring_of(member(1, 4, 3), member(2, 1, 3), member(3, 2, 4, gone="crashed"), member(4, 3, 1))
    assert names(ring, SAFETY) == ["ring-order"]  # 1 skips the live member 2


def test_a_node_in_mid_leave_stands_in_its_gap_like_a_joiner():
    leaver = NodeView(2, 1, 3, member=False, busy=True, leaving=True)
    ring = ring_of(member(1, 3, 2), leaver, member(3, 2, 1))
    assert names(ring, SAFETY) == []
    assert names(ring, AT_REST) == ["leaves-complete", "locks-released", "pointers-mutual"]


def test_a_leaver_and_a_joiner_claiming_one_gap_break_gap_exclusive():
    leaver = NodeView(2, 1, 4, leaving=True)
    joiner = NodeView(3)
    ring = ring_of(member(1, 4, 2), leaver, joiner, member(4, 3, 1))
    assert names(ring, SAFETY) == ["gap-exclusive"]


def test_departed_nodes_are_not_asked_to_finish_anything():
    crashed_joiner = NodeView(2, busy=True, gone="crashed")
    left = member(3, 1, 1, busy=True, queue=(5,), gone="left")
    ring = ring_of(member(1, 1, 1), crashed_joiner, left, NodeView(5, gone="crashed"))
    assert names(ring) == []


def test_a_live_member_dropped_from_the_ring_is_caught():
    # 2 never left, but 1 and 3 point past it: unsafe, and not one ring at rest
    ring = ring_of(member(1, 3, 3), member(2, 1, 3), member(3, 1, 1))
    assert "ring-order" in names(ring, SAFETY) and "pointers-mutual" in names(ring, AT_REST)
