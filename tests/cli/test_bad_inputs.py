"""Every command that reads files, over a corpus of crafted bad files generated
here: mutations of a committed trace, of a hunt summary and of node logs (type
changes, deletions, huge numbers, NaN and Infinity, deep nesting, wrong
versions, truncations, binary garbage) and special files (a FIFO, devices, a
folder, a file over the size cap). Each run must end with exit 2 and one line
on stderr, never a traceback, never a hang (an alarm, and for the special files
a subprocess timeout, detects one; nothing here measures speed).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from dhtea import simulate
from dhtea.cli.errors import MAX_ERROR
from dhtea.cli import main as cli_main
from dhtea.cli.main import main
from dhtea.core.network import Network, Partition, Uniform
from dhtea.core.scenario import Crash, Join, JoinSchedule, Leave, Scenario
from dhtea.traces.serial import trace_text
from tests.real.test_logcheck import write_logs

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "tests" / "counterexamples" / "classic-3-gap-exclusive.trace.json"
HUNT = ROOT / "reports" / "classic" / "hunt.json"
CHURN = Scenario(ring=(0, 9, 20), joins=JoinSchedule([Join(5, 0, 0), Join(14, 0.5, 9)]), seed=3, settle=5,
                 network=Network(Uniform(0.5, 2), loss=0.2, duplicate=0.2, fates=("deliver", "duplicate", "lose"),
                                 partitions=[Partition(1, 3, (0,), (20,))], faults_until=6, faults_from=0.5,
                                 delay_at=[(4, 2.5)], fate_at=[(1, "lose")], kind_fates=[("CONNECT", 1, "lose")],
                                 kind_delays=[("NEW_NEIGHBOUR", 0, 30)]),
                 churn=[Leave(9, 4), Crash(20, 8), Leave(14, 1)])
HANG = 30  # seconds: far beyond any run here; only a hang reaches it

# Placeholders that json.dumps cannot write, swapped into the text afterwards.
HUGE, NAN, INF, DEEP = "@HUGE@", "@NAN@", "@INF@", "@DEEP@"
LITERALS = {f'"{HUGE}"': "9" * 5000, f'"{NAN}"': "NaN", f'"{INF}"': "-Infinity",
            f'"{DEEP}"': "[" * 50_000 + "]" * 50_000}
# Fields a file may leave out (deleting them can leave a valid file).
OPTIONAL = {"seconds", "invariants", "started", "statistics", "interrupted", "loss", "duplicate", "fates",
            "partitions", "faults_until", "faults_from", "delay_at", "fate_at", "kind_delays", "kind_fates", "churn", "settle", "fault", "again", "data", "changes", "arrive", "timer", "msg", "settings", "value", "floor", "bootstrap", "pid", "faults",
            "error", "lost"}


def paths(value, prefix=()) -> Iterator[tuple]:
    """Every path into a JSON value, containers included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def get(data, path):
    for p in path:
        data = data[p]
    return data


def edited(data, path, new=None, delete=False):
    copy = json.loads(json.dumps(data))
    if not path:
        return new
    parent = get(copy, path[:-1])
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


def text_of(value) -> str:
    text = json.dumps(value)
    for placeholder, literal in LITERALS.items():
        text = text.replace(placeholder, literal)
    return text


def mutations(data, keep) -> Iterator[tuple[str, str, bool]]:
    """(name, text, must_refuse) for each mutation of `data` at the paths `keep` selects."""
    literals = [(HUGE, "huge"), (NAN, "nan"), (INF, "inf"), (DEEP, "deep")]
    for n, path in enumerate(p for p in paths(data) if keep(p)):
        name = "/".join(map(str, path)) or "top"
        value = get(data, path)
        free = bool({"data", "settings", "statistics"} & set(path))  # open-ended: any names, any scalars
        if isinstance(value, (dict, list)):
            yield f"{name}=7", text_of(edited(data, path, 7)), True
            yield f"{name}='x'", text_of(edited(data, path, "x")), True
        else:
            yield f"{name}=[]", text_of(edited(data, path, [])), not free
            yield f"{name}={{}}", text_of(edited(data, path, {})), True
            yield f"{name}=true", text_of(edited(data, path, True)), type(value) in (int, float) and not free
            yield f"{name}='late'", text_of(edited(data, path, "late")), False
        tag, literal = literals[n % len(literals)]
        yield f"{name}={literal}", text_of(edited(data, path, tag)), True
        if path:
            yield f"del {name}", text_of(edited(data, path, delete=True)), (
                isinstance(path[-1], str) and path[-1] not in OPTIONAL and len(path) <= 3 and not free)


