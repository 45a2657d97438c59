"""The ring-consistency invariants dhtea checks by default.

Words used below. A node is *live* until it has finished a graceful leave
(`gone == "left"`) or crash-stopped (`gone == "crashed"`); after that it has
*departed* and its view is frozen. The *ring* is the live members (`member`
and live), in increasing id order, wrapping from the largest to the smallest;
"next member" and "previous member" are taken in that ring. A *stand-in* for a
gap between consecutive live members is a node strictly inside that gap that is
not a live member: a joiner being inserted, a node in mid-leave that has given
up membership (`member` False, `leaving` True), or a node that has departed
(nobody can know of a crash at once, and a leave's last messages are in
flight).

Safety (`always`), checked after every event on the nodes the event touched
(a departure counts as a change of membership, so its neighbours are checked):

- `known-nodes`: a pointer is unset or names a node taking part in the run.
- `ring-order`: a live member's `right` names the next member, or a stand-in
  for the gap up to it; `left` is the mirror image. So the live members,
  followed by `right` and bridged over stand-ins (joiners, leavers, dead
  nodes), form exactly one cycle in increasing id order with one wrap-around;
  a member points to itself only when it is alone. A pointer to a crashed or
  departed node is allowed while it lies inside the gap it bridges; a pointer
  that skips a live member, or names a node outside its gap, is not.
- `gap-exclusive`: the two ends of a gap between consecutive live members never
  name two different nodes that are not members by their own view (joiners or
  leavers, live or not): two operations never claim one gap at once. A node in
  mid-leave may stand in its gap exactly as a joiner in mid-insertion does.

These are local: after an event at node x only x, and (if x's membership or
liveness changed) the members on either side of x, can have changed their
verdict, so the check per event costs O(log n), not O(n).

Eventual (`at_rest`), on every node once nothing is left to happen, or at the
end of the settle window of a run with churn or faults:

- `joins-complete`: every live node that is not leaving is a member (so every
  live node that began to join became one, and no live member that never left
  gave its membership up).
- `leaves-complete`: no live node is still leaving: every graceful leave ended
  with the node stopped.
- `departed-unlinked`: no live member's pointer names a node that left or
  crashed.
- `pointers-mutual`: for every live member n, n.right is a live member whose
  left is n.
- `locks-released`: no live node is busy and no live node queues a request.

Together with `ring-order`, which held after every event and so holds at the
end, `pointers-mutual` says each live member's right is exactly the next live
member: the live members form one ordered ring with mutual pointers, and no
member that never left nor crashed has been dropped from it.
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
    view = ring.get(target)  # a stand-in: not a live member, strictly inside the gap
    return view is not None and not view.live_member and between(target, lo, hi)


@invariant("ring-order")
def ring_order(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """A live member's right is the next member clockwise or a stand-in inside that gap; left mirrors it."""
    for n in nodes:
        view = ring.node(n)
        if not view.live_member:
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
    """The two ends of a gap between consecutive members never name two different joiners or leavers."""
    gaps = set()
    for n in nodes:
        if ring.node(n).live_member:
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
    """Every live node that began to join has become a member (a node in mid-leave aside)."""
    for n in nodes:
        view = ring.node(n)
        if not view.member and view.gone is None and not view.leaving:
            yield Finding((n,), f"node {n} never became a member (left={_name(view.left)}, right={_name(view.right)})")


@invariant("leaves-complete", when="at_rest")
def leaves_complete(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """Every graceful leave has ended with the node stopped."""
    for n in nodes:
        view = ring.node(n)
        if view.leaving and view.gone is None:
            yield Finding((n,), f"node {n} began to leave but never finished (member={view.member}, busy={view.busy})")


@invariant("departed-unlinked", when="at_rest")
def departed_unlinked(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """No live member points to a node that left or crashed."""
    for n in nodes:
        view = ring.node(n)
        if not view.live_member:
            continue
        for side, target in (("left", view.left), ("right", view.right)):
            gone = ring.get(target)
            if gone is not None and gone.gone is not None:
                yield Finding((n, target), f"member {n}'s {side} pointer names {target}, which has {gone.gone}")


@invariant("pointers-mutual", when="at_rest")
def pointers_mutual(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """For every live member n, n.right is a live member whose left pointer is n."""
    for n in nodes:
        view = ring.node(n)
        if not view.live_member:
            continue
        right = ring.get(view.right)
        if right is None or not right.live_member or right.left != n:
            if right is None or not right.member:
                why = "that is not a member"
            elif right.gone is not None:
                why = f"that node has {right.gone}"
            else:
                why = f"{view.right}'s left is {_name(right.left)}"
            yield Finding(
                (n,) if view.right is None else (n, view.right),
                f"member {n}'s right is {_name(view.right)}, but {why}",
            )


@invariant("locks-released", when="at_rest")
def locks_released(ring: RingView, nodes: Iterable[int]) -> Iterator[Finding]:
    """No live node is left busy, and no join request is left queued at a live node."""
    for n in nodes:
        view = ring.node(n)
        if (view.busy or view.queue) and view.gone is None:
            queued = ", ".join(str(j) for j in view.queue) or "none"
            yield Finding((n,) + view.queue, f"node {n} is stuck: busy={view.busy}, queued joiners: {queued}")


SAFETY = (known_nodes, ring_order, gap_exclusive)
AT_REST = (joins_complete, leaves_complete, departed_unlinked, pointers_mutual, locks_released)
DEFAULT = SAFETY + AT_REST
