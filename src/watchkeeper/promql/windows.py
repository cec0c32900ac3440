"""Per-step windows over one series' samples, gathered into padded 2-D arrays.

Why: a function over a range vector must run once per step and series; gathering every
window of a series into one (steps, longest window) array lets numpy do all steps at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from watchkeeper.promql.limits import checkpoint
from watchkeeper.promql.values import STALE_NAN_BITS, Columns, RangeData, RangeSeries
from watchkeeper.tsdb.api import SeriesBlock, SeriesData
from watchkeeper.tsdb.labels import Labels

MAX_CELLS = 4_000_000


def window_bounds(ts: np.ndarray, ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices [lo, hi) of samples with end - range <= t <= end, as Prometheus 2.x."""
    lo = np.searchsorted(ts, ends - range_ms, "left")
    hi = np.searchsorted(ts, ends, "right")
    return lo, hi


def series_windows(found: Sequence[SeriesData], ends: np.ndarray, range_ms: int,
                   ) -> tuple[list[RangeSeries], RangeSeries | None]:
    """Every selected series without its stale markers, with its windows; and all of
    them end to end (None when there are none), as functions over many series take them."""
    if not found:
        return [], None
    block = SeriesBlock([s.labels for s in found],
                        np.concatenate([s.timestamps for s in found]),
                        np.concatenate([s.values for s in found]),
                        np.array([len(s.timestamps) for s in found], np.int64))
    columns, batch = block_windows(block, ends, range_ms)
    return RangeData(None, range_ms, ends, ends, batch, columns).series, batch


def block_windows(block: SeriesBlock, ends: np.ndarray, range_ms: int,
                  ) -> tuple[Columns, RangeSeries | None]:
    """The block's series without their stale markers, with their windows; and those
    with samples end to end (None when there are none), as functions take them.

    Why: bounds come from one search over all series (each series' times shifted into a
    span of its own), not two searches per series: with 50,000 series, per-series numpy
    calls cost more than the arithmetic."""
    sizes, ts, vals = block.sizes, block.timestamps, block.values
    real = vals.view(np.int64) != STALE_NAN_BITS
    if not real.all():
        owner = np.repeat(np.arange(len(sizes)), sizes)
        sizes = np.bincount(owner[real], minlength=len(sizes))
        ts, vals = ts[real], vals[real]
    first = (np.cumsum(sizes) - sizes).astype(np.int64)
    lo, hi = _all_bounds(ts, first, sizes, ends, range_ms)
    columns = Columns(block.labels, ts, vals, first, sizes, lo, hi)
    some = sizes > 0
    if not some.any():
        return columns, None
    if some.all():  # the common case: views, not copies
        return columns, RangeSeries(Labels.of({}), ts, vals, lo.reshape(-1), hi.reshape(-1))
    return columns, RangeSeries(Labels.of({}), ts, vals, lo[some].ravel(), hi[some].ravel())


def _all_bounds(ts: np.ndarray, first: np.ndarray, sizes: np.ndarray, ends: np.ndarray,
                range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """(series, steps) absolute indexes [lo, hi) of every series' windows."""
    if ts.size and len(ends) > 1 and bool(np.all(ends[1:] >= ends[:-1])):
        return _counted_bounds(ts, first, sizes, ends, range_ms)
    lo = np.empty((len(sizes), len(ends)), np.int64)
    hi = np.empty_like(lo)
    if not ts.size:
        lo[:] = hi[:] = first[:, None]
        return lo, hi
    tmin = int(ts.min())
    span = int(ts.max()) - tmin + 1
    if len(sizes) * span >= 2**62:  # shifted times would overflow: one series at a time
        for i, (a, n) in enumerate(zip(first.tolist(), sizes.tolist(), strict=True)):
            lo[i], hi[i] = window_bounds(ts[a : a + n], ends, range_ms)
            lo[i] += a
            hi[i] += a
        return lo, hi
    shift = np.arange(len(sizes), dtype=np.int64) * span
    key = ts - tmin + np.repeat(shift, sizes)
    start_rel = np.clip(ends - range_ms - tmin, 0, span)
    end_rel = np.clip(ends - tmin, -1, span - 1)
    block = max(1, 4_000_000 // len(ends))
    for a in range(0, len(sizes), block):
        checkpoint()
        base = shift[a : a + block, None]
        lo[a : a + block] = np.searchsorted(key, base + start_rel[None, :], "left")
        hi[a : a + block] = np.searchsorted(key, base + end_rel[None, :], "right")
    return lo, hi


def _counted_bounds(ts: np.ndarray, first: np.ndarray, sizes: np.ndarray, ends: np.ndarray,
                    range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """``_all_bounds`` for ascending ends (every range query): each sample finds the
    first step whose window holds it and the first whose window has left it behind, and
    per series counts of those, summed along the steps, are the bounds.

    Why: a search per sample in the short array of ends, then a running count, costs a
    fraction of two searches per series and step in the long array of samples."""
    steps = len(ends)
    owner = np.repeat(np.arange(len(sizes), dtype=np.int64) * (steps + 1), sizes)
    cells = len(sizes) * (steps + 1)
    bounds = []
    step = int(ends[1] - ends[0])
    if step <= 0 or not bool(np.all(np.diff(ends) == step)):
        step = 0  # uneven: searched, not divided
    # t <= end puts a sample in a window's [.., hi); t < end - range puts it before lo
    for entered in (_steps_from(ends, ts, "left", step),
                    _steps_from(ends, ts + range_ms, "right", step)):
        checkpoint()
        counts = np.bincount(owner + entered, minlength=cells).reshape(len(sizes), steps + 1)
        out = np.cumsum(counts[:, :steps], axis=1)
        out += first[:, None]
        bounds.append(out)
    hi, lo = bounds
    return lo, hi


def _steps_from(ends: np.ndarray, ts: np.ndarray, side: str, step: int) -> np.ndarray:
    """``np.searchsorted(ends, ts, side)``; by division when the ends are evenly spaced
    ``step`` apart (0: they are not), as a range query's are (a tenth of the time of a
    binary search per sample)."""
    if not step:
        return np.searchsorted(ends, ts, side)
    rel = ts - int(ends[0])
    # left: the first k with end_k >= t; right: the first k with end_k > t
    k = -((-rel) // step) if side == "left" else rel // step + 1
    return np.clip(k, 0, len(ends), out=k)


def gather(values: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           ) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Yield (step slice, windows (s, k), mask (s, k)) in chunks of bounded size."""
    counts = hi - lo
    steps = len(lo)
    width = int(counts.max()) if steps else 0
    width = max(width, 1)
    chunk = max(1, MAX_CELLS // width)
    cols = np.arange(width)
    last = max(len(values) - 1, 0)
    for start in range(0, steps, chunk):
        checkpoint()
        sl = slice(start, min(steps, start + chunk))
        idx = lo[sl, None] + cols[None, :]
        mask = cols[None, :] < counts[sl, None]
        np.minimum(idx, last, out=idx)
        win = values[idx] if len(values) else np.zeros(idx.shape)
        yield sl, win, mask


def window_apply(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    """fn(windows, mask) -> per-step results, over all steps; NaN where windows are empty."""
    out = np.full(len(lo), np.nan)
    for sl, win, mask in gather(values, lo, hi):
        out[sl] = fn(win, mask)
    return out
