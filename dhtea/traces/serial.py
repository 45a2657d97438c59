"""Trace files: the one place where dhtea's objects become JSON and back.

A trace file holds the protocol name, the scenario (seed included), the event
trace, the violations and the final node views. Churn and faults are optional
fields, written only when a run has them (`scenario.churn`, `scenario.settle`,
the network's `loss`, `duplicate`, `fates`, `partitions`, `faults_until`,
`faults_from`, `delay_at`, `fate_at`, `kind_delays`, `kind_fates`; an
event's `fault` and `again`; a view's `leaving` and `gone`): absent means none,
so a file written before they existed reads and replays exactly as it did. It is versioned: `format` is
`dhtea-trace` and `version` is `TRACE_VERSION`. Writing is canonical (sorted
keys, fixed separators), so the same run always gives the same bytes.

Version 2 added `invariants`, the names of the invariants the run was checked
with; a version-1 file (which has none) was checked with the default ones.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

import attrs

from dhtea.traces.files import FORMATS, known_format, parse_json, read_input, shown, write_text_atomic
from dhtea.traces.schema import (FieldError, Fields, boolean, check_record, integer, list_of, mapping, nullable,
                                 number, one_of, optional, record, text)
from dhtea.core.messages import Message
from dhtea.core.network import FATES, LATENCY_MODELS, LinkLatency, Network, Partition
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.core.trace import DEFAULT_INVARIANTS, STATUSES, Event, RunResult, Trace, event_row
from invariants import VIEW_FIELDS, Frame, NodeView, Violation, valid_view_value
from invariants import view_to_dict as _view_to_dict

TRACE_FORMAT = "dhtea-trace"
TRACE_VERSION = 2
#: Every version this dhtea reads: version 1 is version 2 without `invariants`.
READABLE_VERSIONS = (1, 2)


class TraceFileError(ValueError):
    """A trace file that cannot be read: the message is one line for the user."""


def reason(exc: Exception) -> str:
    """An exception's message alone (attrs validators put extra detail in args)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, str) and first else str(exc)


# -- to JSON ------------------------------------------------------------------


def latency_to_dict(model: Any) -> dict:
    return {"kind": model.kind, **attrs.asdict(model)}


def scenario_to_dict(s: Scenario) -> dict:
    net = s.network
    network = {
        "latency": latency_to_dict(net.latency),
        "links": [{"src": k.src, "dst": k.dst, "latency": latency_to_dict(k.latency)} for k in net.links],
        "delays": list(net.delays),
        "fifo": net.fifo,
    }
    # Fault fields only when set: a fault-free scenario is written as before they existed.
    if net.loss:
        network["loss"] = net.loss
    if net.duplicate:
        network["duplicate"] = net.duplicate
    if net.fates:
        network["fates"] = list(net.fates)
    if net.partitions:
        network["partitions"] = [
            {"start": p.start, "end": p.end, "side_a": list(p.side_a), "side_b": list(p.side_b)} for p in net.partitions
        ]
    if net.faults_until is not None:
        network["faults_until"] = net.faults_until
    if net.faults_from:
        network["faults_from"] = net.faults_from
    if net.delay_at:
        network["delay_at"] = [{"index": n, "delay": d} for n, d in net.delay_at]
    if net.fate_at:
        network["fate_at"] = [{"index": n, "fate": f} for n, f in net.fate_at]
    if net.kind_delays:
        network["kind_delays"] = [{"kind": m, "index": n, "delay": d} for m, n, d in net.kind_delays]
    if net.kind_fates:
        network["kind_fates"] = [{"kind": m, "index": n, "fate": f} for m, n, f in net.kind_fates]
    out = {
        "ring": list(s.ring),
        "joins": [{"node": j.node, "at": j.at, "bootstrap": j.bootstrap} for j in s.joins],
        "network": network,
        "seed": s.seed,
        "max_events": s.max_events,
        "deadline": s.deadline,
    }
    if s.churn:
        out["churn"] = [_departure_to_dict(op) for op in s.churn]
    if s.settle is not None:
        out["settle"] = s.settle
    return out


