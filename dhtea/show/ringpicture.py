"""The ring as a picture: nodes on a circle in id order, pointers as arrows.

Nodes sit clockwise in increasing id order, starting at the top, joiners
included (drawn dashed until they are members). Right pointers are the wide
blue arcs that run clockwise, left pointers the narrow green arcs that run
anticlockwise; a pointer the checkers blame is red and thicker, and the nodes
the violation names have a red outline.

Labels never sit on a pointer: an arc that would run through another node
bows less, or the other way; a node's note ("busy", its queue) goes to the
first place around the node that touches no pointer, node or other label, and
to a line under the ring if there is none.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

from dhtea.show import svg
from invariants import NodeView

RIGHT, LEFT, WRONG = "#2563eb", "#16a34a", "#dc2626"
WIDTH, HEIGHT = 300, 280
CENTRE = (150.0, 140.0)
RADIUS, NODE = 95.0, 17.0
BULGE = {"right": 0.30, "left": 0.14}  # how far each kind of arc bows away from the straight line


def positions(nodes: Iterable[int]) -> dict[int, svg.Point]:
    """Where each node sits: evenly spaced, clockwise in id order from the top."""
    ordered = sorted(nodes)
    out = {}
    for i, n in enumerate(ordered):
        angle = -math.pi / 2 + 2 * math.pi * i / len(ordered)
        out[n] = (CENTRE[0] + RADIUS * math.cos(angle), CENTRE[1] + RADIUS * math.sin(angle))
    return out


def ring_picture(
    views: Mapping[int, NodeView],
    *,
    blamed: Iterable[tuple[int, str]] = (),
    involved: Iterable[int] = (),
    label: str = "ring",
) -> str:
    """An inline SVG of the ring in `views`. `blamed`: (node, side) pointers to
    draw as wrong; `involved`: nodes to outline in red."""
    blamed, involved = set(blamed), set(involved)
    where = positions(views)
    body: list[str] = []
    body.append(svg.circle(CENTRE, RADIUS, fill="none", stroke="#e5e7eb", stroke_width=1.0, stroke_dasharray="3 4"))
    wrong_last = sorted(
        ((n, side) for n in sorted(views) for side in ("right", "left") if getattr(views[n], side) is not None),
        key=lambda p: p in blamed,
    )
    tracks: list[list[svg.Point]] = []
    heads: list[svg.Box] = []
    stubs: list[tuple[int, str, int, svg.Point, svg.Point, str]] = []
    for n, side in wrong_last:
        markup, track, head, stub = _pointer(n, side, getattr(views[n], side), where, (n, side) in blamed)
        if views[n].gone is not None and (n, side) not in blamed:  # frozen when it stopped: not part of the ring
            markup = svg.element("g", markup, opacity="0.35")
        body.append(markup)
        tracks.append(track)
        heads.append(head)
        if stub is not None:
            stubs.append(stub)
    nodes = [(where[n][0] - NODE - 2, where[n][1] - NODE - 2, where[n][0] + NODE + 2, where[n][1] + NODE + 2) for n in sorted(views)]
    taken: list[svg.Box] = []
    footer: list[tuple[str, str]] = []  # (words, class)

    def clear(box: svg.Box) -> bool:
        if box[0] < 1 or box[1] < 1 or box[2] > WIDTH - 1 or box[3] > HEIGHT - 1:
            return False
        padded = svg.grow(box, 1.5)
        return not (
            any(svg.boxes_meet(padded, b) for b in taken + nodes + heads)
            or any(svg.polyline_meets_box(t, padded) for t in tracks)
        )

    for n, side, target, end, out, colour in stubs:  # "12345?": what a pointer out of the run names
        words = f"{target}?"
        spot = _first_clear(clear, words, STUB_SIZE, end, [out], start=4)
        if spot is None:
            footer.append((f"{n}.{side} = {target}, not a node of the run", "stub-label"))
            continue
        taken.append(svg.text_box(*spot, words, STUB_SIZE, "middle"))
        body.append(svg.text(*spot, words, fill=colour, text_anchor="middle", font_size=STUB_SIZE, class_="stub-label"))
    for n in sorted(views):
        body.append(_node(views[n], where[n], n in involved))
    for n in sorted(views):
        words = _note_words(views[n])
        if not words:
            continue
        p = where[n]
        out = svg.unit(CENTRE, p)
        spot = _first_clear(clear, words, NOTE_SIZE, p, [_turn(out, a) for a in NOTE_TURNS], start=NODE + 3, bold=True)
        if spot is None:
            footer.append((f"{n}: {words}", "node-note"))
            continue
        taken.append(svg.text_box(*spot, words, NOTE_SIZE, "middle", bold=True))
        body.append(svg.text(*spot, words, text_anchor="middle", font_size=NOTE_SIZE, font_weight="bold", fill="#b45309",
                             class_="node-note", data_node=n))
    height = HEIGHT
    for line, cls in footer:  # what found no room in the picture: one line each, under it
        height += 16
        body.append(svg.text(8, height - 5, line, font_size=NOTE_SIZE, font_weight="bold", fill="#b45309", class_=cls))
    return svg.document(WIDTH, height, body, label, class_="ring")


NOTE_SIZE, STUB_SIZE = 11.0, 12.0  # font sizes (px) of a node's note and of a pointer stub's name
NOTE_TURNS = (0, 35, -35, 70, -70, 110, -110, 150, -150, 180)  # where to try a note, in degrees from straight out


def _turn(v: svg.Point, degrees: float) -> svg.Point:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return (v[0] * c - v[1] * s, v[0] * s + v[1] * c)


def _first_clear(clear, words: str, size: float, p: svg.Point, directions, start: float, bold: bool = False):
    """The first spot (centre x, baseline) in `directions` from p, at `start`
    px and then a little further, where `words` are clear of everything."""
    w = svg.text_width(words, size, bold=bold)
    h = 1.08 * size
    for reach in (start, start + 8, start + 16):
        for d in directions:
            # the box's centre, far enough along d that its near side is `reach` from p
            along = reach + abs(d[0]) * w / 2 + abs(d[1]) * h / 2
            cx, cy = p[0] + d[0] * along, p[1] + d[1] * along
            spot = (cx, cy + 0.28 * size)
            if clear(svg.text_box(*spot, words, size, "middle", bold=bold)):
                return spot
    return None


def _note_words(view: NodeView) -> str:
    return " ".join(w for w in ("busy" if view.busy else "", f"q{list(view.queue)}" if view.queue else "") if w)


def _pointer(node: int, side: str, target: int, where: dict[int, svg.Point], wrong: bool):
    """The pointer's SVG, the points it runs through, its head's box, and for a
    pointer to a node outside the run what its label needs (placed later)."""
    colour = WRONG if wrong else (RIGHT if side == "right" else LEFT)
    width = 3.0 if wrong else (2.0 if side == "right" else 1.6)
    tip = f"{node}.{side} = {target}" + (" (blamed by the invariant checkers)" if wrong else "")
    start = where[node]
    if target not in where:  # a node that is not part of the run: a stub pointing out
        out = svg.unit(CENTRE, start)
        end = (start[0] + out[0] * 48, start[1] + out[1] * 48)
        a = svg.towards(start, end, NODE)
        tip_pts = svg.arrowhead(end, a)
        markup = svg.element(
            "g",
            svg.title(tip) + svg.line(a, end, stroke=colour, stroke_width=width) + svg.polygon(tip_pts, fill=colour),
            class_=f"pointer {side}" + (" wrong" if wrong else ""),
        )
        return markup, [a, end], svg.polygon_box(tip_pts), (node, side, target, end, out, colour)
    if target == node:
        path, tail, head, track = _loop(start, side)
    else:
        others = [p for n, p in where.items() if n not in (node, target)]
        path, tail, head, track = _arc(start, where[target], side, others)
    tip_pts = svg.arrowhead(head, tail, 9.0 if wrong else 7.5)
    markup = svg.element(
        "g",
        svg.title(tip)
        + svg.element("path", d=path, fill="none", stroke=colour, stroke_width=width)
        + svg.polygon(tip_pts, fill=colour),
        class_=f"pointer {side}" + (" wrong" if wrong else ""),
        data_from=node,
        data_to=target,
    )
    return markup, track, svg.polygon_box(tip_pts), None


def _arc(a: svg.Point, b: svg.Point, side: str, others=()) -> tuple[str, svg.Point, svg.Point, list[svg.Point]]:
    """A curved arrow from node a to node b: right pointers bow to the left of
    their direction of travel (outwards when running clockwise), left pointers to
    the right, by different amounts, so the two pointers of a pair never overlap.
    An arc that would cross another node (in `others`) bows less, or the other
    way, so it never runs over that node's number."""
    ux, uy = svg.unit(a, b)
    chord = math.dist(a, b)
    sign = 1 if side == "right" else -1
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    first = None
    bows = [BULGE[side] * k for k in (1.0, 0.5, 0.0)] + [-0.25 * k for k in (1, 2, 3, 4)]  # in chords, this side first
    for fraction in bows:
        bow = fraction * chord * sign
        control = (mid[0] + uy * bow, mid[1] - ux * bow)
        start = svg.towards(a, control, NODE + 1)
        end = svg.towards(b, control, NODE + 2)
        track = svg.quadratic(start, control, end)
        shape = (control, start, end, track)
        first = first or shape
        if not any(svg.polyline_near(track, p, NODE + 4) for p in others):
            break
    else:
        shape = first
    control, start, end, track = shape
    path = f"M{svg.num(start[0])},{svg.num(start[1])} Q{svg.num(control[0])},{svg.num(control[1])} {svg.num(end[0])},{svg.num(end[1])}"
    return path, control, end, track


