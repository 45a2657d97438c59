"""The step-through view of a run: a slider (and the arrow keys) that walks the
run one event at a time, redrawing the ring and marking the event's row and
arrow in the sequence diagram and its line in the text timeline.

Every ring state the run passes through is drawn here, in Python, once (the
same `ring_picture` as the static pictures); the page's small inline script
only shows the state of the chosen step and moves the marks. So there is one
drawing code, the page stays one self-contained file, and the same run gives
the same bytes.

A trace of a failing run stops right after the violation. To show where the
bug leads (a split ring, a joiner stuck for good), the stepper goes on past it
with a `Continuation`: the rest of the same run, up to rest. It is not in the
trace file; see `dhtea.search.continuing` for where it comes from and why.
"""

from __future__ import annotations

import html
import json
from typing import Sequence

import attrs

from dhtea.core.scenario import Scenario
from dhtea.core.trace import Event
from dhtea.show.ringpicture import ring_picture
from dhtea.show.timeline import format_event
from dhtea.traces.states import blamed_pointers, initial_views, replay_states
from invariants import DEFAULT, SAFETY, NodeView, Violation


@attrs.frozen
class Continuation:
    """The run past the end of its trace file, or why it is not shown.

    `events`: the events after the file's last one, numbered on from it;
    `status`, `end_time`: how the longer run ended; `violations`: what its
    checks found at the end (the at-rest invariants once at rest). With no
    events, `note` says why (the file already holds the whole run, the
    protocol cannot be loaded, ...)."""

    events: tuple[Event, ...] = ()
    status: str | None = None
    end_time: float | None = None
    violations: tuple[Violation, ...] = ()
    note: str = ""


@attrs.frozen
class Step:
    """One position of the slider: just after event `seq` (-1: before the first)."""

    seq: int
    state: int  # index of the ring state shown at this step
    caption: str
    line: str  # the event as the text timeline prints it
    broke: tuple[Violation, ...]  # violations found right after this step
    continued: bool  # past the end of the trace file


def steps_of(
    scenario: Scenario, events: Sequence[Event], violations: Sequence[Violation], continuation: Continuation | None
) -> tuple[list[Step], list[tuple[dict[int, NodeView], frozenset, frozenset]]]:
    """The steps and the distinct ring states (views, blamed pointers, nodes to
    outline) the slider walks through. A step that changed nothing shows the
    same state as the one before it."""
    after = continuation.events if continuation else ()
    file_last = events[-1].seq if events else -1
    broke: dict[int, list[Violation]] = {}
    for v in violations:
        broke.setdefault(v.event, []).append(v)
    end_checks_at = None
    if continuation and continuation.status in ("rest", "deadline") and after:
        end_checks_at = after[-1].seq
    elif not after and violations and violations[0].invariant not in {i.name for i in SAFETY}:
        end_checks_at = file_last  # an at-rest violation: the file's end is the run's rest
    states: list[tuple[dict[int, NodeView], frozenset, frozenset]] = []
    steps: list[Step] = []
    everything = tuple(events) + tuple(after)
    last_seq = everything[-1].seq if everything else -1
    involved = frozenset()

    def add(seq: int, views: dict[int, NodeView], event: Event | None) -> None:
        nonlocal involved
        here = tuple(broke.get(seq, ()))
        if seq == end_checks_at:
            here += tuple(v for v in (continuation.violations if continuation else ()) if v not in here)
        checks = DEFAULT if seq == end_checks_at else SAFETY
        if event is None or event.kind != "send":  # a send is part of its step: same outlined nodes
            involved = frozenset(n for v in here for n in v.nodes)
        state = (views, frozenset(blamed_pointers(views, scenario.nodes, checks)), involved)
        if not states or states[-1] != state:
            states.append(state)
        continued = seq > file_last
        if event is None:
            caption, line = "before the first event (t=0)", "the initial ring, before the first event"
        else:
            caption = f"after event #{event.seq} of {last_seq + 1} (t={_t(event.time)})"
            line = format_event(event)
        steps.append(Step(seq, len(states) - 1, caption, line, here, continued))

    add(-1, initial_views(scenario), None)
    for event, views in replay_states(scenario, everything):
        add(event.seq, views, event)
    return steps, states


