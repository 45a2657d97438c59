"""The public strategies generate valid scenarios and shrink towards the simplest."""

from hypothesis import HealthCheck, find, given, settings

from dhtea import Constant, Scenario
from dhtea.strategies import initial_rings, join_schedules, latency_models, networks, scenarios, scripted_delays

FIND = settings(max_examples=500, database=None, deadline=None, suppress_health_check=list(HealthCheck))


def minimal(strategy, condition=lambda x: True):
    return find(strategy, condition, settings=FIND)


@given(scenarios())
def test_generated_scenarios_are_valid(scenario):
    assert isinstance(scenario, Scenario) and 1 <= len(scenario.joins) <= 4
    assert not set(scenario.ring) & {j.node for j in scenario.joins}
    assert all(j.bootstrap in scenario.ring for j in scenario.joins)


def test_scenarios_shrink_to_one_member_one_joiner():
    s = minimal(scenarios())
    assert s.ring == (0,) and [(j.node, j.at, j.bootstrap) for j in s.joins] == [(1, 0.0, 0)]
    assert s.network.latency == Constant(1) and s.network.delays == () and s.seed == 0


def test_scenarios_shrink_towards_fewer_joiners():
    s = minimal(scenarios(max_joiners=6), lambda s: len(s.joins) >= 3)
    assert len(s.joins) == 3 and len(s.ring) == 1


def test_rings_shrink_towards_small_ids():
    assert minimal(initial_rings(), lambda r: len(r) >= 3) == (0, 1, 2)


def test_join_schedules_shrink_to_time_zero_and_first_bootstrap():
    schedule = minimal(join_schedules((10, 20, 30)), lambda js: any(j.at > 0 for j in js))
    assert [(j.node, j.at, j.bootstrap) for j in schedule] == [(0, 1.0, 10)]


def test_latency_models_shrink_to_constant_one():
    assert minimal(latency_models()) == Constant(1)
    assert minimal(latency_models(), lambda m: m.kind == "pareto").scale == 1


def test_single_delays_shrink():
    assert minimal(scripted_delays(), lambda ds: any(d > 3 for d in ds)) == (4.0,)


@given(networks(fifo=True))
def test_networks_respect_the_fifo_option(net):
    assert net.fifo is True
