"""Reports drawn from saved files: ring state rebuilt from a trace, the pointers
blamed, the SVG pictures, the HTML page, the hunt summary and the CLI around them."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from dhtea.show import explain, svg
from dhtea.cli.main import main
from dhtea.traces.huntfile import HUNT_FORMAT, HUNT_VERSION
from dhtea.core.network import Network
from dhtea.search.continuing import continue_to_rest
from dhtea.show.report import default_output, render, load, snapshots
from dhtea.show.ringpicture import ring_picture
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.show.sequence import match_messages, sequence_diagram
from dhtea.traces.serial import read_trace, result_to_dict, save_trace, view_to_dict
from dhtea.drivers.simulator import simulate
from dhtea.traces.states import TraceStateError, apply_event, blamed_pointers, initial_views, views_after
from dhtea.strategies import scenarios
from invariants import DEFAULT, SAFETY

ROOT = Path(__file__).parents[2]
CASES = Path(__file__).parents[1] / "counterexamples"
JOINS = CASES / "classic-1-joins-complete.trace.json"
ORDER = CASES / "classic-2-ring-order.trace.json"
GAP = CASES / "classic-3-gap-exclusive.trace.json"
# A classic run where node 0's first NEW_NEIGHBOUR to 1 is slowed down, so the
# second one, sent later on the same link, arrives first.
OVERTAKEN = Scenario(ring=(0,), joins=JoinSchedule([Join(1, 0, 0)]), network=Network(delays=(1, 1, 5)))


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, f"exit {code}, stderr={err!r}"
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("dhtea: error: "), err
    for fragment in fragments:
        assert fragment in err, err


def final_views(data: dict) -> list[dict]:
    return data["final"]


# -- the ring state, rebuilt from the file ----------------------------------------


@pytest.mark.parametrize("path", [JOINS, ORDER, GAP], ids=lambda p: p.name)
def test_rebuilt_state_matches_the_saved_final_views(path):
    tf = read_trace(path)
    views = views_after(tf.scenario, tf.events, len(tf.events))
    assert [view_to_dict(views[n]) for n in sorted(views)] == final_views(tf.data)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(scenario=scenarios())
def test_rebuilt_state_matches_the_simulator_for_any_scenario(scenario):
    for protocol in ("classic", "gapowner"):
        data = json.loads(json.dumps(result_to_dict(simulate(protocol, scenario))))  # through JSON, as a file
        tf_events = [e for e in read_events(data)]
        views = views_after(scenario, tf_events, len(tf_events))
        assert [view_to_dict(views[n]) for n in sorted(views)] == data["final"]


def read_events(data: dict):
    from dhtea.traces.serial import event_from_dict

    return [event_from_dict(e) for e in data["events"]]


def test_initial_views_come_from_the_scenario():
    views = initial_views(Scenario(ring=(5, 1, 9), joins=JoinSchedule([Join(3, 0, 1)])))
    assert {n: (v.left, v.right, v.member) for n, v in views.items()} == {
        1: (9, 5, True), 5: (1, 9, True), 9: (5, 1, True), 3: (None, None, False)
    }
    alone = initial_views(Scenario(ring=(4,)))
    assert (alone[4].left, alone[4].right) == (4, 4)


def test_a_change_that_does_not_fit_the_state_is_refused(tmp_path):
    tf = read_trace(GAP)
    event = tf.events[4]  # node 0: right 3 -> 1
    views = initial_views(tf.scenario)
    assert apply_event(views, event)[0].right == 1
    assert views[0].right == 3  # not modified in place
    with pytest.raises(TraceStateError, match="event #4 says node 0's right was 3, but it was 2"):
        apply_event({**views, 0: views[0].__class__(0, 3, 2, True)}, event)


def test_blamed_pointers_name_the_wrong_ones():
    gap, order, joins = read_trace(GAP), read_trace(ORDER), read_trace(JOINS)
    at = lambda tf: views_after(tf.scenario, tf.events, tf.violations[0].event)  # noqa: E731
    # two ends of one gap naming two different joiners
    assert blamed_pointers(at(gap), gap.scenario.nodes, SAFETY) == {(0, "right"), (3, "left")}
    # 0's right names joiner 2, outside its gap; 1's right also names 2, but legally (2 is inside 1's gap)
    assert blamed_pointers(at(order), order.scenario.nodes, SAFETY) == {(0, "right")}
    # at rest: 0's right names a node that never became a member
    assert blamed_pointers(at(joins), joins.scenario.nodes, DEFAULT) == {(0, "right")}
    good = simulate("gapowner", gap.scenario)
    assert blamed_pointers({v.id: v for v in good.final}, gap.scenario.nodes, DEFAULT) == set()


# -- SVG helpers -----------------------------------------------------------------------


def test_svg_numbers_and_escaping_are_stable():
    assert [svg.num(x) for x in (1.0, 1.25, -0.04, 12.345, 0.0)] == ["1", "1.2", "0", "12.3", "0"]
    assert svg.esc('<a & "b">') == "&lt;a &amp; &quot;b&quot;&gt;"
    assert svg.element("rect", x=1.0, class_="a", stroke_width=2.0, skip=None) == '<rect x="1" class="a" stroke-width="2"/>'
    assert svg.text(0, 0, "1 < 2") == '<text x="0" y="0">1 &lt; 2</text>'


def test_arrowhead_points_along_the_arrow():
    tip, left, right = svg.arrowhead((10.0, 0.0), (0.0, 0.0), size=4.0)
    assert tip == (10.0, 0.0)
    assert left[0] == right[0] == 6.0 and left[1] == -right[1] != 0


# -- the pictures -------------------------------------------------------------------------


def test_ring_picture_draws_every_node_and_pointer_and_marks_the_wrong_ones():
    tf = read_trace(GAP)
    views = views_after(tf.scenario, tf.events, 7)
    picture = ring_picture(views, blamed={(0, "right"), (3, "left")}, involved={0, 3, 1, 2})
    assert sorted(int(n) for n in re.findall(r'class="node [^"]*" data-node="(\d+)"', picture)) == [0, 1, 2, 3]
    pointers = re.findall(r'class="pointer (left|right)( wrong)?" data-from="(\d+)" data-to="(\d+)"', picture)
    set_pointers = {(n, s, getattr(v, s)) for n, v in views.items() for s in ("left", "right") if getattr(v, s) is not None}
    assert {(int(f), s, int(t)) for s, _, f, t in pointers} == set_pointers
    assert {(int(f), s, int(t)) for s, w, f, t in pointers if w} == {(0, "right", 1), (3, "left", 2)}
    assert len(re.findall(r'class="node (member|joiner) involved"', picture)) == 4
    assert picture.count('class="node joiner') == 2  # 1 and 2 are not members yet


def _groups(diagram: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'data-(\w+)="(-?\d+)"', g)) for g in re.findall(r'<g class="message[^"]*"[^>]*>', diagram)]


def test_sequence_diagram_has_a_lifeline_per_node_and_an_arrow_per_message():
    tf = read_trace(GAP)
    diagram = sequence_diagram(tf.scenario, tf.events, tf.violations)
    assert sorted(int(n) for n in re.findall(r'class="lifeline[^"]*" data-node="(\d+)"', diagram)) == [0, 1, 2, 3]
    sends = [e for e in tf.events if e.kind == "send"]
    groups = _groups(diagram)
    assert [int(g["send"]) for g in groups] == [e.seq for e in sends]
    for g, e in zip(groups, sends):
        assert (int(g["src"]), int(g["dst"])) == (e.message.src, e.message.dst)
    delivered = {int(g["send"]): int(g["deliver"]) for g in groups if "deliver" in g}
    assert delivered == {1: 4, 3: 7}  # the two CONNECTs; the rest were in flight when the run stopped
    assert diagram.count('class="message in-flight"') == 4
    assert "CONNECT(joiner=1) t=0→1" in diagram  # label: kind, values, send and delivery times
    # the violation: a red band and a big red dot at event #7 on node 3's lifeline, and the label
    assert re.findall(r'class="step broke" data-seq="(\d+)"', diagram) == ["7"]
    assert diagram.count('class="broke-band"') == 1
    assert "✗ gap-exclusive broken here" in diagram
    assert len(re.findall(r'class="lifeline involved"', diagram)) == 4


def test_sequence_diagram_shows_a_message_overtaking_another():
    result = simulate("classic", OVERTAKEN)
    arrows = match_messages(result.events)
    assert [(a.send.seq, a.deliver.seq, a.overtakes) for a in arrows] == [(1, 2, ()), (3, 5, ()), (4, 8, ()), (6, 7, (4,))]
    diagram = sequence_diagram(result.scenario, result.events, result.violations)
    assert diagram.count('class="message overtaking"') == 1
    assert "overtakes #4" in diagram


def test_snapshots_merge_identical_states_and_blame_at_each():
    shots = snapshots(read_trace(GAP))
    assert [s.caption for s in shots] == [
        "Before the first event (t=0)",
        "Right after event #7 (t=1), when gap-exclusive broke; also at the end, t=1 (where the run stopped)",
    ]
    assert shots[0].blamed == frozenset() and shots[1].blamed == {(0, "right"), (3, "left")}
    assert shots[1].involved == {0, 1, 2, 3}


# -- words -------------------------------------------------------------------------------------


def test_every_invariant_has_words():
    for name in [i.name for i in DEFAULT] + ["handler-error", "progress"]:
        m = explain.meaning(name)
        assert m.title and len(m.text) > 80 and m.text.endswith(".")
    assert explain.meaning("short-queues").title == "short-queues broken"


def test_story_names_the_joiners_the_step_and_where_each_wrong_pointer_came_from():
    tf = read_trace(GAP)
    shot = snapshots(tf)[1]
    story = explain.story(tf.scenario, tf.events, tf.violations, shot.views, set(shot.blamed), at_rest=False)
    text = " ".join(story)
    assert "members 0 and 3" in text and "node 1 starts joining at t=0 through 0" in text.lower()
    assert "At event #7 (t=1), node 3 receives CONNECT(joiner=2) from 2 and changes left 0→2" in text
    assert "Node 0's right pointer names 1 since event #4" in text
    assert "Node 3's left pointer names 2 since event #7" in text


def test_story_of_a_stuck_join_lists_what_reached_the_joiner():
    tf = read_trace(JOINS)
    shot = snapshots(tf)[-1]
    text = " ".join(explain.story(tf.scenario, tf.events, tf.violations, shot.views, set(shot.blamed), at_rest=True))
    assert "Node 1 never became a member: it has left=0 but no right pointer" in text
    assert "#7 NEW_NEIGHBOUR(sender=0) from 0 set left unset→0; #8 NEW_NEIGHBOUR(sender=0) from 0 changed nothing" in text
    assert "Node 0 stays busy since event #2" in text


# -- the HTML page ---------------------------------------------------------------------------


class _Structure(HTMLParser):
    """Checks tags nest properly and collects what a test wants to see."""

    VOID = {"meta", "br", "img", "hr", "input", "link"}
    SVG_EMPTY = {"line", "circle", "rect", "polygon", "path"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.sections: list[str] = []
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "script":
            self.scripts.append(a.get("src", ""))
        for key in ("href", "src"):
            if a.get(key) and not a[key].startswith("#"):
                self.urls.append(a[key])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def parse(page: str) -> _Structure:
    s = _Structure()
    s.feed(page)
    s.close()
    assert not s.problems and not s.stack, (s.problems, s.stack)
    return s


@pytest.fixture(scope="module")
def hunt_dir(tmp_path_factory):
    """A small classic hunt, saved as `dhtea hunt` saves it."""
    out = tmp_path_factory.mktemp("hunt") / "classic"
    assert main(["hunt", "--protocol", "classic", "--examples", "200", "--seed", "1", "--quiet", "--out", str(out)]) == 1
    return out


def test_hunt_writes_a_summary_next_to_the_traces(hunt_dir, tmp_path):
    data = json.loads((hunt_dir / "hunt.json").read_text(encoding="utf-8"))
    assert data["format"] == HUNT_FORMAT and data["version"] == HUNT_VERSION
    assert data["protocol"] == "classic" and data["seed"] == 1 and data["examples"] > 200
    assert data["settings"] == {"examples_per_bug": 200, "max_bugs": 5, "max_ring": 5, "max_joiners": 4,
                                "workers": os.cpu_count() or 1}  # the default: every core
    assert data["bugs"] == sorted(p.name for p in hunt_dir.glob("*.trace.json"))
    again = tmp_path / "again"
    assert main(["hunt", "--protocol", "classic", "--examples", "200", "--seed", "1", "--quiet", "--out", str(again)]) == 1
    second = json.loads((again / "hunt.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in data.items() if k != "seconds"} == {k: v for k, v in second.items() if k != "seconds"}


def test_hunt_report_has_the_numbers_and_every_bug(hunt_dir):
    parts = load([hunt_dir])
    page = render(parts)
    s = parse(page)
    data = json.loads((hunt_dir / "hunt.json").read_text(encoding="utf-8"))
    assert s.sections == ["hunt-1"] + [f"trace-{i}" for i in range(1, len(data["bugs"]) + 1)]
    assert f"{data['examples']} (generated and shrunk" in page
    assert f"{data['seconds']:.1f} s" in page
    assert f"Hunt in classic: {len(data['bugs'])} distinct bug(s)" in page
    for i, name in enumerate(data["bugs"], 1):
        tf = read_trace(hunt_dir / name)
        v = tf.violations[0]
        assert f"Bug {i} &middot; {v.invariant}: {explain.meaning(v.invariant).title}" in page
        assert f"dhtea replay {hunt_dir / name}" in page
        assert explain.meaning(v.invariant).text.replace("'", "&#x27;") in page
    assert f"--out {hunt_dir}" in page  # how to run the hunt again


def test_trace_report_content_is_what_the_file_says():
    page = render(load([GAP]))
    s = parse(page)
    assert s.urls == [] and s.scripts == [""]  # nothing to fetch; one inline script (the stepper), no src
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    static = page.split("<h3>Step through the run</h3>")[0]
    assert static.count("<svg") == 2  # two ring pictures (the violation is also the end)
    assert page.count('class="sequence"') == 1
    assert "<b>gap-exclusive</b> broken at event #7 (t=1); nodes involved: 0, 3, 1, 2." in page
    assert "the gap between members 0 and 3 is claimed by two joiners: 0&#x27;s right names 1, 3&#x27;s left names 2" in page
    assert "<tr><th>initial ring</th><td>[0, 3]</td></tr>" in page
    assert "<tr><th>joins</th><td>1 at t=0 via 0; 2 at t=0 via 3</td></tr>" in page
    assert "<tr><th>latency</th><td>constant(value=1)</td></tr>" in page
    assert "<tr><th>seed</th><td>0</td></tr>" in page
    assert f"dhtea replay {GAP}" in page
    assert '<td class="wrong">1 ✗</td>' in page and '<td class="wrong">2 ✗</td>' in page
    assert '<mark class="broke">#7 ' in page  # the text timeline marks the breaking event


def test_passing_trace_report_says_so(tmp_path):
    path = save_trace(simulate("gapowner", read_trace(GAP).scenario), tmp_path / "fixed.trace.json")
    page = render(load([path]))
    parse(page)
    assert "fixed.trace.json &middot; passes: every invariant held" in page
    assert "Following right pointers: 0 → 1 → 2 → 3 → 0." in page
    assert '<td class="wrong">' not in page and " wrong\"" not in page  # nothing blamed, no red pointer
    assert 'class="step broke"' not in page and "broken here" not in page


def test_same_files_same_bytes(hunt_dir, tmp_path):
    a, b = tmp_path / "a.html", tmp_path / "b.html"
    assert main(["report", str(hunt_dir), str(GAP), "-o", str(a)]) == 0
    assert main(["report", str(hunt_dir), str(GAP), "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


# -- the command line ---------------------------------------------------------------------------


def test_report_command_writes_the_page(capsys, hunt_dir, tmp_path):
    out = tmp_path / "r" / "classic.html"
    code, stdout, err = cli(capsys, "report", str(hunt_dir / "hunt.json"), "-o", str(out))
    assert code == 0 and err == "" and stdout == f"report written to {out}\n"
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["classic.html"]  # no temp file left


def test_report_default_output_is_named_after_the_input(capsys, tmp_path, monkeypatch):
    assert default_output([Path("x/classic/hunt.json")]) == Path("reports/classic.html")
    assert default_output([Path("x/classic")]) == Path("reports/classic.html")
    assert default_output([GAP]) == Path("reports/classic-3-gap-exclusive.html")
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, "report", str(GAP))
    assert code == 0 and (tmp_path / "reports" / "classic-3-gap-exclusive.html").is_file()


def test_replay_save_writes_the_passing_run(capsys, tmp_path):
    saved = tmp_path / "gapowner-on-gap.trace.json"
    code, out, err = cli(capsys, "replay", str(GAP), "--protocol", "gapowner", "--save", str(saved))
    assert code == 0 and err == "" and f"trace saved to {saved}" in out
    tf = read_trace(saved)
    assert tf.protocol == "gapowner" and tf.violations == () and tf.data["status"] == "rest"
    code, out, _ = cli(capsys, "replay", str(saved), "--strict", "--quiet")
    assert code == 0 and out.startswith("reproduced exactly")


def _bad(tmp_path: Path, name: str, change) -> Path:
    data = json.loads(GAP.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _hunt_file(tmp_path: Path, **fields) -> Path:
    shutil.copy(GAP, tmp_path / GAP.name)
    data = {"format": "dhtea-hunt", "version": 1, "protocol": "classic", "seed": 0, "examples": 5, "seconds": 0.1,
            "bugs": [GAP.name], **fields}
    path = tmp_path / "hunt.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda t: t / "missing.trace.json", ["missing.trace.json: no such file"]),
        (lambda t: (t / "bad.json").write_text("{not json", encoding="utf-8") and t / "bad.json", ["not valid JSON"]),
        (lambda t: _bad(t, "v9.trace.json", lambda d: d.update(version=9)), ["unsupported trace version 9"]),
        (lambda t: _bad(t, "nofinal.trace.json", lambda d: d.pop("scenario")), ["missing field 'scenario'"]),
        (lambda t: _bad(t, "lie.trace.json", lambda d: d["events"][4]["changes"][0].__setitem__(1, 0)),
         ["inconsistent trace", "event #4"]),
        (lambda t: t, ["a folder without a hunt.json"]),
        (lambda t: _hunt_file(t, version=2), ["unsupported hunt summary version 2"]),
        (lambda t: _hunt_file(t, examples="many"), ["field 'examples' should be an integer"]),
        (lambda t: _hunt_file(t, bugs=["gone.trace.json"]), ["gone.trace.json: no such file"]),
        (lambda t: _hunt_file(t, protocol=None), ["missing field 'protocol'"]),
    ],
    ids=["missing", "not-json", "trace-version", "missing-field", "inconsistent-changes", "folder-without-summary",
         "hunt-version", "hunt-field-type", "hunt-bug-missing", "hunt-missing-field"],
)
def test_bad_report_input_is_one_line_and_exit_2(capsys, tmp_path, make, fragments):
    target = make(tmp_path)
    out_file = tmp_path / "out" / "r.html"
    code, out, err = cli(capsys, "report", str(target), "-o", str(out_file))
    one_line_error(code, out, err, *fragments)
    assert not out_file.exists()


def test_report_output_that_is_a_folder_is_one_line_and_exit_2(capsys, tmp_path):
    code, out, err = cli(capsys, "report", str(GAP), "-o", str(tmp_path))
    one_line_error(code, out, err, str(tmp_path))


def test_colour_show_of_an_inconsistent_trace_is_one_line(capsys, monkeypatch, tmp_path):
    import sys

    path = _bad(tmp_path, "lie.trace.json", lambda d: d["events"][4]["changes"][0].__setitem__(1, 0))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    code, out, err = cli(capsys, "show", str(path))
    assert code == 2 and err.startswith("dhtea: error: ") and len(err.splitlines()) == 1


# -- the committed reports ---------------------------------------------------------------------------


def test_committed_reports_are_regenerated_from_their_files(monkeypatch):
    """reports/*.html must be what `make reports` makes from the files next to them
    (if this fails after a change to the report code, run `make reports`)."""
    monkeypatch.chdir(ROOT)
    classic = render(load(["reports/classic"]), "dhtea report: the bugs of classic", continue_run=continue_to_rest)
    assert classic == (ROOT / "reports" / "classic.html").read_text(encoding="utf-8"), "run `make reports`"
    gap_inputs = ["reports/gapowner"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "reports/gapowner").glob("gapowner-on-*.trace.json"))
    gapowner = render(load(gap_inputs), "dhtea report: gapowner passes", continue_run=continue_to_rest)
    assert gapowner == (ROOT / "reports" / "gapowner.html").read_text(encoding="utf-8"), "run `make reports`"
    assert "3 distinct bug(s) in classic" in classic
    assert "gapowner passed the hunt" in gapowner and gapowner.count("passes: every invariant held") == 3


# -- any run can be reported ----------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["example_protocols:Crashing", "example_protocols:TimerJoin", "example_protocols:Lost"])
def test_odd_runs_render(protocol, tmp_path, monkeypatch):
    """Handler errors, timers, messages to nodes outside the run."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    result = simulate(protocol, Scenario(ring=(0, 5), joins=JoinSchedule([Join(3, 0, 0), Join(7, 1, 5)])))
    page = render(load([save_trace(result, tmp_path / "odd.trace.json")]))
    parse(page)
    assert page.count("<svg") >= 2


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(scenario=scenarios())
def test_any_run_renders(tmp_path_factory, scenario):
    folder = tmp_path_factory.mktemp("any")
    paths = [save_trace(simulate(p, scenario), folder / f"{p}.trace.json") for p in ("classic", "gapowner")]
    page = render(load(paths))
    parse(page)
    assert page.count('class="sequence"') == 2
