"""Labels never overlap event numbers, arrows or each other, in the sequence
diagram and in the ring pictures.

The pictures are parsed back from their SVG: every text becomes a box (width
from `svg.text_width`, which the browser test checks against Chromium's own
measure), every arrow a polyline (Bézier curves sampled), every arrowhead, step
dot and node a box. Then no text box may meet another, nor an arrow, nor a dot
or node it does not belong to. Traces: the shrunk classic bugs (continued past
the violation), runs with fractional times and several joiners, long message
labels, self-addressed and lost messages, and rings with notes on every node.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from dhtea import RingNode
from dhtea.core.network import Network, Uniform
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.drivers.simulator import simulate
from dhtea.search.continuing import continue_to_rest
from dhtea.show import svg
from dhtea.show.ringpicture import ring_picture
from dhtea.show.sequence import sequence_diagram
from dhtea.show.steps import steps_of
from dhtea.strategies import scenarios
from dhtea.traces.serial import read_trace
from invariants import NodeView

NS = "{http://www.w3.org/2000/svg}"
CASES = Path(__file__).parents[1] / "counterexamples"


class Chatty(RingNode):
    """Joins like a lone member's neighbour, with long messages, one to itself."""

    name = "chatty"

    def on_join(self, ctx, bootstrap):
        self.busy = True
        ctx.send(bootstrap, "PLEASE_LET_ME_INTO_YOUR_RING", joiner=self.id, note="a rather long explanation", attempt=1)
        ctx.send(self.id, "REMEMBER_THAT_I_ASKED", bootstrap=bootstrap)

    def on_please_let_me_into_your_ring(self, ctx, msg):
        j = msg["joiner"]
        ctx.send(j, "WELCOME_HERE_ARE_YOUR_NEIGHBOURS", left=self.id, right=self.right, extra="x" * 12)
        ctx.send(self.right, "SET_LEFT_BECAUSE_SOMEONE_JOINED", node=j)
        self.right = j

    def on_remember_that_i_asked(self, ctx, msg):
        pass

    def on_set_left_because_someone_joined(self, ctx, msg):
        self.left = msg["node"]

    def on_welcome_here_are_your_neighbours(self, ctx, msg):
        self.left, self.right = msg["left"], msg["right"]
        self.member, self.busy = True, False


# -- reading a picture back ------------------------------------------------------------


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", text)]


