"""Answer ``<agg>_over_time(selector[range])``, ``rate``/``increase`` and plain selectors
at coarse steps from the store's rollups (the latter two: see rollup_windows).

Why: a 30-day dashboard at 1 h steps need not decode millions of raw samples when the
store keeps min/max/sum/count/last per 1 m, 5 m and 1 h, and past raw retention the
rollups are all there is. Answers equal the raw path's: a window [t - range, t] (closed
at both ends, as Prometheus 2.x and our raw path have it) is exactly the buckets
starting in [t - range, t) plus the one sample a bucket records at its very start
(``at_start``) for the bucket starting at t, so rollups serve only windows whose range
and ends are whole multiples of the resolution. min, max, count, last and present are
bit-exact; sum and avg add per-bucket sums, equal within float rounding.
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql import ast, rollup_windows
from watchkeeper.promql.values import STALE_NAN_BITS, Vector, drop_name, merge_duplicates
from watchkeeper.tsdb.api import RollupData, TimeSeriesStore

COLUMNS_FOR = {
    "sum_over_time": ("sum",),
    "avg_over_time": ("sum",),
    "count_over_time": (),
    "present_over_time": (),
    "min_over_time": ("min",),
    "max_over_time": ("max",),
    "last_over_time": ("last",),
    "rate": rollup_windows.RATE_COLUMNS,
    "increase": rollup_windows.RATE_COLUMNS,
}
ROLLUP_FUNCTIONS = frozenset(COLUMNS_FOR)
COUNTER_FUNCTIONS = frozenset(("rate", "increase"))
RESOLUTIONS = (3_600_000, 300_000, 60_000)


def pick_resolution(range_ms: int, step_ms: int, ends: np.ndarray) -> int | None:
    """The coarsest resolution that tiles the window and every window end exactly."""
    for res in RESOLUTIONS:
        if res <= step_ms and range_ms % res == 0 and not (ends % res).any():
            return res
    return None


def _windows(ends: np.ndarray, range_ms: int, step_ms: int) -> dict[str, object]:
    """The windows [end - range, end] for select_rollup when they lie apart (a step longer
    than the range): only their buckets are read. Each window keeps all its buckets, so
    the answers are those of the whole range."""
    if step_ms <= range_ms or len(ends) < 2:
        return {}
    return {"windows": (ends - range_ms, ends.copy())}


def _sparse_table(col: np.ndarray, reduce: np.ufunc) -> list[np.ndarray]:
    """levels[j][i] = reduce of col[i : i + 2**j]: any window's reduce in two lookups."""
    levels = [col]
    width = 1
    while 2 * width <= len(col):
        prev = levels[-1]
        levels.append(reduce(prev[:-width], prev[width:]))
        width *= 2
    return levels


def _window_reduce(col: np.ndarray, lo: np.ndarray, hi: np.ndarray, reduce: np.ufunc,
                   ) -> np.ndarray:
    """reduce (fmin or fmax: NaN only when all are NaN) of col[lo:hi] per window."""
    out = np.full(len(lo), np.nan)
    some = hi > lo
    if not some.any():
        return out
    levels = _sparse_table(col, reduce)
    a, b = lo[some], hi[some]
    j = np.floor(np.log2(b - a)).astype(np.int64)
    for level in np.unique(j).tolist():
        at = j == level
        table = levels[level]
        out_idx = np.flatnonzero(some)[at]
        out[out_idx] = reduce(table[a[at]], table[b[at] - (1 << level)])
    return out