def texts(text: str, rng: random.Random) -> Iterator[tuple[str, str | bytes, bool]]:
    """Truncations and binary garbage of a whole file."""
    for cut in sorted(rng.sample(range(1, len(text) - 3), 8)) + [0]:
        yield f"cut@{cut}", text[:cut], True
    for n in (1, 64, 5000):
        yield f"garbage{n}", rng.randbytes(n), True
    yield "utf16", text.encode("utf-16"), True
    yield "json-list", "[" + text + "]", True
    yield "json-number", "12", True
    yield "long-name", text.replace('"classic"', json.dumps("c" * 3_000_000), 1), True


def versions(data) -> Iterator[tuple[str, str, bool]]:
    for v in (0, 3, 99, "1", 1.0, None, [1]):
        yield f"version={v!r}", text_of({**data, "version": v}), True
    yield "format=other", text_of({**data, "format": "other"}), True


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[tuple[str, Path, list[list[str]], bool]]]:
    """(folder, [(name, file, argvs, must_refuse)]): every bad file and the commands to run on it."""
    folder = tmp_path_factory.mktemp("bad")
    rng = random.Random(8)
    trace = json.loads(TRACE.read_text())
    shutil.copy(TRACE, folder / TRACE.name)
    hunt = json.loads(HUNT.read_text())  # a committed hunt summary, with statistics
    for name in hunt["bugs"]:
        shutil.copy(HUNT.parent / name, folder / name)
    churn = json.loads(trace_text(simulate("classic", CHURN)))
    logs = folder / "logs"
    logs.mkdir()
    log_paths = write_logs(simulate("gapowner", Scenario(ring=(0, 9), joins=JoinSchedule([Join(5, 0, 0)]))), logs)
    victim = next(p for p in log_paths if p.name == "node-5.jsonl")
    others = [str(p) for p in log_paths if p != victim]
    log_lines = [json.loads(line) for line in victim.read_text().splitlines()]

    cases = []

    def add(kind: str, name: str, content: str | bytes, must: bool) -> None:
        path = folder / f"{kind}-{len(cases)}.{'jsonl' if kind == 'log' else 'json'}"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        if kind == "log":
            argvs = [["check", str(path), *others], ["show", str(path)]]
        else:
            argvs = [["show", str(path)], ["replay", str(path), "--quiet"], ["check", str(path)]]
        argvs.append(["report", str(path), "-o", str(folder / "out.html")])
        cases.append((f"{kind}: {name}", path, argvs, must))

    def in_trace(path):  # the whole header, the scenario, one violation, one view, the first events
        return (len(path) <= 1 or path[0] in ("scenario", "format", "version", "protocol", "status", "end_time")
                or path[0] in ("violations", "final") and path[1] == 0 or path[0] == "events" and path[1] in (0, 1, 4))

    for name, text, must in [*mutations(trace, in_trace), *versions(trace)]:
        add("trace", name, text, must)
    for name, text, must in texts(TRACE.read_text(), rng):
        add("trace", name, text, must)

    def in_churn(path):  # the fields of churn and faults, and the events that carry a fault
        return (path[:1] == ("invariants",) or path[:2] in (("scenario", "churn"), ("scenario", "settle"))
                or path[:3] == ("scenario", "network", "partitions") or len(path) == 3 and path[:2] == ("scenario", "network")
                or path[:1] == ("events",) and len(path) >= 2 and "fault" in churn["events"][path[1]] and len(path) <= 3)

    for name, text, must in mutations(churn, in_churn):
        add("churn trace", name, text, must)
    for name, text, must in [*mutations(hunt, lambda p: len(p) <= 3), *versions(hunt)]:
        add("hunt", name, text, must)
    add("hunt", "bug-is-a-fifo", text_of({**hunt, "bugs": ["fifo"]}), True)
    add("hunt", "bug-outside", text_of({**hunt, "bugs": ["../../etc/passwd"]}), True)
    for i in (0, 2, len(log_lines) - 1):  # the header, a send event, the stats line
        for name, text, must in mutations(log_lines[i], lambda p: len(p) <= 2):
            lines = [json.dumps(x) for x in log_lines]
            lines[i] = text
            add("log", f"line {i + 1}: {name}", "\n".join(lines) + "\n", must and (i < len(log_lines) - 1 or "del" not in name))
    for name, text, must in texts(victim.read_text(), rng):
        add("log", name, text, must and (name.startswith(("garbage", "utf16", "json-")) or "cut@" in name and
                                          "\n" not in text))
    os.mkfifo(folder / "fifo")
    return folder, cases


