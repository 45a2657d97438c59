"""The simulator notices a run that can go round in circles forever (a repeated
whole state, fairly reached) and reports `progress` as a short lasso."""

from __future__ import annotations

from dhtea import Join, JoinSchedule, Scenario, hunt, simulate
from dhtea.core.network import Network
from dhtea.protocols.gapowner import GapOwner
from tests.example_protocols import Forgetful, WrapAround


def _run(cls, ring, joins, **network):
    return simulate(cls, Scenario(ring=ring, joins=JoinSchedule(Join(j, 0, b) for j, b in joins), network=Network(**network)))


def test_wrap_around_request_is_a_lasso_not_a_hundred_thousand_events():
    result = _run(WrapAround, (0, 10, 20), [(30, 0)])
    assert result.signature == "progress" and result.status == "violation"
    assert len(result.events) < 20
    v = result.violations[0]
    assert "round in circles" in v.message and v.event == len(result.events) - 1
    assert set(v.nodes) == {0, 10, 20}


def test_retry_loop_on_a_lock_never_released_is_a_lasso_with_the_timer():
    result = _run(Forgetful, (0,), [(1, 0), (2, 0)])
    assert result.signature == "progress" and len(result.events) < 40
    assert any(e.kind == "timer" for e in result.events)


class Patient(GapOwner):
    """Polls its bootstrap with PING/PONG (the same state each round) until its
    CONNECT, delayed, arrives: a long run, but it comes to rest."""

    def on_join(self, ctx, bootstrap):
        super().on_join(ctx, bootstrap)
        ctx.send(bootstrap, "PING")

    def on_ping(self, ctx, msg):
        ctx.send(msg.src, "PONG")

    def on_pong(self, ctx, msg):
        if not self.member:
            ctx.send(msg.src, "PING")


def test_waiting_for_a_slow_message_while_polling_is_not_a_livelock():
    # The CONNECT takes 3000 time units; meanwhile the polls repeat the same state
    # thousands of times, but the CONNECT in flight is never handled in between.
    result = _run(Patient, (0,), [(1, 0)], delays=(3000,))
    assert result.ok and result.status == "rest"
    assert len(result.events) > 5000


def test_a_clean_run_is_unchanged():
    result = _run(GapOwner, (0, 10, 20), [(5, 0), (15, 10), (25, 20)])
    assert result.ok and result.status == "rest"


def test_a_hunt_finds_the_livelock_and_shrinks_it_to_a_few_events():
    report = hunt(WrapAround, examples=50, seed=0, max_bugs=1)
    (bug,) = report.bugs
    assert bug.signature == "progress"
    assert bug.joiners == 1 and len(bug.result.scenario.ring) == 1
    assert len(bug.result.events) <= 12


def test_a_long_clean_run_is_never_looked_at(monkeypatch):
    # Requests travel round the ring: a 48-node run is long, but not suspicious.
    import random

    from dhtea.core.network import Uniform
    from dhtea.drivers.livelock import RepeatWatch

    looks = []
    monkeypatch.setattr(RepeatWatch, "probe", lambda self, sim, seq: looks.append(seq))
    rng = random.Random(1)
    ids = rng.sample(range(100_000), 48)
    ring = sorted(ids[:8])
    joins = JoinSchedule(Join(j, 0, rng.choice(ring)) for j in ids[8:])
    result = simulate(GapOwner, Scenario(ring=ring, joins=joins, network=Network(Uniform(1, 10)), seed=1))
    assert result.ok and len(result.events) > 1_000
    assert looks == []


def test_a_spooled_run_that_livelocks_late_reports_its_first_repeat(tmp_path):
    from dhtea.core.spool import Spool
    from dhtea.drivers import simulator

    spool = Spool(tmp_path)
    try:
        monkey_every = simulator.SPILL_EVERY
        simulator.SPILL_EVERY = 50  # spill early, so the long first run writes chunks
        scenario = Scenario(ring=(0, 10, 20), joins=JoinSchedule([Join(30, 0, 0)]))
        result = simulate(WrapAround, scenario, spool=spool)
    finally:
        simulator.SPILL_EVERY = monkey_every
        spool.close()
    plain = simulate(WrapAround, scenario)
    assert result.signature == "progress" and list(result.events) == list(plain.events)
