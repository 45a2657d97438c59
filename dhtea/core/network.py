"""Where a message gets its latency, and its fate.

A `Network` says how long each message takes: a default `LatencyModel`, optional
per-link overrides, optional scripted delays for individual messages (the n-th
message sent takes `delays[n]`; this is what lets Hypothesis shrink single
delays; `delay_at` scripts single later messages sparsely, `(n, d)` making
the n-th message sent take `d`), and whether each link delivers in FIFO order. Delivery is not FIFO
unless asked for: a later message may overtake an earlier one.

Faults, all off by default: each message sent from `faults_from` until
`faults_until` is lost with probability `loss`, or delivered twice with probability `duplicate` (the
copy takes a second latency draw, so it may arrive before or after the first);
`fates` scripts the fate of the first messages sent (`"deliver"`, `"lose"`,
`"duplicate"`; shrinking moves them towards `"deliver"`, as scripted delays
move towards 1); `fate_at` scripts single messages sent while the window is
open, `(k, f)` giving the k-th of them fate f (so a window that opens late
can lose exactly the first message sent after it opens); `partitions` lose every message sent between two sets of
nodes during a time window, healing at its end.

Scripts by message kind name a message by what it is rather than when it is
sent: `kind_delays` `(kind, k, d)` makes the k-th message of that kind sent
in the run (from 0) take `d`, and `kind_fates` `(kind, k, f)` gives it fate
f, wherever in the run it falls (the first lease-repair reply lost, the
second CONNECT held back past a retry). A protocol's timers may put such a
message far beyond any time a window is drawn at; so that the protocol still
gets its settle window after the fault, the simulator counts the window from
the last fate by kind that took place when that is later than `calm_at`. Fault draws come from their
own seeded generator, so turning faults on or off leaves every latency as it
was, and a run without faults draws exactly what it drew before faults existed.
"""

from __future__ import annotations

import math
import random  # determinism-ok: only seeded random.Random instances are used
from typing import ClassVar

import attrs
from attrs.validators import ge, gt, le

def _finite(inst: object, attr: attrs.Attribute, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attr.name} must be a finite number, got {value!r}")


_non_negative = [_finite, ge(0)]
_positive = [_finite, gt(0)]


@attrs.frozen
class Constant:
    """Every message takes exactly `value`."""

    kind: ClassVar[str] = "constant"
    value: float = attrs.field(default=1.0, converter=float, validator=_non_negative)

    def sample(self, rng: random.Random) -> float:
        return self.value


@attrs.frozen
class Uniform:
    """Uniform between `low` and `high`."""

    kind: ClassVar[str] = "uniform"
    low: float = attrs.field(converter=float, validator=_non_negative)
    high: float = attrs.field(converter=float, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.high < self.low:
            raise ValueError(f"uniform latency needs low <= high, got {self.low} > {self.high}")

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@attrs.frozen
class Exponential:
    """`floor` plus an exponential delay with mean `mean`."""

    kind: ClassVar[str] = "exponential"
    mean: float = attrs.field(converter=float, validator=_positive)
    floor: float = attrs.field(default=0.0, converter=float, validator=_non_negative)

    def sample(self, rng: random.Random) -> float:
        return self.floor + rng.expovariate(1.0 / self.mean)


@attrs.frozen
class LogNormal:
    """Heavy-tailed: log-normal with the given median and shape `sigma`."""

    kind: ClassVar[str] = "lognormal"
    median: float = attrs.field(converter=float, validator=_positive)
    sigma: float = attrs.field(converter=float, validator=_positive)

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)


@attrs.frozen
class Pareto:
    """Heavy-tailed: `scale` times a Pareto variate of shape `alpha` (>= scale)."""

    kind: ClassVar[str] = "pareto"
    scale: float = attrs.field(converter=float, validator=_positive)
    alpha: float = attrs.field(converter=float, validator=_positive)

    def sample(self, rng: random.Random) -> float:
        return self.scale * rng.paretovariate(self.alpha)


@attrs.frozen
class Bimodal:
    """`fast` most of the time, `slow` with probability `p_slow`."""

    kind: ClassVar[str] = "bimodal"
    fast: float = attrs.field(converter=float, validator=_non_negative)
    slow: float = attrs.field(converter=float, validator=_non_negative)
    p_slow: float = attrs.field(converter=float, validator=[_finite, ge(0), le(1)])

    def sample(self, rng: random.Random) -> float:
        return self.slow if rng.random() < self.p_slow else self.fast


LatencyModel = Constant | Uniform | Exponential | LogNormal | Pareto | Bimodal
LATENCY_MODELS: dict[str, type] = {m.kind: m for m in (Constant, Uniform, Exponential, LogNormal, Pareto, Bimodal)}

