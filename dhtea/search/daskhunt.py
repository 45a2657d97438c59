"""A hunt on a Dask distributed cluster (the optional `dhtea[cluster]` extra).

The hunt is split into tasks (`tasks.HuntTask`), each with its own seeded share
and a seeded random subset of the generation features (swarm testing). Dask
runs them wherever it likes; each task's bugs come back to this process, which
writes the trace files, and the merged result depends only on the seed and the
number of tasks, never on the cluster or on the order tasks finish in.

`address` is a scheduler (`tcp://host:8786`), or `local` / `local:N` for a
`LocalCluster` of N single-threaded worker processes (default: one per core)
started here and stopped at the end, so the same path runs on one machine.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

from hypothesis.errors import HypothesisDeprecationWarning

from dhtea.search.ctrlc import CtrlC
from dhtea.search.hunting import Bug, HuntReport
from dhtea.search.tasks import HuntTask, TaskOutcome, merge, run_task

INSTALL_HINT = "pip install 'dhtea[cluster]'"
#: Tasks a Dask hunt is split into unless told otherwise: fixed, so the result
#: does not depend on the size of the cluster.
DEFAULT_TASKS = 8


class DaskError(ValueError):
    """Dask is missing, or the cluster cannot be reached: one line for the user."""


def _client(address: str):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise DaskError(f"--dask needs Dask distributed, which is not installed: {INSTALL_HINT}") from None
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2]
        if count and (not count.isdigit() or int(count) < 1):
            raise DaskError(f"--dask {address}: expected local or local:N with N a number of workers, e.g. local:2")
        workers = int(count) if count else (os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, timeout=20), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskError(f"--dask {address}: cannot reach the scheduler ({exc})") from None


def _run(task: HuntTask) -> TaskOutcome:
    # A Dask worker's own threads use the global `random` module while the hunt
    # runs, and Hypothesis warns about any such use during a test. The hunt's
    # randomness is all seeded and its own, so that warning says nothing here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        return run_task(task)


def hunt_on_dask(
    tasks: Sequence[HuntTask],
    address: str,
    *,
    seed: int,
    max_bugs: int,
    on_bug: Callable[[Bug, int], None] | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> HuntReport:
    """Run the tasks on the cluster at `address`; merge their outcomes.
    `on_bug(bug, task)` as each task's bugs arrive; `on_progress(done, total,
    scenarios)` as tasks finish."""
    client, cluster = _client(address)
    started = time.perf_counter()
    outcomes: list[TaskOutcome] = []
    ctrl_c = CtrlC()
    try:
        _share_protocol_module(client, tasks[0].protocol)
        futures = [client.submit(_run, t, pure=False) for t in tasks]
        waiting = list(futures)
        if on_progress is not None:
            on_progress(0, len(tasks), 0)
        with ctrl_c:
            while waiting and not ctrl_c.pressed:  # a first Ctrl-C keeps what finished, drops the rest
                finished = [f for f in waiting if f.done()]
                if not finished:
                    time.sleep(0.05)
                    continue
                for future in finished:
                    waiting.remove(future)
                    try:
                        outcome = future.result()
                    except Exception as exc:  # the task raised on its worker: say what, in one line
                        first = (str(exc).splitlines() or [""])[0][:200]
                        raise DaskError(f"a hunt task failed on the cluster: {type(exc).__name__}: {first}") from None
                    outcomes.append(outcome)
                    for bug in outcome.report.bugs:
                        if on_bug is not None:
                            on_bug(bug, outcome.index)
                if on_progress is not None:
                    on_progress(len(outcomes), len(tasks), sum(o.report.examples for o in outcomes))
            for f in waiting:
                f.cancel()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    interrupted = len(outcomes) < len(tasks)
    return merge(tasks[0].protocol, seed, outcomes, time.perf_counter() - started, max_bugs, interrupted)


def _share_protocol_module(client, protocol: str) -> None:
    """A `module:Class` protocol from a file in this folder goes to every worker."""
    module = protocol.partition(":")[0] if ":" in protocol else None
    if module and "." not in module and Path(f"{module}.py").is_file():
        client.upload_file(f"{module}.py")