@pytest.fixture(autouse=True)
def one_parser(monkeypatch):
    """Build the argument parser once for the thousands of runs here (it is the same parser each time)."""
    monkeypatch.setattr(cli_main, "build_parser", functools.cache(cli_main.build_parser))


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, out.getvalue(), err.getvalue()


def test_every_command_refuses_every_bad_file_in_one_line(corpus):
    folder, cases = corpus
    assert len(cases) > 300
    refused = runs = 0
    problems = []
    for name, path, argvs, must in cases:
        before = path.read_bytes()
        for argv in argvs:
            runs += 1
            try:
                code, out, err = run(argv)
            except Hang:
                problems.append(f"{name}: {argv[0]} hung")
                continue
            except BaseException as exc:  # what would reach the user as a traceback
                problems.append(f"{name}: {argv[0]} raised {type(exc).__name__}: {str(exc)[:200]}")
                continue
            lines = err.splitlines()
            if code == 2:
                refused += 1
                if len(lines) != 1 or not lines[0].startswith("dhtea: error: ") or len(lines[0]) > MAX_ERROR + 100:
                    problems.append(f"{name}: {argv[0]} wrote {len(lines)} stderr line(s): {err[:200]!r}")
            elif must or code not in (0, 1) or err:
                problems.append(f"{name}: {argv[0]} exited {code}, stderr {err[:200]!r}")
        assert path.read_bytes() == before, f"{name}: the input file changed"
    assert not problems, f"{len(problems)} of {runs} runs went wrong:\n" + "\n".join(problems[:30])
    assert refused > 0.9 * runs
    assert not (folder / "out.html").exists() or (folder / "out.html").stat().st_size < 2_000_000


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda d: d.__setitem__("final", "x"), "field 'final' should be a list, got 'x'"),
        (lambda d: d.pop("final"), "missing field 'final'"),
        (lambda d: d.__setitem__("end_time", "late"), "field 'end_time' should be a finite number >= 0, got 'late'"),
        (lambda d: d["events"][2].__setitem__("timer", ["x"]), "field 'events[2].timer' should be a name"),
        (lambda d: d["final"][1].__setitem__("busy", 1), "field 'final[1].busy' should be true or false, got 1"),
        (lambda d: d["events"][3].__setitem__("seq", 9), "field 'events[3].seq' should be 3"),
        (lambda d: d["events"][1]["msg"]["data"].__setitem__("joiner", [1]), "field 'events[1].msg.data.joiner'"),
        (lambda d: d["violations"][0].__setitem__("event", "7"), "field 'violations[0].event' should be an integer"),
        (lambda d: d["scenario"].__setitem__("deadline", 0), "field 'scenario.deadline' should be a finite number > 0"),
    ],
)
def test_each_bad_field_is_named(tmp_path, edit, field):
    data = json.loads(TRACE.read_text())
    edit(data)
    path = tmp_path / "bad.trace.json"
    path.write_text(json.dumps(data))
    for command in ("show", "replay", "report"):
        code, out, err = run([command, str(path), "-o", str(tmp_path / "r.html")] if command == "report" else [command, str(path)])
        assert code == 2 and err.startswith(f"dhtea: error: {path}: {field}") and len(err.splitlines()) == 1, err


def test_a_huge_integer_anywhere_is_one_line(tmp_path):
    text = TRACE.read_text().replace('"seed":0', '"seed":' + "7" * 5000)
    path = tmp_path / "huge.trace.json"
    path.write_text(text)
    for argv in (["show", str(path)], ["replay", str(path)], ["report", str(path), "-o", str(tmp_path / "r.html")]):
        code, out, err = run(argv)
        assert code == 2 and err == f"dhtea: error: {path}: line 5: an integer of 5000 digits; " \
                                    f"dhtea reads integers of at most 40 digits\n"