_is_model = attrs.validators.instance_of(tuple(LATENCY_MODELS.values()))


@attrs.frozen
class LinkLatency:
    """Messages from `src` to `dst` use `latency` instead of the default."""

    src: int
    dst: int
    latency: LatencyModel = attrs.field(validator=_is_model)


def _delays(value: object) -> tuple[float, ...]:
    return tuple(float(d) for d in value)  # type: ignore[union-attr]


def _delay_at(value: object) -> tuple[tuple[int, float], ...]:
    pairs = tuple(sorted((_index(n), float(d)) for n, d in value))  # type: ignore[union-attr]
    for n, d in pairs:
        if not (math.isfinite(d) and d >= 0):
            raise ValueError(f"a scripted delay is a finite number >= 0, got {d!r} for message {n}")
    indexes = [n for n, _ in pairs]
    if len(set(indexes)) != len(indexes):
        raise ValueError("delay_at scripts a message's delay more than once")
    return pairs


def _fate_at(value: object) -> tuple[tuple[int, str], ...]:
    pairs = tuple(sorted((_index(n), f) for n, f in value))  # type: ignore[union-attr]
    for n, f in pairs:
        if f not in FATES:
            raise ValueError(f"a message fate is one of {', '.join(FATES)}, got {f!r} for message {n}")
    indexes = [n for n, _ in pairs]
    if len(set(indexes)) != len(indexes):
        raise ValueError("fate_at scripts a message's fate more than once")
    return pairs


def _kind_script(value: object, what: str, check) -> tuple[tuple[str, int, object], ...]:
    """(kind, k, x) triples, sorted, each message scripted once; `check(x)`
    gives x or raises ValueError."""
    triples = []
    for item in value:  # type: ignore[union-attr]
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"{what} holds (kind, index, value) triples, got {item!r:.60}")
        kind, k, x = item
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"{what} names a message kind by a non-empty string, got {kind!r}")
        triples.append((kind, _index(k), check(x, kind, k)))
    triples.sort()
    keys = [(kind, k) for kind, k, _ in triples]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} scripts a message more than once")
    return tuple(triples)


def _a_delay(d: object, kind: str, k: int) -> float:
    try:
        ok = not isinstance(d, bool) and isinstance(d, (int, float)) and math.isfinite(d) and d >= 0
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok:
        raise ValueError(f"a scripted delay is a finite number >= 0, got {d!r:.40} for {kind} #{k}")
    return float(d)


def _a_fate(f: object, kind: str, k: int) -> str:
    if f not in FATES:
        raise ValueError(f"a message fate is one of {', '.join(FATES)}, got {f!r} for {kind} #{k}")
    return f  # type: ignore[return-value]


def _kind_delays(value: object) -> tuple[tuple[str, int, float], ...]:
    return _kind_script(value, "kind_delays", _a_delay)  # type: ignore[return-value]


def _kind_fates(value: object) -> tuple[tuple[str, int, str], ...]:
    return _kind_script(value, "kind_fates", _a_fate)  # type: ignore[return-value]


def _index(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a message index is a whole number >= 0, got {value!r}")
    return value


def _node_set(value: object) -> tuple[int, ...]:
    nodes = tuple(sorted(value))  # type: ignore[call-overload]
    for n in nodes:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"node ids are integers, got {n!r}")
    if not nodes or len(set(nodes)) != len(nodes):
        raise ValueError("each side of a partition is a non-empty set of distinct node ids")
    return nodes


@attrs.frozen
class Partition:
    """From `start` until `end`, every message sent between a node of `side_a`
    and a node of `side_b` (either way) is lost. At `end` it heals."""

    start: float = attrs.field(converter=float, validator=_non_negative)
    end: float = attrs.field(converter=float, validator=_non_negative)
    side_a: tuple[int, ...] = attrs.field(converter=_node_set)
    side_b: tuple[int, ...] = attrs.field(converter=_node_set)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a partition ends after it starts, got {self.start:g}..{self.end:g}")
        if set(self.side_a) & set(self.side_b):
            raise ValueError("a node is on both sides of a partition")

    def cuts(self, now: float, src: int, dst: int) -> bool:
        if not self.start <= now < self.end:
            return False
        a, b = self.side_a, self.side_b
        return (src in a and dst in b) or (src in b and dst in a)


#: Scripted fates of single messages; "deliver" is the simplest.
FATES = ("deliver", "lose", "duplicate")


def _probability(inst: object, attr: attrs.Attribute, value: float) -> None:
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{attr.name} is a probability from 0 to 1, got {value!r}")


