"""Simulator scale: speed against bare SimPy and the previous simulator, cost
per message as runs grow, memory held per message, and a long run streamed to
a trace file.

Scenario (as in sim_speed.py): gapowner, an initial ring of 8 members, N
joiners all joining at t=0 through seeded random bootstraps, Uniform(1, 10)
latency, checks on after every event. Every figure is the median of --repeat
runs (default 3), taken in turns with the other runs of its part, in CPU time
of this process (time.process_time: on a shared machine it varies far less
than wall time); the machine's load average is printed, as figures on a
shared machine are still noisy (caches are shared too).

Parts (--parts, default speed,growth,memory,write; --stream adds stream):
- speed:  N=1,000: messages/s of `simulate`, of the previous simulator
  (previous_simulator.py, the driver before this work, same messages and
  nodes), and of a bare SimPy timeout-and-callback loop doing the same number
  of messages; ratios.
- growth: CPU time per message for N in --growth (default 200,1000,5000),
  the median and the least of the samples (other processes only add time):
  how much dearer a message is in a long run than in a short one. Beside each
  size, what could explain it: a bare SimPy loop with as many events waiting
  in its queue (its heap costs log n per push and pop), the time to read a
  random node's state among as many nodes (memory: more nodes, more cache
  misses), and counters of the per-event work that could grow with the run
  (ids queued at the node handling an event, safety checks and the nodes they
  read). The runs differ in their mix of messages, not only in length: in a
  short run more of the events change a view and are checked (0.11 safety
  checks per event at 200 joiners, 0.01 at 5,000), so a short run's message
  is dearer by its work; the growth between each pair of sizes is printed.
  On a shared machine the short runs suffer most from the other processes'
  load (their figures rise with it), so measure this part on a quiet machine.
  The "paired" figure is the one to trust on a busy machine: the long run is
  paused after every stretch of as many SimPy steps as a whole short run
  takes, and a whole short run is timed in each pause, so each pair is timed
  within a fraction of a second under the same load (`paired_growth`).
- memory: bytes held per message by a finished run's result (tracemalloc:
  memory still allocated after the run, result kept, divided by messages), for
  `simulate` and the previous simulator, N=1,000.
- write: CPU time per event of writing a 1,000-joiner trace file's events,
  against events turned into dicts and encoded by the json module.
- stream: in a subprocess, N=--stream-joiners (default 20,000) with the trace
  spilled to a spool and written to a trace file (what `dhtea run --trace-to`
  does); wall and CPU time of the run and of writing the file, the file's
  size and the process's peak RSS.

The livelock watch (dhtea/drivers/livelock.py) compares whole ring states in
windows of steps once a run is long (after 100 + 4n^2 events, so not in these
runs); its cost grows with the ring and the messages in flight. It is switched
off in both simulators so that only the per-message work is timed; `--watch`
keeps it on, `--watch-cost` times one 1,000-joiner run with it.

    .venv/bin/python benchmarks/sim_scale.py [--parts speed,growth,memory,write] [--stream]

A benchmark, not a test: it asserts only that each run came to rest correctly.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import attrs
import simpy

sys.path.insert(0, str(Path(__file__).parent))

import previous_simulator  # noqa: E402
import sim_speed  # noqa: E402

import dhtea.drivers.simulator as simulator  # noqa: E402
from dhtea import simulate  # noqa: E402
from dhtea.protocols import load_protocol  # noqa: E402
from dhtea.traces import serial  # noqa: E402
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


def cpu_times(runs: dict, repeat: int) -> dict:
    """CPU times (this process) of each run, `repeat` of each, the runs taking
    turns: on a shared machine the CPU time a run used varies less than its
    wall time."""
    times: dict = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            gc.collect()
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return times


def cpu_medians(runs: dict, repeat: int) -> dict:
    """Median CPU time of each run (`cpu_times`)."""
    return {name: statistics.median(ts) for name, ts in cpu_times(runs, repeat).items()}


def load() -> str:
    return "load average %.1f %.1f %.1f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0)


def part_speed(repeat: int, watch_cost: bool) -> None:
    joiners = 1000
    msgs = run(simulate, joiners).messages
    best = cpu_medians(
        {
            "new": lambda: run(simulate, joiners),
            "old": lambda: run(previous_simulator.simulate, joiners),
            "base": lambda: sim_speed.run_baseline(msgs, joiners),
        },
        repeat,
    )
    new, old, base = best["new"], best["old"], best["base"]
    print(f"speed: {joiners} joiners, {msgs:,} messages, CPU time, median of {repeat} ({load()})")
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


def counted_run(joiners: int) -> dict:
    """One run with counters on what could make a message dearer as runs grow
    (not timed): the events waiting in SimPy's queue at each push, the ids
    queued at the node handling each event (the protocol's `in` and the view
    diff are linear in them), and the nodes the safety invariants read per
    event (linear in the ring if a check were global)."""
    counts = dict.fromkeys(("schedules", "waiting", "steps", "queued", "checks", "checked"), 0)
    schedule = simpy.Environment.schedule
    step = simulator.Simulation._step
    run_checks = simulator.Simulation._run_checks

    def counting_schedule(env, event, priority=1, delay=0):  # simpy's own signature
        counts["schedules"] += 1
        counts["waiting"] += len(env._queue)
        return schedule(env, event, priority, delay)

    def counting_step(sim, node_id, *args):
        counts["steps"] += 1
        counts["queued"] += len(sim.nodes[node_id].queue)
        return step(sim, node_id, *args)

    def counting_run_checks(sim, invariants, nodes, seq, now=None):
        if seq >= 0:  # not the check of the initial ring
            counts["checks"] += 1
            counts["checked"] += len(nodes)
        return run_checks(sim, invariants, nodes, seq, now)

    simpy.Environment.schedule = counting_schedule
    simulator.Simulation._step = counting_step
    simulator.Simulation._run_checks = counting_run_checks
    try:
        result = run(simulate, joiners)
    finally:
        simpy.Environment.schedule = schedule
        simulator.Simulation._step = step
        simulator.Simulation._run_checks = run_checks
    return {
        "waiting": counts["waiting"] / counts["schedules"],
        "queued": counts["queued"] / counts["steps"],
        "checked": counts["checked"] / max(counts["checks"], 1),
        "checks": counts["checks"] / len(result.events),
    }


def state_access(nodes: int, reads: int = 300_000) -> float:
    """Seconds per read of a node's state picked at random among `nodes`
    gapowner nodes (a dict lookup, seven fields, the queue's length): the
    memory a simulated message touches at its node, which spreads over more
    cache lines the more nodes there are, in any Python simulator."""
    rng = random.Random(1)
    ids = rng.sample(range(10 * nodes), nodes)
    cls = load_protocol("gapowner")
    table = {i: cls(i) for i in ids}
    order = [rng.choice(ids) for _ in range(reads)]
    start = time.process_time()
    for i in order:
        n = table[i]
        (n.left, n.right, n.member, n.busy, n.leaving, n.op, len(n.queue))
    return (time.process_time() - start) / reads


def _hooked(sim: "simulator.Simulation", every: int, pause) -> None:
    """Make `sim`'s SimPy environment call `pause()` after every `every` steps.
    The same wrapper is put on every run that is compared, so each step pays
    the same small extra call."""
    step = sim.env.step
    left = every

    def hooked_step() -> None:
        nonlocal left
        step()
        left -= 1
        if not left:
            left = every
            pause()

    sim.env.step = hooked_step


def paired_growth(small: int, large: int) -> dict:
    """Cost per message of a `large`-joiner run against a `small`-joiner run,
    timed in alternation: the long run is paused after each stretch of as many
    SimPy steps as a whole short run takes, and a whole short run is timed in
    the pause. Each pair is timed within a fraction of a second, so the
    machine's changing load hits both sides of a pair alike, and the two sides
    are pieces of the same length, so neither is favoured by taking the least
    or the median of many short samples. The long run's total cost (its setup
    and final checks included, the pauses left out) is set against the short
    runs' total, as a whole run's cost per message is."""
    short = attrs.evolve(sim_speed.build_scenario(small), max_events=10**10)
    long = attrs.evolve(sim_speed.build_scenario(large), max_events=10**10)

    def short_run() -> tuple[float, int]:
        start = time.process_time()
        sim = simulator.Simulation("gapowner", short)
        _hooked(sim, 10**12, lambda: None)
        result = sim.run()
        spent = time.process_time() - start
        assert result.ok and result.status == "rest"
        return spent, result.messages

    short_run()  # warm up
    probe = simulator.Simulation("gapowner", short)
    steps = [0]
    _hooked(probe, 1, lambda: steps.__setitem__(0, steps[0] + 1))
    probe.run()
    every = steps[0]  # the SimPy steps of a whole short run
    pairs: list[tuple[float, float]] = []
    shorts = [0.0, 0]
    paused = 0.0
    sim = None
    mark = [0.0, 0]

    def pause() -> None:
        nonlocal paused
        entered = time.process_time()
        sent = sim.trace.kind_count("send")
        chunk_time, chunk_msgs = entered - mark[0], sent - mark[1]
        gc.collect(0)  # young cycles, outside the timings: the runs keep the collector off
        spent, msgs = short_run()
        gc.collect(0)
        shorts[0] += spent
        shorts[1] += msgs
        if chunk_msgs:
            pairs.append((chunk_time / chunk_msgs, spent / msgs))
        mark[0], mark[1] = time.process_time(), sim.trace.kind_count("send")
        paused += mark[0] - entered

    gc.collect()
    start = mark[0] = time.process_time()
    sim = simulator.Simulation("gapowner", long)  # its setup is part of its cost, as a short run's is
    _hooked(sim, every, pause)
    result = sim.run()
    total = time.process_time() - start - paused
    assert result.ok and result.status == "rest", (result.status, result.violations[:1])
    if not pairs:
        raise SystemExit(f"sim_scale: a {large}-joiner run is no longer than a {small}-joiner one: nothing to pair")
    ratios = sorted(lp / sp for lp, sp in pairs)
    quart = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {
        "pairs": len(pairs),
        "long": total / result.messages,
        "short": shorts[0] / shorts[1],
        "median": statistics.median(ratios),
        "quartiles": (quart[0], quart[2]),
    }


def part_growth(repeat: int, sizes: list[int]) -> None:
    print(f"growth: CPU time per message, median of {repeat} ({load()})")
    print("  beside each size: a bare SimPy loop doing as many messages with as many events waiting in its queue,")
    print("  and the cost of reading a random node's state among as many nodes (median of 3)")
    per_msg, simpy_msg, access, least = {}, {}, {}, {}
    for joiners in sizes:
        started = time.process_time()
        msgs = run(simulate, joiners).messages
        # A short run is timed several times over per sample (at least a second
        # of CPU), so that a moment's noise on a shared machine does not decide it.
        times = max(1, math.ceil(1.0 / max(time.process_time() - started, 1e-3)))
        counts = counted_run(joiners)
        samples = cpu_times(
            {"run": lambda: [run(simulate, joiners) for _ in range(times)],
             "base": lambda: [sim_speed.run_baseline(msgs, round(counts["waiting"])) for _ in range(times)]},
            repeat,
        )
        best = {name: statistics.median(ts) / times for name, ts in samples.items()}
        per_msg[joiners], simpy_msg[joiners] = best["run"] / msgs, best["base"] / msgs
        # The least disturbed sample: other processes only ever add time.
        least[joiners] = min(samples["run"]) / times / msgs
        access[joiners] = statistics.median(state_access(joiners + sim_speed.MEMBERS) for _ in range(3))
        print(f"  {joiners:>6} joiners  {msgs:>10,} messages  {best['run']:8.2f} s  {per_msg[joiners] * 1e6:6.2f} us/message"
              f"  | SimPy alone ({counts['waiting']:,.0f} waiting) {simpy_msg[joiners] * 1e6:5.2f} us"
              f"  | node state read {access[joiners] * 1e6:5.2f} us", flush=True)
        print(f"  {'':>6}          per event: {counts['queued']:.1f} ids queued at the node handling it; "
              f"{counts['checks']:.3f} safety checks, of {counts['checked']:.1f} nodes each")
    for small, large in zip(sizes, sizes[1:]):
        print(f"  cost per message, {small} -> {large} joiners: {(per_msg[large] / per_msg[small] - 1) * 100:+.1f}% "
              f"(least of {repeat}: {(least[large] / least[small] - 1) * 100:+.1f}%)")
    first, last = sizes[0], sizes[-1]
    grew = per_msg[last] - per_msg[first]
    simpy_grew = simpy_msg[last] - simpy_msg[first]
    own_first = per_msg[first] - simpy_msg[first]
    own_last = per_msg[last] - simpy_msg[last]
    print(f"  cost per message, {first} -> {last} joiners: {grew / per_msg[first] * 100:+.1f}% "
          f"({per_msg[first] * 1e6:.2f} -> {per_msg[last] * 1e6:.2f} us; least of {repeat}: "
          f"{(least[last] / least[first] - 1) * 100:+.1f}%, {least[first] * 1e6:.2f} -> {least[last] * 1e6:.2f} us)")
    print(f"    SimPy's event queue (a heap: log n per push and pop) grew {simpy_grew * 1e6:+.2f} us of it; "
          f"dhtea's work outside SimPy {(own_last / own_first - 1) * 100:+.1f}% ({own_first * 1e6:.2f} -> {own_last * 1e6:.2f} us)")
    for large in sizes[1:]:
        paired = paired_growth(first, large)
        low, high = paired["quartiles"]
        print(f"  paired, {first} -> {large} joiners: {(paired['long'] / paired['short'] - 1) * 100:+.1f}% "
              f"({paired['short'] * 1e6:.2f} -> {paired['long'] * 1e6:.2f} us; {paired['pairs']} pairs, ratio of a pair: "
              f"median {(paired['median'] - 1) * 100:+.1f}%, quartiles {(low - 1) * 100:+.1f}% and {(high - 1) * 100:+.1f}%)",
              flush=True)
    print(f"    reading a random node's state grew {(access[last] - access[first]) * 1e6:+.2f} us "
          f"({access[first] * 1e6:.2f} -> {access[last] * 1e6:.2f} us): memory, not work, once the nodes outgrow the caches")


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


def part_write(repeat: int) -> None:
    """CPU time per event of writing a trace file's events (as `save_trace` does),
    against the generic path: each event decoded, turned into a dict and encoded
    by the json module."""
    joiners = 1000
    result = run(simulate, joiners)
    events = len(result.events)

    def generic() -> None:
        for e in result.events:
            serial._compact(serial.event_to_dict(e))

    def pieces() -> None:
        for _ in serial.trace_pieces(result):
            pass

    best = cpu_medians({"new": pieces, "generic": generic}, repeat)
    print(f"write: {joiners} joiners, {events:,} events, CPU time per event written, median of {repeat} ({load()})")
    print(f"  trace_pieces (save_trace)          {best['new'] / events * 1e6:5.2f} us/event")
    print(f"  events -> dicts -> json.dumps      {best['generic'] / events * 1e6:5.2f} us/event "
          f"({best['generic'] / best['new']:.2f}x)")


STREAM = """
import resource, sys, time
import attrs
sys.path.insert(0, {bench!r})
import sim_speed, sim_scale
sim_scale.watch_off()
from dhtea import simulate
from dhtea.core.spool import Spool
from dhtea.traces.serial import save_trace
def cpu():
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime
start, cpu_start = time.perf_counter(), cpu()
spool = Spool({folder!r})
scenario = attrs.evolve(sim_speed.build_scenario({joiners}), max_events=10**10)
result = simulate("gapowner", scenario, spool=spool)
ran, cpu_ran = time.perf_counter() - start, cpu() - cpu_start
size = save_trace(result, {target!r}).stat().st_size
spool.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(result.ok, result.status, result.messages, len(result.events), ran, time.perf_counter() - start, peak, size,
      cpu_ran, cpu() - cpu_start)
