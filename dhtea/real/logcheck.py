"""Invariant checks over the logs of a real run (`dhtea check`, `dhtea cluster`).

Each node's log (format in `dhtea.real.udp`) gives its initial view (the header) and
every change it made (`changes` of each event). The checker rebuilds every
node's view, merges all events ordered by (t, node, seq), keeping each node's
own events in log order, applies them one by one to a `RingView`, and checks
the safety invariants on the nodes each step touched, as the simulator does;
then the at-rest invariants on the final state. A step whose handler raised is
a `handler-error`.

What the merged order means: `t` is the wall clock (`time.time()`) read when
the step began, before its handler ran and before any of its datagrams left.
On one machine every node reads the same clock, so the merged order is the
real-time order in which the steps began, and it respects causality: a
message's send is stamped before the datagram leaves and its deliver after it
arrived, so the send comes first. Each prefix of the merged order is then a
consistent cut of the run, and a state the checker flags is one the nodes were
really in together, up to the microseconds a handler takes (two steps on
different nodes that overlap in time are put in the order they began). This
holds unless the clock is stepped during the run (an NTP correction), and
across machines it holds only as far as their clocks agree: the checker counts
every deliver it finds before its send (`clock skew`) so that this shows. Ties
(same t, rare) are broken by node id, which is not causal. The at-rest checks
read the state at the end of the logs: meaningful when the run had settled.

Churn: the logs say who left and who crashed. A `leave` event is a node
beginning its graceful leave and the step that changes its `gone` to `"left"`
the end of it; a `crash` event (a node stopped without finishing a leave) sets
`gone` to `"crashed"`. A log without its final stats line is a node that was
killed (`kill -9`, `dhtea cluster --crash`): it crash-stopped after its last
logged event, and the checker adds that `crash` there. A departed node is then
out of the ring for the invariants exactly as in simulation: the safety
invariants allow pointers to it while they bridge its gap, and the eventual
ones (`leaves-complete`, `departed-unlinked`, `joins-complete`,
`pointers-mutual`, `locks-released`) are checked on the state at the end of
the logs, which `dhtea cluster` reads once the run has settled. A violation
names the churn and the injected faults before it, as in simulation.

Times in the merged run are seconds since the run began, when its first node
started (each header's `started`), so logs of nodes run by hand, whose epoch is
0 and whose times are Unix times, read `t=0.031`, not `t=1.79611e+09`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from pathlib import Path
from statistics import median
from typing import Iterable

import attrs

from dhtea.traces.files import FORMATS, known_format, parse_json, read_input, shown
from dhtea.traces.schema import (FieldError, check_record, integer, list_of, mapping, nullable, number, one_of,
                                 optional, record, text)
from dhtea.traces.serial import EVENT_FIELDS, MAX_TEXT, NAME, NODE_ID, NODE_VIEW_FIELDS, event_from_dict
from dhtea.show.timeline import format_event, format_violation
from dhtea.core.trace import Event, churn_before
from dhtea.real.udp import LOG_FORMAT, LOG_VERSION
from invariants import AT_REST, SAFETY, VIEW_FIELDS, Invariant, NodeView, RingView, Violation, valid_view_value, view_from_dict


class LogError(ValueError):
    """A log that cannot be checked: the message is one line for the user."""


#: What `dhtea check` expects, said in errors about files that are something else.
_EXPECTED = (f"`dhtea check` reads the JSON-lines logs that `dhtea node` writes, whose first line is a "
             f"header with format {LOG_FORMAT!r}")


@attrs.frozen
class NodeLog:
    """One node's log as read back."""

    path: str
    protocol: str
    node: int
    address: tuple[str, int]
    role: str
    initial: NodeView
    epoch: float
    events: tuple[Event, ...]
    extras: tuple[dict, ...]  # per event: `error` and `lost`, where present
    stats: dict | None  # the final line; None if the node did not shut down cleanly
    truncated: bool  # the last line was cut short (the node was killed mid-write)
    #: When the node started, in seconds since its epoch: the header's `started`,
    #: else its first event's time (logs of older nodes); None if neither is known.
    started: float | None = None


def _is_id(v: object) -> bool:
    return type(v) is int




