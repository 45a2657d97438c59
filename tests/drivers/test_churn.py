"""Churn and faults in the simulator: leaves, crashes, lost, duplicated and
partitioned messages, and the settle rule."""

from pathlib import Path

import pytest

from dhtea import Join, JoinSchedule, Network, RingNode, Scenario, replay, simulate
from dhtea.core.network import Partition, Uniform
from dhtea.core.scenario import Crash, Leave
from dhtea.traces.serial import read_trace, result_to_dict, trace_text

ROOT = Path(__file__).resolve().parents[2]


class Echo(RingNode):
    """Every delivery of PING is counted; a node answers nothing."""

    name = "echo"

    def __init__(self, node_id):
        super().__init__(node_id)
        self.pings = 0

    def on_join(self, ctx, bootstrap):
        ctx.send(bootstrap, "PING")
        ctx.send(bootstrap, "PING")

    def on_ping(self, ctx, msg):
        self.pings += 1


def sends(result):
    return [e for e in result.events if e.kind == "send"]


def test_two_neighbours_leaving_together_in_classic_leave_pointers_at_departed_nodes():
    result = simulate("classic", Scenario(ring=(1, 2, 3, 4), churn=[Leave(2, 0), Leave(3, 0)]))
    assert [e.kind for e in result.events[:3]] == ["leave", "send", "send"]
    assert result.signature == "departed-unlinked"
    first = result.violations[0]
    assert "which has left" in first.message and "leave of 2 at t=0; leave of 3 at t=0" in first.message
    gone = {v.id: v.gone for v in result.final}
    assert gone == {1: None, 2: "left", 3: "left", 4: None}
    assert any(e.kind == "drop" for e in result.events)  # 3 told 2, which had stopped


def test_a_lone_leave_in_classic_keeps_the_ring():
    result = simulate("classic", Scenario(ring=(1, 2, 3), churn=[Leave(2, 0)]))
    assert result.ok and result.status == "rest"
    final = {v.id: v for v in result.final}
    assert (final[1].right, final[3].left) == (3, 1)


def test_a_crashed_node_handles_nothing_and_its_view_is_frozen():
    scenario = Scenario(ring=(1, 3), joins=JoinSchedule([Join(2, 0, 1)]), churn=[Crash(3, 0.5)])
    result = simulate("gapowner", scenario)
    crash = next(e for e in result.events if e.kind == "crash")
    assert crash.node == 3 and crash.changes == (("gone", None, "crashed"),)
    drops = [e for e in result.events if e.kind == "drop"]
    assert drops and all(e.node == 3 for e in drops)
    assert not any(e.kind == "deliver" and e.node == 3 for e in result.events)
    assert {v.id: v for v in result.final}[3].left == 1  # frozen as it was
    assert "crash of 3 at t=0.5" in result.violations[0].message


def test_a_crashed_joiner_is_not_expected_to_join():
    scenario = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 1, 1)]), churn=[Crash(2, 0)])
    result = simulate("gapowner", scenario)
    assert result.ok and [e.kind for e in result.events] == ["crash"]


def test_scripted_fates_lose_and_duplicate_single_messages():
    scenario = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), network=Network(fates=["lose", "duplicate"]))
    result = simulate(Echo, scenario)
    first, second = sends(result)
    assert (first.fault, first.arrive) == ("lost", None)
    assert second.fault == "duplicated" and second.again is not None
    assert sum(1 for e in result.events if e.kind == "deliver") == 2  # the duplicate, twice


def test_a_partition_cuts_messages_across_it_until_it_heals():
    net = Network(partitions=[Partition(0, 0.5, [2], [1])])
    scenario = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1), Join(3, 1, 1)]), network=net)
    result = simulate(Echo, scenario)
    faults = [(e.node, e.fault) for e in sends(result)]
    assert faults == [(2, "partitioned"), (2, "partitioned"), (3, None), (3, None)]


def test_loss_probability_is_seeded_and_leaves_latencies_alone():
    joins = JoinSchedule([Join(n, 0, 1) for n in range(2, 12)])
    lossy = Scenario(ring=(1,), joins=joins, network=Network(loss=0.5, duplicate=0.2), seed=7)
    a, b = simulate(Echo, lossy), simulate(Echo, lossy)
    assert trace_text(a) == trace_text(b)
    kinds = {e.fault for e in sends(a)}
    assert {"lost", "duplicated", None} <= kinds
    clean = simulate(Echo, Scenario(ring=(1,), joins=joins, seed=7))
    delivered = [e.arrive for e in sends(a) if e.fault is None]
    assert set(delivered) <= {e.arrive for e in sends(clean)}


