import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

# Fast in CI; `--hypothesis-profile=dhtea-hunt` (or DHTEA_PROFILE) for long hunts.
settings.register_profile("dhtea-ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dhtea-hunt", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("DHTEA_PROFILE", "dhtea-ci"))
