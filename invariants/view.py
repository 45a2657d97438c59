"""What the checkers see: a read-only view of each node and of the whole ring.

The checkers never touch a protocol object; drivers (simulator, log checker) hand
them a `NodeView` per node and keep a `RingView` up to date.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Iterator, Mapping

import attrs


@attrs.frozen(slots=True)
class NodeView:
    """One node's state as the invariants see it.

    `left`/`right` are node ids or None (unset); `member` is True once the node has
    joined; `busy` is the lock that blocks join requests; `queue` holds the join
    requests (joiner ids) waiting to be served. `leaving` is True while the node
    carries out a graceful leave. `gone` is set by the driver, not the protocol:
    None while the node runs, `"left"` once it has finished leaving and stopped,
    `"crashed"` once it crash-stopped (its other fields are then frozen).
    """

    id: int
    left: int | None = None
    right: int | None = None
    member: bool = False
    busy: bool = False
    queue: tuple[int, ...] = ()
    leaving: bool = False
    gone: str | None = None

    @property
    def live_member(self) -> bool:
        """A member that is still running: the nodes the ring is made of."""
        return self.member and self.gone is None

    @property
    def role(self) -> str:
        """What the node is, in one word: `left` or `crashed` once gone, else
        `leaving`, `member` or `joiner`."""
        return self.gone if self.gone is not None else "leaving" if self.leaving else "member" if self.member else "joiner"


#: The values of `NodeView.gone`: running, left gracefully, crash-stopped.
GONE_VALUES = (None, "left", "crashed")


def between(x: int, a: int, b: int) -> bool:
    """True if `x` lies strictly inside the clockwise gap from `a` to `b`.

    Ids grow clockwise and wrap from the largest to the smallest. The gap from a
    node to itself (`a == b`) is the whole ring except that node.
    """
    if a < b:
        return a < x < b
    if a > b:  # the gap wraps past the largest id
        return x > a or x < b
    return x != a


class RingView:
    """All node views, plus the members in id order, updated one node at a time.

    `known` is every node id that takes part in the run (members and joiners);
    a pointer naming any other id is a violation of `known-nodes`.
    """

    __slots__ = ("_views", "_members", "known")

    def __init__(self, known: Iterable[int], views: Iterable[NodeView] = ()) -> None:
        self.known = frozenset(known)
        self._views: dict[int, NodeView] = {}
        self._members: list[int] = []
        for view in views:
            self.update(view)

    def update(self, view: NodeView) -> bool:
        """Store `view`; return True if the node's membership changed."""
        old = self._views.get(view.id)
        self._views[view.id] = view
        # A node that left or crashed is out of the ring, whatever its frozen view says.
        was_member = old is not None and old.member and old.gone is None
        is_member = view.member and view.gone is None
        if is_member == was_member:
            return False
        if is_member:
            bisect.insort(self._members, view.id)
        else:
            del self._members[bisect.bisect_left(self._members, view.id)]
        return True

    def node(self, node_id: int) -> NodeView:
        return self._views[node_id]

    def get(self, node_id: int | None) -> NodeView | None:
        return None if node_id is None else self._views.get(node_id)

    @property
    def nodes(self) -> Mapping[int, NodeView]:
        return self._views

    @property
    def members(self) -> tuple[int, ...]:
        """Live member ids in increasing order."""
        return tuple(self._members)

    def __iter__(self) -> Iterator[NodeView]:
        return iter(self._views.values())

    def next_member(self, node_id: int) -> int | None:
        """The first member clockwise after `node_id` (itself if it is the only one)."""
        members = self._members
        if not members:
            return None
        i = bisect.bisect_right(members, node_id)
        return members[i % len(members)]

    def prev_member(self, node_id: int) -> int | None:
        """The first member anticlockwise before `node_id` (itself if it is the only one)."""
        members = self._members
        if not members:
            return None
        i = bisect.bisect_left(members, node_id)
        return members[i - 1]  # i == 0 wraps to the largest member


#: The fields of a `NodeView` that events record changes of, in this order.
VIEW_FIELDS = ("left", "right", "member", "busy", "queue", "leaving", "gone")
#: The fields every written view has; the churn fields after them are written
#: only when they differ from their default (False, None), so views of runs
#: without churn read and write exactly as before those fields existed.
BASE_VIEW_FIELDS = VIEW_FIELDS[:5]
CHURN_VIEW_DEFAULTS = {"leaving": False, "gone": None}


def view_to_dict(v: NodeView) -> dict:
    """A view as a JSON object: id, the base fields, then churn fields that are set."""
    out = {"id": v.id, "left": v.left, "right": v.right, "member": v.member, "busy": v.busy, "queue": list(v.queue)}
    for field, default in CHURN_VIEW_DEFAULTS.items():
        if getattr(v, field) != default:
            out[field] = getattr(v, field)
    return out


def view_from_dict(d: object, node: int | None = None) -> NodeView:
    """The inverse of `view_to_dict`; ValueError says what is wrong."""
    if not isinstance(d, dict) or (node is not None and d.get("id") != node) or type(d.get("id")) is not int:
        raise ValueError("a view should be an object with this node's id")
    keys = set(d) - {"id"}
    if not set(BASE_VIEW_FIELDS) <= keys or not keys <= set(VIEW_FIELDS):
        raise ValueError(f"a view has the fields id, {', '.join(BASE_VIEW_FIELDS)} (and maybe leaving, gone)")
    if not all(valid_view_value(f, d[f]) for f in keys):
        raise ValueError("a view has a value of the wrong type")
    extra = {f: d.get(f, default) for f, default in CHURN_VIEW_DEFAULTS.items()}
    return NodeView(d["id"], d["left"], d["right"], d["member"], d["busy"], tuple(d["queue"]), **extra)


def view_changes(before: NodeView, after: NodeView) -> tuple[tuple[str, object, object], ...]:
    """(field, old, new) for each field of the view that differs."""
    return tuple((f, getattr(before, f), getattr(after, f)) for f in VIEW_FIELDS if getattr(before, f) != getattr(after, f))


def _is_id(v: object) -> bool:
    return type(v) is int


def valid_view_value(field: str, value: object) -> bool:
    """Whether `value` can be the `field` of a view read from a file: pointers are
    ids or None, `member`/`busy`/`leaving` booleans, `queue` a list of ids,
    `gone` None, "left" or "crashed"."""
    if field in ("left", "right"):
        return value is None or _is_id(value)
    if field in ("member", "busy", "leaving"):
        return type(value) is bool
    if field == "gone":
        return value in GONE_VALUES
    if field == "queue":
        return isinstance(value, (list, tuple)) and all(_is_id(x) for x in value)
    return False
