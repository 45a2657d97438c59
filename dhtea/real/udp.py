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
  its arrival is the matching `deliver` in the receiver's log. A step whose
  handler raised has `error`;
- last, at shutdown: `{"t": ..., "stats": {...}}` with the datagrams received,
  delivered, sent, lost, and `dropped` (invalid datagrams, by reason).

A malformed, truncated, oversized, unknown-version or misaddressed datagram is
dropped and counted; it never reaches the protocol and never stops the node.

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
from dhtea.core.node import CancelTimer, Context, Send, SetTimer
from dhtea.protocols import protocol_name
from dhtea.traces.serial import event_to_dict, view_to_dict
from dhtea.core.trace import Event
from invariants import NodeView, view_changes

LOG_FORMAT = "dhtea-log"
LOG_VERSION = 1


class NodeError(Exception):
    """The node cannot start (bad configuration, port in use): one line for the user."""


@attrs.frozen
class Faults:
    """Fault injection on outgoing datagrams, from a seeded RNG: drop each with
    probability `drop`; delay each with probability `delay` by uniform(0, `delay_max`) s."""

    drop: float = 0.0
    delay: float = 0.0
    delay_max: float = 0.0
    seed: int = 0


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
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.joined = self._join_pending = False
        self.closed = asyncio.Event()

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
        now = self._now()
        ctx = Context(self.config.node_id, now, self.rng)
        error = None
        try:
            handle(ctx)
        except Exception as exc:  # a crashing handler is the protocol's bug: log it, keep serving
            error = f"{type(exc).__name__}: {exc}"
        before, after = self.view, self.node.view()
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
                self._timers[effect.name] = asyncio.get_running_loop().call_later(effect.delay, self._fire, effect.name)
            elif isinstance(effect, CancelTimer):
                self._cancel(effect.name)

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
        self.stats["lost" if lost else "sent"] += 1
        self._event(Event(self.seq, now, "send", self.config.node_id, msg, (), None if lost else now + delay), lost=lost)
        if lost is None:
            if delay:
                asyncio.get_running_loop().call_later(delay, self._sendto, datagram, where)
            else:
                self._sendto(datagram, where)

    def _sendto(self, datagram: bytes, where: wire.Address) -> None:
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
    """Run the node until SIGINT or SIGTERM (or its `parent` process exits).

    With `hold`, a joiner binds and logs its header, then waits for SIGUSR1
    before it begins to join (how `dhtea cluster` starts joiners together)."""
    loop = asyncio.get_running_loop()
    node = UdpNode(config, log, status)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, node.join)
    try:
        await loop.create_datagram_endpoint(lambda: node, sock=sock)
        if not hold:
            node.join()
        while not stop.is_set():
            if parent is not None and os.getppid() != parent:
                break
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            loop.remove_signal_handler(sig)
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
