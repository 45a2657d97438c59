"""Folding a timeline's repeats: a protocol that resends on a timer while a
lease runs out repeats the same few events hundreds of times, and a shortest
counterexample can be a thousand lines of the same retry. The first time a
block of events repeats, it is printed; the repeats that follow it are one
line saying how many there were and when.

Events are the same if they are of the same kind, at the same node, with the
same message, timer, fault and view changes (times and arrival times aside).
Events the reader must see are never folded (`Line.foldable` False: churn,
faults, the step an invariant broke at). Works on a stream: it holds at most
two blocks of lines, so a spooled trace of millions of events folds as it is
printed.
"""

from __future__ import annotations

from collections import deque
from typing import Hashable, Iterable, Iterator, NamedTuple

#: The longest block looked for, in events.
MAX_PERIOD = 16

#: Repeats of a block needed for it to fold (a message delivered twice, or a
#: pair of retries, stays in full: it may be the point).
MIN_REPEATS = 3


class Line(NamedTuple):
    shape: Hashable  # what makes two events the same
    seq: int
    time: str
    text: str
    foldable: bool


def folded(lines: Iterable[Line], max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS) -> Iterator[str]:
    """The lines' texts, where a block of up to `max_period` lines is followed
    by at least `min_repeats` copies of itself, the copies folded into one
    line (see the module docstring)."""
    shown: deque[Line] = deque(maxlen=max_period)  # the lines printed last
    block: list[Line] = []  # the block being repeated: the tail of `shown` when it started
    held: list[Line] = []  # lines matching the block since its last whole repeat
    kept: list[Line] = []  # whole repeats, kept until there are `min_repeats` of them
    reps = 0
    first: Line | None = None  # the first and last line of the repeats
    last: Line | None = None

    def show(line: Line) -> str:
        shown.append(line)
        return line.text

    def flush() -> Iterator[str]:
        nonlocal block, held, kept, reps, first
        if reps >= min_repeats:
            n = len(block)
            what = "the event above repeats" if n == 1 else f"the {n} events above repeat"
            yield (f"      ... {what} {reps} more times "
                   f"(#{first.seq} to #{last.seq}, t={first.time} to t={last.time})")
            shown.clear()  # "above" is now a fold line: the next block starts afresh
        else:
            yield from (show(line) for line in kept)
        yield from (show(line) for line in held)  # a repeat cut short: shown as it is
        block, held, kept, reps, first = [], [], [], 0, None

    def absorb(line: Line) -> None:
        nonlocal held, kept, reps, first, last
        held.append(line)
        if len(held) == len(block):  # one more whole repeat
            reps += 1
            first = held[0] if first is None else first
            last = held[-1]
            kept = kept + held if reps < min_repeats else []
            held = []

    for line in lines:
        if block and line.foldable and line.shape == block[len(held)].shape:
            absorb(line)
            continue
        yield from flush()
        if line.foldable:
            # Does this line start a repeat of the lines just shown? The shortest period wins.
            recent = list(shown)
            for period in range(1, len(recent) + 1):
                candidate = recent[-period:]
                if candidate[0].shape == line.shape and all(c.foldable for c in candidate):
                    block = candidate
                    absorb(line)
                    break
            if block:
                continue
        yield show(line)
    yield from flush()
