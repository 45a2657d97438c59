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
NOTE_SIZE, LABEL_SIZE, NUMBER_SIZE, TIME_SIZE = 11.5, 10.5, 10.5, 12.5  # font sizes (px) of the texts
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
    left = _left_margin(events)
    column = {n: left + COLUMN * i + COLUMN / 2 for i, n in enumerate(nodes)}
    if file_end is not None and not any(e.seq > file_end for e in events):
        file_end = None
    lay = layout(events, tall=[v.event for v in violations[:1]], gap_after=file_end)
    involved = {n for v in violations for n in v.nodes}
    broke_rows = {lay.rows[v.event] for v in violations if v.event in lay.rows}
    arrows = match_messages(events)
    end_line = lay.bottom - 12  # where the run stops
    in_flight = any(a.deliver is None and a.send.arrive is not None for a in arrows)
    bottom = end_line + (40 if in_flight else 0)  # messages still in flight end down here
    height = bottom + 40
    kinds = sorted({e.message.kind for e in events if e.kind == "send"})
    colour = {k: KIND_COLOURS[i % len(KIND_COLOURS)] for i, k in enumerate(kinds)}
    lane_x = left + COLUMN * (len(nodes) - 1) + COLUMN / 2 + 60  # right of the last lifeline and its loops
    shapes = [_shape(a, column, lay.y, bottom, colour, lane_x) for a in arrows]
    fixed = _fixed_boxes(events, lay, left, column)
    labels = place_labels(shapes, fixed, left)
    reach = [svg.text_box(x, y, words, LABEL_SIZE, anchor)[2] for x, y, anchor, words in labels]
    notes_x = max([left + COLUMN * len(nodes) + 14] + [r + 12 for r in reach])
    crashed = {v.event: v for v in violations if v.invariant == "handler-error"}
    longest = max((svg.text_width(_note(e, crashed.get(e.seq)), NOTE_SIZE, mono=True) for e in events if e.kind != "send"), default=0)
    width = notes_x + max(NOTES, 16 + longest)

    gap_row = lay.rows[next(e.seq for e in events if e.seq > file_end)] if file_end is not None else None

    def row_height(row: int) -> float:
        below = lay.top[row + 1] - (FILE_END_GAP if row + 1 == gap_row else 0) if row + 1 < len(lay.top) else lay.bottom - 20
        return below - lay.top[row]

    body: list[str] = []
    body += _time_bands(events, lay, width, row_height, left)
    body += _cursors(events, lay, width, row_height)
    body += _partitions(scenario, events, lay, row_height)
    if file_end is not None:
        body += _file_end(events, lay, file_end, width, notes_x)
    for row in sorted(broke_rows):
        body.append(svg.rect(0, lay.top[row], width, row_height(row), fill=BROKE, fill_opacity="0.13", class_="broke-band"))
    if any(v.event == -1 for v in violations):
        body.append(svg.rect(0, HEADER - 6, width, 6, fill=BROKE, class_="broke-band"))
    for n in nodes:
        body.append(svg.line((column[n], HEADER), (column[n], bottom), stroke="#9ca3af", stroke_width=1.0, class_="axis"))
        body.append(_header(n, scenario, column[n], n in involved))
    for shape, spot in zip(shapes, labels):
        body.append(_arrow(shape, spot))
    for e in events:
        if e.kind != "send":
            body.append(_step(e, column[e.node], lay.y[e.seq], lay.rows[e.seq] in broke_rows))
    for e in events:
        if e.kind != "send":
            body.append(svg.text(notes_x, lay.y[e.seq] + 4, _note(e, crashed.get(e.seq)), class_="note", font_size=NOTE_SIZE, fill="#111827"))
    for v in violations[:1]:  # one label: the first violation (the text lists the others)
        row = lay.rows.get(v.event)
        at = HEADER + 12 if row is None else lay.top[row] + ROW / 2 + SEND_GAP + 4
        word = f"✗ {v.invariant} broken here" if v.event in lay.rows else f"✗ {v.invariant} broken before the first event"
        body.append(svg.text(notes_x, at, word, class_="violation-label", font_size=12.5, font_weight="bold", fill=BROKE))
    body.append(svg.line((left - 10, end_line), (width - 10, end_line), stroke="#6b7280", stroke_dasharray="6 4"))
    if in_flight:
        body.append(svg.text(width - 14, end_line + 16, "in flight when the run stopped", text_anchor="end", font_size=11, fill="#6b7280"))
    if stopped:
        body.append(svg.text(left - 10, bottom + 24, stopped, font_size=12, fill="#374151"))
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


