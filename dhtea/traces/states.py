"""Node views at any point of a saved run, and the pointers the checkers blame.

A trace file records, for every event, what it changed in its node's view
(`changes`: field, old, new). The views before the first event follow from the
scenario: initial members point at their neighbours in the ring, joiners have
nothing set. So the state of the ring after any event is the initial views with
the changes of the events up to it applied, and pictures can be drawn from the
file alone, without running the protocol again.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

import attrs

from dhtea.core.scenario import Scenario
from dhtea.core.trace import Event
from invariants import AT_REST, SAFETY, VIEW_FIELDS, Invariant, NodeView, RingView

Views = dict[int, NodeView]


class TraceStateError(ValueError):
    """The events' changes do not fit the state rebuilt so far (a corrupt trace)."""


def initial_views(scenario: Scenario) -> Views:
    """Every node's view before the first event: members of the initial ring
    between their ring neighbours, joiners with no pointer, not members."""
    ring = scenario.ring
    views = {n: NodeView(n, ring[i - 1], ring[(i + 1) % len(ring)], member=True) for i, n in enumerate(ring)}
    views.update((j.node, NodeView(j.node)) for j in scenario.joins)
    return views


def apply_event(views: Views, event: Event) -> Views:
    """The views after `event`: a new dict, `views` is left as it was."""
    if not event.changes:
        return views
    view = views.get(event.node)
    if view is None:
        raise TraceStateError(f"event #{event.seq} changes node {event.node}, which is not a node of the scenario")
    updates = {}
    for field, old, new in event.changes:
        if field not in VIEW_FIELDS:
            raise TraceStateError(f"event #{event.seq} changes unknown field {field!r}")
        if getattr(view, field) != old:
            raise TraceStateError(
                f"event #{event.seq} says node {event.node}'s {field} was {old!r}, but it was {getattr(view, field)!r}"
            )
        updates[field] = tuple(new) if field == "queue" else new
    return {**views, event.node: attrs.evolve(view, **updates)}


def replay_states(scenario: Scenario, events: Iterable[Event]) -> Iterator[tuple[Event, Views]]:
    """(event, views just after it) for every event, in order."""
    views = initial_views(scenario)
    for event in events:
        views = apply_event(views, event)
        yield event, views


def views_after(scenario: Scenario, events: Iterable[Event], seq: int) -> Views:
    """The views just after event `seq` (-1: before the first event)."""
    views = initial_views(scenario)
    for event, after in replay_states(scenario, events):
        if event.seq > seq:
            break
        views = after
    return views


def last_change(events: Iterable[Event], node: int, field: str, upto: int) -> Event | None:
    """The last event at or before `upto` that changed `node`'s `field`."""
    found = None
    for event in events:
        if event.seq > upto:
            break
        if event.node == node and any(f == field for f, _, _ in event.changes):
            found = event
    return found


# -- blame ---------------------------------------------------------------------


def blamed_pointers(views: Mapping[int, NodeView], known: Iterable[int], invariants: Iterable[Invariant]) -> set[tuple[int, str]]:
    """The pointers the invariant checkers blame, as (node, "left" | "right").

    A pointer is blamed when the checkers, run on its node, report something
    with the pointer as it is that they no longer report once it names what
    the ring expects there (the neighbouring member for a member, nothing for a
    joiner). The node's other pointer is set to its expected value in both
    runs, so each pointer is judged on its own.
    """
    invariants = tuple(invariants)
    ring = RingView(known, views.values())
    blamed = set()
    for node, view in sorted(views.items()):
        for side, other in (("left", "right"), ("right", "left")):
            if getattr(view, side) is None:
                continue
            alone = attrs.evolve(view, **{other: _expected(ring, view, other)})
            fixed = attrs.evolve(alone, **{side: _expected(ring, view, side)})
            if _findings(ring, alone, invariants) - _findings(ring, fixed, invariants):
                blamed.add((node, side))
        ring.update(view)  # put the real view back
    return blamed


def _expected(ring: RingView, view: NodeView, side: str) -> int | None:
    if not view.member:
        return None
    return ring.next_member(view.id) if side == "right" else ring.prev_member(view.id)


def _findings(ring: RingView, view: NodeView, invariants: tuple[Invariant, ...]) -> set[tuple[str, tuple[int, ...]]]:
    ring.update(view)
    return {(inv.name, tuple(f.nodes)) for inv in invariants for f in inv.check(ring, (view.id,))}


def blamed_changes(scenario: Scenario, events: Iterable[Event], violations: Iterable) -> set[tuple[int, str]]:
    """(event seq, "left" | "right"): where each pointer blamed at the first
    violation got its wrong value. Empty for a run without violations."""
    violations = tuple(violations)
    if not violations:
        return set()
    events = tuple(events)
    first = violations[0]
    views = views_after(scenario, events, first.event)
    at_rest = first.invariant in {inv.name for inv in AT_REST}
    blamed = blamed_pointers(views, scenario.nodes, SAFETY + AT_REST if at_rest else SAFETY)
    found = set()
    for node, side in blamed:
        event = last_change(events, node, side, first.event)
        if event is not None:
            found.add((event.seq, side))
    return found
