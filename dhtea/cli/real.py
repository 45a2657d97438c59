"""Command-line commands for real runs over UDP (`node`, `cluster`, `check`)."""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from dhtea.cli.argtypes import port_number, positive_int, whole_number
from dhtea.cli.errors import report_error

Command = Callable[[argparse.Namespace], int]


def _error(text: object) -> int:
    return report_error(text)


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        p = -1.0
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return p


def _delay(text: str) -> tuple[float, float]:
    p, colon, most = text.partition(":")
    try:
        seconds = float(most)
        if not colon or not 0 <= seconds <= 60 or seconds != seconds:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected P:MAX (a probability and at most 60 seconds), got {text!r}") from None
    return _probability(p), seconds




def _seconds(text: str) -> float:
    try:
        value = float(text)
        if not 0 < value < 1e6:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}") from None
    return value


def _time(text: str) -> float:
    try:
        value = float(text)
        if not abs(value) < 1e12:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a Unix time in seconds, got {text!r}") from None
    return value




def _times(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
        if not all(0 <= v < 1e6 for v in values):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0 separated by commas, e.g. 0.01,0.2, got {text!r}") from None
    return values


def _count(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of nodes, 0 or more, got {value}")
    return value


def _time_unit(text: str) -> float:
    try:
        value = float(text)
        if not 1e-6 <= value <= 10:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds per time unit, from 0.000001 to 10, got {text!r}") from None
    return value


def _faults(p: argparse.ArgumentParser) -> None:
    p.add_argument("--drop", type=_probability, default=0.0, metavar="P", help="drop each outgoing datagram with probability P")
    p.add_argument("--delay", type=_delay, default=(0.0, 0.0), metavar="P:MAX",
                   help="delay each outgoing datagram with probability P by up to MAX seconds")
    p.add_argument("--dup", type=_probability, default=0.0, metavar="P",
                   help="send each outgoing datagram twice with probability P")
    p.add_argument("--fault-seed", type=whole_number, default=0, metavar="S", help="seed of the fault injection (default 0)")


def _timing(p: argparse.ArgumentParser) -> None:
    from dhtea.real.udp import DEFAULT_TIME_UNIT

    p.add_argument("--time-unit", type=_time_unit, default=DEFAULT_TIME_UNIT, metavar="SECS",
                   help="seconds of wall time per protocol time unit, i.e. per simulated message latency: "
                        f"scales the protocol's timers and clock (default {DEFAULT_TIME_UNIT:g})")


def default_grace(cls: type, time_unit: float) -> float:
    """How long a node serves while leaving, by default: 5 s, or the slowest
    leave its protocol declares (`RingNode.leave_within`, in time units)."""
    from dhtea.real.udp import DEFAULT_LEAVE_GRACE

    return max(DEFAULT_LEAVE_GRACE, (getattr(cls, "leave_within", None) or 0.0) * time_unit)


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    """Add this module's subcommands to `sub`; return {name: handler}."""
    p = sub.add_parser("node", help="run one node of a protocol over UDP (Ctrl-C or SIGTERM: it leaves the ring, then stops)")
    p.add_argument("--protocol", required=True, help="classic, gapowner, gaplease, or module:Class")
    p.add_argument("--bind", required=True, metavar="HOST:PORT", help="where this node listens, e.g. 127.0.0.1:9001")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--ring", metavar="ADDR,ADDR,...", help="this node is a member of this initial ring ([ID@]HOST:PORT each, itself included)")
    where.add_argument("--join", metavar="[ID@]HOST:PORT", help="join the ring through this member")
    p.add_argument("--id", type=whole_number, help="node id (default: a hash of HOST:PORT)")
    p.add_argument("--peer", action="append", default=[], metavar="ID@HOST:PORT",
                   help="another node whose id is not the hash of its address (repeatable); "
                        "datagrams from anywhere else for that id are dropped")
    p.add_argument("--log", metavar="PATH", help="the node's JSON-lines log (default node-PORT.jsonl)")
    p.add_argument("--epoch", type=_time, default=0.0, metavar="T", help="event times are seconds since this Unix time (default 0)")
    p.add_argument("--seed", type=whole_number, metavar="S", help="seed of the protocol's ctx.rng (default: the node id)")
    p.add_argument("--hold", action="store_true", help="bind, then wait for SIGUSR1 before joining")
    p.add_argument("--quiet", action="store_true", help="no status lines on stderr")
    p.add_argument("--socket-fd", type=whole_number, help=argparse.SUPPRESS)  # a bound socket handed over by `dhtea cluster`
    p.add_argument("--parent", type=whole_number, help=argparse.SUPPRESS)  # stop when this process exits
    p.add_argument("--leave-grace", type=_seconds, default=None, metavar="SECS",
                   help="on SIGTERM or Ctrl-C, serve this long at most while leaving the ring "
                        "(default 5, or the slowest leave the protocol declares: gaplease 20 at the default --time-unit)")
    _timing(p)
    _faults(p)

    p = sub.add_parser("cluster", help="run N node processes on loopback, then check the merged logs")
    p.add_argument("--protocol", required=True, help="classic, gapowner, gaplease, or module:Class")
    p.add_argument("--nodes", type=positive_int, required=True, metavar="N", help="how many node processes")
    p.add_argument("--members", type=positive_int, default=3, metavar="M", help="initial ring size; the others join (default 3)")
    p.add_argument("--base-port", type=port_number, metavar="P", help="use ports P, P+1, ... (default: free ports)")
    p.add_argument("--seed", type=whole_number, default=0, metavar="S", help="seed of the bootstrap choices (default 0)")
    p.add_argument("--deadline", type=_seconds, default=30.0, metavar="SECS", help="stop after this many seconds (default 30)")
    p.add_argument("--quiet-period", type=_seconds, default=0.5, metavar="SECS", help="settled after this long without events (default 0.5)")
    p.add_argument("--logs", metavar="DIR", help="keep the node logs here (default: a new temporary folder)")
    p.add_argument("--timeline", action="store_true", help="print the whole merged timeline")
    p.add_argument("--leave", type=_count, default=None, metavar="K",
                   help="K members of the initial ring leave gracefully (SIGTERM) during the joins")
    p.add_argument("--leave-at", type=_times, default=(), metavar="T,T,...",
                   help="when the leaves happen, in seconds after the joins are released (default: seeded random)")
    p.add_argument("--crash", type=_count, default=None, metavar="K",
                   help="K nodes are killed hard (SIGKILL, crash-stop) during the joins")
    p.add_argument("--crash-at", type=_times, default=(), metavar="T,T,...",
                   help="when the crashes happen, in seconds after the joins are released (default: seeded random)")
    p.add_argument("--churn-window", type=_seconds, default=0.1, metavar="SECS",
                   help="random leave and crash times fall in this many seconds after the release (default 0.1)")
    _timing(p)
    _faults(p)

    p = sub.add_parser("check", help="check the invariants over node logs of a real run")
    p.add_argument("logs", nargs="+", metavar="LOG", help="node logs (.jsonl), or folders of them")
    p.add_argument("--timeline", action="store_true", help="print the whole merged timeline")
    return {"node": cmd_node, "cluster": cmd_cluster, "check": cmd_check}


def cmd_node(args: argparse.Namespace) -> int:
    from dhtea.protocols import load_protocol
    from dhtea.real.udp import DEFAULT_LEAVE_GRACE, Faults, NodeConfig, NodeError, bind_socket, run_node
    from dhtea.real.wire import node_id, parse_address

    sock = None
    try:
        cls = load_protocol(args.protocol)
        _, bind = parse_address(args.bind, allow_port_zero=not args.ring)
        if args.socket_fd is not None:
            sock = socket.socket(fileno=args.socket_fd)
            if sock.getsockname() != bind:
                raise NodeError(f"--socket-fd {args.socket_fd} is not bound to {args.bind}")
        else:
            sock = bind_socket(bind)
            bind = sock.getsockname()
        me = node_id(*bind) if args.id is None else args.id
        ring, bootstrap = (), None
        if args.ring:
            peers = [parse_address(a) for a in args.ring.split(",")]
            ring = tuple((node_id(*a) if n is None else n, a) for n, a in peers)
            mine = [n for n, a in ring if a == bind]
            if mine != [me]:
                raise NodeError(f"--ring should list this node's own address {bind[0]}:{bind[1]} once, with its id {me}")
            if len({n for n, _ in ring}) != len(ring):
                raise NodeError("--ring gives two members the same id")
        elif args.join:
            n, a = parse_address(args.join)
            bootstrap = (node_id(*a) if n is None else n, a)
            if bootstrap[0] == me:
                raise NodeError("--join names this node itself")
        else:
            ring = ((me, bind),)  # alone: a ring of one
        peers = []
        for text in args.peer:
            n, a = parse_address(text)
            if n is None:
                raise NodeError(f"--peer {text}: give the node's id, as ID@HOST:PORT")
            peers.append((n, a))
        drop, (delay, delay_max) = args.drop, args.delay
        grace = default_grace(cls, args.time_unit) if args.leave_grace is None else args.leave_grace
        config = NodeConfig(cls, me, bind, ring, bootstrap, args.epoch, args.seed,
                            Faults(drop, delay, delay_max, args.fault_seed, args.dup), tuple(peers),
                            args.time_unit, grace)
        log = args.log or f"node-{bind[1]}.jsonl"
        result = run_node(config, sock=sock, log_path=log, hold=args.hold, parent=args.parent, quiet=args.quiet)
        sock = None  # run_node closed it
        return result
    except (NodeError, ValueError) as exc:
        return _error(exc)
    except OSError as exc:
        return _error(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
    finally:
        if sock is not None:
            sock.close()


def cmd_check(args: argparse.Namespace) -> int:
    from dhtea.real.logcheck import LogError, check_logs, format_check, read_logs

    try:
        check = check_logs(read_logs(args.logs))
    except LogError as exc:
        return _error(exc)
    print("\n".join(format_check(check, timeline=args.timeline)))
    return 0 if check.ok else 1


def _claims(protocol: type, args: argparse.Namespace, leaves: int, crashes: int) -> list[str]:
    """What this run injects that the protocol does not claim to tolerate."""
    asked = [("leave", leaves), ("crash", crashes), ("loss", args.drop), ("duplicate", args.dup)]
    claimed = getattr(protocol, "tolerates", frozenset())
    return [kind for kind, on in asked if on and kind not in claimed]


def cmd_cluster(args: argparse.Namespace) -> int:
    from dhtea.real.cluster import (CHURN_STATUS, STATUS, Cluster, ClusterError, PlanError, bind_sockets, plan,
                                    simulated_twin)
    from dhtea.real.logcheck import LogError, format_check
    from dhtea.protocols import UnknownProtocol, load_protocol, protocol_name

    try:
        cls = load_protocol(args.protocol)
        protocol = protocol_name(cls)
    except UnknownProtocol as exc:
        return _error(exc)
    if args.members > args.nodes:
        return _error(f"--members {args.members} is more than --nodes {args.nodes}")
    leaves = len(args.leave_at) if args.leave is None else args.leave
    crashes = len(args.crash_at) if args.crash is None else args.crash
    if leaves + crashes >= args.nodes:
        return _error(f"--leave {leaves} and --crash {crashes} would remove all {args.nodes} nodes: "
                      "at least one must stay")
    if args.logs:
        logdir = Path(args.logs)
        if logdir.is_dir() and any(logdir.glob("*.jsonl")):
            return _error(f"{logdir} already holds node logs: choose an empty or new folder")
    node_args = ["--drop", str(args.drop), "--delay", f"{args.delay[0]}:{args.delay[1]}", "--dup", str(args.dup),
                 "--fault-seed", str(args.fault_seed), "--time-unit", repr(args.time_unit)]
    quiet = max(args.quiet_period, args.delay[1] + 0.5 if args.delay[0] else 0.0)
    began = time.time()  # determinism-ok: reporting a real run's duration
    socks: list[socket.socket] = []
    try:
        socks = bind_sockets(args.nodes, args.base_port)
        nodes = plan(socks, args.members, args.seed, tuple(node_args), leaves=leaves, crashes=crashes,
                     window=args.churn_window, leave_at=args.leave_at, crash_at=args.crash_at)
    except PlanError as exc:
        for sock in socks:
            sock.close()
        return _error(exc)
    except ClusterError as exc:
        return _error(exc)
    if args.logs:
        try:
            logdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            for sock in socks:
                sock.close()
            return _error(f"cannot create {logdir}: {exc.strerror or exc}")
    else:
        logdir = Path(tempfile.mkdtemp(prefix="dhtea-cluster-"))
    try:
        ports = f"ports {nodes[0].address[1]}-{nodes[-1].address[1]}" if args.base_port else "free ports"
        print(f"starting {args.nodes} {protocol} nodes on 127.0.0.1 ({ports}): {args.members} initial members, "
              f"{args.nodes - args.members} concurrent joiners", flush=True)
        for word, planned in (("leaves", [(p.leave_at, p.node_id) for p in nodes if p.leave_at is not None]),
                              ("crashes", [(p.crash_at, p.node_id) for p in nodes if p.crash_at is not None])):
            if planned:
                when = ", ".join(f"{n} at +{t:.3f} s" for t, n in sorted(planned))
                print(f"{word} ({'SIGTERM' if word == 'leaves' else 'SIGKILL'}, seconds after the joins are "
                      f"released): {when}", flush=True)
        unclaimed = _claims(cls, args, leaves, crashes)
        if unclaimed:
            tolerates = ", ".join(sorted(getattr(cls, "tolerates", ()))) or "joins on a reliable network only"
            hint = " (gaplease does)" if protocol == "gapowner" else ""
            print(f"note: {protocol} does not claim to tolerate {', '.join(unclaimed)}{hint}; it claims: "
                  f"{tolerates}. A failure here is outside its claims.", flush=True)
        outcome = Cluster(protocol, nodes, socks, logdir, deadline=args.deadline, quiet=quiet).run()
    except (ClusterError, LogError) as exc:
        return _error(f"{exc} (logs in {logdir})")
    except KeyboardInterrupt:
        print(f"dhtea: interrupted; every node was stopped; logs in {logdir}", file=sys.stderr)
        return 130
    check = outcome.check
    churned = leaves or crashes
    print(f"{(CHURN_STATUS if churned else STATUS)[outcome.status]} (startup {outcome.startup:.1f} s, then "
          f"{outcome.watched:.2f} s of joins{', churn' if churned else ''} and quiet; "
          f"{time.time() - began:.1f} s in all)")  # determinism-ok: reporting only
    print("\n".join(format_check(check, timeline=args.timeline)))
    twin = simulated_twin(nodes, protocol, time_unit=args.time_unit, drop=args.drop, dup=args.dup)
    joiners = max(1, args.nodes - args.members)
    verdict = "pass" if twin.ok else f"FAIL ({twin.signature})"
    extra = "".join(f", {k} {v}" for k, v in (("leaves", leaves), ("crashes", crashes)) if v)
    extra += "".join(f", {k} {v:g}" for k, v in (("loss", args.drop), ("duplication", args.dup)) if v)
    print(f"the same scenario simulated (joins at t=0, latency 1 per message{extra}; 1 unit = {args.time_unit:g} s): "
          f"{verdict}, {twin.messages} messages ({twin.messages / joiners:.1f} per join), "
          f"{'at rest' if twin.status == 'rest' else 'stopped'} at t={twin.end_time:g}")
    print(f"logs: {logdir}  (check again: dhtea check {logdir})")
    return 0 if check.ok and outcome.status == "settled" else 1
