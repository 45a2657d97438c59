"""Where a message gets its latency.

A `Network` says how long each message takes: a default `LatencyModel`, optional
per-link overrides, optional scripted delays for individual messages (the n-th
message sent takes `delays[n]`; this is what lets Hypothesis shrink single
delays), and whether each link delivers in FIFO order. Delivery is not FIFO
unless asked for: a later message may overtake an earlier one.
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


@attrs.frozen
class Network:
    latency: LatencyModel = attrs.field(factory=Constant, validator=_is_model)
    links: tuple[LinkLatency, ...] = attrs.field(default=(), converter=tuple)
    delays: tuple[float, ...] = attrs.field(
        default=(), converter=_delays, validator=attrs.validators.deep_iterable(_non_negative)
    )
    fifo: bool = False

    def __attrs_post_init__(self) -> None:
        pairs = [(link.src, link.dst) for link in self.links]
        if len(set(pairs)) != len(pairs):
            raise ValueError("a link (src, dst) has more than one latency override")


class LatencyError(ValueError):
    """A latency model gave a delay that is not a finite number (its parameters are too extreme)."""


class Wire:
    """The running network of one simulation: turns each send into an arrival time."""

    __slots__ = ("_network", "_rng", "_links", "_last", "_sent")

    def __init__(self, network: Network, rng: random.Random) -> None:
        self._network = network
        self._rng = rng
        self._links = {(link.src, link.dst): link.latency for link in network.links}
        self._last: dict[tuple[int, int], float] = {}
        self._sent = 0

    def arrival(self, now: float, src: int, dst: int) -> float:
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
        if n < len(net.delays):
            delay = net.delays[n]
        at = now + delay
        if not math.isfinite(at):
            raise LatencyError(f"latency model {model} gave a delay that is not a finite number")
        if net.fifo:
            at = max(at, self._last.get((src, dst), at))
            self._last[(src, dst)] = at
        return at
