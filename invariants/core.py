"""Invariants, findings and violations.

An invariant is a named check over a `RingView`. `check(ring, nodes)` yields
`Finding`s about the given nodes; drivers pass only the nodes an event could have
affected (after every event), or every node (at rest). A check that needs the
whole ring may ignore `nodes`, at the cost of O(n) work per event.
"""

from __future__ import annotations

from typing import Callable, Iterable, Literal, NamedTuple

import attrs

from invariants.view import RingView

When = Literal["always", "at_rest"]


class Finding(NamedTuple):
    """What a check found wrong: the nodes involved and a sentence about them."""

    nodes: tuple[int, ...]
    message: str


CheckFn = Callable[[RingView, Iterable[int]], Iterable[Finding]]


@attrs.frozen
class Invariant:
    """A named property. `when="always"` is safety, checked after every event;
    `when="at_rest"` is checked once the run is quiescent (or at its deadline)."""

    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-z0-9][a-z0-9-]*$"))
    check: CheckFn
    when: When = attrs.field(default="always", validator=attrs.validators.in_(("always", "at_rest")))
    description: str = ""


def invariant(name: str, when: When = "always", description: str = "") -> Callable[[CheckFn], Invariant]:
    """Decorator: turn `check(ring, nodes) -> Iterable[Finding]` into an `Invariant`.

    The docstring of the function is the description unless one is given.
    """

    def wrap(fn: CheckFn) -> Invariant:
        return Invariant(name=name, check=fn, when=when, description=description or (fn.__doc__ or "").strip())

    return wrap


class Frame(NamedTuple):
    """One frame of a crashed handler's traceback: where the code was."""

    file: str  # the module's path as imported, e.g. dhtea/protocols/classic.py
    line: int
    function: str
    code: str  # the source line, stripped ("" when the source is not available)


@attrs.frozen
class Violation:
    """A broken invariant: which one, which nodes, at which event and simulated time.

    `traceback` is set only for `handler-error`: the frames of the handler that
    raised, outermost first."""

    invariant: str
    nodes: tuple[int, ...]
    message: str
    event: int
    time: float
    traceback: tuple[Frame, ...] = attrs.field(default=(), converter=tuple)

    def __str__(self) -> str:
        nodes = ", ".join(str(n) for n in self.nodes)
        return (
            f"{self.invariant} violated at event #{self.event} (t={self.time:g}), "
            f"nodes [{nodes}]: {self.message}"
        )