def test_a_50_mb_protocol_name_gives_a_short_error_and_no_page(tmp_path):
    data = json.loads(TRACE.read_text())
    data["protocol"] = "p" * 50_000_000
    path = tmp_path / "long.trace.json"
    path.write_text(json.dumps(data))
    out_file = tmp_path / "r.html"
    for argv in (["show", str(path)], ["replay", str(path)], ["report", str(path), "-o", str(out_file)]):
        code, out, err = run(argv)
        assert code == 2 and len(err) < 300 and "field 'protocol' should be a name of 1 to 200" in err
        assert "50000000 characters" in err
    assert not out_file.exists()


def test_files_over_the_size_cap_are_refused_and_the_cap_can_be_raised(tmp_path, monkeypatch):
    path = tmp_path / "big.trace.json"
    shutil.copy(TRACE, path)  # about 4 KB
    monkeypatch.setenv("DHTEA_MAX_INPUT_MB", "0.001")
    code, out, err = run(["show", str(path)])
    assert code == 2 and "above the cap" not in err and "the cap on what dhtea reads" in err
    assert "DHTEA_MAX_INPUT_MB" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("DHTEA_MAX_INPUT_MB", "1")
    assert run(["show", str(path)])[0] == 0
    monkeypatch.setenv("DHTEA_MAX_INPUT_MB", "lots")
    code, out, err = run(["show", str(path)])
    assert code == 2 and err == "dhtea: error: DHTEA_MAX_INPUT_MB should be a number of megabytes above 0, got 'lots'\n"


def test_check_says_what_a_file_is_when_it_is_not_a_node_log(tmp_path):
    code, out, err = run(["check", str(TRACE)])
    assert code == 2 and "this is a dhtea trace file, not a node log" in err and "'dhtea-log'" in err
    one = tmp_path / "one.jsonl"
    one.write_text('{"format": "dhtea-log", "version": 1, "node"')
    code, out, err = run(["check", str(one)])
    assert code == 2 and "only a node log header cut short" in err
    one.write_text("hello")
    code, out, err = run(["check", str(one)])
    assert code == 2 and "not JSON" in err and "first line is a header" in err and "empty" not in err
    code, out, err = run(["show", str(write_logs(simulate("gapowner", Scenario(ring=(1,))), tmp_path)[0])])
    assert code == 2 and "this is a dhtea node log" in err


SPECIAL = ["/dev/zero", "/dev/urandom", "fifo", "folder", "link-to-zero"]


@pytest.fixture
def specials(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link-to-zero").symlink_to("/dev/zero")
    return lambda name: name if name.startswith("/") else str(tmp_path / name)


@pytest.mark.parametrize("special", SPECIAL)
def test_special_files_are_refused_in_one_line(tmp_path, specials, special):
    target = specials(special)
    for argv in (["show", target], ["replay", target], ["check", target], ["report", target, "-o", str(tmp_path / "r.html")]):
        code, out, err = run(argv)
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("dhtea: error: "), (argv, err)


@pytest.mark.parametrize("special, command", [("fifo", "show"), ("fifo", "check"), ("/dev/urandom", "replay")])
def test_special_files_never_hang_a_real_process(tmp_path, specials, special, command):
    done = subprocess.run([sys.executable, "-m", "dhtea", command, specials(special)], capture_output=True, text=True,
                          timeout=HANG, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "dhtea reads only regular files" in done.stderr


def test_the_pytest_plugin_fails_bad_trace_files_in_one_line_each(tmp_path):
    """Collected trace files are read as `dhtea replay` reads them: a file with a
    huge integer is a failed test with a one-line reason; a FIFO never hangs the run."""
    os.mkfifo(tmp_path / "pipe.trace.json")
    (tmp_path / "huge.trace.json").write_text(TRACE.read_text().replace('"seed":0', '"seed":' + "7" * 5000))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, timeout=HANG, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout and "INTERNALERROR" not in done.stdout + done.stderr
    assert "an integer of 5000 digits" in done.stdout
