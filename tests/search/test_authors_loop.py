"""The protocol author's loop, played in a fresh project exactly as the README
tells it: a buggy protocol, a hunt from the command line and from pytest, the
traces kept under the tests, the protocol fixed (the saved traces now pass as
regression tests), the bug put back (they fail again).

The protocol, its fix, the project settings and the shell commands are taken
from the README's section, so the README cannot drift from what works.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _section() -> str:
    start = README.index("## The protocol author's loop")
    return README[start:README.index("\n## ", start + 1)]


SECTION = _section()


def _blocks(lang: str, text: str = SECTION) -> list[str]:
    """The fenced blocks of `lang` in `text`, each dedented as it is indented in the list."""
    return [
        "\n".join(line[len(indent):] if line.startswith(indent) else line for line in body.split("\n"))
        for indent, body in re.findall(rf"^( *)```{lang}\n(.*?)^ *```", text, re.S | re.M)
    ]


def _words(text: str) -> str:
    return " ".join(text.split())


def _run(project: Path, command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH", "HYPOTHESIS"))}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    # `pytest` and `dhtea` are the installed console scripts, as a user runs them
    return subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=300)


def _run_block(project: Path, block: str) -> list[subprocess.CompletedProcess]:
    return [_run(project, line) for line in block.splitlines() if line.strip()]


def test_the_readme_section_has_what_the_loop_needs():
    python, toml, sh = _blocks("python"), _blocks("toml"), _blocks("sh")
    assert len(python) == 2 and len(toml) == 1 and len(sh) == 2
    assert "class Mine(GapOwner)" in python[0] and python[1].startswith("    def on_success_join")
    assert 'dhtea_protocol = "mine:Mine"' in toml[0]


def test_hunt_keep_fix_and_keep_fixed(tmp_path):
    buggy, fix = _blocks("python")
    [settings] = _blocks("toml")
    hunt_block, keep_block = _blocks("sh")
    gate = _blocks("python", README[README.index("## In pytest: the CI gate"):])[0]
    (tmp_path / "mine.py").write_text(buggy)
    (tmp_path / "pyproject.toml").write_text(settings)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_gate.py").write_text(gate)

    # 1. Hunt: from the command line and with pytest; both find the bug and save it.
    hunted, gated = _run_block(tmp_path, hunt_block)
    assert hunted.returncode == 1, hunted.stdout + hunted.stderr
    quoted = re.search(r"\(`(joins-complete violated at .*?)`\)", SECTION, re.S).group(1)
    assert _words(quoted) in _words(hunted.stdout)
    assert gated.returncode == 1, gated.stdout + gated.stderr
    assert "joins-complete violated at event #" in gated.stdout
    for name in re.findall(r"`(reports/[^`]+\.trace\.json)`", SECTION):
        assert (tmp_path / name).is_file(), name

    # 2. Keep them: now regression tests, failing while the bug is there.
    *copying, kept = _run_block(tmp_path, keep_block)
    assert [c.returncode for c in copying] == [0, 0]
    saved = sorted((tmp_path / "tests" / "counterexamples").glob("*.trace.json"))
    assert len(saved) == 2
    assert kept.returncode == 1 and "2 failed" in kept.stdout, kept.stdout
    for path in saved:
        assert f"{path.relative_to(tmp_path)}: the saved counterexample still fails on mine:Mine: joins-complete violated at event #" in kept.stdout.replace(str(tmp_path) + "/", "")
    # exact replay: the saved runs are what the buggy protocol does, event for event
    exact = _run(tmp_path, "pytest tests/counterexamples --dhtea-replay=exact")
    assert exact.returncode == 0 and "2 passed" in exact.stdout, exact.stdout

    # 3. Fix: the same saved traces now pass, and so does the gate.
    fixed = buggy[: buggy.index("    def on_success_join")] + fix
    assert "class Mine(GapOwner)" in fixed and fixed.endswith("        self._serve(ctx)\n")
    (tmp_path / "mine.py").write_text(fixed)
    assert "Now `pytest` passes" in SECTION
    after = _run(tmp_path, "pytest")
    assert after.returncode == 0 and "3 passed" in after.stdout, after.stdout + after.stderr
    replay_command = re.search(r"`(dhtea replay tests/counterexamples/[^`]+)`", _words(SECTION)).group(1)
    replayed = _run(tmp_path, replay_command)
    assert replayed.returncode == 0 and "mine:Mine now passes this scenario" in replayed.stdout
    # exact replay now differs: the fixed protocol no longer does what the trace recorded
    assert _run(tmp_path, "pytest tests/counterexamples --dhtea-replay=exact").returncode == 1

    # 4. Put the bug back: the saved counterexamples fail again, saying where.
    (tmp_path / "mine.py").write_text(buggy)
    again = _run(tmp_path, "pytest tests/counterexamples")
    assert again.returncode == 1 and "2 failed" in again.stdout, again.stdout
    assert re.search(r"still fails on mine:Mine: joins-complete violated at event #\d+ \(t=[\d.]+\), nodes \[\d", again.stdout)
