"""The asyncio UDP driver: real joins over loopback, a fuzzed live node, fault
injection, and clean shutdown of `dhtea node` processes."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dhtea.cli.main import main
from dhtea.real.logcheck import check_logs, format_check, read_logs
from dhtea.core.messages import Message
from dhtea.protocols import load_protocol
from dhtea.real.udp import Faults, NodeConfig, NodeError, UdpNode, bind_socket
from dhtea.real.wire import WireError, decode, encode, node_id

LOOPBACK = "127.0.0.1"


# -- in-process nodes ------------------------------------------------------------


class Nodes:
    """Starts UdpNodes in the running event loop, each on a free loopback port, logging under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.nodes, self.files = folder, [], []

    async def start(self, protocol="gapowner", *, ring=None, bootstrap=None, faults=Faults(), ident=None,
                    sock=None, peers=()) -> UdpNode:
        sock = sock or bind_socket((LOOPBACK, 0))
        address = sock.getsockname()
        me = node_id(*address) if ident is None else ident
        if ring is None and bootstrap is None:
            ring = ((me, address),)
        log = open(self.folder / f"node-{address[1]}.jsonl", "w")
        cls = load_protocol(protocol) if isinstance(protocol, str) else protocol
        cfg = NodeConfig(cls, me, address, ring or (), bootstrap, time.time(), None, faults, tuple(peers))
        node = UdpNode(cfg, log)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: node, sock=sock)
        self.nodes.append(node)
        self.files.append(log)
        return node

    def close(self) -> None:
        for node in self.nodes:
            node.close()
        for f in self.files:
            f.close()


async def until(condition, timeout: float = 10.0) -> None:
    limit = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < limit, "timed out"
        await asyncio.sleep(0.005)


def run(coro_fn, folder: Path):
    async def body():
        nodes = Nodes(folder)
        try:
            return await asyncio.wait_for(coro_fn(nodes), 60)
        finally:
            nodes.close()

    return asyncio.run(body())


def me(node: UdpNode) -> tuple[int, tuple[str, int]]:
    return node.config.node_id, node.config.address


def test_a_joiner_joins_a_real_node_and_the_logs_pass(tmp_path):
    async def body(nodes):
        a = await nodes.start()
        b = await nodes.start(bootstrap=me(a))
        b.join()
        await until(lambda: a.view.member and b.view.member and not a.view.busy)
        return a, b

    a, b = run(body, tmp_path)
    check = check_logs(read_logs([tmp_path]))
    assert check.ok, check.violations
    assert check.final.members == tuple(sorted((a.config.node_id, b.config.node_id)))
    assert a.view.right == b.config.node_id and b.view.right == a.config.node_id
    lines = [json.loads(x) for x in (tmp_path / f"node-{b.config.address[1]}.jsonl").read_text().splitlines()]
    assert lines[0]["format"] == "dhtea-log" and lines[0]["role"] == "joiner"
    assert [e["kind"] for e in lines[1:3]] == ["join", "send"]
    assert lines[-1]["stats"]["dropped"] == {}


def _fuzz_datagrams(rng: random.Random, target: int, me_addr, other_addr, kinds) -> list[bytes]:
    """Random bytes, byte-level mutations of valid datagrams, and field-level breakage."""
    templates = [
        encode(Message(k, 77, target, data), me_addr, [(9, (LOOPBACK, 1))])
        for k, data in (("CONNECT", (("joiner", 9),)), ("NEW_NEIGHBOUR", (("side", "left"),)), ("SUCCESS_JOIN", ()))
    ]
    junk = [0, -1, 2**70, 1.5, "", "x" * 2000, True, None, [], {}, [[1]], {"a": {"b": 1}}]
    out = []
    for i in range(3000):
        style = i % 6
        if style == 0:
            data = rng.randbytes(rng.choice([0, 1, 10, 100, 600, 9000]))
        elif style in (1, 2):
            data = bytearray(rng.choice(templates))
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(len(data))
                op = rng.randrange(4)
                if op == 0:
                    data[pos] = rng.randrange(256)
                elif op == 1:
                    del data[pos:]
                elif op == 2:
                    data.insert(pos, rng.randrange(256))
                elif len(data) > 1:
                    del data[pos]
                if not data:
                    data = bytearray(b"{")
            data = bytes(data)
        else:
            obj = json.loads(rng.choice(templates))
            field = rng.choice(list(obj) + ["extra"])
            if style == 3:
                obj[field] = rng.choice(junk)
            elif style == 4:
                obj.pop(field, None)
                obj["v"] = rng.choice([1, 2, 0, "1"])
            else:  # well-formed, but for another node, or claiming another sender's address
                obj.update(rng.choice([{"dst": target + 1}, {"from": list(other_addr)}]))
            data = json.dumps(obj).encode()
        out.append(data)
    return out