def _fates(value: object) -> tuple[str, ...]:
    fates = tuple(value)  # type: ignore[arg-type]
    for f in fates:
        if f not in FATES:
            raise ValueError(f"a message fate is one of {', '.join(FATES)}, got {f!r}")
    return fates


def _faults_until(inst: object, attr: object, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"faults_until is None or a finite time >= 0, got {value!r}")


def _faults_from(inst: object, attr: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"faults_from is a finite time >= 0, got {value!r}")


@attrs.frozen
class Network:
    latency: LatencyModel = attrs.field(factory=Constant, validator=_is_model)
    links: tuple[LinkLatency, ...] = attrs.field(default=(), converter=tuple)
    delays: tuple[float, ...] = attrs.field(
        default=(), converter=_delays, validator=attrs.validators.deep_iterable(_non_negative)
    )
    fifo: bool = False
    loss: float = attrs.field(default=0.0, converter=float, validator=_probability)
    duplicate: float = attrs.field(default=0.0, converter=float, validator=_probability)
    fates: tuple[str, ...] = attrs.field(default=(), converter=_fates)
    partitions: tuple[Partition, ...] = attrs.field(default=(), converter=tuple)
    #: Loss, duplication and scripted fates apply to messages sent before this
    #: time (None: for the whole run). Partitions have their own windows.
    faults_until: float | None = attrs.field(default=None, validator=_faults_until)
    #: ... and sent at or after this time: with `faults_until`, a fault window
    #: that may open late in a run (a lost late ack, a duplicated retry).
    faults_from: float = attrs.field(default=0.0, validator=_faults_from)
    #: Sparse scripted delays, (n, d): the n-th message sent (from 0) takes d.
    #: They reach messages far beyond `delays`; where both script one, `delays` wins.
    delay_at: tuple[tuple[int, float], ...] = attrs.field(default=(), converter=_delay_at)
    #: Sparse scripted fates, (k, f): the k-th message (from 0) sent inside the
    #: fault window (`faults_from` to `faults_until`) has fate f, unless `fates`
    #: scripts that message too (it wins).
    fate_at: tuple[tuple[int, str], ...] = attrs.field(default=(), converter=_fate_at)
    #: Delays by kind, (kind, k, d): the k-th message of `kind` sent in the run
    #: (from 0) takes d, unless `delays` or `delay_at` script it (they win).
    kind_delays: tuple[tuple[str, int, float], ...] = attrs.field(default=(), converter=_kind_delays)
    #: Fates by kind, (kind, k, f): the k-th message of `kind` sent in the run
    #: (from 0) has fate f, in the fault window or not; inside the window
    #: `fates` and `fate_at` win. A partition cutting it wins over all.
    kind_fates: tuple[tuple[str, int, str], ...] = attrs.field(default=(), converter=_kind_fates)

    def __attrs_post_init__(self) -> None:
        pairs = [(link.src, link.dst) for link in self.links]
        if len(set(pairs)) != len(pairs):
            raise ValueError("a link (src, dst) has more than one latency override")
        if self.faults_until is not None and self.faults_from > self.faults_until:
            raise ValueError(f"the fault window opens after it closes, got {self.faults_from:g} > {self.faults_until:g}")
        if self.loss + self.duplicate > 1:
            raise ValueError(f"loss + duplicate is at most 1, got {self.loss:g} + {self.duplicate:g}")
        for p in self.partitions:
            if not isinstance(p, Partition):
                raise TypeError(f"partitions holds Partition windows, got {p!r}")

    @property
    def faulty(self) -> bool:
        """Whether any message may be lost or duplicated."""
        return bool(self.loss or self.duplicate or any(f != "deliver" for f in self.fates) or self.partitions
                    or any(f != "deliver" for _, f in self.fate_at) or any(f != "deliver" for *_, f in self.kind_fates))

    @property
    def calm_at(self) -> float:
        """When the network's faults are over (0 for a reliable network), as
        far as the scenario says: a fate by kind falls when its message is
        sent, which only the run knows."""
        ends = [p.end for p in self.partitions]
        if self.loss or self.duplicate or self.fates or self.fate_at:
            ends.append(self.faults_until or 0.0)
        return max(ends, default=0.0)

    def check_nodes(self, nodes: set[int]) -> None:
        for p in self.partitions:
            for n in p.side_a + p.side_b:
                if n not in nodes:
                    raise ValueError(f"a partition names node {n}, which is not a node of the run")


class LatencyError(ValueError):
    """A latency model gave a delay that is not a finite number (its parameters are too extreme)."""


