"""Bugs in words: what each invariant means when it breaks, and what happened in a run.

`MEANINGS` says, per invariant, in a few sentences that fit any protocol, what
a violation means for the ring. `story()` tells what happened in one saved run:
who joined, the step that broke the invariant, which pointers the checkers
blame and the event that set each, and for a run at rest who is stuck.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import attrs

from dhtea.core.scenario import Scenario
from dhtea.traces.states import last_change
from dhtea.show.timeline import describe_latency
from dhtea.core.trace import Event
from invariants import DEFAULT, NodeView, Violation


@attrs.frozen
class Meaning:
    title: str  # a few words, for headings
    text: str  # a few sentences, for any protocol


MEANINGS: dict[str, Meaning] = {
    "known-nodes": Meaning(
        "a pointer names a stranger",
        "A node's pointer names an id that takes part in nothing in this run: it is neither a member nor a joiner. "
        "Messages sent along that pointer go nowhere, and whichever node should have been there is cut out of the ring.",
    ),
    "ring-order": Meaning(
        "the ring is out of order",
        "Walking from member to member along right pointers must visit every member once, in increasing id order, "
        "wrapping around once; the only allowed detour is through a joiner that is being inserted into that very gap "
        "(left pointers mirror this). Here a member's pointer skips a member, points backwards, or names a joiner that "
        "does not belong in that gap, so a lookup that walks the ring reaches the wrong node or misses one.",
    ),
    "gap-exclusive": Meaning(
        "two joiners claim one gap",
        "Between two neighbouring members there is one gap, and only one joiner at a time may be inserted into it. "
        "Here the member at one end of a gap accepted one joiner while the member at the other end accepted another, "
        "so each end points at a different newcomer. However the two joins go on, one overwrites the other's "
        "pointers, and the ring loses a node or splits in two.",
    ),
    "joins-complete": Meaning(
        "a join never finishes",
        "The run came to rest (no message in flight, no timer pending), yet a node that started joining is still "
        "not a member. Nothing will ever happen again, so it stays outside the ring for good.",
    ),
    "leaves-complete": Meaning(
        "a leave never finishes",
        "At the end of the run a node that began a graceful leave is still running: it never finished leaving. "
        "Its neighbours may still treat it as part of the ring, or be locked on its behalf, and it never stops.",
    ),
    "departed-unlinked": Meaning(
        "a member points at a departed node",
        "At the end of the run a live member's pointer still names a node that left or crashed. Every message "
        "sent along that pointer is lost, so lookups and joins that pass this member stop there, and the ring "
        "is broken at this place until something repairs it.",
    ),
    "pointers-mutual": Meaning(
        "neighbours disagree",
        "At rest, every member's right neighbour should name that member as its left neighbour. Here a member "
        "points at a node that does not point back, or that is not a member at all, so walking right and walking "
        "left around the ring give different rings.",
    ),
    "locks-released": Meaning(
        "a lock is never released",
        "At rest, a node is still busy (locked) or still holds queued join requests. Nothing is left that could "
        "release it, so every later join that reaches this node waits forever.",
    ),
    "handler-error": Meaning(
        "a handler crashed",
        "A message or timer handler raised an exception, often because it used a pointer that was not set yet. "
        "A real node would crash or drop the message here.",
    ),
    "progress": Meaning(
        "the run never settles",
        "The run did not come to rest within its event limit, or was still changing at the end of its settle "
        "window: the nodes keep sending each other messages (a livelock) instead of finishing the joins.",
    ),
}


def meaning(invariant: str) -> Meaning:
    """The words for `invariant`; for one not listed, its checker's description."""
    if invariant in MEANINGS:
        return MEANINGS[invariant]
    described = next((i.description for i in DEFAULT if i.name == invariant and i.description), "")
    return Meaning(f"{invariant} broken", described or f"The invariant {invariant} was violated.")


# -- one run --------------------------------------------------------------------