def _view(d: object, node: int) -> NodeView:
    try:
        return view_from_dict(d, node)
    except ValueError:
        raise ValueError("the header's view should be this node's {id, left, right, member, busy, queue}") from None


def parse_header(obj: object) -> dict:
    """Check a log's first line; ValueError says what is wrong."""
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if fmt != LOG_FORMAT:
        what = FORMATS.get(fmt) if isinstance(fmt, str) else None
        if what:
            raise ValueError(f"this is {what} (format {fmt!r}), not a node log: {_EXPECTED}")
        raise ValueError(f"not a dhtea node log: {_EXPECTED}")
    if type(obj.get("version")) is not int or obj["version"] != LOG_VERSION:
        raise ValueError(f"unsupported log version {shown(obj.get('version'))} (this dhtea reads version {LOG_VERSION})")
    try:
        check_record(HEADER_FIELDS, obj)
    except FieldError as exc:
        raise ValueError(f"header: {exc}") from None
    node, address, epoch = obj.get("node"), obj.get("address"), obj.get("epoch")
    if not _is_id(node):
        raise ValueError("the header's node should be an integer id")
    if not (isinstance(address, list) and len(address) == 2 and isinstance(address[0], str) and _is_id(address[1])):
        raise ValueError("the header's address should be [host, port]")
    if not isinstance(obj.get("protocol"), str) or obj.get("role") not in ("member", "joiner"):
        raise ValueError("the header needs a protocol name and a role (member or joiner)")
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        raise ValueError("the header's epoch should be a number")
    return {**obj, "view": _view(obj.get("view"), node), "address": tuple(address)}


def _host_or_port(value: object, where: str) -> None:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or isinstance(value, str) and len(value) > 100:
        raise FieldError(f"field '{where}' should be a host or a port, got {shown(value)}")


def _counter(value: object, where: str) -> None:
    if isinstance(value, dict):
        mapping(NAME, integer(0))(value, where)
    else:
        integer(0)(value, where)


#: The line a node writes when it stops: its counters, `dropped` by reason.
STATS_FIELDS = {"t": number(), "stats": mapping(NAME, _counter)}

HEADER_FIELDS = {
    "protocol": NAME,
    "node": NODE_ID,
    "address": list_of(_host_or_port),
    "role": one_of("member", "joiner"),
    "view": record(NODE_VIEW_FIELDS),
    "epoch": number(),
    "bootstrap": optional(nullable(NODE_ID)),
    "pid": optional(integer()),
    "faults": optional(mapping(NAME, number())),
    "started": optional(number()),
}


#: An event line: a trace event whose times may be before the epoch, plus why a
#: step failed or a send was lost.
LOG_EVENT_FIELDS = {**EVENT_FIELDS, "t": number(), "arrive": optional(nullable(number())),
                    "again": optional(nullable(number())),
                    "error": optional(nullable(text(MAX_TEXT))), "lost": optional(nullable(NAME)),
                    "why": optional(nullable(NAME))}


def parse_event(obj: object, node: int, seq: int) -> tuple[Event, dict]:
    """Check one event line of `node`'s log, expected to be event number `seq`."""
    if not isinstance(obj, dict):
        raise ValueError("an event should be a JSON object")
    try:
        event = event_from_dict(obj)
    except KeyError as exc:
        raise ValueError(f"missing field {exc}") from None
    except (TypeError, AttributeError) as exc:
        raise ValueError(str(exc)) from None
    try:
        check_record(LOG_EVENT_FIELDS, obj)
    except FieldError as exc:
        raise ValueError(str(exc)) from None
    if event.node != node or event.seq != seq:
        raise ValueError(f"expected event #{seq} of node {node}, got #{event.seq} of node {event.node}")
    msg = event.message
    if msg is not None and (event.kind == "send" and msg.src != node or event.kind == "deliver" and msg.dst != node):
        raise ValueError(f"a {event.kind} event of node {node} with a message {msg.src} -> {msg.dst}")
    for change in event.changes:
        f, old, new = change
        if f not in VIEW_FIELDS or not (valid_view_value(f, old) and valid_view_value(f, new)):
            raise ValueError(f"bad change {list(change)!r:.60}")
    if event.kind == "send" and obj.get("lost") == "fault-drop" and event.fault is None:
        event = attrs.evolve(event, fault="lost")  # logs written before sends said their fault
    return event, {k: obj[k] for k in ("error", "lost", "why") if obj.get(k) is not None}


