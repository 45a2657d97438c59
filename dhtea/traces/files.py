"""Reading and writing dhtea's JSON files safely: atomic writes; bounded reads of
regular files only; one-line errors that echo what they read cut short."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import reprlib
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable

#: The environment variable that sets the largest input file dhtea reads, in MB.
MAX_INPUT_ENV = "DHTEA_MAX_INPUT_MB"
DEFAULT_MAX_INPUT_MB = 64
MB = 1 << 20
#: Longer integers in a file are refused: nothing dhtea writes comes close, and
#: converting a 5,000-digit literal is slow or refused by Python itself.
MAX_INT_DIGITS = 40


class InputError(ValueError):
    """Bad settings for reading input files: one line for the user."""


def write_text_atomic(path: str | os.PathLike, text: str | Iterable[str]) -> Path:
    """Write `text` (a string, or pieces of one) to `path` so that a reader
    never sees half a file, and a failed write leaves any earlier file at
    `path` as it was."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not our temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for piece in [text] if isinstance(text, str) else text:
                fh.write(piece)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def max_input_bytes() -> int:
    """The most bytes dhtea reads from one input file: `DHTEA_MAX_INPUT_MB`
    megabytes (MiB), default `DEFAULT_MAX_INPUT_MB`. A bad value is an InputError."""
    text = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_INPUT_MB * MB
    try:
        megabytes = float(text)
        if not 0 < megabytes < 2**40:
            raise ValueError
    except ValueError:
        raise InputError(f"{MAX_INPUT_ENV} should be a number of megabytes above 0, got {shown(text)}") from None
    return int(megabytes * MB)


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def read_input(path: str | os.PathLike, error: type[Exception]) -> str:
    """The text of an input file, read only if it is a regular file no bigger than
    `max_input_bytes()`: a pipe, a device or a folder never blocks nor fills memory.
    Any problem raises `error` with a one-line message naming the file."""
    path = Path(path)
    try:
        limit = max_input_bytes()
    except InputError as exc:
        raise error(str(exc)) from None
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise error(f"{path}: is {kind}; dhtea reads only regular files")
        def too_big(size: int) -> Exception:
            return error(f"{path}: larger than {limit / MB:.3g} MB, the cap on what dhtea reads from one file "
                         f"(to raise it, set {MAX_INPUT_ENV}, e.g. {MAX_INPUT_ENV}={size // MB + 1})")

        if info.st_size > limit:
            raise too_big(info.st_size)
        chunks, size = [], 0
        while size <= limit:  # read to the cap, never past it, even if the file grows meanwhile
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise too_big(size)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}); dhtea files are JSON in UTF-8") from None


class _HugeNumber(Exception):
    def __init__(self, digits: str) -> None:
        self.digits = digits


class _NotANumber(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS + 1 or len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _HugeNumber(text)
    return int(text)


def _parse_constant(name: str) -> float:
    raise _NotANumber(name)


def _line_of(text: str, needle: str) -> int:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else 0


def parse_json(text: str, path: str | os.PathLike, error: type[Exception]) -> Any:
    """JSON text as dhtea reads it: integers of at most `MAX_INT_DIGITS` digits, no
    NaN or Infinity. Any problem raises `error` with a one-line message naming the file."""
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        what = known_format(text)
        hint = f"; this looks like {what}" if what else ""
        # Some decoder messages end with "at" ("Unterminated string starting at"):
        # the line number completes them rather than following a second "at".
        raise error(f"{path}: not valid JSON ({exc.msg.removesuffix(' at')} at line {exc.lineno}){hint}") from None
    except _HugeNumber as exc:
        raise error(f"{path}: line {_line_of(text, exc.digits)}: an integer of {len(exc.digits.lstrip('-'))} digits; "
                    f"dhtea reads integers of at most {MAX_INT_DIGITS} digits") from None
    except _NotANumber as exc:
        raise error(f"{path}: line {_line_of(text, exc.name)}: {exc.name} is not allowed (numbers must be finite)") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply") from None
    except ValueError as exc:  # anything else the decoder refuses
        raise error(f"{path}: not valid JSON ({shown(str(exc))})") from None


def read_json(path: str | os.PathLike, error: type[Exception]) -> Any:
    """A JSON file's content (see `read_input` and `parse_json`); a missing,
    unreadable, special, oversized or malformed file raises `error` with a
    one-line message naming the file."""
    return parse_json(read_input(path, error), path, error)


#: The `format` of each kind of file dhtea writes, in words.
FORMATS = {
    "dhtea-trace": "a dhtea trace file",
    "dhtea-hunt": "a dhtea hunt summary (hunt.json)",
    "dhtea-log": "a dhtea node log",
}
_FORMAT_FIELD = re.compile(r'"format"\s*:\s*"(dhtea-[a-z]+)"')


def known_format(text: str) -> str | None:
    """What kind of dhtea file `text` seems to be, in words, from the first
    `format` field in its first lines; None if it names no known format."""
    found = _FORMAT_FIELD.search(text[:4096])
    return FORMATS.get(found.group(1)) if found else None


def shown(value: object, limit: int = 60) -> str:
    """`repr(value)` cut to about `limit` characters: how an error echoes what it read."""
    try:
        text = _SHORT.repr(value)
    except (ValueError, RecursionError):  # an int too long to print, a structure too deep
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        size = f"{len(value)} characters" if isinstance(value, str) else "cut"
        text = f"{text[:limit]}... ({size})"
    return text


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = _SHORT.maxlong = 80
_SHORT.maxlist = _SHORT.maxdict = _SHORT.maxtuple = 6
_SHORT.maxlevel = 3


def safe_name(text: str) -> str:
    """`text` with anything but letters, digits, `-` and `_` made `_`: a file name part."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
