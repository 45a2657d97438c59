"""The log checker: on logs cut from simulated runs it must reach the simulator's
verdict; malformed logs are one clear line and exit 2."""

from __future__ import annotations

import json
import random
from pathlib import Path

import attrs
import pytest

from dhtea import Join, JoinSchedule, Network, Scenario, Uniform, simulate
from dhtea.core.scenario import Leave
from dhtea.cli.main import main
from dhtea.real.logcheck import LogError, check_logs, format_check, read_log, read_logs
from dhtea.traces.serial import event_to_dict, read_trace, view_to_dict
from dhtea.search.replaying import replay
from invariants import NodeView

COUNTEREXAMPLES = sorted((Path(__file__).parents[1] / "counterexamples").glob("*.trace.json"))


def write_logs(result, folder: Path, epochs: dict[int, float] | None = None, skew: dict[int, float] | None = None) -> list[Path]:
    """Cut a simulated run into the per-node logs a real run would have written
    (each node's times relative to its `epochs` entry, its clock off by `skew`)."""
    s = result.scenario
    views = {n: NodeView(n, s.ring[i - 1], s.ring[(i + 1) % len(s.ring)], True) for i, n in enumerate(s.ring)}
    views.update({j.node: NodeView(j.node) for j in s.joins})
    error = {v.event: v.message for v in result.violations if v.invariant == "handler-error"}
    lines: dict[int, list[dict]] = {}
    for n, view in views.items():
        epoch = (epochs or {}).get(n, 0.0)
        lines[n] = [{"format": "dhtea-log", "version": 1, "protocol": result.protocol, "node": n,
                     "address": ["127.0.0.1", 10000 + n], "role": "member" if n in s.ring else "joiner",
                     "view": view_to_dict(view), "epoch": epoch, "started": 0.0}]
    for e in result.events:
        d = event_to_dict(e)
        d["seq"] = len(lines[e.node]) - 1
        d["t"] = e.time - (epochs or {}).get(e.node, 0.0) + (skew or {}).get(e.node, 0.0)
        if e.seq in error:
            d["error"] = error[e.seq].split(" raised ", 1)[1]
        lines[e.node].append(d)
    paths = []
    for n, entries in lines.items():
        path = folder / f"node-{n}.jsonl"
        path.write_text("".join(json.dumps(x) + "\n" for x in entries + [{"t": 0, "stats": {"dropped": {}}}]))
        paths.append(path)
    return paths


def random_scenario(rng: random.Random) -> Scenario:
    ids = rng.sample(range(100), rng.randint(2, 8))
    ring = ids[: rng.randint(1, min(4, len(ids) - 1))]
    joiners = [j for j in ids if j not in ring][:4]
    joins = [Join(j, rng.uniform(0, 3), rng.choice(ring)) for j in joiners]
    return Scenario(ring=ring, joins=JoinSchedule(joins), network=Network(Uniform(0.5, 3)), seed=rng.randrange(10**6))


@pytest.mark.parametrize("protocol", ["classic", "gapowner"])
def test_the_checker_reaches_the_simulators_verdict(tmp_path, protocol):
    """With continuous latency no two nodes step at the same time, so the merged
    order is the simulator's order: same first violation, same event, same nodes."""
    rng = random.Random(protocol)
    failing = 0
    for i in range(150):
        result = simulate(protocol, random_scenario(rng))
        folder = tmp_path / str(i)
        folder.mkdir()
        check = check_logs(read_logs(write_logs(result, folder)))
        if result.ok:
            assert check.ok, (result.scenario, check.violations)
            assert check.final.members == tuple(sorted(v.id for v in result.final if v.member))
        else:
            failing += 1
            got, want = check.violations[0], next(v for v in result.violations if v.invariant != "progress")
            assert (got.invariant, got.event, got.time, set(got.nodes)) == (want.invariant, want.event, want.time, set(want.nodes))
    assert (failing > 20) == (protocol == "classic")