def _stats(line: dict) -> dict:
    try:
        check_record(STATS_FIELDS, line)
    except FieldError as exc:
        raise ValueError(f"the final stats line: {exc}") from None
    stats = line["stats"]
    dropped = stats.get("dropped") if isinstance(stats, dict) else None
    if not isinstance(dropped, dict) or not all(isinstance(k, str) and _is_id(v) for k, v in dropped.items()):
        raise ValueError("the final stats line should hold counters and a 'dropped' object of counters")
    return stats


def read_log(path: str | Path) -> NodeLog:
    """Read and validate one node log; any problem is a one-line `LogError`."""
    text = read_input(path, LogError)
    lines = text.split("\n")
    partial = lines.pop()  # a last line without its newline was cut short (the node was killed mid-write)
    if not lines:
        _refuse_one_line(path, partial)
        lines, partial = [partial], ""  # a whole header that only lacks its newline
    events, extras, stats, header = [], [], None, None
    for lineno, line in enumerate(lines, 1):
        try:
            obj = parse_json(line, f"{path}:{lineno}", _LineError)
            if header is None:
                header = parse_header(obj)
            elif stats is not None:
                raise ValueError("an event after the final stats line")
            elif isinstance(obj, dict) and "stats" in obj:
                stats = _stats(obj)
            else:
                event, extra = parse_event(obj, header["node"], len(events))
                events.append(event)
                extras.append(extra)
        except _LineError as exc:
            what = known_format(text) if header is None else None
            if what and what != FORMATS[LOG_FORMAT]:
                raise LogError(f"{path}: this is {what}, not a node log: {_EXPECTED}") from None
            raise LogError(f"{exc}" + ("" if header else f" ({_EXPECTED})")) from None
        except ValueError as exc:
            raise LogError(f"{path}:{lineno}: {exc}") from None
    started = header.get("started", events[0].time if events else None)
    return NodeLog(str(path), header["protocol"], header["node"], header["address"], header["role"], header["view"],
                   float(header["epoch"]), tuple(events), tuple(extras), stats, partial != "", started)


class _LineError(ValueError):
    """One line of a log that is not valid JSON."""


def _refuse_one_line(path: str | Path, line: str) -> None:
    """A log with no complete line: say what it holds and what is missing. Returns
    only if `line` is a whole, valid header that lacks just its newline."""
    if not line.strip():
        raise LogError(f"{path}: empty file: {_EXPECTED}, then one line per event (did the node start?)")
    what = known_format(line)
    if what and what != FORMATS[LOG_FORMAT]:
        raise LogError(f"{path}: this is {what}, not a node log: {_EXPECTED}")
    try:
        obj = parse_json(line, path, _LineError)
    except _LineError:
        if what:
            raise LogError(f"{path}: only a node log header cut short (no newline, not complete JSON): the node "
                           f"was stopped while starting; no event to check") from None
        raise LogError(f"{path}: one line of text that is not JSON, without a newline: {_EXPECTED}, "
                       f"then one line per event") from None
    try:
        parse_header(obj)
    except ValueError as exc:
        raise LogError(f"{path}: one line only, and {exc}") from None


