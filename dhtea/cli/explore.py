"""`dhtea explore`: every delivery order of every scenario in a small scope."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from dhtea.cli.argtypes import positive_int, whole_number
from dhtea.cli.progress import ProgressLine
from dhtea.drivers.explore_scope import ScopeError, ScopeResult, explore_scope
from dhtea.drivers.explore_trace import NotReplayable, reproduce
from dhtea.drivers.explorer import Exploration, ExploreError, Explorer, Found
from dhtea.drivers.fingerprint import FingerprintError
from dhtea.protocols import UnknownProtocol, load_protocol
from dhtea.search.outputs import OutputError, prepare_out_dir
from dhtea.show.timeline import format_result, style_for
from dhtea.traces.files import safe_name
from dhtea.traces.serial import save_trace
from invariants import DEFAULT

Command = Callable[[argparse.Namespace], int]

#: Exit code when the search hit a bound before finding anything: not a proof.
BOUNDED = 3

#: The most members, or joiners, a scope may have (far past what can be explored in full).
MAX_RING = 12


def _error(text: object) -> int:
    print(f"dhtea: error: {text}", file=sys.stderr)
    return 2


def size_range(text: str) -> range:
    """`3` or `1-3`."""
    low, dash, high = text.partition("-")
    try:
        lo = int(low)
        hi = int(high) if dash else lo
        if lo < 0 or hi < lo or hi > MAX_RING:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or LOW-HIGH (at most {MAX_RING}), got {text!r}") from None
    return range(lo, hi + 1)


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    """Add `explore` to `sub`; return {name: handler}."""
    p = sub.add_parser("explore", help="explore every delivery order of every scenario in a small scope")
    p.add_argument("--protocol", required=True, help="classic, gapowner, gaplease, or module:Class")
    p.add_argument("--ring", type=size_range, required=True, metavar="N|LOW-HIGH", help="initial ring size(s)")
    p.add_argument("--joiners", type=size_range, required=True, metavar="N|LOW-HIGH", help="concurrent joiners")
    p.add_argument("--bootstraps", choices=("all", "first"), default="all",
                   help="each joiner through every member (all, default) or all through the first member")
    p.add_argument("--joins", choices=("start", "any"), default="start",
                   help="all joins start at the beginning (default), or each may start at any point")
    p.add_argument("--signature", action="append", metavar="INVARIANT",
                   help="look for the shortest violation of this invariant (repeatable; default: of any)")
    p.add_argument("--losses", type=whole_number, default=0, metavar="K",
                   help="the network may also lose up to K messages in each run (default 0)")
    p.add_argument("--duplicates", type=whole_number, default=0, metavar="K",
                   help="the network may also deliver up to K messages twice in each run (default 0)")
    p.add_argument("--crashes", type=whole_number, default=0, metavar="K",
                   help="up to K nodes may also crash-stop at any point in each run (default 0)")
    p.add_argument("--leaves", type=whole_number, default=0, metavar="L",
                   help="L members (never a bootstrap) each begin a graceful leave at any point (default 0)")
    p.add_argument("--max-states", type=positive_int, metavar="N", help="stop after N states in all")
    p.add_argument("--max-depth", type=positive_int, metavar="D", help="explore at most D steps deep")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N", help="processes to split scenarios over")
    p.add_argument("--no-relabel", action="store_true",
                   help="do not check and use that only the order of ids matters (explores ids 0..n-1 as given)")
    p.add_argument("--out", default="reports/explore", help="folder for counterexample trace files (default reports/explore)")
    p.add_argument("--quiet", action="store_true", help="no timeline, only the summary")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
    return {"explore": cmd_explore}


def _line(r: ScopeResult) -> str:
    rate = r.states / r.seconds if r.seconds > 0 else 0.0
    leaves = f", leaves {r.leaves}" if r.leaves else ""
    return (f"ring {r.members}, joiners {r.joiners}{leaves}: {r.scenarios} scenario(s), {r.states} states, "
            f"{r.transitions} transitions, depth {r.depth}, {r.seconds:.2f}s ({rate:,.0f} states/s)")


def cmd_explore(args: argparse.Namespace) -> int:
    try:
        cls = load_protocol(args.protocol)
    except UnknownProtocol as exc:
        return _error(exc)
    known = {i.name for i in DEFAULT} | {"handler-error", "progress"}
    for name in args.signature or ():
        if name not in known:
            return _error(f"unknown invariant {name!r} for --signature; known: {', '.join(sorted(known))}")
    if args.ring.start < 1:
        return _error("--ring: an initial ring has at least one member")
    for option, value in (("--losses", args.losses), ("--duplicates", args.duplicates), ("--crashes", args.crashes),
                          ("--leaves", args.leaves)):
        if value < 0:
            return _error(f"{option}: expected a number >= 0, got {value}")
    sizes = [m for m in args.ring if m > args.leaves]  # at least one member stays
    if not sizes:
        if args.leaves >= MAX_RING:
            return _error(f"--leaves {args.leaves}: at most {MAX_RING - 1}, since at least one member stays "
                          f"and a ring explored has at most {MAX_RING} members")
        return _error(f"--leaves {args.leaves}: every ring in --ring would lose all its members; "
                      f"explore rings of at least {args.leaves + 1}")
    try:
        prepare_out_dir(args.out)  # before any work: a bad --out is one line, at once
    except OutputError as exc:
        return _error(exc)
    wanted = [[name] for name in args.signature] if args.signature else [None]
    losses = f", up to {args.losses} message(s) lost" if args.losses else ""
    losses += f", up to {args.duplicates} message(s) duplicated" if args.duplicates else ""
    losses += f", up to {args.crashes} crash(es)" if args.crashes else ""
    losses += f", {args.leaves} leave(s) at any point" if args.leaves else ""
    print(f"exploring {args.protocol}: rings of {_span(args.ring)} member(s), {_span(args.joiners)} joiner(s), "
          f"bootstraps {args.bootstraps}, joins at {args.joins}{losses}")
    results: list[ScopeResult] = []
    budget = args.max_states
    progress = ProgressLine(sys.stderr)
    interrupted = False
    try:
        for want in wanted:
            for members in sizes:
                for joiners in args.joiners:
                    if budget is not None and budget <= 0:
                        break
                    where = f"ring {members}, joiners {joiners}"
                    show = lambda p, where=where: progress.show(  # noqa: E731
                        f"{where}: scenario {p.done + 1}/{p.scenarios}, {p.states:,} states, depth {p.depth}, "
                        f"{progress.elapsed:.0f}s")
                    r = explore_scope(cls, members, joiners, bootstraps=args.bootstraps,
                                      relabel="none" if args.no_relabel else "auto", join_mode=args.joins,
                                      max_states=budget, max_depth=args.max_depth, want=want, workers=args.workers,
                                      max_losses=args.losses, max_duplicates=args.duplicates,
                                      max_crashes=args.crashes, leaves=args.leaves, on_progress=show)
                    if budget is not None:
                        budget -= r.states
                    results.append(r)
                    progress.clear()
                    print(("" if want is None else f"[{want[0]}] ") + _line(r), flush=True)
    except (ScopeError, ExploreError, FingerprintError) as exc:
        progress.clear()
        return _error(exc)
    except KeyboardInterrupt:  # keep what the finished scopes found
        progress.clear()
        interrupted = True
        print("dhtea: interrupted", file=sys.stderr)
        print(f"interrupted after {progress.elapsed:.1f}s, in the middle of a scope; "
              f"what the {len(results)} finished scope(s) found follows")
    if not results:
        print("nothing explored to the end before the interruption: no violation found so far (not a proof)")
        return 130
    states = sum(r.states for r in results)
    seconds = sum(r.seconds for r in results)
    reductions = sorted({r.reduction for r in results})
    print(f"in all: {states} states, {sum(r.transitions for r in results)} transitions, depth "
          f"{max(r.depth for r in results)}, {seconds:.2f}s ({states / seconds if seconds else 0:,.0f} states/s); "
          f"ids up to {'/'.join(reductions)}")
    best: dict[str, tuple[Found, Exploration]] = {}
    for r in results:
        for f, e in r.found:
            old = best.get(f.invariant)
            if old is None or _size(f, e) < _size(*old):
                best[f.invariant] = (f, e)
    if not best:
        complete = all(r.complete for r in results) and (args.max_states is None or budget is None or budget > 0)
        if interrupted:
            print("no violation in the finished scopes (interrupted: not a proof of the whole range)")
            return 130
        if complete:
            print("no violation in this scope (complete)")
            return 0
        print(f"bounded: stopped at {states} states without a violation (not a proof)")
        return BOUNDED
    style = style_for(sys.stdout, args.no_color)
    order = sorted(best.values(), key=lambda fe: _size(*fe))
    for found, exploration in order if args.signature else order[:1]:
        _report(args, cls, found, exploration, style)
    if interrupted:
        return 130
    return 1


def _span(r: range) -> str:
    return str(r.start) if len(r) == 1 else f"{r.start}-{r.stop - 1}"


def _size(found: Found, exploration: Exploration) -> tuple[int, int, int]:
    return (found.deliveries, len(exploration.ring) + len(exploration.joins), len(found.steps) + len(found.cycle))


def _report(args: argparse.Namespace, cls: type, found: Found, e: Exploration, style) -> None:
    explorer = Explorer(cls, e.ring, e.joins, join_mode=args.joins, max_losses=args.losses,
                        max_duplicates=args.duplicates, max_crashes=args.crashes, leaves=e.leaves)
    what = f"with a cycle of {len(found.cycle)} step(s)" if found.cycle else ""
    # The leaves this run began: a chosen leaver may crash first, or the violation come before its turn.
    began = [step.node for step in (*found.steps, *found.cycle) if step.kind == "leave"]
    leaves = f", leave(s) of {', '.join(map(str, began))}" if began else ""
    print(f"\nshortest counterexample: {found.invariant} with {len(e.joins)} joiner(s), initial ring of "
          f"{len(e.ring)}{leaves}, {found.deliveries} deliveries {what}".rstrip())
    try:
        result = reproduce(explorer, found)
    except NotReplayable as exc:
        print(f"(not saved as a trace: {exc})")
        for step in found.steps:
            print(f"  {step.describe()}")
        for step in found.cycle:
            print(f"  (cycle) {step.describe()}")
        return
    if not args.quiet:
        print(format_result(result, style))
    path = Path(args.out) / f"{safe_name(result.protocol)}-explore-{found.invariant}.trace.json"
    saved = save_trace(result, path)
    print(f"trace saved to {saved}\nreplay with: dhtea replay {saved}")