@pytest.mark.parametrize("trace", COUNTEREXAMPLES, ids=lambda p: p.name)
def test_the_checker_catches_the_classic_counterexamples(tmp_path, trace):
    result = replay(read_trace(trace)).result
    check = check_logs(read_logs(write_logs(result, tmp_path)))
    assert result.signature in {v.invariant for v in check.violations}
    text = "\n".join(format_check(check))
    assert "FAIL" in text and f"!! {result.signature} violated at event #" in text


def test_times_from_different_epochs_are_merged_on_one_clock(tmp_path):
    scenario = Scenario(ring=(0, 50), joins=JoinSchedule([Join(20, 0.2, 0), Join(70, 0.4, 50)]), network=Network(Uniform(0.5, 2)))
    result = simulate("gapowner", scenario)
    epochs = {0: 1000.0, 50: 999.5, 20: 1000.25, 70: 1001.0}
    check = check_logs(read_logs(write_logs(result, tmp_path, epochs)))
    assert check.ok
    assert [(e.kind, e.node) for e in check.events] == [(e.kind, e.node) for e in result.events]
    assert [e.time for e in check.events] == pytest.approx([e.time - 999.5 for e in result.events])


def test_a_deliver_before_its_send_is_reported_as_clock_skew(tmp_path):
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0)]), network=Network(Uniform(1, 2)))
    result = simulate("gapowner", scenario)
    write_logs(result, tmp_path, skew={0: -10.0})  # node 0's clock is 10 s behind
    lines = format_check(check_logs(read_logs([tmp_path])))
    assert any(line.startswith("clock skew: ") for line in lines)


def test_a_log_cut_mid_line_is_read_up_to_the_cut(tmp_path):
    result = simulate("gapowner", Scenario(ring=(0,), joins=JoinSchedule([Join(5, 0, 0)])))
    paths = write_logs(result, tmp_path)
    path = paths[0]
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:-1]) + text[-1][:7])  # killed while writing the stats line
    log = read_log(path)
    assert log.truncated and log.stats is None
    lines = format_check(check_logs(read_logs(paths)))
    assert any("no final stats line" in line for line in lines)


def _good(tmp_path: Path) -> list[Path]:
    result = simulate("gapowner", Scenario(ring=(0, 9), joins=JoinSchedule([Join(5, 0, 0)])))
    return write_logs(result, tmp_path)


def _edit(path: Path, index: int, change) -> None:
    lines = path.read_text().splitlines()
    lines[index] = change(lines[index])
    path.write_text("\n".join(lines) + "\n")


def _json_edit(**fields):
    return lambda line: json.dumps({**json.loads(line), **fields})