def test_faults_stop_at_faults_until():
    joins = JoinSchedule([Join(2, 0, 1), Join(3, 5, 1)])
    result = simulate(Echo, Scenario(ring=(1,), joins=joins, network=Network(loss=1.0, faults_until=1)))
    assert [e.fault for e in sends(result)] == ["lost", "lost", None, None]


def test_faults_start_at_faults_from():
    joins = JoinSchedule([Join(2, 0, 1), Join(3, 5, 1), Join(4, 9, 1)])
    result = simulate(Echo, Scenario(ring=(1,), joins=joins, network=Network(loss=1.0, faults_from=5, faults_until=9)))
    assert [e.fault for e in sends(result)] == [None, None, "lost", "lost", None, None]
    assert result.scenario.calm_at == 9


def test_a_sparse_scripted_delay_reaches_a_late_message_and_leaves_the_others():
    joins = JoinSchedule([Join(2, 0, 1), Join(3, 5, 1), Join(4, 9, 1)])
    plain = simulate(Echo, Scenario(ring=(1,), joins=joins))
    late = simulate(Echo, Scenario(ring=(1,), joins=joins, network=Network(delays=(2,), delay_at=[(0, 7), (4, 3.5)])))
    delays = [e.arrive - e.time for e in sends(late)]
    assert delays == [2, 1, 1, 1, 3.5, 1]  # `delays` wins over `delay_at` for message 0
    assert [d for d in (e.arrive - e.time for e in sends(plain))] == [1] * 6


def test_a_sparse_scripted_fate_counts_the_messages_sent_inside_the_window():
    joins = JoinSchedule([Join(2, 0, 1), Join(3, 5, 1), Join(4, 9, 1)])
    net = Network(faults_from=5, faults_until=10, fate_at=[(1, "lose"), (2, "duplicate"), (7, "lose")])
    result = simulate(Echo, Scenario(ring=(1,), joins=joins, network=net))
    # Messages 2-5 are sent inside the window: its 2nd is lost, its 3rd doubled, it has no 8th.
    assert [e.fault for e in sends(result)] == [None, None, None, "lost", "duplicated", None]
    assert result.final[0].id == 1 and result.scenario.network.faulty and result.scenario.calm_at == 10
    assert result.scenario.fault_kinds == ("loss", "duplicate")


def test_a_first_messages_fate_wins_over_a_sparse_one_and_a_copy_takes_its_own_latency():
    joins = JoinSchedule([Join(2, 0, 1)])
    net = Network(Uniform(1, 10), fates=("duplicate",), fate_at=[(0, "lose"), (1, "duplicate")])
    events = sends(simulate(Echo, Scenario(ring=(1,), joins=joins, network=net)))
    assert [e.fault for e in events] == ["duplicated", "duplicated"]
    assert all(e.again != e.arrive for e in events)
    assert not Network(fate_at=[(3, "deliver")]).faulty


def test_a_fault_free_network_gives_the_trace_it_always_gave():
    scenario = Scenario(ring=(1, 49, 50), joins=JoinSchedule([Join(60, 0, 1), Join(2, 0, 50)]))
    quiet = Scenario(ring=scenario.ring, joins=scenario.joins, network=Network(loss=0.0, fates=["deliver"]))
    assert not quiet.network.faulty
    assert simulate("gapowner", scenario).events == simulate("gapowner", quiet).events


class Ticker(RingNode):
    """A member that keeps a timer running; `flip` makes every tick change its view."""

    name = "ticker"
    flip = False

    def on_join(self, ctx, bootstrap):
        raise AssertionError("no joins here")

    def on_leave(self, ctx):
        self.leaving = True
        ctx.set_timer("tick", 1)

    def on_timer(self, ctx, name):
        if self.flip:
            self.busy = not self.busy
        ctx.set_timer("tick", 1)


class Flipper(Ticker):
    flip = True


def test_the_settle_rule_passes_a_run_whose_timers_change_nothing():
    result = simulate(Ticker, Scenario(ring=(1, 2), churn=[Leave(1, 0)], settle=10))
    # node 1 set a timer and never stops: a leave that never finishes
    assert result.status == "settled" and result.end_time == 10
    assert result.signature == "leaves-complete"


