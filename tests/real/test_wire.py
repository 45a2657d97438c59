"""The UDP wire format: round trips, stable node ids, and every way a datagram is refused."""

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dhtea.core.messages import Message
from dhtea.real.wire import MAX_DATAGRAM, WireError, decode, encode, node_id, parse_address

KINDS = ("CONNECT", "CHANGE_NEIGHBOUR", "NEW_NEIGHBOUR", "SUCCESS_JOIN")
ME = ("127.0.0.1", 9001)


def valid(**override) -> dict:
    obj = {"v": 1, "kind": "CONNECT", "src": 5, "dst": 7, "data": {"joiner": 9},
           "from": ["127.0.0.1", 9001], "addrs": [[9, "127.0.0.1", 9003]]}
    obj.update(override)
    return obj


def raw(obj) -> bytes:
    return json.dumps(obj).encode()


def reason_of(datagram: bytes) -> str:
    with pytest.raises(WireError) as info:
        decode(datagram, KINDS)
    return info.value.reason


def test_round_trip_keeps_the_message_its_sender_and_addresses():
    msg = Message("NEW_NEIGHBOUR", 2**63 - 1, -(2**63), (("side", "left"), ("n", 4), ("ok", True), ("none", None)))
    packet = decode(encode(msg, ME, [(4, ("127.0.0.2", 65535))]), KINDS)
    assert packet.message == msg
    assert packet.sender == ME
    assert packet.addrs == {4: ("127.0.0.2", 65535)}


def test_the_documented_example_decodes():
    packet = decode(raw(valid()), KINDS)
    assert packet.message == Message("CONNECT", 5, 7, (("joiner", 9),))
    assert packet.addrs == {9: ("127.0.0.1", 9003)}


def test_node_ids_are_a_stable_hash_of_the_address():
    assert node_id("127.0.0.1", 9001) == int.from_bytes(__import__("hashlib").sha256(b"127.0.0.1:9001").digest()[:4], "big")
    assert node_id("127.0.0.1", 9001) == 2038927453  # pinned: changing it breaks existing logs and scripts
    assert node_id("127.0.0.1", 9001) != node_id("127.0.0.1", 9002)
    code = "from dhtea.real.wire import node_id; print(node_id('127.0.0.1', 9001))"
    for seed in ("0", "123"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "2038927453"


def test_parse_address():
    assert parse_address("127.0.0.1:9000") == (None, ("127.0.0.1", 9000))
    assert parse_address("42@127.0.0.1:9000") == (42, ("127.0.0.1", 9000))
    assert parse_address("127.0.0.1:0", allow_port_zero=True) == (None, ("127.0.0.1", 0))
    for bad in ("127.0.0.1", "localhost:9000", "127.0.0.1:x", "127.0.0.1:0", "127.0.0.1:70000", "x@127.0.0.1:1", "::1:90"):
        with pytest.raises(ValueError):
            parse_address(bad)


@pytest.mark.parametrize(
    "datagram, reason",
    [
        (b"x" * (MAX_DATAGRAM + 1), "oversized"),
        (b"\xff\xfe{}", "encoding"),
        (b"", "json"),
        (b"{", "json"),
        (b"[1, 2]", "json"),
        (b"null", "json"),
        (b'{"v": 1, "v": 1}', "json"),
        (b"[" * 4000 + b"]" * 4000, "json"),
        (b'{"v": NaN}', "json"),
        (b'{"v": 1, "src": ' + b"9" * 5000 + b"}", "json"),
        (raw({"kind": "CONNECT"}), "version"),
        (raw(valid(v=2)), "version"),
        (raw(valid(v="1")), "version"),
        (raw(valid(v=True)), "version"),
        (raw(valid(v=1.0)), "version"),
        (raw({**valid(), "extra": 1}), "field"),
        (raw({k: v for k, v in valid().items() if k != "addrs"}), "field"),
        (raw(valid(kind="HELLO")), "kind"),
        (raw(valid(kind=1)), "kind"),
        (raw(valid(kind="connect")), "kind"),
        (raw(valid(src=True)), "field"),
        (raw(valid(src=1.5)), "field"),
        (raw(valid(dst=2**63)), "field"),
        (raw(valid(dst="7")), "field"),
        (raw(valid(data=[1])), "field"),
        (raw(valid(data={"joiner": 1.5})), "field"),
        (raw(valid(data={"joiner": [1]})), "field"),
        (raw(valid(data={"joiner": {"a": 1}})), "field"),
        (raw(valid(data={"": 1})), "field"),
        (raw(valid(data={"x" * 65: 1})), "field"),
        (raw(valid(data={"s": "x" * 1025})), "field"),
        (raw(valid(data={f"k{i}": i for i in range(33)})), "field"),
        (raw(valid(**{"from": ["127.0.0.1"]})), "field"),
        (raw(valid(**{"from": ["localhost", 9001]})), "field"),
        (raw(valid(**{"from": ["127.0.0.1", 0]})), "field"),
        (raw(valid(**{"from": ["127.0.0.1", "9001"]})), "field"),
        (raw(valid(addrs={})), "field"),
        (raw(valid(addrs=[[1, "127.0.0.1"]])), "field"),
        (raw(valid(addrs=[["1", "127.0.0.1", 1]])), "field"),
        (raw(valid(addrs=[[1, "127.0.0.1", 1]] * 33)), "field"),
    ],
)
def test_invalid_datagrams_raise_one_wire_error_with_a_reason(datagram, reason):
    assert reason_of(datagram) == reason


def test_encode_refuses_what_decode_would_refuse():
    with pytest.raises(WireError) as info:
        encode(Message("CONNECT", 1, 2, (("n", 2**70),)), ME)
    assert info.value.reason == "field"


def test_encode_refuses_an_oversized_message():
    msg = Message("CONNECT", 1, 2, tuple((f"k{i}", "x" * 1000) for i in range(9)))
    with pytest.raises(WireError) as info:
        encode(msg, ME)
    assert info.value.reason == "oversized"


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_cleanly(data):
    try:
        decode(data, KINDS)
    except WireError:
        pass


def _mutate(data: bytes, draw_ops) -> bytes:
    out = bytearray(data)
    for op, pos, byte in draw_ops:
        if not out:
            break
        pos %= len(out)
        if op == 0:
            out[pos] = byte
        elif op == 1:
            del out[pos:]
        elif op == 2:
            out.insert(pos, byte)
        else:
            del out[pos]
    return bytes(out)


@settings(max_examples=500)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_datagrams_decode_or_are_refused_cleanly(ops):
    datagram = _mutate(raw(valid()), ops)
    try:
        packet = decode(datagram, KINDS)
    except WireError:
        return
    assert packet.message.kind in KINDS  # what still decodes is a well-formed message
    assert encode(packet.message, packet.sender, packet.addrs.items())
