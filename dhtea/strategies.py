"""Hypothesis strategies for ring scenarios.

Each is a small function returning a strategy; they compose (`scenarios` is
built from the others). Every strategy shrinks towards the simplest case: small
node ids, small rings, few joiners who all start at time 0 through the first
member, constant latency, no scripted delays, seed 0; and, with churn and
faults, towards fewer leaves and crashes at earlier times, no lost or
duplicated message and no partition.

Churn never touches a join's bootstrap nor the first member of the ring: a
join through a node that has gone cannot be expected to finish, and a ring
whose members all leave has nobody left to check. A joiner may leave too,
once it is a member (a join followed by a leave).
"""

from __future__ import annotations

from typing import Iterable

from hypothesis import assume
from hypothesis import strategies as st

import attrs

from dhtea.core.network import FATES, Bimodal, Constant, Exponential, LogNormal, Network, Partition, Pareto, Uniform
from dhtea.core.scenario import FAULT_KINDS, Crash, Join, JoinSchedule, Leave, Scenario

#: The settle window of generated scenarios with churn or faults: long enough
#: for leases and retransmissions to finish what the faults interrupted.
SETTLE = 50_000.0


#: The largest node id the strategies draw by default: a hunt's rings and joiners
#: are at most `MAX_ID + 1` distinct nodes.
MAX_ID = 63


def node_ids(max_id: int = MAX_ID) -> st.SearchStrategy[int]:
    """Node ids from 0 to `max_id`; shrinks towards 0."""
    return st.integers(min_value=0, max_value=max_id)


