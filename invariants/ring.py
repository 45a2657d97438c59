"""The ring-consistency invariants dhtea checks by default.

Safety (`always`), checked after every event on the nodes the event touched:

- `known-nodes`: a pointer is unset or names a node taking part in the run.
- `ring-order`: a member's `right` names the next member clockwise, or a
  non-member that lies strictly inside that gap (a joiner being inserted);
  `left` is the mirror image. Because each member's right pointer, bridged over
  at most such joiners, leads to the next member, the members form exactly one
  cycle in increasing id order with one wrap-around; a member points to itself
  only when it is alone.
- `gap-exclusive`: the two ends of a gap between consecutive members never name
  two different joiners (two joins claiming one gap).

These are local: after an event at node x only x, and (if x's membership
changed) the members on either side of x, can have changed their verdict, so the
check per event costs O(log n), not O(n).

At rest (`at_rest`), once nothing is left to happen, on every node:

- `joins-complete`: every node that began to join is a member.
- `pointers-mutual`: for every member n, n.right is a member whose left is n.
- `locks-released`: no node is busy and no join request is still queued.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from invariants.core import Finding, invariant
from invariants.view import RingView, between


def _name(node: int | None) -> str:
    return "unset" if node is None else str(node)


@invariant("known-nodes")
def known_nodes(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """Every pointer is unset or names a node that takes part in the run."""
    for n in nodes:
        view = ring.node(n)
        for side, target in (("left", view.left), ("right", view.right)):
            if target is not None and target not in ring.known:
                yield Finding((n, target), f"node {n}'s {side} pointer names {target}, which is not a node of this run")


def _pointer_ok(ring: RingView, target: int | None, expected: int, lo: int, hi: int) -> bool:
    if target == expected:
        return True
    if target is None:
        return False
    view = ring.get(target)
    return view is not None and not view.member and between(target, lo, hi)


@invariant("ring-order")
def ring_order(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """A member's right is the next member clockwise or a joiner inside that gap; left mirrors it."""
    for n in nodes:
        view = ring.node(n)
        if not view.member:
            continue
        nxt = ring.next_member(n)
        if not _pointer_ok(ring, view.right, nxt, n, nxt):
            yield Finding(
                tuple(x for x in (n, view.right, nxt) if x is not None),
                f"member {n}'s right pointer names {_name(view.right)}, but the next member clockwise is {nxt}"
                " and only a joiner between them may stand in for it",
            )
        prv = ring.prev_member(n)
        if not _pointer_ok(ring, view.left, prv, prv, n):
            yield Finding(
                tuple(x for x in (n, view.left, prv) if x is not None),
                f"member {n}'s left pointer names {_name(view.left)}, but the previous member is {prv}"
                " and only a joiner between them may stand in for it",
            )


@invariant("gap-exclusive")
def gap_exclusive(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """The two ends of a gap between consecutive members never name two different joiners."""
    gaps = set()
    for n in nodes:
        if ring.node(n).member:
            gaps.add((n, ring.next_member(n)))
            gaps.add((ring.prev_member(n), n))
    for lo, hi in sorted(gaps):
        a, b = ring.node(lo).right, ring.node(hi).left
        if a in (hi, None) or b in (lo, None) or a == b:
            continue
        va, vb = ring.get(a), ring.get(b)
        if va is not None and vb is not None and not va.member and not vb.member:
            yield Finding(
                (lo, hi, a, b),
                f"the gap between members {lo} and {hi} is claimed by two joiners: "
                f"{lo}'s right names {a}, {hi}'s left names {b}",
            )


@invariant("joins-complete", when="at_rest")
def joins_complete(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """Every node that began to join has become a member."""
    for n in nodes:
        view = ring.node(n)
        if not view.member:
            yield Finding((n,), f"node {n} never became a member (left={_name(view.left)}, right={_name(view.right)})")


@invariant("pointers-mutual", when="at_rest")
def pointers_mutual(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """For every member n, n.right is a member whose left pointer is n."""
    for n in nodes:
        view = ring.node(n)
        if not view.member:
            continue
        right = ring.get(view.right)
        if right is None or not right.member or right.left != n:
            back = "not a member" if right is None or not right.member else f"its left is {_name(right.left)}"
            yield Finding(
                (n,) if view.right is None else (n, view.right),
                f"member {n}'s right is {_name(view.right)}, but that is {back}",
            )


@invariant("locks-released", when="at_rest")
def locks_released(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """No node is left busy, and no join request is left queued."""
    for n in nodes:
        view = ring.node(n)
        if view.busy or view.queue:
            queued = ", ".join(str(j) for j in view.queue) or "none"
            yield Finding((n,) + view.queue, f"node {n} is stuck: busy={view.busy}, queued joiners: {queued}")


SAFETY = (known_nodes, ring_order, gap_exclusive)
AT_REST = (joins_complete, pointers_mutual, locks_released)
DEFAULT = SAFETY + AT_REST