def _loop(p: svg.Point, side: str) -> tuple[str, svg.Point, svg.Point, list[svg.Point]]:
    """A node pointing at itself: a loop outside the circle (right) or inside (left)."""
    out = svg.unit(CENTRE, p)
    if side == "left":
        out = (-out[0], -out[1])
    reach = 42.0

    def turn(v: svg.Point, degrees: float, length: float) -> svg.Point:
        c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        return (p[0] + (v[0] * c - v[1] * s) * length, p[1] + (v[0] * s + v[1] * c) * length)

    start, end = turn(out, -35, NODE + 1), turn(out, 35, NODE + 2)
    c1, c2 = turn(out, -55, reach + NODE), turn(out, 55, reach + NODE)
    path = (
        f"M{svg.num(start[0])},{svg.num(start[1])} C{svg.num(c1[0])},{svg.num(c1[1])} "
        f"{svg.num(c2[0])},{svg.num(c2[1])} {svg.num(end[0])},{svg.num(end[1])}"
    )
    return path, c2, end, svg.cubic(start, c1, c2, end)


#: How each kind of node is drawn: fill, outline colour, outline dashes, id colour.
#: Members are filled, joiners dashed, a leaving member dotted; a node that has
#: left or crashed is grey (its pointers are frozen as it stopped).
_LOOK = {
    "member": ("#dbeafe", "#1e3a8a", None, "#111827"),
    "leaving": ("#dbeafe", "#1e3a8a", "1.5 3", "#111827"),
    "joiner": ("#ffffff", "#6b7280", "4 3", "#111827"),
    "left": ("#e5e7eb", "#9ca3af", "1.5 3", "#6b7280"),
    "crashed": ("#e5e7eb", "#9ca3af", None, "#6b7280"),
}