def initial_rings(min_size: int = 1, max_size: int = 5, ids: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[tuple[int, ...]]:
    """The members of the initial ring: distinct ids, sorted. Shrinks towards
    fewer members (down to `min_size`) with smaller ids."""
    return st.lists(ids or node_ids(), min_size=min_size, max_size=max_size, unique=True).map(
        lambda members: tuple(sorted(members))
    )


def join_schedules(
    ring: tuple[int, ...],
    min_joiners: int = 1,
    max_joiners: int = 4,
    ids: st.SearchStrategy[int] | None = None,
    max_start: int = 5,
) -> st.SearchStrategy[JoinSchedule]:
    """Joins into `ring`: distinct joiner ids not in the ring, each with a start
    time from 0 to `max_start` and a bootstrap member. Shrinks towards fewer
    joiners, smaller ids, start time 0 and the ring's first member as bootstrap."""
    return _join_plans(min_joiners, max_joiners, ids or node_ids(), max_start).map(lambda plan: _schedule(ring, plan))


def _join_plans(min_joiners: int, max_joiners: int, ids: st.SearchStrategy[int], max_start: int) -> st.SearchStrategy:
    # The plan does not depend on the ring (bootstraps are indexes into it), so
    # one strategy object serves every ring and is validated once.
    step = st.tuples(ids, st.integers(min_value=0, max_value=max_start), st.integers(min_value=0, max_value=63))
    return st.lists(step, min_size=min_joiners, max_size=max_joiners, unique_by=lambda p: p[0])


def _schedule(ring: tuple[int, ...], plan: list[tuple[int, int, int]]) -> JoinSchedule:
    members = set(ring)
    joins = [Join(node, at, ring[b % len(ring)]) for node, at, b in plan if node not in members]
    return JoinSchedule(joins)


def latency_models(max_latency: int = 10, kinds: Iterable[str] | None = None) -> st.SearchStrategy:
    """One of the latency models, with small parameters. Shrinks towards
    `Constant(1)`, then through uniform, exponential, log-normal, Pareto and
    bimodal (in that order of simplicity). `kinds` keeps only those models
    (by `kind` name: constant, uniform, ...)."""
    small = st.integers(min_value=1, max_value=max_latency)
    models = {
        "constant": st.builds(Constant, small),
        "uniform": st.builds(lambda lo, span: Uniform(lo, lo + span), small, st.integers(0, max_latency)),
        "exponential": st.builds(Exponential, small),
        "lognormal": st.builds(LogNormal, small, st.sampled_from([0.5, 1.0, 1.5])),
        "pareto": st.builds(Pareto, small, st.sampled_from([1.5, 2.0, 3.0])),
        "bimodal": st.builds(Bimodal, small, small.map(lambda d: d * 10), st.sampled_from([0.1, 0.25, 0.5])),
    }
    if kinds is not None:
        wanted = set(kinds)
        if not wanted or not wanted <= set(models):
            raise ValueError(f"latency model kinds are some of {', '.join(models)}, got {sorted(wanted)}")
        models = {k: v for k, v in models.items() if k in wanted}
    return st.one_of(*models.values())


def scripted_delays(max_messages: int = 12, max_delay: int = 10) -> st.SearchStrategy[tuple[float, ...]]:
    """Delays for the first messages sent, one each, overriding the latency model.
    This is what lets a single message's delay shrink. Shrinks towards no
    scripted delay at all, then towards delays of 1."""
    return st.lists(st.integers(min_value=1, max_value=max_delay), max_size=max_messages).map(
        lambda ds: tuple(float(d) for d in ds)
    )


def sparse_delays(max_scripted: int = 4, max_index: int = 255, max_delay: int = 10) -> st.SearchStrategy[tuple]:
    """Delays of single messages anywhere in a run (`Network.delay_at`): none
    half the time, else up to `max_scripted` pairs (n, d), the n-th message
    sent taking d. Half the
    indexes fall among the first 16 messages, half anywhere up to `max_index`,
    so a race between two late messages is as reachable as one between early
    ones. A delay is ordinary (1 to `max_delay`) or extreme: 0 (it overtakes
    everything in flight) or up to 10 times `max_delay` (everything overtakes
    it). Shrinks towards none, then fewer, earlier messages, delay 1."""
    index = st.one_of(st.integers(0, 15), st.integers(0, max_index))
    # Which kind of delay is drawn first, so shrinking goes to an ordinary one, then to 1.
    delay = st.tuples(st.integers(0, 2), st.integers(1, max_delay), st.integers(max_delay, 10 * max_delay)).map(
        lambda t: (t[1], 0, t[2])[t[0]]
    )
    pairs = st.lists(st.tuples(index, delay), max_size=max_scripted, unique_by=lambda p: p[0])
    # Half the networks script none: the others' races stay as likely as without.
    return st.tuples(st.booleans(), pairs).map(
        lambda t: tuple(sorted((n, float(d)) for n, d in t[1])) if t[0] else ()
    )


def networks(
    latency: st.SearchStrategy | None = None, delays: st.SearchStrategy | None = None, fifo: bool = False,
    delay_at: st.SearchStrategy | None = None,
) -> st.SearchStrategy[Network]:
    """A network: a latency model, scripted delays of the first messages and
    sparse ones of later messages (`sparse_delays`); not FIFO unless `fifo`.
    Shrinks as its parts do."""
    return st.builds(
        Network,
        latency=latency if latency is not None else latency_models(),
        delays=delays if delays is not None else scripted_delays(),
        fifo=st.just(fifo),
        delay_at=delay_at if delay_at is not None else sparse_delays(),
    )


def _check_faults(faults: Iterable[str]) -> tuple[str, ...]:
    faults = tuple(f for f in FAULT_KINDS if f in set(faults))  # fixed order: the first kinds are the simplest
    return faults


def check_fault_names(faults: Iterable[str]) -> tuple[str, ...]:
    """The fault kinds named, in `FAULT_KINDS` order; ValueError names an unknown one."""
    faults = tuple(faults)
    unknown = [f for f in faults if f not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}: use {', '.join(FAULT_KINDS)}")
    return _check_faults(faults)


_CHURN_KINDS = ("leave", "crash-joiner", "crash-leaver", "crash")


def _churn_plans(kinds: tuple[str, ...], max_ops: int, max_time: int) -> st.SearchStrategy:
    step = st.tuples(
        st.sampled_from(kinds),
        st.integers(min_value=0, max_value=63),  # which node, as an index
        st.integers(min_value=0, max_value=max_time),  # when (a crash of a joiner or leaver: how long after it began)
    )
    return st.lists(step, max_size=max_ops)


def _churn(ring: tuple[int, ...], joins: JoinSchedule, plan: list[tuple[str, int, int]], joiner_leaves: bool = True) -> tuple:
    protected = {ring[0]} | {j.bootstrap for j in joins}
    members = [n for n in ring if n not in protected]
    joiners = list(joins)
    taken: set[int] = set()
    leaves: list[Leave] = []
    crashes: list[Crash] = []
    for kind, who, at in plan:
        if kind == "leave":  # by a member, or by a joiner some time after its join began
            free = [(n, 0.0) for n in members if n not in taken]
            free += [(j.node, j.at) for j in joiners if j.node not in taken and joiner_leaves]
            if free:
                node, start = free[who % len(free)]
                leaves.append(Leave(node, start + at))
                taken.add(node)
        elif kind == "crash-joiner":
            free = [j for j in joiners if j.node not in taken]
            if free:
                join = free[who % len(free)]
                crashes.append(Crash(join.node, join.at + at, during="join"))
                taken.add(join.node)
        elif kind == "crash-leaver":
            free = [op for op in leaves if op.node not in {c.node for c in crashes}]
            if free:
                op = free[who % len(free)]
                crashes.append(Crash(op.node, op.at + at, during="leave"))
        else:
            free = [n for n in members + [j.node for j in joiners] if n not in taken]
            if free:
                node = free[who % len(free)]
                crashes.append(Crash(node, at))
                taken.add(node)
    return tuple(leaves) + tuple(crashes)


def churn_schedules(
    ring: tuple[int, ...], joins: JoinSchedule = JoinSchedule(), faults: Iterable[str] = ("leave",), max_ops: int = 3,
    max_time: int = 5, joiner_leaves: bool = True,
) -> st.SearchStrategy[tuple]:
    """Leaves and crashes for a ring and its joins, of the kinds in `faults`
    (`leave`, `crash-joiner`, `crash-leaver`, `crash`). A leave is by a member
    or by a joiner, some time after its join began (if the joiner is not a
    member by then, it leaves as soon as it is one: see `Leave`); a joiner or
    leaver crashes some time after its operation began, if that operation is
    still under way then (`Crash.during`); `crash` stops any node that neither
    leaves nor is a bootstrap. Shrinks towards no churn, then fewer
    operations, leaves before crashes, leaves by members before leaves by
    joiners, earlier times. `joiner_leaves=False`: leaves by members only."""
    kinds = tuple(k for k in _check_faults(faults) if k in _CHURN_KINDS)
    if not kinds:
        return st.just(())
    return _churn_plans(kinds, max_ops, max_time).map(lambda plan: _churn(ring, joins, plan, joiner_leaves))


@attrs.frozen
class FaultPlan:
    """Network faults to put on a `Network` (see `Network` for what each means)."""

    loss: float = 0.0
    duplicate: float = 0.0
    fates: tuple[str, ...] = ()
    partitions: tuple[Partition, ...] = ()
    faults_until: float | None = None
    faults_from: float = 0.0
    fate_at: tuple[tuple[int, str], ...] = ()
    kind_fates: tuple[tuple[str, int, str], ...] = ()

    def apply(self, network: Network) -> Network:
        return attrs.evolve(network, loss=self.loss, duplicate=self.duplicate, fates=self.fates,
                            partitions=self.partitions, faults_until=self.faults_until, faults_from=self.faults_from,
                            fate_at=self.fate_at, kind_fates=self.kind_fates)


_RATES = (0.05, 0.1, 0.2, 0.3)

#: How late a fault window may open or how long it may last: up to 9 times
#: 10**LATE_DECADES time units (a protocol's retries and leases may act that late).
LATE_DECADES = 3


def _late_times(decades: int) -> st.SearchStrategy[int]:
    """m * 10**e, 1 <= m <= 9, 1 <= e <= `decades`; the decade is drawn first, so it shrinks first."""
    return st.builds(lambda e, m: m * 10**e, st.integers(1, decades), st.integers(1, 9))


def fault_times(max_time: int = 20, decades: int = LATE_DECADES) -> st.SearchStrategy[int]:
    """A time for a fault window to open, or a length for it: from 0 to
    `max_time` (while joins are under way), or on a log scale far later
    (m * 10**e, 1 <= m <= 9, 1 <= e <= `decades`: where only late messages,
    retries and lease repairs are hit), one time in three. Shrinks towards
    the early range, then 0."""
    early = st.integers(0, max_time)
    if decades < 1:
        return early
    late = _late_times(decades)
    # One time in three is late: most faults still meet the joins. The choice
    # is drawn first, so shrinking moves a late time to an early one.
    return st.tuples(st.integers(0, 2), early, late).map(lambda t: t[2] if t[0] == 2 else t[1])


def sparse_fates(kinds: Iterable[str] = ("lose", "duplicate"), max_scripted: int = 3,
                 max_index: int = 63) -> st.SearchStrategy[tuple]:
    """Fates of single messages sent while the fault window is open
    (`Network.fate_at`): none half the time, else up to `max_scripted` pairs
    (k, fate), the k-th message sent in the window having that fate (a fate
    of `kinds`: "lose", "duplicate"). Half the indexes fall among the first 8
    messages of the window, half anywhere up to `max_index`, so with a window
    that opens late the one lost message can be a late ack or retry. Shrinks
    towards none, then fewer, earlier messages, the first kind."""
    wanted = tuple(kinds)
    kinds = [k for k in FATES if k in wanted and k != "deliver"]
    if not kinds:
        return st.just(())
    index = st.one_of(st.integers(0, 7), st.integers(0, max_index))
    pairs = st.lists(st.tuples(index, st.sampled_from(kinds)), min_size=1, max_size=max_scripted,
                     unique_by=lambda p: p[0])
    return _half_none(pairs)


def _half_none(scripts: st.SearchStrategy[list]) -> st.SearchStrategy[tuple]:
    """Nothing half the time, else the scripts drawn, sorted: the other draws
    stay as likely as without them. The choice is drawn first, so it shrinks to nothing."""
    return st.tuples(st.booleans(), scripts).map(lambda t: tuple(sorted(t[1])) if t[0] else ())


def _kind_index(max_index: int) -> st.SearchStrategy[int]:
    # A third the first of its kind (the first reply, the first repair), a
    # third among the first 4, a third up to `max_index` (a retry many periods on).
    return st.one_of(st.just(0), st.integers(0, 3), st.integers(0, max_index))


def kind_fates(kinds: Iterable[str], fates: Iterable[str] = ("lose", "duplicate"), max_scripted: int = 3,
               max_index: int = 15) -> st.SearchStrategy[tuple]:
    """Fates of single messages named by kind (`Network.kind_fates`): none
    half the time, else up to `max_scripted` triples (kind, k, fate), the
    k-th message of that kind sent in the run losing or doubling (a fate of
    `fates`). `kinds` are the message kinds a protocol sends (its `kinds`);
    without any, none is drawn. The fault lands wherever that message is
    sent, however late a protocol's timers put it, which a fault window drawn
    in time rarely meets. A third of the indexes are 0, a third 0 to 3, a
    third up to `max_index`. Shrinks towards none, then fewer, the first kind, index 0,
    the first fate."""
    names = tuple(dict.fromkeys(kinds))
    wanted = tuple(fates)
    fate_kinds = [f for f in FATES if f in wanted and f != "deliver"]
    if not names or not fate_kinds:
        return st.just(())
    triples = st.lists(st.tuples(st.sampled_from(names), _kind_index(max_index), st.sampled_from(fate_kinds)),
                       min_size=1, max_size=max_scripted, unique_by=lambda t: t[:2])
    return _half_none(triples)


def kind_delays(kinds: Iterable[str], max_scripted: int = 3, max_index: int = 15, max_delay: int = 10,
                decades: int = LATE_DECADES) -> st.SearchStrategy[tuple]:
    """Delays of single messages named by kind (`Network.kind_delays`): none
    half the time, else up to `max_scripted` triples (kind, k, d), the k-th
    message of that kind sent in the run taking d. A delay is ordinary (0 to
    `max_delay`) or long (m * 10**e, 1 <= e <= `decades`): a message held
    back past the protocol's retries and leases, arriving stale after what
    was sent later. Without `kinds`, none is drawn. Indexes are drawn as for
    `kind_fates`. Shrinks towards none, then fewer, the first
    kind, index 0, an ordinary delay of 0."""
    names = tuple(dict.fromkeys(kinds))
    if not names:
        return st.just(())
    delay = st.tuples(st.booleans(), st.integers(0, max_delay), _late_times(max(decades, 1))).map(
        lambda t: float(t[2] if t[0] else t[1])
    )
    triples = st.lists(st.tuples(st.sampled_from(names), _kind_index(max_index), delay),
                       min_size=1, max_size=max_scripted, unique_by=lambda t: t[:2])
    return _half_none(triples)


def _partition(nodes: tuple[int, ...], start: int, length: int, mask: list[bool]) -> Partition | None:
    side_a = [n for n, m in zip(nodes, mask) if m]
    side_b = [n for n, m in zip(nodes, mask) if not m]
    if not side_a or not side_b:
        return None
    return Partition(start, start + length, side_a, side_b)


def fault_plans(
    nodes: tuple[int, ...], faults: Iterable[str] = ("loss", "duplicate", "partition"), max_time: int = 20,
    max_fates: int = 12, decades: int = LATE_DECADES, message_kinds: Iterable[str] = (),
) -> st.SearchStrategy[FaultPlan]:
    """Message faults among `nodes`, of the kinds in `faults` (`loss`,
    `duplicate`, `partition`): loss and duplication rates, scripted fates of the
    first messages and of single messages in the window (`sparse_fates`), of
    single messages named by kind, anywhere in the run (`kind_fates`, for the
    `message_kinds` given: a protocol's `kinds`), up
    to two partitions that heal, and the window of time in
    which loss and duplication act (`faults_from` to `faults_until`, at most
    `max_time` long). Windows and partitions open early (at 0, or up to
    `max_time` / 2) or late (`fault_times`), so a late ack or a retry is hit too. Shrinks towards no fault at all: rates 0,
    every fate "deliver", no partition, early and short windows."""
    kinds = set(_check_faults(faults))
    nodes = tuple(sorted(nodes))
    none = st.just(0.0)
    rate = st.one_of(none, st.sampled_from(_RATES))
    fate_kinds = [f for f in FATES if f == "deliver" or (f == "lose" and "loss" in kinds) or (f == "duplicate" and "duplicate" in kinds)]
    window = st.tuples(
        fault_times(max_time // 2, decades), st.integers(1, max_time // 2),
        st.lists(st.booleans(), min_size=len(nodes), max_size=len(nodes)),
    )
    return st.builds(
        _plan,
        loss=rate if "loss" in kinds else none,
        duplicate=rate if "duplicate" in kinds else none,
        fates=st.lists(st.sampled_from(fate_kinds), max_size=max_fates if len(fate_kinds) > 1 else 0),
        fate_at=sparse_fates(fate_kinds),
        kind_fates=kind_fates(message_kinds, fate_kinds),
        windows=st.lists(window, max_size=2 if "partition" in kinds and len(nodes) > 1 else 0),
        span=st.tuples(fault_times(0, decades), st.integers(0, max_time)),
        nodes=st.just(nodes),
    )


def _plan(loss, duplicate, fates, windows, span, nodes, fate_at=(), kind_fates=()) -> FaultPlan:
    partitions = tuple(p for p in (_partition(nodes, *w) for w in windows) if p is not None)
    fates = tuple(fates)
    while fates and fates[-1] == "deliver":
        fates = fates[:-1]
    probabilistic = bool(loss or duplicate or fates or fate_at)
    start, length = span
    if not probabilistic:  # fates by kind have no window: they fall wherever their message is sent
        return FaultPlan(loss, duplicate, fates, partitions, None, kind_fates=tuple(kind_fates))
    return FaultPlan(loss, duplicate, fates, partitions, float(start + length), float(start), tuple(fate_at),
                     tuple(kind_fates))


@st.composite
def _scenarios(draw: st.DrawFn, rings, plans, network, min_joiners: int, faults: tuple[str, ...], max_ops: int,
               joiner_leaves: bool = True, message_kinds: tuple[str, ...] = ()) -> Scenario:
    ring = draw(rings)
    joins = _schedule(ring, draw(plans))
    assume(len(joins) >= min_joiners)  # a drawn joiner id was taken by a member
    net = draw(network)
    seed = draw(st.integers(0, 2**32 - 1))
    if not faults:  # exactly the draws of a scenario without churn or faults
        return Scenario(ring=ring, joins=joins, network=net, seed=seed)
    churn = draw(churn_schedules(ring, joins, faults, max_ops, joiner_leaves=joiner_leaves))
    nodes = ring + tuple(j.node for j in joins)
    plan = draw(fault_plans(nodes, faults, message_kinds=message_kinds))
    # With churn and faults, runs are long (retries, leases): a message named by
    # kind may be held back too, whenever the protocol sends it.
    net = attrs.evolve(net, kind_delays=draw(kind_delays(message_kinds)))
    scenario = Scenario(ring=ring, joins=joins, network=plan.apply(net), seed=seed, churn=churn)
    return attrs.evolve(scenario, settle=SETTLE) if scenario.faulty else scenario


def scenarios(
    rings: st.SearchStrategy[tuple[int, ...]] | None = None,
    min_joiners: int = 1,
    max_joiners: int = 4,
    network: st.SearchStrategy[Network] | None = None,
    max_start: int = 5,
    faults: Iterable[str] = (),
    max_ops: int = 3,
    joiner_leaves: bool = True,
    message_kinds: Iterable[str] = (),
) -> st.SearchStrategy[Scenario]:
    """A whole scenario: an initial ring, joins into it, a network and a seed;
    with `faults` (kinds from `FAULT_KINDS`, e.g. a protocol's `tolerates`),
    also up to `max_ops` leaves and crashes (`churn_schedules`), message faults
    (`fault_plans`) and the settle window `SETTLE` (`joiner_leaves=False`:
    only members of the initial ring leave). Shrinks towards a one-member
    ring, one joiner at time 0, no churn, no fault, constant latency, no
    scripted delays, seed 0. Without `faults` it draws no churn or fault at
    all. `message_kinds`, the kinds of message the protocol sends, let faults and delays
    name single messages by kind (`kind_fates`, `kind_delays`), drawn only
    with `faults`."""
    return _scenarios(
        rings if rings is not None else initial_rings(),
        _join_plans(min_joiners, max_joiners, node_ids(), max_start),
        network if network is not None else networks(),
        min_joiners,
        check_fault_names(faults),
        max_ops,
        joiner_leaves,
        tuple(message_kinds),
    )


def scenarios_for(protocol: type, faults: Iterable[str] | None = None, **options) -> st.SearchStrategy[Scenario]:
    """Scenarios for a protocol class: with the churn and faults it claims to
    tolerate (its `tolerates`), or those in `faults`. With leaves or crashes a
    scenario may have no joiner at all (two leaves can be a bug by themselves).
    Faults and delays by message kind use the protocol's `kinds`. Other
    options go to `scenarios`."""
    kinds = tuple(getattr(protocol, "tolerates", ())) if faults is None else tuple(faults)
    if any(k in kinds for k in _CHURN_KINDS):
        options.setdefault("min_joiners", 0)
    options.setdefault("message_kinds", tuple(getattr(protocol, "kinds", ())))
    return scenarios(faults=kinds, **options)
