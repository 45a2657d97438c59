"""Messages between nodes: a kind, a sender, a receiver and a few named values."""

from __future__ import annotations

from typing import NamedTuple

Scalar = int | str | bool | None
_SCALARS = (int, str, type(None))  # bool is an int


def _check_data(data: tuple) -> None:
    for item in data:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(f"message data must be (name, value) pairs, got {item!r}")
        if not isinstance(item[1], _SCALARS):
            raise ValueError(f"message value {item[0]}={item[1]!r} is not an int, str, bool or None")


class _Fields(NamedTuple):
    kind: str
    src: int
    dst: int
    data: tuple[tuple[str, Scalar], ...] = ()


class Message(_Fields):
    """One datagram. `data` holds (name, value) pairs in the order the sender gave
    them; values are ints, strings, booleans or None, so every message can be
    written to a trace file or a socket and read back equal.

    A named tuple rather than an attrs class: one is built for every message a
    simulation sends, and a tuple is built several times faster. Like any
    tuple it is immutable and compares and hashes by value.
    """

    __slots__ = ()

    def __new__(cls, kind: str, src: int, dst: int, data: tuple[tuple[str, Scalar], ...] = ()) -> Message:
        _check_data(data)
        return tuple.__new__(cls, (kind, src, dst, data))

    def __getitem__(self, name: str) -> Scalar:  # type: ignore[override]
        for key, value in self.data:
            if key == name:
                return value
        raise KeyError(f"{self.kind} message has no field {name!r}")

    def get(self, name: str, default: Scalar = None) -> Scalar:
        for key, value in self.data:
            if key == name:
                return value
        return default

    def describe(self) -> str:
        """`KIND(name=value, ...)`, as timelines print it."""
        args = ", ".join(f"{k}={v}" for k, v in self.data)
        return f"{self.kind}({args})"


def check_values(values: dict[str, Scalar]) -> None:
    """Raise ValueError unless every value of a send's keyword arguments is an
    int, str, bool or None (their names are strings already)."""
    for name, value in values.items():
        if not isinstance(value, _SCALARS):
            raise ValueError(f"message value {name}={value!r} is not an int, str, bool or None")


def message_of(kind: str, src: int, dst: int, values: dict[str, Scalar]) -> Message:
    """`Message(kind, src, dst, tuple(values.items()))`, checking only the values:
    keyword arguments are (name, value) pairs already. The send path."""
    check_values(values)
    return tuple.__new__(Message, (kind, src, dst, tuple(values.items())))
