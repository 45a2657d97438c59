"""The message sequence diagram of a run: one lifeline per node, one arrow per message.

Time runs down. Each step of the run (a join, a delivery, a timer) gets a row
of its own, in the order the simulator ran them; rows of equal simulated time
share a band, labelled with the time on the left. A message is an arrow from
the row of the step that sent it to the row where it was delivered, labelled
with its kind, values and its send and delivery times. Two messages on one
link delivered in the other order than sent are drawn orange ("overtakes"):
their arrows cross. Messages still in flight when the run stopped end dashed
at the bottom. The step after which an invariant broke has a red band, and the
nodes the violation names have red headers. The column on the right says what
each step changed. When the run went on past the end of its trace file, a
dashed line marks where the file ends. Every event has a hidden `cursor`
band (`data-seq`) that the report's stepper shows for the step it is on.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import attrs

from dhtea.show import svg
from dhtea.core.scenario import Scenario
from dhtea.core.trace import Event
from invariants import Violation

COLUMN, ROW, SEND_GAP, AXIS, HEADER, NOTES = 150, 30, 18, 78, 58, 300
FILE_END_GAP = 26  # room above the first row past the trace file's end, for the line saying so
NOTE_CHAR = 7.2  # width of one character of the notes column (11.5px monospace), generously
LABEL_CHAR = 6.4  # average width of one character of a message label (10.5px sans-serif), generously
KIND_COLOURS = ("#2563eb", "#7c3aed", "#0f766e", "#a16207", "#475569", "#db2777")
OVERTAKE, BROKE = "#ea580c", "#dc2626"


@attrs.frozen
class Arrow:
    send: Event
    deliver: Event | None  # None: lost, or still in flight when the run stopped
    overtakes: tuple[int, ...] = ()  # seqs of earlier sends on the same link it was delivered before


def match_messages(events: Sequence[Event]) -> list[Arrow]:
    """Pair each send with its delivery (same message, delivered at its arrival
    time, the earliest such delivery not yet taken) and find overtaking."""
    waiting: dict[tuple, list[Event]] = {}
    for e in events:
        if e.kind == "deliver":
            waiting.setdefault((e.message, e.time), []).append(e)
    pairs = []
    for e in events:
        if e.kind != "send":
            continue
        queue = waiting.get((e.message, e.arrive), [])
        deliver = next((d for d in queue if d.seq > e.seq), None)
        if deliver is not None:
            queue.remove(deliver)
        pairs.append((e, deliver))
    on_link: dict[tuple[int, int], list[tuple[Event, Event | None]]] = {}
    arrows = []
    for send, deliver in pairs:
        earlier = on_link.setdefault((send.message.src, send.message.dst), [])
        overtaken = () if deliver is None else tuple(
            s.seq for s, d in earlier if s.arrive is not None and (d is None or d.seq > deliver.seq)
        )
        arrows.append(Arrow(send, deliver, overtaken))
        earlier.append((send, deliver))
    return arrows


def step_rows(events: Sequence[Event]) -> dict[int, int]:
    """Row of every event: steps get rows in order; a send shares its step's row."""
    rows, row = {}, -1
    for e in events:
        if e.kind != "send" or row < 0:
            row += 1
        rows[e.seq] = row
    return rows


@attrs.frozen
class Layout:
    """Where things go down the page: `top[row]` is where a row starts, `y[seq]`
    the height of an event: a step's dot, or where a send's arrow leaves (the
    sends of a step leave one below the other, in the order they were sent)."""

    rows: dict[int, int]
    top: tuple[float, ...]
    y: dict[int, float]
    bottom: float


def layout(events: Sequence[Event], tall: Iterable[int] = (), gap_after: int | None = None) -> Layout:
    """`tall`: seqs of events whose row needs a second line (for a label);
    `gap_after`: the seq after whose row some room is left (the file's end)."""
    rows = step_rows(events)
    tall_rows = {rows[s] for s in tall if s in rows}
    y: dict[int, float] = {}
    top: list[float] = []
    at, sent = float(HEADER), 0
    for e in events:
        if e.kind != "send" or not top:
            if top:
                at += ROW + SEND_GAP * max(sent - 1, int(len(top) - 1 in tall_rows))
                if gap_after is not None and e.seq == gap_after + 1:
                    at += FILE_END_GAP
            top.append(at)
            sent = 0
        if e.kind == "send":
            y[e.seq] = at + ROW / 2 + SEND_GAP * sent
            sent += 1
        else:
            y[e.seq] = at + ROW / 2
    if top:
        at += ROW + SEND_GAP * max(sent - 1, int(len(top) - 1 in tall_rows))
    return Layout(rows, tuple(top), y, at + 20)


