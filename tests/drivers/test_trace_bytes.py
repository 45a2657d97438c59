"""The exact bytes of saved traces, pinned: a faster simulator must write the
same files. Each scenario below was run once and the SHA-256 of its trace text
recorded; any change to what the simulator records, or to how it is written,
changes a digest.

The scenarios cover both protocols, every latency model, per-link overrides,
scripted delays, FIFO links, timers, lost messages, handler errors, the event
limit, the deadline, queues that grow long, protocols that handle their queue
in unusual ways or build their own view, and churn and faults (leaves,
crashes, loss, duplication, a partition, the settle window).
"""

from __future__ import annotations

import hashlib
import random  # determinism-ok: a seeded random.Random builds the scenarios

import attrs
import pytest

from dhtea import (
    Join,
    JoinSchedule,
    LinkLatency,
    LogNormal,
    Network,
    Pareto,
    Scenario,
    Uniform,
    simulate,
)
from dhtea.core.network import Bimodal, Constant, Exponential, Partition
from dhtea.core.scenario import Crash, Leave
from dhtea.traces.serial import dumps, result_to_dict, trace_text
from tests.drivers.queue_protocols import OwnView, QueueJuggler
from tests.example_protocols import Crashing, HalfDone, Lost, Rearm, TimerJoin


def _crowd(protocol, joiners: int, seed: int, network: Network, *, ring_size: int = 5, spread: int = 3, ring=None, options=None, **extra):
    rng = random.Random(seed)
    ids = rng.sample(range(5, 5000), ring_size + joiners)
    ring = sorted(ring or ids[:ring_size])
    joins = [Join(j, rng.randrange(spread), rng.choice(ring)) for j in ids[ring_size:]]
    return protocol, Scenario(ring=ring, joins=JoinSchedule(joins), network=network, seed=seed, **extra), options or {}


def _churned(protocol, joiners: int, seed: int, network: Network, *, leaves: int = 2, crashes: int = 1, **extra):
    protocol, scenario, options = _crowd(protocol, joiners, seed, network, ring_size=6, **extra)
    rng = random.Random(seed)
    departing = rng.sample(scenario.ring, leaves + crashes)
    churn = [Leave(n, rng.uniform(0, 6)) for n in departing[:leaves]] + [Crash(n, rng.uniform(0, 6)) for n in departing[leaves:]]
    return protocol, attrs.evolve(scenario, churn=churn), options


SCENARIOS = {
    "gapowner-crowd-uniform": _crowd("gapowner", 60, 1, Network(latency=Uniform(1, 10))),
    "gapowner-crowd-constant": _crowd("gapowner", 40, 2, Network(latency=Constant(1)), spread=1),
    "gapowner-exponential-fifo": _crowd("gapowner", 25, 3, Network(latency=Exponential(2, 0.5), fifo=True)),
    "gapowner-pareto-links-delays": _crowd(
        "gapowner",
        20,
        4,
        Network(latency=Pareto(1, 1.5), links=[LinkLatency(7, 300, Uniform(0, 2))], delays=(5, 0, 3, 9, 1)),
    ),
    "gapowner-bimodal-deadline": _crowd("gapowner", 30, 5, Network(latency=Bimodal(1, 40, 0.2)), deadline=30),
    "gapowner-max-events": _crowd("gapowner", 30, 6, Network(latency=Uniform(1, 3)), max_events=150),
    "classic-crowd-lognormal": _crowd("classic", 12, 7, Network(latency=LogNormal(3, 1.0))),
    "classic-crowd-uniform": _crowd("classic", 30, 8, Network(latency=Uniform(1, 10))),
    "classic-two-joiners": ("classic", Scenario(ring=(0, 3), joins=JoinSchedule([Join(1, 0, 0), Join(2, 0, 3)])), {}),
    "juggler": _crowd(QueueJuggler, 40, 9, Network(latency=Uniform(0, 4)), ring_size=3),
    "gapowner-unchecked": _crowd("gapowner", 30, 11, Network(latency=Uniform(0, 2)), options={"check": False}),
    "classic-unchecked": _crowd("classic", 30, 12, Network(latency=Uniform(0, 2)), options={"check": False}),
    "own-view": _crowd(OwnView, 15, 10, Network(latency=Exponential(1)), ring_size=4),
    "timer-join": (TimerJoin, Scenario(ring=(5,), joins=JoinSchedule([Join(9, 0, 5)])), {}),
    "rearm": (Rearm, Scenario(ring=(1, 2), joins=JoinSchedule([Join(3, 0, 1)])), {}),
    "crashing": (Crashing, Scenario(ring=(1, 2), joins=JoinSchedule([Join(3, 1, 1)])), {}),
    "half-done": (HalfDone, Scenario(ring=(1, 2), joins=JoinSchedule([Join(3, 1, 2)])), {}),
    "lost": (Lost, Scenario(ring=(1, 2), joins=JoinSchedule([Join(3, 0, 1)])), {}),
    "classic-leaves-and-crash": _churned("classic", 8, 13, Network(latency=Uniform(1, 4))),
    "gapowner-crash-settle": _churned("gapowner", 10, 14, Network(latency=Uniform(1, 4)), settle=40, leaves=0),
    "gapowner-loss-duplication": _crowd(
        "gapowner", 12, 15, Network(latency=Uniform(1, 3), loss=0.1, duplicate=0.2), settle=60
    ),
    "classic-partition": _crowd(
        "classic", 6, 16, Network(latency=Constant(1), partitions=[Partition(0, 5, (1, 2), (3, 4))]),
        ring=(1, 2, 3, 4),
    ),
}