def _left_margin(events: Sequence[Event]) -> float:
    """Where the first column starts: room on the left for the longest time
    label, then the widest event number, with a gap between them."""
    times = max((svg.text_width(f"t={_t(e.time)}", TIME_SIZE, bold=True) for e in events), default=0.0)
    numbers = max((svg.text_width(f"#{e.seq}", NUMBER_SIZE) for e in events), default=0.0)
    return max(float(AXIS), 6 + times + 8 + numbers + 16)


def _fixed_boxes(events: Sequence[Event], lay: Layout, left: float, column: dict[int, float]) -> list[svg.Box]:
    """What message labels must keep clear of besides arrows: event numbers,
    time labels, step dots and the lifeline headers."""
    out: list[svg.Box] = []
    last_time = None
    for e in events:
        if e.kind == "send":
            continue
        y = lay.y[e.seq]
        out.append(svg.text_box(left - 16, y + 4, f"#{e.seq}", NUMBER_SIZE, "end"))
        if e.time != last_time:
            top = lay.top[lay.rows[e.seq]]
            out.append(svg.text_box(6, top + 16, f"t={_t(e.time)}", TIME_SIZE, bold=True))
            last_time = e.time
        x = column[e.node]
        out.append((x - 8, y - 8, x + 8, y + 8))  # the step's dot (7 px at most)
    for x in column.values():
        out.append((x - 49, 5, x + 49, 47))
    return out


def _time_bands(events: Sequence[Event], lay: Layout, width: float, row_height, left: float) -> list[str]:
    out, last_time, shade = [], None, False
    for e in events:
        if e.kind == "send":
            continue
        row = lay.rows[e.seq]
        top = lay.top[row]
        if e.time != last_time:
            shade = not shade
            out.append(svg.line((0, top), (width, top), stroke="#d1d5db", stroke_width=1.0))
            out.append(svg.text(6, top + 16, f"t={_t(e.time)}", font_size=TIME_SIZE, font_weight="bold", fill="#111827", class_="time"))
            last_time = e.time
        if shade:
            out.append(svg.rect(left - 12, top, width - left + 12, row_height(row), fill="#f3f4f6"))
        out.append(svg.text(left - 16, lay.y[e.seq] + 4, f"#{e.seq}", font_size=NUMBER_SIZE, fill="#6b7280", text_anchor="end", class_="seq"))
    return out


PARTITION = "#a855f7"


def _partitions(scenario: Scenario, events: Sequence[Event], lay: Layout, row_height) -> list[str]:
    """A bar down the left edge over the rows a partition covers (messages
    between its sides sent then are lost), its sides in the tooltip."""
    out = []
    for k, p in enumerate(scenario.network.partitions):
        rows = sorted({lay.rows[e.seq] for e in events if e.kind != "send" and p.start <= e.time < p.end})
        if not rows:
            continue
        top, bottom = lay.top[rows[0]], lay.top[rows[-1]] + row_height(rows[-1])
        sides = f"{{{', '.join(map(str, p.side_a))}}} | {{{', '.join(map(str, p.side_b))}}}"
        tip = f"partition {sides} from t={_t(p.start)} to t={_t(p.end)}: messages between the sides are lost"
        out.append(svg.element("g", svg.title(tip) + svg.rect(1 + 4 * k, top, 3, bottom - top, fill=PARTITION),
                               class_="partition"))
    return out