def _departure_to_dict(op: Leave | Crash) -> dict:
    out = {"kind": op.kind, "node": op.node, "at": op.at}
    if isinstance(op, Crash) and op.during is not None:
        out["during"] = op.during
    return out


def message_to_dict(m: Message) -> dict:
    return {"kind": m.kind, "src": m.src, "dst": m.dst, "data": dict(m.data)}


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def event_to_dict(e: Event) -> dict:
    out: dict[str, Any] = {"seq": e.seq, "t": e.time, "kind": e.kind, "node": e.node}
    if e.message is not None:
        out["msg"] = message_to_dict(e.message)
    if e.changes:
        out["changes"] = [[f, _plain(old), _plain(new)] for f, old, new in e.changes]
    if e.kind == "send":
        out["arrive"] = e.arrive
    if e.timer is not None:
        out["timer"] = e.timer
    if e.fault is not None:
        out["fault"] = e.fault
    if e.again is not None:
        out["again"] = e.again
    return out


def violation_to_dict(v: Violation) -> dict:
    out = {"invariant": v.invariant, "nodes": list(v.nodes), "message": v.message, "event": v.event, "t": v.time}
    if v.traceback:  # a crashed handler: where it raised (absent otherwise, as in older files)
        out["traceback"] = [{"file": f.file, "line": f.line, "function": f.function, "code": f.code} for f in v.traceback]
    return out


def view_to_dict(v: NodeView) -> dict:
    return _view_to_dict(v)


def result_to_dict(r: RunResult) -> dict:
    return {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "protocol": r.protocol,
        "invariants": list(r.invariants),
        "scenario": scenario_to_dict(r.scenario),
        "status": r.status,
        "end_time": r.end_time,
        "violations": [violation_to_dict(v) for v in r.violations],
        "final": [view_to_dict(v) for v in r.final],
        "events": [event_to_dict(e) for e in r.events],
    }


def dumps(data: dict) -> str:
    """Canonical JSON text: top-level fields in a fixed order, one line each, and
    one line per element of a list (event, violation, node), for readable diffs."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(_compact(v) for v in value)
            parts.append(f"{json.dumps(key)}: [\n  {items}\n ]")
        else:
            parts.append(f"{json.dumps(key)}: {_compact(value)}")
    return "{\n " + ",\n ".join(parts) + "\n}\n"


#: One encoder for every value written: `json.dumps` with options builds a new
#: one per call, which costs more than encoding an event.
_compact_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _compact(value: object) -> str:
    return _compact_encoder.encode(value)


_ascii = json.encoder.encode_basestring_ascii  # the quoting `_compact` uses for strings


def _json_value(value: object) -> str:
    """`_compact(value)` for the values events hold, without the encoder's set-up:
    ids and flags, names, times; anything else goes through `_compact`."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        return _ascii(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return _compact(_plain(value))


_names: dict[str, str] = {}  # the JSON text of each event kind, message kind and value name seen


def _name_json(name: str) -> str:
    text = _names.get(name)
    if text is None:
        text = _ascii(name)
        if len(_names) < 4096:  # a run uses a few dozen names; never let the cache grow without end
            _names[name] = text
    return text


def event_json(e: Event) -> str:
    """`_compact(event_to_dict(e))`, the same text built directly: a long run
    writes millions of events, and the dict and the encoder per event were most
    of the time spent writing them."""
    return row_json(*event_row(e))


