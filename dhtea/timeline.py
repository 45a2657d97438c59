"""Plain-text timelines of a run, for terminals, logs and failure messages."""

from __future__ import annotations

from typing import Iterable

import attrs

from dhtea.scenario import Scenario
from dhtea.trace import Event, RunResult
from invariants import Violation


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
    lines.append(f"seed: {s.seed}" + (f", deadline t={_t(s.deadline)}" if s.deadline is not None else ""))
    return lines


def describe_latency(model: object) -> str:
    args = ", ".join(f"{a.name}={getattr(model, a.name):g}" for a in attrs.fields(type(model)))
    return f"{model.kind}({args})"  # type: ignore[attr-defined]


def format_event(e: Event) -> str:
    head = f"#{e.seq:<4} t={_t(e.time):<8} "
    if e.kind == "send":
        msg = e.message
        arrive = "lost: no such node" if e.arrive is None else f"arrives t={_t(e.arrive)}"
        text = f"{msg.src:>5} -> {msg.dst:<5} {msg.describe()}  ({arrive})"
    elif e.kind == "deliver":
        msg = e.message
        text = f"{msg.dst:>5} <- {msg.src:<5} {msg.describe()}"
    elif e.kind == "join":
        text = f"{e.node:>5} starts joining"
    else:
        text = f"{e.node:>5} timer {e.timer} fires"
    if e.changes:
        text += "   | " + ", ".join(f"{f} {_value(old)}->{_value(new)}" for f, old, new in e.changes)
    return head + text


def format_violation(v: Violation) -> str:
    return f"!! {v}"


def format_timeline(events: Iterable[Event], violations: Iterable[Violation] = ()) -> list[str]:
    """One line per event. A violation is printed after the step it followed,
    sends of that step included."""
    by_event: dict[int, list[Violation]] = {}
    for v in violations:
        by_event.setdefault(v.event, []).append(v)
    lines = [format_violation(v) for v in by_event.pop(-1, [])]
    pending: list[Violation] = []
    for e in events:
        if e.kind != "send":
            lines.extend(format_violation(v) for v in pending)
            pending = []
        lines.append(format_event(e))
        pending.extend(by_event.pop(e.seq, []))
    lines.extend(format_violation(v) for v in pending)
    for rest in by_event.values():
        lines.extend(format_violation(v) for v in rest)
    return lines


def format_ring(result: RunResult) -> str:
    parts = []
    for v in result.final:
        state = "member" if v.member else "joiner"
        extra = (" busy" if v.busy else "") + (f" queue={_value(v.queue)}" if v.queue else "")
        parts.append(f"{v.id}({state} {_value(v.left)}<->{_value(v.right)}{extra})")
    return "final nodes: " + " ".join(parts)


def format_result(result: RunResult) -> str:
    """The whole story of a run: scenario, timeline, verdict, end state."""
    lines = [f"protocol: {result.protocol}"]
    lines += describe_scenario(result.scenario)
    lines.append("")
    lines += format_timeline(result.events, result.violations)
    lines.append("")
    if result.ok:
        lines.append(f"all invariants held; run ended at t={_t(result.end_time)} ({result.status})")
    else:
        lines.append(f"{len(result.violations)} violation(s); run ended at t={_t(result.end_time)} ({result.status})")
    lines.append(format_ring(result))
    return "\n".join(lines)
