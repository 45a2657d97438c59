"""A hunt's files, written as the hunt goes: each bug's trace the moment the
bug is shrunk, and `hunt.json` at the end, interrupted or not. A hunt that is
stopped never loses a bug it had found."""

from __future__ import annotations

import os
from pathlib import Path

from dhtea.search.hunting import Bug, HuntReport, bug_filename, save_hunt_summary
from dhtea.traces.files import write_text_atomic
from dhtea.traces.serial import trace_text


class OutputError(ValueError):
    """The output folder cannot be used: one line for the user."""


def prepare_out_dir(out_dir: str | os.PathLike) -> Path:
    """Create `out_dir` if needed and check that files can be written there,
    before any work is done."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create this folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: this folder is not writable")
    return out


class HuntOutput:
    """The trace files and summary of one hunt in `out_dir`."""

    def __init__(self, out_dir: str | os.PathLike, protocol: str) -> None:
        self.out = Path(out_dir)
        self.protocol = protocol
        self._written: dict[str, str] = {}  # file name -> text, for the files this hunt wrote

    def save_bug(self, bug: Bug, index: int) -> Path:
        """Save `bug` now, as the hunt's bug number `index` (1, 2, ...)."""
        return self._write(bug_filename(self.protocol, index, bug), trace_text(bug.result))

    def finish(self, report: HuntReport, settings: dict | None = None,
               expected: dict[str, list[str]] | None = None, *, timings: bool = True) -> tuple[list[Path], Path]:
        """Save the report's bugs under their final numbers (rewriting only what
        changed, removing files of this hunt that no bug names any more) and
        `hunt.json`; return (trace paths, summary path)."""
        names = [bug_filename(self.protocol, i, bug) for i, bug in enumerate(report.bugs, 1)]
        paths = [self._write(name, trace_text(bug.result)) for name, bug in zip(names, report.bugs)]
        for stale in sorted(set(self._written) - set(names)):
            (self.out / stale).unlink(missing_ok=True)
            del self._written[stale]
        return paths, save_hunt_summary(report, self.out, names, settings, timings=timings, expected=expected)

    def _write(self, name: str, text: str) -> Path:
        path = self.out / name
        if self._written.get(name) != text or not path.exists():
            write_text_atomic(path, text)
            self._written[name] = text
        return path
