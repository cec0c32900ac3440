"""Summary quantiles over a sliding window, in bounded memory."""

from __future__ import annotations

import math
import random

import pytest

from watchkeeper.exposition import generate_latest
from watchkeeper.metrics import CollectorRegistry, Summary
from watchkeeper.metrics.quantiles import QuantileWindow, Sketch, weighted_quantiles


def test_exact_quantiles_for_small_samples_rendered_as_quantile_lines():
    reg = CollectorRegistry()
    s = Summary("latency", "L", ["route"], registry=reg)
    for v in range(1, 101):
        s.labels("/").observe(v)
    assert reg.get_sample_value("latency", {"route": "/", "quantile": "0.5"}) == 50
    assert reg.get_sample_value("latency", {"route": "/", "quantile": "0.9"}) == 90
    assert reg.get_sample_value("latency", {"route": "/", "quantile": "0.99"}) == 99
    assert reg.get_sample_value("latency_count", {"route": "/"}) == 100
    assert reg.get_sample_value("latency_sum", {"route": "/"}) == 5050
    text = generate_latest(reg).decode()
    assert 'latency{route="/",quantile="0.99"} 99.0\n' in text


def test_custom_quantiles_and_none():
    reg = CollectorRegistry()
    s = Summary("a", "A", quantiles=(0.25, 0.75), registry=reg)
    for v in (1, 2, 3, 4):
        s.observe(v)
    assert reg.get_sample_value("a", {"quantile": "0.25"}) == 1
    assert reg.get_sample_value("a", {"quantile": "0.75"}) == 3
    plain = Summary("b", "B", quantiles=(), registry=reg)
    plain.observe(3)
    assert [x.labels for f in reg.collect() if f.name == "b" for x in f.samples
            if x.name == "b"] == []
    empty = Summary("c", "C", registry=reg)
    assert math.isnan(reg.get_sample_value("c", {"quantile": "0.5"}))
    del empty
    with pytest.raises(ValueError):
        Summary("d", "D", quantiles=(1.5,), registry=reg)


def test_large_streams_stay_accurate_and_bounded():
    rng = random.Random(7)
    sketch = Sketch()
    values = [rng.expovariate(1.0) for _ in range(200_000)]
    for i in range(0, len(values), 512):
        sketch.extend(values[i:i + 512])
    held = sum(len(level) for level in sketch._levels)
    assert held < 1000  # about 3k numbers for 200,000 observations
    ordered = sorted(values)
    for q, got in zip((0.5, 0.9, 0.99), weighted_quantiles(sketch.weighted(), (0.5, 0.9, 0.99)),
                      strict=True):
        rank = sum(1 for v in ordered if v <= got) / len(ordered)
        assert abs(rank - q) < 0.02, (q, rank)


def test_window_forgets_old_observations():
    window = QuantileWindow(max_age=60, age_buckets=3)
    start = window._start
    window.add([100.0] * 10, now=start + 1)
    window.add([1.0] * 10, now=start + 21)
    assert window.quantiles([0.99], now=start + 30) == [100.0]
    # 100.0 was observed in the first 20 s bucket: gone once three newer buckets exist.
    assert window.quantiles([0.99], now=start + 61) == [1.0]
    assert math.isnan(window.quantiles([0.5], now=start + 200)[0])


def test_summary_window_through_the_metric():
    reg = CollectorRegistry()
    s = Summary("s", "S", max_age=60, age_buckets=2, registry=reg)
    s.observe(5)
    child = s._lookup[()]
    child._flush()
    window = child._window
    window._start -= 120  # as if two minutes had passed
    assert math.isnan(reg.get_sample_value("s", {"quantile": "0.5"}))
    assert reg.get_sample_value("s_count") == 1
