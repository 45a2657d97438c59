"""Does fault handling slow the simulator down?

Measures simulated messages per second of wall time (messages = sends) for
`gaplease` (gapowner with retries) on the scenario of `sim_speed.py` (8 members, `--joiners` joiners
at time 0, Uniform(1, 10) latency), once on a reliable network ("faults off")
and once with faults on: 2% loss, 2% duplication and a partition between two
halves of the nodes from t=0 to t=20, all faults over at t=50, with a settle
window (the faults-off run gets the same settle window). The protocol resends what was lost, so the two runs send different
numbers of messages; per-message speed is what is compared. Each number is
the best of `--repeat` runs, taken in turns.

    .venv/bin/python benchmarks/fault_speed.py [--repeat 5] [--joiners 200]

The target: faults on keeps at least 85% of the faults-off rate.
"""

from __future__ import annotations

import argparse
import gc
import time

import attrs

from dhtea import Network, RunResult, Scenario, simulate
from dhtea.core.network import Partition

from sim_speed import build_scenario  # same folder: the same scenario


def with_faults(scenario: Scenario) -> Scenario:
    nodes = scenario.nodes
    half = len(nodes) // 2
    net = attrs.evolve(scenario.network, loss=0.02, duplicate=0.02, faults_until=50,
                       partitions=(Partition(0, 20, nodes[:half], nodes[half:]),))
    return attrs.evolve(scenario, network=net, settle=50_000)


def timed(scenario: Scenario) -> tuple[float, RunResult]:
    gc.collect()
    start = time.perf_counter()
    result = simulate("gaplease", scenario)
    seconds = time.perf_counter() - start
    assert result.ok, result.violations[:1]
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--joiners", type=int, default=200)
    args = parser.parse_args()
    # Both under the settle rule, so the only difference is the faults.
    plain = attrs.evolve(build_scenario(args.joiners), settle=50_000)
    faulty = with_faults(plain)
    best = {"off": 0.0, "on": 0.0}
    sends = {}
    for _ in range(args.repeat):
        for name, scenario in (("off", plain), ("on", faulty)):
            seconds, result = timed(scenario)
            sends[name] = result.messages
            best[name] = max(best[name], result.messages / seconds)
    print(f"gaplease, 8 members + {args.joiners} joiners, Uniform(1, 10) latency, best of {args.repeat}")
    print(f"faults off: {sends['off']} messages, {best['off']:,.0f} messages/s")
    lost = "2% loss, 2% duplication, a partition t=0..20"
    print(f"faults on ({lost}): {sends['on']} messages, {best['on']:,.0f} messages/s")
    print(f"faults on / faults off: {best['on'] / best['off']:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
