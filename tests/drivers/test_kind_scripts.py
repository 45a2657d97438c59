"""Delays and fates of single messages named by kind (`Network.kind_delays`,
`Network.kind_fates`): the k-th message of a kind, wherever the run sends it."""

import json

import attrs
import pytest
from hypothesis import find, given, settings

from dhtea import Join, JoinSchedule, Network, RingNode, Scenario, replay, simulate
from dhtea.cli.main import main
from dhtea.core.network import Partition
from dhtea.core.scenario import Crash
from dhtea.search.coverage import Coverage, expected_values
from dhtea.search.hunting import without_faults, without_kind
from dhtea.show.explain import setup
from dhtea.show.timeline import describe_churn
from dhtea.strategies import kind_delays, kind_fates, scenarios_for
from dhtea.traces.serial import read_trace, save_trace, scenario_from_dict, scenario_to_dict
from tests.example_protocols import Pinger


class PingPong(RingNode):
    """A joiner sends PING, PONG, PING, PONG to its bootstrap; nothing answers."""

    name = "pingpong"
    kinds = ("PING", "PONG")

    def on_join(self, ctx, bootstrap):
        for kind in ("PING", "PONG", "PING", "PONG"):
            ctx.send(bootstrap, kind)

    def on_ping(self, ctx, msg):
        pass

    def on_pong(self, ctx, msg):
        pass


class Retrier(Pinger):
    """PING at the start and every 100."""

    name = "retrier"


def sends(result):
    return [e for e in result.events if e.kind == "send"]


def run(network, protocol=PingPong, **scenario):
    return simulate(protocol, Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), network=network, **scenario))


def test_a_delay_by_kind_holds_back_the_kth_message_of_that_kind_only():
    result = run(Network(kind_delays=[("PONG", 1, 50), ("PING", 0, 3)]))
    assert [(e.message.kind, e.arrive - e.time) for e in sends(result)] == [
        ("PING", 3), ("PONG", 1), ("PING", 1), ("PONG", 50)]


def test_a_delay_by_index_wins_over_one_by_kind():
    result = run(Network(delays=(7,), delay_at=[(3, 9)], kind_delays=[("PING", 0, 3), ("PONG", 1, 50)]))
    assert [e.arrive - e.time for e in sends(result)] == [7, 1, 1, 9]


def test_a_fate_by_kind_falls_outside_the_fault_window():
    net = Network(kind_fates=[("PONG", 1, "lose"), ("PING", 1, "duplicate")], faults_from=100, faults_until=200)
    result = run(net)
    assert [(e.message.kind, e.fault) for e in sends(result)] == [
        ("PING", None), ("PONG", None), ("PING", "duplicated"), ("PONG", "lost")]
    assert net.faulty and result.scenario.fault_kinds == ("loss", "duplicate")
    assert not Network(kind_fates=[("PING", 0, "deliver")]).faulty


def test_inside_the_window_a_fate_by_index_wins_over_one_by_kind_and_a_partition_over_all():
    net = Network(fates=("deliver", "duplicate"), kind_fates=[("PONG", 0, "lose"), ("PONG", 1, "lose")],
                  partitions=[Partition(0, 1, (1,), (2,))])
    assert [e.fault for e in sends(run(net))] == ["partitioned"] * 4
    net = attrs.evolve(net, partitions=())
    assert [e.fault for e in sends(run(net))] == [None, "duplicated", None, "lost"]


def test_the_settle_window_counts_from_a_late_fault_by_kind():
    # The settle window would end at 150 (calm at 0); the 2nd PING, sent at 100, is lost: it ends at 250.
    late = run(Network(kind_fates=[("PING", 1, "lose")]), Retrier, settle=150)
    assert late.status == "settled" and late.end_time == 250
    assert [e.fault for e in sends(late)][:3] == [None, "lost", None]
    early = run(Network(kind_fates=[("PING", 0, "lose")]), Retrier, settle=150)
    assert early.status == "settled" and early.end_time == 150


