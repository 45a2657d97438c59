"""Checking what a JSON file holds against tables of fields.

A file format is a table: a `record` maps each field name to a check, and
`optional(check)` marks a field that may be left out. Checks compose (`list_of`,
`nullable`, `mapping`), so a new field is one line in the table. A problem is
one `FieldError` line that names the field by its path (`events[4].msg.src`)
and shows the bad value cut short. Fields a table does not name are ignored, so
that files written by a newer dhtea with extra optional fields still load.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import attrs

from dhtea.traces.files import shown


class FieldError(ValueError):
    """A field with a wrong or missing value: one line naming the field."""


#: A check takes a value and where it is (`events[4].t`), returns nothing, raises FieldError.
Check = Callable[[Any, str], None]


def _bad(where: str, expected: str, value: object) -> FieldError:
    return FieldError(f"field '{where}' should be {expected}, got {shown(value)}")


def _is_int(value: object) -> bool:
    return type(value) is int


def _is_number(value: object) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def integer(low: int | None = None) -> Check:
    """An integer (not a boolean), at least `low` if given."""
    expected = "an integer" if low is None else f"an integer >= {low}"

    def check(value: Any, where: str) -> None:
        if not _is_int(value) or low is not None and value < low:
            raise _bad(where, expected, value)

    return check


def number(low: float | None = None, *, above: float | None = None) -> Check:
    """A finite number, at least `low` / strictly above `above` if given."""
    expected = "a finite number" + (f" >= {low:g}" if low is not None else "") + (f" > {above:g}" if above is not None else "")

    def check(value: Any, where: str) -> None:
        if not _is_number(value) or low is not None and value < low or above is not None and value <= above:
            raise _bad(where, expected, value)

    return check


def boolean(value: Any, where: str) -> None:
    if type(value) is not bool:
        raise _bad(where, "true or false", value)


def text(longest: int, *, name: bool = False) -> Check:
    """A string of at most `longest` characters; a `name` is also non-empty and
    printable (no newlines or terminal escapes)."""
    expected = f"a {'name' if name else 'string'} of {'1' if name else '0'} to {longest} characters"

    def check(value: Any, where: str) -> None:
        if not isinstance(value, str) or len(value) > longest or name and not (value and value.isprintable()):
            raise _bad(where, expected + (", printable" if name else ""), value)

    return check


def one_of(*choices: object) -> Check:
    expected = "one of " + ", ".join(map(repr, choices))

    def check(value: Any, where: str) -> None:
        if type(value) not in (str, int) or value not in choices:
            raise _bad(where, expected, value)

    return check


def nullable(inner: Check) -> Check:
    """null, or what `inner` accepts."""

    def check(value: Any, where: str) -> None:
        if value is not None:
            inner(value, where)

    return check


def list_of(item: Check, *, shortest: int = 0) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise _bad(where, "a list", value)
        if len(value) < shortest:
            raise FieldError(f"field '{where}' should have at least {shortest} element(s)")
        for i, x in enumerate(value):
            item(x, f"{where}[{i}]")

    return check


def mapping(key: Check, value: Check) -> Check:
    """An object whose names pass `key` and values pass `value`."""

    def check(obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise _bad(where, "an object", obj)
        for k, v in obj.items():
            key(k, f"{where} name")
            value(v, f"{where}.{k}")

    return check


@attrs.frozen
class Optional:
    """A field that may be left out of its record."""

    check: Check


def optional(check: Check) -> Optional:
    return Optional(check)


Fields = Mapping[str, "Check | Optional"]


def record(fields: Fields) -> Check:
    """An object holding every field of `fields` not marked `optional`, each passing its check."""

    def check(obj: Any, where: str) -> None:
        check_record(fields, obj, where)

    return check


def check_record(fields: Fields, obj: Any, where: str = "") -> None:
    """Check `obj` against the table `fields`; `where` is its path ('' for the whole file)."""
    if not isinstance(obj, dict):
        raise _bad(where, "an object", obj) if where else FieldError(f"should be a JSON object, got {shown(obj)}")
    prefix = f"{where}." if where else ""
    for name, spec in fields.items():
        if name not in obj:
            if isinstance(spec, Optional):
                continue
            raise FieldError(f"missing field '{prefix}{name}'")
        (spec.check if isinstance(spec, Optional) else spec)(obj[name], prefix + name)


def scalar(value: Any, where: str) -> None:
    """A message value: an integer, a string, true/false or null."""
    if value is not None and not isinstance(value, (bool, int, str)):
        raise _bad(where, "an integer, a string, true/false or null", value)
