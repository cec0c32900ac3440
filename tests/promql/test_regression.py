"""deriv / predict_linear sums taken without a per-sample loop equal the exact regression."""

from fractions import Fraction

import numpy as np
import pytest

from watchkeeper.promql import functions_range
from watchkeeper.promql.regression import exact_time_sums, regression_sums

T0 = 1_700_000_000_000


def exact(ts, vals, lo, hi, intercept_ms):  # type: ignore[no-untyped-def]
    """Least squares in rationals: (slope, intercept) per window, None under 2 samples."""
    out = []
    for a, b, c in zip(lo.tolist(), hi.tolist(), intercept_ms.tolist(), strict=True):
        if b - a < 2:
            out.append(None)
            continue
        xs = [Fraction(int(t) - c, 1000) for t in ts[a:b].tolist()]
        ys = [Fraction(v) for v in vals[a:b].tolist()]
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        var = sum((x - mx) ** 2 for x in xs)
        if all(y == ys[0] for y in ys):
            out.append((0.0, float(ys[0])))
            continue
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
        out.append((float(slope), float(my - slope * mx)))
    return out


def windows(rng, n, gap_at=None):  # type: ignore[no-untyped-def]
    """Scrapes a little off every 15 s, with a gap of an hour, and windows of 10 min."""
    ts = T0 + np.arange(n, dtype=np.int64) * 15_000 + rng.integers(0, 40, n)
    if gap_at is not None:
        ts[gap_at:] += 3_600_000
    ends = np.arange(int(ts[0]), int(ts[-1]) + 700_000, 60_000, dtype=np.int64)
    lo = np.searchsorted(ts, ends - 600_000, "left")
    hi = np.searchsorted(ts, ends, "right")
    return ts, ends, lo, hi


@pytest.mark.parametrize("shape", ["counter", "disk", "noise", "steps"])
@pytest.mark.parametrize("anchor", ["eval time", "first sample"])
def test_sums_equal_the_exact_regression(shape, anchor):
    rng = np.random.default_rng(len(shape) + len(anchor))
    n = 300
    ts, ends, lo, hi = windows(rng, n, gap_at=170)
    vals = {"counter": np.cumsum(rng.exponential(40, n)),
            "disk": np.round(5e11 - np.arange(n) * 3e5 + rng.normal(0, 1e6, n)),
            "noise": rng.normal(0, 1, n),
            "steps": np.repeat(rng.normal(0, 100, n // 30), 30)}[shape]
    intercept = ends if anchor == "eval time" else ts[np.minimum(lo, n - 1)]
    assert exact_time_sums(ts, lo, hi, intercept)
    slope, icpt, ok = regression_sums(ts, vals, lo, hi, intercept)
    assert ok.tolist() == ((hi - lo) >= 2).tolist()
    for i, want in enumerate(exact(ts, vals, lo, hi, intercept)):
        if want is None:
            continue
        assert slope[i] == pytest.approx(want[0], rel=1e-9, abs=1e-9 * max(1, abs(icpt[i])))
        assert icpt[i] == pytest.approx(want[1], rel=1e-9, abs=1e-9)


def test_nan_and_infinities_give_what_prometheus_gives():
    """A window holding NaN or an infinity is NaN (Prometheus's compensated sums turn NaN);
    a window of one repeated infinity is NaN too; a constant finite one is flat."""
    ts = T0 + np.arange(12, dtype=np.int64) * 15_000
    vals = np.array([1.0, 2, np.nan, 4, 5, 6, np.inf, 7, 7, 7, -np.inf, -np.inf])
    lo = np.array([0, 0, 3, 6, 7, 10, 3])
    hi = np.array([2, 3, 6, 8, 10, 12, 4])
    intercept = ts[lo]
    slope, icpt, ok = regression_sums(ts, vals, lo, hi, intercept)
    with np.errstate(invalid="ignore"):
        kahan = functions_range._linear_regression(ts, vals, lo, hi, intercept)
    np.testing.assert_array_equal(ok, kahan[2])
    np.testing.assert_allclose(slope, kahan[0], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(icpt, kahan[1], rtol=1e-12, equal_nan=True)
    assert np.isnan(slope[[1, 3, 5]]).all() and slope[4] == 0 and icpt[4] == 7


def test_windows_too_long_for_exact_time_sums_take_the_compensated_loop():
    ts = T0 + np.arange(3, dtype=np.int64) * 40 * 86_400_000  # months apart
    lo, hi = np.array([0]), np.array([3])
    assert not exact_time_sums(ts, lo, hi, ts[-1:] + 0)
    slope, _, ok = functions_range.linear_regression(ts, np.array([1.0, 2, 4]), lo, hi,
                                                     ts[:1] + 0)
    want = exact(ts, np.array([1.0, 2, 4]), lo, hi, ts[:1])[0]
    assert ok[0] and slope[0] == pytest.approx(want[0], rel=1e-12)


def test_windows_in_chunks_give_the_same_answer(monkeypatch):
    from watchkeeper.promql import regression

    rng = np.random.default_rng(9)
    ts, ends, lo, hi = windows(rng, 400, gap_at=120)
    vals = np.cumsum(rng.normal(0, 5, 400))
    whole = regression_sums(ts, vals, lo, hi, ends)
    monkeypatch.setattr(regression, "CELLS", 100)  # a few steps a chunk
    chunked = regression_sums(ts, vals, lo, hi, ends)
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_array_equal(a, b)
