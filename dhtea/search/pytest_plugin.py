"""pytest plugin (registered as `dhtea`).

- `--dhtea-protocol NAME` picks the protocol the `dhtea_protocol` fixture gives
  to gate tests (default `gapowner`); `--dhtea-save DIR` is where failing gate
  examples are saved as trace files (the `dhtea_save_dir` fixture).
- Every `*.trace.json` file under the test paths is collected as a test that
  replays it and passes only if the run is identical to the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dhtea.protocols import UnknownProtocol, load_protocol
from dhtea.search.replaying import replay
from dhtea.traces.serial import TraceFileError, read_trace


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dhtea")
    group.addoption("--dhtea-protocol", default="gapowner", help="protocol for dhtea gate tests (name or module:Class)")
    group.addoption("--dhtea-save", default="reports/failures", help="folder for traces of failing gate examples")


def pytest_configure(config: pytest.Config) -> None:
    # A wrong --dhtea-protocol is the user's mistake: say so before any test runs.
    try:
        load_protocol(config.getoption("dhtea_protocol"))
    except UnknownProtocol as exc:
        raise pytest.UsageError(f"--dhtea-protocol: {exc}") from None


@pytest.fixture(scope="session")
def dhtea_protocol(pytestconfig: pytest.Config) -> type:
    return load_protocol(pytestconfig.getoption("dhtea_protocol"))


@pytest.fixture(scope="session")
def dhtea_save_dir(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("dhtea_save"))


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.name.endswith(".trace.json"):
        return TraceFileCollector.from_parent(parent, path=file_path)
    return None


class TraceFileCollector(pytest.File):
    def collect(self):
        yield TraceReplayItem.from_parent(self, name="replay")


class TraceReplayItem(pytest.Item):
    """Replays one trace file; fails if the run differs from it in any event."""

    def runtest(self) -> None:
        outcome = replay(read_trace(self.path))
        if not outcome.identical:
            raise TraceMismatch(outcome.verdict)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (TraceMismatch, TraceFileError, UnknownProtocol)):
            return f"{self.path}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"replay {self.path.name}"


class TraceMismatch(AssertionError):
    """A replayed run differs from its trace file."""