def test_fuzz_thousands_of_bad_datagrams_are_dropped_and_counted(tmp_path):
    """A live node gets 3000 random and mutated datagrams: each one that is not a
    valid message for it is dropped and counted, none reaches the protocol, the
    node's state does not move, and it still serves a real join afterwards."""
    kinds = load_protocol("gapowner").kinds

    async def body(nodes):
        target = await nodes.start()
        initial = target.view
        fuzz = bind_socket((LOOPBACK, 0))
        fuzz.setblocking(False)
        try:
            candidates = _fuzz_datagrams(random.Random(20240601), target.config.node_id, fuzz.getsockname(),
                                         (LOOPBACK, 1), kinds)
            sent = 0
            for i in range(0, len(candidates), 32):
                for data in candidates[i:i + 32]:
                    try:  # the oracle: the same decoder, plus the node's address checks
                        p = decode(data, kinds)
                        if p.message.dst == target.config.node_id and p.sender == fuzz.getsockname():
                            continue  # a valid message for this node: not garbage, not sent
                    except WireError:
                        pass
                    fuzz.sendto(data, target.config.address)
                    sent += 1
                await until(lambda: target.stats["received"] == sent, 5)  # paced: no kernel drops
        finally:
            fuzz.close()
        assert sent > 2500
        assert sum(target.dropped.values()) == sent
        assert target.stats["delivered"] == 0 and target.seq == 0
        assert target.view == initial
        assert {"oversized", "encoding", "json", "version", "field", "kind", "wrong-dst", "wrong-from"} <= set(target.dropped)
        joiner = await nodes.start(bootstrap=me(target))  # keeps serving
        joiner.join()
        await until(lambda: joiner.view.member and not target.view.busy)
        return sent

    sent = run(body, tmp_path)
    check = check_logs(read_logs([tmp_path]))
    assert check.ok, check.violations
    assert sum(check.counts["dropped"].values()) == sent


def test_a_crashing_handler_is_logged_and_the_node_keeps_serving(tmp_path):
    async def body(nodes):
        node = await nodes.start("classic")
        peer = bind_socket((LOOPBACK, 0))
        try:
            bad = Message("CONNECT", node_id(*peer.getsockname()), node.config.node_id, (("joiner", "not an id"),))
            peer.sendto(encode(bad, peer.getsockname()), node.config.address)
            await until(lambda: node.stats["delivered"] == 1)
            peer.sendto(b"garbage", node.config.address)
            await until(lambda: node.stats["received"] == 2)
        finally:
            peer.close()
        return node

    node = run(body, tmp_path)
    assert node.dropped["json"] == 1
    check = check_logs(read_logs([tmp_path]))
    assert check.violations[0].invariant == "handler-error"
    assert "TypeError" in check.violations[0].message


