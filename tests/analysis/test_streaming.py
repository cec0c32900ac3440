"""The server's streaming scorer: few false flags on noise, a 4-sigma shift caught within two
evaluations, a spike scored once, and a few dozen bytes per series."""

from __future__ import annotations

import numpy as np

from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD
from watchkeeper.analysis.streaming import WARMUP, StreamScorer

PER_HOUR = 120  # one evaluation every 30 s


def flagged_hours(noise: np.ndarray) -> float:
    """Fraction of series-hours with at least one point at or above the threshold, after the
    warm-up; ``noise`` is (points, series)."""
    points, series = noise.shape
    scorer = StreamScorer(series)
    keys = np.arange(series, dtype=np.int64) * 7919
    hours = (points - WARMUP) // PER_HOUR
    hit = np.zeros((series, hours), dtype=bool)
    for t in range(WARMUP + hours * PER_HOUR):
        s = scorer.update(keys, noise[t])
        assert ((s >= 0) & (s < 1)).all()
        if t >= WARMUP:
            hit[:, (t - WARMUP) // PER_HOUR] |= s >= ANOMALY_THRESHOLD
    return float(hit.mean())


def test_stationary_gaussian_noise_flags_under_one_percent_of_series_hours() -> None:
    rng = np.random.default_rng(11)
    noise = 250.0 + 3.0 * rng.normal(size=(WARMUP + 4 * PER_HOUR, 2000))
    assert flagged_hours(noise) <= 0.01


def test_a_4_sigma_level_shift_is_flagged_within_two_evaluations() -> None:
    # Over 12,000 seeded series the two-point test catches ~91 % (its ceiling with these
    # thresholds and a known mean and spread is ~94 %); when the shift's first point taught
    # the baseline before the second was judged, it caught ~88 %.
    caught = []
    for seed in (12, 13, 14):
        rng = np.random.default_rng(seed)
        series, sigma = 4000, 2.0
        scorer = StreamScorer(series)
        keys = np.arange(series, dtype=np.int64)
        level = rng.uniform(-100, 100, series)
        for _ in range(300):
            scorer.update(keys, level + sigma * rng.normal(size=series))
        hit = np.zeros(series, dtype=bool)
        for _ in range(2):
            s = scorer.update(keys, level + 4 * sigma + sigma * rng.normal(size=series))
            hit |= s >= ANOMALY_THRESHOLD
        caught.append(hit)
    assert np.concatenate(caught).mean() >= 0.90  # ~5 standard errors under the expected
    # and the same shift downwards, on a series with a tiny spread around a big level
    rng = np.random.default_rng(12)
    small = StreamScorer(200)
    keys = np.arange(200, dtype=np.int64)
    for _ in range(100):
        small.update(keys, 1e4 + 0.1 * rng.normal(size=200))
    hit = np.zeros(200, dtype=bool)
    for _ in range(2):
        hit |= small.update(keys, 1e4 - 0.4 - 0.1 * rng.normal(size=200)) >= ANOMALY_THRESHOLD
    assert hit.mean() >= 0.8


def test_the_second_point_of_a_shift_is_judged_against_a_baseline_without_the_first() -> None:
    rng = np.random.default_rng(4)
    scorer = StreamScorer()
    for _ in range(200):
        scorer.update([9], [rng.normal()])
    before = scorer.baseline([9])[0]
    scorer.update([9], [4.0])  # teaches the point before it (noise): a small move
    first = scorer.baseline([9])[0]
    assert abs(first - before) < 0.05
    scorer.update([9], [4.0])  # now the first 4 sigma point, clipped at 3: ~0.1
    assert scorer.baseline([9])[0] - first > 0.09


def test_a_lone_spike_is_flagged_and_does_not_move_the_baseline() -> None:
    rng = np.random.default_rng(3)
    scorer = StreamScorer()
    for _ in range(200):
        scorer.update([5], [10 + rng.normal()])
    before = scorer.baseline([5])[0]
    assert scorer.update([5], [30.0])[0] >= 0.75  # 20 sigma: r = 4
    assert abs(scorer.baseline([5])[0] - before) < 0.2
    assert scorer.update([5], [10.0])[0] < ANOMALY_THRESHOLD  # the point after is normal


def test_routine_outliers_of_a_heavy_tailed_series_stop_paging() -> None:
    rng = np.random.default_rng(5)
    noise = 50 + rng.laplace(size=(WARMUP + 12 * PER_HOUR, 1000))
    points, series = noise.shape
    scorer = StreamScorer(series)
    keys = np.arange(series, dtype=np.int64)
    first, last = np.zeros(series, bool), np.zeros(series, bool)
    for t in range(points):
        s = scorer.update(keys, noise[t]) >= ANOMALY_THRESHOLD
        if WARMUP <= t < WARMUP + PER_HOUR:
            first |= s
        elif t >= points - PER_HOUR:
            last |= s
    assert last.mean() < first.mean() / 3  # the series' tail has been learned


def test_series_come_and_go_within_capacity() -> None:
    scorer = StreamScorer(capacity=3)
    assert list(scorer.update([30, 10, 20, 40], [1.0, 2.0, 3.0, np.nan])) == [0, 0, 0, 0]
    assert len(scorer) == 3 and scorer.dropped == 0
    scorer.update([50], [1.0])  # no room: scored 0, counted
    assert len(scorer) == 3 and scorer.dropped == 1
    for _ in range(5):
        scorer.update([10], [2.0])
    assert scorer.forget(idle_ticks=3) == 2 and list(scorer.keys) == [10]
    assert scorer.nbytes / len(scorer) <= 64