def test_the_settle_rule_calls_a_run_still_changing_a_progress_violation():
    result = simulate(Flipper, Scenario(ring=(1, 2), churn=[Leave(1, 0)], settle=10))
    assert result.signature == "progress" and result.status == "violation"
    assert "still changing at the end of its settle window (t=10)" in result.violations[0].message
    assert result.violations[0].nodes == (1,)


def test_a_timer_free_run_with_a_settle_window_ends_at_rest():
    result = simulate("classic", Scenario(ring=(1, 2, 3), churn=[Leave(2, 3)], settle=50))
    assert result.status == "rest" and result.end_time == 4 and result.ok


def test_churn_and_faults_survive_a_trace_file(tmp_path):
    net = Network(loss=0.1, duplicate=0.1, fates=["duplicate"], faults_until=4,
                  partitions=[Partition(0, 2, [1, 2], [3])])
    scenario = Scenario(ring=(1, 3, 5), joins=JoinSchedule([Join(2, 0, 1)]), network=net,
                        churn=[Leave(5, 1), Crash(2, 3)], settle=20, seed=3)
    result = simulate("gapowner", scenario)
    path = tmp_path / "churn.trace.json"
    path.write_text(trace_text(result))
    trace = read_trace(path)
    assert trace.scenario == scenario
    outcome = replay(trace)
    assert outcome.identical, outcome.verdict


def test_every_committed_trace_replays_exactly():
    paths = sorted(ROOT.glob("tests/counterexamples/*.trace.json")) + sorted(ROOT.glob("reports/*/*.trace.json"))
    assert len(paths) >= 6
    for path in paths:
        outcome = replay(path)
        assert outcome.identical, f"{path}: {outcome.verdict}"
        old, new = read_trace(path).data, result_to_dict(outcome.result)
        for key in ("scenario", "status", "end_time", "violations", "final", "events"):
            assert old[key] == new[key], f"{path}: {key} differs"


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Scenario(ring=(1, 2), churn=[Leave(3, 0)]), "not a node of the run"),
        (lambda: Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), churn=[Leave(2, 1), Crash(2, 3)]),
         "both leaves and crashes"),
        (lambda: Network(loss=0.1, faults_from=5, faults_until=4), "opens after it closes"),
        (lambda: Network(loss=0.1, faults_from=-1), "faults_from"),
        (lambda: Network(delay_at=[(3, 1), (3, 2)]), "more than once"),
        (lambda: Network(delay_at=[(-1, 1)]), "message index"),
        (lambda: Network(delay_at=[(2, -1)]), "finite number >= 0"),
        (lambda: Network(fate_at=[(3, "lose"), (3, "duplicate")]), "more than once"),
        (lambda: Network(fate_at=[(-2, "lose")]), "message index"),
        (lambda: Network(fate_at=[(2, "vanish")]), "message fate"),
        (lambda: Scenario(ring=(1, 2), churn=[Leave(1, 0), Crash(1, 2)]), "both leaves and crashes"),
        (lambda: Scenario(ring=(1, 2), churn=[Crash(1, 0), Crash(1, 2)]), "more than once"),
        (lambda: Scenario(ring=(1, 2), churn=[Crash(1, 0, during="leave")]), "never leaves"),
        (lambda: Scenario(ring=(1, 2), churn=[Crash(1, -1)]), "finite number >= 0"),
        (lambda: Scenario(ring=(1, 2), settle=0), "settle window"),
        (lambda: Network(loss=0.7, duplicate=0.5), "at most 1"),
        (lambda: Network(loss=2), "probability"),
        (lambda: Network(fates=["maybe"]), "fate"),
        (lambda: Partition(2, 1, [1], [2]), "ends after it starts"),
        (lambda: Partition(0, 1, [1], [1, 2]), "both sides"),
        (lambda: Scenario(ring=(1,), network=Network(partitions=[Partition(0, 1, [1], [9])])), "not a node of the run"),
    ],
)
def test_impossible_churn_and_faults_are_refused(make, words):
    with pytest.raises((TypeError, ValueError), match=words):
        make()


def test_sequence_diagrams_name_leaves_crashes_and_lost_or_duplicated_messages():
    from dhtea.show.sequence import sequence_diagram

    scenario = Scenario(ring=(1, 3, 5), joins=JoinSchedule([Join(2, 0, 1)]), churn=[Leave(3, 0), Crash(5, 2)],
                        network=Network(fates=["lose", "duplicate"]))
    result = simulate("classic", scenario)
    svg = sequence_diagram(scenario, result.events, result.violations)
    assert "3 LEAVES" in svg and "5 CRASHES" in svg and "LOST" in svg and "DUPLICATED" in svg
