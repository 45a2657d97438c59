"""The wire format of real runs: one protocol message per UDP datagram.

Wire format version 1. A datagram is one JSON object, UTF-8, at most
`MAX_DATAGRAM` (8192) bytes, with exactly these fields:

    {"v": 1, "kind": "CONNECT", "src": 305419896, "dst": 2596069104,
     "data": {"joiner": 4023233417},
     "from": ["127.0.0.1", 9001],
     "addrs": [[4023233417, "127.0.0.1", 9003]]}

- `v`: the format version, the integer 1. Anything else is refused.
- `kind`: the message kind, one the receiving protocol declares in `kinds`.
- `src`, `dst`: sender and receiver node ids, integers in [-2**63, 2**63).
- `data`: the message's named values in the sender's order, each an integer
  (same range), a string (at most 1024 characters), true/false or null; at most
  32 names of at most 64 characters.
- `from`: where the sender listens, [IPv4 address, port]; it must be the
  address the datagram came from.
- `addrs`: [id, IPv4 address, port] for node ids named in `data` that the
  sender knows how to reach (at most 32), so that a forwarded
  `CONNECT(joiner=j)` tells the receiver where `j` is.

Any other field, a duplicate name, NaN or Infinity, a float, or nesting beyond
the above makes the datagram invalid. `decode` checks all of this and raises
one `WireError`, whose `reason` is the drop counter it goes to: `oversized`,
`encoding`, `json`, `version`, `field` or `kind`.

Node ids in real runs: `node_id(host, port)` is the first 4 bytes of
SHA-256("host:port") as a big-endian integer, the same in every process
whatever PYTHONHASHSEED says; a node may be given another id with `--id`.
Addresses are written `[ID@]HOST:PORT` on the command line, HOST an IPv4 address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Iterable, NamedTuple

from dhtea.core.messages import Message, Scalar

WIRE_VERSION = 1
MAX_DATAGRAM = 8192
MAX_VALUES = 32
MAX_NAME = 64
MAX_STRING = 1024
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_FIELDS = {"v", "kind", "src", "dst", "data", "from", "addrs"}

Address = tuple[str, int]


class WireError(ValueError):
    """A datagram that is not a valid version-1 message. `reason` names its drop counter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Packet(NamedTuple):
    """A decoded datagram: the message, where its sender listens, and the addresses it carried."""

    message: Message
    sender: Address
    addrs: dict[int, Address]


def node_id(host: str, port: int) -> int:
    """The stable id of the node listening on host:port (independent of PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.sha256(f"{host}:{port}".encode()).digest()[:4], "big")


def parse_address(text: str, *, allow_port_zero: bool = False) -> tuple[int | None, Address]:
    """Parse `[ID@]HOST:PORT` into (id or None, (host, port)); ValueError if malformed."""
    ident = None
    if "@" in text:
        head, _, text = text.partition("@")
        try:
            ident = int(head)
        except ValueError:
            raise ValueError(f"bad node id {head!r} (expected ID@HOST:PORT)") from None
        if not _INT_MIN <= ident <= _INT_MAX:
            raise ValueError(f"node id {ident} is out of range")
    host, colon, port_text = text.rpartition(":")
    if not colon:
        raise ValueError(f"bad address {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000")
    try:
        host = str(ipaddress.IPv4Address(host))
    except ValueError:
        raise ValueError(f"bad address {text!r}: HOST must be an IPv4 address like 127.0.0.1") from None
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"bad address {text!r}: PORT must be a number") from None
    if not (0 if allow_port_zero else 1) <= port <= 65535:
        raise ValueError(f"bad address {text!r}: PORT must be between 1 and 65535")
    return ident, (host, port)


def encode(msg: Message, sender: Address, addrs: Iterable[tuple[int, Address]] = ()) -> bytes:
    """The datagram for `msg`; WireError if a receiver would refuse it (too big, a bad value)."""
    obj = {
        "v": WIRE_VERSION,
        "kind": msg.kind,
        "src": msg.src,
        "dst": msg.dst,
        "data": dict(msg.data),
        "from": list(sender),
        "addrs": [[n, host, port] for n, (host, port) in addrs],
    }
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(data) > MAX_DATAGRAM:
        raise WireError("oversized", f"{msg.kind} message is {len(data)} bytes, the limit is {MAX_DATAGRAM}")
    decode(data, (msg.kind,))  # never send what a receiver would refuse (an id beyond 64 bits, a long string)
    return data


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise WireError("json", "duplicate name in an object")
    return out


def _no_constant(name: str) -> None:
    raise WireError("json", f"{name} is not allowed")


def _int(value: object, what: str) -> int:
    if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:
        raise WireError("field", f"{what} should be a 64-bit integer, got {value!r:.40}")
    return value


def _address(host: object, port: object, what: str) -> Address:
    if not isinstance(host, str) or type(port) is not int or not 1 <= port <= 65535:
        raise WireError("field", f"{what} should be an IPv4 address and a port")
    try:
        if str(ipaddress.IPv4Address(host)) != host:
            raise ValueError
    except ValueError:
        raise WireError("field", f"{what} has a bad IPv4 address {host!r:.40}") from None
    return host, port


def _value(name: object, value: object) -> tuple[str, Scalar]:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise WireError("field", f"data name {name!r:.40} should be a string of 1 to {MAX_NAME} characters")
    if value is None or isinstance(value, bool):
        return name, value
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise WireError("field", f"data value {name} is longer than {MAX_STRING} characters")
        return name, value
    return name, _int(value, f"data value {name}")


def decode(datagram: bytes, kinds: Iterable[str]) -> Packet:
    """Validate and decode one datagram for a protocol that declares `kinds`."""
    if len(datagram) > MAX_DATAGRAM:
        raise WireError("oversized", f"{len(datagram)} bytes, the limit is {MAX_DATAGRAM}")
    try:
        text = datagram.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("encoding", "not UTF-8") from None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except WireError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge ints, deep nesting
        raise WireError("json", f"not a JSON document ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise WireError("json", "not a JSON object")
    version = obj.get("v")
    if type(version) is not int or version != WIRE_VERSION:
        raise WireError("version", f"unsupported wire version {version!r:.40} (this node speaks {WIRE_VERSION})")
    if set(obj) != _FIELDS:
        raise WireError("field", f"fields should be exactly {sorted(_FIELDS)}")
    kind = obj["kind"]
    if not isinstance(kind, str) or kind not in tuple(kinds):
        raise WireError("kind", f"message kind {kind!r:.40} is not one this protocol declares")
    data, sender, addrs = obj["data"], obj["from"], obj["addrs"]
    if not isinstance(data, dict) or len(data) > MAX_VALUES:
        raise WireError("field", f"data should be an object with at most {MAX_VALUES} values")
    if not isinstance(sender, list) or len(sender) != 2:
        raise WireError("field", "from should be [address, port]")
    if not isinstance(addrs, list) or len(addrs) > MAX_VALUES:
        raise WireError("field", f"addrs should be a list of at most {MAX_VALUES} entries")
    book: dict[int, Address] = {}
    for entry in addrs:
        if not isinstance(entry, list) or len(entry) != 3:
            raise WireError("field", "each addrs entry should be [id, address, port]")
        book[_int(entry[0], "addrs id")] = _address(entry[1], entry[2], "addrs entry")
    message = Message(kind, _int(obj["src"], "src"), _int(obj["dst"], "dst"), tuple(_value(k, v) for k, v in data.items()))
    return Packet(message, _address(sender[0], sender[1], "from"), book)
