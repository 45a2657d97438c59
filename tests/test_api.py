"""The public API: what `dhtea/__init__.py` exports, loaded on first use."""

import importlib
import pkgutil
import subprocess
import sys
import types

import dhtea


def test_every_public_name_resolves_even_after_every_submodule_is_imported():
    for info in pkgutil.walk_packages(dhtea.__path__, "dhtea."):
        if info.name != "dhtea.__main__":  # that one runs the CLI
            importlib.import_module(info.name)
    for name in dhtea.__all__:
        value = getattr(dhtea, name)
        assert not isinstance(value, types.ModuleType), f"dhtea.{name} is shadowed by a submodule"


def test_unknown_names_raise_attribute_error():
    try:
        dhtea.nonesuch
    except AttributeError as exc:
        assert "nonesuch" in str(exc)
    else:
        raise AssertionError("dhtea.nonesuch should not exist")


def test_a_udp_node_does_not_import_hypothesis():
    code = "import sys, dhtea.real.udp; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
