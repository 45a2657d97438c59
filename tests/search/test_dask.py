"""Hunts on Dask: a LocalCluster stands in for a real cluster; without Dask, one line."""

from __future__ import annotations

import json
import sys

import pytest

from dhtea.cli.main import main
from dhtea.search.replaying import replay


def test_without_dask_the_option_says_how_to_install_it(capsys, tmp_path, monkeypatch):
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    code = main(["hunt", "--protocol", "classic", "--dask", "local", "--out", str(tmp_path / "h")])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.splitlines()) == 1
    assert "pip install 'dhtea[cluster]'" in err
    monkeypatch.setenv("DHTEA_DASK", "local")
    assert main(["hunt", "--protocol", "classic", "--out", str(tmp_path / "h")]) == 2
    assert "dhtea[cluster]" in capsys.readouterr().err


def test_bad_dask_options_are_one_line(capsys, tmp_path):
    for argv, words in ((["--dask", "local:zero"], "local:N"), (["--tasks", "3"], "--tasks goes with --dask"),
                        (["--dask", "local", "--workers", "2"], "--workers is for local processes")):
        code = main(["hunt", "--protocol", "classic", *argv, "--out", str(tmp_path / "h")])
        err = capsys.readouterr().err
        assert code == 2 and len(err.splitlines()) == 1 and words in err, err


def test_a_hunt_on_a_local_dask_cluster_writes_the_bugs_on_the_client(capsys, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "hunt"
    code = main(["hunt", "--protocol", "classic", "--seed", "3", "--examples", "40", "--max-bugs", "3",
                 "--dask", "local:2", "--tasks", "3", "--out", str(out), "--quiet", "--no-timings"])
    stdout = capsys.readouterr().out
    assert code == 1 and "on Dask (local:2), 3 tasks" in stdout
    summary = json.loads((out / "hunt.json").read_text())
    assert summary["settings"]["tasks"] == 3 and summary["settings"]["swarm"] is True
    traces = sorted(out.glob("*.trace.json"))
    assert traces and sorted(summary["bugs"]) == [t.name for t in traces]
    for trace in traces:
        assert replay(trace).identical
    # Swarm testing: each task ran only its own subset of latency models, so the
    # statistics are those of the subsets together.
    from dhtea.search.tasks import split, swarm_tasks
    from invariants import DEFAULT
    from invariants.names import invariant_specs

    tasks = swarm_tasks(split("classic", shares=3, examples=40, seed=3, max_bugs=3, max_ring=5, max_joiners=4,
                              invariants=invariant_specs(DEFAULT)), 3)
    allowed = {k for t in tasks for k in t.latency_kinds}
    ran = {k for k, n in summary["statistics"]["features"]["latency model"].items() if n}
    assert ran <= allowed
