"""Samples -> rollup buckets: the per-bucket aggregates every rollup block stores.

Why its own module: the aggregates decide which PromQL answers rollups can give. Beside
min, max, sum, count and last (for ``*_over_time``) a bucket keeps its first real sample
and where it sits, where its last one sits, the counter resets inside it, and whether a
staleness marker ends it or sits on its start: enough for rate()/increase() and plain
selectors at aligned steps, with the raw path's lookback and staleness. A bucket that
holds only staleness markers is kept (count 0) so a selector sees the series end.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from watchkeeper.tsdb.codec import decimal_scale
from watchkeeper.tsdb.rollup_blocks import COLUMNS, NO_SAMPLE_BITS

STALE_LAST, STALE_AT_START = 1.0, 2.0  # bits of the ``stale`` column


def aggregate(ts: np.ndarray, vals: np.ndarray, res: int) -> list[np.ndarray]:
    """``COLUMNS`` of sorted samples, one entry per bucket of ``res`` ms holding any.

    at_start is the real sample exactly on the bucket start, if any (else the staleness
    marker): a PromQL window [t - range, t] is the buckets from t - range up to t plus
    that one sample, so rollups answer such windows exactly."""
    return aggregate_many([(ts, vals)], res)[0]


def aggregate_many(
    series: Sequence[tuple[np.ndarray, np.ndarray]], res: int,
    columns: Collection[str] | None = None,
) -> list[list[np.ndarray]]:
    """aggregate() of each series, in one pass of numpy operations over all of them;
    with ``columns``, the sum and the resets only when named (else zeros).

    Why: a rollup query aggregates the still-open day of every series it reads, and
    per-series calls would cost more than the arithmetic (sums and resets the most)."""
    if not series:
        return []
    ts = np.concatenate([s[0] for s in series]) if len(series) > 1 else series[0][0]
    vals = np.concatenate([s[1] for s in series]) if len(series) > 1 else series[0][1]
    owner = np.repeat(np.arange(len(series)), [s[0].size for s in series])
    if not ts.size:
        empty = [np.empty(0, np.int64), *[np.empty(0, np.float64)] * (len(COLUMNS) - 1)]
        return [list(empty) for _ in series]
    real = vals.view(np.int64) != NO_SAMPLE_BITS  # stale markers are not values
    buckets = ts - ts % res
    new = np.empty(ts.size, bool)
    new[0] = True
    np.not_equal(buckets[1:], buckets[:-1], out=new[1:])
    new[1:] |= owner[1:] != owner[:-1]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], ts.size]
    nb = starts.size
    bucket_of = np.cumsum(new) - 1
    counts = np.bincount(bucket_of[real], minlength=nb).astype(np.float64)
    has = counts > 0
    index = np.arange(ts.size)
    first_i = np.where(has, np.minimum.reduceat(np.where(real, index, ts.size), starts), 0)
    last_i = np.where(has, np.maximum.reduceat(np.where(real, index, -1), starts), 0)
    begin = buckets[starts]
    on_start = ts[starts] == begin
    at_start = np.where(on_start & real[starts], vals[starts].view(np.int64), NO_SAMPLE_BITS)
    masked = np.where(real, vals, np.nan) if not real.all() else vals
    stale = np.where(real[ends - 1], 0.0, STALE_LAST)
    stale += np.where(on_start & ~real[starts], STALE_AT_START, 0.0)
    named = {
        "timestamps": begin,
        "min": np.fmin.reduceat(masked, starts),
        "max": np.fmax.reduceat(masked, starts),
        "sum": (_bucket_sums(np.where(real, vals, 0.0), starts, owner)
                if columns is None or "sum" in columns else np.zeros(nb)),
        "count": counts,
        "last": np.where(has, vals[last_i], np.nan),
        "at_start": at_start.view(np.float64),
        "first": np.where(has, vals[first_i], np.nan),
        "first_at": np.where(has, ts[first_i] - begin, np.nan),
        "last_at": np.where(has, ts[last_i] - begin, np.nan),
        "resets": (_bucket_resets(vals[real], bucket_of[real], nb)
                   if columns is None or "resets" in columns else np.zeros(nb)),
        "stale": stale,
    }
    cols = [named[name] for name in COLUMNS]
    cuts = np.searchsorted(owner[starts], np.arange(1, len(series)))
    return [list(parts) for parts in zip(*(np.split(c, cuts) for c in cols), strict=True)]


def _bucket_resets(vals: np.ndarray, bucket_of: np.ndarray, buckets: int) -> np.ndarray:
    """Per bucket, the sum of the value before each drop between two of its real samples:
    what rate()'s counter correction adds inside it (Prometheus: ``if v < prev: += prev``)."""
    out = np.zeros(buckets)
    if vals.size < 2:
        return out
    prev, cur = vals[:-1], vals[1:]
    drop = (cur < prev) & (bucket_of[1:] == bucket_of[:-1])
    if not drop.any():
        return out
    # added in sample order, bucket by bucket: the same sums whichever series share a call
    return np.bincount(bucket_of[1:][drop], weights=prev[drop], minlength=buckets)


def _bucket_sums(vals: np.ndarray, starts: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Sums per bucket; a series' values with few decimals are summed as scaled integers.

    Why: a float sum of 3-decimal values is rarely a 3-decimal number itself, and then
    stores as 8 raw bytes a bucket; the exact sum, rounded once, stays decimal (and is
    the closer one). Whether a series sums exactly depends on its values alone: when all
    series together pass, each one would have (same exact sums, rounded the same)."""
    exact = _exact_sums(vals, starts)
    if exact is not None:
        return exact
    sums = np.add.reduceat(vals, starts)
    if owner[0] == owner[-1]:
        return sums
    first = np.searchsorted(owner, np.arange(owner[-1] + 1))  # each series' first sample
    bucket_of = np.searchsorted(starts, first)
    bounds = np.r_[first, vals.size]
    for k in range(len(first)):
        lo, hi = bucket_of[k], bucket_of[k + 1] if k + 1 < len(first) else starts.size
        if hi > lo:
            mine = _exact_sums(vals[bounds[k] : bounds[k + 1]], starts[lo:hi] - bounds[k])
            if mine is not None:
                sums[lo:hi] = mine
    return sums


def _exact_sums(vals: np.ndarray, starts: np.ndarray) -> np.ndarray | None:
    finite = np.isfinite(vals)
    scaled = decimal_scale(vals, finite) if finite.all() else None
    if scaled is None or int(np.abs(scaled[1]).max()) * vals.size >= 2**53:
        return None
    decimals, ints = scaled
    sums = np.add.reduceat(ints, starts).astype(np.float64)
    return sums / 10.0**decimals if decimals else sums
