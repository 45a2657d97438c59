"""A bug's signature names the churn and faults that took place before its
violation, not those its scenario merely holds."""

from pathlib import Path

import attrs

from dhtea import Join, JoinSchedule, Network, Scenario, simulate
from dhtea.core.network import Partition
from dhtea.core.scenario import Leave
from dhtea.protocols.classic import Classic
from dhtea.protocols.gapowner import GapOwner
from dhtea.search.hunting import bug_signature, kinds_before_violation
from dhtea.traces.serial import read_trace

TRACE = Path(__file__).resolve().parents[1] / "counterexamples" / "classic-3-gap-exclusive.trace.json"


def test_faults_that_touched_nothing_before_the_violation_are_no_part_of_the_bug():
    scenario = read_trace(TRACE).scenario
    # A loss window no message is sent in, and a leave due long after the violation.
    idle = attrs.evolve(scenario.network, fate_at=((0, "lose"),), faults_from=0.0, faults_until=0.0)
    held = attrs.evolve(scenario, network=idle, churn=(Leave(scenario.ring[-1], 10**6),))
    result = simulate(Classic, held)
    assert held.fault_kinds == ("leave", "loss")
    assert kinds_before_violation(result) == ()
    assert bug_signature(Classic, result) == "gap-exclusive"


def test_a_fault_that_happened_before_the_violation_is_named_when_the_bug_needs_it():
    # The first message is lost; a partition opens long after anything is sent.
    lose_first = Network(fate_at=((0, "lose"),), faults_until=100.0, partitions=[Partition(500, 600, (0,), (5,))])
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0)]), network=lose_first)
    result = simulate(GapOwner, scenario)  # its CONNECT is lost: the joiner never gets in
    assert scenario.fault_kinds == ("loss", "partition")
    assert not result.ok and kinds_before_violation(result) == ("loss",)
    assert bug_signature(GapOwner, result) == f"{result.signature}+loss"
    assert simulate(GapOwner, attrs.evolve(scenario, network=Network())).ok


def test_a_duplicate_before_a_bug_that_needs_none_keeps_the_plain_name():
    scenario = read_trace(TRACE).scenario
    doubled = attrs.evolve(scenario, network=attrs.evolve(scenario.network, fate_at=((0, "duplicate"),),
                                                          faults_until=100.0))
    result = simulate(Classic, doubled)
    assert kinds_before_violation(result) == ("duplicate",)
    assert bug_signature(Classic, result) == "gap-exclusive"


def test_a_passing_run_has_no_kinds():
    assert kinds_before_violation(simulate(GapOwner, Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0)])))) == ()


def test_a_kind_the_bug_does_without_is_left_out_of_its_name():
    # The lost CONNECT is the bug; a crash of the other joiner merely comes along.
    from dhtea.core.scenario import Crash
    net = Network(fate_at=((0, "lose"),), faults_until=100.0)
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0), Join(7, 50, 0)]), network=net,
                        churn=(Crash(7, 60),))
    result = simulate(GapOwner, scenario)
    assert kinds_before_violation(result) == ("crash", "loss")
    assert bug_signature(GapOwner, result) == f"{result.signature}+loss"


def test_without_kind_takes_away_one_kind_only():
    from dhtea.core.scenario import Crash
    from dhtea.search.hunting import without_kind
    scenario = Scenario(ring=(0, 3, 6), joins=JoinSchedule([Join(5, 0, 0)]), churn=(Leave(3, 1), Crash(6, 2)),
                        network=Network(loss=0.1, duplicate=0.2, fates=("lose", "duplicate"),
                                        fate_at=((2, "lose"), (4, "duplicate")), faults_until=10.0))
    assert without_kind(scenario, "leave").churn == (Crash(6, 2),)
    assert without_kind(scenario, "crash").churn == (Leave(3, 1),)
    no_loss = without_kind(scenario, "loss").network
    assert (no_loss.loss, no_loss.duplicate, no_loss.fates, no_loss.fate_at) == (0.0, 0.2, ("deliver", "duplicate"),
                                                                                  ((4, "duplicate"),))
    assert without_kind(scenario, "duplicate").fault_kinds == ("leave", "crash", "loss")
