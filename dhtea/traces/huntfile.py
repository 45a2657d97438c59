"""The hunt summary file, `hunt.json`, written next to a hunt's bug traces.

It records what a report needs about the hunt itself: the protocol, the seed,
how many scenarios ran, how long it took, the search settings, and the trace
file of each bug (names relative to the summary's folder). Everything but
`seconds` is the same for the same hunt, and `seconds` is optional: a hunt run
with `--no-timings` leaves it out, so its summary is the same bytes every time
(what the committed reports need).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from dhtea.traces.files import read_json as _read_json
from dhtea.traces.files import write_text_atomic
from dhtea.traces.serial import TraceFileError, dumps

HUNT_FORMAT = "dhtea-hunt"
HUNT_VERSION = 1
SUMMARY_NAME = "hunt.json"


class HuntFileError(TraceFileError):
    """A hunt summary that cannot be read: the message is one line for the user."""


@attrs.frozen
class HuntSummary:
    path: Path
    protocol: str
    seed: int
    examples: int
    seconds: float | None  # None: not recorded (--no-timings)
    bugs: tuple[Path, ...]  # the bug trace files, resolved against the summary's folder
    settings: dict = attrs.field(factory=dict)


def summary_dict(protocol: str, seed: int, examples: int, seconds: float | None, bugs: list[str], settings: dict) -> dict:
    """The summary as JSON data; `seconds=None` leaves the wall-clock time out."""
    data = {"format": HUNT_FORMAT, "version": HUNT_VERSION, "protocol": protocol, "seed": seed, "examples": examples}
    if seconds is not None:
        data["seconds"] = round(seconds, 2)
    return {**data, "settings": settings, "bugs": bugs}


def save_summary(out_dir: str | os.PathLike, data: dict) -> Path:
    return write_text_atomic(Path(out_dir) / SUMMARY_NAME, dumps(data))


def is_summary(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == HUNT_FORMAT


def summary_from_data(path: Path, data: Any) -> HuntSummary:
    """Check a parsed `hunt.json`; any problem is a one-line `HuntFileError`."""

    def field(name: str, kind: type | tuple[type, ...]) -> Any:
        if name not in data:
            raise HuntFileError(f"{path}: missing field '{name}'")
        value = data[name]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise HuntFileError(f"{path}: field '{name}' has the wrong type ({value!r})")
        return value

    version = data.get("version")
    if type(version) is not int or version != HUNT_VERSION:
        raise HuntFileError(f"{path}: unsupported hunt summary version {version!r} (this dhtea reads version {HUNT_VERSION})")
    bugs = field("bugs", list)
    if not all(isinstance(b, str) and b for b in bugs):
        raise HuntFileError(f"{path}: field 'bugs' should list trace file names")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise HuntFileError(f"{path}: field 'settings' should be an object")
    return HuntSummary(
        path=path,
        protocol=field("protocol", str),
        seed=field("seed", int),
        examples=field("examples", int),
        seconds=float(field("seconds", (int, float))) if "seconds" in data else None,
        bugs=tuple(path.parent / b for b in bugs),
        settings=settings,
    )


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file's content; a missing or malformed file is a one-line `HuntFileError`."""
    return _read_json(path, HuntFileError)
