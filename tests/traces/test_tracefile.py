"""Trace files: round trips, canonical bytes, one-line errors, atomic saves."""

from __future__ import annotations

import copy
import json
import os

import pytest

import dhtea.traces.serial as serial
from dhtea.core.messages import Message
from dhtea.core.scenario import Join, JoinSchedule, Scenario
from dhtea.core.trace import Event
from dhtea.traces.serial import TRACE_FORMAT, TRACE_VERSION, TraceFileError, dumps, read_trace, save_trace, trace_text
from dhtea.drivers.simulator import simulate

SCENARIO = Scenario(ring=(0, 3), joins=JoinSchedule([Join(1, 0, 0), Join(2, 0, 3)]))


@pytest.fixture(scope="module")
def result():
    """The classic protocol's two-joiner counterexample (a gap-exclusive violation)."""
    r = simulate("classic", SCENARIO)
    assert not r.ok, "the fixture scenario is meant to break classic"
    return r


@pytest.fixture
def trace_path(tmp_path, result):
    return save_trace(result, tmp_path / "bug.trace.json")


@pytest.fixture
def trace_data(trace_path):
    return json.loads(trace_path.read_text(encoding="utf-8"))


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# -- round trip and canonical text ---------------------------------------------


def test_saved_trace_reads_back_equal(trace_path, result):
    tf = read_trace(trace_path)
    assert tf.protocol == "classic" == result.protocol
    assert tf.scenario == result.scenario == SCENARIO
    assert tf.violations == result.violations
    assert tf.violations[0].invariant == "gap-exclusive"
    assert tf.events == result.events
    assert tf.path == trace_path


def test_save_trace_returns_path_and_creates_parent_folders(tmp_path, result):
    target = tmp_path / "a" / "b" / "x.trace.json"
    assert save_trace(result, str(target)) == target
    assert read_trace(target).scenario == SCENARIO
    assert _files(target.parent) == ["x.trace.json"]


def test_saving_twice_gives_identical_bytes(tmp_path, result):
    first = save_trace(result, tmp_path / "one.trace.json").read_bytes()
    second = save_trace(result, tmp_path / "two.trace.json").read_bytes()
    again = save_trace(simulate("classic", SCENARIO), tmp_path / "three.trace.json").read_bytes()
    assert first == second == again
    assert first.decode("utf-8") == trace_text(result)


def test_trace_text_is_canonical_json(trace_path, result):
    text = trace_path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == TRACE_FORMAT and data["version"] == TRACE_VERSION
    assert dumps(data) == text  # re-serialising the parsed file changes nothing
    assert text.endswith("}\n")
    assert len(data["events"]) == len(result.events)
    # one event per line, for readable diffs
    event_lines = [line for line in text.splitlines() if '"seq":' in line]
    assert len(event_lines) == len(result.events)


def test_saving_over_an_existing_trace_replaces_it(tmp_path, result):
    target = tmp_path / "bug.trace.json"
    target.write_text("old contents", encoding="utf-8")
    save_trace(result, target)
    assert target.read_text(encoding="utf-8") == trace_text(result)
    assert _files(tmp_path) == ["bug.trace.json"]


# -- every bad file is a one-line TraceFileError naming the problem ------------


def _set(path, value):
    def change(d):
        *head, last = path
        for key in head:
            d = d[key]
        d[last] = value

    return change


def _drop(path):
    def change(d):
        *head, last = path
        for key in head:
            d = d[key]
        del d[last]

    return change


