import struct

import numpy as np
import pytest

from watchkeeper.analysis.changes import rank_changes
from watchkeeper.analysis.views import capacity, step_means, what_changed
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb.store import Store

MIN = 60.0


def quiet(rows, points, seed=0):
    return np.random.default_rng(seed).normal(100, 5, (rows, points))


def test_the_series_that_stepped_ranks_first_with_its_change_time():
    t = np.arange(720) * MIN
    v = quiet(500, 720)
    v[42, 500:] += 30                                    # level
    v[7, 500:] = 100 + np.random.default_rng(1).normal(0, 30, 220)  # spread
    out = rank_changes(t, v, at=500 * MIN, window=120 * MIN, top=5)
    assert {out[0].row, out[1].row} == {42, 7}
    step = next(c for c in out if c.row == 42)
    assert step.at == 500 * MIN                           # CUSUM finds the step itself
    assert step.level_after - step.level_before == pytest.approx(30, abs=3)
    assert step.ks_pvalue < 1e-6
    assert next(c for c in out if c.row == 7).spread_ratio > 3
    assert out[2].score < step.score / 2                  # the rest is noise


def test_gaps_and_empty_series_are_ranked_or_skipped_cleanly():
    t = np.arange(300) * MIN
    v = quiet(4, 300)
    v[0] = np.nan
    v[1, ::2] = np.nan
    v[1, 200:] += 50
    out = rank_changes(t, v, at=200 * MIN, window=50 * MIN)
    assert out[0].row == 1 and all(c.row != 0 for c in out)


def test_too_little_history_is_a_clear_error():
    with pytest.raises(ValueError, match="baseline"):
        rank_changes(np.arange(5.0), np.zeros((1, 5)), at=1.0, window=1.0)
    with pytest.raises(ValueError, match="series, points"):
        rank_changes(np.arange(5.0), np.zeros(5), at=1.0, window=1.0)


@pytest.fixture
def engine(tmp_path):
    store = Store.open(tmp_path / "d", background=False)
    yield Engine(store)
    store.close()


def test_what_changed_ranks_the_stores_series(engine):
    ts = (np.arange(600) * 60_000).astype(np.int64)
    rng = np.random.default_rng(2)
    for i in range(20):
        y = 100 + rng.normal(0, 2, 600)
        if i == 3:
            y[400:] += 40
        engine.store.append_array({"__name__": "latency", "route": f"/r{i}"}, ts, y)
    out = what_changed(engine, at_ms=400 * 60_000, window_ms=100 * 60_000, top=3)
    assert out[0]["labels"] == {"__name__": "latency", "route": "/r3"}
    assert out[0]["changed_at"] == pytest.approx(400 * 60, abs=60)


STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def reference_means(ts, vals, at, window, step):
    """Per step counted from ``at``: the mean of the finite samples within it."""
    before = -(-4 * window // step)
    steps = before + -(-window // step)
    out = np.full(steps, np.nan)
    for k in range(steps):
        lo = at + (k - before) * step
        inside = (ts >= max(lo, at - 4 * window)) & (ts < min(lo + step, at + window))
        inside &= np.isfinite(vals)
        if inside.any():
            out[k] = vals[inside].mean()
    return out


@pytest.mark.parametrize("step", [7_000, 60_000])
def test_step_means_are_each_steps_mean_of_raw_samples(engine, step):
    rng = np.random.default_rng(4)
    want = {}
    for i in range(5):
        ts = np.sort(rng.choice(20_000, 3000, replace=False)).astype(np.int64) * 1000 + 3
        vals = np.round(rng.normal(10 * i, 3, ts.size), 2)
        vals[::11] = STALE  # staleness markers are not values
        engine.store.append_array({"__name__": "m", "i": str(i)}, ts, vals)
        want[str(i)] = (ts, vals)
    at, window = 12_345_000, 1_800_000
    labels, times, means = step_means(engine.store, "m", at, window, step)
    assert times[0] == (at - (-(-4 * window // step)) * step) / 1000
    for lbl, row in zip(labels, means, strict=True):
        ref = reference_means(*want[dict(lbl)["i"]], at, window, step)
        assert np.allclose(row, ref, equal_nan=True), lbl


def test_one_series_huge_values_leave_the_next_series_means_exact(engine):
    ts = np.arange(0, 7_200_000, 1000, dtype=np.int64)
    engine.store.append_array({"__name__": "m", "i": "0"}, ts, np.full(ts.size, 1e18))
    small = np.round(np.sin(ts / 1e5), 3)
    engine.store.append_array({"__name__": "m", "i": "1"}, ts, small)
    at, window = 6_000_000, 1_200_000
    labels, _, means = step_means(engine.store, "m", at, window, 60_000)
    assert dict(labels[1]) == {"__name__": "m", "i": "1"}
    assert np.allclose(means[1], reference_means(ts, small, at, window, 60_000),
                       rtol=0, atol=1e-9, equal_nan=True)


def test_step_means_read_rolled_up_days_from_the_rollups(engine):
    day = 86_400_000
    ts = np.arange(0, 3 * day, 10_000, dtype=np.int64)
    rng = np.random.default_rng(5)
    vals = np.round(rng.normal(50, 4, ts.size), 2)
    engine.store.append_array({"__name__": "r"}, ts, vals)
    engine.store.maintain()  # the first two days are closed: rolled up
    assert engine.store.stats()["rollup_blocks"] > 0
    at, window = day + day // 2, 3_600_000  # in a rolled-up day
    reads = []
    original = engine.store.select_blocks
    engine.store.select_blocks = lambda *a: reads.append(a) or original(*a)
    labels, _, means = step_means(engine.store, "r", at, window, 60_000)
    # the rollups answered, no raw read
    assert reads == [] and [dict(lbl) for lbl in labels] == [{"__name__": "r"}]
    assert np.allclose(means[0], reference_means(ts, vals, at, window, 60_000))
    # a range over the open hour reads the raw samples of that part (the open day's
    # finished hours are rolled up too)
    at = 3 * day - 1_800_000
    _, _, means = step_means(engine.store, "r", at, window, 60_000)
    assert reads and reads[0][1] == 3 * day - 3_600_000
    assert np.allclose(means[0], reference_means(ts, vals, at, window, 60_000),
                       equal_nan=True)  # (no samples after the last one)


def test_what_changed_evaluates_an_expression_through_promql(engine):
    ts = (np.arange(600) * 60_000).astype(np.int64)
    for i in range(5):
        y = np.full(600, 10.0 + i)
        if i == 2:
            y[400:] += 40
        engine.store.append_array({"__name__": "lat", "r": str(i)}, ts, y)
    assert step_means(engine.store, "lat * 2", 400 * 60_000, 6_000_000, 60_000) is None
    out = what_changed(engine, 400 * 60_000, 100 * 60_000, "lat * 2", top=1)
    assert out[0]["labels"] == {"r": "2"}
    assert out[0]["after"] == pytest.approx(2 * 52)


def test_capacity_skips_tmpfs_and_read_only_and_sorts_soonest_first(engine):
    day = 86400_000
    ts = np.arange(0, 7 * day, 300_000, dtype=np.int64)
    size = 100e9

    def fs(mount, fstype, used, readonly=0):
        base = {"mountpoint": mount, "fstype": fstype, "device": mount}
        engine.store.append_array({"__name__": "node_filesystem_size_bytes", **base}, ts,
                                  np.full(len(ts), size))
        engine.store.append_array({"__name__": "node_filesystem_avail_bytes", **base}, ts,
                                  size - used)
        engine.store.append_array({"__name__": "node_filesystem_readonly", **base}, ts,
                                  np.full(len(ts), float(readonly)))

    days = ts / day
    fs("/", "ext4", 10e9 + 5e9 * days)          # 55 GB left at 5 GB/day: 11 days
    fs("/var", "xfs", 30e9 + 8e9 * days)        # 14 GB left at 8 GB/day: 1.75 days
    fs("/home", "ext4", np.full(len(ts), 30e9))  # flat
    fs("/run", "tmpfs", 1e9 + 10e9 * days)      # skipped: tmpfs
    fs("/snap", "ext4", 1e9 + 10e9 * days, readonly=1)  # skipped: read-only
    out = capacity(engine, int(ts[-1]))
    mounts = [r["labels"]["mountpoint"] for r in out]
    assert mounts == ["/var", "/", "/home"]
    assert out[0]["seconds"] / 86400 == pytest.approx(1.75, rel=0.15)
    assert out[1]["seconds"] / 86400 == pytest.approx(11, rel=0.15)
    assert out[2]["seconds"] is None
