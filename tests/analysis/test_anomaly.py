"""The streaming anomaly detector: what a user relies on when a point is flagged."""

import numpy as np
import pytest

from watchkeeper.analysis.anomaly import ANOMALY_THRESHOLD, AnomalyDetector, anomaly_scores


def noise(n, seed=0, mean=10.0, sd=1.0):
    return np.random.default_rng(seed).normal(mean, sd, n)


def test_a_score_uses_only_the_points_before_it():
    x = noise(1500, seed=3)
    x[1200] += 9
    full = anomaly_scores(x)
    for cut in (61, 700, 1201, 1400):
        assert np.array_equal(anomaly_scores(x[:cut]), full[:cut])


def test_scores_are_in_0_1_and_nothing_scores_during_warm_up():
    s = anomaly_scores(noise(3000, seed=1))
    assert ((s >= 0) & (s <= 1)).all()
    assert (s[:60] == 0).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_stationary_noise_flags_under_one_percent_of_points(seed):
    s = anomaly_scores(noise(10_000, seed=seed))
    assert (s >= ANOMALY_THRESHOLD).mean() < 0.01


def test_a_4_sigma_level_shift_is_flagged_within_two_points():
    x = noise(3000, seed=5)
    x[2000:] += 4
    s = anomaly_scores(x)
    assert (s[2000:2002] >= ANOMALY_THRESHOLD).any()


@pytest.mark.parametrize("delta", [8.0, -8.0])
def test_spikes_and_dips_are_flagged_on_the_point(delta):
    x = noise(3000, seed=7)
    x[2500] += delta
    assert anomaly_scores(x)[2500] >= ANOMALY_THRESHOLD


def test_a_daily_cycle_that_goes_flat_is_a_new_shape():
    t = np.arange(5000)
    x = 10 * np.sin(2 * np.pi * t / 288) + np.random.default_rng(0).normal(0, 0.3, 5000)
    x[4000:4100] = x[3999]
    s = anomaly_scores(x)
    assert (s[4000:4100] >= ANOMALY_THRESHOLD).any()
    assert (s[1000:4000] >= ANOMALY_THRESHOLD).sum() <= 3  # the cycle itself is normal


def test_one_event_pages_once_not_on_every_point_of_it():
    x = noise(3000, seed=9)
    x[2000:2050] += 10
    s = anomaly_scores(x)
    assert (s[2000:2100] >= ANOMALY_THRESHOLD).sum() == 1


def test_gaps_neither_score_nor_teach():
    x = noise(2000, seed=4)
    with_gaps = np.insert(x, [500, 900], [np.nan, np.inf])
    s = anomaly_scores(with_gaps)
    assert s[500] == 0 and s[902 - 1] == 0
    assert np.allclose(np.delete(s, [500, 901]), anomaly_scores(x))


def test_a_long_series_keeps_bounded_history():
    det = AnomalyDetector()
    for v in noise(10_000, seed=2):
        det.update(v)
    assert det._len <= len(det._hist)


def test_a_far_larger_event_pages_even_during_the_quiet():
    x = noise(3000, seed=11)
    x[2000] += 7          # pages, and starts the quiet
    x[2030:] += 60        # a far larger step inside the quiet still pages
    s = anomaly_scores(x)
    assert s[2000] >= ANOMALY_THRESHOLD
    assert (s[2030:2032] >= ANOMALY_THRESHOLD).any()


def test_a_night_at_the_daytime_level_is_flagged_once_the_step_is_known():
    # office hours high, nights low; on day six the daytime level holds from 02:00 to 04:00:
    # every value and every shape was seen before, only not at that time of day
    day = 288  # 5-minute points
    t = np.arange(day * 6)
    hour = (t % day) / 12
    rng = np.random.default_rng(1)
    x = np.where((hour >= 8) & (hour < 18), 50.0, 10.0) + rng.normal(0, 1.5, len(t))
    start = day * 5 + 2 * 12
    x[start:start + 24] = 50 + rng.normal(0, 1.5, 24)
    blind = anomaly_scores(x)  # no timestamps: the time of day is unknown
    seen = anomaly_scores(x, step_s=300)
    assert not (blind[start:start + 24] >= ANOMALY_THRESHOLD).any()
    assert (seen[start:start + 24] >= ANOMALY_THRESHOLD).any()
    assert not (seen[2 * day:start] >= ANOMALY_THRESHOLD).any()  # ordinary days stay quiet


def test_the_step_is_read_from_timestamps():
    det, given = AnomalyDetector(), AnomalyDetector(step_s=300)
    x = noise(3 * 288, seed=4)
    for i, v in enumerate(x):
        assert det.update(v, 1_700_000_000 + 300 * i) == given.update(v)