"""


def part_stream(joiners: int, folder: str | None) -> None:
    bench = str(Path(__file__).parent)
    with tempfile.TemporaryDirectory(prefix="dhtea-stream-", dir=folder) as folder:
        target = str(Path(folder) / "run.trace.json")
        code = STREAM.format(bench=bench, folder=folder, joiners=joiners, target=target)
        print(f"stream: {joiners} joiners, trace spilled and written to a file, in a subprocess ({load()})", flush=True)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"  failed (exit {out.returncode}):", out.stderr.strip().splitlines()[-1:])
            return
        ok, status, msgs, events, ran, total, peak, size, cpu_ran, cpu_total = out.stdout.split()
        msgs, events, ran, total, cpu_ran, cpu_total = int(msgs), int(events), float(ran), float(total), float(cpu_ran), float(cpu_total)
        print(f"  ok={ok} status={status} messages={msgs:,} events={events:,}")
        print(f"  run {ran:.0f} s wall ({cpu_ran:.0f} s CPU, {cpu_ran / msgs * 1e6:.2f} us CPU/message); "
              f"writing the file {total - ran:.0f} s wall ({cpu_total - cpu_ran:.0f} s CPU, "
              f"{(cpu_total - cpu_ran) / events * 1e6:.2f} us CPU/event); total {total:.0f} s wall")
        print(f"  file {int(size) / 2**30:.1f} GiB; peak RSS {int(peak) / 2**30:.2f} GiB ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="speed,growth,memory,write")
    parser.add_argument("--stream", action="store_true",
                        help="also run the stream part: --stream-joiners joiners written to a trace file (tens of "
                             "minutes and tens of GiB of disk at 20,000)")
    parser.add_argument("--stream-folder", help="where the stream part writes its spool and trace file (default: the "
                                                 "system's temporary folder); removed afterwards")
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
        part_growth(args.repeat, sorted({int(n) for n in args.growth.split(",")}))
    if "memory" in parts:
        part_memory(args.repeat)
    if "write" in parts:
        part_write(args.repeat)
    if "stream" in parts or args.stream:
        part_stream(args.stream_joiners, args.stream_folder)


if __name__ == "__main__":
    main()
