"""Real clusters of node processes on loopback: the corrected protocol passes,
classic's concurrent-join bug is caught on a real run, and no process is ever
left behind (settled, failed, interrupted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dhtea.cli.main import main
from dhtea.real.cluster import Cluster, Planned, bind_sockets, plan
from dhtea.real.logcheck import check_logs, read_logs
from dhtea.real.udp import bind_socket


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def node_pids(folder: Path) -> list[int]:
    pids = []
    for log in folder.glob("*.jsonl"):
        text = log.read_text()
        if text.endswith("\n") or "\n" in text:
            pids.append(json.loads(text.splitlines()[0])["pid"])
    return pids


def test_a_real_cluster_of_eight_gapowner_processes_passes(tmp_path, capsys):
    logs = tmp_path / "logs"
    code = main(["cluster", "--protocol", "gapowner", "--nodes", "8", "--logs", str(logs), "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "settled: every node is a member" in out and "PASS: every invariant held" in out
    assert "final ring (8 members, following right pointers):" in out
    check = check_logs(read_logs([logs]))
    assert check.ok and len(check.final.members) == 8
    assert all(log.stats is not None for log in check.logs)  # every node shut down cleanly
    assert sum(log.role == "joiner" for log in check.logs) == 5
    assert sum(e.kind == "join" for e in check.events) == 5
    pids = node_pids(logs)
    assert len(pids) == 8 and not any(alive(p) for p in pids)


def _race(folder: Path, attempt: int):
    """Classic's bug 3 for real: ring [0, 3]; 1 joins via 0 and 2 via 3 at the same moment.
    The members' datagrams are delayed up to 0.3 s, so both CONNECTs are served before
    either CHANGE_NEIGHBOUR lands: both ends of the gap take a different joiner."""
    socks = bind_sockets(4)
    a = [s.getsockname() for s in socks]
    slow = ("--delay", "1:0.3", "--fault-seed", str(attempt))
    nodes = [Planned(0, a[0], "member", None, slow), Planned(3, a[1], "member", None, slow),
             Planned(1, a[2], "joiner", 0), Planned(2, a[3], "joiner", 3)]
    folder.mkdir()
    return Cluster("classic", nodes, socks, folder, deadline=10, quiet=0.8).run()


def test_classic_concurrent_join_bug_is_caught_on_a_real_run(tmp_path):
    caught = []
    for attempt in range(5):  # each try hits the race with probability about 0.98
        outcome = _race(tmp_path / str(attempt), attempt)
        assert not any(alive(p) for p in node_pids(outcome.logdir))
        assert {log.node for log in outcome.check.logs} == {0, 1, 2, 3}
        caught = [v for v in outcome.check.violations if v.invariant == "gap-exclusive"]
        if caught:
            break
    assert caught, "the race was not hit in 5 tries"
    v = caught[0]
    assert set(v.nodes) == {0, 3, 1, 2}
    assert "the gap between members 0 and 3 is claimed by two joiners" in v.message
    assert not outcome.check.ok


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_cluster_stops_every_node(tmp_path, sig):
    logs = tmp_path / "logs"
    # Delays of up to 20 s keep the run from settling: the cluster is watching when interrupted.
    cmd = [sys.executable, "-m", "dhtea", "cluster", "--protocol", "gapowner", "--nodes", "4",
           "--delay", "1:20", "--logs", str(logs)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        limit = time.monotonic() + 60
        while len(node_pids(logs)) < 4 or not all('"kind":"join"' in p.read_text() for p in _joiner_logs(logs)):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < limit
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(30) == 130
        assert "interrupted; every node was stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    pids = node_pids(logs)
    assert len(pids) == 4 and not any(alive(p) for p in pids)
    for log in logs.glob("*.jsonl"):
        assert '"stats"' in log.read_text().splitlines()[-1]  # each stopped cleanly, by SIGTERM


def _joiner_logs(folder: Path) -> list[Path]:
    out = []
    for log in folder.glob("*.jsonl"):
        lines = log.read_text().splitlines()
        if lines and json.loads(lines[0])["role"] == "joiner":
            out.append(log)
    return out


def test_a_port_in_use_is_one_clear_error(tmp_path, capsys):
    busy = bind_socket(("127.0.0.1", 0))
    try:
        port = busy.getsockname()[1]
        code = main(["cluster", "--protocol", "gapowner", "--nodes", "3", "--base-port", str(port),
                     "--logs", str(tmp_path)])
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert f"cannot bind 127.0.0.1:{port}: the port is already in use" in err


def test_a_node_that_fails_to_start_stops_the_cluster(tmp_path, capsys):
    code = main(["cluster", "--protocol", "tests.example_protocols:Crashing", "--nodes", "3", "--members", "2",
                 "--logs", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "failed to start" in err and "declares no message kinds" in err


def test_cluster_option_errors(tmp_path, capsys):
    (tmp_path / "old.jsonl").write_text("")
    for argv, fragment in [
        (["--nodes", "2", "--members", "3"], "more than --nodes"),
        (["--nodes", "2", "--members", "1", "--logs", str(tmp_path)], "already holds node logs"),
        (["--nodes", "0"], "at least 1"),
    ]:
        assert main(["cluster", "--protocol", "gapowner", *argv]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and fragment in err, err


def test_the_plan_is_seeded_and_ids_are_distinct():
    socks = bind_sockets(10)
    try:
        a, b = plan(socks, 3, seed=5), plan(socks, 3, seed=5)
        assert a == b
        assert [p.role for p in a] == ["member"] * 3 + ["joiner"] * 7
        assert len({p.node_id for p in a}) == 10
        members = {p.node_id for p in a[:3]}
        assert all(p.bootstrap in members for p in a[3:])
    finally:
        for s in socks:
            s.close()
