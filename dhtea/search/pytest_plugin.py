"""pytest plugin (registered as `dhtea`).

Options (each also an ini setting: `dhtea_protocol`, `dhtea_replay`, `dhtea_save`):

- `--dhtea-protocol NAME`: the protocol under test (`classic`, `gapowner` or
  `module:Class`, imported from the current folder as `dhtea hunt` does). Gate
  tests get it from the `dhtea_protocol` fixture (`gapowner` when none is given).
- `--dhtea-replay regression|exact`: what a collected `*.trace.json` checks.
  `regression` (the default): the trace's scenario, run on the protocol under
  test (or, when none is given, on the trace's own protocol) and checked with
  the trace's invariants, must violate nothing; a saved counterexample thus
  fails while its bug is there and passes once it is fixed. `exact`: the
  trace's own protocol must reproduce the file exactly (events, violations,
  status, end time, final views), as `dhtea replay --strict` does.
- `--dhtea-save DIR` (default `reports/failures`): where failing gate examples
  are saved as trace files (the `dhtea_save_dir` fixture). Trace files in it
  are not collected, unless pytest is pointed into it: a new failure is for
  looking at, and becomes a regression test once copied under the tests.

The plugin also registers the Hypothesis profiles `dhtea-ci` and `dhtea-hunt`
(see `dhtea.search.profiles`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dhtea.protocols import UnknownProtocol, load_protocol
from dhtea.search.profiles import register_profiles
from dhtea.search.replaying import replay
from dhtea.show.timeline import format_result
from dhtea.traces.serial import TraceFileError, read_trace
from invariants.names import UnknownInvariant

# At import, before Hypothesis's own plugin loads a `--hypothesis-profile`.
register_profiles()

GATE_DEFAULT_PROTOCOL = "gapowner"
REPLAY_MODES = ("regression", "exact")
DEFAULT_SAVE = "reports/failures"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dhtea")
    group.addoption(
        "--dhtea-protocol",
        default=None,
        help="protocol under test (name or module:Class): for gate tests (default gapowner) "
        "and for collected trace files (default: each trace's own)",
    )
    group.addoption(
        "--dhtea-replay",
        default=None,
        choices=REPLAY_MODES,
        help="collected *.trace.json: 'regression' (default) passes when the scenario violates nothing, "
        "'exact' when the trace's own protocol reproduces the file exactly",
    )
    group.addoption("--dhtea-save", default=None, help=f"folder for traces of failing gate examples (default {DEFAULT_SAVE})")
    parser.addini("dhtea_protocol", "protocol under test (as --dhtea-protocol)", default="")
    parser.addini("dhtea_replay", "regression or exact (as --dhtea-replay)", default="")
    parser.addini("dhtea_save", "folder for traces of failing gate examples (as --dhtea-save)", default="")


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(name)
    return value if value is not None else (config.getini(name) or None)


def pytest_configure(config: pytest.Config) -> None:
    # `module:Class` and `module:name` are found from the current folder, as
    # with `dhtea hunt`; the `pytest` script's own folder is .venv/bin.
    here = str(config.invocation_params.dir)
    if here not in sys.path:
        sys.path.insert(0, here)
    protocol = _setting(config, "dhtea_protocol")
    if protocol is not None:  # a wrong one is the user's mistake: say so before any test runs
        try:
            load_protocol(protocol)
        except UnknownProtocol as exc:
            raise pytest.UsageError(f"--dhtea-protocol: {exc}") from None
    mode = _setting(config, "dhtea_replay") or "regression"
    if mode not in REPLAY_MODES:
        raise pytest.UsageError(f"dhtea_replay: expected one of {', '.join(REPLAY_MODES)}, got {mode!r}")
    save = Path(_setting(config, "dhtea_save") or DEFAULT_SAVE)
    config.stash[_SETTINGS] = _Settings(protocol, mode, save, (config.invocation_params.dir / save).resolve())


class _Settings:
    def __init__(self, protocol: str | None, mode: str, save: Path, save_resolved: Path) -> None:
        self.protocol = protocol
        self.mode = mode
        self.save = save  # as given: relative to the current folder when the example is saved
        self.save_resolved = save_resolved


_SETTINGS = pytest.StashKey[_Settings]()


@pytest.fixture(scope="session")
def dhtea_protocol(pytestconfig: pytest.Config) -> type:
    return load_protocol(pytestconfig.stash[_SETTINGS].protocol or GATE_DEFAULT_PROTOCOL)


@pytest.fixture(scope="session")
def dhtea_save_dir(pytestconfig: pytest.Config) -> Path:
    return pytestconfig.stash[_SETTINGS].save


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _asked_for(config: pytest.Config, folder: Path) -> bool:
    """Whether a command-line argument points into `folder` (then it is collected)."""
    for arg in config.args:
        target = Path(arg.split("::")[0])
        target = (config.invocation_params.dir / target).resolve()
        if _inside(target, folder):
            return True
    return False


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if not file_path.name.endswith(".trace.json"):
        return None
    settings = parent.config.stash[_SETTINGS]
    save = settings.save_resolved
    if _inside(file_path.resolve(), save) and not _asked_for(parent.config, save):
        return None
    return TraceFileCollector.from_parent(parent, path=file_path)


class TraceFileCollector(pytest.File):
    def collect(self):
        settings = self.config.stash[_SETTINGS]
        yield TraceItem.from_parent(self, name=settings.mode, mode=settings.mode, protocol=settings.protocol)


class TraceItem(pytest.Item):
    """One trace file as a test: a regression test, or an exact replay."""

    def __init__(self, *, mode: str, protocol: str | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mode = mode
        self.protocol = protocol

    def runtest(self) -> None:
        trace = read_trace(self.path)
        if self.mode == "exact":
            outcome = replay(trace)
            if not outcome.exact:
                raise TraceMismatch(f"exact replay: {outcome.verdict}")
            return
        protocol = self.protocol or trace.protocol
        outcome = replay(trace, protocol=protocol)
        if not outcome.result.ok:
            raise StillFailing(outcome.result, self.path, protocol, trace.protocol)

    def repr_failure(self, excinfo, style=None):
        error = excinfo.value
        if isinstance(error, (TraceMismatch, StillFailing, TraceFileError, UnknownProtocol, UnknownInvariant)):
            text = str(error)
            return text if text.startswith(str(self.path)) else f"{self.path}: {text}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.mode} {self.path.name}"


class TraceMismatch(AssertionError):
    """An exact replay differs from its trace file."""


class StillFailing(AssertionError):
    """A saved counterexample still breaks an invariant: its bug is there."""

    def __init__(self, result, path: Path, protocol: str, own: str) -> None:
        self.result = result
        again = f"dhtea replay {path}" + (f" --protocol {protocol}" if protocol != own else "")
        super().__init__(
            f"{path}: the saved counterexample still fails on {result.protocol}: {result.violations[0]}\n\n"
            f"{format_result(result)}\n\nrun it again: {again}"
        )