def read_logs(paths: Iterable[str | Path]) -> list[NodeLog]:
    """Read every log named; a folder stands for the `*.jsonl` files in it."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.jsonl"))
            if not found:
                raise LogError(f"{p}: no *.jsonl node logs in this folder")
            files.extend(found)
        else:
            files.append(p)
    if not files:
        raise LogError("no logs given")
    logs = [read_log(f) for f in files]
    by_node: dict[int, NodeLog] = {}
    for log in logs:
        if log.node in by_node:
            raise LogError(f"two logs for node {log.node}: {by_node[log.node].path} and {log.path}")
        by_node[log.node] = log
    protocols = {log.protocol for log in logs}
    if len(protocols) > 1:
        raise LogError(f"the logs come from different protocols: {', '.join(sorted(protocols))}")
    return logs


@attrs.frozen
class Check:
    """The merged run and its verdict."""

    protocol: str
    logs: tuple[NodeLog, ...]
    events: tuple[Event, ...]  # merged; seq is the merged index, a send's arrive its real arrival
    violations: tuple[Violation, ...]
    final: RingView
    counts: dict  # messages and faults; "churn": a NodeDeparture per node that left, crashed or began to leave

    @property
    def ok(self) -> bool:
        return not self.violations


def run_start(logs: Iterable[NodeLog]) -> float:
    """When the run began, on the logs' shared clock: when its first node started.
    Merged times count from there, so a hand-run node's Unix-time stamps read as
    seconds into the run. Without a start time in any log: the earliest epoch."""
    logs = tuple(logs)
    starts = [log.epoch + log.started for log in logs if log.started is not None]
    return min(starts) if starts else min(log.epoch for log in logs)


#: Why the checker adds a crash to a log: the node never wrote its final line.
KILLED = "killed"


def _killed_stream(log: NodeLog, start: float) -> list[tuple]:
    """The crash-stop the checker adds after the last event of a node killed
    before it could write its final stats line (none if it had departed)."""
    if log.stats is not None:
        return []
    gone = log.initial.gone
    for e in log.events:
        for f, _, new in e.changes:
            if f == "gone":
                gone = new
    if gone is not None:
        return []
    t = log.events[-1].time if log.events else (log.started or 0.0)
    crash = Event(len(log.events), t, "crash", log.node, None, (("gone", None, "crashed"),))
    return [(t + log.epoch - start, log.node, crash.seq, crash, {"why": KILLED}, log)]


def check_logs(logs: Iterable[NodeLog], invariants: Iterable[Invariant] = SAFETY + AT_REST) -> Check:
    """Merge the logs of one run and check the invariants over the merged order."""
    logs = tuple(logs)
    invariants = tuple(invariants)
    safety = tuple(i for i in invariants if i.when == "always")
    at_rest = tuple(i for i in invariants if i.when == "at_rest")
    start = run_start(logs)
    ring = RingView((log.node for log in logs), (log.initial for log in logs))
    streams = [[(e.time + log.epoch - start, log.node, e.seq, e, x, log) for e, x in zip(log.events, log.extras)]
               + _killed_stream(log, start) for log in logs]
    violations: list[Violation] = []
    seen: set = set()

    def run(checks: tuple[Invariant, ...], nodes: tuple[int, ...], index: int, t: float) -> None:
        for inv in checks:
            for f in inv.check(ring, nodes):
                if (inv.name, f.nodes, f.message) not in seen:  # a broken state persists: report it once
                    seen.add((inv.name, f.nodes, f.message))
                    violations.append(Violation(inv.name, tuple(f.nodes), f.message, index, t))

    run(safety, tuple(sorted(ring.nodes)), -1, 0.0)
    merged: list[Event] = []
    lost: Counter = Counter()
    why: dict[int, str] = {}
    for index, (t, node, _, e, extra, log) in enumerate(heapq.merge(*streams, key=lambda s: s[:3])):
        shift = log.epoch - start  # a send's times are on its node's clock, like its t
        merged.append(attrs.evolve(e, seq=index, time=t, arrive=None if e.arrive is None else e.arrive + shift,
                                   again=None if e.again is None else e.again + shift))
        if "lost" in extra:
            lost[str(extra["lost"])] += 1
        if "why" in extra:
            why[index] = str(extra["why"])
        if "error" in extra:
            violations.append(Violation("handler-error", (node,), f"node {node} raised {extra['error']}", index, t))
        if not e.changes:
            continue
        view = ring.node(node)
        for f, old, new in e.changes:
            if getattr(view, f) != old:
                raise LogError(f"{log.path}: event #{e.seq} changes {f} from {old!r} but it was {getattr(view, f)!r}")
            view = attrs.evolve(view, **{f: new})
        nodes: tuple[int, ...] = (node,)
        if ring.update(view):  # membership changed: the members either side see a new neighbour
            nodes = tuple(sorted({n for n in (node, ring.prev_member(node), ring.next_member(node)) if n is not None}))
        run(safety, nodes, index, t)
    end_t = merged[-1].time if merged else 0.0
    run(at_rest, tuple(sorted(ring.nodes)), len(merged) - 1, end_t)
    violations = [_with_churn(v, merged) for v in violations]
    merged, counts = _match_messages(merged)
    counts["lost"] = dict(lost)
    counts["dropped"] = sum((Counter(log.stats.get("dropped", {})) for log in logs if log.stats), Counter())
    counts["churn"] = _churn(merged, why)
    return Check(logs[0].protocol, logs, tuple(merged), tuple(violations), ring, counts)


def _with_churn(v: Violation, merged: list[Event]) -> Violation:
    """The violation naming the churn and injected faults before it, as the simulator's do."""
    note = churn_before(merged, v.event) if v.event >= 0 else ""
    return attrs.evolve(v, message=f"{v.message} (after: {note})") if note else v