def _t(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _names(ids: Sequence[int]) -> str:
    words = [str(i) for i in ids]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe_step(e: Event) -> str:
    """An event in words: `node 3 receives CONNECT(joiner=2) from 2`."""
    if e.kind == "join":
        return f"node {e.node} starts joining"
    if e.kind == "deliver":
        return f"node {e.node} receives {e.message.describe()} from {e.message.src}"
    if e.kind == "timer":
        return f"node {e.node}'s timer {e.timer} fires"
    if e.kind == "leave":
        return f"node {e.node} begins to leave"
    if e.kind == "crash":
        return f"node {e.node} crashes"
    if e.kind == "drop":
        return f"{e.message.describe()} from {e.message.src} reaches node {e.node}, which is gone, and is lost"
    return f"node {e.node} sends {e.message.describe()} to {e.message.dst}"


def _changes(e: Event) -> str:
    def v(x: object) -> str:
        return "unset" if x is None else str(x).lower() if isinstance(x, bool) else str(list(x) if isinstance(x, tuple) else x)

    return ", ".join(f"{f} {v(old)}→{v(new)}" for f, old, new in e.changes)


def setup(scenario: Scenario) -> str:
    """The scenario in one or two sentences."""
    ring = scenario.ring
    members = f"the single member {ring[0]}" if len(ring) == 1 else f"members {_names(ring)}"
    joins = "; ".join(f"node {j.node} starts joining at t={_t(j.at)} through {j.bootstrap}" for j in scenario.joins)
    net = scenario.network
    lat = net.latency
    if lat.kind == "constant":  # type: ignore[attr-defined]
        latency = f"every message takes {_t(lat.value)} time unit{'s' if lat.value != 1 else ''}"  # type: ignore[attr-defined]
    else:
        latency = f"message latencies are drawn from {describe_latency(lat)} with seed {scenario.seed}"
    extra = " (some messages have scripted delays)" if net.delays or net.delay_at or net.kind_delays or net.links else ""
    text = f"The ring starts with {members}. {joins[:1].upper() + joins[1:] or 'Nobody joins'}. {latency[:1].upper() + latency[1:]}{extra}."
    more = [_churn_words(scenario)] + _fault_words(scenario)
    return " ".join([text] + [m[:1].upper() + m[1:] + "." for m in more if m])


def _churn_words(scenario: Scenario) -> str:
    during = {"join": " if still joining then", "leave": " if still leaving then"}
    return "; ".join(f"node {op.node} {'leaves' if op.kind == 'leave' else 'crashes'} at t={_t(op.at)}"
                     + during.get(getattr(op, "during", None) or "", "") for op in scenario.churn)


def _fault_words(scenario: Scenario) -> list[str]:
    net = scenario.network
    until = "" if net.faults_until is None else f" (of those sent before t={_t(net.faults_until)})"
    if net.faults_from:
        end = "" if net.faults_until is None else f" and before t={_t(net.faults_until)}"
        until = f" (of those sent from t={_t(net.faults_from)}{end})"
    out = []
    if net.loss:
        out.append(f"each message is lost with probability {net.loss:g}{until}")
    if net.duplicate:
        out.append(f"each message is delivered twice with probability {net.duplicate:g}{until}")
    lost, doubled = net.fates.count("lose"), net.fates.count("duplicate")
    if lost or doubled:
        what = ([f"{lost} lost"] if lost else []) + ([f"{doubled} delivered twice"] if doubled else [])
        out.append(f"of the first {len(net.fates)} messages sent, {' and '.join(what)} (scripted)")
    single = [f"the {_ordinal(k + 1)} is {'lost' if f == 'lose' else 'delivered twice'}" for k, f in net.fate_at if f != "deliver"]
    if single:
        window = ([f"from t={_t(net.faults_from)}"] if net.faults_from else []) + (
            [f"before t={_t(net.faults_until)}"] if net.faults_until is not None else [])
        out.append(f"of the messages sent {' and '.join(window) or 'from the start'}, {', '.join(single)} (scripted)")
    for p in net.partitions:
        out.append(f"messages between {{{', '.join(map(str, p.side_a))}}} and {{{', '.join(map(str, p.side_b))}}} are lost from "
                   f"t={_t(p.start)} to t={_t(p.end)} (a partition that then heals)")
    by_kind = [f"the {_ordinal(n + 1)} {m} message sent is {'lost' if f == 'lose' else 'delivered twice'}"
               for m, n, f in net.kind_fates if f != "deliver"]
    if by_kind:
        out.append(", ".join(by_kind) + " (scripted, whenever it is sent)")
    held = [f"the {_ordinal(n + 1)} {m} message sent takes {_t(d)}" for m, n, d in net.kind_delays]
    if held:
        out.append(", ".join(held) + " (scripted)")
    return out


def story(
    scenario: Scenario,
    events: Sequence[Event],
    violations: Sequence[Violation],
    views: Mapping[int, NodeView],
    blamed: set[tuple[int, str]],
    at_rest: bool,
) -> list[str]:
    """What happened, as sentences. `views`: the node views at the first
    violation (or at the end); `blamed`: the pointers the checkers blame there."""
    lines = [setup(scenario)]
    if not violations:
        lines.append(_passing(scenario, events, views, at_rest))
        return lines
    first = violations[0]
    step = next((e for e in events if e.seq == first.event), None)
    when = "" if step is None else f"At event #{step.seq} (t={_t(step.time)}), {describe_step(step)}"
    if first.event == -1:
        lines.append(f"{first.invariant} does not hold even before the first event.")
    elif first.invariant == "handler-error" and step is not None:
        where = ""
        if first.traceback:  # where it raised: the innermost frame
            f = first.traceback[-1]
            where = f" at {f.file}:{f.line} in {f.function}" + (f" ({f.code})" if f.code else "")
        lines.append(f"{when}, and its handler raises an exception{where}.")
    elif first.invariant == "progress":
        lines.append(f"The run is cut off after event #{first.event} (t={_t(first.time)}): it has not come to rest within its event limit.")
    elif at_rest:
        lines.append(f"After event #{first.event} the run is at rest at t={_t(first.time)}: nothing is left in flight, and the at-rest checks fail.")
    elif step is not None:
        did = f" and changes {_changes(step)}" if step.changes else ""
        lines.append(f"{when}{did}: right after this step {first.invariant} no longer holds.")
    for node, side in sorted(blamed):
        target = getattr(views[node], side)
        since = last_change(events, node, side, first.event)
        origin = "since the start" if since is None else f"since event #{since.seq} (t={_t(since.time)}, when {describe_step(since)})"
        lines.append(f"Node {node}'s {side} pointer names {target} {origin}; the checkers blame this pointer.")
    if at_rest:
        lines += _stuck(events, views, first)
    return lines


def _stuck(events: Sequence[Event], views: Mapping[int, NodeView], first: Violation) -> list[str]:
    out = []
    joiners = [n for n, v in sorted(views.items()) if not v.member]
    for n in joiners:
        v = views[n]
        have = [s for s in ("left", "right") if getattr(v, s) is not None]
        got = f"it has {' and '.join(f'{s}={getattr(v, s)}' for s in have)} but" if have else "it has"
        missing = [s for s in ("left", "right") if getattr(v, s) is None]
        lacking = f"no {' and no '.join(missing)} pointer" if missing else "both pointers"
        got_msgs = [e for e in events if e.node == n and e.kind == "deliver" and e.seq <= first.event]
        note = ""
        if got_msgs:
            note = "; what reached it: " + "; ".join(
                f"#{e.seq} {e.message.describe()} from {e.message.src} " + (f"set {_changes(e)}" if e.changes else "changed nothing")
                for e in got_msgs[-6:]
            )
        out.append(f"Node {n} never became a member: {got} {lacking}{note}.")
    for n, v in sorted(views.items()):
        if v.busy:
            since = last_change(events, n, "busy", first.event)
            when = "from the start" if since is None else f"since event #{since.seq} (t={_t(since.time)}, when {describe_step(since)})"
            queued = f", with join requests {list(v.queue)} waiting" if v.queue else ""
            out.append(f"Node {n} stays busy {when}{queued}; nothing is left to release it.")
    return out


def ring_walk(views: Mapping[int, NodeView]) -> str:
    """The members in the order their right pointers lead, from the smallest: `0 → 1 → 3 → 0`."""
    members = sorted(n for n, v in views.items() if v.live_member)
    if not members:
        return "no members"
    walk, node = [members[0]], views[members[0]].right
    while node is not None and node not in walk and node in views and len(walk) <= len(views):
        walk.append(node)
        node = views[node].right
    return " → ".join(str(n) for n in walk + ([node] if node is not None else ["unset"]))


def _passing(scenario: Scenario, events: Sequence[Event], views: Mapping[int, NodeView], at_rest: bool) -> str:
    end = "came to rest" if at_rest else "stopped"
    waiting = [j.node for j in scenario.joins if j.node in views and views[j.node].role == "joiner"]
    who = "every joiner is a member" if not waiting else f"{_names(waiting)} not a member yet"
    if not scenario.joins:
        who = "nobody joined"
    gone = [f"{n} {v.gone}" for n, v in sorted(views.items()) if v.gone is not None]
    if gone:
        who += "; " + _names(gone)
    return (
        f"Every invariant held after each of the {len(events)} events; the run {end} and {who}. "
        f"Following right pointers: {ring_walk(views)}."
    )
