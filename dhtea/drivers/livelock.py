"""Noticing, in the simulator, a run that can go round in circles forever.

A run is in a livelock when its whole state comes back: every node's state
(`fingerprint.snapshot`), the messages in flight (as a multiset, ignoring when
they will arrive) and the pending timers (ignoring when they will fire), and
in between every message that was in flight and every timer that was pending
got handled. Then the steps in between can repeat forever, in the same order,
in an asynchronous network: a fair run that never comes to rest. (Without the
"handled in between" condition a run that merely waits for one slow message
while others ping-pong would look stuck.)

Comparing whole states costs O(nodes + messages) per step, so the simulator
does not do it on its hot path. It looks only once a run has become long (more
events than a run of that many nodes plausibly needs: 100 + 4n^2), for a window of steps,
and then again after the run has doubled in length. Once a repeat is seen, the
simulator runs the scenario again from the start comparing at every step, so
the reported lasso is the first repeat of the run: a short trace, and the same
one on every replay. Randomised handlers (`ctx.rng`) are outside this check:
their state does not include the generator's.
"""

from __future__ import annotations

from typing import Hashable

from dhtea.drivers.fingerprint import snapshot

_STEPS = ("join", "deliver", "timer", "leave")


def _order(msg) -> tuple:
    return (msg.dst, msg.src, msg.kind, repr(msg.data))


class RepeatWatch:
    """Watches one simulation for a repeated whole state (see the module docstring)."""

    def __init__(self, nodes: int, from_start: bool) -> None:
        self.from_start = from_start
        # First event index to look at. A join's request may travel round the ring
        # (about 2n hops of 2 events) for each of up to n joiners: a run shorter
        # than 4n^2 events is not suspicious, and big runs are never slowed down.
        self.next = 0 if from_start else 100 + 4 * nodes * nodes
        self.window = 1_000 + 4 * nodes  # steps looked at per window
        self.found: tuple[int, int, tuple[int, ...]] | None = None  # (a, b, nodes of the cycle)
        self._reset()

    def _reset(self) -> None:
        self._seen = 0  # events folded in so far
        self._left = self.window
        self._inflight: dict[object, list[tuple[float, int]]] = {}  # msg -> [(arrive, send seq)]
        self._snaps: dict[int, Hashable] = {}
        self._first: dict[tuple, tuple[int, int]] = {}  # state -> (event index, last timer generation)

    def probe(self, sim, seq: int) -> tuple[int, int, tuple[int, ...]] | None:
        """Called before event `seq`; returns (a, b, nodes) when the state after
        event b = seq - 1 repeats the state after event a fairly. Sets `next`."""
        events = sim.events
        stepped = set()
        for e in events[self._seen : seq]:  # fold in what happened since the last look
            if e.kind == "send":
                for at in (e.arrive, getattr(e, "again", None)):
                    if at is not None:
                        self._inflight.setdefault(e.message, []).append((at, e.seq))
            elif e.kind in ("deliver", "drop"):
                copies = self._inflight.get(e.message)
                if copies:  # the copy due first is the one delivered
                    copies.remove(min(copies))
                    if not copies:
                        del self._inflight[e.message]
            if e.kind in _STEPS:
                stepped.add(e.node)
        fresh = self._seen == 0
        self._seen = seq
        for n in sorted(sim.nodes) if fresh else sorted(stepped):
            self._snaps[n] = snapshot(sim.nodes[n])
        timers = sim._timers
        state = (
            tuple(self._snaps[n] for n in sorted(self._snaps)),
            tuple(sorted((_order(m), len(c)) for m, c in self._inflight.items())),
            tuple(sorted(timers)),
            tuple(sorted(sim._gone.items())),
        )
        generation = max(timers.values(), default=-1)
        here = seq - 1
        seen = self._first.get(state)
        if seen is None:
            self._first[state] = (here, generation)
        else:
            a, generation_then = seen
            oldest = min((s for c in self._inflight.values() for _, s in c), default=here + 1)
            if oldest > a and min(timers.values(), default=generation_then + 1) > generation_then:
                nodes = tuple(sorted({e.node for e in events[a + 1 : here + 1] if e.kind in _STEPS}))
                self.found = (a, here, nodes)
                return self.found
        self._left -= 1
        if self._left > 0 or self.from_start:
            self.next = seq + 1
        else:  # window over: look again once the run has doubled
            self.next = 2 * seq
            self._reset()
        return None

    @staticmethod
    def describe(a: int, b: int) -> str:
        return (f"the run can go round in circles forever: the state after event #{b} (every node, the messages in "
                f"flight, the timers) is the state after event #{a}, and each message and timer pending then was "
                f"handled in between, so events #{a + 1}-#{b} can repeat without end")