def _header(n: int, scenario: Scenario, x: float, involved: bool) -> str:
    join = next((j for j in scenario.joins if j.node == n), None)
    role = f"joins t={_t(join.at)} via {join.bootstrap}" if join else "initial member"
    for op in scenario.churn if join is None else ():  # a member's header says when it is scheduled to go
        if op.node == n:
            role = f"member, {'leaves' if op.kind == 'leave' else 'crashes'} t={_t(op.at)}"
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


@attrs.frozen
class Shape:
    """Where one message's arrow runs, before its label is placed."""

    arrow: Arrow
    words: str
    colour: str
    markup: tuple[str, ...]  # the arrow's own SVG parts (line or loop, head, a lost mark)
    track: tuple[svg.Point, ...]  # points along the arrow, for keeping labels off it
    head: svg.Box  # the arrowhead (and a lost mark) as a box
    spots: tuple[tuple[float, float, str], ...]  # label places to try, best first: x, baseline, anchor
    lane: tuple[float, float]  # the last resort: where the label's line starts, right of every lifeline
    in_flight: bool


def _shape(arrow: Arrow, column, y: dict[int, float], bottom: float, colour: dict[str, str], lane_x: float) -> Shape:
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
    else:  # lost: no such node, or the network lost it
        end = (start[0] + 40, start[1] + 10)
        times = {"lost": "LOST", "partitioned": "LOST: partition"}.get(send.fault or "", "lost")
    stroke = OVERTAKE if arrow.overtakes else colour.get(msg.kind, "#000000")
    words = f"{msg.describe()} {times}"
    if send.fault == "duplicated":
        words += " (DUPLICATED)"
    if arrow.overtakes:
        words += " overtakes " + ", ".join(f"#{s}" for s in arrow.overtakes)
    dash = "6 4" if deliver is None else None
    if msg.src == msg.dst and deliver is not None:  # to itself: a loop to the right of the lifeline
        x, y1, y2 = start[0], start[1], end[1]
        d = f"M{svg.num(x + 6)},{svg.num(y1)} C{svg.num(x + 44)},{svg.num(y1)} {svg.num(x + 44)},{svg.num(y2)} {svg.num(x + 8)},{svg.num(y2)}"
        head = svg.arrowhead((x + 6, y2), (x + 30, y2))
        markup = (svg.element("path", d=d, fill="none", stroke=stroke, stroke_width=1.6), svg.polygon(head, fill=stroke))
        track = svg.cubic((x + 6, y1), (x + 44, y1), (x + 44, y2), (x + 8, y2))
        spots = ((x + 50, y1 + 3, "start"), (x + 50, y2 + 3, "start"), (x - 8, y1 - 4, "end"))
    else:
        a = svg.towards(start, end, 6)
        b = svg.towards(end, start, 7)
        head = svg.arrowhead(b, a)
        markup = (svg.line(a, b, stroke=stroke, stroke_width=1.6, stroke_dasharray=dash), svg.polygon(head, fill=stroke))
        if msg.dst not in column:
            markup += (svg.text(b[0] + 4, b[1] + 4, "✗", fill=BROKE, font_size=13, class_="lost-mark"),)
            head = head + [(b[0] + 4 + svg.text_width("✗", 13), b[1] + 4 - 13 * 0.82), (b[0] + 4, b[1] + 4 + 13 * 0.26)]
        track = (a, b)
        ahead = 1 if b[0] >= a[0] else -1  # the side the arrow leaves to
        out, back = ("start", "end") if ahead > 0 else ("end", "start")
        # A label touching its arrow at some point p of it: above p on the side the
        # arrow goes to, or under p on the side it comes from; either way clear of
        # the arrow itself, which runs down from p. Nearest the start first.
        spots = []
        for k in range(5):
            p = (a[0] + (b[0] - a[0]) * k / 5, a[1] + (b[1] - a[1]) * k / 5)
            spots.append((p[0] + (8 if k == 0 else 4) * ahead, p[1] - 4, out))
            spots.append((p[0] - (8 if k == 0 else 4) * ahead, p[1] + 4 + 0.82 * LABEL_SIZE + 1, back))
        spots.append((b[0] + 10 * ahead, b[1] - 6, out))  # just above where it arrives, beyond the lifeline
        spots = tuple(spots)
    return Shape(arrow, words, stroke, markup, tuple(track), svg.polygon_box(head), spots, (lane_x, start[1] + 4), in_flight)


