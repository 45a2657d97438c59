"""The pytest plugin: the gate's fixtures and options, as a user's suite sees them."""

GATE = """
from hypothesis import given, settings
from dhtea import assert_ring_holds
from dhtea.strategies import scenarios

@settings(max_examples=300, database=None, deadline=None)
@given(scenario=scenarios())
def test_gate(dhtea_protocol, dhtea_save_dir, scenario):
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)
"""


def test_the_gate_passes_the_corrected_protocol_by_default(pytester):
    pytester.makepyfile(test_user_gate=GATE)
    pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_gate_fails_classic_and_saves_the_shrunk_trace(pytester):
    pytester.makepyfile(test_user_gate=GATE)
    saved = pytester.path / "failures"
    result = pytester.runpytest("-q", "--dhtea-protocol", "classic", "--dhtea-save", str(saved), "--hypothesis-seed", "1")
    result.assert_outcomes(failed=1)
    traces = list(saved.glob("classic-*.trace.json"))
    assert len(traces) == 1  # only the final, shrunk example is saved
    result.stdout.fnmatch_lines(["*violated at event #*", f"*replay with: dhtea replay {traces[0]}*"])


def test_an_unknown_protocol_is_a_usage_error(pytester):
    pytester.makepyfile(test_user_gate=GATE)
    result = pytester.runpytest("-q", "--dhtea-protocol", "nonesuch")
    assert result.ret == 4  # pytest's usage-error exit code
    result.stderr.fnmatch_lines(["*unknown protocol 'nonesuch'*"])
