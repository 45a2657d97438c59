"""Argument types shared by the command-line modules: a bad value is one clear line."""

from __future__ import annotations

import argparse

from dhtea.traces.files import MAX_INT_DIGITS


def fits_a_file(value: int) -> bool:
    """Whether dhtea's own files can hold `value` (seeds and ids end up in them)."""
    return len(str(abs(value))) <= MAX_INT_DIGITS


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not fits_a_file(value):
        raise argparse.ArgumentTypeError(f"expected a whole number of at most {MAX_INT_DIGITS} digits "
                                         f"(what a trace file holds), got one of {len(str(abs(value)))} digits")
    return value


def port_number(text: str) -> int:
    """A UDP port to bind: 1 to 65535."""
    value = whole_number(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {value}")
    return value


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def at_most(limit: int, why: str):
    """A whole number from 1 to `limit`; `why` says where the limit comes from."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"expected at most {limit} ({why}), got {value}")
        return value
    return parse
