"""`dhtea report`: one self-contained HTML page about a hunt or some trace files.

Everything on the page comes from the files given: the hunt summary
(`hunt.json`) and the trace files. The ring pictures are rebuilt from each
trace's scenario and recorded changes (`states`), the pointers drawn red are
the ones the invariant checkers blame (`states.blamed_pointers`), the words come
from `explain`. The page is plain HTML with inline CSS and SVG and one small
inline script for the step-through view (`steps`): no network, and the same
files always give the same bytes.

The one thing not read from the files is the run past a violation: a trace of
a failing run stops right after it, and `continue_run` (given by the caller,
see `dhtea.search.continuing`) runs the same scenario on to rest so the
pictures show where the bug leads.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import attrs

from dhtea.show import explain
from dhtea.traces.files import write_text_atomic
from dhtea.traces.huntfile import SUMMARY_NAME, HuntFileError, HuntSummary, is_summary, read_json, summary_from_data
from dhtea.show.reportstyle import CSS, MSC_LEGEND, RING_LEGEND, STEP_LEGEND
from dhtea.show.ringpicture import ring_picture
from dhtea.show.sequence import sequence_diagram
from dhtea.show.steps import SCRIPT, Continuation, stepper
from dhtea.traces.serial import TraceFile, read_trace
from dhtea.traces.states import TraceStateError, blamed_pointers, views_after
from dhtea.show.timeline import describe_scenario, format_timeline
from invariants import AT_REST, DEFAULT, SAFETY, NodeView, Violation

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


#: Given a trace file, the rest of its run past the file's end (or why there is none).
ContinueRun = Callable[[TraceFile], Continuation]


def write_report(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    title: str | None = None,
    *,
    continue_run: ContinueRun | None = None,
) -> Path:
    parts = load(paths)
    target = Path(out) if out is not None else default_output(paths)
    _refuse_overwriting_an_input(target, parts)
    return write_text_atomic(target, render(parts, title, continue_run=continue_run))


def _refuse_overwriting_an_input(target: Path, parts: Sequence[Part]) -> None:
    """The page must never replace a file it was made from (a trace or a hunt.json)."""
    read = [p.hunt.path for p in parts if p.hunt is not None] + [tf.path for p in parts for tf in p.traces]
    for path in read:
        if target.resolve() == Path(path).resolve():
            raise HuntFileError(f"--out {target} is one of the files the report reads ({path}); "
                                "write the page elsewhere, e.g. reports/NAME.html")


# -- the page -------------------------------------------------------------------


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def render(parts: Sequence[Part], title: str | None = None, *, continue_run: ContinueRun | None = None) -> str:
    """The page. `continue_run`: how to get each failing run past the end of its
    trace file, for the pictures after the violation (None: not shown)."""
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
            after = continue_run(tf) if continue_run is not None else None
            body.append(trace_section(tf, heading, f"trace-{n}", after))
    sources = ", ".join(f"<code>{esc(p.hunt.path if p.hunt else p.traces[0].path)}</code>" for p in parts)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{esc(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{esc(title)}</h1>\n"
        f"<p class=\"sub\">Made by <code>dhtea report</code> from {sources}. Every picture below is drawn from these files.</p>\n"
        + "\n".join(body)
        + f"\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def hunt_section(hunt: HuntSummary, traces: Sequence[TraceFile], anchor: str, first: int) -> str:
    s = hunt.settings
    flags = "".join(
        f" --{flag} {s[key]}" for key, flag in (("examples_per_bug", "examples"), ("max_bugs", "max-bugs"),
                                               ("max_ring", "max-ring"), ("max_joiners", "max-joiners"),
                                               ("workers", "workers"), ("tasks", "tasks")) if key in s
    )
    command = f"dhtea hunt --protocol {hunt.protocol} --seed {hunt.seed}{flags} --out {hunt.path.parent}"
    found = len(traces)
    rows = [
        ("protocol", f"<b>{esc(hunt.protocol)}</b>"),
        ("scenarios run", f"{hunt.examples} (generated and shrunk by Hypothesis, seed {hunt.seed})"),
        ("distinct bugs", str(found)),
        ("time spent", f"{hunt.seconds:.1f} s" if hunt.seconds is not None else "not recorded (hunted with --no-timings)"),
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
        f"{verdict}\n{_facts(rows)}\n{coverage_block(hunt.statistics, hunt.interrupted)}\n"
        f"<p>Run this hunt again (same seed, same bugs):</p>\n"
        f"<pre class=\"command\">{esc(command)}</pre>\n</section>"
    )


def coverage_block(stats: dict, interrupted: bool = False) -> str:
    """What the hunt exercised: scenarios by feature and runs per interesting
    state, with every case no run reached marked "never" (a passing hunt that
    never tried a case proves nothing about it)."""
    note = ("<p class=\"never\"><b>This hunt was interrupted</b>: it stopped before its budget was spent.</p>\n"
            if interrupted else "")
    if not stats:
        return note
    rows = []
    for name, counts in stats["features"].items():
        cells = "".join(
            f"<td class=\"never\">{esc(v)}: never</td>" if n == 0 else f"<td>{esc(v)}: {n}</td>" for v, n in counts.items()
        )
        rows.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    for state, n in stats["states"].items():
        cell = "<td class=\"never\">never reached</td>" if n == 0 else f"<td>{n} run(s)</td>"
        rows.append(f"<tr><th>{esc(state)}</th>{cell}</tr>")
    never = stats["never"]
    summary = (f"<p class=\"never\"><b>Never exercised</b>: {esc(', '.join(never))}.</p>" if never
               else "<p>Every case listed was exercised at least once.</p>")
    return (f"{note}<h3>What the hunt exercised ({stats['runs']} runs)</h3>\n"
            f"<table class=\"coverage\">{''.join(rows)}</table>\n{summary}")


@attrs.frozen
class Snapshot:
    """The ring at one moment, as a picture shows it."""

    caption: str
    views: dict[int, NodeView]
    blamed: frozenset[tuple[int, str]]  # (node, side) pointers the checkers blame here
    involved: frozenset[int]  # nodes the violation at this moment names
    at_violation: bool = False


def _continued(after: Continuation | None) -> bool:
    return after is not None and bool(after.events)


def snapshots(tf: TraceFile, after: Continuation | None = None) -> list[Snapshot]:
    """The ring before the first event, right after the first violation, and at
    the end (of the run continued past the file's end, when `after` has it);
    moments that show the same state are merged into one picture.

    The checks that decide which pointers are wrong are the safety invariants,
    plus the at-rest ones for a moment when the run is at rest.
    """
    events, violations, scenario = tf.events, tf.violations, tf.scenario
    if _continued(after):
        return _snapshots_continued(tf, after)
    last = events[-1].seq if events else -1
    moments = [("before the first event (t=0)", -1, SAFETY, frozenset(), False)]
    if violations:
        v = violations[0]
        where = "before the first event" if v.event < 0 else f"right after event #{v.event} (t={_t(v.time)})"
        involved = frozenset(n for x in violations if x.event == v.event for n in x.nodes)
        checks = DEFAULT if v.invariant in AT_REST_NAMES else SAFETY
        moments.append((f"{where}, when {v.invariant} broke", v.event, checks, involved, True))
    status = tf.data.get("status")
    end_words = {"rest": "at rest", "deadline": "at the deadline", "violation": "where the run stopped"}.get(status, str(status))
    end_checks = DEFAULT if status in ("rest", "deadline") else SAFETY
    end_involved = frozenset(n for x in violations if x.event == last for n in x.nodes)
    moments.append((f"at the end, t={_t(tf.data.get('end_time'))} ({end_words})", last, end_checks, end_involved, False))

    shots: list[Snapshot] = []
    for caption, seq, checks, involved, at_violation in moments:
        views = views_after(scenario, events, seq)
        if shots and shots[-1].views == views:  # same state: one picture, both captions
            prev = shots.pop()
            caption = f"{prev.caption}; also {caption}"
            involved, at_violation = prev.involved | involved, prev.at_violation or at_violation
            blamed = prev.blamed | blamed_pointers(views, scenario.nodes, checks)
        else:
            caption = caption[0].upper() + caption[1:]
            blamed = frozenset(blamed_pointers(views, scenario.nodes, checks))
        shots.append(Snapshot(caption, views, frozenset(blamed), involved, at_violation))
    return shots


def _snapshots_continued(tf: TraceFile, after: Continuation) -> list[Snapshot]:
    """As `snapshots`, with the end taken from the run continued past the
    violation: where the bug leads once nothing is left in flight."""
    end_words = {"rest": "at rest", "deadline": "at the deadline", "max-events": "at the event limit"}.get(after.status, str(after.status))
    shots = [s for s in snapshots(tf) if "at the end" not in s.caption or s.at_violation]
    shots = [attrs.evolve(s, caption=s.caption.split("; also at the end")[0]) for s in shots]
    everything = tf.events + after.events
    views = views_after(tf.scenario, everything, everything[-1].seq)
    checks = DEFAULT if after.status in ("rest", "deadline") else SAFETY
    involved = frozenset(n for v in after.violations for n in v.nodes)
    caption = (f"At the end, t={_t(after.end_time)} ({end_words}): the same run, continued past the violation "
               f"(the trace file stops at it)")
    end = Snapshot(caption, views, frozenset(blamed_pointers(views, tf.scenario.nodes, checks)), involved)
    return shots + [end]


def trace_section(tf: TraceFile, heading: str, anchor: str, after: Continuation | None = None) -> str:
    """One run: what broke and why, the ring pictures, the step-through view
    with the sequence diagram, the scenario, the replay command and the text
    timeline. `after`: the run past the file's end, if it went on."""
    first = tf.violations[0] if tf.violations else None
    shots = snapshots(tf, after)
    if first is not None:
        title = f"{heading} &middot; {esc(first.invariant)}: {esc(explain.meaning(first.invariant).title)}"
    else:
        title = f"{heading} &middot; passes: every invariant held"
    events, scenario = tf.events, tf.scenario
    sends = sum(1 for e in events if e.kind == "send")
    sub = (f"protocol <b>{esc(tf.protocol)}</b> &middot; {len(scenario.joins)} joiner(s), initial ring of "
           f"{len(scenario.ring)} &middot; {len(events)} events, {sends} messages &middot; <code>{esc(tf.path)}</code>")
    return "\n".join([
        f"<section class=\"trace {'bug' if first else 'pass'}\" id=\"{anchor}\">",
        f"<h2>{title}</h2>",
        f"<p class=\"sub\">{sub}</p>",
        _verdict(tf, shots),
        "<h3>The ring</h3>", RING_LEGEND,
        "<div class=\"rings\">", *(_figure(s) for s in shots), "</div>",
        *_steps_and_messages(tf, anchor, after),
        _scenario_and_replay(tf),
        "<details>",
        "<summary>The timeline as text (as <code>dhtea show</code> prints it)</summary>",
        _timeline(tf, after),
        "</details>",
        "</section>",
    ])


def _verdict(tf: TraceFile, shots: Sequence[Snapshot]) -> str:
    """What broke, in general words and in this run's words, and the checkers' own messages."""
    violations = tf.violations
    first = violations[0] if violations else None
    key = next((s for s in shots if s.at_violation), shots[-1])
    at_rest = first.invariant in AT_REST_NAMES if first else tf.data.get("status") in ("rest", "deadline")
    story = explain.story(tf.scenario, tf.events, violations, key.views, set(key.blamed), at_rest)
    if shots[-1] is not key and "continued past the violation" in shots[-1].caption:
        story.append(_where_it_leads(shots[-1]))
    items = "".join(f"<li>{esc(s)}</li>" for s in story)
    if first is None:
        return f"<div class=\"verdict ok\">\n<p class=\"headline\">Every invariant held.</p>\n<ul class=\"story\">{items}</ul>\n</div>"
    if first.event < 0:
        when = "before the first event"
    elif first.invariant in AT_REST_NAMES:
        when = f"once the run was at rest, after event #{first.event} (t={_t(first.time)})"
    else:
        when = f"at event #{first.event} (t={_t(first.time)})"
    nodes = ", ".join(str(n) for n in first.nodes)
    checker = "".join(f"<li><b>{esc(v.invariant)}</b>: {esc(v.message)}{_traceback(v)}</li>" for v in violations)
    return "\n".join([
        "<div class=\"verdict\">",
        f"<p class=\"headline\"><b>{esc(first.invariant)}</b> broken {when}; nodes involved: {nodes}.</p>",
        f"<p class=\"meaning\">{esc(explain.meaning(first.invariant).text)}</p>",
        f"<p><b>What happened here</b></p>\n<ul class=\"story\">{items}</ul>",
        f"<p><b>The checkers report</b></p>\n<ul class=\"checker\">{checker}</ul>",
        "</div>",
    ])


def _where_it_leads(end: Snapshot) -> str:
    """The ring once the run, left to go on past the violation, came to its end."""
    views = end.views
    walk = explain.ring_walk(views)
    on_cycle = {int(n) for n in walk.split(" → ") if n.isdigit()}
    members = sorted(n for n, v in views.items() if v.member)
    left_out = [n for n in members if n not in on_cycle]
    joiners = sorted(n for n, v in views.items() if not v.member)
    words = [f"Left to run on past the violation, the run ends as the last picture shows; "
             f"following right pointers: {walk}"]
    if left_out:
        many = len(left_out) > 1
        words.append(f"member{'s' if many else ''} {', '.join(map(str, left_out))} {'are' if many else 'is'} never "
                     f"reached that way: the ring is split")
    if joiners:
        many = len(joiners) > 1
        words.append(f"node{'s' if many else ''} {', '.join(map(str, joiners))} never became {'members' if many else 'a member'}")
    return "; ".join(words) + "."


def _traceback(v: Violation) -> str:
    """Where a crashed handler raised, innermost frame last (empty for other violations)."""
    if not v.traceback:
        return ""
    lines = [f"{f.file}:{f.line} in {f.function}" + (f"\n    {f.code}" if f.code else "") for f in v.traceback]
    return f"<pre class=\"traceback\">{esc(chr(10).join(lines))}</pre>"


def _scenario_and_replay(tf: TraceFile) -> str:
    rows = [("protocol", esc(tf.protocol))]
    for line in describe_scenario(tf.scenario):  # "initial ring: [0, 3]", "joins: ...", ...
        key, _, value = line.partition(":")
        rows.append((key.strip(), esc(value.strip())))
    return "\n".join([
        "<div class=\"cols\">",
        f"<div>\n<h3>Scenario</h3>\n{_facts(rows)}\n</div>",
        "<div>\n<h3>Replay</h3>",
        f"<pre class=\"command\">{esc(f'dhtea replay {tf.path}')}</pre>",
        "<p>re-runs this scenario and checks that every event is the same as in the file. "
        "Add <code>--protocol NAME</code> to run the same scenario under another protocol.</p>",
        "</div>\n</div>",
    ])


def _figure(shot: Snapshot) -> str:
    picture = ring_picture(shot.views, blamed=shot.blamed, involved=shot.involved, label=f"the ring {shot.caption}")
    rows = []
    for n, v in sorted(shot.views.items()):
        cells = []
        for side in ("left", "right"):
            value = "unset" if getattr(v, side) is None else esc(str(getattr(v, side)))
            wrong = (n, side) in shot.blamed
            cells.append(f"<td class=\"wrong\">{value} ✗</td>" if wrong else f"<td>{value}</td>")
        state = v.role + (", busy" if v.busy else "") + (f", queue {list(v.queue)}" if v.queue else "")
        cls = " class=\"involved\"" if n in shot.involved else ""
        rows.append(f"<tr{cls}><th>{n}</th>{''.join(cells)}<td>{esc(state)}</td></tr>")
    table = f"<table class=\"state\"><tr><th>node</th><th>left</th><th>right</th><th>state</th></tr>{''.join(rows)}</table>"
    return f"<figure>\n{picture}\n<figcaption>{esc(shot.caption)}</figcaption>\n{table}\n</figure>\n"


def _steps_and_messages(tf: TraceFile, anchor: str, after: Continuation | None) -> list[str]:
    """The step-through panel and, under it, the sequence diagram it marks."""
    events = tf.events
    extra = after.events if _continued(after) else ()
    stopped = _stopped(tf, after)
    file_end = events[-1].seq if extra and events else None
    diagram = sequence_diagram(tf.scenario, events + extra, tf.violations, stopped=stopped, file_end=file_end)
    return [
        "<h3>Step through the run</h3>", STEP_LEGEND,
        stepper(tf.scenario, events, tf.violations, after, anchor),
        "<h3>The messages</h3>", MSC_LEGEND,
        "<div class=\"diagram\">", diagram, "</div>",
    ]


def _stopped(tf: TraceFile, after: Continuation | None = None) -> str:
    if _continued(after):
        end = _t(after.end_time)
        how = {"rest": f"at rest at t={end}, nothing left in flight", "deadline": f"the deadline, t={end}",
               "max-events": f"the event limit, t={end}"}.get(after.status, f"t={end}")
        return f"End: {how}. The trace file stops right after the violation; the rows below its end are the same run, continued."
    status, end = tf.data.get("status"), _t(tf.data.get("end_time", 0))
    in_flight = " Dashed arrows: messages still in flight."
    return {
        "rest": f"End: at rest at t={end}, nothing left in flight.",
        "violation": f"End: the run stops right after the violation, at t={end}.{in_flight}",
        "deadline": f"End: the deadline, t={end}.{in_flight}",
        "max-events": f"End: the event limit, t={end}.{in_flight}",
    }.get(status, f"End: t={end}.")


def _timeline(tf: TraceFile, after: Continuation | None = None) -> str:
    """The text timeline; each event's line carries its `data-seq`, for the stepper."""
    broke = {v.event for v in tf.violations}
    # Every event, unfolded: the stepper walks them one by one.
    lines = [_timeline_lines(format_timeline(tf.events, tf.violations, fold=False), broke)]
    if _continued(after):
        lines.append(esc(f"-- the trace file ends here; the same run, continued to {after.status}: --"))
        lines.append(_timeline_lines(format_timeline(after.events, after.violations, fold=False), set()))
    return "<pre class=\"timeline\">" + "\n".join(x for x in lines if x) + "</pre>"


def _timeline_lines(lines: Sequence[str], broke: set[int]) -> str:
    out = []
    for line in lines:
        seq = line[1:].split(" ", 1)[0] if line.startswith("#") else ""
        text = esc(line)
        if line.startswith("!!") or (seq.isdigit() and int(seq) in broke):
            text = f"<mark class=\"broke\">{text}</mark>"
        if seq.isdigit():
            text = f"<span class=\"tl\" data-seq=\"{seq}\">{text}</span>"
        out.append(text)
    return "\n".join(out)


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table; values are HTML already."""
    return "<table class=\"facts\">" + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _t(x: object) -> str:
    return f"{float(x):.3f}".rstrip("0").rstrip(".") if isinstance(x, (int, float)) else "?"
