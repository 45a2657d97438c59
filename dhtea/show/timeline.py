"""Text timelines of a run, for terminals, logs and failure messages.

Plain text by default. With `style=ANSI` the same text gets terminal colours:
the event where an invariant broke and the nodes it names stand out, message
kinds and pointer changes are coloured. Colour never changes the characters
themselves, so stripping the escape codes gives the plain text back.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, TextIO

import attrs

from dhtea.core.scenario import Scenario
from dhtea.show.folding import Line, folded
from dhtea.traces.states import blamed_changes
from dhtea.core.trace import Event, RunResult
from invariants import Violation


class Style:
    """How text is painted: `PLAIN` leaves it alone, `ANSI` adds colour codes by role."""

    CODES = {
        "seq": "2",  # dim
        "time": "2",
        "kind": "36",  # cyan
        "pointer": "35",  # magenta: left/right changes
        "joined": "32",  # green: member False->True
        "focus": "1;33",  # bold yellow: a node the violation names
        "broke": "1;97;41",  # white on red: the event after which an invariant broke
        "violation": "1;31",  # bold red
        "blamed": "1;31",  # a pointer change the checkers blame at the violation
        "ok": "1;32",
        "churn": "1;35",  # bold magenta: leaves, crashes and lost messages
    }

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, role: str) -> str:
        if not self.colour or not text:
            return text
        return f"\x1b[{self.CODES[role]}m{text}\x1b[0m"


PLAIN = Style(False)
ANSI = Style(True)


def wants_colour(stream: TextIO, disabled: bool = False) -> bool:
    """Colour only for a terminal, unless `--no-color` or NO_COLOR says otherwise."""
    if disabled or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def style_for(stream: TextIO, disabled: bool = False) -> Style:
    return ANSI if wants_colour(stream, disabled) else PLAIN


def _t(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if x == x else "?"


def _value(v: object) -> str:
    if v is None:
        return "none"
    if isinstance(v, tuple):
        return "[" + ",".join(str(x) for x in v) + "]"
    return str(v)


def describe_scenario(s: Scenario) -> list[str]:
    joins = "; ".join(f"{j.node} at t={_t(j.at)} via {j.bootstrap}" for j in s.joins) or "none"
    net = s.network
    lat = net.latency
    lines = [
        f"initial ring: {list(s.ring)}",
        f"joins: {joins}",
        f"latency: {describe_latency(lat)}" + (", FIFO links" if net.fifo else ""),
    ]
    if net.links:
        lines.append("link latencies: " + "; ".join(f"{k.src}->{k.dst} {describe_latency(k.latency)}" for k in net.links))
    if net.delays:
        lines.append("scripted delays (by send order): " + ", ".join(_t(d) for d in net.delays))
    if net.delay_at:
        lines.append("scripted delays of single messages: " + ", ".join(f"#{n} {_t(d)}" for n, d in net.delay_at))
    if net.kind_delays:
        lines.append("scripted delays by message kind (counted from 0): "
                     + ", ".join(f"{m} #{n} {_t(d)}" for m, n, d in net.kind_delays))
    lines += describe_churn(s)
    lines.append(f"seed: {s.seed}" + (f", deadline t={_t(s.deadline)}" if s.deadline is not None else ""))
    return lines


def describe_churn(s: Scenario) -> list[str]:
    """The scenario's leaves, crashes, message faults and settle window, one line each (none without)."""
    lines = []
    if s.churn:
        lines.append("churn: " + "; ".join(
            f"{op.kind} of {op.node} at t={_t(op.at)}" + (f" (if in mid-{op.during})" if getattr(op, "during", None) else "")
            for op in s.churn))
    net = s.network
    faults = []
    if net.loss:
        faults.append(f"loss {net.loss:g}")
    if net.duplicate:
        faults.append(f"duplication {net.duplicate:g}")
    if net.fates:
        faults.append("fates of the first messages sent: " + ",".join(net.fates))
    if net.fate_at:
        faults.append("fates of single messages (counted in the window): " + ", ".join(f"#{k} {f}" for k, f in net.fate_at))
    if faults and (net.faults_until is not None or net.faults_from):
        since = f"from t={_t(net.faults_from)} " if net.faults_from else ""
        until = "" if net.faults_until is None else f"before t={_t(net.faults_until)}"
        faults[-1] += f" (messages sent {since}{until})".replace(" )", ")")
    for p in net.partitions:
        faults.append(f"partition {list(p.side_a)} | {list(p.side_b)} from t={_t(p.start)} to t={_t(p.end)}")
    if net.kind_fates:
        faults.append("fates by message kind (counted from 0, anywhere in the run): "
                      + ", ".join(f"{m} #{n} {f}" for m, n, f in net.kind_fates))
    if faults:
        lines.append("faults: " + "; ".join(faults))
    if s.settle is not None:
        later = " or after the last fate by kind, if later" if net.kind_fates else ""
        lines.append(f"settle window: {_t(s.settle)} after t={_t(s.calm_at)}{later}")
    return lines