@attrs.frozen
class NodeDeparture:
    """One node's churn in a merged run: when it began to leave (None for a
    crash without a leave), when it was gone, how, and why it crashed."""

    node: int
    began: float | None
    gone_at: float | None
    how: str | None  # "left", "crashed", or None while still leaving at the end
    why: str | None = None


def _churn(merged: list[Event], why: dict[int, str]) -> tuple[NodeDeparture, ...]:
    began: dict[int, float] = {}
    out: dict[int, NodeDeparture] = {}
    for e in merged:
        if e.kind == "leave":
            began.setdefault(e.node, e.time)
            out.setdefault(e.node, NodeDeparture(e.node, e.time, None, None))
        for f, _, new in e.changes:
            if f == "gone" and new is not None:
                out[e.node] = NodeDeparture(e.node, began.get(e.node), e.time, new, why.get(e.seq))
    return tuple(sorted(out.values(), key=lambda d: (d.began if d.began is not None else d.gone_at, d.node)))


def _match_messages(merged: list[Event]) -> tuple[list[Event], dict]:
    """Pair each deliver with its send; a send's `arrive` becomes the real arrival time."""
    sent: dict[tuple, deque[int]] = {}
    for e in merged:
        if e.kind == "send" and e.arrive is not None:
            m = e.message
            copies = sent.setdefault((m.src, m.dst, m.kind, m.data), deque())
            copies.append(e.seq)
            if e.fault == "duplicated":  # sent twice: either copy may be the first to arrive
                copies.append(e.seq)
    arrival: dict[int, float] = {}
    latencies: list[float] = []
    outside = skewed = copies = 0
    for e in merged:
        if e.kind != "deliver":
            continue
        m = e.message
        queue = sent.get((m.src, m.dst, m.kind, m.data))
        if not queue:
            outside += 1
            continue
        s = queue.popleft()
        first = s not in arrival
        arrival.setdefault(s, e.time)
        latencies.append(e.time - (merged[s].arrive if first or merged[s].again is None else merged[s].again))
        skewed += merged[s].time > e.time
        copies += not first
    out = [attrs.evolve(e, arrive=arrival.get(e.seq)) if e.kind == "send" else e for e in merged]
    counts = {
        "sends": sum(e.kind == "send" for e in merged),
        "delivered": len(arrival),
        "copies": copies,
        "duplicated": sum(e.kind == "send" and e.fault == "duplicated" for e in merged),
        "in-flight": sum(e.kind == "send" and e.arrive is not None and e.seq not in arrival for e in merged),
        "from-outside": outside,
        "out-of-order": skewed,
        "latency": (median(latencies), max(latencies)) if latencies else None,
    }
    return out, counts


# -- reporting -----------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def format_ring(ring: RingView, per_line: int = 6) -> list[str]:
    """The members in ring order, following right pointers from the smallest."""
    members = ring.members
    lines = []
    if members:
        walk, n = [members[0]], ring.node(members[0]).right
        while n is not None and n != members[0] and n not in walk and len(walk) <= len(ring.nodes):
            walk.append(n)
            n = ring.get(n).right if ring.get(n) is not None else None
        closed = n == members[0] and sorted(walk) == list(members)
        head = f"final ring ({len(members)} members" + (", following right pointers):" if closed else
                                                        "; right pointers do NOT form this ring; members in id order):")
        order = (walk + [members[0]]) if closed else list(members)
        text = [str(x) for x in order]
        lines.append(head)
        for i in range(0, len(text), per_line):
            chunk = " -> ".join(text[i:i + per_line])
            lines.append(("  " if i == 0 else "  -> ") + chunk)
    others = [v for v in ring if not v.member and v.gone is None]
    if others:
        lines.append("not members: " + ", ".join(f"{v.id} (left {v.left}, right {v.right}{', busy' if v.busy else ''}"
                                                 f"{', leaving' if v.leaving else ''})" for v in others))
    departed = sorted((v for v in ring if v.gone is not None), key=lambda v: v.id)
    if departed:
        lines.append("departed: " + ", ".join(f"{v.id} ({v.gone})" for v in departed))
    return lines


