"""Ctrl-C during a hunt, caught as a request to stop where nothing is half done.

A KeyboardInterrupt raised at an arbitrary point may land inside Hypothesis's
engine or in a garbage-collector callback, where it is lost or leaves the
engine half updated. So while a hunt runs, Ctrl-C is counted instead: the hunt
checks `pressed` at safe points (between two runs, between two messages from
its workers) and stops there, keeping what it found. The second Ctrl-C
interrupts at once if `second_interrupts`. Only in the main thread, and only
where Ctrl-C still has Python's default meaning (not inside a program, or a
worker process, that handles it itself).
"""

from __future__ import annotations

import signal
import threading


class CtrlC:
    def __init__(self, second_interrupts: bool = True) -> None:
        self.count = 0
        self.second_interrupts = second_interrupts
        self._installed = False

    @property
    def pressed(self) -> bool:
        return self.count > 0

    def __enter__(self) -> "CtrlC":
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._press)
            self._installed = True
        return self

    def _press(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count >= 2 and self.second_interrupts:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._installed = False