def describe_latency(model: object) -> str:
    args = ", ".join(f"{a.name}={getattr(model, a.name):g}" for a in attrs.fields(type(model)))
    return f"{model.kind}({args})"  # type: ignore[attr-defined]


_FAULT_WORDS = {"lost": "LOST", "partitioned": "LOST: partition"}


def _node(n: int, width: int, right_align: bool, style: Style, focus: frozenset) -> str:
    text = str(n)
    pad = " " * max(0, width - len(text))
    painted = style(text, "focus") if n in focus else text
    return pad + painted if right_align else painted + pad


def _message(msg, style: Style) -> str:
    text = msg.describe()
    return style(msg.kind, "kind") + text[len(msg.kind):]


def _change(field: str, old: object, new: object, style: Style, blamed: bool = False) -> str:
    text = f"{field} {_value(old)}->{_value(new)}"
    if blamed:
        return style(text, "blamed")
    if field in ("left", "right"):
        return style(text, "pointer")
    if field == "member" and new is True:
        return style(text, "joined")
    return text


def format_event(
    e: Event, style: Style = PLAIN, focus: Iterable[int] = (), broke: bool = False, blamed: Iterable[str] = ()
) -> str:
    """One line for one event. `focus`: node ids to highlight; `broke`: this is
    the event after which an invariant broke; `blamed`: fields whose change here
    the checkers blame for it."""
    focus = frozenset(focus)
    head = style(f"#{e.seq:<4}", "broke" if broke else "seq") + " " + style(f"t={_t(e.time):<8}", "time") + " "
    if e.kind == "send":
        msg = e.message
        if e.fault in _FAULT_WORDS:
            arrive = _FAULT_WORDS[e.fault]
        elif e.fault == "duplicated":
            arrive = f"DUPLICATED: arrives t={_t(e.arrive)} and again t={_t(e.again)}"
        else:
            arrive = "lost: no such node" if e.arrive is None else f"arrives t={_t(e.arrive)}"
        text = f"{_node(msg.src, 5, True, style, focus)} -> {_node(msg.dst, 5, False, style, focus)} {_message(msg, style)}  ({arrive})"
    elif e.kind == "deliver":
        msg = e.message
        text = f"{_node(msg.dst, 5, True, style, focus)} <- {_node(msg.src, 5, False, style, focus)} {_message(msg, style)}"
    elif e.kind == "join":
        text = f"{_node(e.node, 5, True, style, focus)} starts joining"
    elif e.kind == "leave":
        text = f"{_node(e.node, 5, True, style, focus)} " + style("LEAVES", "churn")
    elif e.kind == "crash":
        text = f"{_node(e.node, 5, True, style, focus)} " + style("CRASHES", "churn")
    elif e.kind == "drop":
        msg = e.message
        text = f"{_node(msg.dst, 5, True, style, focus)} x- {_node(msg.src, 5, False, style, focus)} {_message(msg, style)}  (" + style("lost: node is gone", "churn") + ")"
    else:
        text = f"{_node(e.node, 5, True, style, focus)} timer {e.timer} fires"
    if e.changes:
        blamed = frozenset(blamed)
        text += "   | " + ", ".join(_change(f, old, new, style, f in blamed) for f, old, new in e.changes)
    return head + text