def row_json(seq: int, time: float, kind: str, node: int, m: Message | None, changes: tuple, arrive: float | None,
             timer: object, fault: str | None, again: float | None) -> str:
    """`event_json` of the event with these fields (`Trace.rows`)."""
    if (  # most events: a message with one id-valued field sent or delivered, changing nothing
        m is not None and not changes and fault is None and again is None and timer is None
        and len(m.data) == 1 and type(m.data[0][1]) is int and type(seq) is int and type(node) is int
        and type(m.src) is int and type(m.dst) is int and type(time) is float and math.isfinite(time)
    ):
        (name, v), = m.data
        text = (f'{{"seq":{seq},"t":{time!r},"kind":{_name_json(kind)},"node":{node},"msg":{{"kind":'
                f'{_name_json(m.kind)},"src":{m.src},"dst":{m.dst},"data":{{{_name_json(name)}:{v}}}}}')
        return text + (f',"arrive":{_json_value(arrive)}}}' if kind == "send" else "}")
    value = _json_value
    parts = ['{"seq":', int.__repr__(seq), ',"t":', value(time), ',"kind":', _ascii(kind), ',"node":', value(node)]
    if m is not None:
        names = [name for name, _ in m.data]
        if len(set(names)) != len(names):  # a repeated name: a dict keeps the last value, in the first one's place
            parts += (',"msg":', _compact(message_to_dict(m)))
        else:
            parts += (',"msg":{"kind":', _ascii(m.kind), ',"src":', value(m.src), ',"dst":', value(m.dst), ',"data":{')
            parts.append(",".join(f"{_ascii(name)}:{value(v)}" for name, v in m.data))
            parts.append("}}")
    if changes:
        parts.append(',"changes":[')
        parts.append(",".join(f"[{_ascii(f)},{value(old)},{value(new)}]" for f, old, new in changes))
        parts.append("]")
    if kind == "send":
        parts += (',"arrive":', value(arrive))
    if timer is not None:
        parts += (',"timer":', value(timer))
    if fault is not None:
        parts += (',"fault":', value(fault))
    if again is not None:
        parts += (',"again":', value(again))
    parts.append("}")
    return "".join(parts)


def trace_text(result: RunResult) -> str:
    """The trace file's exact text for `result`."""
    return "".join(trace_pieces(result))


def trace_pieces(result: RunResult) -> Iterator[str]:
    """The trace file's text in pieces, one per event: the same text as
    `dumps(result_to_dict(result))`, without holding a long run's events."""
    head = result_to_dict(attrs.evolve(result, events=()))
    del head["events"]
    yield dumps(head)[: -len("\n}\n")] + ",\n "
    if not len(result.events):
        yield '"events": []\n}\n'
        return
    separator = '"events": [\n  '
    events = result.events
    for row in events.rows() if isinstance(events, Trace) else map(event_row, events):
        yield separator + row_json(*row)
        separator = ",\n  "
    yield "\n ]\n}\n"


def save_trace(result: RunResult, path: str | os.PathLike) -> Path:
    """Write `result` as a trace file, atomically: a reader never sees half a
    file, and a failed write leaves any earlier file at `path` as it was. The
    events are written one at a time, so a run spilled to a spool
    (`simulate(..., spool=...)`) is written without being held in memory."""
    return write_text_atomic(path, trace_pieces(result))


# -- from JSON ----------------------------------------------------------------


def _field(d: Any, key: str, where: str) -> Any:
    if not isinstance(d, dict):
        raise TraceFileError(f"{where or 'the file'} should be a JSON object")
    if key not in d:
        raise TraceFileError(f"missing field '{where + '.' if where else ''}{key}'")
    return d[key]