def test_spoofed_datagrams_are_dropped_and_a_real_joiner_still_gets_in(tmp_path):
    """A socket that is not a node sends a CONNECT for a made-up joiner (which
    would lock a gapowner member for good), then speaks for the member itself and
    for a real member: each is dropped and counted, the member's state does not
    move, and a real joiner then joins through it."""

    async def body(nodes):
        a = await nodes.start()
        other = await nodes.start()  # a real node elsewhere, whose id the spoofer borrows
        spoofer = bind_socket((LOOPBACK, 0))
        here = spoofer.getsockname()
        made_up = node_id(*here) ^ 1  # an id that is not the spoofer's own
        spoofs = [
            Message("CONNECT", made_up, a.config.node_id, (("joiner", made_up),)),  # first hop of a join, spoofed
            Message("CONNECT", a.config.node_id, a.config.node_id, (("joiner", made_up),)),  # as the member itself
            Message("CONNECT", other.config.node_id, a.config.node_id, (("joiner", made_up),)),  # as another node
            Message("SUCCESS_JOIN", other.config.node_id, a.config.node_id, ()),
        ]
        try:
            for msg in spoofs:
                spoofer.sendto(encode(msg, here, [(made_up, here)]), a.config.address)
            await until(lambda: a.stats["received"] == len(spoofs))
        finally:
            spoofer.close()
        assert a.dropped["wrong-src"] == len(spoofs) and a.stats["delivered"] == 0 and a.seq == 0
        assert not a.view.busy and made_up not in a.book
        joiner = await nodes.start(bootstrap=me(a))
        joiner.join()
        await until(lambda: joiner.view.member and not a.view.busy)
        return a, joiner

    a, joiner = run(body, tmp_path)
    assert a.view.right == joiner.config.node_id and a.view.member
    last = (tmp_path / f"node-{a.config.address[1]}.jsonl").read_text().splitlines()[-1]
    assert json.loads(last)["stats"]["dropped"] == {"wrong-src": 4}
    check = check_logs(read_logs([tmp_path / f"node-{n.config.address[1]}.jsonl" for n in (a, joiner)]))
    assert check.ok and check.counts["dropped"] == {"wrong-src": 4}, check.violations


def test_a_node_with_its_own_id_joins_once_registered_as_a_peer(tmp_path):
    """A joiner run with `--id` other than its address's hash is dropped as
    `wrong-src` by a member that does not know it, and joins once the member has
    it as a peer (`--peer ID@HOST:PORT`)."""

    async def body(nodes):
        sock = bind_socket((LOOPBACK, 0))
        custom = 4242
        stranger = await nodes.start()
        a = await nodes.start(peers=[(custom, sock.getsockname())])
        lost = await nodes.start(bootstrap=me(stranger), ident=custom + 1)
        lost.join()
        await until(lambda: stranger.dropped["wrong-src"] == 1)
        assert not stranger.view.busy and not lost.view.member
        joiner = await nodes.start(bootstrap=me(a), ident=custom, sock=sock)
        joiner.join()
        await until(lambda: joiner.view.member and not a.view.busy)

    run(body, tmp_path)


def test_a_send_to_an_unknown_node_is_logged_as_lost(tmp_path):
    async def body(nodes):
        node = await nodes.start()
        peer = bind_socket((LOOPBACK, 0))
        try:  # CONNECT(joiner=88) without 88's address: the node cannot reach 88
            msg = Message("CONNECT", node_id(*peer.getsockname()), node.config.node_id, (("joiner", 88),))
            peer.sendto(encode(msg, peer.getsockname()), node.config.address)
            await until(lambda: node.stats["delivered"] >= 1)
        finally:
            peer.close()

    run(body, tmp_path)
    lines = [json.loads(x) for x in next(tmp_path.glob("*.jsonl")).read_text().splitlines()]
    sends = {e["msg"]["dst"]: e for e in lines if e.get("kind") == "send"}
    assert sends[88]["arrive"] is None and sends[88]["lost"] == "unknown-address"
    lost = [e for e in lines if e.get("lost")]
    assert {e["msg"]["dst"] for e in lost} == {88}
    assert lines[-1]["stats"]["lost"] == len(lost)