_WHY = {
    KILLED: "killed: its log has no final stats line",
    "no-leave": "stopped: its protocol has no leave",
    "not-a-member": "stopped before it was a member",
    "leave-unfinished": "its leave did not finish within the grace time",
    "interrupted-leave": "stopped again while leaving",
}


def _departure(d: NodeDeparture) -> str:
    if d.how == "left":
        return f"{d.node} left (began t={d.began:.3f}, done {_ms(d.gone_at - d.began)} later)"
    if d.how is None:
        return f"{d.node} began to leave at t={d.began:.3f} and never finished"
    where = "" if d.began is None else f" while leaving (began t={d.began:.3f})"
    return f"{d.node} crashed at t={d.gone_at:.3f}{where}" + (f" ({_WHY.get(d.why, d.why)})" if d.why else "")


def summary(check: Check) -> list[str]:
    """Messages, losses and timing of the merged run."""
    c, events = check.counts, check.events
    joins = [e for e in events if e.kind == "join"]
    joiners = sum(log.role == "joiner" for log in check.logs)
    lines = []
    sends = c["sends"]
    per_join = f" ({sends / joiners:.1f} per join)" if joiners else ""
    lost = ", ".join(f"{k} {v}" for k, v in sorted(c["lost"].items()))
    lines.append(f"messages: {sends} sent{per_join}, {c['delivered']} delivered"
                 + (f", {c['in-flight']} never delivered" if c["in-flight"] else "")
                 + (f", not sent: {lost}" if lost else "")
                 + (f", {c['duplicated']} sent twice ({c['copies']} second copies delivered)" if c.get("duplicated") else ""))
    churn = c.get("churn", ())
    if churn:
        lines.append("churn: " + "; ".join(_departure(d) for d in churn))
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(c["dropped"].items()))
    if dropped or c["from-outside"]:
        lines.append(f"invalid datagrams dropped: {dropped or 'none'}; delivered from outside the run: {c['from-outside']}")
    if c["out-of-order"]:
        lines.append(f"clock skew: {c['out-of-order']} deliver(s) precede their send in the merged order")
    if joins and events:
        span = events[-1].time - joins[0].time
        lat = c["latency"]
        lines.append(f"time: {len(joins)} join(s) began at t={joins[0].time:.3f}; last event {_ms(span)} later"
                     + (f"; one-way latency median {_ms(lat[0])}, max {_ms(lat[1])}" if lat else ""))
    unclean = [log.path for log in check.logs if log.stats is None]
    if unclean:
        lines.append(f"{len(unclean)} log(s) have no final stats line (read as killed): {', '.join(unclean[:3])}")
    return lines


def format_check(check: Check, *, timeline: bool = False, context: int = 10, limit: int = 10) -> list[str]:
    """The verdict, the violations with the merged events before the first, the final ring, the counts."""
    n = len(check.events)
    lines = [f"checked {len(check.logs)} node logs ({check.protocol}): {n} events merged in time order"]
    if timeline:
        lines += ["  " + format_event(e) for e in check.events]
    if check.ok:
        lines.append("PASS: every invariant held (safety after every event, at rest at the end)")
    else:
        lines.append(f"FAIL: {len(check.violations)} violation(s)")
        lines += [format_violation(v) for v in check.violations[:limit]]
        if len(check.violations) > limit:
            lines.append(f"... and {len(check.violations) - limit} more")
        first = check.violations[0].event
        if not timeline and first >= 0:
            lines.append(f"merged events up to #{first}:")
            lines += ["  " + format_event(e) for e in check.events[max(0, first - context):first + 1]]
    lines += format_ring(check.final)
    lines += summary(check)
    return lines