def test_fates_by_kind_go_with_the_fault_kind_they_are():
    s = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]),
                 network=Network(kind_fates=[("PING", 0, "lose"), ("PONG", 0, "duplicate")], kind_delays=[("PING", 0, 9)]))
    assert without_kind(s, "loss").network.kind_fates == (("PONG", 0, "duplicate"),)
    plain = without_faults(s).network
    assert plain.kind_fates == () and plain.kind_delays == (("PING", 0, 9.0),)  # a delay is no fault


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Network(kind_fates=[("PING", 0, "lose"), ("PING", 0, "duplicate")]), "more than once"),
        (lambda: Network(kind_fates=[("PING", -1, "lose")]), "message index"),
        (lambda: Network(kind_fates=[("PING", 0, "vanish")]), "message fate"),
        (lambda: Network(kind_fates=[("", 0, "lose")]), "message kind"),
        (lambda: Network(kind_delays=[(7, 0, 1)]), "message kind"),
        (lambda: Network(kind_delays=[("PING", 0, -1)]), "finite number >= 0"),
        (lambda: Network(kind_delays=[("PING", 0, float("nan"))]), "finite number >= 0"),
        (lambda: Network(kind_delays=[("PING", 2, 1), ("PING", 2, 3)]), "more than once"),
    ],
)
def test_impossible_scripts_by_kind_are_refused(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_scripts_by_kind_are_written_only_when_set_and_read_back(tmp_path):
    plain = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]))
    assert "kind_fates" not in scenario_to_dict(plain)["network"]
    assert "kind_delays" not in scenario_to_dict(plain)["network"]
    net = Network(kind_fates=[("PONG", 1, "lose")], kind_delays=[("PING", 0, 4.5)])
    result = run(net, settle=20)
    assert scenario_from_dict(scenario_to_dict(result.scenario)) == result.scenario
    path = save_trace(result, tmp_path / "run.trace.json")
    assert read_trace(path).events == tuple(result.events) and read_trace(path).scenario == result.scenario
    outcome = replay(path, PingPong)
    assert outcome.difference is None and outcome.end_difference is None


@pytest.mark.parametrize("field, value, words", [
    ("kind_fates", [{"kind": "PING", "index": 0, "fate": "vanish"}], "kind_fates"),
    ("kind_fates", [{"kind": 3, "index": 0, "fate": "lose"}], "kind"),
    ("kind_delays", [{"kind": "PING", "index": -1, "delay": 1}], "index"),
    ("kind_delays", [{"kind": "PING", "index": 0}], "delay"),
])
def test_a_malformed_script_by_kind_in_a_trace_file_is_one_line(tmp_path, capsys, field, value, words):
    result = run(Network(kind_fates=[("PONG", 1, "lose")]), settle=20)
    path = save_trace(result, tmp_path / "run.trace.json")
    data = json.loads(path.read_text())
    data["scenario"]["network"][field] = value
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_timelines_and_explanations_name_the_message_by_kind():
    s = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), settle=10,
                 network=Network(kind_fates=[("PONG", 1, "lose")], kind_delays=[("PING", 0, 40)]))
    lines = "\n".join(describe_churn(s))
    assert "PONG #1 lose" in lines and "or after the last fate by kind" in lines
    words = setup(s)
    assert "The 2nd PONG message sent is lost" in words and "The 1st PING message sent takes 40" in words


