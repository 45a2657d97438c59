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
from dhtea.search.outputs import HuntOutput, OutputError, prepare_out_dir
from dhtea.search.pool import WorkerProgress, hunt_in_processes, shares_for
from dhtea.search.daskhunt import DEFAULT_TASKS, hunt_on_dask
from dhtea.search.tasks import smallest_key, split, swarm_tasks
from invariants.names import invariant_specs
from dhtea.show.coverage import coverage_lines
from dhtea.show.timeline import PLAIN, Style, format_result
from dhtea.core.scenario import FAULT_KINDS
from dhtea.strategies import check_fault_names, initial_rings, scenarios_for


class FaultsError(ValueError):
    """A --faults value naming an unknown kind."""


def parse_faults(text: str) -> tuple[str, ...]:
    """`leave,loss` -> ("leave", "loss"); `none` -> ()."""
    if text.strip() == "none":
        return ()
    names = [k.strip() for k in text.split(",") if k.strip()]
    if not names:  # an empty value is more likely a mistake than a wish for no faults
        raise FaultsError(f"bad --faults {text!r}: name the kinds ({', '.join(FAULT_KINDS)}) or none")
    try:
        return check_fault_names(names)
    except ValueError as exc:
        raise FaultsError(f"bad --faults {text!r}: {exc}") from None


def claimed_faults(protocol: type) -> tuple[str, ...]:
    return tuple(k for k in FAULT_KINDS if k in getattr(protocol, "tolerates", ()))


def beyond_claims(bug: Bug, claimed: tuple[str, ...]) -> str:
    """A note for a bug whose scenario uses churn or faults the protocol does not claim to tolerate."""
    s = bug.result.scenario
    beyond = [k for k in s.fault_kinds if k not in claimed]
    if not beyond:
        return ""
    note = f"note: this scenario goes beyond what {bug.result.protocol} claims to tolerate ({', '.join(beyond)})"
    if "crash" in beyond:
        crashed = [op.node for op in s.churn if op.kind == "crash" and op.during is None and op.node in s.ring]
        if crashed:
            who = ", ".join(str(n) for n in crashed)
            note += (f": member {who} crashed and the ring was left unrepaired (two neighbour pointers cannot "
                     "repair a member crash in general; the protocol declines it)")
    return note


def describe_bug(bug: Bug) -> str:
    s = bug.result.scenario
    churn = f", {len(s.churn)} leave(s)/crash(es)" if s.churn else ""
    faults = ", ".join(k for k in s.fault_kinds if k in ("loss", "duplicate", "partition"))
    return f"{len(s.joins)} joiner(s){churn}, initial ring of {len(s.ring)}" + (f"; {faults}" if faults else "")


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
    chosen = None if args.faults is None else parse_faults(args.faults)  # a bad --faults is refused before anything
    out = prepare_out_dir(args.out)  # before any work: a bad --out is one line, at once
    dask = args.dask or os.environ.get("DHTEA_DASK") or None
    if args.tasks and not dask:
        raise OutputError("--tasks goes with --dask (local workers split the hunt with --workers)")
    if dask and args.workers:
        raise OutputError("--workers is for local processes; with --dask the hunt is split with --tasks")
    # No more processes than scenarios per bug: the hunt is never split into
    # more shares than that, so further processes would have nothing to do.
    workers = 1 if dask else min(args.workers or os.cpu_count() or 1, args.examples)
    settings = {"examples_per_bug": args.examples, "max_bugs": args.max_bugs, "max_ring": args.max_ring,
                "max_joiners": args.max_joiners}
    settings.update({"tasks": args.tasks or DEFAULT_TASKS, "swarm": True} if dask else {"workers": workers})
    output = HuntOutput(out, protocol_name(protocol))
    progress = ProgressLine(sys.stderr)
    database = database_dir(args.no_database)
    shares = settings.get("tasks", shares_for(workers))
    where = f" on Dask ({dask}), {shares} tasks" if dask else ("" if workers == 1 else f" in {workers} worker processes")
    print(f"hunting in {args.protocol}{where}: up to {args.examples} scenarios per bug, seed {args.seed}", flush=True)
    claimed = claimed_faults(protocol)
    faults = claimed if chosen is None else chosen
    args.faults_list = faults
    beyond = [k for k in faults if k not in claimed]
    print(f"churn and faults: {', '.join(faults) or 'none'}"
          + (f" (beyond what {args.protocol} claims to tolerate: {', '.join(beyond)})" if beyond else ""), flush=True)
    if faults:
        settings["faults"] = ",".join(faults)
    expected = expected_values(args.max_ring, args.max_joiners, faults, tuple(getattr(protocol, "kinds", ())))
    if shares == 1 and not dask:
        report = _hunt_here(args, protocol, invariants, database, output, progress, style)
    else:
        tasks = split(args.protocol, shares=shares, examples=args.examples, seed=args.seed, max_bugs=args.max_bugs,
                      max_ring=args.max_ring, max_joiners=args.max_joiners, invariants=invariant_specs(invariants),
                      database=None if database is None or dask else str(database), faults=faults)
        saver = _Saver(output, progress)
        if dask:
            report = hunt_on_dask(swarm_tasks(tasks, args.seed), dask, seed=args.seed, max_bugs=args.max_bugs,
                                  on_bug=saver.on_bug, on_progress=saver.on_tasks)
        else:
            report = hunt_in_processes(tasks, seed=args.seed, max_bugs=args.max_bugs, workers=workers,
                                       on_bug=saver.on_bug, on_progress=saver.on_workers)
    progress.clear()
    paths, summary = output.finish(report, settings, expected, timings=not args.no_timings)
    if shares > 1 and not args.quiet:  # bugs as merged: the smallest of each kind
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

    strategy = scenarios_for(protocol, args.faults_list, rings=initial_rings(max_size=args.max_ring),
                             max_joiners=args.max_joiners)
    return hunt(protocol, examples=args.examples, seed=args.seed, max_bugs=args.max_bugs, strategy=strategy,
                invariants=invariants, on_bug=on_bug, on_progress=on_progress, database=database)


