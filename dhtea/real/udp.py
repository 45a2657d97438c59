"""The asyncio UDP driver: runs one node of any protocol class over a real socket.

The very same `RingNode` classes the simulator verifies run here: the driver
calls their handlers with a `Context` and carries out the effects (sends over
UDP in the `dhtea.real.wire` format, timers with the event loop's clock).

Addressing: protocols speak node ids, sockets need addresses. The driver keeps
an address book id -> (host, port). Every datagram carries its sender's address
and the addresses of node ids named in its data that the sender knows; the
receiver learns both. A send to an id with no known address is logged as lost
(`arrive: null`, `lost: "unknown-address"`), as the simulator logs a message to
a node outside the run.

The log is JSON lines, one file per node (format `dhtea-log`, version 1):

- first line, the header: `format`, `version`, `protocol`, `node` (id),
  `address`, `role` (`member` or `joiner`), `view` (the initial view),
  `bootstrap`, `epoch`, `started` (when the node started, seconds since the
  epoch), `pid`, `faults`;
- then one line per event, with exactly the keys of a simulated trace event
  (`dhtea.traces.serial.event_to_dict`): `seq`, `t`, `kind`, `node`, `msg`,
  `changes`, `arrive`, `timer`. `t` is seconds since the shared `epoch` (Unix
  time by default). A send's `arrive` is when the datagram left this node
  (after any injected delay), or null if it never did, with `lost` saying why;
  its arrival is the matching `deliver` in the receiver's log. A send the
  fault injection dropped has `fault: "lost"`; one it duplicated has `fault:
  "duplicated"` and `again`, when the copy left. A step whose handler raised
  has `error`. A `leave` event is the node beginning its graceful leave; the
  step in which the protocol finished it changes `gone` to `"left"`. A
  `crash` event (`gone` becomes `"crashed"`, with `why`) is the node stopping
  without a finished leave: its protocol has no leave, it was not a member, its
  leave did not finish within the grace time, or it was interrupted again;
- last, at shutdown: `{"t": ..., "stats": {...}}` with the datagrams received,
  delivered, sent, lost, and `dropped` (invalid datagrams, by reason).

A malformed, truncated, oversized, unknown-version or misaddressed datagram is
dropped and counted; it never reaches the protocol and never stops the node.

Time: protocols count time in the simulator's units (timers, `ctx.now`), where
one unit is one message's latency in the simulated twin of a cluster. A real
node maps them to wall time with one scale, `time_unit` (seconds per unit,
`--time-unit`, default `DEFAULT_TIME_UNIT`, about one loopback datagram): a
timer of `d` units fires after `d * time_unit` seconds, and `ctx.now` is the
run's time in seconds divided by `time_unit`. The log's `t` stays in seconds.

Stopping: SIGTERM or SIGINT (Ctrl-C) makes a member leave gracefully: the
driver calls the protocol's `on_leave`, as the simulator does, and keeps
serving until the protocol calls `ctx.stop()` or `leave_grace` seconds pass;
then the node exits. A node that cannot leave (its protocol has no leave, or it
is not a member) stops at once. A second SIGTERM or SIGINT stops it at once.
SIGUSR2 stops it at once without leaving and without logging a departure: the
run's observation ends there (how `dhtea cluster` ends a run).

Who may speak for a node id: a datagram is delivered only if its `src` is the
node at the address it came from: the id is the hash of that address
(`wire.node_id`), or this node was given that address for the id (`--ring`,
`--join` or `--peer ID@HOST:PORT`), or was told it by a node whose datagram it
accepted (`addrs`). So a socket that is not a node cannot send a CONNECT for a
made-up joiner, nor speak for a member: its datagrams count as `wrong-src`. A
node run with `--id` other than its address's hash must be registered that way
with the nodes it talks to first.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import random  # determinism-ok: only seeded random.Random instances are used
import signal
import socket
import sys
import time
from collections import Counter
from typing import IO, Callable

import attrs

from dhtea.real import wire
from dhtea.core.messages import Message
from dhtea.core.node import CancelTimer, Context, RingNode, Send, SetTimer
from dhtea.protocols import protocol_name
from dhtea.traces.serial import event_to_dict, view_to_dict
from dhtea.core.trace import Event
from invariants import NodeView, view_changes

LOG_FORMAT = "dhtea-log"
LOG_VERSION = 1
#: Seconds of wall time per protocol time unit (one simulated message latency):
#: about what a datagram takes between two processes on loopback.
DEFAULT_TIME_UNIT = 0.001
#: Seconds a node keeps serving after SIGTERM/SIGINT for its leave to finish.
DEFAULT_LEAVE_GRACE = 5.0


class NodeError(Exception):
    """The node cannot start (bad configuration, port in use): one line for the user."""


@attrs.frozen
class Faults:
    """Fault injection on outgoing datagrams, from a seeded RNG: drop each with
    probability `drop`; delay each with probability `delay` by uniform(0, `delay_max`) s;
    send each that is not dropped twice with probability `dup` (the copy is delayed
    on its own draw, so it may arrive first)."""

    drop: float = 0.0
    delay: float = 0.0
    delay_max: float = 0.0
    seed: int = 0
    dup: float = 0.0


@attrs.frozen
class NodeConfig:
    """One node of a real run. A member has `ring` (every initial member, itself
    included, as (id, address)); a joiner has `bootstrap`."""

    protocol: type
    node_id: int
    address: wire.Address
    ring: tuple[tuple[int, wire.Address], ...] = ()
    bootstrap: tuple[int, wire.Address] | None = None
    epoch: float = 0.0
    seed: int | None = None
    faults: Faults = Faults()
    #: Other nodes whose ids are not the hash of their address, as (id, address).
    peers: tuple[tuple[int, wire.Address], ...] = ()
    #: Seconds per protocol time unit (timers, ctx.now): see the module docstring.
    time_unit: float = DEFAULT_TIME_UNIT
    #: Seconds to keep serving after SIGTERM/SIGINT while the leave finishes.
    leave_grace: float = DEFAULT_LEAVE_GRACE




def has_leave(cls: type) -> bool:
    """Whether the protocol has a graceful leave (overrides `RingNode.on_leave`)."""
    return getattr(cls, "on_leave", RingNode.on_leave) is not RingNode.on_leave


def check_protocol(cls: type) -> None:
    """NodeError unless `cls` can run for real: it must declare its message kinds."""
    if not getattr(cls, "kinds", ()):
        raise NodeError(f"protocol {protocol_name(cls)} declares no message kinds (set `kinds`); "
                        "the real runtime accepts only declared kinds")


class UdpNode(asyncio.DatagramProtocol):
    """Drives one protocol node over a UDP socket and writes its log."""

    def __init__(self, config: NodeConfig, log: IO[str], on_status: Callable[[str], None] = lambda s: None) -> None:
        cfg = self.config = config
        check_protocol(cfg.protocol)
        self.node = cfg.protocol(cfg.node_id)
        self.book: dict[int, wire.Address] = {**dict(cfg.peers), cfg.node_id: cfg.address}
        if cfg.ring:
            ids = sorted(n for n, _ in cfg.ring)
            i = ids.index(cfg.node_id)
            self.node.bootstrap_ring(ids[i - 1], ids[(i + 1) % len(ids)])
            self.book.update(dict(cfg.ring))
        if cfg.bootstrap is not None:
            self.book[cfg.bootstrap[0]] = cfg.bootstrap[1]
        self.rng = random.Random(cfg.node_id if cfg.seed is None else cfg.seed)
        self.fault_rng = random.Random(f"{cfg.faults.seed}:{cfg.node_id}")
        self.view = self.node.view()
        self.log, self.on_status = log, on_status
        self.seq = 0
        self.stats = Counter(received=0, delivered=0, sent=0, lost=0)
        self.dropped = Counter()
        self.transport: asyncio.DatagramTransport | None = None
        self.delayed = 0  # datagrams held back by an injected delay, not yet sent
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.joined = self._join_pending = False
        self.closed = asyncio.Event()
        #: Set once the node has departed (left or crash-stopped): serving is over.
        self.departed = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------

    def header(self) -> dict:
        cfg = self.config
        return {
            "format": LOG_FORMAT,
            "version": LOG_VERSION,
            "protocol": protocol_name(cfg.protocol),
            "node": cfg.node_id,
            "address": list(cfg.address),
            "role": "member" if cfg.ring else "joiner",
            "view": view_to_dict(self.view),
            "bootstrap": None if cfg.bootstrap is None else cfg.bootstrap[0],
            "epoch": cfg.epoch,
            "started": self._now(),
            "pid": os.getpid(),
            "faults": attrs.asdict(cfg.faults),
            "time_unit": cfg.time_unit,
        }

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._write(self.header())
        if self._join_pending:
            self.join()

    def join(self) -> None:
        """Begin joining through the bootstrap (once; members ignore it)."""
        if self.config.bootstrap is None or self.joined:
            return
        if self.transport is None:  # not listening yet: join as soon as we are
            self._join_pending = True
            return
        self.joined = True
        bootstrap = self.config.bootstrap[0]
        self._step("join", None, None, lambda ctx: self.node.on_join(ctx, bootstrap))

    def leave(self) -> bool:
        """Begin a graceful leave (SIGTERM, Ctrl-C): call the protocol's `on_leave`,
        as the simulator does. Return True if the leave is under way or done; False
        if this node cannot leave (no leave in its protocol, not a member, leaving
        already or gone): then the caller stops it."""
        view = self.view
        if self.closed.is_set() or view.gone is not None or view.leaving:
            return False
        if not has_leave(self.config.protocol) or not view.member:
            return False
        self._step("leave", None, None, lambda ctx: self.node.on_leave(ctx))
        return True

    def crash(self, why: str) -> None:
        """Log that this node stops without a finished leave (`gone: crashed`):
        from the ring's point of view it crash-stopped. Nothing more is handled."""
        if self.closed.is_set() or self.view.gone is not None:
            return
        before = self.view
        self.view = attrs.evolve(before, gone="crashed")
        self._event(Event(self.seq, self._now(), "crash", self.config.node_id, None, view_changes(before, self.view)),
                    why=why)
        self.departed.set()

    def close(self) -> None:
        """Stop: cancel timers, close the socket, write the stats line."""
        if self.closed.is_set():
            return
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self.transport is not None:
            self.transport.close()
        stats = dict(sorted(self.stats.items()), dropped=dict(sorted(self.dropped.items())))
        self._write({"t": self._now(), "stats": stats})
        self.closed.set()

    # -- the event path -------------------------------------------------------

    def _now(self) -> float:
        return time.time() - self.config.epoch  # determinism-ok: real runs log wall-clock time, shared by all nodes

    def _write(self, obj: dict) -> None:
        self.log.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")
        self.log.flush()

    def datagram_received(self, data: bytes, addr) -> None:
        self.stats["received"] += 1
        if self.departed.is_set():  # left or crashed: as in simulation, it is lost here
            self.stats["after-departure"] += 1
            return
        try:
            packet = wire.decode(data, self.config.protocol.kinds)
        except wire.WireError as exc:
            self.dropped[exc.reason] += 1
            return
        msg = packet.message
        if msg.dst != self.config.node_id:
            self.dropped["wrong-dst"] += 1
            return
        if packet.sender != (addr[0], addr[1]):
            self.dropped["wrong-from"] += 1
            return
        if not self._belongs(msg.src, packet.sender):
            self.dropped["wrong-src"] += 1  # a socket speaking for a node it is not, e.g. a spoofed CONNECT
            return
        if msg.src != self.config.node_id:
            self.book[msg.src] = packet.sender
        for n, where in packet.addrs.items():
            self.book.setdefault(n, where)  # first-hand knowledge is never overwritten by hearsay
        self.stats["delivered"] += 1
        self._step("deliver", msg, None, lambda ctx: self.node.on_message(ctx, msg))

    def _belongs(self, node: int, address: wire.Address) -> bool:
        """Whether node id `node` is the node at `address`: its id is the address's
        hash, or it is the address this node was given for it (`--ring`, `--join`,
        `--peer`) or told by a node it accepted a datagram from."""
        return node == wire.node_id(*address) or self.book.get(node) == address

    def error_received(self, exc: Exception) -> None:
        self.stats["socket-errors"] += 1

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self._step("timer", None, name, lambda ctx: self.node.on_timer(ctx, name))

    def _step(self, kind: str, msg: Message | None, timer: str | None, handle) -> None:
        if self.closed.is_set():
            return
        if self.departed.is_set():
            return  # left or crashed: a departed node handles nothing more
        now = self._now()
        ctx = Context(self.config.node_id, now / self.config.time_unit, self.rng)
        error = None
        try:
            handle(ctx)
        except Exception as exc:  # a crashing handler is the protocol's bug: log it, keep serving
            error = f"{type(exc).__name__}: {exc}"
        before, after = self.view, self.node.view()
        if ctx.stopped:  # the protocol finished its leave: the node is gone once its last sends are out
            after = attrs.evolve(after, gone="left")
        self.view = after
        self._event(Event(self.seq, now, kind, self.config.node_id, msg, view_changes(before, after), None, timer),
                    error=error)
        if before.member != after.member:
            self.on_status(f"member: left={after.left}, right={after.right}" if after.member else "no longer a member")
        # As in simulation: a handler that raised keeps the state it changed, but
        # what it asked for is not done.
        for effect in ctx.effects if error is None else ():
            if isinstance(effect, Send):
                self._send(effect.message, now)
            elif isinstance(effect, SetTimer):
                self._cancel(effect.name)
                seconds = effect.delay * self.config.time_unit
                self._timers[effect.name] = asyncio.get_running_loop().call_later(seconds, self._fire, effect.name)
            elif isinstance(effect, CancelTimer):
                self._cancel(effect.name)
        if ctx.stopped:
            self.on_status("left the ring")
            for name in list(self._timers):
                self._cancel(name)
            self.departed.set()

    def _cancel(self, name: str) -> None:
        handle = self._timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def _event(self, event: Event, **extra) -> None:
        self.seq += 1
        self._write({**event_to_dict(event), **{k: v for k, v in extra.items() if v is not None}})

    def _send(self, msg: Message, now: float) -> None:
        where = self.book.get(msg.dst)
        lost, delay, datagram = None, 0.0, b""
        if msg.kind not in self.config.protocol.kinds:
            lost = "undeclared-kind"
        elif where is None:
            lost = "unknown-address"
        else:
            named = {v for _, v in msg.data if type(v) is int and v in self.book and v not in (msg.src, msg.dst)}
            try:
                datagram = wire.encode(msg, self.config.address, ((n, self.book[n]) for n in sorted(named)))
            except (wire.WireError, ValueError, TypeError) as exc:
                lost = getattr(exc, "reason", "unencodable")
        faults = self.config.faults
        if lost is None and faults.drop and self.fault_rng.random() < faults.drop:
            lost = "fault-drop"
        if lost is None and faults.delay and self.fault_rng.random() < faults.delay:
            delay = self.fault_rng.uniform(0.0, faults.delay_max)
        again = None
        if lost is None and faults.dup and self.fault_rng.random() < faults.dup:
            again = 0.0
            if faults.delay and self.fault_rng.random() < faults.delay:
                again = self.fault_rng.uniform(0.0, faults.delay_max)
        self.stats["lost" if lost else "sent"] += 1
        fault = "lost" if lost == "fault-drop" else "duplicated" if again is not None else None
        self._event(Event(self.seq, now, "send", self.config.node_id, msg, (), None if lost else now + delay,
                          fault=fault, again=None if again is None else now + again), lost=lost)
        if lost is None:
            for wait in (delay,) if again is None else (delay, again):
                if wait:
                    self.delayed += 1
                    asyncio.get_running_loop().call_later(wait, self._sendto, datagram, where, True)
                else:
                    self._sendto(datagram, where)

    def _sendto(self, datagram: bytes, where: wire.Address, delayed: bool = False) -> None:
        self.delayed -= delayed
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(datagram, where)


