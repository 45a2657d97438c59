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
from dhtea.real.cluster import Cluster, Planned, PlanError, bind_sockets, plan
from dhtea.real.logcheck import check_logs, read_logs
from dhtea.real.udp import bind_socket
from dhtea.real.wire import node_id


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
        assert '"stats"' in log.read_text().splitlines()[-1]  # each stopped cleanly, by SIGUSR2
        assert '"crash"' not in log.read_text() and '"leave"' not in log.read_text()  # and did not depart


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
        (["--nodes", "5", "--leave", "3"], "use --members 4 or more (now 3)"),
        (["--nodes", "3", "--members", "3", "--leave", "3"], "would remove all 3 nodes"),
        (["--nodes", "4", "--members", "3", "--leave", "1", "--crash", "3"], "would remove all 4 nodes"),
        (["--nodes", "5", "--leave", "2", "--leave-at", "0.1"], "--leave-at gives 1 time(s) for --leave 2"),
        (["--nodes", "5", "--leave-at", "0.1,-1"], "seconds >= 0"),
        (["--nodes", "5", "--leave", "-1"], "0 or more"),
        (["--nodes", "5", "--dup", "-0.1"], "probability"),
        (["--nodes", "5", "--drop", "1.5"], "probability"),
        (["--nodes", "5", "--time-unit", "0"], "seconds per time unit"),
        (["--nodes", "5", "--churn-window", "0"], "above 0"),
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


def test_the_churn_plan_is_seeded_and_keeps_a_bootstrap_member():
    socks = bind_sockets(12)
    try:
        a = plan(socks, 6, seed=2, leaves=3, crashes=2, window=0.5)
        assert a == plan(socks, 6, seed=2, leaves=3, crashes=2, window=0.5)
        members = sorted(p.node_id for p in a if p.role == "member")
        leavers = sorted(p.node_id for p in a if p.leave_at is not None)
        crashing = {p.node_id for p in a if p.crash_at is not None}
        assert len(leavers) == 3 and set(leavers) <= set(members) and len(crashing) == 2
        assert not crashing & set(leavers)
        for n in leavers:  # no two leavers are neighbours in the initial ring
            i = members.index(n)
            assert members[i - 1] not in leavers and members[(i + 1) % 6] not in leavers
        assert all(0 <= p.leave_at < 0.5 for p in a if p.leave_at is not None)
        stay = set(members) - set(leavers) - crashing
        assert stay and all(p.bootstrap in stay for p in a if p.role == "joiner")
        given = plan(socks, 6, seed=2, leaves=2, leave_at=(0.25, 0.0))
        assert sorted(p.leave_at for p in given if p.leave_at is not None) == [0.0, 0.25]
        with pytest.raises(PlanError, match="one initial member must neither leave nor crash"):
            plan(socks, 6, seed=2, leaves=5, crashes=7)
        without = plan(socks, 6, seed=2)  # no churn: the plan it always was
        assert all(p.leave_at is None and p.crash_at is None for p in without)
        assert [p.bootstrap for p in without] == [p.bootstrap for p in plan(socks, 6, seed=2, args=())]
    finally:
        for s in socks:
            s.close()