class Wire:
    """The running network of one simulation: turns each send into an arrival
    time, and (only when the network has faults) into a fate."""

    __slots__ = ("_network", "_rng", "_links", "_last", "_sent", "_fault_rng", "_fated", "_delay_at", "_fate_at",
                 "_in_window", "_kind_delays", "_kind_fates", "_kind_sent", "_kind_fated", "by_kind")

    def __init__(self, network: Network, rng: random.Random, fault_seed: int = 0) -> None:
        self._network = network
        self._rng = rng
        self._links = {(link.src, link.dst): link.latency for link in network.links}
        self._last: dict[tuple[int, int], float] = {}
        self._sent = 0
        # Its own generator: faults never shift a latency draw, and shrinking a
        # loss probability away leaves every other message as it was.
        self._fault_rng = random.Random(fault_seed * 2 + 1)
        self._fated = 0
        self._delay_at = dict(network.delay_at)
        self._fate_at = dict(network.fate_at)
        self._in_window = 0  # messages sent inside the fault window so far: `fate_at` counts them
        self._kind_delays = {(kind, k): d for kind, k, d in network.kind_delays}
        self._kind_fates = {(kind, k): f for kind, k, f in network.kind_fates}
        self._kind_sent: dict[str, int] = {}  # messages of each kind given an arrival time so far
        self._kind_fated: dict[str, int] = {}  # ... and given a fate so far
        self.by_kind = False  # whether the last fate given was a fate by kind (`kind_fates`)

    def fate(self, now: float, src: int, dst: int, arrive: float, kind: str = "") -> tuple[str | None, float | None]:
        """What happens to a message of `kind` sent at `now` that would arrive at `arrive`:
        (None, None) delivered once; ("lost" | "partitioned", None) never
        delivered; ("duplicated", t) delivered at `arrive` and again at `t`."""
        net = self._network
        n = self._fated
        self._fated = n + 1
        self.by_kind = False
        by_kind = None
        if self._kind_fates:
            c = self._kind_fated.get(kind, 0)
            self._kind_fated[kind] = c + 1
            by_kind = self._kind_fates.get((kind, c))
        roll = 0.0
        extra = arrive - now
        if net.loss or net.duplicate or net.fates or self._fate_at or self._kind_fates:  # drawn for every message, used or not, as latencies are
            roll = self._fault_rng.random()
            model = self._links.get((src, dst), net.latency) if self._links else net.latency
            try:
                extra = model.sample(self._fault_rng)
            except OverflowError:
                extra = arrive - now
        for p in net.partitions:
            if p.cuts(now, src, dst):
                return "partitioned", None
        if (net.faults_until is not None and now >= net.faults_until) or now < net.faults_from:
            if by_kind is None:
                return None, None
            scripted, self.by_kind = by_kind, by_kind != "deliver"
        else:
            scripted = net.fates[n] if n < len(net.fates) else None
            k = self._in_window
            self._in_window = k + 1
            if scripted is None and self._fate_at:
                scripted = self._fate_at.get(k)
            if scripted is None and by_kind is not None:
                scripted, self.by_kind = by_kind, by_kind != "deliver"
        if scripted is None and (net.loss or net.duplicate):
            scripted = "lose" if roll < net.loss else "duplicate" if roll < net.loss + net.duplicate else "deliver"
        if scripted == "lose":
            return "lost", None
        if scripted == "duplicate":
            again = now + extra
            return "duplicated", again if math.isfinite(again) else arrive
        return None, None

    def arrival(self, now: float, src: int, dst: int, kind: str = "") -> float:
        net = self._network
        model = self._links.get((src, dst), net.latency) if self._links else net.latency
        # Draw even when a scripted delay overrides it, so removing one scripted
        # delay while shrinking leaves every other message's delay unchanged.
        try:
            delay = model.sample(self._rng)
        except OverflowError:
            delay = math.inf
        n = self._sent
        self._sent = n + 1
        by_kind = None
        if self._kind_delays:  # every message of a kind counted, scripted by index or not
            c = self._kind_sent.get(kind, 0)
            self._kind_sent[kind] = c + 1
            by_kind = self._kind_delays.get((kind, c))
        if n < len(net.delays):
            delay = net.delays[n]
        elif self._delay_at and n in self._delay_at:
            delay = self._delay_at[n]
        elif by_kind is not None:
            delay = by_kind
        at = now + delay
        if not math.isfinite(at):
            raise LatencyError(f"latency model {model} gave a delay that is not a finite number")
        if net.fifo:
            at = max(at, self._last.get((src, dst), at))
            self._last[(src, dst)] = at
        return at
