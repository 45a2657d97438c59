"""The `dhtea` command line. Every failure is one line on stderr and exit 2."""

from __future__ import annotations

import argparse
import os
import sys

import attrs
from pathlib import Path

from dhtea.cli.argtypes import at_most, fits_a_file, positive_int, whole_number
from dhtea.cli import explore as cli_explore
from dhtea.cli.errors import report_error
from dhtea.cli import real as cli_real
from dhtea.cli import huntcmd
from dhtea.search.hunting import DEFAULT_DATABASE
from dhtea.search.outputs import OutputError
from dhtea.search.daskhunt import DaskError
from dhtea.core.scenario import FAULT_KINDS
from dhtea.core.network import LATENCY_MODELS, LatencyError, Network
from dhtea.protocols import BUILTIN, UnknownProtocol, load_protocol
from dhtea.search.replaying import replay
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.core.spool import Spool
from dhtea.traces.files import MAX_INT_DIGITS
from dhtea.traces.serial import TraceFileError, read_trace, reason, save_trace
from dhtea.drivers.simulator import simulate
from dhtea.strategies import MAX_ID
from dhtea.search.continuing import continue_to_rest
from dhtea.show.report import write_report
from dhtea.traces.states import TraceStateError, blamed_changes
from dhtea.show.timeline import Style, format_result, format_timeline, style_for
from invariants import DEFAULT
from invariants.names import UnknownInvariant, load_invariants


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage plus error
        raise UsageError(message)






def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dhtea", description="Find bugs in ring-maintenance protocols, shrink them, replay them.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("hunt", help="search for scenarios that break an invariant; shrink and save each bug")
    p.add_argument("--protocol", required=True, help="classic, gapowner, gaplease, or module:Class")
    p.add_argument("--examples", type=positive_int, default=1000, help="scenarios to try per bug searched (default 1000)")
    p.add_argument("--seed", type=whole_number, default=0, help="hunt seed: same seed, same bugs (default 0)")
    p.add_argument("--max-bugs", type=positive_int, default=5, help="stop after this many distinct bugs (default 5)")
    ids = f"a hunt draws node ids from 0 to {MAX_ID}"
    p.add_argument("--max-ring", type=at_most(MAX_ID + 1, ids), default=5, help="largest initial ring (default 5)")
    p.add_argument("--max-joiners", type=at_most(MAX_ID, ids), default=4, help="most concurrent joiners (default 4)")
    p.add_argument("--faults", metavar="KINDS", help="churn and faults to generate, comma-separated from "
                   f"{','.join(FAULT_KINDS)}, or none (default: what the protocol claims to tolerate)")
    p.add_argument("--out", default="reports/hunt", help="folder for the trace files (default reports/hunt)")
    p.add_argument("--quiet", action="store_true", help="print only the summary, not each timeline")
    p.add_argument("--no-timings", action="store_true",
                   help="leave the wall-clock time out of hunt.json (the same hunt then writes the same files)")
    _invariant_option(p)
    p.add_argument("--workers", type=positive_int, metavar="N",
                   help="processes to hunt in, each on its own seeded share (default: every core)")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="hunt on a Dask cluster: tcp://host:8786, or local[:N] for N local workers (default $DHTEA_DASK)")
    p.add_argument("--tasks", type=positive_int, metavar="T",
                   help="with --dask: tasks the hunt is split into, each with its own features (default 8)")
    p.add_argument("--no-database", action="store_true",
                   help=f"do not keep or reuse failing examples in {DEFAULT_DATABASE} (a re-run starts from them)")
    _colour_option(p)

    p = sub.add_parser("replay", help="re-run a trace file and check the run is identical")
    p.add_argument("trace", help="a .trace.json file")
    p.add_argument("--protocol", help="replay the scenario under another protocol (e.g. the fixed one)")
    p.add_argument("--strict", action="store_true", help="fail unless the run is identical to the file")
    p.add_argument("--quiet", action="store_true", help="print only the verdict")
    p.add_argument("--save", metavar="FILE", help="also write this run as a trace file (e.g. the fixed protocol passing)")
    _colour_option(p)
    _full_option(p)

    p = sub.add_parser("show", help="print a trace file's timeline without re-running it")
    p.add_argument("trace")
    _colour_option(p)
    _full_option(p)

    p = sub.add_parser("run", help="simulate one scenario given on the command line")
    p.add_argument("--protocol", required=True)
    p.add_argument("--ring", required=True, help="initial members, e.g. 1,49,50")
    p.add_argument("--join", action="append", default=[], metavar="NODE@TIME:BOOTSTRAP", help="e.g. 60@0:1 (repeatable)")
    p.add_argument("--latency", default="constant:1", help="MODEL:ARGS, e.g. uniform:1,5 (default constant:1)")
    p.add_argument("--seed", type=whole_number, default=0)
    p.add_argument("--save", help="write the trace file here")
    p.add_argument("--trace-to", metavar="FILE", help="stream the trace to this trace file as the run goes: memory holds "
                   "the ring, not the run's history (for long runs)")
    _invariant_option(p)
    _colour_option(p)
    _full_option(p)

    p = sub.add_parser("report", help="write one self-contained HTML page about trace files or a hunt")
    p.add_argument("inputs", nargs="+", metavar="TRACE", help="trace files, hunt.json files, or folders holding a hunt.json")
    p.add_argument("-o", "--out", metavar="FILE", help="the HTML file to write (default reports/<name of the first input>.html)")
    p.add_argument("--title", help="the page title (default: names the protocols)")

    sub.add_parser("protocols", help="list the built-in protocols")
    COMMANDS.update(cli_real.register(sub))
    COMMANDS.update(cli_explore.register(sub))
    return parser


