"""The ring as a picture: nodes on a circle in id order, pointers as arrows.

Nodes sit clockwise in increasing id order, starting at the top, joiners
included (drawn dashed until they are members). Right pointers are the wide
blue arcs that run clockwise, left pointers the narrow green arcs that run
anticlockwise; a pointer the checkers blame is red and thicker, and the nodes
the violation names have a red outline.
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
    for n, side in wrong_last:
        body.append(_pointer(n, side, getattr(views[n], side), where, (n, side) in blamed))
    for n in sorted(views):
        body.append(_node(views[n], where[n], n in involved))
    return svg.document(WIDTH, HEIGHT, body, label, class_="ring")


def _pointer(node: int, side: str, target: int, where: dict[int, svg.Point], wrong: bool) -> str:
    colour = WRONG if wrong else (RIGHT if side == "right" else LEFT)
    width = 3.0 if wrong else (2.0 if side == "right" else 1.6)
    tip = f"{node}.{side} = {target}" + (" (blamed by the invariant checkers)" if wrong else "")
    start = where[node]
    if target not in where:  # a node that is not part of the run: a stub pointing out
        out = svg.unit(CENTRE, start)
        end = (start[0] + out[0] * 48, start[1] + out[1] * 48)
        a = svg.towards(start, end, NODE)
        return svg.element(
            "g",
            svg.title(tip)
            + svg.line(a, end, stroke=colour, stroke_width=width)
            + svg.polygon(svg.arrowhead(end, a), fill=colour)
            + svg.text(end[0] + out[0] * 10, end[1] + out[1] * 10 + 4, f"{target}?", fill=colour, text_anchor="middle"),
            class_=f"pointer {side}" + (" wrong" if wrong else ""),
        )
    if target == node:
        path, tail, head = _loop(start, side)
    else:
        path, tail, head = _arc(start, where[target], side)
    return svg.element(
        "g",
        svg.title(tip)
        + svg.element("path", d=path, fill="none", stroke=colour, stroke_width=width)
        + svg.polygon(svg.arrowhead(head, tail, 9.0 if wrong else 7.5), fill=colour),
        class_=f"pointer {side}" + (" wrong" if wrong else ""),
        data_from=node,
        data_to=target,
    )


def _arc(a: svg.Point, b: svg.Point, side: str) -> tuple[str, svg.Point, svg.Point]:
    """A curved arrow from node a to node b: right pointers bow to the left of
    their direction of travel (outwards when running clockwise), left pointers to
    the right, by different amounts, so the two pointers of a pair never overlap."""
    ux, uy = svg.unit(a, b)
    chord = math.dist(a, b)
    sign = 1 if side == "right" else -1
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    bow = BULGE[side] * chord * sign
    control = (mid[0] + uy * bow, mid[1] - ux * bow)
    start = svg.towards(a, control, NODE + 1)
    end = svg.towards(b, control, NODE + 2)
    path = f"M{svg.num(start[0])},{svg.num(start[1])} Q{svg.num(control[0])},{svg.num(control[1])} {svg.num(end[0])},{svg.num(end[1])}"
    return path, control, end


def _loop(p: svg.Point, side: str) -> tuple[str, svg.Point, svg.Point]:
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
    return path, c2, end


def _node(view: NodeView, p: svg.Point, involved: bool) -> str:
    stroke = WRONG if involved else ("#1e3a8a" if view.member else "#6b7280")
    state = "member" if view.member else "not a member"
    extra = (", busy" if view.busy else "") + (f", queue {list(view.queue)}" if view.queue else "")
    parts = [
        svg.title(f"node {view.id}: {state}, left={_name(view.left)}, right={_name(view.right)}{extra}"),
        svg.circle(
            p,
            NODE,
            fill="#dbeafe" if view.member else "#ffffff",
            stroke=stroke,
            stroke_width=3.0 if involved else 1.5,
            stroke_dasharray=None if view.member else "4 3",
        ),
        svg.text(p[0], p[1] + 5, view.id, text_anchor="middle", font_size=15, font_weight="bold", fill="#111827"),
    ]
    notes = [w for w in ("busy" if view.busy else "", f"q{list(view.queue)}" if view.queue else "") if w]
    if notes:  # just above the node's upper right
        parts.append(svg.text(p[0] + NODE - 2, p[1] - NODE - 2, " ".join(notes), font_size=11, font_weight="bold",
                              fill="#b45309", class_="node-note"))
    cls = "node " + ("member" if view.member else "joiner") + (" involved" if involved else "")
    return svg.element("g", "".join(parts), class_=cls, data_node=view.id)


def _name(node: int | None) -> str:
    return "unset" if node is None else str(node)
