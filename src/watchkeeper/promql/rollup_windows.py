"""rate()/increase() and plain selectors at aligned steps, from rollup buckets.

Why: a dashboard over 30 days of 1 s data asks ``rate(x[1m])`` and plain gauges at steps
of hours; raw, each series decodes millions of samples for a few hundred answers. With
windows and lookback whole multiples of the resolution and ends on bucket starts, a
window is exactly some whole buckets plus the one sample on the bucket starting at its
end (``at_start``), so each bucket's first and last sample (value and time), counter
resets inside it and staleness give the raw answer: the same samples, the same formula
(functions_range.extrapolate). Blocks of an older layout lack these columns: then None,
and the caller reads raw samples.
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql.functions_range import extrapolate
from watchkeeper.promql.values import STALE_NAN_BITS
from watchkeeper.tsdb.api import RollupData
from watchkeeper.tsdb.rollup_aggregate import STALE_AT_START, STALE_LAST

RATE_COLUMNS = ("count", "at_start", "first", "first_at", "last", "last_at", "resets")
SELECTOR_COLUMNS = ("count", "at_start", "last", "last_at", "stale")


def _running(col: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(col)))


def rate(data: RollupData, ends: np.ndarray, range_ms: int, is_rate: bool,
         ) -> tuple[np.ndarray, np.ndarray] | None:
    """(values, present) of rate (or increase) per window end; None if the blocks lack
    the columns or hold non-finite values (the raw path sums those window by window)."""
    real = data.count > 0  # buckets of staleness markers alone hold no sample
    b = data.timestamps[real]
    first, last = data.first[real], data.last[real]  # type: ignore[index]
    first_at, last_at = data.first_at[real], data.last_at[real]  # type: ignore[index]
    resets, at_start = data.resets[real], data.at_start[real]  # type: ignore[index]
    if np.isnan(first_at).any() or np.isnan(last_at).any():
        return None  # an older layout's block
    if not (np.isfinite(first).all() and np.isfinite(last).all()
            and np.isfinite(resets).all()):
        return None
    if not len(b):
        return np.zeros(len(ends)), np.zeros(len(ends), bool)
    lo = np.searchsorted(b, ends - range_ms, "left")
    hi = np.searchsorted(b, ends, "left")
    at = np.minimum(hi, len(b) - 1)
    edge = (hi < len(b)) & (b[at] == ends) & (at_start.view(np.int64)[at] != STALE_NAN_BITS)
    edge_value = np.where(edge, at_start[at], 0.0)
    counts = _running(data.count[real])
    n = counts[hi] - counts[lo] + edge
    ok = n >= 2
    inside = hi > lo
    f = np.where(inside, lo, 0)
    k = np.where(inside, hi - 1, 0)
    v_first = np.where(inside, first[f], edge_value)
    t_first = np.where(inside, b[f] + first_at[f], ends)
    v_last = np.where(edge, edge_value, last[k])
    t_last = np.where(edge, ends, b[k] + last_at[k])
    # drops inside buckets, between neighbouring buckets, and onto the sample at the end
    cross = np.where(first[1:] < last[:-1], last[:-1], 0.0)
    corr = _running(resets)[hi] - _running(resets)[lo]
    two = hi - lo >= 2
    run_cross = _running(cross)
    a, z = np.where(two, lo, 0), np.where(two, hi - 1, 0)
    corr += run_cross[z] - run_cross[a]
    corr += np.where(edge & inside & (edge_value < last[k]), last[k], 0.0)
    result = extrapolate(v_last - v_first + corr, v_first, t_first, t_last, n, ends,
                         range_ms, True, is_rate)
    return result, ok


def selector(data: RollupData, ends: np.ndarray, lookback_ms: int,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(values, present, sample timestamps) of a plain selector per end: the latest
    sample in [end - lookback, end], absent when it is a staleness marker."""
    b, stale = data.timestamps, data.stale
    last_at = data.last_at
    if stale is None or last_at is None or np.isnan(stale).any():
        return None
    if np.isnan(last_at[data.count > 0]).any():
        return None  # an older layout's block
    flags = stale.astype(np.int64)
    lo = np.searchsorted(b, ends - lookback_ms, "left")
    hi = np.searchsorted(b, ends, "left")
    at = np.minimum(hi, len(b) - 1)
    on = (hi < len(b)) & (b[at] == ends)
    start_real = on & (data.at_start.view(np.int64)[at] != STALE_NAN_BITS)  # type: ignore[union-attr]
    start_stale = on & ((flags[at] & int(STALE_AT_START)) != 0)
    k = np.maximum(hi - 1, 0)
    inside = (hi > lo) & ((flags[k] & int(STALE_LAST)) == 0)
    ok = start_real | (~start_stale & inside)
    values = np.where(start_real, data.at_start[at], data.last[k])  # type: ignore[index]
    stamps = np.where(start_real, ends, b[k] + np.nan_to_num(last_at[k]).astype(np.int64))
    return values, ok, stamps