class _Saver:
    """Saves each bug as soon as a worker or task sends it (a smaller one of the
    same kind replaces it); the final numbering is settled when the hunt ends."""

    def __init__(self, output: HuntOutput, progress: ProgressLine) -> None:
        self.output, self.progress = output, progress
        self.best: dict[str, Bug] = {}
        self.number: dict[str, int] = {}

    def on_bug(self, bug: Bug, worker: int) -> None:
        sig = bug.signature
        if sig in self.best and smallest_key(bug) >= smallest_key(self.best[sig]):
            return
        self.best[sig] = bug
        self.number.setdefault(sig, len(self.number) + 1)
        path = self.output.save_bug(bug, self.number[sig])
        if self.progress.enabled:
            self.progress.clear()
            print(f"share {worker + 1} found {sig}: saved to {path}", flush=True)

    def on_workers(self, status: dict[int, WorkerProgress]) -> None:
        self.progress.show(workers_text(status, len(self.best), self.progress.elapsed))

    def on_tasks(self, done: int, total: int, tried: int) -> None:
        rate = tried / max(self.progress.elapsed, 1e-3)
        self.progress.show(f"{done}/{total} tasks done, {tried} scenarios, {rate:.0f}/s, {len(self.best)} bug(s) so far",
                           force=True)


def workers_text(status: dict[int, WorkerProgress], bugs: int, seconds: float) -> str:
    tried = sum(w.finished + w.progress.tried for w in status.values())
    each = []
    for i, w in sorted(status.items()):
        p = w.progress
        doing = "done" if w.done else (f"shrinking {p.shrinking} ({p.smaller})" if p.shrinking else "searching")
        share = "" if w.share is None else f" share {w.share + 1}"
        each.append(f"w{i + 1}{share} {doing}")
    return f"{tried} scenarios, {tried / max(seconds, 1e-3):.0f}/s, {bugs} bug(s) so far; " + ", ".join(each)


def _conclude(report, paths, summary, expected) -> int:
    stopped = "interrupted after" if report.interrupted else "hunted"
    print(f"\n{stopped} {report.examples} scenarios in {report.seconds:.1f}s: {len(report.bugs)} distinct bug(s)")
    print("\n".join(coverage_lines(report.coverage.to_dict(expected))))
    if not report.bugs:
        print("no invariant was violated" + (" before the interruption" if report.interrupted else ""))
    for path, bug in zip(paths, report.bugs):
        note = beyond_claims(bug, claimed_faults(load_protocol(bug.result.protocol)))
        if note:
            print(f"  {note}")
        print(f"  {bug.signature}: {describe_bug(bug)} -> {path}"
              + ("" if bug.shrunk else " (interrupted while shrinking)"))
        print(f"    replay: dhtea replay {path}")
    print(f"hunt summary: {summary} (an HTML report: dhtea report {summary.parent})")
    if report.interrupted:
        print("dhtea: interrupted; the bugs found so far are saved", file=sys.stderr)
        return 130
    return 1 if report.bugs else 0