def place_labels(
    shapes: Sequence[Shape], fixed: Sequence[svg.Box], left: float, size: float = LABEL_SIZE
) -> list[tuple[float, float, str, str]]:
    """A place for every message label (x, baseline, anchor, words) where it
    touches no arrow, arrowhead, step dot, event number or other label: the first
    of its arrow's spots that is clear, else a line of its own right of every
    lifeline (with the link it belongs to in front), moved right until clear."""
    arrows = [(sh.track, svg.grow(sh.head, 1.0)) for sh in shapes]

    def clear(box: svg.Box, taken: list[svg.Box]) -> bool:
        if box[0] < left - 10:  # not into the margin of times and event numbers, nor off the picture
            return False
        padded = svg.grow(box, 1.5)  # arrows are 1.6 px wide, and text needs a little air
        if any(svg.boxes_meet(padded, b) for b in taken) or any(svg.boxes_meet(padded, b) for b in fixed):
            return False
        return not any(svg.boxes_meet(padded, head) or svg.polyline_meets_box(list(track), padded) for track, head in arrows)

    placed: list[tuple[float, float, str, str]] = []
    taken: list[svg.Box] = []
    for sh in shapes:
        for x, y, anchor in sh.spots:
            box = svg.text_box(x, y, sh.words, size, anchor)
            if clear(box, taken):
                break
        else:
            msg = sh.arrow.send.message
            words = f"{msg.src}→{msg.dst} {sh.words}"
            x, y = sh.lane
            anchor = "start"
            box = svg.text_box(x, y, words, size)
            while not clear(box, taken):  # nothing is drawn far enough right: this ends
                x += 12
                box = svg.text_box(x, y, words, size)
            placed.append((x, y, anchor, words))
            taken.append(box)
            continue
        placed.append((x, y, anchor, sh.words))
        taken.append(box)
    return placed


def _arrow(sh: Shape, label: tuple[float, float, str, str]) -> str:
    send, deliver, msg = sh.arrow.send, sh.arrow.deliver, sh.arrow.send.message
    tip = f"#{send.seq} {msg.src}→{msg.dst} {sh.words}" + (f", delivered at #{deliver.seq}" if deliver else "")
    x, y, anchor, words = label
    text = svg.text(x, y, words, text_anchor=anchor, font_size=LABEL_SIZE, fill=sh.colour, class_="msg-label")
    cls = "message" + (" overtaking" if sh.arrow.overtakes else "") + (" in-flight" if sh.in_flight else "")
    return svg.element(
        "g", svg.title(tip) + "".join(sh.markup) + text, class_=cls, data_send=send.seq,
        data_deliver=deliver.seq if deliver else None, data_src=msg.src, data_dst=msg.dst,
    )


def _note(e: Event, crash: Violation | None = None) -> str:
    if e.kind == "join":
        what = f"{e.node} starts joining"
    elif e.kind == "deliver":
        what = f"{e.node} ← {e.message.src} {e.message.kind}"
    elif e.kind in ("leave", "crash"):
        what = f"{e.node} {'LEAVES' if e.kind == 'leave' else 'CRASHES'}"
    elif e.kind == "drop":
        what = f"{e.node} (gone) loses {e.message.kind} from {e.message.src}"
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
