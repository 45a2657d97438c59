"""How much faster does a hunt run on 2 workers, and on a Dask LocalCluster?

Measures scenarios per second of wall time for the hunt `dhtea hunt --protocol
gapowner --examples N` (gapowner has no bug, so every configuration runs the
whole budget) run three ways in the same process, in turns:

- `--workers 1`: the hunt in this process, as the command line runs it;
- `--workers 2`: two worker processes, each on its seeded half of the budget;
- Dask: a LocalCluster of 2 single-threaded worker processes, the hunt split
  into `--tasks` swarm tasks (started before the clock starts, as a cluster
  would be; the workers pay their imports in a warm-up task).

Wall time includes starting the worker processes for `--workers 2` (that is
what a user waits for). Each figure is the median of `--repeat` runs.

Then it checks that a classic hunt finds the same set of bugs for the same seed
whatever the worker count (1, 2, and Dask), each saved trace replaying exactly.

The machine is shared: the load average is printed before and after; figures
taken under load are only indicative.

    .venv/bin/python benchmarks/hunt_workers.py [--examples 10000] [--repeat 3] [--tasks 8] [--no-dask]

A benchmark, not a test: it asserts only that the bug sets agree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from dhtea.search.daskhunt import hunt_on_dask
from dhtea.search.pool import hunt_in_processes
from dhtea.search.replaying import replay
from dhtea.search.tasks import run_task, split, swarm_tasks
from dhtea.traces.serial import save_trace
from invariants import DEFAULT
from invariants.names import invariant_specs


def tasks_for(protocol: str, shares: int, examples: int, seed: int, max_bugs: int = 5):
    return split(protocol, shares=shares, examples=examples, seed=seed, max_bugs=max_bugs, max_ring=5, max_joiners=4,
                 invariants=invariant_specs(DEFAULT))


def one_worker(protocol, examples, seed):
    return run_task(tasks_for(protocol, 1, examples, seed)[0]).report


def two_workers(protocol, examples, seed):
    return hunt_in_processes(tasks_for(protocol, 2, examples, seed), seed=seed, max_bugs=5)


def on_dask(address, tasks):
    def run(protocol, examples, seed):
        return hunt_on_dask(swarm_tasks(tasks_for(protocol, tasks, examples, seed), seed), address, seed=seed, max_bugs=5)
    return run


def timed(run, protocol, examples, seed):
    started = time.perf_counter()
    report = run(protocol, examples, seed)
    return report, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    cluster = client = None
    ways = {"--workers 1": one_worker, "--workers 2": two_workers}
    if not args.no_dask:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        client.run(lambda: __import__("dhtea.search.tasks"))  # imports paid before the clock starts
        ways["Dask LocalCluster(2)"] = on_dask(cluster.scheduler_address, args.tasks)
    try:
        rates: dict[str, list[float]] = {name: [] for name in ways}
        for i in range(args.repeat):
            for name, run in ways.items():
                report, seconds = timed(run, "gapowner", args.examples, args.seed)
                assert not report.bugs, f"{name}: gapowner should pass"
                rates[name].append(report.examples / seconds)
                print(f"  run {i + 1}: {name:22} {report.examples} scenarios in {seconds:6.1f} s = {rates[name][-1]:6.0f}/s")
        median = {name: statistics.median(r) for name, r in rates.items()}
        print(f"\ngapowner, --examples {args.examples}, median of {args.repeat}:")
        base = median["--workers 1"]
        for name, rate in median.items():
            print(f"  {name:22} {rate:6.0f} scenarios/s  ({rate / base:.2f}x --workers 1)")
        w2 = median["--workers 2"]
        print(f"  --workers 2 / --workers 1 = {w2 / base:.2f} (target >= 1.7)")
        if "Dask LocalCluster(2)" in median:
            dask = median["Dask LocalCluster(2)"]
            print(f"  Dask / --workers 2 = {dask / w2:.2f} (target >= 0.8)")

        print("\nclassic, same seed, bug sets by worker count:")
        sets = {}
        for name, run in ways.items():
            report, _ = timed(run, "classic", 300, args.seed)
            sets[name] = sorted(b.signature for b in report.bugs)
            for bug in report.bugs:
                path = save_trace(bug.result, f"/tmp/dhtea-bench-{os.getpid()}.trace.json")
                assert replay(path).identical, f"{name}: {bug.signature} does not replay"
                os.unlink(path)
            print(f"  {name:22} {sets[name]}")
        same = len({tuple(s) for s in sets.values()}) == 1
        print("  identical bug sets" if same else "  DIFFERENT bug sets")
        assert same
    finally:
        if client is not None:
            client.close()
            cluster.close()
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
