"""The README's worked example runs and prints what the README says it prints."""

import contextlib
import io
import re
import sys
import types
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def _block_after(marker: str, lang: str) -> str:
    start = README.index(marker)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(README, start)
    return match.group(1)


def test_worked_example_output_matches_the_readme():
    code = _block_after("A complete example", "python")
    expected = _block_after("It prints:", "")
    module = types.ModuleType("readme_example")  # so the class has an importable-looking home
    sys.modules["readme_example"] = module
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules["readme_example"]
    assert out.getvalue() == expected


def test_custom_invariant_example_runs():
    from dhtea import Join, JoinSchedule, Scenario

    code = _block_after("Add your own with the `invariant` decorator", "python")
    scenario = Scenario(ring=(0,), joins=JoinSchedule([Join(n, 0, 0) for n in (10, 20, 30)]))
    namespace = {"scenario": scenario}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].signature == "short-queues"