def _window_sums(col: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sums of col[lo:hi]: differences of an extended-precision running sum, so long
    series lose no more than a window's own rounding; non-finite sums add directly."""
    if np.isfinite(col).all():
        running = np.concatenate(([0.0], np.cumsum(col, dtype=np.longdouble)))
        return (running[hi] - running[lo]).astype(np.float64)
    padded = np.r_[col, 0.0]
    edges = np.stack([lo, hi], axis=1).ravel()
    return np.where(hi > lo, np.add.reduceat(padded, edges)[::2], 0.0)


def _one_series(func: str, data: RollupData, ends: np.ndarray, range_ms: int,
                ) -> tuple[np.ndarray, np.ndarray]:
    b = data.timestamps
    lo = np.searchsorted(b, ends - range_ms, "left")
    hi = np.searchsorted(b, ends, "left")
    # the bucket starting exactly at a window's end contributes its at_start sample
    at = np.minimum(hi, len(b) - 1)
    edge = (hi < len(b)) & (b[at] == ends)
    edge &= data.at_start.view(np.int64)[at] != STALE_NAN_BITS  # type: ignore[union-attr]
    edge_value = np.where(edge, data.at_start[at], 0.0)  # type: ignore[index]
    running = np.concatenate(([0.0], np.cumsum(data.count)))
    count = running[hi] - running[lo] + edge
    ok = count > 0
    if func == "count_over_time":
        return count, ok
    if func == "present_over_time":
        return np.ones(len(ends)), ok
    if func == "last_over_time":
        # the last bucket holding a sample: one of staleness markers alone holds none
        held = np.maximum.accumulate(np.where(data.count > 0, np.arange(len(b)), 0))
        inside = data.last[held[np.maximum(hi - 1, 0)]]
        return np.where(edge, edge_value, inside), ok
    if func in ("min_over_time", "max_over_time"):
        reduce = np.fmin if func == "min_over_time" else np.fmax
        col = data.min if func == "min_over_time" else data.max
        inside = _window_reduce(col, lo, hi, reduce)
        return np.where(edge, reduce(inside, edge_value), inside), ok
    total = _window_sums(data.sum, lo, hi) + edge_value
    return (total / count if func == "avg_over_time" else total), ok


def rollup_over_time(store: TimeSeriesStore, node: ast.Call, ends: np.ndarray,
                     step_ms: int) -> Vector | None:
    """The function's result from rollups, or None when this call cannot use them."""
    if node.func not in ROLLUP_FUNCTIONS or len(node.args) != 1:
        return None
    arg = node.args[0]
    if not isinstance(arg, ast.MatrixSelector):
        return None
    res = pick_resolution(arg.range_ms, step_ms, ends)
    if res is None:
        return None
    if node.func in COUNTER_FUNCTIONS and not store.has_rollups(arg.vector.matchers, res):
        return None
    labels, rows_v, rows_m = [], [], []
    # buckets starting up to the last end: the last one only for its at_start
    start, end = int(ends.min()) - arg.range_ms, int(ends.max())
    columns = ("count", "at_start", *COLUMNS_FOR[node.func])
    extra = {}
    if node.func in COUNTER_FUNCTIONS:  # (the stores asked has_rollups)
        extra = _windows(ends, arg.range_ms, step_ms)
    for data in store.select_rollup(arg.vector.matchers, start, end, res, columns, **extra):
        with np.errstate(all="ignore"):
            if node.func in COUNTER_FUNCTIONS:
                got = rollup_windows.rate(data, ends, arg.range_ms, node.func == "rate")
                if got is None:
                    return None  # blocks of an older layout: raw samples answer
                value, ok = got
            else:
                value, ok = _one_series(node.func, data, ends, arg.range_ms)
        if not ok.any():
            continue
        labels.append(data.labels if node.func == "last_over_time" else drop_name(data.labels))
        rows_v.append(value)
        rows_m.append(ok)
    if not labels:
        return Vector.empty(len(ends))
    return merge_duplicates(labels, np.array(rows_v), np.array(rows_m, dtype=bool))


def rollup_selector(store: TimeSeriesStore, node: ast.VectorSelector, ends: np.ndarray,
                    step_ms: int, lookback_ms: int) -> Vector | None:
    """A plain selector's values at each end from rollups, or None when it cannot use them
    (the lookback or the ends off the resolution, or blocks of an older layout)."""
    res = pick_resolution(lookback_ms, step_ms, ends)
    if res is None or not store.has_rollups(node.matchers, res):
        return None
    labels, rows_v, rows_m, rows_t = [], [], [], []
    start, end = int(ends.min()) - lookback_ms, int(ends.max())
    for data in store.select_rollup(node.matchers, start, end, res,
                                    rollup_windows.SELECTOR_COLUMNS,
                                    **_windows(ends, lookback_ms, step_ms)):
        got = rollup_windows.selector(data, ends, lookback_ms)
        if got is None:
            return None
        value, ok, stamps = got
        if not ok.any():
            continue
        labels.append(data.labels)
        rows_v.append(value)
        rows_m.append(ok)
        rows_t.append(stamps)
    if not labels:
        return Vector.empty(len(ends))
    return Vector(labels, np.array(rows_v), np.array(rows_m, dtype=bool),
                  np.array(rows_t, dtype=np.int64))
