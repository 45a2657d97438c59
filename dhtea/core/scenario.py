"""What a run starts from: the initial ring, who joins when and through whom,
who leaves or crashes when, the network (latency and faults), the seed and the
run's limits, settle window included."""

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


def _op_time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"a leave or crash time is a finite number >= 0, got {value!r}")
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


@attrs.frozen
class Leave:
    """Node `node` begins a graceful leave at simulated time `at` (the driver
    calls its `on_leave`; the protocol calls `ctx.stop()` when it is done).

    A member of the initial ring leaves at `at`. A joiner leaves at `at` if it
    is a member by then; if not, its leave waits until the event that makes it
    a member, and starts at that same time, right after the events already due
    then; a joiner that never becomes a member (or crashes first) never leaves."""

    node: int = attrs.field(converter=_int)
    at: float = attrs.field(converter=_op_time)
    kind = "leave"


def _during(inst: object, attr: object, value: object) -> None:
    if value not in (None, "join", "leave"):
        raise ValueError(f"a crash happens during None, 'join' or 'leave', got {value!r}")


@attrs.frozen
class Crash:
    """Node `node` crash-stops at simulated time `at`: it handles nothing more,
    messages to it are lost, its timers never fire, its view is frozen.

    `during="join"`: only if the node is not a member at that time (a joiner
    crashing in mid-join; a node already in the ring does not crash).
    `during="leave"`: only if the node is in mid-leave at that time."""

    node: int = attrs.field(converter=_int)
    at: float = attrs.field(converter=_op_time)
    during: str | None = attrs.field(default=None, validator=_during)
    kind = "crash"


Departure = Leave | Crash

#: Churn and faults a scenario may hold, as protocols name them in `tolerates`:
#: graceful leaves; crashes of a joiner or a leaver in mid-operation
#: (`crash-joiner`, `crash-leaver`); crashes of any node (`crash`); message
#: loss, duplication, and partitions that heal. Reordering is always on.
FAULT_KINDS = ("leave", "crash-joiner", "crash-leaver", "crash", "loss", "duplicate", "partition")


def _churn(value: object) -> tuple[Departure, ...]:
    ops = tuple(value)  # type: ignore[arg-type]
    for op in ops:
        if not isinstance(op, (Leave, Crash)):
            raise TypeError(f"churn holds Leave and Crash operations, got {op!r}")
    for kind in (Leave, Crash):  # a node may leave and crash during that leave, nothing more
        nodes = [op.node for op in ops if isinstance(op, kind)]
        if len(set(nodes)) != len(nodes):
            raise ValueError("a node leaves or crashes more than once in the churn schedule")
    for op in ops:
        if isinstance(op, Crash) and op.during != "leave" and any(isinstance(o, Leave) and o.node == op.node for o in ops):
            raise ValueError(f"node {op.node} both leaves and crashes (a crash during its leave says during='leave')")
    return ops


def _settle(inst: object, attr: object, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"the settle window is None or a finite time > 0, got {value!r}")


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
    #: Leaves and crashes, in the order they were written.
    churn: tuple[Departure, ...] = attrs.field(default=(), converter=_churn)
    #: The settle rule: None runs to rest as always. A number S runs until S after
    #: `calm_at` (churn and faults over; or after the last fate by message kind
    #: that took place, if later), then checks the eventual invariants; a run
    #: whose views still changed in the last half of that window breaks `progress`.
    settle: float | None = attrs.field(default=None, validator=_settle)

    def __attrs_post_init__(self) -> None:
        members = set(self.ring)
        for join in self.joins:
            if join.node in members:
                raise ValueError(f"node {join.node} is already a member of the initial ring")
            if join.bootstrap not in members:
                raise ValueError(f"node {join.node} bootstraps through {join.bootstrap}, not a member of the initial ring")
        everyone = set(self.nodes)
        for op in self.churn:
            if op.node not in everyone:
                raise ValueError(f"node {op.node} {op.kind}s but is not a node of the run")
            if isinstance(op, Crash) and op.during == "leave" and op.node not in {o.node for o in self.churn if isinstance(o, Leave)}:
                raise ValueError(f"node {op.node} crashes during its leave, but never leaves")
        self.network.check_nodes(everyone)

    @property
    def faulty(self) -> bool:
        """Whether the run has any churn or network fault at all."""
        return bool(self.churn) or self.network.faulty

    def churn_kind(self, op: Leave | Crash) -> str:
        """The kind of one of this scenario's leaves or crashes: `leave`,
        `crash-leaver` (in mid-leave), `crash-joiner` (in mid-join) or `crash`."""
        if isinstance(op, Leave):
            return "leave"
        if op.during == "leave" and any(isinstance(o, Leave) and o.node == op.node for o in self.churn):
            return "crash-leaver"
        if op.during == "join" and any(j.node == op.node for j in self.joins):
            return "crash-joiner"
        return "crash"

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        """The kinds of churn and faults this scenario holds, in `FAULT_KINDS` order."""
        kinds = {self.churn_kind(op) for op in self.churn}
        net = self.network
        scripted = net.fates + tuple(f for _, f in net.fate_at) + tuple(f for *_, f in net.kind_fates)
        if net.loss or "lose" in scripted:
            kinds.add("loss")
        if net.duplicate or "duplicate" in scripted:
            kinds.add("duplicate")
        if net.partitions:
            kinds.add("partition")
        return tuple(k for k in FAULT_KINDS if k in kinds)

    @property
    def calm_at(self) -> float:
        """When churn and faults are over: the last join, leave or crash, the end
        of the last partition, and the end of loss and duplication."""
        times = [j.at for j in self.joins] + [op.at for op in self.churn] + [self.network.calm_at]
        return max(times)

    @property
    def settle_end(self) -> float | None:
        """The end of the settle window (None without the settle rule)."""
        return None if self.settle is None else self.calm_at + self.settle

    @property
    def nodes(self) -> tuple[int, ...]:
        """Every node of the run: initial members, then joiners in schedule order."""
        return self.ring + tuple(j.node for j in self.joins)
