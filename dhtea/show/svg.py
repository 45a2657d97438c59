"""A very small SVG writer: elements as text, numbers and escaping made deterministic.

The report's pictures are plain inline SVG built with these helpers; nothing
here needs a browser-side script. Numbers are rounded to one decimal, so the
same picture always gives the same bytes.
"""

from __future__ import annotations

import html
import math

Point = tuple[float, float]


def num(x: float) -> str:
    """A coordinate as short, stable text: one decimal at most, no `-0`."""
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def esc(text: object) -> str:
    """Text safe inside an element or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")  # class_ -> class, font_size -> font-size
        text = num(value) if isinstance(value, float) else esc(value)
        parts.append(f' {name}="{text}"')
    return "".join(parts)


def element(tag: str, content: str | None = None, **attrs: object) -> str:
    """`<tag attrs>content</tag>`, or `<tag attrs/>` without content. `content`
    is inserted as it is (already SVG); use `text()` for words."""
    if content is None:
        return f"<{tag}{_attrs(attrs)}/>"
    return f"<{tag}{_attrs(attrs)}>{content}</{tag}>"


def text(x: float, y: float, words: object, **attrs: object) -> str:
    return element("text", esc(words), x=float(x), y=float(y), **attrs)


def line(a: Point, b: Point, **attrs: object) -> str:
    return element("line", x1=float(a[0]), y1=float(a[1]), x2=float(b[0]), y2=float(b[1]), **attrs)


def circle(c: Point, r: float, **attrs: object) -> str:
    return element("circle", cx=float(c[0]), cy=float(c[1]), r=float(r), **attrs)


def rect(x: float, y: float, w: float, h: float, **attrs: object) -> str:
    return element("rect", x=float(x), y=float(y), width=float(w), height=float(h), **attrs)


def points(pts: list[Point]) -> str:
    return " ".join(f"{num(x)},{num(y)}" for x, y in pts)


def polygon(pts: list[Point], **attrs: object) -> str:
    return element("polygon", points=points(pts), **attrs)


def title(words: object) -> str:
    """A tooltip for the enclosing element (shown on hover, no script needed)."""
    return element("title", esc(words))


def document(width: float, height: float, body: list[str], label: str, **attrs: object) -> str:
    """A whole inline `<svg>`, sized in CSS pixels, with an accessible label."""
    return element(
        "svg",
        "".join(body),
        xmlns="http://www.w3.org/2000/svg",
        width=float(width),
        height=float(height),
        viewBox=f"0 0 {num(width)} {num(height)}",
        role="img",
        aria_label=label,
        **attrs,
    )


# -- geometry -------------------------------------------------------------------


def unit(a: Point, b: Point) -> Point:
    """The unit vector from a towards b ((0, 0) if they coincide)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return (0.0, 0.0) if length == 0 else (dx / length, dy / length)


def towards(a: Point, b: Point, distance: float) -> Point:
    """The point `distance` away from a on the way to b."""
    ux, uy = unit(a, b)
    return (a[0] + ux * distance, a[1] + uy * distance)


def arrowhead(tip: Point, came_from: Point, size: float = 8.0) -> list[Point]:
    """A triangle with its point at `tip`, pointing away from `came_from`."""
    ux, uy = unit(came_from, tip)
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    half = size * 0.45
    return [tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]


# -- text extents and collisions (for placing labels clear of everything else) -----------

#: Advance widths of DejaVu Sans, the widest of the usual fallbacks of the report's
#: sans-serif font stack, in hundredths of the font size; anything else counts as 1 em.
_SANS = {}
for _chars, _width in (
    ("'", 27), ("Iijl", 29), (" ,.", 32), ("f/:;\\|", 34), ("-", 36), ("()[]t", 39), ("!r", 40), ('"', 46),
    ("*_`", 50), ("sz", 52), ("?", 53), ("c", 55), ("L", 56), ("Fk", 58), ("vxy", 59), ("PT", 60), ("aoY", 61),
    ("e", 62), ("ESbdghnpqu", 63), ("0123456789${}", 64), ("K", 66), ("V", 68), ("BRXZ", 69), ("AC", 70),
    ("U", 73), ("HN", 75), ("DG", 77), ("&", 78), ("OQ", 79), ("w", 82), ("#+<=>^~→←✗", 84), ("M", 86),
    ("%", 95), ("m", 97), ("W", 99),
):
    _SANS.update(dict.fromkeys(_chars, _width))
MONO = 0.61  # every character of DejaVu Sans Mono, in em (0.602, rounded up)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 with y growing down


def text_width(words: str, size: float, mono: bool = False, bold: bool = False) -> float:
    """How wide `words` are drawn at `size` px: generous, so a box built from it
    holds the real text in any of the fonts the report names."""
    if mono:
        return len(words) * MONO * size
    return sum(_SANS.get(c, 100) for c in words) * size / 100 * (1.15 if bold else 1.03)


def text_box(x: float, y: float, words: str, size: float, anchor: str = "start", mono: bool = False, bold: bool = False) -> Box:
    """The box a line of text takes with its baseline at y, anchored at x."""
    w = text_width(words, size, mono, bold)
    x0 = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return (x0, y - 0.82 * size, x0 + w, y + 0.26 * size)


def grow(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def boxes_meet(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def segment_meets_box(p: Point, q: Point, box: Box) -> bool:
    """Whether the segment p-q passes through the box (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = box
    dx, dy = q[0] - p[0], q[1] - p[1]
    lo, hi = 0.0, 1.0
    for step, room in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if room < 0:
                return False
            continue
        t = room / step
        if step < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def quadratic(a: Point, c: Point, b: Point, pieces: int = 16) -> list[Point]:
    """Points along the quadratic Bézier curve a-c-b."""
    out = []
    for i in range(pieces + 1):
        t = i / pieces
        u = 1 - t
        out.append((u * u * a[0] + 2 * u * t * c[0] + t * t * b[0], u * u * a[1] + 2 * u * t * c[1] + t * t * b[1]))
    return out


def cubic(a: Point, c1: Point, c2: Point, b: Point, pieces: int = 16) -> list[Point]:
    """Points along the cubic Bézier curve a-c1-c2-b."""
    out = []
    for i in range(pieces + 1):
        t = i / pieces
        u = 1 - t
        w = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
        out.append((sum(k * p[0] for k, p in zip(w, (a, c1, c2, b))), sum(k * p[1] for k, p in zip(w, (a, c1, c2, b)))))
    return out


def polyline_meets_box(points: list[Point], box: Box) -> bool:
    return any(segment_meets_box(points[i], points[i + 1], box) for i in range(len(points) - 1))


def polygon_box(pts: list[Point]) -> Box:
    return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def polyline_near(points: list[Point], c: Point, r: float) -> bool:
    """Whether the polyline passes within r of the point c."""
    for p, q in zip(points, points[1:]):
        dx, dy = q[0] - p[0], q[1] - p[1]
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / length))
        if math.dist((p[0] + t * dx, p[1] + t * dy), c) < r:
            return True
    return False