def latency_from_dict(d: Any, where: str) -> Any:
    kind = _field(d, "kind", where)
    cls = LATENCY_MODELS.get(kind)
    if cls is None:
        raise TraceFileError(f"{where}.kind: unknown latency model {shown(kind)} (known: {', '.join(LATENCY_MODELS)})")
    args = {f.name: _field(d, f.name, where) for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    args.update({f.name: d[f.name] for f in attrs.fields(cls) if f.name in d})
    return cls(**args)


def scenario_from_dict(d: Any, where: str = "scenario") -> Scenario:
    try:
        net = _field(d, "network", where)
        network = Network(
            latency=latency_from_dict(_field(net, "latency", f"{where}.network"), f"{where}.network.latency"),
            links=[
                LinkLatency(
                    _field(k, "src", "link"), _field(k, "dst", "link"), latency_from_dict(_field(k, "latency", "link"), "link")
                )
                for k in _field(net, "links", f"{where}.network")
            ],
            delays=_field(net, "delays", f"{where}.network"),
            fifo=_bool(_field(net, "fifo", f"{where}.network"), "fifo"),
            loss=_number(net.get("loss", 0.0), "loss"),
            duplicate=_number(net.get("duplicate", 0.0), "duplicate"),
            fates=_list(net.get("fates", []), "fates"),
            partitions=[_partition(p) for p in _list(net.get("partitions", []), "partitions")],
            faults_until=net.get("faults_until"),
            faults_from=net.get("faults_from", 0.0),
            delay_at=[(_field(p, "index", "delay_at"), _field(p, "delay", "delay_at"))
                      for p in _list(net.get("delay_at", []), "delay_at")],
            fate_at=[(_field(p, "index", "fate_at"), _field(p, "fate", "fate_at"))
                     for p in _list(net.get("fate_at", []), "fate_at")],
            kind_delays=[(_field(p, "kind", "kind_delays"), _field(p, "index", "kind_delays"),
                          _field(p, "delay", "kind_delays")) for p in _list(net.get("kind_delays", []), "kind_delays")],
            kind_fates=[(_field(p, "kind", "kind_fates"), _field(p, "index", "kind_fates"),
                         _field(p, "fate", "kind_fates")) for p in _list(net.get("kind_fates", []), "kind_fates")],
        )
        joins = [
            Join(_field(j, "node", "join"), _field(j, "at", "join"), _field(j, "bootstrap", "join"))
            for j in _field(d, "joins", where)
        ]
        return Scenario(
            ring=_field(d, "ring", where),
            joins=JoinSchedule(joins),
            network=network,
            seed=_field(d, "seed", where),
            max_events=_field(d, "max_events", where),
            deadline=_field(d, "deadline", where),
            churn=[_departure(op) for op in _list(d.get("churn", []), "churn")],
            settle=d.get("settle"),
        )
    except TraceFileError:
        raise
    except KeyError as exc:
        raise TraceFileError(f"invalid {where}: missing field {exc}") from None
    except (TypeError, ValueError) as exc:
        raise TraceFileError(f"invalid {where}: {reason(exc)}") from None


def _list(value: object, name: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{name} should be a list, got {value!r}")
    return value


def _partition(d: object) -> Partition:
    return Partition(
        _number(_field(d, "start", "partition"), "start"),
        _number(_field(d, "end", "partition"), "end"),
        _list(_field(d, "side_a", "partition"), "side_a"),
        _list(_field(d, "side_b", "partition"), "side_b"),
    )


_DEPARTURES = {"leave": Leave, "crash": Crash}


def _departure(d: object) -> Leave | Crash:
    kind = _field(d, "kind", "churn")
    if kind not in _DEPARTURES:
        raise ValueError(f"a churn operation's kind is leave or crash, got {kind!r}")
    node, at = _field(d, "node", "churn"), _number(_field(d, "at", "churn"), "at")
    if kind == "crash":
        return Crash(node, at, d.get("during"))
    return Leave(node, at)


def message_from_dict(d: dict) -> Message:
    data = d.get("data", {})
    if not isinstance(data, dict):
        raise ValueError("message data should be an object")
    return Message(_str(d["kind"]), _id(d["src"]), _id(d["dst"]), tuple(data.items()))


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} should be a finite number, got {shown(value)}")
    return value


def _id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"node ids are integers, got {shown(value)}")
    return value


def _bool(value: object, name: str) -> bool:
    if type(value) is not bool:
        raise ValueError(f"{name} should be true or false, got {shown(value)}")
    return value


def _change(change: object) -> tuple[str, object, object]:
    field, old, new = change  # type: ignore[misc]
    if field not in VIEW_FIELDS or not (valid_view_value(field, old) and valid_view_value(field, new)):
        raise ValueError(f"bad change {shown(change)}: fields are {', '.join(VIEW_FIELDS)} with ids, booleans or id lists")
    return field, _tupled(old), _tupled(new)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {shown(value)}")
    return value