def stepper(
    scenario: Scenario,
    events: Sequence[Event],
    violations: Sequence[Violation],
    continuation: Continuation | None,
    anchor: str,
) -> str:
    """The step-through panel of one run (HTML). The sequence diagram and the
    timeline of the same section carry `data-seq` marks the script moves."""
    steps, states = steps_of(scenario, events, violations, continuation)
    first_broke = next((s.seq for s in steps if s.broke and not s.continued), None)
    pictures = []
    for i, (views, blamed, involved) in enumerate(states):
        picture = ring_picture(views, blamed=blamed, involved=involved, label=f"the ring at state {i + 1} of {len(states)}")
        hidden = "" if i == 0 else " hidden"
        pictures.append(f"<div class=\"step-ring\" data-state=\"{i}\"{hidden}>{picture}</div>")
    infos = []
    for s in steps:
        words = [f"<b>{_esc(s.caption[0].upper() + s.caption[1:])}</b>"]
        words.append(f"<code>{_esc(s.line)}</code>")
        if s.continued:
            words.append("<span class=\"after-file\">after the trace file ends: the same scenario run on</span>")
        for v in s.broke:
            words.append(f"<span class=\"broke-here\">✗ {_esc(v.invariant)}: {_esc(v.message)}</span>")
        hidden = "" if s.seq == -1 else " hidden"
        infos.append(f"<div class=\"step-info\" data-seq=\"{s.seq}\"{hidden}>{'<br>'.join(words)}</div>")
    last = steps[-1].seq
    marks = {"data-states": json.dumps([s.state for s in steps], separators=(",", ":"))}
    buttons = [("first", "« start", "Home")]
    buttons.append(("prev", "◀ previous", "←"))
    buttons.append(("next", "next ▶", "→"))
    if first_broke is not None:
        buttons.append(("broke", "✗ violation", "V"))
    buttons.append(("last", "end »", "End"))
    controls = "".join(
        f"<button type=\"button\" data-go=\"{go}\" title=\"{_esc(key)}\">{_esc(word)}</button>" for go, word, key in buttons
    )
    if continuation and continuation.events:
        ends = (f"The trace file ends at event #{events[-1].seq if events else -1}; the steps after it run the same "
                f"scenario on to {_esc(_ending(continuation))} (not saved in the file, re-run for this page).")
    elif continuation and continuation.note:
        ends = _esc(continuation.note)
    else:
        ends = ""
    return "\n".join([
        f"<div class=\"stepper\" id=\"{anchor}-steps\" data-first=\"-1\" data-last=\"{last}\""
        f" data-broke=\"{'' if first_broke is None else first_broke}\" {' '.join(f'{k}={_q(v)}' for k, v in marks.items())}>",
        "<div class=\"step-rings\">", *pictures, "</div>",
        "<div class=\"step-side\">",
        f"<div class=\"step-controls\">{controls}</div>",
        f"<input type=\"range\" class=\"step-slider\" min=\"-1\" max=\"{last}\" step=\"1\" value=\"-1\""
        f" aria-label=\"event to show\">",
        f"<p class=\"step-count\">step <output>0</output> of {len(steps) - 1}</p>",
        *infos,
        f"<p class=\"legend\">{ends}</p>" if ends else "",
        "</div>",
        "</div>",
    ])


def _ending(c: Continuation) -> str:
    at = f"t={_t(c.end_time)}" if c.end_time is not None else "its end"
    words = {"rest": f"rest at {at}", "deadline": f"its deadline, {at}", "max-events": f"the event limit, {at}"}
    return words.get(c.status or "", at)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _q(value: str) -> str:
    return "\"" + _esc(value) + "\""


def _t(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


# The page's one script: shows the chosen step of each stepper and moves the
# marks in its section. Left/right arrows (and Home/End) step the stepper the
# reader last used, or else the first one on screen.
SCRIPT = """
(function(){
var steppers=[].slice.call(document.querySelectorAll('.stepper')),active=null;
function sectionOf(st){return st.closest('section');}
function show(st,seq){
 var first=+st.dataset.first,last=+st.dataset.last;
 seq=Math.max(first,Math.min(last,seq));
 var states=JSON.parse(st.dataset.states),sec=sectionOf(st),state=states[seq-first];
 st.querySelectorAll('.step-ring').forEach(function(e){e.hidden=+e.dataset.state!==state;});
 st.querySelectorAll('.step-info').forEach(function(e){e.hidden=+e.dataset.seq!==seq;});
 sec.querySelectorAll('.on').forEach(function(e){e.classList.remove('on');});
 sec.querySelectorAll('.cursor[data-seq="'+seq+'"],.tl[data-seq="'+seq+'"],'+
  '.message[data-send="'+seq+'"],.message[data-deliver="'+seq+'"]').forEach(function(e){e.classList.add('on');});
 st.querySelector('.step-slider').value=seq;
 st.querySelector('output').textContent=seq-first;
 st.dataset.at=seq;active=st;
}
function onScreen(){
 for(var i=0;i<steppers.length;i++){var r=sectionOf(steppers[i]).getBoundingClientRect();
  if(r.bottom>0&&r.top<window.innerHeight)return steppers[i];}
 return steppers[0];
}
function go(st,how){
 var at=+(st.dataset.at||st.dataset.first);
 var to={first:+st.dataset.first,prev:at-1,next:at+1,last:+st.dataset.last,broke:+st.dataset.broke}[how];
 if(to!==undefined&&!isNaN(to))show(st,to);
}
steppers.forEach(function(st){
 st.querySelector('.step-slider').addEventListener('input',function(e){show(st,+e.target.value);});
 st.querySelectorAll('button[data-go]').forEach(function(b){b.addEventListener('click',function(){go(st,b.dataset.go);});});
 show(st,+st.dataset.first);
});
active=null;
document.addEventListener('keydown',function(e){
 if(e.altKey||e.ctrlKey||e.metaKey||!steppers.length)return;
 if(e.target&&e.target.classList&&e.target.classList.contains('step-slider'))return;
 var how={ArrowRight:'next',ArrowLeft:'prev',Home:'first',End:'last'}[e.key];
 if(!how)return;
 go(active||onScreen(),how);e.preventDefault();
});
})();
"""
