"""`dhtea cluster`: a real run of N node processes on loopback, then the check.

The cluster binds every node's UDP socket itself and hands it to the node
process (`--socket-fd`), so ports are known before any node starts and no two
runs can race for one. It starts the initial members, waits until each has
logged its header (it is listening), starts the joiners held (`--hold`), waits
for them too, then releases every joiner at once with SIGUSR1, so the joins
are concurrent. It watches the logs until the run settles (every joiner has
begun, no event for `quiet` seconds) or the deadline passes, stops every
process (SIGUSR2, then SIGKILL after a timeout, whatever happens), and checks
the merged logs with `dhtea.real.logcheck`.

Churn: a node planned to leave gets SIGTERM at its time (seconds after the
joins were released), which makes it leave the ring gracefully and exit; a
node planned to crash gets SIGKILL (crash-stop: its log ends without its final
line, which the checker reads as the crash). Leavers are members of the initial
ring, no two of them neighbours there when the ring is big enough (then no two
ever become neighbours: the member between them stays), and one initial member
neither leaves nor crashes; joiners bootstrap through members that stay. The
run ends with SIGUSR2, which stops a node without a departure: the logs end
with the state the run settled in.
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
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.core.trace import RunResult
from dhtea.real.udp import DEFAULT_TIME_UNIT, bind_socket, NodeError
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
    #: Seconds after the joins are released when it is told to leave (SIGTERM), or killed (SIGKILL).
    leave_at: float | None = None
    crash_at: float | None = None


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


class PlanError(ValueError):
    """Churn that cannot be planned (more leavers than the ring can lose...): one line."""


def plan(socks: list[socket.socket], members: int, seed: int, args: tuple[str, ...] = (), *, leaves: int = 0,
         crashes: int = 0, window: float = 0.1, leave_at: tuple[float, ...] = (),
         crash_at: tuple[float, ...] = ()) -> list[Planned]:
    """The usual cluster: the first `members` sockets form the initial ring, the
    others join concurrently, each through a member chosen by `random.Random(seed)`.

    With churn, `leaves` initial members leave and `crashes` nodes crash, at the
    times given (seconds after the joins are released) or at times drawn from
    [0, `window`); who and when are drawn from their own generator, so a plan
    without churn is the plan it always was. PlanError if it cannot be done."""
    rng = random.Random(seed)
    addrs = [sock.getsockname() for sock in socks]
    ring = [node_id(*a) for a in addrs[:members]]
    everyone = [node_id(*a) for a in addrs]
    if leaves or crashes:
        leaving, crashing = _churn(ring, everyone, random.Random(f"churn:{seed}"), leaves, crashes, window,
                                   leave_at, crash_at)
    else:
        leaving, crashing = {}, {}
    anchors = [n for n in ring if n not in leaving and n not in crashing]
    out = [Planned(node_id(*a), a, "member", None, args, leaving.get(node_id(*a)), crashing.get(node_id(*a)))
           for a in addrs[:members]]
    out += [Planned(node_id(*a), a, "joiner", rng.choice(anchors), args, None, crashing.get(node_id(*a)))
            for a in addrs[members:]]
    return out


def _churn(ring: list[int], everyone: list[int], rng: random.Random, leaves: int, crashes: int, window: float,
           leave_at: tuple[float, ...], crash_at: tuple[float, ...]) -> tuple[dict[int, float], dict[int, float]]:
    if leaves > len(ring) - 1:
        raise PlanError(f"--leave {leaves}: leavers are members of the initial ring and one member must stay; "
                        f"use --members {leaves + 1} or more (now {len(ring)})")
    if crashes > len(everyone) - leaves - 1:
        raise PlanError(f"--leave {leaves} and --crash {crashes}: one initial member must neither leave nor crash, "
                        f"and there are only {len(everyone)} nodes")
    for given, count, name in ((leave_at, leaves, "leave"), (crash_at, crashes, "crash")):
        if given and len(given) != count:
            raise PlanError(f"--{name}-at gives {len(given)} time(s) for --{name} {count}")
    order = sorted(ring)

    def apart(picked: list[int]) -> bool:
        at = sorted(order.index(n) for n in picked)
        return len(picked) < 2 or all((b - a) % len(order) not in (1, len(order) - 1)
                                      for a, b in zip(at, at[1:] + at[:1]))

    chosen = rng.sample(order, leaves)
    for _ in range(1000 if 2 * leaves <= len(order) else 0):  # no two leavers neighbours, if the ring allows
        if apart(chosen):
            break
        chosen = rng.sample(order, leaves)
    stay = [n for n in order if n not in chosen]
    anchor = rng.choice(stay)  # the member that neither leaves nor crashes
    victims = rng.sample([n for n in everyone if n not in chosen and n != anchor], crashes)
    times = leave_at or tuple(rng.uniform(0, window) for _ in chosen)
    crash_times = crash_at or tuple(rng.uniform(0, window) for _ in victims)
    return dict(zip(chosen, times)), dict(zip(victims, crash_times))


#: The twin's settle window (in time units) when the run has churn or faults, as the hunts use.
TWIN_SETTLE = 50_000.0


def simulated_twin(nodes: list[Planned], protocol: str, *, time_unit: float = DEFAULT_TIME_UNIT, drop: float = 0.0,
                   dup: float = 0.0) -> RunResult:
    """The same scenario in the simulator: every join at t=0, each message taking 1
    time unit, the leaves and crashes at their times in units, datagrams lost with
    probability `drop` and (if not lost) duplicated with probability `dup`."""
    from dhtea.drivers.simulator import simulate

    ring = [p.node_id for p in nodes if p.role == "member"]
    joins = [Join(p.node_id, 0, p.bootstrap) for p in nodes if p.role == "joiner"]
    churn = [Leave(p.node_id, p.leave_at / time_unit) for p in nodes if p.leave_at is not None]
    churn += [Crash(p.node_id, p.crash_at / time_unit) for p in nodes if p.crash_at is not None]
    network = Network(Constant(1), loss=drop, duplicate=dup * (1 - drop))
    scenario = Scenario(ring=ring, joins=JoinSchedule(joins), network=network, churn=churn)
    if scenario.faulty:
        scenario = attrs.evolve(scenario, settle=TWIN_SETTLE)
    return simulate(protocol, scenario)


class _Tail:
    """Follows one node's log as it grows: ready once the header is there; member; joined."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.buffer = path, 0, b""
        self.ready = self.member = self.joined = False
        self.gone: str | None = None
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
                    elif f == "gone":
                        self.gone = value
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

    def _watch(self, released: float) -> str:
        """Follow the logs, leaving and crashing nodes at their times, until the run
        settles, stalls, a node dies unplanned, or the deadline passes."""
        clock = time.monotonic  # determinism-ok: watching a real run
        start = last = clock()
        churn = sorted([(p.leave_at, 0, p.node_id) for p in self.nodes if p.leave_at is not None]
                       + [(p.crash_at, 1, p.node_id) for p in self.nodes if p.crash_at is not None])
        crashing = {p.node_id for p in self.nodes if p.crash_at is not None}
        leaving = {p.node_id for p in self.nodes if p.leave_at is not None}
        joiners = [p.node_id for p in self.nodes if p.role == "joiner" and p.node_id not in crashing]
        signalled: set[int] = set()
        while True:
            now = clock()
            while churn and churn[0][0] <= now - released:  # due: leave (SIGTERM) or crash (SIGKILL)
                _, crash, n = churn.pop(0)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.procs[n].pid, signal.SIGKILL if crash else signal.SIGTERM)
                signalled.add(n)
                last = clock()
            if sum(t.poll() for t in self.tails.values()):  # every log, no short cut
                last = clock()
            if any(proc.poll() is not None for n, proc in self.procs.items() if n not in signalled):
                return "crashed"
            now = clock()
            departed = all(self.procs[n].poll() is not None for n in signalled)
            if not churn and departed and all(self.tails[n].joined for n in joiners) and now - last >= self.quiet:
                running = [t for n, t in self.tails.items() if n not in signalled]
                done = all(t.member for t in running) and all(self.tails[n].gone == "left" for n in leaving)
                return "settled" if done else "stalled"
            if now - start >= self.deadline:
                return "deadline"
            time.sleep(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every node's process group without a departure (SIGUSR2), then
        SIGKILL what is left after `timeout`."""
        for sig in (signal.SIGUSR2, signal.SIGKILL):
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
            status = self._watch(released)
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
#: The same, for a run with leaves or crashes.
CHURN_STATUS = {
    "settled": "settled: every leave finished, every node still running is a member, and the run has been quiet",
    "stalled": "stalled: the run went quiet with a leave unfinished or a running node outside the ring",
    "deadline": "deadline passed before the run settled",
    "crashed": "a node process exited during the run without being told to leave or killed",
}
