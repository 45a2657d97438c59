"""What a run starts from: the initial ring, who joins when and through whom, the
network, the seed and the run's limits."""

from __future__ import annotations

import math
from typing import Iterator

import attrs
from attrs.validators import instance_of

from dhtea.core.network import Network


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"node ids are integers, got {value!r}")
    return value


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"a join time is a finite number >= 0, got {value!r}")
    return float(value)


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"the seed is an integer, got {value!r}")
    return value


def _max_events(inst: object, attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_events is a whole number >= 1, got {value!r}")


def _deadline(inst: object, attr: object, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"the deadline is None or a finite time > 0, got {value!r}")


@attrs.frozen
class Join:
    """Node `node` starts joining at simulated time `at`, through member `bootstrap`."""

    node: int = attrs.field(converter=_int)
    at: float = attrs.field(converter=_time)
    bootstrap: int = attrs.field(converter=_int)


def _joins(value: object) -> tuple[Join, ...]:
    joins = tuple(value)  # type: ignore[arg-type]
    nodes = [j.node for j in joins]
    if len(set(nodes)) != len(nodes):
        raise ValueError("a node joins more than once in the schedule")
    return joins


@attrs.frozen
class JoinSchedule:
    """The joins of a run, in the order they were written."""

    joins: tuple[Join, ...] = attrs.field(default=(), converter=_joins)

    def __iter__(self) -> Iterator[Join]:
        return iter(self.joins)

    def __len__(self) -> int:
        return len(self.joins)


def _ring(value: object) -> tuple[int, ...]:
    ring = tuple(sorted(_int(n) for n in value))  # type: ignore[union-attr]
    if not ring:
        raise ValueError("the initial ring needs at least one member")
    if len(set(ring)) != len(ring):
        raise ValueError("the initial ring has a duplicate node id")
    return ring


@attrs.frozen
class Scenario:
    """Everything a run depends on. Same scenario, same trace, byte for byte."""

    ring: tuple[int, ...] = attrs.field(converter=_ring)
    joins: JoinSchedule = attrs.field(factory=JoinSchedule, validator=instance_of(JoinSchedule))
    network: Network = attrs.field(factory=Network, validator=instance_of(Network))
    seed: int = attrs.field(default=0, converter=_seed)
    #: A run that has not come to rest after this many events is a `progress` violation.
    max_events: int = attrs.field(default=100_000, validator=_max_events)
    #: Stop at this simulated time if the run has not come to rest (None: no deadline).
    deadline: float | None = attrs.field(default=None, validator=_deadline)

    def __attrs_post_init__(self) -> None:
        members = set(self.ring)
        for join in self.joins:
            if join.node in members:
                raise ValueError(f"node {join.node} is already a member of the initial ring")
            if join.bootstrap not in members:
                raise ValueError(f"node {join.node} bootstraps through {join.bootstrap}, not a member of the initial ring")

    @property
    def nodes(self) -> tuple[int, ...]:
        """Every node of the run: initial members, then joiners in schedule order."""
        return self.ring + tuple(j.node for j in self.joins)
