"""A hunt on every core: the hunt's shares (`tasks.HuntTask`) are dealt to a
few worker processes from one queue, bugs are sent back the moment each is
shrunk, progress comes from every worker, and one merged report depends only
on the seed and the shares, never on which process ran which share.

Why more shares than workers: a share's run time is uneven (one share finds a
bug and spends seconds shrinking it, another finds nothing), and a worker left
idle while the other finishes a long share wastes a core. Small shares taken
from a queue keep every core busy to the end. The shares are fixed by the seed
and the worker count (`shares_for`), so the report is too.

Ctrl-C: the workers ignore the terminal's SIGINT; the parent asks them to stop
(a shared event they check between two runs), and each sends back what it has,
the bug it was shrinking included, and takes no new share. A second Ctrl-C
stops them at once.
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

#: Shares per worker process: enough that the last share is a small part of
#: the hunt, few enough that each share's start-up cost stays negligible.
SHARES_PER_WORKER = 4


def shares_for(workers: int) -> int:
    """How many shares a hunt on `workers` processes is split into (one worker:
    one share, so that it hunts exactly as the library's `hunt` does)."""
    return 1 if workers <= 1 else workers * SHARES_PER_WORKER


@attrs.frozen
class WorkerProgress:
    """Where one worker process is: the share it runs and how far that share got."""

    index: int  # the worker's number, 0 ...
    progress: Progress  # of the share it runs now (or ran last)
    done: bool = False  # no share left for it
    share: int | None = None  # the share it runs now
    finished: int = 0  # scenarios of the shares it has finished


def _worker(number: int, shares: multiprocessing.Queue, out: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    last = 0.0

    def on_bug(bug: Bug) -> None:
        out.put(("bug", number, (task.index, bug)))

    def on_progress(p: Progress) -> None:
        nonlocal last
        if stop.is_set():
            raise KeyboardInterrupt  # between two runs: the hunt keeps what it found
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY:
            last = now
            out.put(("progress", number, (task.index, p)))

    try:
        while not stop.is_set():
            task = shares.get()
            if task is None:
                break
            out.put(("started", number, (task.index, None)))
            outcome = run_task(task, on_bug, on_progress)
            out.put(("done", number, (task.index, outcome)))
        out.put(("idle", number, (None, None)))
    except BaseException as exc:  # anything else is a failure of dhtea or the protocol module: say which
        out.put(("error", number, (None, f"{type(exc).__name__}: {exc}")))


class WorkerError(RuntimeError):
    """A worker failed (not a bug in the protocol: those are violations)."""


def hunt_in_processes(
    tasks: Sequence[HuntTask],
    *,
    seed: int,
    max_bugs: int,
    workers: int | None = None,
    on_bug: Callable[[Bug, int], None] | None = None,
    on_progress: Callable[[dict[int, WorkerProgress]], None] | None = None,
) -> HuntReport:
    """Run the tasks on `workers` processes (default: one per task) and merge
    their outcomes. `on_bug` gets each bug and the number of the share that
    found it; `on_progress` gets every worker's `WorkerProgress`."""
    count = max(1, min(workers or len(tasks), len(tasks)))
    ctx = multiprocessing.get_context("spawn")  # no fork: a clean interpreter, as on any platform
    shares, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for task in tasks:
        shares.put(task)
    for _ in range(count):
        shares.put(None)  # one "no more" per worker
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(i, shares, out, stop), daemon=True) for i in range(count)]
    status = {i: WorkerProgress(i, Progress(0, 0, None, 0)) for i in range(count)}
    outcomes: dict[int, TaskOutcome] = {}
    received: dict[int, list[Bug]] = {t.index: [] for t in tasks}  # bugs sent so far, by share
    tried: dict[int, int] = {}  # scenarios run so far, by share
    idle: set[int] = set()
    presses = CtrlC(second_interrupts=False)
    with presses:
        for p in procs:
            p.start()
        try:
            while len(outcomes) < len(tasks) and len(idle) < count:
                if presses.count == 1 and not stop.is_set():
                    stop.set()
                if presses.count >= 2:
                    break
                try:
                    kind, number, (index, payload) = out.get(timeout=0.1)
                except queue_module.Empty:
                    dead = [i for i, p in enumerate(procs) if p.exitcode not in (0, None)]
                    if dead and out.empty():
                        raise WorkerError(f"worker {dead[0]} stopped with exit code {procs[dead[0]].exitcode}")
                    continue
                w = status[number]
                if kind == "bug":
                    received[index].append(payload)
                    if on_bug is not None:
                        on_bug(payload, index)
                elif kind == "started":
                    status[number] = WorkerProgress(number, Progress(0, 0, None, 0), share=index, finished=w.finished)
                elif kind == "progress":
                    tried[index] = payload.tried
                    status[number] = attrs.evolve(w, progress=payload)
                elif kind == "done":
                    outcomes[index] = payload
                    tried[index] = payload.report.examples
                    status[number] = attrs.evolve(w, share=None, finished=w.finished + payload.report.examples,
                                                  progress=Progress(0, 0, None, 0))
                elif kind == "idle":
                    idle.add(number)
                    status[number] = attrs.evolve(w, done=True, share=None)
                elif kind == "error":
                    raise WorkerError(f"worker {number} failed: {payload}")
                if on_progress is not None:
                    on_progress(status)
        finally:
            for p in procs:
                if p.is_alive() and (presses.count >= 2 or len(outcomes) < len(tasks) and len(idle) < count):
                    p.terminate()
            for p in procs:
                p.join(timeout=5)
    interrupted = presses.count > 0 or len(outcomes) < len(tasks)
    for t in tasks:  # a share stopped (or never started) before its report: keep the bugs it sent
        if t.index not in outcomes:
            outcomes[t.index] = TaskOutcome(t.index, HuntReport("", t.seed, tried.get(t.index, 0), 0.0,
                                                                tuple(received[t.index]), interrupted=True))
    return merge(tasks[0].protocol, seed, outcomes.values(), time.perf_counter() - started, max_bugs, interrupted)
