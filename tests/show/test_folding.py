"""Timelines fold a block of events repeated over and over (a retry loop) into
one line, and never fold what the reader must see."""

import re

from dhtea import Join, JoinSchedule, Network, Scenario, simulate
from dhtea.cli.main import main
from dhtea.core.scenario import Crash
from dhtea.show.folding import Line, folded
from dhtea.show.timeline import format_result, format_timeline
from dhtea.traces.serial import save_trace
from tests.example_protocols import Pinger


def lines(shapes, foldable=lambda shape: True):
    return [Line(s, i, str(i), f"#{i} {s}", foldable(s)) for i, s in enumerate(shapes)]


def test_a_block_repeated_three_times_or_more_is_shown_once_and_counted():
    out = list(folded(lines("xABCABCABCABCy")))
    assert out == ["#0 x", "#1 A", "#2 B", "#3 C", "      ... the 3 events above repeat 3 more times (#4 to #12, t=4 to t=12)",
                   "#13 y"]


def test_fewer_repeats_stay_in_full():
    assert list(folded(lines("ABABAB"))) == [f"#{i} {s}" for i, s in enumerate("ABABAB")]
    assert list(folded(lines("AAA"))) == ["#0 A", "#1 A", "#2 A"]  # a message delivered twice stays visible
    one = list(folded(lines("AAAAAz")))
    assert one == ["#0 A", "      ... the event above repeats 4 more times (#1 to #4, t=1 to t=4)", "#5 z"]


def test_a_repeat_cut_short_is_shown_after_the_fold():
    out = list(folded(lines("ABCABCABCABCABz")))
    assert out[-4:] == ["      ... the 3 events above repeat 3 more times (#3 to #11, t=3 to t=11)", "#12 A", "#13 B", "#14 z"]


def test_what_must_be_seen_is_never_folded():
    shapes = "ABABABABAB!AB"
    out = list(folded(lines(shapes, foldable=lambda s: s != "!")))
    assert "#10 !" in out
    # The same with the marked event inside the loop: the loop is cut there.
    marked = lines("ABABABABAB", foldable=lambda s: True)
    marked[7] = marked[7]._replace(foldable=False)
    out = list(folded(marked))
    assert "#7 B" in out and all(x in out for x in ("#0 A", "#1 B"))


def test_folding_streams_and_gives_every_line_without_repeats():
    import itertools
    many = (Line("A" if i % 2 else "B", i, str(i), f"#{i}", True) for i in itertools.count())
    first = list(itertools.islice(folded(itertools.islice(many, 1_000_000)), 5))
    assert first[:2] == ["#0", "#1"] and "499999 more times" in first[2]
    plain = lines("ABCDEFGH")
    assert list(folded(plain)) == [line.text for line in plain]


class Retrier(Pinger):
    """PING at the start and every 10."""

    name = "retrier"
    PERIOD = 10


def test_a_retry_loop_folds_in_timelines_and_on_the_command_line(tmp_path, capsys):
    scenario = Scenario(ring=(1,), joins=JoinSchedule([Join(2, 0, 1)]), churn=[Crash(2, 95)], settle=50,
                        network=Network(kind_fates=[("PING", 4, "lose")]))
    result = simulate(Retrier, scenario)
    full = format_timeline(result.events, result.violations, fold=False)
    short = format_timeline(result.events, result.violations)
    assert len(full) == len(result.events) and len(short) < len(full) // 2
    assert any("(LOST)" in line for line in short) and any("CRASHES" in line for line in short)
    assert any("repeat" in line and "more times" in line for line in short)
    assert format_result(result, fold=False).count("\n") > format_result(result).count("\n")
    path = save_trace(result, tmp_path / "loop.trace.json")
    assert main(["show", str(path), "--no-color"]) == 0
    folded_out = capsys.readouterr().out
    assert main(["show", str(path), "--no-color", "--full"]) == 0
    full_out = capsys.readouterr().out
    assert "more times" in folded_out and "more times" not in full_out
    assert full_out.count("\n") == len(result.events) + 1  # the protocol line, then every event


def test_after_a_fold_the_next_fold_never_points_at_a_fold_line():
    shapes = ["0", "!", "0", "1", "0", "1", "0", "1", "0", "1", "1", "1", "1", "0"]
    out = list(folded(lines(shapes, foldable=lambda s: s != "!")))
    for before, line in zip(out, out[1:]):
        if "above repeat" in line:
            assert "above repeat" not in before, out
    # Every event is shown or counted in a fold.
    shown = sum(1 for line in out if line.startswith("#"))
    counted = 0
    for line in out:
        m = re.search(r"the (\d+ events|event) above repeats? (\d+) more times", line)
        if m:
            per = 1 if m.group(1) == "event" else int(m.group(1).split()[0])
            counted += per * int(m.group(2))
    assert counted and shown + counted == len(shapes)


def test_a_send_held_back_does_not_fold_into_its_peers():
    from dhtea.core.trace import Event
    from dhtea.core.messages import Message
    ping = Message("PING", 2, 1)
    events = [Event(seq=i, time=float(i), kind="send", node=2, message=ping, arrive=i + (60.0 if i == 5 else 1.0))
              for i in range(12)]
    out = format_timeline(events)
    assert any("#5 " in line and "arrives t=65" in line for line in out)