def _invariant_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--invariant", action="append", default=[], metavar="MODULE:NAME",
                   help="also check this invariant (a built-in name or module:name; repeatable)")


def _invariants(args: argparse.Namespace) -> tuple:
    """The default invariants plus each `--invariant`, loaded (a bad one is exit 2)."""
    try:
        return load_invariants([i.name for i in DEFAULT] + args.invariant)
    except UnknownInvariant as exc:
        raise UsageError(f"--invariant: {exc}") from None


def _colour_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal (NO_COLOR=1 does the same)")


def _full_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true",
                   help="print every event (by default a block of events repeated over and over, such as a retry "
                        "loop, is shown once and its repeats in one line)")


def _style(args: argparse.Namespace) -> Style:
    return style_for(sys.stdout, args.no_color)


def cmd_hunt(args: argparse.Namespace) -> int:
    return huntcmd.run(args, _style(args), _invariants(args))


def cmd_replay(args: argparse.Namespace) -> int:
    if args.save and Path(args.save).resolve() == Path(args.trace).resolve():
        raise UsageError(f"--save {args.save} would overwrite the trace being replayed; save elsewhere")
    outcome = replay(read_trace(args.trace), protocol=args.protocol)
    if not args.quiet:
        print(format_result(outcome.result, _style(args), fold=not args.full))
        print()
    print(outcome.verdict)
    if args.save:
        saved = save_trace(outcome.result, args.save)
        if not args.quiet:
            print(f"trace saved to {saved}")
    if args.strict:
        if outcome.exact:
            return 0
        print(f"--strict: exit 1 because the run is not the trace's run: {outcome.strict_difference}")
        return 1
    return 0 if outcome.identical or outcome.fixed else 1


def cmd_show(args: argparse.Namespace) -> int:
    tf = read_trace(args.trace)
    style = _style(args)
    blamed = blamed_changes(tf.scenario, tf.events, tf.violations) if style.colour else ()
    print(f"protocol: {tf.protocol}")
    print("\n".join(format_timeline(tf.events, tf.violations, style, blamed, fold=not args.full)))
    return 0


def _parse_latency(text: str):
    kind, _, rest = text.partition(":")
    cls = LATENCY_MODELS.get(kind)
    if cls is None:
        raise UsageError(f"unknown latency model {kind!r}; known: {', '.join(LATENCY_MODELS)}")
    names = [a.name for a in attrs.fields(cls)]
    try:
        values = [float(x) for x in rest.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"bad --latency {text!r}: {kind} takes numbers ({', '.join(names)})") from None
    required = [a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING]
    if not len(required) <= len(values) <= len(names):
        raise UsageError(f"bad --latency {text!r}: {kind} takes {', '.join(names)}, e.g. {kind}:{','.join('1' * len(required) or '1')}")
    try:
        return cls(*values)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad --latency {text!r}: {reason(exc)}") from None