def _node(view: NodeView, p: svg.Point, involved: bool) -> str:
    role = view.role
    fill, outline, dashes, ink = _LOOK[role]
    state = {"joiner": "not a member", "left": "has left", "crashed": "crashed", "leaving": "member, leaving"}.get(role, role)
    extra = (", busy" if view.busy else "") + (f", queue {list(view.queue)}" if view.queue else "")
    parts = [
        svg.title(f"node {view.id}: {state}, left={_name(view.left)}, right={_name(view.right)}{extra}"),
        svg.circle(
            p,
            NODE,
            fill=fill,
            stroke=WRONG if involved else outline,
            stroke_width=3.0 if involved else 1.5,
            stroke_dasharray=dashes,
        ),
        svg.text(p[0], p[1] + 5, view.id, text_anchor="middle", font_size=15, font_weight="bold", fill=ink),
    ]
    if role == "crashed":  # a cross behind the id: stopped for good
        d = NODE * 0.6
        parts.insert(2, svg.element("path", None, d=f"M{svg.num(p[0] - d)},{svg.num(p[1] - d)} L{svg.num(p[0] + d)},"
                                 f"{svg.num(p[1] + d)} M{svg.num(p[0] + d)},{svg.num(p[1] - d)} L{svg.num(p[0] - d)},"
                                 f"{svg.num(p[1] + d)}", stroke="#9ca3af", stroke_width=1.5, fill="none"))
    cls = "node " + role + (" involved" if involved else "")
    return svg.element("g", "".join(parts), class_=cls, data_node=view.id)


def _name(node: int | None) -> str:
    return "unset" if node is None else str(node)