def test_twelve_gaplease_processes_with_three_leaves_and_five_percent_loss_pass(tmp_path, capsys):
    logs = tmp_path / "logs"
    code = main(["cluster", "--protocol", "gaplease", "--nodes", "12", "--members", "6", "--leave", "3",
                 "--drop", "0.05", "--seed", "1", "--fault-seed", "1", "--logs", str(logs)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "settled: every leave finished" in out and "PASS: every invariant held" in out
    assert "final ring (9 members, following right pointers):" in out
    assert "note:" not in out  # gaplease claims leaves and loss
    check = check_logs(read_logs([logs]))
    assert check.ok and len(check.final.members) == 9
    assert sorted(d.how for d in check.counts["churn"]) == ["left"] * 3
    assert sum(e.kind == "leave" for e in check.events) == 3
    assert all(log.stats is not None for log in check.logs)
    headers = [json.loads(p.read_text().splitlines()[0]) for p in logs.glob("*.jsonl")]
    assert all(h["faults"]["drop"] == 0.05 and h["time_unit"] == 0.001 for h in headers)
    assert "the same scenario simulated (joins at t=0, latency 1 per message, leaves 3, loss 0.05" in out
    pids = node_pids(logs)
    assert len(pids) == 12 and not any(alive(p) for p in pids)


def _leave_races_join(folder: Path, attempt: int):
    """classic's leave racing a join into the same gap, for real: ring [0, 10, 20];
    5 joins via 0 while 10 leaves. The members' datagrams are delayed up to
    0.3 s, so 0 has taken 5 as its right before 10's "your right is 20" lands."""
    socks = bind_sockets(4)
    a = [s.getsockname() for s in socks]
    slow = ("--delay", "1:0.3", "--fault-seed", str(attempt))
    nodes = [Planned(0, a[0], "member", None, slow), Planned(10, a[1], "member", None, slow, leave_at=0.05),
             Planned(20, a[2], "member", None, slow), Planned(5, a[3], "joiner", 0)]
    folder.mkdir()
    return Cluster("classic", nodes, socks, folder, deadline=10, quiet=0.8).run()


def test_classic_leave_racing_a_join_is_caught_on_a_real_run(tmp_path):
    caught = []
    for attempt in range(5):  # each try hits the race with probability about 5/6
        outcome = _leave_races_join(tmp_path / str(attempt), attempt)
        assert not any(alive(p) for p in node_pids(outcome.logdir))
        assert [(d.node, d.how) for d in outcome.check.counts["churn"]] == [(10, "left")]
        caught = [v for v in outcome.check.violations if "(after: leave of 10" in v.message]
        if caught:
            break
    assert caught, "the race was not hit in 5 tries"
    assert {v.invariant for v in caught} & {"joins-complete", "departed-unlinked", "ring-order"}
    assert not outcome.check.ok


def test_a_killed_node_is_a_crash_in_the_check(tmp_path):
    socks = bind_sockets(3)
    a = [s.getsockname() for s in socks]
    nodes = [Planned(node_id(*x), x, "member", None, (), None, 0.05 if i == 1 else None) for i, x in enumerate(a)]
    (tmp_path / "logs").mkdir()
    outcome = Cluster("gaplease", nodes, socks, tmp_path / "logs", deadline=10, quiet=0.3).run()
    assert outcome.status == "settled"  # the killed node was planned to die
    victim = nodes[1].node_id
    assert [(d.node, d.how, d.why) for d in outcome.check.counts["churn"]] == [(victim, "crashed", "killed")]
    assert {v.invariant for v in outcome.check.violations} == {"departed-unlinked", "pointers-mutual"}
    assert not any(alive(p) for p in node_pids(tmp_path / "logs"))


def test_gapowner_under_loss_says_it_does_not_claim_loss(tmp_path, capsys):
    code = main(["cluster", "--protocol", "gapowner", "--nodes", "1", "--members", "1", "--drop", "0.05", "--logs", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "note: gapowner does not claim to tolerate loss (gaplease does)" in out


def test_default_leave_grace_covers_the_slowest_leave_a_protocol_declares():
    from dhtea.cli.real import default_grace
    from dhtea.protocols import Classic, GapOwner
    from dhtea.protocols.gapowner import LEASE, GapLease

    assert default_grace(Classic, 0.001) == default_grace(GapOwner, 0.001) == 5.0
    assert GapLease.leave_within == 2 * LEASE
    assert default_grace(GapLease, 0.001) == 2 * LEASE * 0.001 > 5.0
    assert default_grace(GapLease, 0.0001) == 5.0  # a faster time unit: the floor
