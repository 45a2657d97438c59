"""Terminal timelines: colour only on a terminal, and never a different text.

Plain output must stay byte-for-byte what it was (other tests and users'
scripts compare it); colour only wraps pieces of it in ANSI codes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dhtea.cli.main import main
from dhtea.traces.serial import read_trace
from dhtea.drivers.simulator import simulate
from dhtea.traces.states import blamed_changes
from dhtea.show.timeline import ANSI, PLAIN, format_result, format_timeline, wants_colour

COUNTEREXAMPLES = sorted((Path(__file__).parents[1] / "counterexamples").glob("*.trace.json"))
GAP = Path(__file__).parents[1] / "counterexamples" / "classic-3-gap-exclusive.trace.json"
RING_ORDER = Path(__file__).parents[1] / "counterexamples" / "classic-2-ring-order.trace.json"
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
BROKE, FOCUS, BLAMED = "\x1b[1;97;41m", "\x1b[1;33m", "\x1b[1;31m"


def strip(text: str) -> str:
    return ESCAPE.sub("", text)


# The text `dhtea show` printed for this trace before colour existed.
GAP_TIMELINE = """\
#0    t=0            1 starts joining   | busy False->True
#1    t=0            1 -> 0     CONNECT(joiner=1)  (arrives t=1)
#2    t=0            2 starts joining   | busy False->True
#3    t=0            2 -> 3     CONNECT(joiner=2)  (arrives t=1)
#4    t=1            0 <- 1     CONNECT(joiner=1)   | right 3->1, busy False->True
#5    t=1            0 -> 3     CHANGE_NEIGHBOUR(joiner=1)  (arrives t=2)
#6    t=1            0 -> 1     NEW_NEIGHBOUR(sender=0)  (arrives t=2)
#7    t=1            3 <- 2     CONNECT(joiner=2)   | left 0->2, busy False->True
#8    t=1            3 -> 0     CHANGE_NEIGHBOUR(joiner=2)  (arrives t=2)
#9    t=1            3 -> 2     NEW_NEIGHBOUR(sender=3)  (arrives t=2)
!! gap-exclusive violated at event #7 (t=1), nodes [0, 3, 1, 2]: the gap between members 0 and 3 is claimed by two joiners: 0's right names 1, 3's left names 2"""


def test_plain_timeline_is_unchanged():
    tf = read_trace(GAP)
    assert "\n".join(format_timeline(tf.events, tf.violations)) == GAP_TIMELINE


@pytest.mark.parametrize("path", COUNTEREXAMPLES, ids=lambda p: p.name)
def test_colour_only_wraps_the_plain_text(path):
    tf = read_trace(path)
    blamed = blamed_changes(tf.scenario, tf.events, tf.violations)
    plain = format_timeline(tf.events, tf.violations)
    coloured = format_timeline(tf.events, tf.violations, ANSI, blamed)
    assert not any("\x1b" in line for line in plain)
    assert [strip(line) for line in coloured] == plain
    assert any("\x1b" in line for line in coloured)


@pytest.mark.parametrize("protocol", ["classic", "gapowner"])
def test_whole_result_colour_strips_to_plain(protocol):
    result = simulate(protocol, read_trace(GAP).scenario)
    assert strip(format_result(result, ANSI)) == format_result(result, PLAIN) == format_result(result)


def test_colour_marks_the_breaking_event_the_nodes_and_the_blamed_changes():
    tf = read_trace(RING_ORDER)
    lines = format_timeline(tf.events, tf.violations, ANSI, blamed_changes(tf.scenario, tf.events, tf.violations))
    broke = [line for line in lines if line.startswith(BROKE)]
    assert len(broke) == 1 and strip(broke[0]).startswith("#7 ")
    # the change that made member 0's right pointer wrong is painted red where it happened
    assert f"{BLAMED}right 1->2\x1b[0m" in broke[0]
    assert f"{FOCUS}0\x1b[0m" in broke[0]  # node 0 is named by the violation
    assert lines[-1].startswith(BLAMED + "!! ring-order violated at event #7")


def test_blamed_changes_point_at_where_each_wrong_pointer_was_set():
    tf = read_trace(GAP)
    assert blamed_changes(tf.scenario, tf.events, tf.violations) == {(4, "right"), (7, "left")}
    passing = simulate("gapowner", tf.scenario)
    assert blamed_changes(passing.scenario, passing.events, passing.violations) == set()


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert wants_colour(_Stream(True))
    assert not wants_colour(_Stream(False))
    assert not wants_colour(object())  # no isatty at all
    assert not wants_colour(_Stream(True), disabled=True)  # --no-color
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(_Stream(True))
    monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
    assert wants_colour(_Stream(True))
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_colour(_Stream(True))


def _run(capsys, monkeypatch, tty: bool, *argv: str) -> str:
    capsys.readouterr()
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty, raising=False)
    main(list(argv))
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["show", str(GAP)],
        ["replay", str(GAP)],
        ["run", "--protocol", "classic", "--ring", "0,3", "--join", "1@0:0", "--join", "2@0:3"],
        ["hunt", "--protocol", "classic", "--examples", "20", "--max-bugs", "1", "--seed", "1"],
    ],
    ids=lambda a: a[0],
)
def test_commands_colour_a_terminal_unless_told_not_to(capsys, monkeypatch, tmp_path, argv):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    if argv[0] == "hunt":
        argv = argv + ["--out", str(tmp_path / "hunt")]
    plain = _run(capsys, monkeypatch, False, *argv)
    coloured = _run(capsys, monkeypatch, True, *argv)
    flagged = _run(capsys, monkeypatch, True, *argv, "--no-color")
    monkeypatch.setenv("NO_COLOR", "1")
    by_env = _run(capsys, monkeypatch, True, *argv)
    assert "\x1b[" not in plain and "\x1b[" in coloured
    if argv[0] == "hunt":  # the timing differs from run to run
        plain, coloured, flagged, by_env = (re.sub(r"in [0-9.]+s", "in Xs", t) for t in (plain, coloured, flagged, by_env))
    assert strip(coloured) == plain == flagged == by_env