def _tupled(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


_EVENT_KINDS = ("join", "send", "deliver", "timer", "leave", "crash", "drop")
_FAULTS = (None, "lost", "partitioned", "duplicated")


def event_from_dict(d: dict) -> Event:
    """Read one event, checking what the timeline and replay rely on."""
    kind = d["kind"]
    if kind not in _EVENT_KINDS:
        raise ValueError(f"unknown event kind {shown(kind)}")
    if kind in ("send", "deliver", "drop") and "msg" not in d:
        raise ValueError(f"a {kind} event needs a 'msg'")
    arrive = d.get("arrive")
    fault, again = d.get("fault"), d.get("again")
    if fault not in _FAULTS:
        raise ValueError(f"unknown message fault {fault!r}")
    return Event(
        seq=_id(d["seq"]),
        time=_number(d["t"], "event time 't'"),
        kind=kind,
        node=_id(d["node"]),
        message=message_from_dict(d["msg"]) if "msg" in d else None,
        changes=tuple(_change(c) for c in d.get("changes", ())),
        arrive=None if arrive is None else _number(arrive, "'arrive'"),
        timer=d.get("timer"),
        fault=fault,
        again=None if again is None else _number(again, "'again'"),
    )


def violation_from_dict(d: dict) -> Violation:
    nodes = tuple(_id(n) for n in d["nodes"])
    frames = d.get("traceback", [])  # optional: files written before it existed have none
    if not isinstance(frames, list) or len(frames) > MAX_TRACEBACK_FRAMES:
        raise ValueError(f"'traceback' should be a list of at most {MAX_TRACEBACK_FRAMES} frames")
    return Violation(
        _str(d["invariant"]), nodes, _str(d["message"]), _id(d["event"]), _number(d["t"], "'t'"),
        tuple(_frame(f) for f in frames),
    )


MAX_TRACEBACK_FRAMES = 64


def _frame(d: object) -> Frame:
    if not isinstance(d, dict):
        raise ValueError("a traceback frame should be an object with file, line, function and code")
    line = d["line"]
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise ValueError(f"a traceback frame's line should be a line number, got {line!r}")
    return Frame(_str(d["file"]), line, _str(d["function"]), _str(d["code"]))


@attrs.frozen
class TraceFile:
    """A trace file as read back: the raw JSON, plus the parts replay needs."""

    path: Path
    data: dict
    protocol: str
    scenario: Scenario
    violations: tuple[Violation, ...]
    #: What the run was checked with (built-in names, others `module:name`).
    invariants: tuple[str, ...] = DEFAULT_INVARIANTS

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(event_from_dict(e) for e in self.data["events"])


def read_trace(path: str | os.PathLike) -> TraceFile:
    """Read and validate a trace file; any problem is a one-line `TraceFileError`."""
    path = Path(path)
    text = read_input(path, TraceFileError)
    if known_format(text) == FORMATS["dhtea-log"]:
        raise TraceFileError(f"{path}: this is a dhtea node log, not a trace file (check node logs with `dhtea check`)")
    data = parse_json(text, path, TraceFileError)
    try:
        return _trace_from_data(path, data)
    except TraceFileError as exc:
        raise TraceFileError(f"{path}: {exc}") from None


def _check_event_nodes(e: Event, nodes: set[int]) -> None:
    # A send may name a node outside the run (the message is lost); nothing else may.
    if e.node not in nodes or (e.message is not None and e.message.src not in nodes):
        raise ValueError(f"event #{e.seq} names a node that is not part of the scenario")
    if e.kind in ("deliver", "drop") and e.message.dst not in nodes:
        raise ValueError(f"event #{e.seq} delivers to {e.message.dst}, not a node of the scenario")


# -- what a trace file may hold -------------------------------------------------
# One table per JSON object; a field added to the format is one line here
# (`optional(...)` if older files lack it). Checked before anything is built
# from the file, so every problem is one line naming the field.

#: Names (protocol, invariant, message kind, timer, data names) and free text.
MAX_NAME = 200
MAX_TEXT = 100_000

NODE_ID = integer()
TIME = number(0)
NAME = text(MAX_NAME, name=True)


def _scalar(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, (bool, int)):
        text(MAX_TEXT)(value, where)


def _latency(value: Any, where: str) -> None:
    kind = _field(value, "kind", where)
    cls = LATENCY_MODELS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise FieldError(f"field '{where}.kind': unknown latency model {shown(kind)} (known: {', '.join(LATENCY_MODELS)})")
    params = {f.name: (number() if f.default is attrs.NOTHING else optional(number())) for f in attrs.fields(cls)}
    check_record(params, value, where)


def _invariant_list(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise FieldError(f"field '{where}' should be a list of invariant names, got {shown(value)}")
    for i, name in enumerate(value):
        NAME(name, f"{where}[{i}]")


def _view_change(value: Any, where: str) -> None:
    if not (isinstance(value, list) and len(value) == 3 and value[0] in VIEW_FIELDS
            and valid_view_value(value[0], value[1]) and valid_view_value(value[0], value[2])):
        raise FieldError(f"field '{where}' should be [field, old, new] with a field of {', '.join(VIEW_FIELDS)} "
                         f"and ids, booleans or id lists, got {shown(value)}")


NETWORK_FIELDS: Fields = {
    "latency": _latency,
    "links": list_of(record({"src": NODE_ID, "dst": NODE_ID, "latency": _latency})),
    "delays": list_of(TIME),
    "fifo": boolean,
    "loss": optional(number(0)),
    "duplicate": optional(number(0)),
    "fates": optional(list_of(one_of(*FATES))),
    "partitions": optional(list_of(record(
        {"start": TIME, "end": TIME, "side_a": list_of(NODE_ID), "side_b": list_of(NODE_ID)}))),
    "faults_until": optional(nullable(TIME)),
    "faults_from": optional(TIME),
    "delay_at": optional(list_of(record({"index": integer(0), "delay": TIME}))),
    "fate_at": optional(list_of(record({"index": integer(0), "fate": one_of(*FATES)}))),
    "kind_delays": optional(list_of(record({"kind": NAME, "index": integer(0), "delay": TIME}))),
    "kind_fates": optional(list_of(record({"kind": NAME, "index": integer(0), "fate": one_of(*FATES)}))),
}
SCENARIO_FIELDS: Fields = {
    "ring": list_of(NODE_ID, shortest=1),
    "joins": list_of(record({"node": NODE_ID, "at": TIME, "bootstrap": NODE_ID})),
    "network": record(NETWORK_FIELDS),
    "seed": integer(),
    "max_events": integer(1),
    "deadline": nullable(number(above=0)),
    "churn": optional(list_of(record({"kind": one_of(*_DEPARTURES), "node": NODE_ID, "at": TIME}))),
    "settle": optional(nullable(number(above=0))),
}
MESSAGE_FIELDS: Fields = {
    "kind": NAME,
    "src": NODE_ID,
    "dst": NODE_ID,
    "data": optional(mapping(NAME, _scalar)),
}
EVENT_FIELDS: Fields = {
    "seq": integer(0),
    "t": TIME,
    "kind": one_of(*_EVENT_KINDS),
    "node": NODE_ID,
    "msg": optional(record(MESSAGE_FIELDS)),
    "changes": optional(list_of(_view_change)),
    "arrive": optional(nullable(TIME)),
    "timer": optional(nullable(NAME)),
    "fault": optional(nullable(one_of(*(f for f in _FAULTS if f)))),
    "again": optional(nullable(TIME)),
}
VIOLATION_FIELDS: Fields = {
    "invariant": NAME,
    "nodes": list_of(NODE_ID),
    "message": text(MAX_TEXT),
    "event": integer(-1),
    "t": TIME,
}
NODE_VIEW_FIELDS: Fields = {
    "id": NODE_ID,
    "left": nullable(NODE_ID),
    "right": nullable(NODE_ID),
    "member": boolean,
    "busy": boolean,
    "queue": list_of(NODE_ID),
}
TRACE_FIELDS: Fields = {
    "protocol": NAME,
    "invariants": optional(_invariant_list),
    "scenario": record(SCENARIO_FIELDS),
    "status": one_of(*STATUSES),
    "end_time": TIME,
    "violations": list_of(record(VIOLATION_FIELDS)),
    "final": list_of(record(NODE_VIEW_FIELDS)),
    "events": list_of(record(EVENT_FIELDS)),
}


def _check_consistent(data: dict, nodes: set[int]) -> None:
    """What the tables cannot say: events numbered in order, each message on its
    node's side, final views of the scenario's nodes, each once."""
    for i, e in enumerate(data["events"]):
        if e["seq"] != i:
            raise FieldError(f"field 'events[{i}].seq' should be {i} (events are numbered in order), got {shown(e['seq'])}")
        msg = e.get("msg")
        if e["kind"] in ("send", "deliver", "drop") and msg is None:
            raise FieldError(f"events[{i}]: a {e['kind']} event needs a 'msg'")
        if msg is not None and (e["kind"] == "send" and msg["src"] != e["node"] or e["kind"] == "deliver" and msg["dst"] != e["node"]):
            raise FieldError(f"events[{i}]: a {e['kind']} event of node {e['node']} with a message {msg['src']} -> {msg['dst']}")
        if e.get("fault") == "duplicated" and (e.get("arrive") is None or e.get("again") is None):
            raise FieldError(f"events[{i}]: a duplicated message needs both 'arrive' and 'again' times")
    ids = [v["id"] for v in data["final"]]
    if len(set(ids)) != len(ids) or not set(ids) <= nodes:
        raise FieldError("field 'final' should hold one view for each node of the scenario")


def _trace_from_data(path: Path, data: Any) -> TraceFile:
    if not isinstance(data, dict):
        raise TraceFileError(f"not a dhtea trace: the file should be a JSON object, got {shown(data, 30)}")
    fmt = _field(data, "format", "")
    if fmt != TRACE_FORMAT:
        what = FORMATS.get(fmt) if isinstance(fmt, str) else None
        if what:
            raise TraceFileError(f"this is {what}, not a trace file (format {fmt!r}, expected {TRACE_FORMAT!r})")
        raise TraceFileError(f"not a dhtea trace (format is {shown(fmt)}, expected {TRACE_FORMAT!r})")
    version = _field(data, "version", "")
    if type(version) is not int or version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise TraceFileError(f"unsupported trace version {shown(version)} (this dhtea reads versions {readable})")
    try:
        check_record(TRACE_FIELDS, data)
    except FieldError as exc:
        raise TraceFileError(str(exc)) from None
    protocol = _field(data, "protocol", "")
    if not isinstance(protocol, str) or not protocol:
        raise TraceFileError("field 'protocol' should be a protocol name")
    invariants = _invariant_names(data.get("invariants", list(DEFAULT_INVARIANTS)))
    scenario = scenario_from_dict(_field(data, "scenario", ""))
    events = _field(data, "events", "")
    raw_violations = _field(data, "violations", "")
    if not isinstance(events, list) or not isinstance(raw_violations, list):
        raise TraceFileError("fields 'events' and 'violations' should be lists")
    status = data.get("status")
    if status not in STATUSES:
        raise TraceFileError(f"field 'status' should be one of {', '.join(STATUSES)}, got {status!r}")
    nodes = set(scenario.nodes)
    try:
        violations = tuple(violation_from_dict(v) for v in raw_violations)
        for e in events:
            _check_event_nodes(event_from_dict(e), nodes)
    except KeyError as exc:
        raise TraceFileError(f"malformed event or violation: missing field {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise TraceFileError(f"malformed event or violation: {exc}") from None
    try:
        _check_consistent(data, nodes)
    except FieldError as exc:
        raise TraceFileError(str(exc)) from None
    return TraceFile(path, data, protocol, scenario, violations, invariants)


def _invariant_names(value: Any) -> tuple[str, ...]:
    # Only the shape is checked here; replay loads them and says which it cannot.
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TraceFileError("field 'invariants' should be a list of invariant names")
    return tuple(value)
