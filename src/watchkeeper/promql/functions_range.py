"""Functions of a range vector: rate, increase, delta, irate, deriv, *_over_time and kin.

Each takes one series' samples and per-step window bounds and returns per-step values
and a presence mask. Arithmetic follows Prometheus 2.42 step by step (extrapolation,
counter resets, running means) so results agree to the last few bits.
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql.limits import checkpoint
from watchkeeper.promql.regression import exact_time_sums, regression_sums
from watchkeeper.promql.windows import gather, window_apply

# a regression holds 4 floats a cell and its temporaries: 1 M cells is about 100 MB, and
# each numpy call on a chunk is short enough for the query's checks and the GIL to turn
REGRESSION_CELLS = 1_000_000


# windows a pass of rate() and kin: a chunk's temporaries stay in the CPU's cache, where a
# day of a thousand series' windows at once (a dozen arrays of 10 MB) went through memory
CHUNK = 65_536


def extrapolated(ts, vals, lo, hi, ends, range_ms, is_counter, is_rate):  # type: ignore[no-untyped-def]
    """rate / increase / delta: extrapolate towards the window's edges as Prometheus does."""
    ok = (hi - lo) >= 2
    if not ok.any():
        return np.zeros(len(lo)), ok
    csum = None
    if is_counter and len(vals) > 1:
        # what each counter reset adds back, summed along the samples
        prev, cur = vals[:-1], vals[1:]
        drops = np.where(cur < prev, prev, 0.0)
        if np.isfinite(drops).all():
            csum = np.zeros(len(vals) + 1)
            np.cumsum(drops, out=csum[2:])
    out = np.empty(len(lo))
    for a in range(0, len(lo), CHUNK):
        checkpoint()
        part = slice(a, a + CHUNK)
        w_lo, w_hi = lo[part], hi[part]
        n = w_hi - w_lo
        # windows under two samples are masked out: their indexes need only be valid
        last = w_hi - 1
        v_first = vals.take(w_lo, mode="clip")
        result = vals.take(last, mode="clip") - v_first
        if is_counter and csum is not None:
            result += csum.take(w_hi) - csum.take(w_lo + 1, mode="clip")
        elif is_counter and len(vals) > 1:
            result += np.array([drops[b:e - 1].sum() if e - b >= 2 else 0.0
                                for b, e in zip(w_lo, w_hi, strict=True)])
        out[part] = extrapolate(result, v_first, ts.take(w_lo, mode="clip"),
                                ts.take(last, mode="clip"), n, ends[part], range_ms,
                                is_counter, is_rate)
    return out, ok


def extrapolate(result, v_first, t_first, t_last, n, ends, range_ms, is_counter, is_rate):  # type: ignore[no-untyped-def]
    """A window's raw increase (last - first, plus counter resets) extrapolated towards
    the window's edges as Prometheus 2.42 does; shared with the rollups' rate()."""
    # the same operations as before in fewer passes: in place where the array is ours
    to_start = t_first - ends
    to_start += range_ms
    to_start = to_start / 1000.0
    to_end = (ends - t_last) / 1000.0
    sampled = (t_last - t_first) / 1000.0
    with np.errstate(all="ignore"):
        gaps = n - 1
        np.maximum(gaps, 1, out=gaps)
        avg_gap = sampled / gaps
        if is_counter:
            to_zero = v_first / result
            to_zero *= sampled
            closer = to_zero < to_start
            closer &= result > 0
            closer &= v_first >= 0
            np.copyto(to_start, to_zero, where=closer)
        threshold = avg_gap * 1.1
        half = avg_gap / 2
        interval = np.where(to_start < threshold, to_start, half)
        interval += sampled
        interval += np.where(to_end < threshold, to_end, half)
        interval /= sampled
        result = result * interval
        if is_rate:
            result /= range_ms / 1000.0
    return result


def instant_delta(ts, vals, lo, hi, is_rate):  # type: ignore[no-untyped-def]
    """irate / idelta from the last two samples of each window."""
    n = hi - lo
    ok = n >= 2
    last = np.where(ok, hi - 1, 1)
    prev = last - 1
    v_last, v_prev = vals[last], vals[prev]
    if not is_rate:
        return v_last - v_prev, ok
    dt = (ts[last] - ts[prev]) / 1000.0
    ok = ok & (dt != 0)
    with np.errstate(all="ignore"):
        result = np.where(v_last < v_prev, v_last, v_last - v_prev) / dt
    return result, ok


def _pairwise_count(vals, lo, hi, test):  # type: ignore[no-untyped-def]
    hits = np.zeros(len(vals))
    if len(vals) > 1:
        hits[1:] = test(vals[1:], vals[:-1])
    csum = np.concatenate(([0.0], np.cumsum(hits)))
    n = hi - lo
    ok = n > 0
    result = csum[np.where(ok, hi, 0)] - csum[np.where(ok, lo + 1, 0)]
    return np.where(n > 1, result, 0.0), ok


