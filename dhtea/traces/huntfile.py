"""The hunt summary file, `hunt.json`, written next to a hunt's bug traces.

It records what a report needs about the hunt itself: the protocol, the seed,
how many scenarios ran, how long it took, the search settings, and the trace
file of each bug (names relative to the summary's folder). Everything but
`seconds` is the same for the same hunt, and `seconds` is optional: a hunt run
with `--no-timings` leaves it out, so its summary is the same bytes every time
(what the committed reports need).

Optional fields (a file without them reads as "not interrupted, no
statistics"): `interrupted` (true when Ctrl-C ended the hunt), `unshrunk` (bug
files saved before their shrinking was done), `statistics` (the scenarios run by
feature, the interesting states reached, and what was `never` exercised).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from dhtea.traces.files import read_json as _read_json
from dhtea.traces.files import shown, write_text_atomic
from dhtea.traces.schema import FieldError, Fields, boolean, check_record, integer, mapping, number, optional, text
from dhtea.traces.serial import MAX_NAME, NAME, TraceFileError, dumps

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
    interrupted: bool = False
    statistics: dict = attrs.field(factory=dict)  # see `summary_dict`; {} when the file has none


def summary_dict(protocol: str, seed: int, examples: int, seconds: float | None, bugs: list[str], settings: dict,
                 statistics: dict | None = None, interrupted: bool = False, unshrunk: list[str] | None = None) -> dict:
    """The summary as JSON data; `seconds=None` leaves the wall-clock time out."""
    data = {"format": HUNT_FORMAT, "version": HUNT_VERSION, "protocol": protocol, "seed": seed, "examples": examples}
    if seconds is not None:
        data["seconds"] = round(seconds, 2)
    data.update({"settings": settings, "bugs": bugs})
    if interrupted:
        data["interrupted"] = True
    if unshrunk:
        data["unshrunk"] = unshrunk
    if statistics is not None:
        data["statistics"] = statistics
    return data


def save_summary(out_dir: str | os.PathLike, data: dict) -> Path:
    return write_text_atomic(Path(out_dir) / SUMMARY_NAME, dumps(data))


def is_summary(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == HUNT_FORMAT


def _bug_file(value: Any, where: str) -> None:
    """A trace file name relative to the summary's folder: never an absolute path or `..`."""
    text(1000, name=True)(value, where)
    if Path(value).is_absolute() or ".." in Path(value).parts:
        raise FieldError(f"field '{where}' should be a file name in the summary's folder, got {shown(value)}")


def _bug_files(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise FieldError(f"field '{where}' should list trace file names, got {shown(value)}")
    for i, name in enumerate(value):
        _bug_file(name, f"{where}[{i}]")


def _setting(value: Any, where: str) -> None:
    """A search setting: a number, a string, true/false, null, or a list of these."""
    for v in value if isinstance(value, list) else (value,):
        if v is not None and not isinstance(v, (bool, int, float, str)) or isinstance(v, str) and len(v) > MAX_NAME:
            raise FieldError(f"field '{where}' should be a number, a short string, true/false, null or a list of "
                             f"these, got {shown(value)}")


def _statistics(value: Any, where: str) -> None:
    if not _valid_statistics(value):
        raise FieldError(f"field '{where}' should hold runs, features, states and never, got {shown(value)}")


# One line per field; `optional(...)` for a field older summaries lack.
HUNT_FIELDS: Fields = {
    "protocol": NAME,
    "seed": integer(),
    "examples": integer(0),
    "seconds": optional(number(0)),  # left out by --no-timings
    "bugs": _bug_files,
    "settings": optional(mapping(text(MAX_NAME, name=True), _setting)),
    "interrupted": optional(boolean),
    "statistics": optional(_statistics),
    "unshrunk": optional(_bug_files),  # bug files saved before their shrinking was done
}


def summary_from_data(path: Path, data: Any) -> HuntSummary:
    """Check a parsed `hunt.json`; any problem is a one-line `HuntFileError`."""
    if not isinstance(data, dict):
        raise HuntFileError(f"{path}: not a hunt summary: the file should be a JSON object, got {shown(data, 30)}")
    version = data.get("version")
    if type(version) is not int or version != HUNT_VERSION:
        raise HuntFileError(f"{path}: unsupported hunt summary version {shown(version)} (this dhtea reads version {HUNT_VERSION})")
    try:
        check_record(HUNT_FIELDS, data)
    except FieldError as exc:
        raise HuntFileError(f"{path}: {exc}") from None
    return HuntSummary(
        path=path,
        protocol=data["protocol"],
        seed=data["seed"],
        examples=data["examples"],
        seconds=float(data["seconds"]) if "seconds" in data else None,
        bugs=tuple(path.parent / b for b in data["bugs"]),
        settings=data.get("settings", {}),
        interrupted=data.get("interrupted", False),
        statistics=data.get("statistics", {}),
    )


def _valid_statistics(stats: Any) -> bool:
    """Counts are whole numbers under names, as `Coverage.to_dict` writes them."""
    if stats == {}:
        return True
    if not isinstance(stats, dict) or not _count(stats.get("runs")):
        return False
    features, states, never = stats.get("features"), stats.get("states"), stats.get("never")
    return (
        isinstance(features, dict) and all(isinstance(c, dict) and all(map(_count, c.values())) for c in features.values())
        and isinstance(states, dict) and all(map(_count, states.values()))
        and isinstance(never, list) and all(isinstance(n, str) for n in never)
    )


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file's content; a missing or malformed file is a one-line `HuntFileError`."""
    return _read_json(path, HuntFileError)
