"""The report page's look: its style sheet and the legends under the headings.

Plain CSS, inlined into every page, so a report needs no other file.
"""

from dhtea.show.ringpicture import LEFT, RIGHT, WRONG
from dhtea.show.sequence import OVERTAKE, PARTITION


def _swatch(colour: str, dashed: bool = False) -> str:
    style = f"border-top:3px {'dashed' if dashed else 'solid'} {colour}"
    return f"<span class=\"swatch\" style=\"{style}\"></span>"


RING_LEGEND = (
    "<p class=\"legend\">Nodes sit clockwise in id order from the top; filled circles are members, dashed ones joiners, dotted ones leaving; grey ones have left (dotted) or crashed (crossed), and their frozen pointers are faint. "
    f"{_swatch(RIGHT)}right pointer (wide arc) {_swatch(LEFT)}left pointer (narrow arc) "
    f"{_swatch(WRONG)}pointer the invariant checkers blame; a red outline marks the nodes the violation names. "
    "In a healthy ring each node's right arc reaches its clockwise neighbour and that neighbour's left arc comes back.</p>"
)
MSC_LEGEND = (
    "<p class=\"legend\">One lifeline per node, time runs down; each row is one step (the <code>#</code> is the event "
    "number, steps at the same time share a shaded band). An arrow is a message, from the step that sent it to the step "
    "that received it, labelled with its send and delivery times. Filled dots changed the node's state; the right column "
    f"says how. {_swatch(OVERTAKE)}a message that overtook an earlier one on the same link (the arrows cross). "
    f"{_swatch('#6b7280', True)}still in flight when the run stopped. {_swatch(PARTITION)}a bar down the left edge: the steps during a "
    "partition (hover for its sides). The red band is the step after which the invariant broke.</p>"
)

STEP_LEGEND = (
    "<p class=\"legend\">Walk the run one event at a time: drag the slider, use the buttons, or press ← and → "
    "(Home and End jump to the ends). The ring shows the state right after the chosen event; the event's row in the "
    "message diagram below (and its line in the text timeline) turns yellow and its arrow is drawn bold. Past the "
    "violation the run goes on to where the bug leads.</p>"
)

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111827;margin:0;background:#f3f4f6}
main{max-width:1260px;margin:0 auto;padding:16px 22px 60px}
h1{font-size:26px;margin:6px 0 2px}
h2{font-size:21px;margin:0 0 2px}
h3{font-size:16px;margin:18px 0 6px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px 22px;margin:20px 0}
.sub{color:#4b5563;margin:0 0 10px}
.verdict{border-left:6px solid #dc2626;background:#fef2f2;padding:8px 16px;border-radius:6px}
.verdict.ok{border-color:#16a34a;background:#f0fdf4}
.verdict p{margin:6px 0}
.headline{font-size:17px}
.verdict ul{margin:4px 0 8px;padding-left:22px}
pre,code,.checker{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:13px}
pre{background:#f3f4f6;padding:8px 12px;border-radius:6px;overflow-x:auto;margin:4px 0}
.cols{display:flex;flex-wrap:wrap;gap:28px}
.cols>div{flex:1 1 420px}
table{border-collapse:collapse}
table.facts th{text-align:left;padding:2px 14px 2px 0;color:#4b5563;font-weight:normal;vertical-align:top}
table.facts td{padding:2px 0}
.rings{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0;width:300px}
figcaption{font-size:13.5px;font-weight:bold;margin:2px 0 4px}
table.state{font-size:12.5px}
table.state th,table.state td{border:1px solid #e5e7eb;padding:1px 7px;text-align:center}
table.state td.wrong{color:#dc2626;font-weight:bold}
table.state tr.involved th{color:#dc2626}
.diagram{overflow-x:auto;border:1px solid #e5e7eb;border-radius:6px}
.legend{font-size:13px;color:#374151;margin:2px 0 8px}
.swatch{display:inline-block;width:22px;height:0;vertical-align:middle;margin:0 4px 0 8px}
mark.broke{background:#fee2e2;color:#991b1b}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
svg .note{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
svg .msg-label,svg .node-note{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
details{margin-top:12px}
.stepper{display:flex;flex-wrap:wrap;gap:8px 22px;position:sticky;top:0;z-index:2;background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:6px 12px;margin-bottom:10px;box-shadow:0 2px 6px rgba(0,0,0,.08)}
.step-rings{width:300px;min-height:280px}
.step-side{flex:1 1 420px;min-width:0}
.step-controls button{font:inherit;font-size:13.5px;margin:0 6px 6px 0;padding:3px 10px;border:1px solid #9ca3af;border-radius:6px;background:#f9fafb;cursor:pointer}
.step-slider{width:100%;margin:4px 0}
.step-count{margin:0;color:#4b5563;font-size:13px}
.step-info{font-size:14px;margin-top:4px}
.step-info code{white-space:pre-wrap}
.step-info .broke-here{color:#dc2626;font-weight:bold}
.step-info .after-file{color:#6b7280;font-style:italic}
[hidden]{display:none!important}
svg .cursor{fill:#facc15;fill-opacity:.38;display:none}
svg .cursor.on{display:inline}
svg .message.on line,svg .message.on path{stroke-width:4}
svg .message.on .msg-label{font-weight:bold}
.timeline .tl.on{background:#fde68a}
table.coverage{font-size:13px}
table.coverage th{text-align:left;padding:1px 12px 1px 0;color:#4b5563;font-weight:normal}
table.coverage td{border:1px solid #e5e7eb;padding:1px 8px}
.never{color:#b45309}
td.never{font-weight:bold;background:#fffbeb}
pre.traceback{background:#fef2f2;margin:4px 0 0}
"""
