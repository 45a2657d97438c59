"""The pytest plugin: the gate's fixtures and options, as a user's suite sees them."""

import subprocess
import sys
from pathlib import Path

import pytest

GATE = """
from hypothesis import Phase, given, settings
from dhtea import assert_ring_holds
from dhtea.strategies import scenarios

@settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate, Phase.shrink])
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


# -- failing gate examples do not come back as tests ----------------------------------------

# One fixed scenario with two joiners racing into one gap: classic breaks it.
QUICK_GATE = """
from dhtea import Join, JoinSchedule, Scenario, assert_ring_holds

def test_gate(dhtea_protocol, dhtea_save_dir):
    scenario = Scenario(ring=(0, 3), joins=JoinSchedule([Join(1, 0, 0), Join(2, 0, 3)]))
    assert_ring_holds(dhtea_protocol, scenario, save_dir=dhtea_save_dir)
"""


def test_a_saved_gate_failure_is_not_collected_again(pytester):
    """A project with no testpaths collects from its root, where reports/failures is."""
    pytester.makepyfile(test_user_gate=QUICK_GATE)
    first = pytester.runpytest("-q", "--dhtea-protocol", "classic")
    first.assert_outcomes(failed=1)
    [saved] = (pytester.path / "reports" / "failures").glob("classic-*.trace.json")
    first.stdout.fnmatch_lines(["*keep it as a regression test: copy it under your tests*"])
    again = pytester.runpytest("-q", "--dhtea-protocol", "classic")
    again.assert_outcomes(failed=1)  # the gate alone, not the saved file as well
    assert "still fails" not in again.stdout.str()
    # pointed at it, pytest runs it: a regression test that fails while the bug is there
    explicit = pytester.runpytest("-q", str(saved))
    explicit.assert_outcomes(failed=1)
    explicit.stdout.fnmatch_lines([f"{saved}: the saved counterexample still fails on classic*"])


def test_a_custom_save_folder_is_not_collected_either(pytester):
    pytester.makepyfile(test_user_gate=QUICK_GATE)
    args = ("-q", "--dhtea-protocol", "classic", "--dhtea-save", "new-bugs")
    pytester.runpytest(*args).assert_outcomes(failed=1)
    assert len(list((pytester.path / "new-bugs").glob("*.trace.json"))) == 1
    pytester.runpytest(*args).assert_outcomes(failed=1)


# -- the Hypothesis profiles ship with the plugin ---------------------------------------------

PROFILE_CHECK = """
from hypothesis import settings

def test_profile():
    assert settings.default.max_examples == {examples}
    assert settings.default.deadline is None
"""


@pytest.mark.parametrize("profile, examples", [("dhtea-ci", 150), ("dhtea-hunt", 10_000)])
def test_the_profiles_work_in_a_users_project(pytester, profile, examples):
    pytester.makepyfile(test_profile=PROFILE_CHECK.format(examples=examples))
    # a fresh process: only the plugin can have registered the profile there
    result = pytester.runpytest_subprocess("-q", f"--hypothesis-profile={profile}")
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


# -- --dhtea-protocol module:Class, found from the current folder ------------------------------

MY_PROTOCOL = """
from dhtea import GapOwner

class Mine(GapOwner):
    name = "mine"
"""


def test_plain_pytest_imports_the_protocol_from_the_current_folder(pytester):
    """As `dhtea hunt --protocol mymine:Mine` does; the `pytest` script lives in .venv/bin."""
    pytester.makepyfile(mymine=MY_PROTOCOL, test_user_gate=QUICK_GATE)
    script = Path(sys.executable).with_name("pytest")
    assert script.exists(), script
    proc = subprocess.run([str(script), "-q", "-p", "no:cacheprovider", "--dhtea-protocol", "mymine:Mine"],
                          cwd=pytester.path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
