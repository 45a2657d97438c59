import os

from hypothesis import settings

pytest_plugins = ["pytester"]

# Hunts run by the tests start from nothing: no examples kept from earlier runs
# (tests of the example database set their own folder).
os.environ.setdefault("DHTEA_DATABASE", "off")

# Fast in CI; `--hypothesis-profile=dhtea-hunt` (or DHTEA_PROFILE) for long hunts.
# dhtea's pytest plugin registers both profiles.
settings.load_profile(os.environ.get("DHTEA_PROFILE", "dhtea-ci"))
