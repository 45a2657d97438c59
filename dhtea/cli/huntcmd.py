"""`dhtea hunt`: search, shrink and save bugs, showing progress on a terminal.

Each bug's trace file is written the moment the bug is shrunk and `hunt.json`
at the end, also when Ctrl-C stops the hunt (exit 130), so no bug found is lost.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dhtea.cli.progress import ProgressLine
from dhtea.protocols import load_protocol, protocol_name
from dhtea.search.coverage import expected_values
from dhtea.search.hunting import DEFAULT_DATABASE, Bug, Progress, hunt
from dhtea.search.outputs import HuntOutput, prepare_out_dir
from dhtea.search.pool import WorkerProgress, hunt_in_processes
from dhtea.search.tasks import smallest_key, split
from invariants.names import invariant_specs
from dhtea.show.coverage import coverage_lines
from dhtea.show.timeline import PLAIN, Style, format_result
from dhtea.strategies import initial_rings, scenarios


def print_bug(index: int, bug: Bug, style: Style = PLAIN) -> None:
    s = bug.result.scenario
    how = f"found and shrunk in {bug.examples} scenarios" if bug.shrunk else f"found in {bug.examples} scenarios, not fully shrunk"
    print(f"\n=== bug {index}: {bug.signature} ({len(s.joins)} joiner(s), initial ring of {len(s.ring)}; {how}) ===")
    print(format_result(bug.result, style))


def progress_text(p: Progress, seconds: float) -> str:
    doing = f"shrinking {p.shrinking} ({p.smaller} smaller so far)" if p.shrinking else "searching"
    return f"{p.tried} scenarios, {p.tried / max(seconds, 1e-3):.0f}/s, {p.bugs} bug(s) so far; {doing}"


def database_dir(off: bool) -> Path | None:
    """Where Hypothesis keeps failing examples between hunts: `DHTEA_DATABASE`
    (a folder, or `off`), else `.dhtea/examples`; None with `--no-database`."""
    env = os.environ.get("DHTEA_DATABASE", "")
    if off or env.lower() == "off":
        return None
    return Path(env) if env else DEFAULT_DATABASE


def run(args: argparse.Namespace, style: Style, invariants: tuple) -> int:
    protocol = load_protocol(args.protocol)
    out = prepare_out_dir(args.out)  # before any work: a bad --out is one line, at once
    workers = args.workers or os.cpu_count() or 1
    settings = {"examples_per_bug": args.examples, "max_bugs": args.max_bugs, "max_ring": args.max_ring,
                "max_joiners": args.max_joiners, "workers": workers}
    expected = expected_values(args.max_ring, args.max_joiners)
    output = HuntOutput(out, protocol_name(protocol))
    progress = ProgressLine(sys.stderr)
    database = database_dir(args.no_database)
    where = "" if workers == 1 else f" in {workers} worker processes"
    print(f"hunting in {args.protocol}{where}: up to {args.examples} scenarios per bug, seed {args.seed}", flush=True)
    if workers == 1:
        report = _hunt_here(args, protocol, invariants, database, output, progress, style)
    else:
        tasks = split(args.protocol, shares=workers, examples=args.examples, seed=args.seed, max_bugs=args.max_bugs,
                      max_ring=args.max_ring, max_joiners=args.max_joiners, invariants=invariant_specs(invariants),
                      database=None if database is None else str(database))
        report = _hunt_in_workers(args, tasks, output, progress)
    progress.clear()
    paths, summary = output.finish(report, settings, expected, timings=not args.no_timings)
    if workers > 1 and not args.quiet:  # bugs as merged: the smallest of each kind
        for i, bug in enumerate(report.bugs, 1):
            print_bug(i, bug, style)
    return _conclude(report, paths, summary, expected)


def _hunt_here(args, protocol, invariants, database, output: HuntOutput, progress: ProgressLine, style: Style):
    """One process: each bug printed and saved as soon as it is shrunk."""
    count = 0

    def on_bug(bug: Bug) -> None:
        nonlocal count
        count += 1
        path = output.save_bug(bug, count)  # saved first: Ctrl-C from here on cannot lose it
        progress.clear()
        if not args.quiet:
            print_bug(count, bug, style)
        print(f"saved bug {count} ({bug.signature}) to {path}", flush=True)

    def on_progress(p: Progress) -> None:
        progress.show(progress_text(p, progress.elapsed))

    strategy = scenarios(rings=initial_rings(max_size=args.max_ring), max_joiners=args.max_joiners)
    return hunt(protocol, examples=args.examples, seed=args.seed, max_bugs=args.max_bugs, strategy=strategy,
                invariants=invariants, on_bug=on_bug, on_progress=on_progress, database=database)


def _hunt_in_workers(args, tasks, output: HuntOutput, progress: ProgressLine):
    """Worker processes: each bug saved as soon as a worker has shrunk it (a
    smaller one of the same kind from another worker replaces it); the final
    numbering is settled when the hunt ends."""
    best: dict[str, Bug] = {}
    number: dict[str, int] = {}

    def on_bug(bug: Bug, worker: int) -> None:
        sig = bug.signature
        if sig in best and smallest_key(bug) >= smallest_key(best[sig]):
            return
        best[sig] = bug
        number.setdefault(sig, len(number) + 1)
        path = output.save_bug(bug, number[sig])
        if progress.enabled:
            progress.clear()
            print(f"worker {worker + 1} found {sig}: saved to {path}", flush=True)

    def on_progress(status: dict[int, WorkerProgress]) -> None:
        progress.show(workers_text(status, len(best), progress.elapsed))

    return hunt_in_processes(tasks, seed=args.seed, max_bugs=args.max_bugs, on_bug=on_bug, on_progress=on_progress)


def workers_text(status: dict[int, WorkerProgress], bugs: int, seconds: float) -> str:
    tried = sum(w.progress.tried for w in status.values())
    each = []
    for i, w in sorted(status.items()):
        p = w.progress
        doing = "done" if w.done else (f"shrinking {p.shrinking} ({p.smaller})" if p.shrinking else "searching")
        each.append(f"w{i + 1} {doing}")
    return f"{tried} scenarios, {tried / max(seconds, 1e-3):.0f}/s, {bugs} bug(s) so far; " + ", ".join(each)


def _conclude(report, paths, summary, expected) -> int:
    stopped = "interrupted after" if report.interrupted else "hunted"
    print(f"\n{stopped} {report.examples} scenarios in {report.seconds:.1f}s: {len(report.bugs)} distinct bug(s)")
    print("\n".join(coverage_lines(report.coverage.to_dict(expected))))
    if not report.bugs:
        print("no invariant was violated" + (" before the interruption" if report.interrupted else ""))
    for path, bug in zip(paths, report.bugs):
        print(f"  {bug.signature}: {len(bug.result.scenario.joins)} joiner(s) -> {path}"
              + ("" if bug.shrunk else " (interrupted while shrinking)"))
        print(f"    replay: dhtea replay {path}")
    print(f"hunt summary: {summary} (an HTML report: dhtea report {summary.parent})")
    if report.interrupted:
        print("dhtea: interrupted; the bugs found so far are saved", file=sys.stderr)
        return 130
    return 1 if report.bugs else 0