def _parse_join(text: str) -> Join:
    node, at_sign, rest = text.partition("@")
    at, colon, bootstrap = rest.partition(":")
    try:
        if not (at_sign and colon):
            raise ValueError
        parts = int(node), float(at), int(bootstrap)
    except ValueError:
        raise UsageError(f"bad --join {text!r}: expected NODE@TIME:BOOTSTRAP, e.g. 60@0:1") from None
    if not (fits_a_file(parts[0]) and fits_a_file(parts[2])):
        raise UsageError(f"bad --join {text!r}: {TOO_LONG}")
    try:
        return Join(*parts)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad --join {text!r}: {reason(exc)}") from None


def _parse_ring(text: str) -> list[int]:
    try:
        ring = [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"bad --ring {text!r}: expected comma-separated node ids, e.g. 1,49,50") from None
    if not all(fits_a_file(n) for n in ring):
        raise UsageError(f"bad --ring {text!r}: {TOO_LONG}")
    return ring


TOO_LONG = f"a node id has at most {MAX_INT_DIGITS} digits (what a trace file holds)"


def cmd_run(args: argparse.Namespace) -> int:
    protocol = load_protocol(args.protocol)
    ring = _parse_ring(args.ring)
    joins = [_parse_join(j) for j in args.join]
    latency = _parse_latency(args.latency)
    invariants = _invariants(args)
    try:
        scenario = Scenario(ring=ring, joins=JoinSchedule(joins), network=Network(latency=latency), seed=args.seed)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"impossible scenario: {reason(exc)}") from None
    if args.trace_to:
        return _run_to_file(protocol, scenario, invariants, args)
    result = simulate(protocol, scenario, invariants=invariants)
    print(format_result(result, _style(args), fold=not args.full))
    if args.save:
        print(f"trace saved to {save_trace(result, args.save)}")
    return 0 if result.ok else 1


def _run_to_file(protocol: type, scenario: Scenario, invariants, args: argparse.Namespace) -> int:
    """`run --trace-to FILE`: the trace spills to a spool beside FILE while the
    run goes, and is then written to FILE; the report printed is the same."""
    target = Path(args.trace_to)
    if target.is_dir():
        raise UsageError(f"--trace-to {target} is a folder; name a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    spool = Spool(target.parent)
    try:
        result = simulate(protocol, scenario, invariants=invariants, spool=spool)
        saved = save_trace(result, target)
        print(format_result(result, _style(args), fold=not args.full))
        if args.save:
            print(f"trace saved to {save_trace(result, args.save)}")
        print(f"trace written to {saved}")
    finally:
        spool.close()
    return 0 if result.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    path = write_report(args.inputs, args.out, args.title, continue_run=continue_to_rest)
    print(f"report written to {path}")
    return 0


def cmd_protocols(args: argparse.Namespace) -> int:
    for name, cls in sorted(BUILTIN.items()):
        print(f"{name:10} {(cls.__doc__ or '').strip().splitlines()[0]}")
    return 0


COMMANDS = {
    "hunt": cmd_hunt,
    "replay": cmd_replay,
    "show": cmd_show,
    "run": cmd_run,
    "report": cmd_report,
    "protocols": cmd_protocols,
}


def main(argv: list[str] | None = None) -> int:
    # `--protocol mymodule:MyNode` should find mymodule.py in the current folder,
    # as `python -m` would; the console script's own folder is .venv/bin.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, UnknownProtocol, UnknownInvariant, TraceFileError, TraceStateError, LatencyError,
            OutputError, DaskError, huntcmd.FaultsError) as exc:
        return report_error(exc)
    except OSError as exc:  # e.g. --out names a file, --save names a folder
        if isinstance(exc, FileExistsError) and exc.filename and not Path(exc.filename).is_dir():
            # Raised by creating the folders of an output path: one of them is a file.
            return report_error(f"{exc.filename} is a file, so no folder can be made there")
        if isinstance(exc, NotADirectoryError) and exc.filename:
            return report_error(f"{exc.filename}: a folder on this path is a file")
        where = f": {exc.filename}" if exc.filename else ""
        return report_error(f"{exc.strerror or exc}{where}")
    except KeyboardInterrupt:
        print("dhtea: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
