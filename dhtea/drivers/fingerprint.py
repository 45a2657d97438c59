"""A node's state as a value: what the explorer compares states by, and how it
copies a node before stepping it.

The default snapshot of a node is its attributes (`vars(node)`), sorted by
name, with containers turned into tuples: deques and lists keep their order,
sets and dict keys are sorted, so equal states give equal snapshots in any
process. A protocol whose state is not plain attributes of ints, strings,
booleans, None, floats and flat containers of them defines `fingerprint()`
(any hashable value that is equal exactly when two nodes behave the same) and,
if it keeps nested mutable state, `clone()` (an independent copy).
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any, Hashable

_SCALARS = (int, str, bool, float, type(None))
_FLAT = (list, deque, set, dict, bytearray)


class FingerprintError(TypeError):
    """A node attribute has no stable value the explorer can compare."""


def _freeze(name: str, value: Any) -> Hashable:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple, deque)):
        return (type(value).__name__,) + tuple(_freeze(name, v) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set",) + tuple(sorted(_freeze(name, v) for v in value))  # type: ignore[type-var]
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted((_freeze(name, k), _freeze(name, v)) for k, v in value.items()))  # type: ignore[type-var]
    try:
        hash(value)  # determinism-ok: only asks whether the value is hashable
    except TypeError:
        raise FingerprintError(
            f"attribute {name!r} holds a {type(value).__name__}, which has no stable value; "
            "define fingerprint() on the protocol class"
        ) from None
    return value


def snapshot(node: Any) -> Hashable:
    """The node's state as a hashable value (its `fingerprint()` if it has one)."""
    custom = getattr(node, "fingerprint", None)
    if custom is not None:
        return custom()
    return tuple((name, _freeze(name, value)) for name, value in sorted(vars(node).items()))


def _nested(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return any(not isinstance(v, _SCALARS + (tuple, frozenset)) for v in items)


def clone(node: Any) -> Any:
    """An independent copy of `node`: its `clone()` if it has one, else a shallow
    copy with its flat containers copied (a deep copy when they nest)."""
    custom = getattr(node, "clone", None)
    if custom is not None:
        return custom()
    attributes = getattr(node, "__dict__", None)
    if attributes is None or hasattr(type(node), "__slots__"):
        twin = copy.copy(node)
        attributes = vars(twin)
    else:  # what copy.copy does for a plain object, without its generic machinery
        twin = object.__new__(type(node))
        attributes = twin.__dict__
        attributes.update(node.__dict__)
    for name, value in attributes.items():
        if isinstance(value, _FLAT):
            attributes[name] = copy.deepcopy(value) if _nested(value) else copy.copy(value)
    return twin
