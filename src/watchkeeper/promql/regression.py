"""Least-squares sums for deriv / predict_linear without a compensated loop per sample.

Why: Prometheus sums x, y, x*y and x² with Kahan-Neumaier compensation, sample by sample;
done a window column at a time in numpy that loop was most of a predict_linear query.
Here the time sums are exact (integer prefix sums of millisecond timestamps, in int64
arithmetic that wraps but whose result fits) and the value sums are taken about each
window's first value, so that what is summed is small and the sums are as good as the
compensated ones. The final formula is Prometheus's, so results agree to a few ulps of
the sums (the cancellation in ``xy - x*y/n`` is the same on both sides).
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql.limits import checkpoint

_FIT = 2.0**62  # the exact time sums must stay below this (int64, with room)
CELLS = 65_536  # window cells a pass


def exact_time_sums(ts: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    intercept_ms: np.ndarray) -> bool:
    """Whether every window's sum of squared offsets (ms) fits int64, so the time sums
    of ``regression_sums`` are exact; when not, the compensated loop is the answer."""
    n = hi - lo
    some = n > 0
    if not some.any() or not len(ts):
        return True
    first = ts[np.where(some, lo, 0)].astype(np.float64)
    last = ts[np.where(some, hi - 1, 0)].astype(np.float64)
    c = intercept_ms.astype(np.float64)
    reach = np.maximum(np.abs(first - c), np.abs(last - c))
    return bool(np.all(np.where(some, n * reach * reach, 0.0) < _FIT))


def regression_sums(ts: np.ndarray, vals: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    intercept_ms: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slope, intercept, ok) per window [lo, hi), x in seconds from intercept_ms, as
    Prometheus 2.42's linearRegression (constant windows included)."""
    n = hi - lo
    ok = n >= 2
    if not len(lo) or not len(vals) or not int(n.max()):
        return np.full(len(lo), np.nan), np.full(len(lo), np.nan), ok
    c = intercept_ms.astype(np.int64)
    with np.errstate(over="ignore"):
        # sums of t and t² by prefix differences: wrapped int64, exact once subtracted
        p1 = np.zeros(len(ts) + 1, np.int64)
        p2 = np.zeros(len(ts) + 1, np.int64)
        np.cumsum(ts, out=p1[1:])
        np.cumsum(ts * ts, out=p2[1:])
        s1 = p1[hi] - p1[lo]
        s2 = p2[hi] - p2[lo]
        sum_d = s1 - n * c
        sum_d2 = s2 - 2 * c * s1 + n * c * c
    slope = np.empty(len(lo))
    intercept = np.empty(len(lo))
    # steps in chunks of about CELLS window cells: their temporaries stay in cache
    chunk = max(1, CELLS // int(n.max()))
    for a in range(0, len(lo), chunk):
        checkpoint()
        part = slice(a, a + chunk)
        slope[part], intercept[part] = _fit(ts, vals, lo[part], hi[part], c[part],
                                            sum_d[part], sum_d2[part])
    return slope, intercept, ok


def _fit(ts, vals, lo, hi, c, sum_d, sum_d2):  # type: ignore[no-untyped-def]
    n = hi - lo
    width = int(n.max())
    last = len(vals) - 1
    # (position in window, step): the sums go down the columns one row after another, so
    # a window's sums are the same whatever the width its chunk is padded to
    idx = np.arange(width)[:, None] + lo[None, :]
    mask = idx < hi[None, :]
    np.minimum(idx, last, out=idx)
    y0 = vals[np.minimum(lo, last)]
    with np.errstate(all="ignore"):
        dy = np.where(mask, vals[idx] - y0[None, :], 0.0)
        d = (ts[idx] - c[None, :]).astype(np.float64)
        del idx
        sum_dy = dy.sum(axis=0)
        d *= dy
        sum_d_dy = d.sum(axis=0)
        const_y = ~np.any(dy != 0, axis=0)  # NaN differs from everything, itself too
        nf = n.astype(np.float64)
        sx = sum_d / 1e3
        sx2 = sum_d2 / 1e6
        sy = nf * y0 + sum_dy
        sxy = sum_d_dy / 1e3 + y0 * sx
        cov = sxy - sx * sy / nf
        var = sx2 - sx * sx / nf
        slope = cov / var
        intercept = sy / nf - slope * sx / nf
    # a NaN or infinity in a window makes Prometheus's compensated sums NaN
    broken = ~np.isfinite(sum_dy) | ~np.isfinite(sum_d_dy)
    slope = np.where(broken, np.nan, slope)
    intercept = np.where(broken, np.nan, intercept)
    slope = np.where(const_y, np.where(np.isinf(y0), np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(np.isinf(y0), np.nan, y0), intercept)
    return slope, intercept
