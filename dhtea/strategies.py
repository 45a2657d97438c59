"""Hypothesis strategies for ring scenarios.

Each is a small function returning a strategy; they compose (`scenarios` is
built from the others). Every strategy shrinks towards the simplest case: small
node ids, small rings, few joiners who all start at time 0 through the first
member, constant latency, no scripted delays, seed 0.
"""

from __future__ import annotations

from typing import Iterable

from hypothesis import assume
from hypothesis import strategies as st

from dhtea.core.network import Bimodal, Constant, Exponential, LogNormal, Network, Pareto, Uniform
from dhtea.core.scenario import Join, JoinSchedule, Scenario


def node_ids(max_id: int = 63) -> st.SearchStrategy[int]:
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


def networks(
    latency: st.SearchStrategy | None = None, delays: st.SearchStrategy | None = None, fifo: bool = False
) -> st.SearchStrategy[Network]:
    """A network: a latency model plus scripted per-message delays; not FIFO
    unless `fifo`. Shrinks as its parts do."""
    return st.builds(
        Network,
        latency=latency if latency is not None else latency_models(),
        delays=delays if delays is not None else scripted_delays(),
        fifo=st.just(fifo),
    )


@st.composite
def _scenarios(draw: st.DrawFn, rings, plans, network, min_joiners: int) -> Scenario:
    ring = draw(rings)
    joins = _schedule(ring, draw(plans))
    assume(len(joins) >= min_joiners)  # a drawn joiner id was taken by a member
    return Scenario(ring=ring, joins=joins, network=draw(network), seed=draw(st.integers(0, 2**32 - 1)))


def scenarios(
    rings: st.SearchStrategy[tuple[int, ...]] | None = None,
    min_joiners: int = 1,
    max_joiners: int = 4,
    network: st.SearchStrategy[Network] | None = None,
    max_start: int = 5,
) -> st.SearchStrategy[Scenario]:
    """A whole scenario: an initial ring, joins into it, a network and a seed.
    Shrinks towards a one-member ring, one joiner at time 0, constant latency,
    no scripted delays, seed 0."""
    return _scenarios(
        rings if rings is not None else initial_rings(),
        _join_plans(min_joiners, max_joiners, node_ids(), max_start),
        network if network is not None else networks(),
        min_joiners,
    )
