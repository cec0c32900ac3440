"""Time until full: linear growth predicted, log-rotation sawtooth never paged."""

import numpy as np
import pytest

from watchkeeper.analysis.capacity import DAY, time_until_full
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.tsdb.store import Store

SIZE = 100e9
STEP = 60.0


def week(step=STEP):
    return np.arange(0, 7 * DAY, step)


@pytest.mark.parametrize("rate_gb_day, start_gb", [(5, 10), (0.5, 80), (10, 5)])
def test_linear_growth_is_predicted_within_15_percent(rate_gb_day, start_gb):
    t = week()
    used = start_gb * 1e9 + rate_gb_day * 1e9 * t / DAY
    used += np.random.default_rng(0).normal(0, 0.2e9, len(t))
    truth = (SIZE - (start_gb * 1e9 + rate_gb_day * 1e9 * t[-1] / DAY)) / (rate_gb_day * 1e9)
    r = time_until_full(t, used, SIZE)
    assert r.seconds / DAY == pytest.approx(truth, rel=0.15)
    assert r.lower <= r.seconds <= r.upper


def test_flat_or_shrinking_usage_has_no_time_until_full():
    t = week()
    assert time_until_full(t, np.full(len(t), 50e9), SIZE).seconds is None
    assert time_until_full(t, 60e9 - 1e9 * t / DAY, SIZE).seconds is None


def test_less_than_a_day_of_history_gives_nothing():
    t = np.arange(0, 0.5 * DAY, STEP)
    assert time_until_full(t, 1e9 + t, SIZE) is None


def sawtooth_used(t):
    """Logs grow 30 GB a day from 60 GB and are rotated at midnight: no net growth."""
    return 60e9 + 30e9 * ((t % DAY) / DAY)


def test_daily_rotation_sawtooth_never_pages_where_predict_linear_pages_daily(tmp_path):
    t = week()
    used = sawtooth_used(t)
    # predict_linear over the last hour, as the usual rule writes it, evaluated every hour.
    store = Store.open(tmp_path / "d", background=False)
    try:
        store.append_array({"__name__": "node_filesystem_avail_bytes", "mountpoint": "/"},
                           (t * 1000).astype(np.int64), SIZE - used)
        res = Engine(store).range(
            "predict_linear(node_filesystem_avail_bytes[1h], 24*3600) < 0",
            int(DAY * 1000), int(t[-1] * 1000), 3600_000)
        fired_at = [float(ts) for s in result_to_api(res)["result"] for ts, _ in s["values"]]
    finally:
        store.close()
    days_paged_by_predict_linear = {int(ts // DAY) for ts in fired_at}
    # Ours, asked every hour with the default rule's condition: full within 24 h and > 80 %.
    ours_paged = set()
    for now in np.arange(DAY, t[-1], 3600.0):
        seen = t <= now
        r = time_until_full(t[seen], used[seen], SIZE, now=now)
        if r and r.seconds is not None and r.seconds < DAY and r.used / SIZE > 0.8:
            ours_paged.add(int(now // DAY))
    assert days_paged_by_predict_linear == set(range(1, 7))
    assert ours_paged == set()


def test_sawtooth_on_top_of_real_growth_still_predicts():
    t = week()
    used = sawtooth_used(t) - 40e9 + 3e9 * t / DAY
    r = time_until_full(t, used, SIZE)
    peak_now = 50e9 + 3e9 * t[-1] / DAY
    assert r.seconds / DAY == pytest.approx((SIZE - peak_now) / 3e9, rel=0.15)