def format_violation(v: Violation, style: Style = PLAIN) -> str:
    text = style(f"!! {v}", "violation")
    for f in v.traceback:  # a crashed handler: where it raised, innermost last
        text += f"\n     at {f.file}:{f.line} in {f.function}" + (f": {f.code}" if f.code else "")
    return text


def format_timeline(
    events: Iterable[Event],
    violations: Iterable[Violation] = (),
    style: Style = PLAIN,
    blamed: Iterable[tuple[int, str]] = (),
    fold: bool = True,
) -> list[str]:
    """One line per event. A violation is printed after the step it followed,
    sends of that step included. `blamed`: (event seq, field) changes to paint
    as the cause (see `states.blamed_changes`); plain text ignores it. `fold`:
    a block of events repeated over and over (a retry loop) is shown once,
    its repeats in one line (`folding.py`); churn, faults and the steps
    where invariants broke are always shown."""
    lines = _timeline_lines(events, violations, style, blamed)
    return list(folded(lines)) if fold else [line.text for line in lines]


def _timeline_lines(events: Iterable[Event], violations: Iterable[Violation], style: Style,
                    blamed: Iterable[tuple[int, str]]) -> Iterator[Line]:
    blamed_at: dict[int, set[str]] = {}
    for seq, field in blamed:
        blamed_at.setdefault(seq, set()).add(field)
    violations = tuple(violations)
    focus = frozenset(n for v in violations for n in v.nodes)
    by_event: dict[int, list[Violation]] = {}
    for v in violations:
        by_event.setdefault(v.event, []).append(v)

    def told(vs: Iterable[Violation]) -> Iterator[Line]:
        for v in vs:
            yield Line(None, -1, "", format_violation(v, style), False)

    yield from told(by_event.pop(-1, []))
    pending: list[Violation] = []
    for e in events:
        if e.kind != "send":
            yield from told(pending)
            pending = []
        broke = e.seq in by_event
        blame = blamed_at.get(e.seq, ())
        foldable = not (broke or blame or pending or e.fault is not None or e.kind in _NEVER_FOLDED)
        # A send's delay is part of it: a message held back must not fold into its peers.
        delay = None if e.kind != "send" or e.arrive is None else round(e.arrive - e.time, 9)
        shape = (e.kind, e.node, e.message, e.timer, e.changes, delay) if foldable else None
        yield Line(shape, e.seq, _t(e.time), format_event(e, style, focus, broke, blame), foldable)
        pending.extend(by_event.pop(e.seq, []))
    yield from told(pending)
    for rest in by_event.values():
        yield from told(rest)


#: Events a timeline always shows in full.
_NEVER_FOLDED = frozenset({"join", "leave", "crash"})


def format_ring(result: RunResult) -> str:
    parts = []
    for v in result.final:
        state = v.role
        extra = (" busy" if v.busy else "") + (f" queue={_value(v.queue)}" if v.queue else "")
        parts.append(f"{v.id}({state} {_value(v.left)}<->{_value(v.right)}{extra})")
    return "final nodes: " + " ".join(parts)


def format_result(result: RunResult, style: Style = PLAIN, fold: bool = True) -> str:
    """The whole story of a run: scenario, timeline (repeats folded unless
    `fold` is False), verdict, end state."""
    lines = [f"protocol: {result.protocol}"]
    lines += describe_scenario(result.scenario)
    lines.append("")
    blamed = blamed_changes(result.scenario, result.events, result.violations) if style.colour else ()
    lines += format_timeline(result.events, result.violations, style, blamed, fold)
    lines.append("")
    if result.ok:
        lines.append(style("all invariants held", "ok") + f"; run ended at t={_t(result.end_time)} ({result.status})")
    else:
        lines.append(style(f"{len(result.violations)} violation(s)", "violation") + f"; run ended at t={_t(result.end_time)} ({result.status})")
    lines.append(format_ring(result))
    return "\n".join(lines)