BAD_DATA = [
    pytest.param(lambda d: [d], "should be a JSON object", id="json-list"),
    pytest.param(_set(["format"], "other-trace"), "not a dhtea trace", id="wrong-format"),
    pytest.param(_drop(["format"]), "missing field 'format'", id="missing-format"),
    pytest.param(_set(["version"], 3), "unsupported trace version 3", id="version-3"),
    pytest.param(_set(["version"], "1"), "unsupported trace version '1'", id="version-string-1"),
    pytest.param(_set(["version"], True), "unsupported trace version True", id="version-true"),
    pytest.param(_drop(["version"]), "missing field 'version'", id="missing-version"),
    pytest.param(_drop(["scenario"]), "missing field 'scenario'", id="missing-scenario"),
    pytest.param(_drop(["scenario", "ring"]), "missing field 'scenario.ring'", id="missing-scenario-ring"),
    pytest.param(_drop(["events"]), "missing field 'events'", id="missing-events"),
    pytest.param(_set(["events"], {}), "field 'events' should be a list", id="events-not-a-list"),
    pytest.param(
        _set(["scenario", "network", "latency", "kind"], "warp"), "unknown latency model 'warp'", id="unknown-latency"
    ),
    pytest.param(
        _set(["scenario", "joins", 0, "bootstrap"], 99),
        "bootstraps through 99, not a member of the initial ring",
        id="bootstrap-non-member",
    ),
    pytest.param(_set(["scenario", "ring"], [0, 0]), "duplicate node id", id="duplicate-ring-id"),
    pytest.param(_set(["scenario", "ring"], []), "field 'scenario.ring' should have at least 1", id="empty-ring"),
    pytest.param(_drop(["events", 0, "seq"]), "missing field 'events[0].seq'", id="event-missing-seq"),
    pytest.param(_set(["events", 0], 5), "field 'events[0]' should be an object", id="event-not-an-object"),
    pytest.param(_set(["protocol"], ""), "'protocol'", id="empty-protocol"),
]


@pytest.mark.parametrize("change, expected", BAD_DATA)
def test_bad_trace_data_is_a_one_line_error(tmp_path, trace_data, change, expected):
    data = copy.deepcopy(trace_data)
    data = change(data) or data
    path = tmp_path / "bad.trace.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(TraceFileError) as info:
        read_trace(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_malformed_event_message_says_what_is_wrong(tmp_path, trace_data):
    del trace_data["events"][3]["seq"]
    path = tmp_path / "bad.trace.json"
    path.write_text(json.dumps(trace_data), encoding="utf-8")
    with pytest.raises(TraceFileError, match=r"missing field 'events\[3\]\.seq'"):
        read_trace(path)


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("this is not json\n", "not valid JSON", id="not-json"),
        pytest.param("", "not valid JSON", id="empty-file"),
        pytest.param('"just a string"', "should be a JSON object", id="json-string"),
        pytest.param("[" * 100_000 + "]" * 100_000, "", id="absurdly-nested-json"),
    ],
)
def test_unparseable_text_is_a_one_line_error(tmp_path, text, expected):
    path = tmp_path / "bad.trace.json"
    path.write_text(text, encoding="utf-8")
    try:
        read_trace(path)
    except TraceFileError as exc:
        message = str(exc)
    except BaseException as exc:  # anything else reaches the user as a traceback
        pytest.fail(f"read_trace raised {type(exc).__name__} instead of TraceFileError: {exc}")
    else:
        pytest.fail("read_trace accepted a file that is not a trace")
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_truncated_trace_file_is_a_one_line_error(tmp_path, trace_path):
    text = trace_path.read_text(encoding="utf-8")
    cut = tmp_path / "cut.trace.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(TraceFileError) as info:
        read_trace(cut)
    message = str(info.value)
    assert "not valid JSON" in message and "line" in message
    assert str(cut) in message and "\n" not in message


def test_non_utf8_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "bin.trace.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(TraceFileError, match="not UTF-8 text"):
        read_trace(path)


def test_missing_file_is_a_trace_file_error(tmp_path):
    path = tmp_path / "nowhere.trace.json"
    with pytest.raises(TraceFileError) as info:
        read_trace(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory_is_a_trace_file_error(tmp_path):
    with pytest.raises(TraceFileError) as info:
        read_trace(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path}: is a folder")
    assert "directory" in message.lower()
    assert "\n" not in message


def test_reading_a_bad_file_leaves_it_unchanged(tmp_path, trace_data):
    trace_data["version"] = 3
    path = tmp_path / "v2.trace.json"
    path.write_text(json.dumps(trace_data), encoding="utf-8")
    before, listing = path.read_bytes(), _files(tmp_path)
    with pytest.raises(TraceFileError):
        read_trace(path)
    assert path.read_bytes() == before
    assert _files(tmp_path) == listing


# -- save_trace never leaves a partial file ------------------------------------


def test_failing_trace_text_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, result):
    target = save_trace(result, tmp_path / "bug.trace.json")
    before = target.read_bytes()

    def broken(*_fields):  # fails after part of the file is written
        raise RuntimeError("serialiser blew up")

    monkeypatch.setattr(serial, "row_json", broken)
    with pytest.raises(RuntimeError, match="serialiser blew up"):
        save_trace(result, target)
    assert target.read_bytes() == before
    assert _files(tmp_path) == ["bug.trace.json"], "save_trace left a temporary file behind"


