"""Invariants by name, so a trace file can say what it was checked with.

A built-in invariant is named by its own name (`ring-order`); any other by
`module:name`, the module attribute that holds it (as `--invariant` takes it).
Loading a `module:name` imports the module: where it is looked for (the current
folder, say) is up to the caller's `sys.path`.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Iterable

from invariants import ring
from invariants.core import Invariant

#: Every invariant defined in `invariants.ring`, by name.
BUILTIN: dict[str, Invariant] = {v.name: v for v in vars(ring).values() if isinstance(v, Invariant)}


class UnknownInvariant(ValueError):
    """Neither a built-in invariant name nor an importable `module:name`; one line."""


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@functools.lru_cache(maxsize=256)
def invariant_spec(inv: Invariant) -> str:
    """The name that loads `inv` again: its own if it is built in, else `module:name`."""
    if BUILTIN.get(inv.name) is inv:
        return inv.name
    module_name = getattr(inv.check, "__module__", None) or "__main__"
    module = sys.modules.get(module_name)
    for attr, value in sorted(vars(module).items()) if module is not None else ():
        if value is inv:
            return f"{module_name}:{attr}"
    # Not held by a module attribute (made in a function, say): name it as the
    # decorator would have bound it; loading it again will say what is missing.
    return f"{module_name}:{getattr(inv.check, '__name__', inv.name)}"


def invariant_specs(invariants: Iterable[Invariant]) -> tuple[str, ...]:
    return tuple(invariant_spec(i) for i in invariants)


def load_invariant(spec: str) -> Invariant:
    """The invariant named `spec`: a built-in name or `module:name`."""
    if not isinstance(spec, str) or not spec:
        raise UnknownInvariant(f"an invariant is named by a string, got {_cut(repr(spec))}")
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" not in spec:
        raise UnknownInvariant(
            f"unknown invariant {_cut(repr(spec))}: use a built-in name ({', '.join(BUILTIN)}) or module:name"
        )
    module_name, _, attr = spec.partition(":")
    if module_name == "__main__":
        raise UnknownInvariant(
            f"{_cut(repr(spec))} was defined in a script run as __main__ and cannot be found again: keep it in a module"
        )
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any failure to import is theirs to fix
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UnknownInvariant(
            f"cannot import invariant module {_cut(repr(module_name))}: {type(exc).__name__}: {_cut(first)}"
        ) from None
    value = getattr(module, attr, None)
    if not isinstance(value, Invariant):
        raise UnknownInvariant(
            f"{_cut(repr(spec))} is not an invariant (make one with the @invariant decorator)"
        )
    return value


def load_invariants(specs: Iterable[str]) -> tuple[Invariant, ...]:
    """Each named invariant, in order, each once."""
    loaded: list[Invariant] = []
    for spec in specs:
        inv = load_invariant(spec)
        if inv not in loaded:
            loaded.append(inv)
    return tuple(loaded)
