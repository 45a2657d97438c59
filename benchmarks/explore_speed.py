"""How fast does the explorer go through states?

Explores `gapowner` exhaustively on every ring of 1 to 3 members with 0 to 3
concurrent joiners, every bootstrap choice, ids up to relabelling (the scope of
the CI gate) and prints, per scope and in all: scenarios, states, transitions,
the deepest path, CPU seconds (time.process_time, so other work on the machine
does not count) and states per second.

The baseline is a bare breadth-first search in the same process: states are
tuples of the same size as the explorer's fingerprints (6 nodes, a few messages
in flight), each with as many successors as the explorer saw on average, stored
in a dict the same way. It is the floor of any pure-Python exhaustive search;
"explorer / bare BFS" is the fraction of that speed the explorer keeps (the gap
is its real work: copying a node, calling its handler, checking invariants).

    .venv/bin/python benchmarks/explore_speed.py [--members 3] [--joiners 3]

A benchmark, not a test: it asserts only that the scope is complete and clean.
"""

from __future__ import annotations

import argparse
import time

from dhtea.drivers.explore_scope import explore_scope


def bare_bfs(states: int, branching: float) -> float:
    """States per CPU second of a plain dict-based BFS with this branching."""
    fan = max(1, round(branching))
    started = time.process_time()
    seen = {(0,) * 6: 0}
    frontier = [(0,) * 6]
    made = 1
    while frontier and made < states:
        nxt = []
        for state in frontier:
            for k in range(fan):
                new = state[:5] + (made * fan + k,)  # a fresh state each time, like a step that changes one node
                key = (new, (k, k + 1, k + 2), ())
                if key not in seen:
                    seen[key] = len(seen)
                    nxt.append(new)
                    made += 1
        frontier = nxt
    return made / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--joiners", type=int, default=3)
    args = parser.parse_args()
    total_states = total_transitions = 0
    total_cpu = 0.0
    print(f"{'ring':>4} {'joiners':>7} {'scenarios':>9} {'states':>8} {'transitions':>11} {'depth':>5} {'cpu s':>7} {'states/s':>9}")
    for members in range(1, args.members + 1):
        for joiners in range(0, args.joiners + 1):
            started = time.process_time()
            r = explore_scope("gapowner", members, joiners)
            cpu = time.process_time() - started
            assert r.complete and not r.found, (members, joiners)
            total_states += r.states
            total_transitions += r.transitions
            total_cpu += cpu
            rate = r.states / cpu if cpu else 0.0
            print(f"{members:>4} {joiners:>7} {r.scenarios:>9} {r.states:>8} {r.transitions:>11} {r.depth:>5} {cpu:>7.2f} {rate:>9,.0f}")
    rate = total_states / total_cpu
    bare = bare_bfs(total_states, total_transitions / total_states)
    print(f"in all: {total_states} states, {total_transitions} transitions, {total_cpu:.2f} CPU s, {rate:,.0f} states/s"
          " (complete, no violation)")
    print(f"bare BFS in this process: {bare:,.0f} states/s; explorer / bare BFS = {rate / bare:.3f}")


if __name__ == "__main__":
    main()
