"""Command-line commands for real runs over UDP (`node`, `cluster`, `check`)."""

from __future__ import annotations

import argparse
from typing import Callable

Command = Callable[[argparse.Namespace], int]


def register(sub: argparse._SubParsersAction) -> dict[str, Command]:
    """Add this module's subcommands to `sub`; return {name: handler}."""
    return {}
