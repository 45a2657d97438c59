"""Simulator scale: speed against bare SimPy and the previous simulator, cost
per message as runs grow, memory held per message, and a long run streamed to
a trace file.

Scenario (as in sim_speed.py): gapowner, an initial ring of 8 members, N
joiners all joining at t=0 through seeded random bootstraps, Uniform(1, 10)
latency, checks on after every event. Every figure is the median of --repeat
runs (default 3), taken in turns with the other runs of its part; the machine's
load average is printed, as figures on a shared machine are noisy.

Parts (--parts, default all):
- speed:  N=1,000: messages/s of `simulate`, of the previous simulator
  (previous_simulator.py, the driver before this work, same messages and
  nodes), and of a bare SimPy timeout-and-callback loop doing the same number
  of messages; ratios.
- growth: wall time per message for N in --growth (default 200,1000,5000):
  how much dearer a message is in a long run than in a short one.
- memory: bytes held per message by a finished run's result (tracemalloc:
  memory still allocated after the run, result kept, divided by messages), for
  `simulate` and the previous simulator, N=1,000.
- stream: in a subprocess, N=--stream-joiners (default 20,000) with the trace
  spilled to a spool and written to a trace file (what `dhtea run --trace-to`
  does); peak RSS of that process, its messages and wall time.

The livelock watch (dhtea/drivers/livelock.py) compares whole ring states in
windows of steps once a run is long (after 100 + 4n^2 events, so not in these
runs); its cost grows with the ring and the messages in flight. It is switched
off in both simulators so that only the per-message work is timed; `--watch`
keeps it on, `--watch-cost` times one 1,000-joiner run with it.

    .venv/bin/python benchmarks/sim_scale.py [--parts speed,growth,memory,stream]

A benchmark, not a test: it asserts only that each run came to rest correctly.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).parent))

import previous_simulator  # noqa: E402
import sim_speed  # noqa: E402

import dhtea.drivers.simulator as simulator  # noqa: E402
from dhtea import simulate  # noqa: E402
from dhtea.drivers.livelock import RepeatWatch  # noqa: E402


class _NoWatch(RepeatWatch):
    """The livelock watch, never looking (see the module docstring)."""

    def __init__(self, nodes: int, from_start: bool) -> None:
        super().__init__(nodes, from_start)
        self.next = float("inf")


def watch_off() -> None:
    simulator.RepeatWatch = previous_simulator.RepeatWatch = _NoWatch


def watch_on() -> None:
    simulator.RepeatWatch = previous_simulator.RepeatWatch = RepeatWatch


def run(simulate_fn, joiners: int):
    scenario = attrs.evolve(sim_speed.build_scenario(joiners), max_events=10**10)
    result = simulate_fn("gapowner", scenario)
    assert result.ok and result.status == "rest", (result.status, result.violations[:1])
    return result


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians(runs: dict, repeat: int) -> dict:
    """Median wall time of each run; the runs take turns within a round."""
    times: dict = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            times[name].append(timed(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def load() -> str:
    return "load average %.1f %.1f %.1f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0)


def part_speed(repeat: int, watch_cost: bool) -> None:
    joiners = 1000
    msgs = run(simulate, joiners).messages
    best = medians(
        {
            "new": lambda: run(simulate, joiners),
            "old": lambda: run(previous_simulator.simulate, joiners),
            "base": lambda: sim_speed.run_baseline(msgs, joiners),
        },
        repeat,
    )
    new, old, base = best["new"], best["old"], best["base"]
    print(f"speed: {joiners} joiners, {msgs:,} messages, median of {repeat} ({load()})")
    print(f"  simulate             {new:7.2f} s  {msgs / new:>10,.0f} msg/s  ratio to bare SimPy {base / new:.3f}")
    print(f"  previous simulator   {old:7.2f} s  {msgs / old:>10,.0f} msg/s  ratio to bare SimPy {base / old:.3f}")
    print(f"  bare SimPy loop      {base:7.2f} s  {msgs / base:>10,.0f} msg/s")
    print(f"  simulate / previous  {old / new:.2f}x the messages per second")
    print(f"  per message: simulate {new / msgs * 1e6:.2f} us, of which a bare SimPy timeout and callback "
          f"{base / msgs * 1e6:.2f} us ({base / new:.0%})")
    if watch_cost:
        watch_on()
        try:
            watched = timed(lambda: run(simulate, joiners))
        finally:
            watch_off()
        print(f"  with the livelock watch on (one run): {watched:.1f} s, {watched / new:.1f}x the run without it")


def part_growth(repeat: int, sizes: list[int]) -> None:
    print(f"growth: wall time per message, median of {repeat} ({load()})")
    per_msg = {}
    for joiners in sizes:
        msgs = run(simulate, joiners).messages
        wall = medians({"run": lambda: run(simulate, joiners)}, repeat)["run"]
        per_msg[joiners] = wall / msgs
        print(f"  {joiners:>6} joiners  {msgs:>10,} messages  {wall:8.2f} s  {wall / msgs * 1e6:6.2f} us/message")
    first, last = sizes[0], sizes[-1]
    print(f"  cost per message, {first} -> {last} joiners: {(per_msg[last] / per_msg[first] - 1) * 100:+.1f}%")


def held_bytes(simulate_fn, joiners: int) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = run(simulate_fn, joiners)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / result.messages, result.messages


def part_memory(repeat: int) -> None:
    joiners = 1000
    print(f"memory: bytes held per message by the result, tracemalloc, median of {repeat}, {joiners} joiners")
    for name, fn in (("simulate", simulate), ("previous simulator", previous_simulator.simulate)):
        figures = [held_bytes(fn, joiners) for _ in range(repeat)]
        print(f"  {name:20} {statistics.median(f[0] for f in figures):7.0f} bytes/message ({figures[0][1]:,} messages)")


STREAM = """
import resource, sys, time
import attrs
sys.path.insert(0, {bench!r})
import sim_speed, sim_scale
sim_scale.watch_off()
from dhtea import simulate
from dhtea.core.spool import Spool
from dhtea.traces.serial import save_trace
start = time.perf_counter()
spool = Spool({folder!r})
scenario = attrs.evolve(sim_speed.build_scenario({joiners}), max_events=10**10)
result = simulate("gapowner", scenario, spool=spool)
ran = time.perf_counter() - start
size = save_trace(result, {target!r}).stat().st_size
spool.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(result.ok, result.status, result.messages, len(result.events), ran, time.perf_counter() - start, peak, size)
"""


def part_stream(joiners: int) -> None:
    bench = str(Path(__file__).parent)
    with tempfile.TemporaryDirectory(prefix="dhtea-stream-") as folder:
        target = str(Path(folder) / "run.trace.json")
        code = STREAM.format(bench=bench, folder=folder, joiners=joiners, target=target)
        print(f"stream: {joiners} joiners, trace spilled and written to a file, in a subprocess ({load()})")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            print("  failed:", out.stderr.strip().splitlines()[-1:])
            return
        ok, status, msgs, events, ran, total, peak, size = out.stdout.split()
        print(f"  ok={ok} status={status} messages={int(msgs):,} events={int(events):,}")
        print(f"  run {float(ran):.0f} s, with writing the file {float(total):.0f} s; file {int(size) / 2**30:.1f} GiB")
        print(f"  peak RSS {int(peak) / 2**30:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="speed,growth,memory,stream")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--growth", default="200,1000,5000")
    parser.add_argument("--stream-joiners", type=int, default=20_000)
    parser.add_argument("--watch", action="store_true", help="keep the livelock watch on")
    parser.add_argument("--watch-cost", action="store_true", help="also time one 1,000-joiner run with the watch on (minutes)")
    args = parser.parse_args()
    if not args.watch:
        watch_off()
    parts = args.parts.split(",")
    if "speed" in parts:
        part_speed(args.repeat, args.watch_cost)
    if "growth" in parts:
        part_growth(args.repeat, [int(n) for n in args.growth.split(",")])
    if "memory" in parts:
        part_memory(args.repeat)
    if "stream" in parts:
        part_stream(args.stream_joiners)


if __name__ == "__main__":
    main()