# SHA-256 of the trace file's text for each scenario above (tracebacks left out),
# recorded before the simulator's per-message work was reduced.
DIGESTS = {
    "classic-crowd-lognormal": "bdc045730c33e8b93c576bb0454b5d7f8b4bc31944fdd15d29222eb9dccb4ca6",
    "classic-crowd-uniform": "569cde9afc5a91f53103c2918c8426b38635725d2321422797c25757f1d079cd",
    "classic-leaves-and-crash": "6ba0f07ea2fdcb2f70e44ac4634e6d857a1ab9ace0609601ec9c9aa02fe2c807",
    "classic-partition": "f2619281b079b979433c7925eab9ce0211c9b882006171dae3ce6be4f21c0cff",
    "classic-two-joiners": "2c565b302708c6ff414eefacb10b86ed854a96790701bce9bd11ea809f45d7cf",
    "classic-unchecked": "d50b45b2a2c73abff276905da8900427fc0bb54167c784e4a4184996fcc8e25e",
    "crashing": "e58270c5c4d26c11b940cbacc566935e4f02bf59ad02e62151eea4c1c7d3be61",
    "gapowner-bimodal-deadline": "a7f384c3028fcd8bcb0ac4d61653bbdb75accdbe3608802eb3ce5581d7942261",
    "gapowner-crash-settle": "144688ef349bff0249bbfe6cec9db0876ac057d7adb7510c20ab9da2599bea80",
    "gapowner-crowd-constant": "50229bc014c11853c1b9f7550cf63a51d118378ffa60ea57a2a0d665e419586c",
    "gapowner-crowd-uniform": "c778cf67b3b8fc7d1d6d3872eaac13a27a62c5318b27e0318ce48aea58704788",
    "gapowner-exponential-fifo": "4a96207e7a426f014e4c611ed36fefd68a1851a2a1aaed33aa959d7cd1ad3168",
    "gapowner-loss-duplication": "870b4a7b8b24e8020ead265cbe310bf45c94a16ab4cfc269c8fc1518455d2c1d",
    "gapowner-max-events": "5d8e8e991089d4eedbd2a3fa40eb50e77c7a218e89270bb0f473eea00176e284",
    "gapowner-pareto-links-delays": "a03e5edf153fb3e83ab565d7e43c2e8480191b0570d5a0be0abc51ac9dd5bfb3",
    "gapowner-unchecked": "eb1fb69272ab9b42f917d76264a9df547d71373033030bdcdf9dbe17c2ad0a25",
    "half-done": "1304ed16fc40cddbc800cf82c60af9bef5fa20ad18af520f7254fbb1e2e6b0d3",
    "juggler": "ba08e5c0e2973aa9953056ea8c32e1b1734cbc488730bb9b5154898e1814a0c2",
    "lost": "3e38b1e36838f9924c3b922e63d4e748941f383500a480d02031d556034957ff",
    "own-view": "88accdab490ce72e87be71464ff090c363d454dd254259380d25588dda60a8d7",
    "rearm": "076a2f368d8161477cd0a7218d8c5c1d0304f698a8b241884ae4a562d2d858bf",
    "timer-join": "1e594508f27106ecd823eb6c5d7141974ff8077ab859c32e0fd17b68e935ca80",
}


def _digest(name: str) -> str:
    protocol, scenario, options = SCENARIOS[name]
    data = result_to_dict(simulate(protocol, scenario, **options))
    for v in data["violations"]:
        # A handler error's traceback names source lines, which move whenever the
        # protocol's file is edited; what it records is tested with the traceback.
        v.pop("traceback", None)
    return hashlib.sha256(dumps(data).encode()).hexdigest()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_saved_trace_bytes_are_pinned(name):
    assert _digest(name) == DIGESTS[name]


def test_the_scenarios_cover_every_ending_and_long_queues():
    results = {name: simulate(protocol, scenario, **options) for name, (protocol, scenario, options) in SCENARIOS.items()}
    statuses = {r.status for r in results.values()}
    assert statuses >= {"rest", "violation", "deadline", "max-events"}
    assert {r.signature for r in results.values()} >= {None, "handler-error", "progress"}
    longest = max(len(c[2]) for e in results["gapowner-crowd-constant"].events for c in e.changes if c[0] == "queue")
    assert longest >= 5  # queues grew: their changes are recorded in full in the file
    assert any(e.kind == "timer" for e in results["rearm"].events)
    kinds = {e.kind for r in results.values() for e in r.events}
    assert kinds == {"join", "send", "deliver", "timer", "leave", "crash", "drop"}
    assert {e.fault for r in results.values() for e in r.events} == {None, "lost", "duplicated", "partitioned"}
    assert results["gapowner-unchecked"].ok and not results["classic-unchecked"].ok  # found at the end, not on the way


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_written_trace_text_is_the_pinned_text(name):
    # Files are written event by event (`trace_text`, `save_trace`) by a
    # direct encoder; it must give exactly the canonical text pinned above.
    protocol, scenario, options = SCENARIOS[name]
    result = simulate(protocol, scenario, **options)
    assert trace_text(result) == dumps(result_to_dict(result))
