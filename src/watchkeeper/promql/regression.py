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
    checkpoint()
    n = hi - lo
    ok = n >= 2
    steps = len(lo)
    slope = np.full(steps, np.nan)
    intercept = np.full(steps, np.nan)
    width = int(n.max()) if steps else 0
    if width == 0 or not len(vals):
        return slope, intercept, ok
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
    checkpoint()
    last = len(vals) - 1
    idx = lo[:, None] + np.arange(width)[None, :]
    mask = idx < hi[:, None]
    np.minimum(idx, last, out=idx)
    y0 = vals[np.minimum(lo, last)]
    with np.errstate(all="ignore"):
        dy = np.where(mask, vals[idx] - y0[:, None], 0.0)
        d = (ts[idx] - c[:, None]).astype(np.float64)
        del idx
        sum_dy = dy.sum(axis=1)
        sum_d_dy = np.einsum("ij,ij->i", d, dy)
        const_y = ~np.any(dy != 0, axis=1)  # NaN differs from everything, itself too
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
    return slope, intercept, ok
