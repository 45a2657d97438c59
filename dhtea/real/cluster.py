"""`dhtea cluster`: a real run of N node processes on loopback, then the check.

The cluster binds every node's UDP socket itself and hands it to the node
process (`--socket-fd`), so ports are known before any node starts and no two
runs can race for one. It starts the initial members, waits until each has
logged its header (it is listening), starts the joiners held (`--hold`), waits
for them too, then releases every joiner at once with SIGUSR1, so the joins
are concurrent. It watches the logs until the run settles (every joiner has
begun, no event for `quiet` seconds) or the deadline passes, stops every
process (SIGTERM, then SIGKILL after a timeout, whatever happens), and checks
the merged logs with `dhtea.real.logcheck`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random  # determinism-ok: only seeded random.Random instances are used
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import attrs

from dhtea.real.logcheck import Check, check_logs, parse_header, read_logs
from dhtea.core.network import Constant, Network
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.core.trace import RunResult
from dhtea.real.udp import bind_socket, NodeError
from dhtea.real.wire import Address, node_id


class ClusterError(Exception):
    """The cluster could not run (a port in use, a node that failed to start): one line."""


@attrs.frozen
class Planned:
    """One node of a cluster: its id, address, role, bootstrap (joiners) and extra `dhtea node` arguments."""

    node_id: int
    address: Address
    role: str
    bootstrap: int | None = None
    args: tuple[str, ...] = ()


@attrs.frozen
class Outcome:
    status: str  # settled, stalled, deadline, crashed
    check: Check
    logdir: Path
    startup: float  # seconds from the first process started to the joins released
    watched: float  # seconds from the release to the end of the watch


def bind_sockets(count: int, base_port: int | None = None, host: str = "127.0.0.1") -> list[socket.socket]:
    """Bind `count` UDP sockets whose hashed node ids differ: ports base_port, base_port+1, ...
    (skipping a port whose id collides), or free ports chosen by the system."""
    socks: list[socket.socket] = []
    ids: set[int] = set()
    port = base_port
    try:
        while len(socks) < count:
            if port is not None and port > 65535:
                raise ClusterError(f"not enough ports from --base-port {base_port}")
            try:
                sock = bind_socket((host, 0 if port is None else port))
            except NodeError as exc:
                raise ClusterError(f"{exc} (choose another --base-port, or leave it out to use free ports)") from None
            port = None if port is None else port + 1
            n = node_id(*sock.getsockname())
            if n in ids:
                sock.close()
                continue
            ids.add(n)
            socks.append(sock)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def plan(socks: list[socket.socket], members: int, seed: int, args: tuple[str, ...] = ()) -> list[Planned]:
    """The usual cluster: the first `members` sockets form the initial ring, the
    others join concurrently, each through a member chosen by `random.Random(seed)`."""
    rng = random.Random(seed)
    addrs = [sock.getsockname() for sock in socks]
    ring = [node_id(*a) for a in addrs[:members]]
    out = [Planned(node_id(*a), a, "member", None, args) for a in addrs[:members]]
    out += [Planned(node_id(*a), a, "joiner", rng.choice(ring), args) for a in addrs[members:]]
    return out


def simulated_twin(nodes: list[Planned], protocol: str) -> RunResult:
    """The same scenario in the simulator: every join at t=0, each message taking 1."""
    from dhtea.drivers.simulator import simulate

    ring = [p.node_id for p in nodes if p.role == "member"]
    joins = [Join(p.node_id, 0, p.bootstrap) for p in nodes if p.role == "joiner"]
    return simulate(protocol, Scenario(ring=ring, joins=JoinSchedule(joins), network=Network(Constant(1))))


class _Tail:
    """Follows one node's log as it grows: ready once the header is there; member; joined."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.buffer = path, 0, b""
        self.ready = self.member = self.joined = False
        self.events = 0

    def poll(self) -> int:
        """Read new complete lines; return how many events they hold."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return 0
        self.offset += len(data)
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        new = 0
        for line in lines:
            obj = json.loads(line)
            if not self.ready:
                self.member, self.ready = parse_header(obj)["view"].member, True
            elif "seq" in obj:
                new += 1
                self.joined |= obj.get("kind") == "join"
                for f, _, value in obj.get("changes", ()):
                    if f == "member":
                        self.member = value
        self.events += new
        return new


class Cluster:
    """Runs `nodes` (with their bound sockets) as processes; `run()` once."""

    def __init__(self, protocol: str, nodes: list[Planned], socks: list[socket.socket], logdir: Path, *,
                 deadline: float = 20.0, quiet: float = 0.5, startup_timeout: float | None = None) -> None:
        self.protocol, self.nodes, self.socks = protocol, nodes, socks
        self.logdir = logdir
        self.deadline, self.quiet = deadline, quiet
        self.startup_timeout = startup_timeout or 20.0 + 0.5 * len(nodes)
        self.procs: dict[int, subprocess.Popen] = {}
        self.tails = {p.node_id: _Tail(logdir / f"node-{p.address[1]}.jsonl") for p in nodes}
        self.epoch = time.time()  # determinism-ok: the shared epoch of a real run's logs

    def _command(self, p: Planned, fd: int) -> list[str]:
        host, port = p.address
        cmd = [sys.executable, "-m", "dhtea", "node", "--protocol", self.protocol, "--bind", f"{host}:{port}",
               "--id", str(p.node_id), "--socket-fd", str(fd), "--log", str(self.tails[p.node_id].path),
               "--epoch", repr(self.epoch), "--parent", str(os.getpid()), "--quiet"]
        if p.role == "member":
            ring = ",".join(f"{q.node_id}@{q.address[0]}:{q.address[1]}" for q in self.nodes if q.role == "member")
            cmd += ["--ring", ring]
        else:
            b = next(q for q in self.nodes if q.node_id == p.bootstrap)
            cmd += ["--join", f"{b.node_id}@{b.address[0]}:{b.address[1]}", "--hold"]
        for q in self.nodes:  # ids that are not their address's hash: nodes accept them only when registered
            if q is not p and q.node_id != node_id(*q.address):
                cmd += ["--peer", f"{q.node_id}@{q.address[0]}:{q.address[1]}"]
        return cmd + list(p.args)

    def _start(self, group: list[tuple[Planned, socket.socket]]) -> None:
        for p, sock in group:
            fd = sock.fileno()
            with open(self.logdir / f"node-{p.address[1]}.err", "wb") as err:
                self.procs[p.node_id] = subprocess.Popen(
                    self._command(p, fd), pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    start_new_session=True,  # its own process group: stopped by us, not by the terminal's Ctrl-C
                )
            sock.close()  # the node process holds it now
        limit = time.monotonic() + self.startup_timeout  # determinism-ok: a real-time timeout
        waiting = [p for p, _ in group]
        while waiting:
            for p in list(waiting):
                self.tails[p.node_id].poll()
                if self.tails[p.node_id].ready:
                    waiting.remove(p)
                elif self.procs[p.node_id].poll() is not None:
                    raise ClusterError(f"node {p.address[0]}:{p.address[1]} failed to start: {self._stderr(p)}")
            if waiting and time.monotonic() > limit:  # determinism-ok: real-time timeout
                raise ClusterError(f"{len(waiting)} node(s) did not start within {self.startup_timeout:g} s")
            time.sleep(0.01)

    def _stderr(self, p: Planned) -> str:
        text = (self.logdir / f"node-{p.address[1]}.err").read_text(errors="replace").strip()
        return text.splitlines()[-1] if text else f"exit code {self.procs[p.node_id].returncode}"

    def _watch(self) -> str:
        """Follow the logs until the run settles, stalls, a node dies, or the deadline passes."""
        clock = time.monotonic  # determinism-ok: watching a real run
        start = last = clock()
        joiners = [p.node_id for p in self.nodes if p.role == "joiner"]
        while True:
            if sum(t.poll() for t in self.tails.values()):  # every log, no short cut
                last = clock()
            if any(proc.poll() is not None for proc in self.procs.values()):
                return "crashed"
            now = clock()
            if all(self.tails[n].joined for n in joiners) and now - last >= self.quiet:
                return "settled" if all(t.member for t in self.tails.values()) else "stalled"
            if now - start >= self.deadline:
                return "deadline"
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM every node's process group, then SIGKILL what is left after `timeout`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in self.procs.values():
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, sig)
            limit = time.monotonic() + timeout  # determinism-ok: real-time timeout
            for proc in self.procs.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.0, limit - time.monotonic()))  # determinism-ok
            if all(proc.poll() is not None for proc in self.procs.values()):
                return

    def run(self) -> Outcome:
        """Start, release the joins, watch, stop (always), then check the logs."""
        paired = list(zip(self.nodes, self.socks))
        previous = _handle(signal.SIGTERM, _interrupt), _handle(signal.SIGINT, signal.default_int_handler)
        began = time.monotonic()  # determinism-ok: reporting real durations
        try:
            self._start([(p, s) for p, s in paired if p.role == "member"])
            self._start([(p, s) for p, s in paired if p.role == "joiner"])
            released = time.monotonic()  # determinism-ok
            for p in self.nodes:
                if p.role == "joiner":
                    os.kill(self.procs[p.node_id].pid, signal.SIGUSR1)
            status = self._watch()
            watched = time.monotonic() - released  # determinism-ok
        finally:
            _handle(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            _handle(signal.SIGTERM, signal.SIG_IGN)
            try:
                self.stop()
                for sock in self.socks:
                    sock.close()
            finally:
                _handle(signal.SIGTERM, previous[0])
                _handle(signal.SIGINT, previous[1])
        check = check_logs(read_logs([t.path for t in self.tails.values()]))
        return Outcome(status, check, self.logdir, released - began, watched)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _handle(sig: int, handler):
    """Set a signal handler if this is the main thread (else leave signals alone)."""
    if handler is None:  # the previous handler was not set from Python: nothing to restore
        return None
    try:
        return signal.signal(sig, handler)
    except ValueError:
        return None


STATUS = {
    "settled": "settled: every node is a member and the run has been quiet",
    "stalled": "stalled: the run went quiet with nodes still outside the ring",
    "deadline": "deadline passed before the run settled",
    "crashed": "a node process exited during the run",
}
