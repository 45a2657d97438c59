"""The package layout is the architecture: each folder imports only the layers below it.

Every `import` in every module (module-level and inside functions) is checked
against the allowed directions stated in each folder's `__init__` docstring.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BELOW_SEARCH = {"dhtea.core", "dhtea.protocols", "dhtea.drivers", "dhtea.traces", "dhtea.show",
                "dhtea.strategies", "dhtea.testing", "invariants"}

# What each part of the code may import from dhtea and invariants (itself included).
ALLOWED = {
    "invariants": {"invariants"},
    "dhtea.core": {"dhtea.core", "invariants"},
    "dhtea.protocols": {"dhtea.core", "dhtea.protocols", "invariants"},
    "dhtea.drivers": {"dhtea.core", "dhtea.protocols", "dhtea.drivers", "invariants"},
    "dhtea.traces": {"dhtea.core", "dhtea.traces", "invariants"},
    "dhtea.show": {"dhtea.core", "dhtea.traces", "dhtea.show", "invariants"},
    "dhtea.strategies": {"dhtea.core", "invariants"},
    "dhtea.testing": {"dhtea.core", "dhtea.protocols", "dhtea.drivers", "dhtea.traces", "dhtea.show",
                      "invariants"},
    "dhtea.search": BELOW_SEARCH | {"dhtea.search"},
    "dhtea.real": {"dhtea.core", "dhtea.protocols", "dhtea.drivers", "dhtea.traces", "dhtea.show",
                   "dhtea.real", "invariants"},
    "dhtea.cli": BELOW_SEARCH | {"dhtea.search", "dhtea.real", "dhtea.cli"},
    "dhtea.__main__": {"dhtea.cli"},
}
# Third-party and standard modules a layer must never touch.
FORBIDDEN = {
    "invariants": {"simpy", "hypothesis", "socket", "asyncio"},
    "dhtea.core": {"simpy", "hypothesis", "socket", "asyncio"},
    "dhtea.protocols": {"simpy", "hypothesis", "socket", "asyncio"},
    "dhtea.drivers": {"hypothesis", "socket", "asyncio"},
    "dhtea.traces": {"simpy", "hypothesis", "socket", "asyncio"},
    "dhtea.show": {"simpy", "hypothesis", "socket", "asyncio"},
}


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The most specific key of ALLOWED that `module` lives in."""
    best = None
    for layer in ALLOWED:
        if module == layer or module.startswith(layer + "."):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def imports_of(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from dhtea.show import svg` imports dhtea.show.svg
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if node.module in ("dhtea",) or node.module.startswith("dhtea.")]
    return found


SOURCES = sorted(list((ROOT / "dhtea").rglob("*.py")) + list((ROOT / "invariants").rglob("*.py")))


def test_every_module_has_a_layer():
    lost = [module_name(p) for p in SOURCES if module_name(p) != "dhtea" and layer_of(module_name(p)) is None]
    assert lost == [], f"modules outside every layer of the layout: {lost}"


def test_every_folder_says_what_lives_there():
    for init in sorted((ROOT / "dhtea").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"{init.relative_to(ROOT)} should say what it may import"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_only(path):
    me = module_name(path)
    if me == "dhtea":
        return  # the public API re-exports names from every layer, lazily
    layer = layer_of(me)
    wrong = []
    for line, target in imports_of(path):
        top = target.split(".")[0]
        if top in FORBIDDEN.get(layer, set()):
            wrong.append(f"line {line}: {target} (third-party/IO module forbidden in {layer})")
        if top not in ("dhtea", "invariants") or target == "dhtea":
            continue
        target_layer = layer_of(target)
        if target_layer is None and target.startswith("dhtea."):
            # `from dhtea.show import svg` also yields dhtea.show.svg; the folder is enough
            continue
        if target_layer not in ALLOWED[layer]:
            wrong.append(f"line {line}: {target} ({layer} may not import {target_layer})")
    assert wrong == [], f"{me} imports against the layering:\n" + "\n".join(wrong)


def test_the_checker_catches_an_upward_import(tmp_path):
    """A rendering module that imported the simulator would be reported."""
    fake = ROOT / "dhtea" / "show" / "timeline.py"
    assert layer_of(module_name(fake)) == "dhtea.show"
    assert "dhtea.drivers" not in ALLOWED["dhtea.show"]
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from dhtea.drivers.simulator import simulate\n")
    assert (2, "dhtea.drivers.simulator") in imports_of(bad)
