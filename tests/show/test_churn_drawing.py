"""Reports and timelines say who left, crashed or was cut off, in words and in pictures."""

from __future__ import annotations

from dhtea.core.network import Constant, Network, Partition
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.drivers.simulator import simulate
from dhtea.protocols import Classic
from dhtea.protocols.gapowner import GapLease
from dhtea.show import explain
from dhtea.show.ringpicture import ring_picture
from dhtea.show.timeline import format_ring
from invariants.view import NodeView

CHURNED = Scenario(ring=(0, 2, 4), joins=JoinSchedule([Join(1, 0, 0), Join(3, 1, 2)]),
                   network=Network(latency=Constant(1), partitions=(Partition(0.5, 6, [0, 1], [2, 3, 4]),)),
                   churn=(Leave(4, 2),))


def test_roles_name_gone_and_leaving_nodes():
    assert NodeView(1, member=True, gone="left").role == "left"
    assert NodeView(1, member=True, gone="crashed").role == "crashed"
    assert NodeView(1, member=True, leaving=True).role == "leaving"
    assert NodeView(1, member=True).role == "member" and NodeView(1).role == "joiner"


def test_the_story_tells_the_churn_and_the_partition_and_who_left():
    run = simulate(GapLease, CHURNED)
    assert run.ok
    setup = explain.setup(CHURNED)
    assert "Node 4 leaves at t=2." in setup
    assert "Messages between {0, 1} and {2, 3, 4} are lost from t=0.5 to t=6" in setup
    views = {v.id: v for v in run.final}
    (passing,) = explain.story(CHURNED, run.events, (), views, set(), True)[1:]
    assert "every joiner is a member; 4 left" in passing and "not a member" not in passing
    assert "0 → 1 → 2 → 3 → 0" in passing  # the walk goes over live members only
    assert "4(left " in format_ring(run)


def test_faults_in_words():
    lossy = Scenario(ring=(0,), network=Network(loss=0.2, duplicate=0.1, faults_until=9, fates=("lose", "deliver", "duplicate")),
                     churn=(Crash(0, 3),))
    words = explain.setup(lossy)
    assert "Node 0 crashes at t=3." in words
    assert "Each message is lost with probability 0.2 (of those sent before t=9)." in words
    assert "Each message is delivered twice with probability 0.1" in words
    assert "Of the first 3 messages sent, 1 lost and 1 delivered twice (scripted)." in words


def test_ring_picture_draws_departed_nodes_grey_and_their_pointers_faint():
    views = {0: NodeView(0, 2, 2, member=True), 1: NodeView(1, 0, 2, member=True, gone="left"),
             2: NodeView(2, 0, 0, member=True), 3: NodeView(3, 2, 0, member=True, gone="crashed")}
    svg_text = ring_picture(views)
    assert 'class="node left"' in svg_text and 'class="node crashed"' in svg_text
    assert "node 1: has left" in svg_text and "node 3: crashed" in svg_text
    assert svg_text.count('opacity="0.35"') == 4  # both pointers of each of the two departed nodes
    live = ring_picture({0: NodeView(0, 1, 1, member=True), 1: NodeView(1, 0, 0, member=True)})
    assert 'opacity="0.35"' not in live


def test_classic_leave_bug_report_marks_the_leaver(tmp_path):
    from dhtea.cli.main import main
    from dhtea.traces.serial import save_trace

    run = simulate(Classic, Scenario(ring=(0, 1, 2), churn=(Leave(1, 0), Leave(2, 0.5))))
    assert not run.ok
    path = save_trace(run, tmp_path / "t.trace.json")
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "member, leaves t=0" in html and "Node 1 leaves at t=0; node 2 leaves at t=0.5." in html
    assert "<td>left</td>" in html


def test_sequence_diagram_marks_the_rows_of_a_partition():
    from dhtea.show.sequence import sequence_diagram

    run = simulate(GapLease, CHURNED)
    diagram = sequence_diagram(CHURNED, run.events, ())
    assert diagram.count('class="partition"') == 1
    assert "partition {0, 1} | {2, 3, 4} from t=0.5 to t=6: messages between the sides are lost" in diagram
    assert 'class="partition"' not in sequence_diagram(Scenario(ring=(0, 1)), simulate(GapLease, Scenario(ring=(0, 1))).events, ())
