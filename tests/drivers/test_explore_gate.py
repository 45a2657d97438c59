"""The exhaustive gate: gapowner has no violation in any scenario of every ring
of up to 3 members with up to 3 concurrent joiners (every bootstrap, every
delivery order); classic fails it with a shortest counterexample."""

from __future__ import annotations

import pytest

from dhtea.testing import RingViolation, ScopeNotProved, assert_scope_clean
from dhtea.traces.serial import read_trace


def test_gapowner_is_clean_in_every_small_scope():
    results = assert_scope_clean("gapowner", range(1, 4), range(0, 4))
    assert len(results) == 12 and all(r.complete and not r.found for r in results)
    assert sum(r.states for r in results) > 50_000


def test_classic_fails_with_its_shortest_counterexample_saved(tmp_path):
    with pytest.raises(RingViolation) as caught:
        assert_scope_clean("classic", 1, range(1, 3), save_dir=tmp_path)
    assert caught.value.result.signature == "joins-complete"
    assert "joins-complete violated" in str(caught.value)
    (path,) = tmp_path.glob("*.trace.json")
    assert read_trace(path).violations[0].invariant == "joins-complete"


def test_a_bounded_search_is_not_a_proof():
    with pytest.raises(ScopeNotProved, match="stopped at"):
        assert_scope_clean("gapowner", 2, 2, max_states=30)