def sequence_diagram(
    scenario: Scenario,
    events: Sequence[Event],
    violations: Iterable[Violation],
    *,
    stopped: str = "",
    file_end: int | None = None,
) -> str:
    """The diagram as inline SVG. `stopped`: a few words on how the run ended;
    `file_end`: the last event of the trace file, when `events` go on past it."""
    violations = tuple(violations)
    nodes = sorted(scenario.nodes)
    column = {n: AXIS + COLUMN * i + COLUMN / 2 for i, n in enumerate(nodes)}
    if file_end is not None and not any(e.seq > file_end for e in events):
        file_end = None
    lay = layout(events, tall=[v.event for v in violations[:1]], gap_after=file_end)
    involved = {n for v in violations for n in v.nodes}
    broke_rows = {lay.rows[v.event] for v in violations if v.event in lay.rows}
    arrows = match_messages(events)
    drawn = [_arrow(a, column, lay.y, 0.0, {}) for a in arrows]  # first pass: how far labels reach
    notes_x = max([AXIS + COLUMN * len(nodes) + 14] + [reach + 12 for _, reach in drawn])
    crashed = {v.event: v for v in violations if v.invariant == "handler-error"}
    longest = max((len(_note(e, crashed.get(e.seq))) for e in events if e.kind != "send"), default=0)
    width = notes_x + max(NOTES, 16 + longest * NOTE_CHAR)
    end_line = lay.bottom - 12  # where the run stops
    in_flight = any(a.deliver is None and a.send.arrive is not None for a in arrows)
    bottom = end_line + (40 if in_flight else 0)  # messages still in flight end down here
    height = bottom + 40

    gap_row = lay.rows[next(e.seq for e in events if e.seq > file_end)] if file_end is not None else None

    def row_height(row: int) -> float:
        below = lay.top[row + 1] - (FILE_END_GAP if row + 1 == gap_row else 0) if row + 1 < len(lay.top) else lay.bottom - 20
        return below - lay.top[row]

    body: list[str] = []
    body += _time_bands(events, lay, width, row_height)
    body += _cursors(events, lay, width, row_height)
    if file_end is not None:
        body += _file_end(events, lay, file_end, width, notes_x)
    for row in sorted(broke_rows):
        body.append(svg.rect(0, lay.top[row], width, row_height(row), fill=BROKE, fill_opacity="0.13", class_="broke-band"))
    if any(v.event == -1 for v in violations):
        body.append(svg.rect(0, HEADER - 6, width, 6, fill=BROKE, class_="broke-band"))
    for n in nodes:
        body.append(svg.line((column[n], HEADER), (column[n], bottom), stroke="#9ca3af", stroke_width=1.0))
        body.append(_header(n, scenario, column[n], n in involved))
    kinds = sorted({e.message.kind for e in events if e.kind == "send"})
    colour = {k: KIND_COLOURS[i % len(KIND_COLOURS)] for i, k in enumerate(kinds)}
    for arrow in arrows:
        body.append(_arrow(arrow, column, lay.y, bottom, colour)[0])
    for e in events:
        if e.kind != "send":
            body.append(_step(e, column[e.node], lay.y[e.seq], lay.rows[e.seq] in broke_rows))
    for e in events:
        if e.kind != "send":
            body.append(svg.text(notes_x, lay.y[e.seq] + 4, _note(e, crashed.get(e.seq)), class_="note", font_size=11.5, fill="#111827"))
    for v in violations[:1]:  # one label: the first violation (the text lists the others)
        row = lay.rows.get(v.event)
        at = HEADER + 12 if row is None else lay.top[row] + ROW / 2 + SEND_GAP + 4
        word = f"✗ {v.invariant} broken here" if v.event in lay.rows else f"✗ {v.invariant} broken before the first event"
        body.append(svg.text(notes_x, at, word, class_="violation-label", font_size=12.5, font_weight="bold", fill=BROKE))
    body.append(svg.line((AXIS - 10, end_line), (width - 10, end_line), stroke="#6b7280", stroke_dasharray="6 4"))
    if in_flight:
        body.append(svg.text(width - 14, end_line + 16, "in flight when the run stopped", text_anchor="end", font_size=11, fill="#6b7280"))
    if stopped:
        body.append(svg.text(AXIS - 10, bottom + 24, stopped, font_size=12, fill="#374151"))
    label = f"message sequence diagram: {len(nodes)} nodes, {sum(1 for e in events if e.kind == 'send')} messages"
    return svg.document(width, height, body, label, class_="sequence")


