"""What a hunt exercised: features of its scenarios and interesting states reached."""

from hypothesis import strategies as st

from dhtea import hunt
from dhtea.core.network import Constant, Network
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.search.coverage import OVERTAKEN, QUEUED, WRAPPED, Coverage, _fault_kinds, expected_values
from dhtea.strategies import networks, scenarios


def test_a_varied_hunt_reaches_every_state_and_counts_every_run():
    report = hunt("gapowner", examples=150, seed=2)
    stats = report.coverage.to_dict(expected_values(5, 4))
    assert stats["runs"] == report.examples == 150
    assert all(sum(counts.values()) == 150 for counts in stats["features"].values())
    assert all(stats["states"][s] > 0 for s in (QUEUED, OVERTAKEN, WRAPPED)), stats["states"]


def test_a_hunt_that_cannot_overtake_says_so():
    fixed = networks(latency=st.just(Constant(1)), delays=st.just(()))  # same latency on every link: no overtaking
    report = hunt("gapowner", examples=60, seed=2, strategy=scenarios(network=fixed))
    stats = report.coverage.to_dict(expected_values(5, 4))
    assert stats["states"][OVERTAKEN] == 0 and OVERTAKEN in stats["never"]
    assert stats["features"]["latency model"]["constant"] == 60
    assert "latency model pareto" in stats["never"]  # an expected value no run had


def test_coverage_merges_by_adding():
    a, b = hunt("gapowner", examples=30, seed=1).coverage, hunt("gapowner", examples=40, seed=2).coverage
    total = Coverage()
    total.merge(a)
    total.merge(b)
    assert total.runs == 70
    assert total.states[QUEUED] == a.states[QUEUED] + b.states[QUEUED]


def test_fault_kinds_cover_departures_and_network_faults():
    joins = JoinSchedule([Join(5, 0, 1)])
    assert _fault_kinds(Scenario(ring=(1, 2, 3), joins=joins)) == ("none",)
    faulty = Scenario(ring=(1, 2, 3), joins=joins, churn=(Crash(2, 1.0), Leave(3, 2.0)),
                      network=Network(loss=0.1, duplicate=0.2))
    assert _fault_kinds(faulty) == ("crash", "duplication", "leave", "loss")
    scripted = Scenario(ring=(1, 2, 3), joins=joins, network=Network(fates=("lose",), fate_at=((2, "duplicate"),)))
    assert _fault_kinds(scripted) == ("scripted fates", "single-message fates")


def test_a_run_counts_under_each_of_its_fault_kinds():
    from dhtea import simulate
    joins = JoinSchedule([Join(5, 0, 1)])
    coverage = Coverage()
    for net in (Network(loss=0.1), Network(loss=0.1, duplicate=0.1), Network()):
        coverage.add(simulate("gapowner", Scenario(ring=(1, 2, 3), joins=joins, network=net)))
    assert coverage.runs == 3
    assert coverage.features["fault kinds"] == {"loss": 2, "duplication": 1, "none": 1}


def test_counts_are_listed_in_numeric_order_with_the_expected_ones_never_reached():
    coverage = Coverage(runs=3, features={"joiners": {"0": 1, "2": 1, "10": 1}})
    listed = coverage.to_dict(expected_values(max_joiners=3))["features"]["joiners"]
    assert list(listed.items()) == [("0", 1), ("1", 0), ("2", 1), ("3", 0), ("10", 1)]


def test_fault_kinds_a_hunt_generates_are_expected_and_shown_when_never_run():
    expected = expected_values(faults=("leave", "crash-joiner", "loss"), message_kinds=("PING",))
    assert expected["fault kinds"] == ["none", "crash", "fates by message kind", "leave", "loss", "scripted fates",
                                       "single-message fates"]
    # Fates by kind need the protocol's message kinds.
    assert "fates by message kind" not in expected_values(faults=("loss",))["fault kinds"]
    assert "fates by message kind" in expected_values(faults=("loss",), message_kinds=("PING",))["fault kinds"]
    assert "fault kinds" not in expected_values()
    coverage = Coverage(runs=2, features={"fault kinds": {"none": 1, "leave": 1}})
    never = coverage.to_dict(expected)["never"]
    assert "fault kinds crash" in never and "fault kinds single-message fates" in never
    assert "fault kinds leave" not in never
