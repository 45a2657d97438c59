import os

from hypothesis import settings

pytest_plugins = ["pytester"]

# Fast in CI; `--hypothesis-profile=dhtea-hunt` (or DHTEA_PROFILE) for long hunts.
# dhtea's pytest plugin registers both profiles.
settings.load_profile(os.environ.get("DHTEA_PROFILE", "dhtea-ci"))
