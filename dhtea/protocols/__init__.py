"""Protocols by name: the built-in ones, or any `module:Class` a user brings.

Protocol classes import only `dhtea.core` and `invariants` (ring arithmetic):
the same class runs in the simulator and over UDP, free of both.
"""

from __future__ import annotations

import importlib

from dhtea.protocols.classic import Classic
from dhtea.protocols.gapowner import GapLease, GapOwner

BUILTIN: dict[str, type] = {Classic.name: Classic, GapOwner.name: GapOwner, GapLease.name: GapLease}


class UnknownProtocol(ValueError):
    """The name is neither a built-in protocol nor an importable `module:Class`."""


def load_protocol(spec: str) -> type:
    """Return the protocol class for `classic`, `gapowner` or `package.module:Class`."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" not in spec:
        known = ", ".join(sorted(BUILTIN))
        raise UnknownProtocol(f"unknown protocol {spec!r}: use one of {known} or a module:Class path")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any failure to import is theirs to fix
        raise UnknownProtocol(f"cannot import protocol module {module_name!r}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise UnknownProtocol(f"{spec!r}: module {module_name!r} ({getattr(module, '__file__', None) or 'built in'}) "
                              f"has no {attr!r}")
    if not isinstance(cls, type) or not all(callable(getattr(cls, m, None)) for m in ("on_join", "on_message", "view")):
        raise UnknownProtocol(f"{spec!r} is not a protocol class (it needs on_join, on_message and view)")
    try:
        cls(0)
    except Exception as exc:
        raise UnknownProtocol(f"{spec!r}: cannot create a node as {attr}(node_id): {type(exc).__name__}: {exc}") from None
    return cls


def protocol_name(cls: type) -> str:
    """The name that loads `cls` again: its registry name, or `module:Class`."""
    name = getattr(cls, "name", "")
    if BUILTIN.get(name) is cls:
        return name
    return f"{cls.__module__}:{cls.__qualname__}"
