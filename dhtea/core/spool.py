"""Where a long run's trace goes instead of memory: chunks of a `Trace`, pickled
one after another into a temporary file, read back in order."""

from __future__ import annotations

import os
import pickle
import tempfile
from array import array
from pathlib import Path
from typing import Iterator


class Spool:
    """A temporary file of trace chunks (event times, arrival times and log), removed by `close`
    or when the spool is garbage. `folder` is where it lives (default: the
    system's temporary folder); put it next to the trace file being written."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix=".dhtea-spool-", suffix=".bin", dir=folder)
        self.path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self.chunks = 0

    def append(self, times: array, arrivals: array, log: list) -> None:
        pickle.dump((times.tobytes(), arrivals.tobytes(), log), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.chunks += 1

    def __iter__(self) -> Iterator[tuple[array, array, list]]:
        self._file.flush()
        with open(self.path, "rb") as fh:
            for _ in range(self.chunks):
                raw_times, raw_arrivals, log = pickle.load(fh)
                times, arrivals = array("d"), array("d")
                times.frombytes(raw_times)
                arrivals.frombytes(raw_arrivals)
                yield times, arrivals, log

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to do
            pass
