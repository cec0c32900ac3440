"""rate / increase / delta over many windows equal Prometheus 2.42's loop, window by window."""

import numpy as np
import pytest

from watchkeeper.promql import functions_range
from watchkeeper.promql.functions_range import extrapolated


def prometheus_rate(ts, vals, end, range_ms, is_counter, is_rate):  # type: ignore[no-untyped-def]
    """extrapolatedRate of Prometheus 2.42, sample by sample (None under two samples)."""
    if len(ts) < 2:
        return None
    result = vals[-1] - vals[0]
    if is_counter:
        last = 0.0
        for v in vals:
            if v < last:
                result += last
            last = v
    to_start = (ts[0] - (end - range_ms)) / 1000
    to_end = (end - ts[-1]) / 1000
    sampled = (ts[-1] - ts[0]) / 1000
    avg = sampled / (len(ts) - 1)
    if is_counter and result > 0 and vals[0] >= 0:
        to_zero = sampled * (vals[0] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = avg * 1.1
    interval = sampled + (to_start if to_start < threshold else avg / 2)
    interval += to_end if to_end < threshold else avg / 2
    result = result * (interval / sampled)
    return result / (range_ms / 1000) if is_rate else result


def series_end_to_end(rng, with_inf):  # type: ignore[no-untyped-def]
    """Counters with resets, gaps and late-starting series laid end to end, with windows
    of 5 minutes every 40 s (as a range query's batch holds them)."""
    ends = np.arange(0, 3_600_000, 40_000, dtype=np.int64)
    ts_all, vals_all, lo_all, hi_all, ends_all = [], [], [], [], []
    offset = 0
    for k in range(12):
        ts = np.sort(rng.choice(3_600, rng.integers(0, 400), replace=False)).astype(np.int64)
        ts = ts * 1_000 + rng.integers(0, 900, ts.size)
        vals = np.cumsum(rng.exponential(3, ts.size))
        if ts.size > 10:
            vals[ts.size // 2:] -= vals[ts.size // 2 - 1] * rng.uniform(0.2, 1.5)  # a reset
        if with_inf and k == 3 and ts.size > 4:
            vals[4] = np.inf
        lo = np.searchsorted(ts, ends - 300_000, "left") + offset
        hi = np.searchsorted(ts, ends, "right") + offset
        ts_all.append(ts), vals_all.append(vals), lo_all.append(lo), hi_all.append(hi)
        ends_all.append(ends)
        offset += ts.size
    cat = np.concatenate
    return cat(ts_all), cat(vals_all), cat(lo_all), cat(hi_all), cat(ends_all)


@pytest.mark.parametrize("chunk", [7, 1_000, 65_536])
@pytest.mark.parametrize("with_inf", [False, True])
@pytest.mark.parametrize("name", ["rate", "increase", "delta"])
def test_windows_in_chunks_equal_prometheus_loop(monkeypatch, chunk, with_inf, name):
    monkeypatch.setattr(functions_range, "CHUNK", chunk)
    ts, vals, lo, hi, ends = series_end_to_end(np.random.default_rng(chunk), with_inf)
    is_counter, is_rate = name != "delta", name == "rate"
    with np.errstate(all="ignore"):
        got, ok = extrapolated(ts, vals, lo, hi, ends, 300_000, is_counter, is_rate)
    assert ok.tolist() == ((hi - lo) >= 2).tolist()
    for i in np.flatnonzero(ok):
        with np.errstate(all="ignore"):
            want = prometheus_rate(ts[lo[i]:hi[i]].tolist(), vals[lo[i]:hi[i]].tolist(),
                                   int(ends[i]), 300_000, is_counter, is_rate)
        if np.isnan(want):
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(want, rel=1e-12, abs=1e-12)