def _cursors(events: Sequence[Event], lay: Layout, width: float, row_height) -> list[str]:
    """One hidden band per event, shown by the stepper: a step's whole row, or
    the strip where a send's arrow leaves."""
    out = []
    for e in events:
        if e.kind == "send":
            y, h = lay.y[e.seq] - SEND_GAP / 2, SEND_GAP
        else:
            row = lay.rows[e.seq]
            y, h = lay.top[row], row_height(row)
        out.append(svg.rect(0, y, width, h, class_="cursor", data_seq=e.seq))
    return out


def _file_end(events: Sequence[Event], lay: Layout, file_end: int, width: float, notes_x: float) -> list[str]:
    """The dashed line where the trace file ends and the continued run begins,
    labelled in the notes column, where no arrow runs."""
    first_after = next(e for e in events if e.seq > file_end)
    y = lay.top[lay.rows[first_after.seq]] - FILE_END_GAP / 2
    words = f"trace file ends after #{file_end}; below: the run continued"
    return [
        svg.line((0, y), (width, y), stroke=BROKE, stroke_width=1.2, stroke_dasharray="8 5", class_="file-end"),
        svg.text(notes_x, y - 3, words, font_size=11, fill=BROKE, class_="file-end-label"),
    ]


def _time_bands(events: Sequence[Event], lay: Layout, width: float, row_height) -> list[str]:
    out, last_time, shade = [], None, False
    for e in events:
        if e.kind == "send":
            continue
        row = lay.rows[e.seq]
        top = lay.top[row]
        if e.time != last_time:
            shade = not shade
            out.append(svg.line((0, top), (width, top), stroke="#d1d5db", stroke_width=1.0))
            out.append(svg.text(6, top + 16, f"t={_t(e.time)}", font_size=12.5, font_weight="bold", fill="#111827"))
            last_time = e.time
        if shade:
            out.append(svg.rect(AXIS - 12, top, width - AXIS + 12, row_height(row), fill="#f3f4f6"))
        out.append(svg.text(AXIS - 16, lay.y[e.seq] + 4, f"#{e.seq}", font_size=10.5, fill="#6b7280", text_anchor="end"))
    return out


def _header(n: int, scenario: Scenario, x: float, involved: bool) -> str:
    join = next((j for j in scenario.joins if j.node == n), None)
    role = f"joins t={_t(join.at)} via {join.bootstrap}" if join else "initial member"
    stroke = BROKE if involved else "#374151"
    return svg.element(
        "g",
        svg.rect(x - 48, 6, 96, 40, rx="6", fill="#ffffff" if join else "#dbeafe", stroke=stroke,
                 stroke_width=2.5 if involved else 1.2, stroke_dasharray="4 3" if join else None)
        + svg.text(x, 24, f"node {n}", text_anchor="middle", font_size=13, font_weight="bold")
        + svg.text(x, 39, role, text_anchor="middle", font_size=10, fill="#374151"),
        class_="lifeline" + (" involved" if involved else ""),
        data_node=n,
    )


def _step(e: Event, x: float, y: float, broke: bool) -> str:
    changed = bool(e.changes)
    return svg.circle(
        (x, y),
        7.0 if broke else 5.0,
        fill=BROKE if broke else ("#111827" if changed else "#ffffff"),
        stroke="#111827",
        stroke_width=1.2,
        class_="step" + (" broke" if broke else ""),
        data_seq=e.seq,
    )


