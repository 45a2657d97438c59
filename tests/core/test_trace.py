"""The compact trace: what it stores reads back as the events that happened."""

from __future__ import annotations

import gc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dhtea import Join, JoinSchedule, Message, Network, Scenario, Uniform, simulate
from dhtea.core.messages import message_of
from dhtea.core.trace import CRASH, JOIN, LEAVE, Event, Trace, queue_edit

CROWD = Scenario(
    ring=(10, 2000, 4000),
    joins=JoinSchedule([Join(n, 0, (10, 2000, 4000)[n % 3]) for n in range(11, 4000, 97)]),
    network=Network(latency=Uniform(1, 5)),
    seed=3,
)

ids = st.lists(st.integers(0, 6), max_size=8)


@given(ids, ids)
def test_a_queue_edit_rebuilds_the_new_queue(old, new):
    dropped, added = queue_edit(tuple(old), tuple(new))
    rebuilt = added if dropped < 0 else tuple(old)[dropped:] + added
    assert rebuilt == tuple(new)


def test_fifo_queue_edits_are_appends_and_removals():
    assert queue_edit((1, 2, 3), (1, 2, 3, 4)) == (0, (4,))
    assert queue_edit((1, 2, 3), (3, 9)) == (2, (9,))
    assert queue_edit((1, 2, 3), ()) == (3, ())
    assert queue_edit((1, 2, 3), (2, 1, 3)) == (-1, (2, 1, 3))  # reordered: the whole queue


def test_iterating_and_indexing_give_the_same_events():
    events = simulate("gapowner", CROWD).events
    assert isinstance(events, Trace)
    walked = list(events)
    assert len(walked) == len(events) > 500
    assert walked == list(events[:]) and events[-1] == walked[-1] and events[17] == walked[17]
    assert [e.seq for e in walked] == list(range(len(walked)))
    assert events == tuple(walked) and tuple(walked) == events
    assert events.kind_count("send") == sum(e.kind == "send" for e in walked)
    assert events.kind_count("deliver") == sum(e.kind == "deliver" for e in walked)


def test_queue_changes_read_back_whole_and_chained():
    events = simulate("gapowner", CROWD).events
    queues: dict[int, tuple] = {}
    seen = 0
    for e in events:
        for field, old, new in e.changes:
            if field == "queue":
                assert old == queues.get(e.node, ()) and old != new
                queues[e.node] = new
                seen += 1
    assert seen > 20


def test_a_trace_records_each_kind_of_event():
    trace = Trace()
    msg = Message("HELLO", 1, 2, (("joiner", 3), ("side", "left")))
    trace.step(JOIN, 0.0, 1, (("busy", False, True), ("queue", (), (7,))))
    values = dict(msg.data)
    trace.send(0.0, "HELLO", 1, 2, values, 2.5)
    trace.send(0.0, "LOST", 1, 99, {}, None)
    trace.send(0.5, "HELLO", 1, 2, values, 1.5, "duplicated", 3.5)
    trace.deliver(2.5, msg, (("queue", (), (4, 5)),))
    trace.timer(3.0, 2, "retry", None)
    trace.step(LEAVE, 3.0, 2, (("leaving", False, True),))
    trace.step(CRASH, 3.2, 1, (("gone", None, "crashed"),))
    trace.drop(3.5, msg)
    trace.deliver(4.0, msg, (("queue", (4, 5), (5, 8)),))
    assert list(trace) == [
        Event(0, 0.0, "join", 1, None, (("busy", False, True), ("queue", (), (7,)))),
        Event(1, 0.0, "send", 1, msg, (), 2.5),
        Event(2, 0.0, "send", 1, Message("LOST", 1, 99), (), None),
        Event(3, 0.5, "send", 1, msg, (), 1.5, None, "duplicated", 3.5),
        Event(4, 2.5, "deliver", 2, msg, (("queue", (), (4, 5)),)),
        Event(5, 3.0, "timer", 2, None, (), None, "retry"),
        Event(6, 3.0, "leave", 2, None, (("leaving", False, True),)),
        Event(7, 3.2, "crash", 1, None, (("gone", None, "crashed"),)),
        Event(8, 3.5, "drop", 2, msg),
        Event(9, 4.0, "deliver", 2, msg, (("queue", (4, 5), (5, 8)),)),
    ]
    assert [trace.kind_count(k) for k in ("join", "send", "deliver", "drop")] == [1, 3, 2, 1]


def test_a_run_keeps_no_object_per_event_for_the_collector():
    gc.collect()
    tracked = len(gc.get_objects())
    result = simulate("gapowner", CROWD)
    gc.collect()
    kept = len(gc.get_objects()) - tracked
    assert len(result.events) > 1000 and kept < len(result.events) / 10, kept


def test_messages_are_values_and_checked():
    msg = message_of("CONNECT", 1, 2, {"joiner": 3})
    assert msg == Message("CONNECT", 1, 2, (("joiner", 3),)) and hash(msg) == hash(Message("CONNECT", 1, 2, (("joiner", 3),)))
    assert msg["joiner"] == 3 and msg.get("side") is None
    with pytest.raises(AttributeError):
        msg.kind = "OTHER"  # type: ignore[misc]
    with pytest.raises(ValueError, match="joiner=.* is not an int"):
        message_of("CONNECT", 1, 2, {"joiner": [3]})
    with pytest.raises(ValueError, match="pairs"):
        Message("CONNECT", 1, 2, (("joiner",),))


def test_runs_of_events_read_piece_by_piece_match_the_whole():
    events = simulate("gapowner", CROWD).events
    whole = list(events)
    pieces = [e for a in range(0, len(whole), 97) for e in events[a : a + 97]]
    assert pieces == whole
    assert events[5:9] == tuple(whole[5:9]) and events[400:3] == ()  # backwards again: read from the start
