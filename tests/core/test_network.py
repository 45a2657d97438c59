"""Latency models, per-link overrides, scripted delays and FIFO links."""

import random

import pytest

from dhtea import Bimodal, Constant, Exponential, LinkLatency, LogNormal, Network, Pareto, Uniform
from dhtea.core.network import Wire


def delays(wire, pairs, now=0.0):
    return [wire.arrival(now, s, d) - now for s, d in pairs]


@pytest.mark.parametrize(
    "model, low, high",
    [
        (Constant(2), 2, 2),
        (Uniform(1, 3), 1, 3),
        (Exponential(2, floor=1), 1, float("inf")),
        (LogNormal(3, 1.0), 0, float("inf")),
        (Pareto(2, 1.5), 2, float("inf")),
        (Bimodal(1, 50, 0.5), 1, 50),
    ],
)
def test_each_model_samples_in_range_and_is_seeded(model, low, high):
    a = [model.sample(random.Random(9)) for _ in range(3)]
    b = [model.sample(random.Random(9)) for _ in range(3)]
    assert a == b
    rng = random.Random(1)
    samples = [model.sample(rng) for _ in range(500)]
    assert all(low <= x <= high for x in samples)


def test_bimodal_gives_both_modes():
    rng = random.Random(3)
    assert {Bimodal(1, 50, 0.3).sample(rng) for _ in range(200)} == {1.0, 50.0}


def test_heavy_tails_are_heavy():
    rng = random.Random(5)
    samples = sorted(Pareto(1, 1.2).sample(rng) for _ in range(2000))
    assert samples[-1] > 20 * samples[len(samples) // 2]


@pytest.mark.parametrize(
    "make",
    [lambda: Uniform(5, 1), lambda: Constant(-1), lambda: Exponential(0), lambda: Bimodal(1, 2, 1.5), lambda: Pareto(1, 0)],
)
def test_impossible_models_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_link_overrides_and_scripted_delays():
    net = Network(latency=Constant(1), links=[LinkLatency(1, 2, Constant(7))], delays=(3,))
    wire = Wire(net, random.Random(0))
    # The first message takes its scripted delay; then the link override applies to 1->2 only.
    assert delays(wire, [(2, 1), (1, 2), (2, 1)]) == [3, 7, 1]


def test_removing_a_scripted_delay_leaves_the_others_unchanged():
    base = Network(latency=Uniform(0, 10), delays=(4, 4))
    plain = Network(latency=Uniform(0, 10), delays=(4,))
    a = delays(Wire(base, random.Random(2)), [(1, 2)] * 5)
    b = delays(Wire(plain, random.Random(2)), [(1, 2)] * 5)
    assert a[0] == b[0] == 4 and a[1] == 4 and a[2:] == b[2:]


def test_delivery_is_not_fifo_unless_asked():
    pairs = [(1, 2), (1, 2)]
    assert delays(Wire(Network(delays=(5, 1)), random.Random(0)), pairs) == [5, 1]  # overtakes
    assert delays(Wire(Network(delays=(5, 1), fifo=True), random.Random(0)), pairs) == [5, 5]


def test_duplicate_link_overrides_are_rejected():
    with pytest.raises(ValueError, match="more than one"):
        Network(links=[LinkLatency(1, 2, Constant(1)), LinkLatency(1, 2, Constant(2))])