def _path_points(d: str) -> list[svg.Point]:
    nums = _numbers(d)
    pts = [(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]
    if "Q" in d:
        return svg.quadratic(*pts[:3], pieces=24)
    if "C" in d:
        return svg.cubic(*pts[:4], pieces=24)
    return pts


def read_picture(markup: str):
    """(texts, arrows, blobs): texts as (box, words, owner); arrows as
    (points, owner); blobs (heads, dots, nodes) as (box, owner). `owner` names
    the arrow, step or node an item belongs to."""
    root = ET.fromstring(markup)
    texts, arrows, blobs = [], [], []

    def walk(el, owner):
        cls = el.get("class", "")
        if el.tag == NS + "g" and ("message" in cls or "pointer" in cls or "node" in cls.split()):
            owner = f"{cls.split()[0]}:{el.get('data-send') or el.get('data-from') or el.get('data-node')}:{el.get('data-to') or ''}:{len(arrows)}"
        tag = el.tag.replace(NS, "")
        if tag == "text" and el.text:
            size = float(el.get("font-size", "16"))
            bold = el.get("font-weight") == "bold"
            box = svg.text_box(float(el.get("x")), float(el.get("y")), el.text, size, el.get("text-anchor", "start"),
                               mono="note" in cls.split(), bold=bold)
            texts.append((box, el.text, owner, cls))
        elif tag == "line" and owner and ("message" in owner or "pointer" in owner):
            arrows.append(([(float(el.get("x1")), float(el.get("y1"))), (float(el.get("x2")), float(el.get("y2")))], owner))
        elif tag == "path" and owner:
            arrows.append((_path_points(el.get("d")), owner))
        elif tag == "polygon" and owner:
            nums = _numbers(el.get("points"))
            blobs.append((svg.polygon_box([(nums[i], nums[i + 1]) for i in range(0, len(nums), 2)]), owner))
        elif tag == "circle" and ("step" in cls or (owner and owner.startswith("node"))):
            cx, cy, r = float(el.get("cx")), float(el.get("cy")), float(el.get("r"))
            blobs.append(((cx - r, cy - r, cx + r, cy + r), owner or f"step:{el.get('data-seq')}"))
        for child in el:
            walk(child, owner)

    walk(root, None)
    return texts, arrows, blobs


def overlaps(markup: str) -> list[str]:
    """Every overlap of a text with another text, an arrow, or a blob of something else."""
    texts, arrows, blobs = read_picture(markup)
    found = []
    for i, (box, words, owner, cls) in enumerate(texts):
        inner = svg.grow(box, -0.5)  # touching is not overlapping
        for other, words2, _, _ in texts[i + 1:]:
            if svg.boxes_meet(inner, other):
                found.append(f"text {words!r} meets text {words2!r}")
        if "lost-mark" in cls:  # the ✗ at the end of a lost message's own arrow
            continue
        for points, arrow in arrows:
            if svg.polyline_meets_box(points, inner):
                found.append(f"text {words!r} ({owner}) meets arrow {arrow}")
        for blob, thing in blobs:
            if thing != owner and svg.boxes_meet(inner, blob):
                found.append(f"text {words!r} ({owner}) meets {thing}")
    return found


def diagram(scenario, events, violations, file_end=None) -> str:
    return sequence_diagram(scenario, events, violations, stopped="End.", file_end=file_end)


def assert_clear(markup: str, what: str) -> None:
    problems = overlaps(markup)
    assert not problems, f"{what}: {len(problems)} overlap(s), first: {problems[:3]}"


# -- the checks themselves are right ----------------------------------------------------


def test_an_overlap_is_found():
    label_on_arrow = svg.document(200, 100, [
        svg.element("g", svg.line((10, 50), (190, 50)), class_="message", data_send=1),
        svg.text(20, 54, "ON THE LINE", font_size=10.5, class_="msg-label"),
        svg.text(20, 20, "A", font_size=10.5), svg.text(22, 21, "B", font_size=10.5),
    ], "test")
    found = overlaps(label_on_arrow)
    assert any("'ON THE LINE'" in f and "arrow" in f for f in found) and any("'A' meets text 'B'" in f for f in found)
    assert overlaps(svg.document(200, 100, [svg.text(20, 20, "A", font_size=10.5), svg.text(20, 60, "B", font_size=10.5)], "t")) == []


# -- sequence diagrams ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["classic-1-joins-complete", "classic-2-ring-order", "classic-3-gap-exclusive"])
def test_classic_bugs_continued_past_the_violation(name):
    tf = read_trace(CASES / f"{name}.trace.json")
    after = continue_to_rest(tf)
    events = tf.events + after.events
    file_end = tf.events[-1].seq if after.events else None
    assert_clear(diagram(tf.scenario, events, tf.violations, file_end), name)
    steps, states = steps_of(tf.scenario, tf.events, tf.violations, after)
    for views, blamed, involved in states:
        assert_clear(ring_picture(views, blamed=blamed, involved=involved), f"{name} ring")


FRACTIONAL = [
    Scenario(ring=(0, 7), joins=JoinSchedule([Join(3, 0.25, 0), Join(5, 0.3, 7), Join(9, 1.7, 0)]),
             network=Network(Uniform(0.3, 2.9)), seed=seed)
    for seed in range(4)
] + [
    Scenario(ring=(10, 20, 30, 40, 50), joins=JoinSchedule([Join(15, 0, 10), Join(25, 0.125, 20), Join(35, 0.5, 30),
                                                             Join(45, 1.0625, 40)]), network=Network(Uniform(0.1, 3.3)), seed=7),
]


@pytest.mark.parametrize("protocol", ["classic", "gapowner"])
@pytest.mark.parametrize("scenario", FRACTIONAL, ids=[f"fractional-{i}" for i in range(len(FRACTIONAL))])
def test_fractional_times_and_several_joiners(protocol, scenario):
    result = simulate(protocol, scenario, check=False)
    assert any(e.time != int(e.time) for e in result.events)  # the times are fractional
    assert_clear(diagram(scenario, result.events, result.violations), f"{protocol} {scenario}")
    steps, states = steps_of(scenario, result.events, result.violations, None)
    for views, blamed, involved in states[:: max(1, len(states) // 6)]:
        assert_clear(ring_picture(views, blamed=blamed, involved=involved), f"{protocol} ring")


def test_long_labels_messages_to_oneself_and_to_nobody(monkeypatch):
    scenario = Scenario(ring=(1, 4), joins=JoinSchedule([Join(2, 0, 1), Join(3, 0.5, 4), Join(6, 0.75, 1)]),
                        network=Network(Uniform(0.5, 2.5)), seed=3)
    result = simulate(Chatty, scenario, check=False)
    assert any(e.kind == "send" and e.message.src == e.message.dst for e in result.events)
    markup = diagram(scenario, result.events, result.violations)
    assert "PLEASE_LET_ME_INTO_YOUR_RING" in markup
    assert_clear(markup, "chatty")
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    lost = simulate("example_protocols:Lost", Scenario(ring=(0, 5), joins=JoinSchedule([Join(3, 0, 0), Join(7, 1, 5)])))
    assert_clear(diagram(lost.scenario, lost.events, lost.violations), "lost")


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(scenario=scenarios())
def test_any_scenario(scenario):
    for protocol in ("classic", "gapowner"):
        result = simulate(protocol, scenario, check=False)
        assert_clear(diagram(scenario, result.events, result.violations), protocol)
        views = {v.id: v for v in result.final}
        assert_clear(ring_picture(views), f"{protocol} end ring")


# -- ring pictures with crowded labels ------------------------------------------------------


@pytest.mark.parametrize("size", [2, 3, 5, 7, 9, 10, 11, 12])
def test_rings_with_notes_everywhere_and_pointers_across(size):
    ids = list(range(0, size * 10, 10))
    views = {}
    for i, n in enumerate(ids):
        skip = ids[(i + 2) % size]  # right pointers that jump over a node
        views[n] = NodeView(n, ids[i - 1], skip if i % 2 else ids[(i + 1) % size], member=i % 3 != 2, busy=True,
                            queue=tuple(ids[:2]) if i % 2 else ())
    views[ids[0]] = NodeView(ids[0], ids[0], 99999, member=True, busy=True, queue=(1, 2, 3))  # to itself and out of the run
    markup = ring_picture(views, blamed={(ids[0], "right")}, involved={ids[0]})
    assert_clear(markup, f"ring of {size}")
    notes = re.findall(r'class="node-note"', markup)
    assert len(notes) == size  # every node's note is shown, in the picture or on a line under it