def test_fault_injection_drops_and_delays_from_a_seeded_rng(tmp_path):
    async def body(nodes):
        a = await nodes.start()
        dropper = await nodes.start(bootstrap=me(a), faults=Faults(drop=1.0, seed=3))
        dropper.join()
        delayed = await nodes.start(bootstrap=me(a), faults=Faults(delay=1.0, delay_max=0.2, seed=3))
        delayed.join()
        await until(lambda: delayed.view.member and not a.view.busy)
        return dropper, delayed

    dropper, delayed = run(body, tmp_path)
    rng = random.Random(f"3:{delayed.config.node_id}")
    expected = rng.uniform(0.0, 0.2) if rng.random() < 1.0 else None  # the first send's delay

    def sends(node):
        lines = (tmp_path / f"node-{node.config.address[1]}.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e.get("kind") == "send"]

    assert [(e["arrive"], e["lost"]) for e in sends(dropper)] == [(None, "fault-drop")]
    assert not dropper.view.member
    first = sends(delayed)[0]
    assert first["arrive"] - first["t"] == pytest.approx(expected)


def test_what_a_receiver_would_refuse_is_never_sent(tmp_path):
    from dhtea.core.node import RingNode

    class Chatty(RingNode):
        kinds = ("PING",)

        def on_join(self, ctx, bootstrap):
            ctx.send(bootstrap, "PONG")  # a kind the protocol does not declare
            ctx.send(bootstrap, "PING", n=2**70)  # beyond 64 bits
            ctx.send(bootstrap, "PING", **{f"k{i}": "x" * 1000 for i in range(9)})  # over 8 KiB
            ctx.send(bootstrap, "PING", n=1)

        def on_ping(self, ctx, msg):
            pass

    async def body(nodes):
        a = await nodes.start(Chatty)
        b = await nodes.start(Chatty, bootstrap=me(a))
        b.join()
        await until(lambda: a.stats["delivered"] == 1)
        return b

    b = run(body, tmp_path)
    lines = (tmp_path / f"node-{b.config.address[1]}.jsonl").read_text().splitlines()
    assert [e.get("lost") for e in map(json.loads, lines) if e.get("kind") == "send"] == [
        "undeclared-kind", "field", "oversized", None]


def test_a_protocol_without_declared_kinds_is_refused():
    from dhtea.core.node import RingNode

    class NoKinds(RingNode):
        pass

    cfg = NodeConfig(NoKinds, 1, (LOOPBACK, 1), ((1, (LOOPBACK, 1)),))
    with pytest.raises(NodeError, match="declares no message kinds"):
        UdpNode(cfg, open(os.devnull, "w"))


# -- `dhtea node` processes -------------------------------------------------------


@pytest.fixture
def procs():
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


def spawn(procs, *args: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-m", "dhtea", "node", *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    procs.append(p)
    return p


def header(log: Path, timeout: float = 30.0) -> dict:
    limit = time.monotonic() + timeout
    while not (log.exists() and log.read_text().endswith("\n")):
        assert time.monotonic() < limit, f"{log} never got its header"
        time.sleep(0.01)
    return json.loads(log.read_text().splitlines()[0])


def wait_for(predicate, timeout: float = 30.0) -> None:
    limit = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < limit, "timed out"
        time.sleep(0.01)


def last_line(log: Path) -> dict:
    return json.loads(log.read_text().splitlines()[-1])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_node_processes_join_survive_garbage_and_leave_on_a_signal(tmp_path, procs, sig):
    a_log, b_log = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a = spawn(procs, "--protocol", "gapowner", "--bind", f"{LOOPBACK}:0", "--log", str(a_log))
    host, port = header(a_log)["address"]
    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rng = random.Random(7)
    try:
        for i in range(500):
            junk.sendto(rng.randbytes(rng.randrange(200)), (host, port))
            if i % 50 == 49:
                time.sleep(0.01)
    finally:
        junk.close()
    b = spawn(procs, "--protocol", "gapowner", "--bind", f"{LOOPBACK}:0", "--join", f"{host}:{port}", "--log", str(b_log))
    header(b_log)
    wait_for(lambda: '"member",false,true' in b_log.read_text() and '"SUCCESS_JOIN"' in a_log.read_text())
    b.send_signal(sig)  # b leaves the ring of two, then a leaves the ring of one
    assert b.wait(20) == 0, b.stderr.read()
    a.send_signal(sig)
    assert a.wait(20) == 0, a.stderr.read()
    stats = last_line(a_log)["stats"]
    assert 0 < sum(stats["dropped"].values()) <= 500
    b_err = b.stderr.read()
    assert "leaving the ring" in b_err and "left the ring" in b_err and "stopped:" in b_err
    check = check_logs(read_logs([a_log, b_log]))
    assert check.ok and check.final.members == ()
    b_id = header(b_log)["node"]
    assert [(e.kind, e.node) for e in check.events if e.kind == "leave"] == [("leave", b_id), ("leave", header(a_log)["node"])]
    assert [(d.how, d.why) for d in check.counts["churn"]] == [("left", None), ("left", None)]
    assert all(v.gone == "left" for v in check.final)
    kinds = [e.message.kind for e in check.events if e.kind == "deliver" and e.node != b_id][-3:]
    assert kinds == ["DEPART", "SET_LEFT", "SET_RIGHT"]  # b had a take its lock and point past it


def _two_node_ring(tmp_path, procs, *extra: str, protocol: str = "gapowner"):
    a_log, b_log = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a = spawn(procs, "--protocol", protocol, "--bind", f"{LOOPBACK}:0", "--log", str(a_log), *extra)
    host, port = header(a_log)["address"]
    b = spawn(procs, "--protocol", protocol, "--bind", f"{LOOPBACK}:0", "--join", f"{host}:{port}",
              "--log", str(b_log), *extra)
    wait_for(lambda: '"SUCCESS_JOIN"' in a_log.read_text() and '"busy",true,false' in a_log.read_text())
    return (a, a_log), (b, b_log)


def _crash_why(log: Path) -> list:
    return [e.get("why") for e in map(json.loads, log.read_text().splitlines()) if e.get("kind") == "crash"]


def test_a_leave_that_cannot_finish_stops_after_the_grace_time_or_a_second_signal(tmp_path, procs):
    (a, a_log), (b, b_log) = _two_node_ring(tmp_path, procs, "--leave-grace", "0.5",
                                            protocol="tests.example_protocols:Lingering")
    a.send_signal(signal.SIGTERM)
    b.send_signal(signal.SIGTERM)
    wait_for(lambda: '"leave"' in a_log.read_text() and '"leave"' in b_log.read_text())
    b.send_signal(signal.SIGINT)  # again: b stops at once; a waits out its grace time
    assert a.wait(20) == 0 and b.wait(20) == 0
    assert _crash_why(a_log) == ["leave-unfinished"] and _crash_why(b_log) == ["interrupted-leave"]
    assert "did not finish within 0.5 s" in a.stderr.read() and "interrupted again" in b.stderr.read()
    check = check_logs(read_logs([a_log, b_log]))
    assert {(d.how, d.why) for d in check.counts["churn"]} == {("crashed", "leave-unfinished"), ("crashed", "interrupted-leave")}
    text = "\n".join(format_check(check))
    assert "while leaving" in text and "did not finish within the grace time" in text


def test_a_node_whose_protocol_has_no_leave_just_stops(tmp_path, procs):
    (a, a_log), (b, b_log) = _two_node_ring(tmp_path, procs, protocol="tests.example_protocols:NoLeave")
    b.send_signal(signal.SIGTERM)
    assert b.wait(20) == 0
    assert "this protocol has no graceful leave" in b.stderr.read()
    assert _crash_why(b_log) == ["no-leave"] and '"leave"' not in b_log.read_text()
    a.send_signal(signal.SIGUSR2)  # stop at once, no departure logged: the observation ends
    assert a.wait(20) == 0
    assert "stats" in last_line(a_log) and _crash_why(a_log) == []
    check = check_logs(read_logs([a_log, b_log]))
    b_id = header(b_log)["node"]
    assert {v.invariant for v in check.violations} == {"departed-unlinked", "pointers-mutual"}
    assert any(f"names {b_id}, which has crashed" in v.message for v in check.violations)


def test_timers_and_the_protocol_clock_run_in_time_units(tmp_path):
    """A timer of 2 units fires after 2 * time_unit seconds, and ctx.now counts units."""
    from tests.example_protocols import Clock

    unit = 0.05

    async def body(nodes):
        sock = bind_socket((LOOPBACK, 0))
        address = sock.getsockname()
        log = open(tmp_path / "clock.jsonl", "w")
        nodes.files.append(log)
        cfg = NodeConfig(Clock, node_id(*address), address, (), (1, (LOOPBACK, 9)), time.time(), time_unit=unit)
        node = UdpNode(cfg, log)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: node, sock=sock)
        nodes.nodes.append(node)
        node.join()
        await until(lambda: not node.view.busy)
        return node

    node = run(body, tmp_path)
    lines = [json.loads(x) for x in (tmp_path / "clock.jsonl").read_text().splitlines()]
    assert lines[0]["time_unit"] == unit
    (join,), (fired,) = [e for e in lines if e.get("kind") == "join"], [e for e in lines if e.get("kind") == "timer"]
    start, end = node.node.times
    assert end - start >= 2 * 0.9  # never early (up to the event loop's clock resolution)
    assert (fired["t"] - join["t"]) / (end - start) == pytest.approx(unit)  # one scale for timers and clock


def test_duplicated_datagrams_arrive_twice_and_are_paired_with_one_send(tmp_path):
    async def body(nodes):
        a = await nodes.start()
        b = await nodes.start(bootstrap=me(a), faults=Faults(dup=1.0, seed=1))
        b.join()
        await until(lambda: b.view.member and not a.view.busy)
        await until(lambda: len(events(a, "deliver", b)) == 2 * len(sends(b)), 5)
        return a, b

    def events(node, kind, src=None):
        lines = (tmp_path / f"node-{node.config.address[1]}.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines[1:]) if e.get("kind") == kind
                and (src is None or e["msg"]["src"] == src.config.node_id)]

    def sends(node):
        return events(node, "send")

    a, b = run(body, tmp_path)
    assert sends(b) and all(e["fault"] == "duplicated" and e["again"] is not None for e in sends(b))
    check = check_logs(read_logs([tmp_path]))
    assert check.ok, check.violations
    n = len(sends(b))
    assert check.counts["duplicated"] == n and check.counts["copies"] == n and check.counts["from-outside"] == 0
    assert f"{n} sent twice ({n} second copies delivered)" in "\n".join(format_check(check))


def test_a_node_stops_when_its_parent_exits(tmp_path):
    log = tmp_path / "n.jsonl"
    launcher = (
        "import subprocess, sys, os\n"
        "subprocess.Popen([sys.executable, '-m', 'dhtea', 'node', '--protocol', 'gapowner', '--bind',"
        f" '{LOOPBACK}:0', '--quiet', '--log', {str(log)!r}, '--parent', str(os.getpid())], start_new_session=True)\n"
    )
    subprocess.run([sys.executable, "-c", launcher], timeout=30, check=True)
    pid = header(log)["pid"]
    try:
        wait_for(lambda: "stats" in last_line(log), 15)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_port_in_use_is_one_clear_error(capsys):
    busy = bind_socket((LOOPBACK, 0))
    try:
        port = busy.getsockname()[1]
        code = main(["node", "--protocol", "gapowner", "--bind", f"{LOOPBACK}:{port}"])
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [f"dhtea: error: cannot bind {LOOPBACK}:{port}: the port is already in use"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--bind", "localhost:9000"], "IPv4"),
        (["--bind", f"{LOOPBACK}:1", "--ring", f"{LOOPBACK}:2,{LOOPBACK}:3"], "own address"),
        (["--bind", f"{LOOPBACK}:0", "--join", "nowhere"], "HOST:PORT"),
        (["--bind", f"{LOOPBACK}:0", "--drop", "2"], "probability"),
        (["--bind", f"{LOOPBACK}:0", "--delay", "0.5"], "P:MAX"),
        (["--bind", f"{LOOPBACK}:0", "--epoch", "nan"], "Unix time"),
        (["--bind", f"{LOOPBACK}:0", "--join", f"{LOOPBACK}:1", "--ring", f"{LOOPBACK}:1"], "not allowed with"),
        (["--bind", f"{LOOPBACK}:0", "--peer", f"{LOOPBACK}:1"], "give the node's id, as ID@HOST:PORT"),
    ],
)
def test_bad_node_options_are_one_line_errors(capsys, argv, fragment):
    code = main(["node", "--protocol", "gapowner", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("dhtea: error: ") and fragment in err
