"""Messages between nodes: a kind, a sender, a receiver and a few named values."""

from __future__ import annotations

from typing import Any

import attrs

Scalar = int | str | bool | None


def _check_data(inst: Any, attr: Any, value: tuple) -> None:
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(f"message data must be (name, value) pairs, got {item!r}")
        if not isinstance(item[1], (int, str, bool, type(None))):
            raise ValueError(f"message value {item[0]}={item[1]!r} is not an int, str, bool or None")


@attrs.frozen(slots=True)
class Message:
    """One datagram. `data` holds (name, value) pairs in the order the sender gave
    them; values are ints, strings, booleans or None, so every message can be
    written to a trace file or a socket and read back equal."""

    kind: str
    src: int
    dst: int
    data: tuple[tuple[str, Scalar], ...] = attrs.field(default=(), validator=_check_data)

    def __getitem__(self, name: str) -> Scalar:
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
