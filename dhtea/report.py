"""`dhtea report`: one self-contained HTML page about a hunt or some trace files.

Everything on the page comes from the files given: the hunt summary
(`hunt.json`) and the trace files. The ring pictures are rebuilt from each
trace's scenario and recorded changes (`states`), the pointers drawn red are
the ones the invariant checkers blame (`states.blamed_pointers`), the words come
from `explain`. The page is plain HTML with inline CSS and SVG: no script, no
network, and the same files always give the same bytes.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Iterable, Sequence

import attrs

from dhtea import explain
from dhtea.huntfile import SUMMARY_NAME, HuntFileError, HuntSummary, is_summary, read_json, summary_from_data, write_text_atomic
from dhtea.ringpicture import LEFT, RIGHT, WRONG, ring_picture
from dhtea.sequence import OVERTAKE, sequence_diagram
from dhtea.serial import TraceFile, read_trace
from dhtea.states import TraceStateError, blamed_pointers, initial_views, views_after
from dhtea.timeline import describe_scenario, format_timeline
from invariants import AT_REST, DEFAULT, SAFETY, NodeView

AT_REST_NAMES = {i.name for i in AT_REST}


@attrs.frozen
class Part:
    """One input of the report: a hunt (with its bugs' traces) or a single trace."""

    hunt: HuntSummary | None
    traces: tuple[TraceFile, ...]


def load(paths: Iterable[str | os.PathLike]) -> list[Part]:
    """Read every input: a trace file, a `hunt.json`, or a folder holding one."""
    parts = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            if not (path / SUMMARY_NAME).is_file():
                raise HuntFileError(f"{path}: a folder without a {SUMMARY_NAME} (give trace files, a {SUMMARY_NAME}, or its folder)")
            path = path / SUMMARY_NAME
        data = read_json(path)
        if is_summary(data):
            hunt = summary_from_data(path, data)
            parts.append(Part(hunt, tuple(_checked(read_trace(p)) for p in hunt.bugs)))
        else:
            parts.append(Part(None, (_checked(read_trace(path)),)))
    return parts


def _checked(tf: TraceFile) -> TraceFile:
    """A trace whose recorded changes replay cleanly from its scenario."""
    try:
        views_after(tf.scenario, tf.events, len(tf.data["events"]))
    except TraceStateError as exc:
        raise HuntFileError(f"{tf.path}: inconsistent trace: {exc}") from None
    return tf


def default_output(paths: Sequence[str | os.PathLike]) -> Path:
    """`reports/<name>.html`, named after the first input (hunt folder or trace)."""
    first = Path(paths[0])
    if first.name == SUMMARY_NAME:
        first = first.parent
    name = first.name.removesuffix(".json").removesuffix(".trace") or "report"
    return Path("reports") / f"{name}.html"


def write_report(paths: Sequence[str | os.PathLike], out: str | os.PathLike | None = None, title: str | None = None) -> Path:
    parts = load(paths)
    return write_text_atomic(out if out is not None else default_output(paths), render(parts, title))


# -- the page -------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def render(parts: Sequence[Part], title: str | None = None) -> str:
    protocols = sorted({tf.protocol for p in parts for tf in p.traces} | {p.hunt.protocol for p in parts if p.hunt})
    title = title or ("dhtea report: " + ", ".join(protocols))
    body, n = [], 0
    for i, part in enumerate(parts, 1):
        first = n + 1
        if part.hunt is not None:
            body.append(hunt_section(part.hunt, part.traces, f"hunt-{i}", first))
        for k, tf in enumerate(part.traces, 1):
            n += 1
            heading = f"Bug {k}" if part.hunt is not None else tf.path.name
            body.append(trace_section(tf, heading, f"trace-{n}"))
    sources = ", ".join(f"<code>{esc(p.hunt.path if p.hunt else p.traces[0].path)}</code>" for p in parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{esc(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{esc(title)}</h1>\n"
        f"<p class=\"sub\">Made by <code>dhtea report</code> from {sources}. Every picture below is drawn from these files.</p>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def hunt_section(hunt: HuntSummary, traces: Sequence[TraceFile], anchor: str, first: int) -> str:
    s = hunt.settings
    flags = "".join(
        f" --{flag} {s[key]}" for key, flag in (("examples_per_bug", "examples"), ("max_bugs", "max-bugs"),
                                               ("max_ring", "max-ring"), ("max_joiners", "max-joiners")) if key in s
    )
    command = f"dhtea hunt --protocol {hunt.protocol} --seed {hunt.seed}{flags} --out {hunt.path.parent}"
    found = len(traces)
    rows = [
        ("protocol", f"<b>{esc(hunt.protocol)}</b>"),
        ("scenarios run", f"{hunt.examples} (generated and shrunk by Hypothesis, seed {hunt.seed})"),
        ("distinct bugs", str(found)),
        ("time spent", f"{hunt.seconds:.1f} s"),
    ]
    if found:
        items = []
        for k, tf in enumerate(traces, 1):
            sig = tf.violations[0].invariant if tf.violations else "none"
            s_ = tf.scenario
            items.append(
                f"<li><a href=\"#trace-{first + k - 1}\"><b>{esc(sig)}</b>: {esc(explain.meaning(sig).title)}</a> "
                f"&middot; {len(s_.joins)} joiner(s), initial ring of {len(s_.ring)}, {len(tf.data['events'])} events "
                f"&middot; <code>{esc(tf.path)}</code></li>"
            )
        verdict = (f"<div class=\"verdict\"><p class=\"headline\">{found} distinct bug(s) in {esc(hunt.protocol)}, "
                   f"each shrunk to its smallest scenario:</p><ol class=\"bugs\">{''.join(items)}</ol></div>")
    else:
        verdict = (f"<div class=\"verdict ok\"><p class=\"headline\">No invariant was violated in {hunt.examples} scenarios: "
                   f"{esc(hunt.protocol)} passed the hunt.</p></div>")
    return (
        f"<section class=\"hunt\" id=\"{anchor}\">\n<h2>Hunt in {esc(hunt.protocol)}: {f'{found} distinct bug(s)' if found else 'no bug found'}</h2>\n"
        f"{verdict}\n{_facts(rows)}\n<p>Run this hunt again (same seed, same bugs):</p>\n"
        f"<pre class=\"command\">{esc(command)}</pre>\n</section>"
    )


@attrs.frozen
class Snapshot:
    caption: str
    views: dict[int, NodeView]
    blamed: frozenset[tuple[int, str]]
    involved: frozenset[int]


def snapshots(tf: TraceFile) -> list[Snapshot]:
    """The ring before the first event, right after the violation, and at the end
    (pictures showing the same state are merged into one)."""
    events, violations, nodes = tf.events, tf.violations, tf.scenario.nodes
    status, end_time = tf.data.get("status"), tf.data.get("end_time")
    at_rest = status in ("rest", "deadline")
    last = events[-1].seq if events else -1
    shots = [("before the first event (t=0)", initial_views(tf.scenario), SAFETY, frozenset())]
    if violations:
        v = violations[0]
        checks = DEFAULT if v.invariant in AT_REST_NAMES else SAFETY
        where = "before the first event" if v.event < 0 else f"right after event #{v.event} (t={_t(v.time)})"
        involved = frozenset(n for x in violations if x.event == v.event for n in x.nodes)
        shots.append((f"{where}, when {v.invariant} broke", views_after(tf.scenario, events, v.event), checks, involved))
    end_views = views_after(tf.scenario, events, last)
    end_words = {"rest": "at rest", "deadline": "at the deadline", "violation": "where the run stopped"}.get(status, str(status))
    end_involved = frozenset(n for x in violations if x.event == last for n in x.nodes)
    shots.append((f"at the end, t={_t(end_time)} ({end_words})", end_views, DEFAULT if at_rest else SAFETY, end_involved))
    merged: list[tuple[str, dict, tuple, frozenset]] = []
    for caption, views, checks, involved in shots:
        if merged and merged[-1][1] == views:
            prev = merged[-1]
            checks = tuple(dict.fromkeys(prev[2] + checks))
            merged[-1] = (prev[0] + "; also " + caption, views, checks, prev[3] | involved)
        else:
            merged.append((caption, views, checks, involved))
    return [
        Snapshot(caption[0].upper() + caption[1:], views, frozenset(blamed_pointers(views, nodes, checks)), involved)
        for caption, views, checks, involved in merged
    ]


def trace_section(tf: TraceFile, heading: str, anchor: str) -> str:
    events, violations, scenario = tf.events, tf.violations, tf.scenario
    status = tf.data.get("status")
    first = violations[0] if violations else None
    shots = snapshots(tf)
    key = next((s for s in shots if first is not None and "broke" in s.caption), shots[-1])
    at_rest = first is not None and first.invariant in AT_REST_NAMES or first is None and status in ("rest", "deadline")
    sends = sum(1 for e in events if e.kind == "send")
    sub = (f"protocol <b>{esc(tf.protocol)}</b> &middot; {len(scenario.joins)} joiner(s), initial ring of "
           f"{len(scenario.ring)} &middot; {len(events)} events, {sends} messages &middot; <code>{esc(tf.path)}</code>")
    story = explain.story(scenario, events, violations, key.views, set(key.blamed), at_rest)
    if first is not None:
        m = explain.meaning(first.invariant)
        title = f"{heading} &middot; {esc(first.invariant)}: {esc(m.title)}"
        nodes = ", ".join(str(n) for n in first.nodes)
        when = "before the first event" if first.event < 0 else f"at event #{first.event} (t={_t(first.time)})"
        if first.invariant in AT_REST_NAMES:
            when = f"once the run was at rest, after event #{first.event} (t={_t(first.time)})"
        checker = "".join(f"<li><b>{esc(v.invariant)}</b>: {esc(v.message)}</li>" for v in violations)
        verdict = (
            f"<div class=\"verdict\">\n<p class=\"headline\"><b>{esc(first.invariant)}</b> broken {when}; "
            f"nodes involved: {nodes}.</p>\n<p class=\"meaning\">{esc(m.text)}</p>\n"
            f"<p><b>What happened here</b></p>\n<ul class=\"story\">{''.join(f'<li>{esc(s)}</li>' for s in story)}</ul>\n"
            f"<p><b>The checkers report</b></p>\n<ul class=\"checker\">{checker}</ul>\n</div>"
        )
    else:
        title = f"{heading} &middot; passes: every invariant held"
        verdict = (f"<div class=\"verdict ok\">\n<p class=\"headline\">Every invariant held.</p>\n"
                   f"<ul class=\"story\">{''.join(f'<li>{esc(s)}</li>' for s in story)}</ul>\n</div>")
    replay = f"dhtea replay {tf.path}"
    scenario_rows = [(k.strip(), esc(v.strip())) for k, _, v in (line.partition(":") for line in describe_scenario(scenario))]
    return (
        f"<section class=\"trace{' bug' if first else ' pass'}\" id=\"{anchor}\">\n<h2>{title}</h2>\n<p class=\"sub\">{sub}</p>\n"
        f"{verdict}\n"
        f"<h3>The ring</h3>\n{RING_LEGEND}\n<div class=\"rings\">\n{''.join(_figure(s) for s in shots)}\n</div>\n"
        f"<h3>The messages</h3>\n{MSC_LEGEND}\n<div class=\"diagram\">\n"
        f"{sequence_diagram(scenario, events, violations, stopped=_stopped(tf))}\n</div>\n"
        f"<div class=\"cols\">\n<div>\n<h3>Scenario</h3>\n{_facts([('protocol', esc(tf.protocol))] + scenario_rows)}\n</div>\n"
        f"<div>\n<h3>Replay</h3>\n<pre class=\"command\">{esc(replay)}</pre>\n<p>re-runs this scenario and checks that every "
        f"event is the same as in the file. Add <code>--protocol NAME</code> to run the same scenario under another protocol.</p>\n</div>\n</div>\n"
        f"<details>\n<summary>The timeline as text (as <code>dhtea show</code> prints it)</summary>\n{_timeline(tf)}\n</details>\n"
        "</section>"
    )


def _figure(shot: Snapshot) -> str:
    picture = ring_picture(shot.views, blamed=shot.blamed, involved=shot.involved, label=f"the ring {shot.caption}")
    rows = []
    for n, v in sorted(shot.views.items()):
        cells = []
        for side in ("left", "right"):
            value = "unset" if getattr(v, side) is None else getattr(v, side)
            wrong = (n, side) in shot.blamed
            cells.append(f"<td class=\"wrong\">{value} ✗</td>" if wrong else f"<td>{value}</td>")
        state = ("member" if v.member else "joiner") + (", busy" if v.busy else "") + (f", queue {list(v.queue)}" if v.queue else "")
        cls = " class=\"involved\"" if n in shot.involved else ""
        rows.append(f"<tr{cls}><th>{n}</th>{''.join(cells)}<td>{esc(state)}</td></tr>")
    table = f"<table class=\"state\"><tr><th>node</th><th>left</th><th>right</th><th>state</th></tr>{''.join(rows)}</table>"
    return f"<figure>\n{picture}\n<figcaption>{esc(shot.caption)}</figcaption>\n{table}\n</figure>\n"


def _stopped(tf: TraceFile) -> str:
    status, end = tf.data.get("status"), _t(tf.data.get("end_time", 0))
    in_flight = " Dashed arrows: messages still in flight."
    return {
        "rest": f"End: at rest at t={end}, nothing left in flight.",
        "violation": f"End: the run stops right after the violation, at t={end}.{in_flight}",
        "deadline": f"End: the deadline, t={end}.{in_flight}",
        "max-events": f"End: the event limit, t={end}.{in_flight}",
    }.get(status, f"End: t={end}.")


def _timeline(tf: TraceFile) -> str:
    broke = {v.event for v in tf.violations}
    lines = []
    for line in format_timeline(tf.events, tf.violations):
        seq = line[1:].split(" ", 1)[0] if line.startswith("#") else ""
        text = esc(line)
        if line.startswith("!!") or (seq.isdigit() and int(seq) in broke):
            text = f"<mark class=\"broke\">{text}</mark>"
        lines.append(text)
    return "<pre class=\"timeline\">" + "\n".join(lines) + "</pre>"


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already."""
    return "<table class=\"facts\">" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _t(x: object) -> str:
    return f"{float(x):.3f}".rstrip("0").rstrip(".") if isinstance(x, (int, float)) else "?"


def _swatch(colour: str, dashed: bool = False) -> str:
    style = f"border-top:3px {'dashed' if dashed else 'solid'} {colour}"
    return f"<span class=\"swatch\" style=\"{style}\"></span>"


RING_LEGEND = (
    "<p class=\"legend\">Nodes sit clockwise in id order from the top; filled circles are members, dashed ones joiners. "
    f"{_swatch(RIGHT)}right pointer (wide arc) {_swatch(LEFT)}left pointer (narrow arc) "
    f"{_swatch(WRONG)}pointer the invariant checkers blame; a red outline marks the nodes the violation names. "
    "In a healthy ring each node's right arc reaches its clockwise neighbour and that neighbour's left arc comes back.</p>"
)
MSC_LEGEND = (
    "<p class=\"legend\">One lifeline per node, time runs down; each row is one step (the <code>#</code> is the event "
    "number, steps at the same time share a shaded band). An arrow is a message, from the step that sent it to the step "
    "that received it, labelled with its send and delivery times. Filled dots changed the node's state; the right column "
    f"says how. {_swatch(OVERTAKE)}a message that overtook an earlier one on the same link (the arrows cross). "
    f"{_swatch('#6b7280', True)}still in flight when the run stopped. The red band is the step after which the invariant broke.</p>"
)

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111827;margin:0;background:#f3f4f6}
main{max-width:1260px;margin:0 auto;padding:16px 22px 60px}
h1{font-size:26px;margin:6px 0 2px}
h2{font-size:21px;margin:0 0 2px}
h3{font-size:16px;margin:18px 0 6px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px 22px;margin:20px 0}
.sub{color:#4b5563;margin:0 0 10px}
.verdict{border-left:6px solid #dc2626;background:#fef2f2;padding:8px 16px;border-radius:6px}
.verdict.ok{border-color:#16a34a;background:#f0fdf4}
.verdict p{margin:6px 0}
.headline{font-size:17px}
.verdict ul{margin:4px 0 8px;padding-left:22px}
pre,code,.checker{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:13px}
pre{background:#f3f4f6;padding:8px 12px;border-radius:6px;overflow-x:auto;margin:4px 0}
.cols{display:flex;flex-wrap:wrap;gap:28px}
.cols>div{flex:1 1 420px}
table{border-collapse:collapse}
table.facts th{text-align:left;padding:2px 14px 2px 0;color:#4b5563;font-weight:normal;vertical-align:top}
table.facts td{padding:2px 0}
.rings{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;width:300px}
figcaption{font-size:13.5px;font-weight:bold;margin:2px 0 4px}
table.state{font-size:12.5px}
table.state th,table.state td{border:1px solid #e5e7eb;padding:1px 7px;text-align:center}
table.state td.wrong{color:#dc2626;font-weight:bold}
table.state tr.involved th{color:#dc2626}
.diagram{overflow-x:auto;border:1px solid #e5e7eb;border-radius:6px}
.legend{font-size:13px;color:#374151;margin:2px 0 8px}
.swatch{display:inline-block;width:22px;height:0;vertical-align:middle;margin:0 4px 0 8px}
mark.broke{background:#fee2e2;color:#991b1b}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
svg .note{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
svg .msg-label,svg .node-note{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
details{margin-top:12px}
"""