def test_failing_json_writer_midway_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, result):
    target = save_trace(result, tmp_path / "bug.trace.json")
    before = target.read_bytes()
    real_row_json = serial.row_json
    calls = {"n": 0}

    def row_json_then_fail(*fields):  # fails on the sixth event line
        calls["n"] += 1
        if calls["n"] > 5:
            raise ValueError("writer failed half way")
        return real_row_json(*fields)

    monkeypatch.setattr(serial, "row_json", row_json_then_fail)
    with pytest.raises(ValueError, match="half way"):
        save_trace(result, target)
    monkeypatch.undo()
    assert calls["n"] > 5
    assert target.read_bytes() == before
    assert _files(tmp_path) == ["bug.trace.json"], "save_trace left a temporary file behind"


class _DiskFull:
    """A file whose writes put half the text on disk, then fail like a full disk."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, text):
        self._fh.write(text[: len(text) // 2])
        self._fh.flush()
        raise OSError(28, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False


def test_disk_full_while_writing_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, result):
    target = save_trace(result, tmp_path / "bug.trace.json")
    before = target.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(serial.os, "fdopen", lambda *a, **k: _DiskFull(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space left"):
        save_trace(result, target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert _files(tmp_path) == ["bug.trace.json"], "save_trace left a partial temporary file behind"


def test_failing_save_to_new_path_creates_nothing(tmp_path, monkeypatch, result):
    monkeypatch.setattr(serial, "row_json", lambda *_fields: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        save_trace(result, tmp_path / "new.trace.json")
    assert _files(tmp_path) == [], "save_trace left a file behind"


def test_saving_onto_a_directory_fails_and_leaves_no_temp_file(tmp_path, result):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(OSError):
        save_trace(result, folder)
    assert folder.is_dir() and _files(folder) == []
    assert _files(tmp_path) == ["out"], "save_trace left a temporary file behind"


# -- the direct event encoder writes what the JSON encoder writes ---------------


@pytest.mark.parametrize(
    "event",
    [
        Event(0, 0.0, "join", 3),
        Event(7, 1e-07, "send", 2, Message("HELLO", 2, 3, (("x", True), ("y", None), ("z", "é\n\"\t"))), arrive=1e22),
        Event(8, 2.5, "send", 2, Message("LOST", 2, 9, ()), arrive=None, fault="lost"),
        Event(9, 3.0, "send", 2, Message("TWICE", 2, 3, (("a", 1),)), arrive=4.0, fault="duplicated", again=6.5),
        Event(10, 4.0, "deliver", 3, Message("DUP", 2, 3, (("a", 1), ("b", 2), ("a", 3))),
              changes=(("queue", (), (4, 5)), ("left", None, 2), ("busy", False, True), ("gone", None, "left"))),
        Event(11, 5.0, "timer", 3, timer="retry", changes=(("member", False, True),)),
        Event(12, 6.0, "crash", 4, changes=(("gone", None, "crashed"),)),
        Event(13, 7.0, "deliver", 3, Message("BIG", 2, 3, (("n", -(2**70)), ("f", False)))),
    ],
)
def test_event_json_is_the_compact_json_of_the_event(event):
    assert serial.event_json(event) == serial._compact(serial.event_to_dict(event))


def test_event_json_refuses_what_json_refuses():
    with pytest.raises(ValueError):
        serial.event_json(Event(0, float("nan"), "join", 3))


def test_event_json_of_the_common_events_is_the_compact_json():
    # The common events (one id-valued field, nothing changed) take a shorter
    # path; ints, floats and names of every sort must come out as json writes them.
    for seq, t, kind, arrive, value in [(0, 0.0, "send", 1.5, 7), (12, 1e16, "deliver", None, -3),
                                        (2**64, 3.25e-05, "send", None, 10**30), (5, 2.0, "drop", None, 0)]:
        for name in ("joiner", "é", "a\"b"):
            event = Event(seq, t, kind, 4, Message("CONNECT\u2028", 4, 9, ((name, value),)), arrive=arrive)
            assert serial.event_json(event) == serial._compact(serial.event_to_dict(event))
    with pytest.raises(ValueError):
        serial.event_json(Event(0, float("inf"), "send", 4, Message("X", 4, 9, (("a", 1),)), arrive=2.0))
    with pytest.raises(ValueError):
        serial.event_json(Event(0, 1.0, "send", 4, Message("X", 4, 9, (("a", 1),)), arrive=float("nan")))
