"""A joiner's leave: at its time if the joiner is a member by then, else as
soon as it becomes one, else never."""

from dhtea import Join, JoinSchedule, RingNode, Scenario, replay, save_trace, simulate
from dhtea.core.scenario import Crash, Leave


class Stuck(RingNode):
    """A joiner that never becomes a member (its join request goes unanswered)."""

    name = "stuck"

    def on_join(self, ctx, bootstrap):
        ctx.send(bootstrap, "HELLO")

    def on_hello(self, ctx, msg):
        pass

    def on_leave(self, ctx):
        ctx.stop()


def run(joins, churn, protocol="gaplease"):
    return simulate(protocol, Scenario(ring=(0, 9), joins=JoinSchedule(joins), churn=churn))


def became_member(result, node):
    return next(e for e in result.events if e.node == node and e.changes and ("member", False, True) in e.changes)


def kinds_of(result, node):
    return [e.kind for e in result.events if e.kind in ("join", "leave", "crash") and e.node == node]


def test_a_joiner_that_is_a_member_leaves_at_its_time():
    result = run([Join(5, 0, 0)], [Leave(5, 100)])
    leave = next(e for e in result.events if e.kind == "leave")
    assert (leave.node, leave.time) == (5, 100.0) and became_member(result, 5).time < 100
    assert result.ok and {v.id: v.gone for v in result.final} == {0: None, 5: "left", 9: None}
    final = {v.id: v for v in result.final}
    assert (final[0].right, final[9].left) == (9, 0)  # the ring closed behind it


def test_a_leave_due_in_mid_join_waits_until_the_joiner_is_a_member():
    result = run([Join(5, 0, 0)], [Leave(5, 1)])
    member = became_member(result, 5)
    assert member.time > 1
    leave = next(e for e in result.events if e.kind == "leave")
    assert leave.node == 5 and leave.time == member.time and leave.seq > member.seq
    assert result.ok and {v.id: v.gone for v in result.final}[5] == "left"


def test_a_leave_due_before_the_join_starts_waits_for_the_join_to_finish():
    result = run([Join(5, 10, 0)], [Leave(5, 2)])
    assert kinds_of(result, 5) == ["join", "leave"]
    assert next(e for e in result.events if e.kind == "leave").time == became_member(result, 5).time >= 10


def test_a_joiner_that_never_becomes_a_member_never_leaves():
    result = run([Join(5, 0, 0)], [Leave(5, 1)], protocol=Stuck)
    assert kinds_of(result, 5) == ["join"] and result.status == "rest"
    assert {v.id: v.gone for v in result.final}[5] is None


def test_a_crash_while_the_leave_waits_is_no_crash_during_the_leave():
    result = run([Join(5, 0, 0)], [Leave(5, 0), Crash(5, 0.5, during="leave")])
    assert kinds_of(result, 5) == ["join", "leave"]  # at 0.5 it was not leaving yet
    assert {v.id: v.gone for v in result.final}[5] == "left"


def test_a_crash_in_the_joiners_leave_stops_it():
    plain = run([Join(5, 0, 0)], [Leave(5, 0)])
    start = next(e for e in plain.events if e.kind == "leave").time
    result = run([Join(5, 0, 0)], [Leave(5, 0), Crash(5, start + 1, during="leave")])
    assert kinds_of(result, 5) == ["join", "leave", "crash"]
    assert {v.id: v.gone for v in result.final}[5] == "crashed"


def test_a_member_of_the_initial_ring_leaves_at_its_time_as_before():
    result = run([Join(5, 0, 0)], [Leave(9, 0)])
    assert next(e for e in result.events if e.kind == "leave").time == 0.0


def test_a_joiners_leave_is_in_the_scenario_and_the_kinds_of_faults():
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0)]), churn=[Leave(5, 3)])
    assert scenario.fault_kinds == ("leave",) and scenario.calm_at == 3.0


def test_a_trace_with_a_joiners_leave_replays_exactly(tmp_path):
    result = run([Join(5, 0, 0), Join(3, 1, 9)], [Leave(5, 0), Leave(3, 4)])
    assert sorted(e.node for e in result.events if e.kind == "leave") == [3, 5]
    outcome = replay(save_trace(result, tmp_path / "t.trace.json"))
    assert outcome.identical
