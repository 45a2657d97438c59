"""A hunt on every core: one process per share (`tasks.HuntTask`), bugs sent
back the moment each is shrunk, progress from every worker, and one merged
report that depends only on the seed and the number of workers.

Ctrl-C: the workers ignore the terminal's SIGINT; the parent asks them to stop
(a shared event they check between two runs), and each sends back what it has,
the bug it was shrinking included. A second Ctrl-C stops them at once.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import signal
import time
from typing import Callable, Sequence

import attrs

from dhtea.search.ctrlc import CtrlC
from dhtea.search.hunting import Bug, HuntReport, Progress
from dhtea.search.tasks import HuntTask, TaskOutcome, merge, run_task

#: How often a worker reports its progress, at most (seconds).
PROGRESS_EVERY = 0.2


@attrs.frozen
class WorkerProgress:
    """Where one worker is."""

    index: int
    progress: Progress
    done: bool = False


def _worker(task: HuntTask, out: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    last = 0.0

    def on_bug(bug: Bug) -> None:
        out.put(("bug", task.index, bug))

    def on_progress(p: Progress) -> None:
        nonlocal last
        if stop.is_set():
            raise KeyboardInterrupt  # between two runs: the hunt keeps what it found
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            out.put(("progress", task.index, p))

    try:
        outcome = run_task(task, on_bug, on_progress)
        out.put(("done", task.index, outcome))
    except BaseException as exc:  # anything else is a failure of dhtea or the protocol module: say which
        out.put(("error", task.index, f"{type(exc).__name__}: {exc}"))


class WorkerError(RuntimeError):
    """A worker failed (not a bug in the protocol: those are violations)."""


def hunt_in_processes(
    tasks: Sequence[HuntTask],
    *,
    seed: int,
    max_bugs: int,
    on_bug: Callable[[Bug, int], None] | None = None,
    on_progress: Callable[[dict[int, WorkerProgress]], None] | None = None,
) -> HuntReport:
    """Run each task in its own process and merge their outcomes."""
    ctx = multiprocessing.get_context("spawn")  # no fork: a clean interpreter, as on any platform
    out = ctx.Queue()
    stop = ctx.Event()
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(t, out, stop), daemon=True) for t in tasks]
    status = {t.index: WorkerProgress(t.index, Progress(0, 0, None, 0)) for t in tasks}
    outcomes: dict[int, TaskOutcome] = {}
    received: dict[int, list[Bug]] = {t.index: [] for t in tasks}  # bugs sent so far, by worker
    presses = CtrlC(second_interrupts=False)
    with presses:
        for p in procs:
            p.start()
        try:
            while len(outcomes) < len(tasks):
                if presses.count == 1 and not stop.is_set():
                    stop.set()
                if presses.count >= 2:
                    break
                try:
                    kind, index, payload = out.get(timeout=0.1)
                except queue_module.Empty:
                    if any(not p.is_alive() and p.exitcode not in (0, None) for p in procs) and out.empty():
                        dead = [i for i, p in enumerate(procs) if p.exitcode not in (0, None)]
                        raise WorkerError(f"worker {dead[0]} stopped with exit code {procs[dead[0]].exitcode}")
                    continue
                if kind == "bug":
                    received[index].append(payload)
                    if on_bug is not None:
                        on_bug(payload, index)
                elif kind == "progress":
                    status[index] = WorkerProgress(index, payload)
                elif kind == "done":
                    outcomes[index] = payload
                    status[index] = attrs.evolve(status[index], done=True)
                elif kind == "error":
                    raise WorkerError(f"worker {index} failed: {payload}")
                if on_progress is not None:
                    on_progress(status)
        finally:
            for p in procs:
                if p.is_alive() and (presses.count >= 2 or len(outcomes) < len(tasks)):
                    p.terminate()
            for p in procs:
                p.join(timeout=5)
    interrupted = presses.count > 0 or len(outcomes) < len(tasks)
    for t in tasks:  # a worker stopped before its report: keep the bugs it sent
        if t.index not in outcomes:
            tried = status[t.index].progress.tried
            outcomes[t.index] = TaskOutcome(t.index, HuntReport("", t.seed, tried, 0.0, tuple(received[t.index]),
                                                                interrupted=True))
    report = merge(tasks[0].protocol, seed, outcomes.values(), time.perf_counter() - started, max_bugs, interrupted)
    return report
