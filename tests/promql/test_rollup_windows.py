"""rate(), increase() and plain selectors from rollups equal the raw answers: random
series with counter resets, gaps, staleness markers and samples on bucket starts."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.promql import rollup_reads
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb.store import Store

from .test_rollup_reads import DAY, MINUTE, T0, answers

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def make_series(seed: int, gap_s: int, on_grid: bool, resets: float, stale: float,
                holes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(1.4 * DAY / (gap_s * 1000))
    ts = T0 + np.arange(n, dtype=np.int64) * gap_s * 1000 + (0 if on_grid else 7)
    jitter = rng.integers(0, max(1, gap_s * 1000 // 3), n) if not on_grid else 0
    ts = np.unique(ts + jitter)
    vals = np.cumsum(rng.integers(0, 50, ts.size)).astype(float)
    for at in np.flatnonzero(rng.random(ts.size) < resets):  # counter restarts
        vals[at:] -= vals[at] - rng.integers(0, 5)
    keep = np.ones(ts.size, bool)
    for _ in range(holes):  # scrapes missing for a while
        a = int(rng.integers(0, ts.size))
        keep[a : a + int(rng.integers(1, 400))] = False
    vals = vals.copy()
    marks = rng.random(ts.size) < stale
    vals[marks] = STALE
    return ts[keep], vals[keep]


@pytest.fixture
def counted(monkeypatch):
    calls = []
    for name in ("rollup_over_time", "rollup_selector"):
        real = getattr(rollup_reads, name)

        def counting(*args, _real=real, **kwargs):
            out = _real(*args, **kwargs)
            calls.append(out is not None)
            return out

        monkeypatch.setattr(f"watchkeeper.promql.engine.{name}", counting)
    return calls


QUERIES = ["rate(c[1m])", "rate(c[5m])", "increase(c[3m])", "c", "c offset 2m", "timestamp(c)",
           "last_over_time(c[1m])", "sum(rate(c[2m])) + sum(c)"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), gap_s=st.sampled_from([1, 2, 5, 10, 10, 15, 90]),
       on_grid=st.booleans(), resets=st.sampled_from([0.0, 0.001, 0.05]),
       stale=st.sampled_from([0.0, 0.002, 0.05]), holes=st.integers(0, 4),
       step_min=st.sampled_from([1, 2, 5, 7, 60]), offset_min=st.integers(0, 600))
def test_rollup_rate_and_selectors_equal_raw(tmp_path_factory, counted, seed, gap_s, on_grid,
                                             resets, stale, holes, step_min, offset_min):
    ts, vals = make_series(seed, gap_s, on_grid, resets, stale, holes)
    with Store.open(tmp_path_factory.mktemp("w") / "data", background=False,
                    retention_ms=1000 * DAY, ooo_window_ms=10 * DAY) as store:
        store.append_array({"__name__": "c", "job": "a"}, ts, vals)
        store.append_array({"__name__": "c", "job": "b"}, ts[::3], vals[::3])
        store.flush()
        store.maintain()  # day one in rollups, the rest from raw at query time
        start = T0 + offset_min * MINUTE
        end = T0 + int(1.4 * DAY)
        step = step_min * MINUTE
        for query in QUERIES:
            del counted[:]
            fast = answers(Engine(store).range(query, start, end, step))
            raw = answers(Engine(store, rollups=False).range(query, start, end, step))
            if gap_s <= 5:  # 12 samples a minute: 1 m rollups are kept, and answer
                assert counted and all(counted), query
            assert fast.keys() == raw.keys(), query
            for key, points in raw.items():
                assert [p[0] for p in fast[key]] == [p[0] for p in points], (query, key)
                got = np.array([p[1] for p in fast[key]])
                want = np.array([p[1] for p in points])
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True,
                                           err_msg=query)


def test_an_unaligned_step_reads_raw_samples(tmp_path, counted):
    ts, vals = make_series(1, 15, True, 0.01, 0.01, 1)
    with Store.open(tmp_path / "data", background=False, retention_ms=1000 * DAY,
                    ooo_window_ms=10 * DAY) as store:
        store.append_array({"__name__": "c"}, ts, vals)
        store.flush()
        store.maintain()
        for query, start, step in (("c", T0 + 1, MINUTE), ("rate(c[90s])", T0, MINUTE),
                                   ("c", T0, 30_000)):
            del counted[:]
            Engine(store).range(query, start, start + 100 * step, step)
            assert True not in counted, query


def test_blocks_of_an_older_layout_leave_rate_and_selectors_to_raw_samples():
    from watchkeeper.promql import rollup_windows
    from watchkeeper.tsdb.api import RollupData
    from watchkeeper.tsdb.labels import Labels

    n = 4
    nan = np.full(n, np.nan)
    old = RollupData(Labels.of({"__name__": "c"}), T0 + np.arange(n) * MINUTE, nan, nan,
                     np.zeros(n), np.ones(n), np.arange(n, dtype=float), np.full(n, STALE),
                     nan, nan, nan, nan, nan)
    ends = T0 + np.arange(1, n) * MINUTE
    assert rollup_windows.rate(old, ends, MINUTE, True) is None
    assert rollup_windows.selector(old, ends, 5 * MINUTE) is None
