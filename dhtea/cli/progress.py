"""A one-line progress display for long commands: redrawn in place on a
terminal, at most a few times a second, and silent anywhere else (a pipe, a
file, CI logs)."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO, enabled: bool | None = None, every: float = 0.25) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.every = every
        self.started = time.monotonic()  # a display's clock, never the simulation's
        self._last = 0.0
        self._shown = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def show(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Remove the line, so what is printed next starts clean."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
