"""The Hypothesis profiles dhtea's pytest plugin registers, so any project can
pick one with `--hypothesis-profile=NAME`:

- `dhtea-ci`: 150 examples per test, no deadline (simulations vary in length),
  the too-slow health check off. Quick enough for every commit.
- `dhtea-hunt`: 10,000 examples per test, no deadline, no health checks. For
  long hunts (minutes per gate test).

Neither runs Hypothesis's explain phase: it only annotates a failure's report
(which dhtea's timeline already explains) and costs more than finding the bug.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

_PHASES = [phase for phase in Phase if phase.name != "explain"]

PROFILES = {
    "dhtea-ci": dict(max_examples=150, deadline=None, phases=_PHASES, suppress_health_check=[HealthCheck.too_slow]),
    "dhtea-hunt": dict(max_examples=10_000, deadline=None, phases=_PHASES, suppress_health_check=list(HealthCheck)),
}


def register_profiles() -> None:
    """Register every dhtea profile with Hypothesis (loading none of them)."""
    for name, values in PROFILES.items():
        settings.register_profile(name, **values)
