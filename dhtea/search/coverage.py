"""What a hunt exercised: its scenarios by feature, and how many runs reached
each interesting state.

"2,000 scenarios passed" proves little if none of them had a joiner wait behind
a lock. A hunt counts every run by the features of its scenario (ring size,
joiner count, latency model, and any other feature in `FEATURES`), by what
happened in it (`RUN_FEATURES`: the kinds of message a fault hit) and by the
interesting states the run went through (`STATES`); a value or a state that no
run reached is listed as never exercised.

To count a new feature, add `(name, function)` to `FEATURES`: the function maps
a scenario to the feature's value as a short string, or None when scenarios of
this kind do not have the feature at all.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

import attrs

from dhtea.core.network import LATENCY_MODELS
from dhtea.core.scenario import Scenario
from dhtea.core.trace import RunResult


def _fault_kinds(scenario: Scenario) -> tuple[str, ...]:
    """The kinds of fault in a scenario, each once (("none",) without any):
    departures (leave, crash) and network faults (loss, duplication, scripted
    fates of the first messages, of single messages, by message kind, partitions). A run
    counts under each of its kinds: counted by combination, a hunt's few
    thousand runs would spread over dozens of combinations."""
    kinds = {type(d).__name__.lower() for d in getattr(scenario, "churn", ())}
    net = scenario.network
    for kind, present in (("loss", getattr(net, "loss", 0)), ("duplication", getattr(net, "duplicate", 0)),
                          ("scripted fates", getattr(net, "fates", ())),
                          ("single-message fates", getattr(net, "fate_at", ())),
                          ("fates by message kind", getattr(net, "kind_fates", ())),
                          ("partition", getattr(net, "partitions", ()))):
        if present:
            kinds.add(kind)
    return tuple(sorted(kinds)) or ("none",)


#: Features of a scenario: each gives one value, or several (a run counts under each).
FEATURES: tuple[tuple[str, Callable[[Scenario], str | tuple[str, ...] | None]], ...] = (
    ("ring size", lambda s: str(len(s.ring))),
    ("joiners", lambda s: str(len(s.joins))),
    ("latency model", lambda s: s.network.latency.kind),
    ("fault kinds", _fault_kinds),
)

def faulted_kinds(result: RunResult) -> dict[str, int] | None:
    """For a run whose network has faults (None for others): each kind of
    message it sent, 1 if a loss, duplication or partition hit one of them,
    else 0. Summed over a hunt: which of the messages the protocol sent under
    faults the hunt ever took away or repeated. A kind sent but never
    faulted is a blind spot (a reply only sent after a lease runs out, say);
    a kind never sent under faults is not listed at all."""
    if not result.scenario.network.faulty:
        return None
    hit: dict[str, int] = {}
    for e in result.events:
        if e.kind == "send":
            kind = e.message.kind
            if e.fault is not None:
                hit[kind] = 1
            elif kind not in hit:
                hit[kind] = 0
    return hit


#: Features of a run, not only of its scenario: each gives counts to add, by value.
RUN_FEATURES: tuple[tuple[str, Callable[[RunResult], dict[str, int] | None]], ...] = (
    ("faulted message kinds", faulted_kinds),
)


QUEUED = "a joiner queued behind a lock"
OVERTAKEN = "a message overtook another on its link"
WRAPPED = "a wrap-around insertion"
STATES: tuple[str, ...] = (QUEUED, OVERTAKEN, WRAPPED)


def reached_states(result: RunResult) -> tuple[str, ...]:
    """The interesting states `result` went through, in `STATES` order.

    Queued: a node's join queue grew. Overtaken: a message was delivered before
    one sent earlier on the same link (src to dst). Wrap-around: a joiner became
    a member in the gap from the largest member round to the smallest."""
    queued = overtaken = wrapped = False
    latest: dict[tuple[int, int], float] = {}  # per link: the latest arrival of a message sent so far
    members = set(result.scenario.ring)
    end = result.end_time
    for e in result.events:
        if e.kind == "send":
            if e.arrive is not None and not overtaken:
                link = (e.message.src, e.message.dst)
                before = latest.get(link)
                if before is not None and e.arrive < before and e.arrive <= end:
                    overtaken = True
                if before is None or e.arrive > before:
                    latest[link] = e.arrive
            continue
        for field, old, new in e.changes:
            if field == "queue" and len(new) > len(old):
                queued = True
            elif field == "member" and new and not old:
                if members and (e.node > max(members) or e.node < min(members)):
                    wrapped = True
                members.add(e.node)
    flags = (queued, overtaken, wrapped)
    return tuple(name for name, hit in zip(STATES, flags) if hit)


@attrs.define
class Coverage:
    """Counts over the runs of a hunt. `add` one run at a time; `merge` the
    counts of hunts run in parallel."""

    runs: int = 0
    features: dict[str, dict[str, int]] = attrs.field(factory=dict)
    states: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(STATES, 0))

    def add(self, result: RunResult) -> None:
        self.runs += 1
        for name, value_of in FEATURES:
            value = value_of(result.scenario)
            if value is not None:
                counts = self.features.setdefault(name, {})
                for v in (value,) if isinstance(value, str) else value:
                    counts[v] = counts.get(v, 0) + 1
        for name, counts_of in RUN_FEATURES:
            more = counts_of(result)
            if more is not None:
                counts = self.features.setdefault(name, {})
                for v in sorted(more):
                    counts[v] = counts.get(v, 0) + more[v]
        for state in reached_states(result):
            self.states[state] = self.states.get(state, 0) + 1

    def merge(self, other: "Coverage") -> None:
        self.runs += other.runs
        for name, counts in other.features.items():
            mine = self.features.setdefault(name, {})
            for value, n in counts.items():
                mine[value] = mine.get(value, 0) + n
        for state, n in other.states.items():
            self.states[state] = self.states.get(state, 0) + n

    def to_dict(self, expected: Mapping[str, Iterable[str]] | None = None) -> dict:
        """The counts as JSON-ready data, values in a fixed order, with every
        `expected` value (and every state) that no run reached listed in `never`."""
        expected = dict(expected or {})
        features = {}
        for name, _ in FEATURES + RUN_FEATURES:
            seen = self.features.get(name, {})
            if not seen and name not in expected:
                continue
            values = list(dict.fromkeys([*expected.get(name, ()), *sorted(seen, key=_order)]))
            if all(v.isdigit() for v in values):  # sizes and counts in order, 0 (no joiner) first
                values.sort(key=int)
            features[name] = {v: seen.get(v, 0) for v in values}
        states = {s: self.states.get(s, 0) for s in STATES}
        never = [f"{name} {v}" for name, counts in features.items() for v, n in counts.items() if n == 0]
        never += [s for s, n in states.items() if n == 0]
        return {"runs": self.runs, "features": features, "states": states, "never": never}


def _order(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


#: The coverage kinds each churn or fault a hunt generates brings (`_fault_kinds`).
_COVERAGE_KINDS = {"leave": ("leave",), "crash-joiner": ("crash",), "crash-leaver": ("crash",), "crash": ("crash",),
                   "loss": ("loss", "scripted fates", "single-message fates", "fates by message kind"),
                   "duplicate": ("duplication", "scripted fates", "single-message fates", "fates by message kind"),
                   "partition": ("partition",)}


def expected_values(max_ring: int | None = None, max_joiners: int | None = None,
                    faults: Iterable[str] = (), message_kinds: Iterable[str] = ()) -> dict[str, list[str]]:
    """The feature values a hunt's strategy can produce, to show those it
    never ran; `faults` are the churn and faults it generates (`FAULT_KINDS`);
    `message_kinds` the kinds of message the protocol names (its `kinds`),
    which fates by message kind need. (Faulted message kinds list the kinds
    the runs sent: which kinds a protocol sends under which churn is not
    known beforehand.)"""
    out: dict[str, list[str]] = {"latency model": list(LATENCY_MODELS)}
    kinds = [k for f in faults for k in _COVERAGE_KINDS.get(f, ()) if message_kinds or k != "fates by message kind"]
    if kinds:
        out["fault kinds"] = list(dict.fromkeys(["none", *sorted(set(kinds))]))
    if max_ring is not None:
        out["ring size"] = [str(n) for n in range(1, max_ring + 1)]
    if max_joiners is not None:
        out["joiners"] = [str(n) for n in range(1, max_joiners + 1)]
    return out
