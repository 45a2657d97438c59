"""The CI gate: random join scenarios must never break a ring invariant.

Runs against `--dhtea-protocol` (default: the corrected `gapowner`). Hunt for
bugs with `pytest tests/search/test_gate.py --hypothesis-seed=S`, at length with
`--hypothesis-profile=dhtea-hunt`, or point it at `classic` to watch it fail.
"""

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from dhtea import Classic, RingViolation, assert_ring_holds
from dhtea.protocols.gapowner import GapLease
from dhtea.strategies import initial_rings, networks, scenarios, scenarios_for


@given(scenario=scenarios())
def test_concurrent_joins_keep_the_ring(dhtea_protocol, dhtea_save_dir, scenario):
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)


@given(scenario=scenarios(rings=initial_rings(max_size=8), max_joiners=10, max_start=2))
def test_many_joiners_into_larger_rings(dhtea_protocol, dhtea_save_dir, scenario):
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)


@given(scenario=scenarios(network=networks(fifo=True)))
def test_fifo_links(dhtea_protocol, dhtea_save_dir, scenario):
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)


@given(data=st.data())
def test_claimed_churn_and_faults_keep_the_ring(dhtea_protocol, dhtea_save_dir, data):
    """Everything the protocol claims to tolerate (`tolerates`), all at once."""
    scenario = data.draw(scenarios_for(dhtea_protocol), label="scenario")
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)


@given(data=st.data())
def test_gaplease_survives_everything_it_claims(dhtea_save_dir, data):
    """gapowner with retries and leases: leaves, loss, duplication, partitions, joiner crashes.
    Leaves by joiners too, the moment they are in among them."""
    scenario = data.draw(scenarios_for(GapLease), label="scenario")
    assert_ring_holds(GapLease, scenario, save_dir=dhtea_save_dir)


def test_the_gate_fails_on_the_classic_protocol(tmp_path):
    """The gate is not vacuous: the same check finds a counterexample in classic."""

    def breaks(scenario):
        try:
            assert_ring_holds(Classic, scenario)
        except RingViolation:
            return True
        return False

    config = settings(max_examples=300, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    scenario = find(scenarios(), breaks, settings=config)
    with pytest.raises(RingViolation) as excinfo:
        assert_ring_holds(Classic, scenario, save_dir=tmp_path)
    message = str(excinfo.value)
    assert "violated at event #" in message
    saved = list(tmp_path.glob("classic-*.trace.json"))
    assert len(saved) == 1 and f"dhtea replay {saved[0]}" in message