# -- running one node as a process ---------------------------------------------


def bind_socket(address: wire.Address) -> socket.socket:
    """A UDP socket bound to `address`; NodeError with a clear message if that fails."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        why = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise NodeError(f"cannot bind {address[0]}:{address[1]}: {why}") from None
    return sock


async def serve(config: NodeConfig, sock: socket.socket, log: IO[str], *, hold: bool = False,
                parent: int | None = None, status: Callable[[str], None] = lambda s: None) -> UdpNode:
    """Run the node until it has departed, is stopped, or its `parent` process exits.

    SIGTERM or SIGINT begins a graceful leave (`UdpNode.leave`) and serving goes
    on until the leave is done or `config.leave_grace` seconds pass; a node that
    cannot leave stops at once, logged as a crash-stop. A second SIGTERM/SIGINT
    stops at once (a crash-stop if the leave had not finished). SIGUSR2 and the
    parent's exit stop at once without logging a departure.

    With `hold`, a joiner binds and logs its header, then waits for SIGUSR1
    before it begins to join (how `dhtea cluster` starts joiners together)."""
    loop = asyncio.get_running_loop()
    node = UdpNode(config, log, status)
    stop = asyncio.Event()
    grace: list[asyncio.TimerHandle] = []

    def cut_short(why: str, say: str) -> None:
        if not node.departed.is_set():
            status(say)
            node.crash(why)
        stop.set()

    def interrupted() -> None:
        if grace or node.departed.is_set():  # the second time: stop now
            cut_short("interrupted-leave", "interrupted again: stopping before the leave finished")
        elif node.leave():
            if not node.departed.is_set():
                status(f"leaving the ring (at most {config.leave_grace:g} s; interrupt again to stop now)")
                grace.append(loop.call_later(config.leave_grace, cut_short, "leave-unfinished",
                                             f"the leave did not finish within {config.leave_grace:g} s: stopping"))
        else:
            why = ("no-leave" if not has_leave(config.protocol) else
                   "not-a-member" if not node.view.member else "leave-interrupted")
            cut_short(why, {"no-leave": "stopping (this protocol has no graceful leave)",
                            "not-a-member": "stopping (not a member of the ring: nothing to leave)"}.get(
                                why, "stopping"))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted)
    loop.add_signal_handler(signal.SIGUSR2, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, node.join)
    try:
        await loop.create_datagram_endpoint(lambda: node, sock=sock)
        if not hold:
            node.join()
        done = asyncio.ensure_future(node.departed.wait())
        halt = asyncio.ensure_future(stop.wait())
        try:
            while not (stop.is_set() or node.departed.is_set()):
                if parent is not None and os.getppid() != parent:
                    break
                await asyncio.wait((done, halt), timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            halt.cancel()
        if node.departed.is_set():  # the last datagrams of a leave go out before the socket closes
            limit = loop.time() + config.faults.delay_max + 0.1
            while node.delayed and loop.time() < limit and not stop.is_set():
                await asyncio.sleep(0.005)
    finally:
        for handle in grace:
            handle.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
            loop.remove_signal_handler(sig)
            if sig != signal.SIGUSR1:
                signal.signal(sig, signal.SIG_IGN)  # already stopping: a late signal must not cut the log short
        node.close()
    return node


def run_node(config: NodeConfig, *, sock: socket.socket | None, log_path: str, hold: bool = False,
             parent: int | None = None, quiet: bool = False) -> int:
    """The `dhtea node` command: bind, serve until stopped, print counters on stderr."""

    def status(text: str) -> None:
        if not quiet:
            print(f"node {config.node_id}: {text}", file=sys.stderr, flush=True)

    check_protocol(config.protocol)
    sock = sock if sock is not None else bind_socket(config.address)
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            role = "member of the initial ring" if config.ring else f"joining via {config.bootstrap[0]}"
            status(f"{protocol_name(config.protocol)} on {config.address[0]}:{config.address[1]}, {role}; log {log_path}")
            node = asyncio.run(serve(config, sock, log, hold=hold, parent=parent, status=status))
    finally:
        sock.close()
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(node.dropped.items())) or "none"
    status(f"stopped: {node.stats['received']} datagrams received, {node.stats['sent']} sent, dropped: {dropped}")
    return 0
