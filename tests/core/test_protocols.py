"""The built-in protocols on hand-picked scenarios, and the driver's handling of
user protocols (timers, crashes, lost messages, module:Class loading)."""

import pytest

from dhtea import Constant, Join, JoinSchedule, Network, Scenario, UnknownProtocol, load_protocol, simulate
from dhtea.protocols import protocol_name


def scenario(ring, *joins, **kw):
    return Scenario(ring=ring, joins=JoinSchedule([Join(*j) for j in joins]), **kw)


def final_ring(result):
    return {v.id: (v.left, v.right) for v in result.final}


@pytest.mark.parametrize(
    "sc, signature",
    [
        (scenario((1, 49, 50), (60, 0, 1)), "ring-order"),  # joins past the largest id
        (scenario((1, 49, 50), (0, 0, 50)), "ring-order"),  # joins below the smallest id
        (scenario((1, 49, 50), (10, 0, 1), (20, 0, 49)), "gap-exclusive"),  # two joins, one gap
        (scenario((5,), (9, 0, 5)), "joins-complete"),  # a ring of one never completes a join
    ],
)
def test_classic_bugs_and_the_corrected_protocol(sc, signature):
    assert simulate("classic", sc).signature == signature
    fixed = simulate("gapowner", sc)
    assert fixed.ok and fixed.status == "rest"
    ids = sorted(sc.nodes)
    assert final_ring(fixed) == {n: (ids[i - 1], ids[(i + 1) % len(ids)]) for i, n in enumerate(ids)}


def test_classic_handles_an_interior_join():
    result = simulate("classic", scenario((1, 49, 50), (10, 0, 49)))
    assert result.ok and final_ring(result)[10] == (1, 49)


def test_gapowner_with_heavy_reordering():
    joins = [(n, 0, (3, 40, 77)[n % 3]) for n in (1, 2, 20, 21, 50, 60, 90, 99)]
    sc = scenario((3, 40, 77), *joins, network=Network(latency=Constant(1), delays=(9, 1, 7, 1, 5, 1, 3, 2, 8, 1, 6)))
    result = simulate("gapowner", sc)
    assert result.ok and result.status == "rest"
    assert [v.id for v in result.final if v.member] == sorted(sc.nodes)


def test_timers_fire_once_and_cancelled_timers_never():
    result = simulate("tests.example_protocols:TimerJoin", scenario((1,), (2, 0, 1)))
    assert result.ok
    timers = [e for e in result.events if e.kind == "timer"]
    assert [(e.node, e.timer, e.time) for e in timers] == [(2, "go", 2.0)]


def test_a_crashing_handler_is_reported_as_a_violation():
    result = simulate("tests.example_protocols:Crashing", scenario((1,), (2, 0, 1)))
    v = result.violations[0]
    assert (v.invariant, v.nodes, result.status) == ("handler-error", (1,), "violation")
    assert "RuntimeError: boom" in v.message


def test_a_message_to_an_unknown_node_is_recorded_as_lost():
    result = simulate("tests.example_protocols:Lost", scenario((1,), (2, 0, 1)))
    send = next(e for e in result.events if e.kind == "send")
    assert send.message.dst == 12345 and send.arrive is None
    assert not any(e.kind == "deliver" for e in result.events)
    assert result.signature == "joins-complete"


def test_runs_that_never_rest_hit_max_events():
    sc = scenario((1, 49, 50), (60, 0, 1), max_events=5)
    result = simulate("gapowner", sc)
    assert (result.status, result.signature) == ("max-events", "progress")
    # No step starts once the trace holds max_events events; the last step's sends still count.
    assert 5 <= len(result.events) < 8 and result.violations[0].event == len(result.events) - 1


def test_a_deadline_stops_the_run_and_checks_the_at_rest_invariants():
    result = simulate("gapowner", scenario((1, 49, 50), (60, 0, 1), deadline=1.5))
    assert result.status == "deadline" and result.end_time == 1.5
    assert result.signature == "joins-complete"


def test_protocols_load_by_name_or_path():
    assert protocol_name(load_protocol("classic")) == "classic"
    cls = load_protocol("tests.example_protocols:TimerJoin")
    assert protocol_name(cls) == "tests.example_protocols:TimerJoin"
    for bad in ("nope", "tests.example_protocols:Missing", "no_such_module:X", "os:path"):
        with pytest.raises(UnknownProtocol):
            load_protocol(bad)


def test_scenarios_reject_impossible_input():
    with pytest.raises(ValueError, match="not a member"):
        scenario((1, 2), (3, 0, 9))
    with pytest.raises(ValueError, match="already a member"):
        scenario((1, 2), (2, 0, 1))
    with pytest.raises(ValueError, match="more than once"):
        scenario((1, 2), (3, 0, 1), (3, 1, 2))
    with pytest.raises(ValueError, match="duplicate"):
        Scenario(ring=(1, 1))
    with pytest.raises(ValueError):
        Scenario(ring=())
    with pytest.raises(TypeError):
        Scenario(ring=(1.5,))


def test_a_crash_keeps_the_changes_made_before_it_and_drops_the_sends():
    result = simulate("tests.example_protocols:HalfDone", scenario((1,), (2, 0, 1)))
    assert result.signature == "handler-error"
    assert [(e.kind, e.changes) for e in result.events] == [("join", (("left", None, 1),))]
    assert {v.id: v.left for v in result.final}[2] == 1
