"""Same scenario and seed: byte-identical trace, in any process, under any PYTHONHASHSEED."""

import os
import subprocess
import sys

import attrs

from dhtea import Join, JoinSchedule, LinkLatency, LogNormal, Network, Pareto, Scenario, Uniform, simulate
from dhtea.traces.serial import trace_text

SCRIPT = """
import sys
from dhtea import Join, JoinSchedule, LinkLatency, LogNormal, Network, Pareto, Scenario, Uniform, simulate
from dhtea.traces.serial import trace_text
sys.stdout.write(trace_text(simulate(sys.argv[1], SCENARIO)))
"""

SCENARIO_SRC = """Scenario(
    ring=(7, 300, 4100, 9000),
    joins=JoinSchedule([Join(n, (n * 7) % 5, (7, 300, 4100, 9000)[n % 4]) for n in (1, 55, 999, 5000, 8999, 12000, 150, 4200)]),
    network=Network(
        latency=LogNormal(3, 1.0),
        links=[LinkLatency(7, 300, Pareto(1, 1.5)), LinkLatency(300, 7, Uniform(0, 2))],
        delays=(5, 1, 9, 0, 3),
    ),
    seed=20261201,
)"""
SCENARIO = eval(SCENARIO_SRC)


def _in_subprocess(protocol: str, hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    code = SCRIPT.replace("SCENARIO", SCENARIO_SRC)
    out = subprocess.run([sys.executable, "-c", code, protocol], env=env, capture_output=True, text=True, check=True)
    return out.stdout


def test_traces_are_byte_identical_across_processes_and_hash_seeds():
    for protocol in ("gapowner", "classic"):
        here = trace_text(simulate(protocol, SCENARIO))
        assert len(here.splitlines()) > 40  # a real run with many events, not an empty trace
        for hash_seed in ("0", "1", "4242", "random"):
            assert _in_subprocess(protocol, hash_seed) == here, (protocol, hash_seed)


def test_the_seed_matters():
    a = trace_text(simulate("gapowner", SCENARIO))
    b = trace_text(simulate("gapowner", attrs.evolve(SCENARIO, seed=1)))
    assert a != b


def test_repeated_runs_in_one_process_are_identical():
    assert trace_text(simulate("gapowner", SCENARIO)) == trace_text(simulate("gapowner", SCENARIO))
