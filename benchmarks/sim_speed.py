"""How fast does dhtea simulate, compared with bare SimPy?

Measures simulated messages per second of wall time (messages = sends; each is
one SimPy timeout whose callback delivers it) for the corrected `gapowner`
join: an initial ring of 8 members with ids spread over 0..100000 and
`--joiners` joiners (default 200) with distinct ids, all joining at time 0
through a bootstrap member picked by a seeded random.Random, with Uniform(1, 10)
latency. The run is timed with invariants checked after every event
(check=True) and with checking off (check=False; the invariants are then checked
once at the end). Each number is the best of `--repeat` runs (time.perf_counter),
taken in turns with the other measurements.

The baseline is a bare SimPy loop in the same process doing the same number of
"messages", each `env.timeout(delay).callbacks.append(cb)` with delay from a
seeded random.Random().uniform(1, 10), the callback scheduling the next one, with
as many outstanding at once as there are joiners (dhtea usually has fewer in
flight: the average is printed). That is the floor any SimPy-based simulator pays.

Reading the ratios: dhtea / baseline is the fraction of bare-SimPy speed dhtea
keeps (0.10 = ten times slower than bare SimPy; the gap is dhtea's per-event
work: handler call, node views, trace records, invariant checks). "cost of
checking" is how much longer a run takes with check=True than with check=False.

    .venv/bin/python benchmarks/sim_speed.py [--repeat 7] [--joiners 200]

A benchmark, not a test: it asserts only that each run came to rest correctly.
"""

from __future__ import annotations

import argparse
import gc
import random
import time

import simpy

from dhtea import Join, JoinSchedule, Network, RunResult, Scenario, Uniform, simulate

MEMBERS, ID_SPACE, SEED = 8, 100_000, 1


def build_scenario(joiners: int) -> Scenario:
    rng = random.Random(SEED)
    ids = rng.sample(range(ID_SPACE + 1), MEMBERS + joiners)
    ring = sorted(ids[:MEMBERS])
    joins = [Join(node=j, at=0, bootstrap=rng.choice(ring)) for j in ids[MEMBERS:]]
    return Scenario(
        ring=ring,
        joins=JoinSchedule(joins),
        network=Network(latency=Uniform(1, 10)),
        seed=SEED,
        max_events=2_000_000,
    )


def run_dhtea(scenario: Scenario, check: bool) -> RunResult:
    result = simulate("gapowner", scenario, check=check)
    assert result.ok and result.status == "rest", (result.status, result.violations[:1])
    return result


def run_baseline(messages: int, in_flight: int) -> None:
    """A bare SimPy loop doing `messages` timeout-and-callback messages."""
    env = simpy.Environment()
    rng = random.Random(SEED)
    remaining = messages - min(in_flight, messages)

    def deliver(_event: simpy.Event) -> None:
        nonlocal remaining
        if remaining > 0:
            remaining -= 1
            env.timeout(rng.uniform(1, 10)).callbacks.append(deliver)

    for _ in range(min(in_flight, messages)):
        env.timeout(rng.uniform(1, 10)).callbacks.append(deliver)
    env.run()
    assert remaining == 0 and env.peek() == float("inf")


def best_times(runs: dict, repeat: int) -> dict:
    """Best wall time of each run over `repeat` rounds; the runs take turns within
    a round, so a noisy moment on the machine does not hit just one of them."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement; the best counts (default 7)")
    parser.add_argument("--joiners", type=int, default=200, help="concurrent joiners (default 200)")
    args = parser.parse_args()
    wall = time.perf_counter()

    scenario = build_scenario(args.joiners)
    result = run_dhtea(scenario, True)  # also warms up
    msgs = result.messages
    best = best_times(
        {
            "on": lambda: run_dhtea(scenario, True),
            "off": lambda: run_dhtea(scenario, False),
            "base": lambda: run_baseline(msgs, args.joiners),
        },
        args.repeat,
    )
    on, off, base = best["on"], best["off"], best["base"]
    kinds = {k: sum(1 for e in result.events if e.kind == k) for k in ("join", "send", "deliver", "timer")}
    avg_flight = msgs * 5.5 / result.end_time  # mean latency of Uniform(1, 10) is 5.5

    print(f"scenario: gapowner, {MEMBERS} members, {args.joiners} joiners at t=0, Uniform(1, 10), seed {SEED}")
    print(f"run: ok={result.ok} status={result.status} messages={msgs} events={len(result.events)} {kinds}")
    print(f"     simulated end time {result.end_time:.1f}, ~{avg_flight:.0f} messages in flight on average")
    print(f"best of {args.repeat}:")
    print(f"  dhtea, checks on   {on * 1e3:8.1f} ms  {msgs / on:>10,.0f} msg/s")
    print(f"  dhtea, checks off  {off * 1e3:8.1f} ms  {msgs / off:>10,.0f} msg/s")
    print(f"  bare SimPy         {base * 1e3:8.1f} ms  {msgs / base:>10,.0f} msg/s  ({args.joiners} in flight)")
    print("ratios (msg/s):")
    print(f"  dhtea checks on  / baseline  {base / on:.3f}  ({on / base:.1f}x slower)")
    print(f"  dhtea checks off / baseline  {base / off:.3f}  ({off / base:.1f}x slower)")
    print(f"  cost of checking             {(on / off - 1) * 100:+.1f}% wall time (on / off = {on / off:.2f})")
    print(f"total wall time {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
