"""The public strategies generate valid scenarios and shrink towards the simplest."""

from hypothesis import HealthCheck, find, given, settings

from dhtea import Constant, Scenario
from dhtea.strategies import (initial_rings, join_schedules, latency_models, networks, scenarios, scripted_delays,
                              sparse_delays)

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
    assert s.network.latency == Constant(1) and s.network.delays == () and s.network.delay_at == () and s.seed == 0


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


def test_sparse_delays_shrink_to_none_then_to_one_late_message_with_delay_one():
    assert minimal(sparse_delays()) == ()
    late = minimal(sparse_delays(), lambda ds: any(n > 100 for n, _ in ds))
    assert [p for p in late if p[0] > 100] == [(101, 1.0)] and all(d == 1 for _, d in late)


def test_sparse_delays_reach_extremes():
    # The extreme delay shrinks to the edge of its range; any other kept to 1.
    for max_delay, wanted, edge in ((10, lambda d: d == 0, 0.0), (10, lambda d: d > 50, 51.0), (5, lambda d: d >= 50, 50.0)):
        found = minimal(sparse_delays(max_delay=max_delay), lambda ds: any(wanted(d) for _, d in ds))
        assert sorted(d for _, d in found if wanted(d)) == [edge] and all(d == 1 for _, d in found if not wanted(d))


@given(networks())
def test_generated_networks_script_single_messages_validly(net):
    indexes = [n for n, _ in net.delay_at]
    assert indexes == sorted(set(indexes)) and all(0 <= n <= 255 for n in indexes) and len(indexes) <= 4
    assert all(0 <= d <= 100 for _, d in net.delay_at)


@given(networks(fifo=True))
def test_networks_respect_the_fifo_option(net):
    assert net.fifo is True


# -- churn by joiners, late fault windows -----------------------------------

from dhtea import Join, JoinSchedule  # noqa: E402
from dhtea.core.scenario import Leave  # noqa: E402
from dhtea.strategies import churn_schedules, fault_plans, fault_times  # noqa: E402

JOINS = JoinSchedule([Join(7, 3, 0), Join(9, 0, 0)])


def test_a_joiner_may_leave_some_time_after_its_join_began():
    churn = minimal(churn_schedules((0, 4), JOINS), lambda c: any(op.node == 7 for op in c))
    assert Leave(7, 3.0) in churn  # at its join's start: it leaves as soon as it is a member


def test_leaves_shrink_towards_members_before_joiners():
    assert minimal(churn_schedules((0, 4), JOINS), lambda c: len(c) >= 1) == (Leave(4, 0.0),)


@given(churn_schedules((0, 2, 4), JOINS, faults=("leave", "crash-joiner", "crash-leaver", "crash")))
def test_generated_churn_makes_valid_scenarios(churn):
    Scenario(ring=(0, 2, 4), joins=JOINS, churn=churn)  # raises if the churn is impossible
    for op in churn:
        if isinstance(op, Leave) and op.node in (7, 9):
            assert op.at >= {7: 3, 9: 0}[op.node]


def test_fault_times_shrink_early_and_reach_late():
    assert minimal(fault_times(20)) == 0
    assert minimal(fault_times(20), lambda t: t > 20) in (30, 100)  # the least late time, or the least of a decade
    assert minimal(fault_times(20), lambda t: t > 5000) == 6000
    assert minimal(fault_times(20, decades=0), lambda t: t >= 20) == 20


def test_fault_windows_shrink_to_an_early_window():
    plan = minimal(fault_plans((0, 1), ("loss",)), lambda p: p.loss > 0)
    assert (plan.loss, plan.faults_from, plan.faults_until, plan.partitions) == (0.05, 0.0, 0.0, ())


def test_fault_windows_may_open_late():
    plan = minimal(fault_plans((0, 1), ("loss",)), lambda p: p.faults_from > 100)
    assert plan.faults_from in (200, 1000) and plan.faults_until == plan.faults_from
    # A window only matters with a fault in it: a rate, a first message's fate or a single message's.
    assert (plan.loss, plan.fates, plan.fate_at) in ((0.05, (), ()), (0.0, ("lose",), ()), (0.0, (), ((0, "lose"),)))
    part = minimal(fault_plans((0, 1), ("partition",)), lambda p: any(q.start > 100 for q in p.partitions))
    assert [(q.start, q.end - q.start) for q in part.partitions] in ([(200.0, 1.0)], [(1000.0, 1.0)])


@given(fault_plans((0, 1, 2), ("loss", "duplicate", "partition")))
def test_generated_fault_plans_make_valid_networks(plan):
    from dhtea import Network
    net = plan.apply(Network())
    assert net.faults_until is None or net.faults_from <= net.faults_until
    assert net.fate_at == plan.fate_at and (not plan.fate_at or net.faults_until is not None)


from dhtea.strategies import sparse_fates  # noqa: E402


def test_sparse_fates_shrink_to_none_then_to_one_early_loss():
    assert minimal(sparse_fates()) == ()
    assert minimal(sparse_fates(), bool) == ((0, "lose"),)
    assert minimal(sparse_fates(), lambda fs: any(f == "duplicate" for _, f in fs)) == ((0, "duplicate"),)
    assert minimal(sparse_fates(), lambda fs: any(k > 20 for k, _ in fs)) == ((21, "lose"),)
    assert minimal(sparse_fates(), lambda fs: len(fs) == 3) == ((0, "lose"), (1, "lose"), (2, "lose"))


@given(sparse_fates(("lose",), max_scripted=2, max_index=30))
def test_sparse_fates_keep_to_their_kinds_and_bounds(fates):
    indexes = [k for k, _ in fates]
    assert indexes == sorted(set(indexes)) and all(0 <= k <= 30 for k in indexes) and len(fates) <= 2
    assert all(f == "lose" for _, f in fates)


def test_sparse_fates_of_no_message_fault_script_nothing():
    assert minimal(sparse_fates(("deliver",))) == ()
    assert minimal(fault_plans((0, 1), ("partition",)), lambda p: True).fate_at == ()


def test_fault_plans_script_a_single_late_loss():
    plan = minimal(fault_plans((0, 1), ("loss",)), lambda p: p.faults_from > 100 and any(k > 8 for k, _ in p.fate_at))
    assert plan.fate_at == ((9, "lose"),) and (plan.loss, plan.fates) == (0.0, ())


@given(churn_schedules((0, 2, 4), JOINS, joiner_leaves=False))
def test_without_joiner_leaves_only_members_leave(churn):
    assert all(op.node in (2, 4) for op in churn if isinstance(op, Leave))