def changes(ts, vals, lo, hi):  # type: ignore[no-untyped-def]
    return _pairwise_count(vals, lo, hi,
                           lambda cur, prev: (cur != prev) & ~(np.isnan(cur) & np.isnan(prev)))


def resets(ts, vals, lo, hi):  # type: ignore[no-untyped-def]
    return _pairwise_count(vals, lo, hi, lambda cur, prev: cur < prev)


def linear_regression(ts, vals, lo, hi, intercept_ms):  # type: ignore[no-untyped-def]
    """(slope, intercept, ok) per step, with x in seconds relative to intercept_ms.

    Steps go in chunks of REGRESSION_CELLS cells: all of a day's windows of 50,000 series
    at once would be gigabytes."""
    width = int((hi - lo).max()) if len(lo) else 0
    chunk = max(1, REGRESSION_CELLS // max(width, 1))
    # exact time sums when they fit int64 (always, short of windows of months of samples)
    sums = regression_sums if exact_time_sums(ts, lo, hi, intercept_ms) else _linear_regression
    if len(lo) <= chunk:
        return sums(ts, vals, lo, hi, intercept_ms)
    parts = [sums(ts, vals, lo[a:a + chunk], hi[a:a + chunk], intercept_ms[a:a + chunk])
             for a in range(0, len(lo), chunk)]
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def _linear_regression(ts, vals, lo, hi, intercept_ms):  # type: ignore[no-untyped-def]
    checkpoint()
    n = hi - lo
    ok = n >= 2
    slope = np.full(len(lo), np.nan)
    intercept = np.full(len(lo), np.nan)
    tsf = ts.astype(np.float64)
    width = int(n.max()) if len(n) else 0
    if width == 0:
        return slope, intercept, ok
    # windows laid out column-major: (position in window, step), so each column is contiguous
    cols = np.arange(width)
    idx = np.minimum(cols[:, None] + lo[None, :], len(vals) - 1)
    mask = cols[:, None] < n[None, :]
    stacked = np.empty((width, 4, len(lo)))
    x = stacked[:, 0]
    y = stacked[:, 1]
    np.copyto(x, np.where(mask, (tsf[idx] - intercept_ms[None, :]) / 1e3, 0.0))
    np.copyto(y, np.where(mask, vals[idx], 0.0))
    np.multiply(x, y, out=stacked[:, 2])
    np.multiply(x, x, out=stacked[:, 3])
    first_y = y[0].copy()
    const_y = np.all(~mask | (y == first_y[None, :]), axis=0)
    # Kahan-Neumaier sums of x, y, xy and x² side by side (masked cells are zeros)
    total = np.zeros((4, len(lo)))
    comp = np.zeros((4, len(lo)))
    for c in range(width):
        checkpoint()
        col = stacked[c]
        t = total + col
        comp += np.where(np.abs(total) >= np.abs(col), (total - t) + col, (col - t) + total)
        total = t
    sx, sy, sxy, sx2 = total + comp
    sums = {"x": sx, "y": sy, "xy": sxy, "x2": sx2}
    nf = n.astype(np.float64)
    with np.errstate(all="ignore"):
        cov = sums["xy"] - sums["x"] * sums["y"] / nf
        var = sums["x2"] - sums["x"] * sums["x"] / nf
        slope = cov / var
        intercept = sums["y"] / nf - slope * sums["x"] / nf
    slope = np.where(const_y, np.where(np.isinf(first_y), np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(np.isinf(first_y), np.nan, first_y), intercept)
    return slope, intercept, ok


def holt_winters(vals, lo, hi, sf, tf):  # type: ignore[no-untyped-def]
    """Double exponential smoothing over each window (Prometheus's holt_winters)."""
    ok = (hi - lo) >= 2
    out = np.full(len(lo), np.nan)
    if not len(vals):
        return out, ok
    for sl, win, mask in gather(vals, lo, hi):
        sfs, tfs = sf[sl], tf[sl]
        s1 = win[:, 0].copy()
        b = win[:, 1] - win[:, 0] if win.shape[1] > 1 else np.zeros(len(win))
        s0 = np.zeros(len(win))
        with np.errstate(all="ignore"):
            for i in range(1, win.shape[1]):
                m = mask[:, i]
                trend = b if i == 1 else tfs * (s1 - s0) + (1 - tfs) * b
                new_s1 = sfs * win[:, i] + (1 - sfs) * (s1 + trend)
                s0 = np.where(m, s1, s0)
                b = np.where(m, trend, b)
                s1 = np.where(m, new_s1, s1)
        out[sl] = s1
    return out, ok


def _running_mean(win, mask):  # type: ignore[no-untyped-def]
    mean = np.zeros(len(win))
    comp = np.zeros(len(win))
    count = np.zeros(len(win))
    for i in range(win.shape[1]):
        m = mask[:, i]
        v = win[:, i]
        count = count + m
        with np.errstate(all="ignore"):
            skip = np.isinf(mean) & ((np.isinf(v) & ((mean > 0) == (v > 0)))
                                     | (~np.isinf(v) & ~np.isnan(v)))
            inc = v / count - mean / count
            t = mean + inc
            c = np.where(np.abs(mean) >= np.abs(inc), (mean - t) + inc, (inc - t) + mean)
        upd = m & ~skip
        comp = np.where(upd, comp + c, comp)
        mean = np.where(upd, t, mean)
    return np.where(np.isinf(mean), mean, mean + comp)


def _variance(win, mask):  # type: ignore[no-untyped-def]
    count = np.zeros(len(win))
    mean = np.zeros(len(win))
    cmean = np.zeros(len(win))
    aux = np.zeros(len(win))
    caux = np.zeros(len(win))

    def kahan(inc, total, comp):  # type: ignore[no-untyped-def]
        t = total + inc
        c = np.where(np.abs(total) >= np.abs(inc), (total - t) + inc, (inc - t) + total)
        return t, comp + c

    with np.errstate(all="ignore"):
        for i in range(win.shape[1]):
            m = mask[:, i]
            v = win[:, i]
            count = count + m
            delta = v - (mean + cmean)
            nm, ncm = kahan(delta / count, mean, cmean)
            na, nca = kahan(delta * (v - (nm + ncm)), aux, caux)
            mean, cmean = np.where(m, nm, mean), np.where(m, ncm, cmean)
            aux, caux = np.where(m, na, aux), np.where(m, nca, caux)
        return (aux + caux) / count


def _sum(win, mask):  # type: ignore[no-untyped-def]
    total = np.zeros(len(win))
    comp = np.zeros(len(win))
    with np.errstate(all="ignore"):
        for i in range(win.shape[1]):
            col = np.where(mask[:, i], win[:, i], 0.0)
            t = total + col
            comp += np.where(np.abs(total) >= np.abs(col), (total - t) + col, (col - t) + total)
            total = t
    return np.where(np.isinf(total), total, total + comp)


def _min(win, mask):  # type: ignore[no-untyped-def]
    out = np.where(mask[:, 0], win[:, 0], np.nan)
    for i in range(1, win.shape[1]):
        v = win[:, i]
        take = mask[:, i] & ((out > v) | np.isnan(out))
        out = np.where(take, v, out)
    return out


def _max(win, mask):  # type: ignore[no-untyped-def]
    out = np.where(mask[:, 0], win[:, 0], np.nan)
    for i in range(1, win.shape[1]):
        v = win[:, i]
        take = mask[:, i] & ((out < v) | np.isnan(out))
        out = np.where(take, v, out)
    return out


def quantile_of(q: float, values: np.ndarray) -> float:
    """Prometheus's quantile: linear interpolation between closest ranks, NaN sorted first."""
    if len(values) == 0:
        return float("nan")
    if q < 0:
        return float("-inf")
    if q > 1:
        return float("inf")
    if q != q:
        return float("nan")
    nan = np.isnan(values)
    ordered = np.concatenate((values[nan], np.sort(values[~nan])))
    n = len(ordered)
    rank = q * (n - 1)
    lower = max(0, int(np.floor(rank)))
    upper = min(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    with np.errstate(all="ignore"):
        return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


def over_time(name, ts, vals, lo, hi, param=None):  # type: ignore[no-untyped-def]
    """The *_over_time family; returns (values, ok) per step."""
    n = hi - lo
    ok = n > 0
    if name == "count_over_time":
        return n.astype(np.float64), ok
    if name == "present_over_time":
        return np.ones(len(lo)), ok
    if name == "last_over_time":
        return vals[np.where(ok, hi - 1, 0)] if len(vals) else np.zeros(len(lo)), ok
    if not len(vals):
        return np.zeros(len(lo)), ok
    if name == "quantile_over_time":
        out = np.array([quantile_of(float(param[i]), vals[a:b]) if b > a else np.nan
                        for i, (a, b) in enumerate(zip(lo, hi, strict=True))])
        return out, ok
    fn = {"sum_over_time": _sum, "avg_over_time": _running_mean, "min_over_time": _min,
          "max_over_time": _max, "stdvar_over_time": _variance,
          "stddev_over_time": lambda w, m: np.sqrt(_variance(w, m))}[name]
    with np.errstate(all="ignore"):
        return window_apply(vals, lo, hi, fn), ok
