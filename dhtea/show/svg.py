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
