"""Simulator cost per event in deterministic units: instructions and cache
misses per event, counted by valgrind's cache simulator (cachegrind), for runs
of different sizes.

Timings on a shared machine move with the other processes' load by more than
the growth they are meant to show (sim_scale.py's growth part); a simulated
cache gives the same counts on every run. For each size (--joiners, default
1000,5000) the scenario of sim_scale.py (gapowner, 8 members, N joiners at
t=0, Uniform(1, 10) latency, checks on, livelock watch off) is first run
plainly to count its events E, then stepped through SimPy's
`Environment.step` twice under cachegrind, to A = E * --at (default 0.25)
and to B = A + --events (default 100,000) events; the difference divided by
B - A is the cost of one event at the same point of every run (past the
joins' start, when the messages in flight are most), free of start-up and
of the interpreter's own loading. The last-level cache modelled is --ll bytes
(default 1 MiB, the L2 per core of the machine these figures were taken on):
misses there are reads from farther away, which is where a long run's
messages get dearer.

    .venv/bin/python benchmarks/sim_cache.py [--joiners 1000,5000] [--at 0.25] [--events 100000]

Needs valgrind; the two runs of a size go in parallel. About fifteen minutes
for the defaults (valgrind steps 5,000 joiners' first million events). A
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(joiners: int, steps: int) -> None:
    """Step a run `steps` events (or to its end) and print how many it did."""
    sim = _simulation(joiners)
    env = sim.env
    done, step, peek, never = 0, env.step, env.peek, float("inf")
    while done < steps and peek() != never:
        step()
        done += 1
    print(done, flush=True)


def _simulation(joiners: int):
    sys.path.insert(0, str(HERE))
    import attrs
    import sim_scale
    import sim_speed
    import dhtea.drivers.simulator as simulator

    sim_scale.watch_off()
    scenario = attrs.evolve(sim_speed.build_scenario(joiners), max_events=10**10)
    return simulator.Simulation("gapowner", scenario)


#: The subprocesses running now: killed if the benchmark is interrupted.
RUNNING: set[subprocess.Popen] = set()


def run_child(cmd: list[str]) -> subprocess.CompletedProcess:
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        RUNNING.add(proc)
        try:
            out, err = proc.communicate()
        finally:
            RUNNING.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def count_events(joiners: int) -> int:
    """The run's events (SimPy steps), stepped plainly in a subprocess."""
    run = run_child([sys.executable, __file__, "--child", str(joiners), str(10**12)])
    if run.returncode != 0:
        raise SystemExit(f"sim_cache: the {joiners}-joiner run failed: {run.stderr.strip().splitlines()[-1:]}")
    return int(run.stdout.split()[-1])


COUNTERS = {"instructions": r"I\s+refs:\s+([\d,]+)", "D1 misses": r"D1\s+misses:\s+([\d,]+)",
            "LL data misses": r"LLd\s+misses:\s+([\d,]+)"}


def measure(joiners: int, steps: int, ll: int, folder: str) -> tuple[int, dict[str, int]]:
    out = Path(folder) / f"cg.{joiners}.{steps}.out"
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--D1=32768,8,64", "--I1=32768,8,64",
           f"--LL={ll},16,64", f"--cachegrind-out-file={out}", sys.executable, __file__, "--child", str(joiners), str(steps)]
    run = run_child(cmd)
    if run.returncode != 0:
        raise SystemExit(f"cachegrind failed for {joiners} joiners: {run.stderr.strip().splitlines()[-1:]}")
    counts = {}
    for name, pattern in COUNTERS.items():
        found = re.search(pattern, run.stderr)
        if found is None:
            raise SystemExit(f"no '{name}' in cachegrind's output for {joiners} joiners")
        counts[name] = int(found.group(1).replace(",", ""))
    return int(run.stdout.split()[-1]), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joiners", default="1000,5000")
    parser.add_argument("--at", type=float, default=0.25, help="where the measured events start, as a fraction of the run")
    parser.add_argument("--events", type=int, default=100_000, help="how many events are measured")
    parser.add_argument("--ll", type=int, default=1 << 20, help="last-level cache size modelled, in bytes")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("sim_cache: valgrind is not installed (it counts the instructions and cache misses)")
    sizes = [int(n) for n in args.joiners.split(",")]
    if not (0 <= args.at < 1 and args.events > 0):
        raise SystemExit(f"sim_cache: --at is a fraction from 0 to 1 and --events > 0, got {args.at:g} and {args.events}")
    print(f"cost per event: {args.events:,} events from {args.at:.0%} of each run, cachegrind with a "
          f"{args.ll / 2**20:g} MiB last-level cache", flush=True)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dhtea-cache-") as folder, ThreadPoolExecutor(2) as pool:
        for joiners in sizes:
            total = count_events(joiners)
            a = int(total * args.at)
            b = a + args.events
            if b > total:
                print(f"  {joiners:>6} joiners: the run has {total:,} events, too few for {args.events:,} from event {a:,}")
                continue
            first, second = pool.map(lambda steps: measure(joiners, steps, args.ll, folder), (a, b))
            per = {name: (second[1][name] - first[1][name]) / (b - a) for name in COUNTERS}
            rows[joiners] = per
            print(f"  {joiners:>6} joiners (events {a:,} to {b:,} of {total:,}): "
                  + "  ".join(f"{name} {v:,.1f}" for name, v in per.items()), flush=True)
    done = [n for n in sizes if n in rows]
    for small, large in zip(done, done[1:]):
        grew = {name: rows[large][name] / rows[small][name] - 1 for name in COUNTERS}
        print(f"  {small} -> {large} joiners: " + "  ".join(f"{name} {g * 100:+.1f}%" for name, g in grew.items()))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        for proc in list(RUNNING):
            proc.kill()
        print("sim_cache: interrupted", file=sys.stderr)
        os._exit(130)  # the pool's threads are still waiting on the killed runs