def test_coverage_counts_fates_by_kind_and_the_kinds_of_message_faults_hit():
    cov = Coverage()
    cov.add(run(Network(kind_fates=[("PONG", 1, "lose")]), settle=20))
    cov.add(run(Network(kind_fates=[("PONG", 5, "lose")]), settle=20))  # no 6th PONG: nothing hit
    cov.add(run(Network()))  # no fault at all: not counted
    assert cov.features["fault kinds"] == {"fates by message kind": 2, "none": 1}
    stats = cov.to_dict(expected_values(faults=("loss",), message_kinds=PingPong.kinds + ("NEVER_SENT",)))
    # Kinds sent under faults, with the runs where a fault hit one: PING was sent but never hit.
    assert stats["features"]["faulted message kinds"] == {"PING": 0, "PONG": 1}
    assert "faulted message kinds PING" in stats["never"] and "NEVER_SENT" not in str(stats)


FIND = settings(database=None, max_examples=2000)


def test_scripts_by_kind_shrink_to_the_first_kind_and_index():
    assert find(kind_fates(("A", "B")), lambda fs: len(fs) > 0, settings=FIND) == (("A", 0, "lose"),)
    assert find(kind_delays(("A", "B")), lambda ds: len(ds) > 0, settings=FIND) == (("A", 0, 0.0),)
    late = find(kind_delays(("A", "B")), lambda ds: any(d > 100 for *_, d in ds), settings=FIND)
    assert late == (("A", 0, 200.0),)
    assert find(kind_fates(()), lambda fs: True, settings=FIND) == ()
    assert find(kind_fates(("A",), ("deliver",)), lambda fs: True, settings=FIND) == ()


@given(kind_fates(("A", "B"), ("lose",), max_scripted=2, max_index=5))
def test_fates_by_kind_keep_to_their_kinds_and_bounds(fates):
    assert len(fates) <= 2 and len({f[:2] for f in fates}) == len(fates)
    assert all(k in ("A", "B") and 0 <= i <= 5 and f == "lose" for k, i, f in fates)


def test_a_protocols_kinds_reach_its_scenarios():
    scenario = find(scenarios_for(Retrier, ("loss",)), lambda s: bool(s.network.kind_fates), settings=FIND)
    assert scenario.network.kind_fates == (("PING", 0, "lose"),) and scenario.settle is not None
    held = find(scenarios_for(Retrier, ("crash",)), lambda s: bool(s.network.kind_delays), settings=FIND)
    assert held.network.kind_delays == (("PING", 0, 0.0),) and held.network.kind_fates == ()
    # Without message kinds, or without churn and faults, none is drawn.
    assert find(scenarios_for(RingNode, ("loss",)), lambda s: True, settings=FIND).network.kind_fates == ()
    quiet = find(scenarios_for(Retrier, ()), lambda s: True, settings=FIND)
    assert (quiet.network.kind_fates, quiet.network.kind_delays) == ((), ())


def test_a_fate_by_kind_for_a_message_never_sent_changes_nothing():
    quiet = run(Network(), settle=20)
    never = run(Network(kind_fates=[("PING", 2, "lose"), ("PUSH", 0, "lose")]), settle=20)
    assert never.events == quiet.events and never.end_time == quiet.end_time


def test_only_a_fate_by_kind_moves_the_settle_window():
    # Loss for the whole run (no faults_until): the window is S after calm_at, however many are lost.
    lossy = run(Network(loss=0.5), Retrier, settle=150, seed=3)
    assert any(e.fault == "lost" for e in sends(lossy)) and lossy.end_time == 150 and lossy.status == "settled"


def test_a_moved_settle_window_stops_at_the_deadline():
    net = Network(kind_fates=[("PING", 1, "lose"), ("PING", 2, "lose")])
    result = run(net, Retrier, settle=150, deadline=300)
    assert result.status == "deadline" and result.end_time == 300
    assert max(e.time for e in result.events) <= 300


def test_malformed_scripts_by_kind_are_value_errors():
    with pytest.raises(ValueError, match="finite number"):
        Network(kind_delays=[("A", 0, 10**400)])
    with pytest.raises(ValueError, match="triples"):
        Network(kind_fates=[("A", 0)])
    with pytest.raises(ValueError, match="triples"):
        Network(kind_fates="abc")