def _arrow(arrow: Arrow, column, y: dict[int, float], bottom: float, colour: dict[str, str]) -> tuple[str, float]:
    """The arrow's SVG, and how far right its label reaches (estimated)."""
    send, deliver = arrow.send, arrow.deliver
    msg = send.message
    start = (column[msg.src], y[send.seq])
    in_flight = deliver is None and send.arrive is not None and msg.dst in column
    if deliver is not None:
        end = (column[msg.dst], y[deliver.seq])
        times = f"t={_t(send.time)}→{_t(deliver.time)}"
    elif in_flight:
        end = (column[msg.dst], bottom)
        times = f"t={_t(send.time)}→{_t(send.arrive)}, in flight"
    else:  # lost: no such node
        end = (start[0] + 40, start[1] + 10)
        times = "lost"
    stroke = OVERTAKE if arrow.overtakes else colour.get(msg.kind, "#000000")
    words = f"{msg.describe()} {times}"
    if arrow.overtakes:
        words += " overtakes " + ", ".join(f"#{s}" for s in arrow.overtakes)
    tip = f"#{send.seq} {msg.src}→{msg.dst} {words}" + (f", delivered at #{deliver.seq}" if deliver else "")
    parts = [svg.title(tip)]
    dash = "6 4" if deliver is None else None
    if msg.src == msg.dst and deliver is not None:  # to itself: a loop to the right of the lifeline
        x, y1, y2 = start[0], start[1], end[1]
        d = f"M{svg.num(x + 6)},{svg.num(y1)} C{svg.num(x + 44)},{svg.num(y1)} {svg.num(x + 44)},{svg.num(y2)} {svg.num(x + 8)},{svg.num(y2)}"
        parts.append(svg.element("path", d=d, fill="none", stroke=stroke, stroke_width=1.6))
        parts.append(svg.polygon(svg.arrowhead((x + 6, y2), (x + 30, y2)), fill=stroke))
        label_at, anchor = (x + 50, y1 + 3), "start"  # right of the loop's top, where it leaves
    else:
        a = svg.towards(start, end, 6)
        b = svg.towards(end, start, 7)
        parts.append(svg.line(a, b, stroke=stroke, stroke_width=1.6, stroke_dasharray=dash))
        parts.append(svg.polygon(svg.arrowhead(b, a), fill=stroke))
        if msg.dst not in column:
            parts.append(svg.text(b[0] + 4, b[1] + 4, "✗", fill=BROKE, font_size=13))
        label_at, anchor = _label_spot(a, b)
    parts.append(
        svg.text(label_at[0], label_at[1], words, text_anchor=anchor, font_size=10.5, fill=stroke, class_="msg-label")
    )
    cls = "message" + (" overtaking" if arrow.overtakes else "") + (" in-flight" if in_flight else "")
    reach = label_at[0] + (len(words) * LABEL_CHAR if anchor == "start" else 0)
    markup = svg.element(
        "g", "".join(parts), class_=cls, data_send=send.seq, data_deliver=deliver.seq if deliver else None,
        data_src=msg.src, data_dst=msg.dst,
    )
    return markup, reach


def _label_spot(a: svg.Point, b: svg.Point) -> tuple[svg.Point, str]:
    """Where a message's label goes: just above where its arrow leaves, on the
    side it leaves to (the sends of one step leave at different heights, so
    their labels never share a line)."""
    if b[0] >= a[0]:
        return (a[0] + 8, a[1] - 4), "start"
    return (a[0] - 8, a[1] - 4), "end"


def _note(e: Event, crash: Violation | None = None) -> str:
    if e.kind == "join":
        what = f"{e.node} starts joining"
    elif e.kind == "deliver":
        what = f"{e.node} ← {e.message.src} {e.message.kind}"
    else:
        what = f"{e.node} timer {e.timer}"
    change = ", ".join(f"{f} {_v(old)}→{_v(new)}" for f, old, new in e.changes)
    if crash is not None:  # the handler raised: say so, and where
        error = crash.message.split(" raised ", 1)[-1].split(":", 1)[0]
        where = f" at {crash.traceback[-1].file}:{crash.traceback[-1].line}" if crash.traceback else ""
        change = f"raised {error}{where}" + (f" after {change}" if change else "")
    return f"{what}: {change or 'no change'}"


def _v(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(str(x) for x in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _t(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")