@pytest.mark.parametrize(
    "breakage, fragment",
    [
        (lambda p: p.write_text(""), "empty file"),
        (lambda p: _edit(p, 0, lambda s: "{not json"), "not valid JSON"),
        (lambda p: _edit(p, 0, _json_edit(format="other")), "not a dhtea node log"),
        (lambda p: _edit(p, 0, _json_edit(version=2)), "unsupported log version 2"),
        (lambda p: _edit(p, 0, _json_edit(view={"id": 1})), "view"),
        (lambda p: _edit(p, 1, _json_edit(seq=7)), "expected event #0"),
        (lambda p: _edit(p, 1, lambda s: json.dumps({k: v for k, v in json.loads(s).items() if k != "t"})), "missing field 't'"),
        (lambda p: _edit(p, 1, _json_edit(kind="teleport")), "unknown event kind"),
        (lambda p: _edit(p, 1, _json_edit(changes=[["colour", 1, 2]])), "bad change"),
        (lambda p: _edit(p, 1, _json_edit(changes=[["busy", True, False]])), "changes busy from True but it was False"),
        (lambda p: _edit(p, -1, lambda s: s + "\n" + json.dumps({"seq": 99})), "after the final stats line"),
        (lambda p: _edit(p, -1, lambda s: json.dumps({"stats": {"dropped": 3}})), "stats line"),
        (lambda p: _edit(p, 0, lambda s: "[" * 100000), "nested too deeply"),
    ],
)
def test_malformed_logs_are_one_line_and_exit_2(tmp_path, capsys, breakage, fragment):
    paths = _good(tmp_path)
    joiner = next(p for p in paths if p.name == "node-5.jsonl")
    breakage(joiner)
    code = main(["check", *map(str, paths)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"dhtea: error: {joiner}"), err
    assert fragment in err


def test_logs_that_do_not_belong_together_are_refused(tmp_path, capsys):
    paths = _good(tmp_path)
    for argv, fragment in [
        ([str(paths[0]), str(paths[0])], "two logs for node 0"),
        ([str(tmp_path / "nope.jsonl")], "no such file"),
        ([str(tmp_path / "empty")], "no *.jsonl node logs"),
    ]:
        (tmp_path / "empty").mkdir(exist_ok=True)
        assert main(["check", *argv]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and fragment in err, err
    _edit(paths[1], 0, _json_edit(protocol="classic"))
    assert main(["check", str(tmp_path)]) == 2
    assert "different protocols: classic, gapowner" in capsys.readouterr().err


def test_check_command_exit_codes_and_output(tmp_path, capsys):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir(), bad.mkdir()
    _good(good)
    assert main(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "PASS: every invariant held" in out
    assert "final ring (3 members, following right pointers):\n  0 -> 5 -> 9 -> 0" in out
    write_logs(replay(read_trace(COUNTEREXAMPLES[-1])).result, bad)
    assert main(["check", str(bad), "--timeline"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "!! gap-exclusive violated" in out and "#0 " in out


@pytest.mark.parametrize("started", [True, False], ids=["header-says-when", "older-log"])
def test_hand_run_times_print_relative_to_the_start_of_the_run(tmp_path, started):
    """Nodes run by hand log Unix times (epoch 0): the check counts from the first node's start."""
    result = simulate("gapowner", Scenario(ring=(0, 9), joins=JoinSchedule([Join(5, 0.5, 0)])))
    paths = write_logs(result, tmp_path)
    unix = 1_796_110_000.0
    for path in paths:
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        lines[0]["started"] = unix - 0.25
        if not started:
            del lines[0]["started"]
        for line in lines[1:]:
            line["t"] += unix
        path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    check = check_logs(read_logs(paths))
    offset = 0.75 if started else 0.0  # older logs: from the first event
    assert [e.time for e in check.events] == pytest.approx([e.time - 0.5 + offset for e in result.events])
    text = "\n".join(format_check(check, timeline=True))
    assert "e+09" not in text and f"t={offset:g} " in text


# -- churn: leaves and crashes in the logs ---------------------------------------


def write_churn_logs(result, folder: Path, killed: tuple[int, ...] = ()) -> list[Path]:
    """As `write_logs`, for a run with churn: a message reaching a departed node
    leaves no line in a real log, and a node in `killed` crashed without a
    word: its log just ends, with no crash event and no final stats line."""
    events = [e for e in result.events if e.kind != "drop" and not (e.kind == "crash" and e.node in killed)]
    paths = write_logs(attrs.evolve(result, events=events), folder)
    for path in paths:
        if int(path.stem.split("-")[1]) in killed:
            path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    return paths


def churn_scenario(rng: random.Random) -> Scenario:
    ids = rng.sample(range(100), rng.randint(3, 8))
    ring = ids[: rng.randint(2, min(5, len(ids) - 1))]
    joiners = [j for j in ids if j not in ring][:3]
    leavers = rng.sample(ring, rng.randint(1, len(ring) - 1))
    stay = [n for n in ring if n not in leavers]  # a joiner needs a bootstrap that stays
    joins = [Join(j, rng.uniform(0, 3), rng.choice(stay)) for j in joiners]
    churn = [Leave(n, rng.uniform(0, 4)) for n in leavers]
    loss = rng.choice([0.0, 0.1])
    scenario = Scenario(ring=ring, joins=JoinSchedule(joins), network=Network(Uniform(0.5, 3), loss=loss),
                        seed=rng.randrange(10**6), churn=churn)
    return attrs.evolve(scenario, settle=50_000.0) if loss else scenario


@pytest.mark.parametrize("protocol", ["classic", "gaplease"])
def test_under_churn_the_checker_reaches_the_simulators_verdict(tmp_path, protocol):
    """Leaves (and loss, for gaplease) in the logs: the checker finds the
    simulator's first violation, on the same nodes at the same time, and passes
    exactly the runs the simulator passes."""
    rng = random.Random("churn:" + protocol)
    failing = 0
    for i in range(60):
        result = simulate(protocol, churn_scenario(rng))
        folder = tmp_path / str(i)
        folder.mkdir()
        check = check_logs(read_logs(write_churn_logs(result, folder)))
        assert {d.node for d in check.counts["churn"]} == {e.node for e in result.events if e.kind == "leave"}
        found = [v for v in result.violations if v.invariant != "progress"]  # progress is the simulator's own
        if not found:
            assert check.ok, (result.scenario, check.violations)
            assert check.final.members == tuple(sorted(v.id for v in result.final if v.member and v.gone is None))
        else:
            failing += 1
            got, want = check.violations[0], found[0]
            assert (got.invariant, set(got.nodes)) == (want.invariant, set(want.nodes))
            if want.invariant in ("known-nodes", "ring-order", "gap-exclusive"):
                drops = sum(e.kind == "drop" for e in result.events[:want.event])
                assert (got.event, got.time) == (want.event - drops, want.time)
            assert "(after: leave of" in got.message or not any(
                e.kind == "leave" for e in result.events[:want.event + 1])
    assert (failing > 10) == (protocol == "classic")


def test_a_departed_node_still_pointed_to_is_flagged(tmp_path):
    """classic: two neighbours leave together; each tells the other's far side about it."""
    scenario = Scenario(ring=(0, 10, 20), churn=[Leave(10, 0), Leave(20, 0)])
    result = simulate("classic", scenario)
    assert "departed-unlinked" in {v.invariant for v in result.violations}
    check = check_logs(read_logs(write_churn_logs(result, tmp_path)))
    flagged = [v for v in check.violations if v.invariant == "departed-unlinked"]
    assert flagged and all(set(v.nodes) & {10, 20} for v in flagged)
    assert "which has left" in flagged[0].message and "(after: leave of 10 at t=0; leave of 20 at t=0" in flagged[0].message
    text = "\n".join(format_check(check))
    assert "departed: 10 (left), 20 (left)" in text and "churn: 10 left (began t=0.000" in text


def test_a_clean_churn_log_passes(tmp_path):
    scenario = Scenario(ring=(0, 10, 20, 30), joins=JoinSchedule([Join(5, 0, 0), Join(25, 1, 20)]),
                        network=Network(Uniform(0.5, 2), loss=0.2), churn=[Leave(10, 0.5), Leave(30, 2)],
                        seed=4, settle=50_000.0)
    result = simulate("gaplease", scenario)
    assert result.ok and any(e.fault == "lost" for e in result.events)
    check = check_logs(read_logs(write_churn_logs(result, tmp_path)))
    assert check.ok, check.violations
    assert check.final.members == (0, 5, 20, 25)
    assert [(d.node, d.how) for d in check.counts["churn"]] == [(10, "left"), (30, "left")]
    assert "PASS" in "\n".join(format_check(check))


def test_a_log_without_its_final_line_is_a_node_killed_after_its_last_event(tmp_path):
    result = simulate("gapowner", Scenario(ring=(0, 10, 20)))
    paths = write_churn_logs(result, tmp_path, killed=(10,))
    check = check_logs(read_logs(paths))
    (crash,) = [e for e in check.events if e.kind == "crash"]
    assert crash.node == 10 and crash.changes == (("gone", None, "crashed"),)
    assert [(d.node, d.how, d.why) for d in check.counts["churn"]] == [(10, "crashed", "killed")]
    assert {v.invariant for v in check.violations} == {"departed-unlinked", "pointers-mutual"}
    assert any("names 10, which has crashed (after: crash of 10" in v.message for v in check.violations)
    assert "10 crashed at t=0.000 (killed: its log has no final stats line)" in "\n".join(format_check(check))
