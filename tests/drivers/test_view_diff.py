"""The simulator compares a RingNode's fields with the checkers' copy instead of
building its view every event: every view field must still be seen to change."""

from __future__ import annotations

from collections import deque

import pytest

from dhtea import Join, JoinSchedule, RingNode, Scenario, simulate
from invariants import VIEW_FIELDS, NodeView

NEW_VALUES = {"left": 1, "right": 1, "member": True, "busy": True, "queue": deque([1]), "leaving": True}


class SetsOneField(RingNode):
    field = ""

    def on_join(self, ctx, bootstrap):
        setattr(self, self.field, NEW_VALUES[self.field])


def _protocol(field: str) -> type:
    return type(f"Sets_{field}", (SetsOneField,), {"field": field, "__module__": __name__})


def test_every_field_a_protocol_sets_has_a_value_here():
    driver_only = {"gone"}  # set by the simulator when a node stops, never by the protocol
    assert set(NEW_VALUES) == set(VIEW_FIELDS) - driver_only


@pytest.mark.parametrize("field", sorted(NEW_VALUES))
def test_a_change_to_any_view_field_is_recorded(field):
    result = simulate(_protocol(field), Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)])), check=False)
    joined = result.events[0]
    new = tuple(NEW_VALUES[field]) if field == "queue" else NEW_VALUES[field]
    assert joined.kind == "join" and joined.changes == ((field, getattr(NodeView(2), field), new),)
    assert getattr(result.final[1], field) == new


def test_a_handler_that_changes_nothing_records_no_change():
    class Idle(RingNode):
        def on_join(self, ctx, bootstrap):
            self.queue.append(5)
            self.queue.popleft()  # back as it was

    result = simulate(Idle, Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)])), check=False)
    assert result.events[0].changes == ()
