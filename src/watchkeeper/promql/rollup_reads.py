"""Answer ``<agg>_over_time(selector[range])`` at coarse steps from the store's rollups.

Why: a 30-day dashboard at 1 h steps need not decode millions of raw samples when the
store keeps min/max/sum/count/last per 1 m, 5 m and 1 h. Opt-in (``Engine(rollups=True)``),
because a rollup bucket is [start, start + resolution) while Prometheus's window is
[t - range, t]: the two differ only when a sample sits exactly on an evaluation time,
which real scrapes (at arbitrary milliseconds) practically never do.
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql import ast
from watchkeeper.promql.values import Vector, drop_name, merge_duplicates
from watchkeeper.tsdb.api import TimeSeriesStore

ROLLUP_FUNCTIONS = {"sum_over_time", "count_over_time", "avg_over_time", "min_over_time",
                    "max_over_time", "last_over_time"}
RESOLUTIONS = (3_600_000, 300_000, 60_000)


def pick_resolution(range_ms: int, step_ms: int, ends: np.ndarray) -> int | None:
    """The coarsest resolution that tiles the window and every window end exactly."""
    for res in RESOLUTIONS:
        if res <= step_ms and range_ms % res == 0 and not (ends % res).any():
            return res
    return None


def _window_fold(col: np.ndarray, lo: np.ndarray, hi: np.ndarray, reduce) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.full(len(lo), np.nan)
    width = int((hi - lo).max()) if len(lo) else 0
    if width == 0 or not len(col):
        return out
    cols = np.arange(width)
    idx = np.minimum(lo[:, None] + cols[None, :], len(col) - 1)
    mask = cols[None, :] < (hi - lo)[:, None]
    fill = np.inf if reduce is np.fmin else -np.inf
    win = np.where(mask, col[idx], fill)
    return reduce.reduce(win, axis=1)


def rollup_over_time(store: TimeSeriesStore, node: ast.Call, ends: np.ndarray,
                     step_ms: int) -> Vector | None:
    """The function's result from rollups, or None when this call cannot use them."""
    if node.func not in ROLLUP_FUNCTIONS or not node.args:
        return None
    arg = node.args[0]
    if not isinstance(arg, ast.MatrixSelector):
        return None
    res = pick_resolution(arg.range_ms, step_ms, ends)
    if res is None:
        return None
    steps = len(ends)
    labels, rows_v, rows_m = [], [], []
    start, end = int(ends.min()) - arg.range_ms, int(ends.max()) - 1
    for data in store.select_rollup(arg.vector.matchers, start, end, res):
        b = data.timestamps
        lo = np.searchsorted(b, ends - arg.range_ms, "left")
        hi = np.searchsorted(b, ends, "left")
        count_sum = np.concatenate(([0.0], np.cumsum(data.count)))
        count = count_sum[hi] - count_sum[lo]
        ok = count > 0
        if not ok.any():
            continue
        with np.errstate(all="ignore"):
            if node.func in ("sum_over_time", "avg_over_time"):
                total = np.concatenate(([0.0], np.cumsum(data.sum)))
                value = total[hi] - total[lo]
                if not np.isfinite(data.sum).all():
                    value = np.array([data.sum[a:z].sum() for a, z in zip(lo, hi, strict=True)])
                if node.func == "avg_over_time":
                    value = value / count
            elif node.func == "count_over_time":
                value = count
            elif node.func == "min_over_time":
                value = _window_fold(data.min, lo, hi, np.fmin)
            elif node.func == "max_over_time":
                value = _window_fold(data.max, lo, hi, np.fmax)
            else:
                value = data.last[np.maximum(hi - 1, 0)]
        keep_name = node.func == "last_over_time"
        labels.append(data.labels if keep_name else drop_name(data.labels))
        rows_v.append(value)
        rows_m.append(ok)
    if not labels:
        return Vector.empty(steps)
    return merge_duplicates(labels, np.array(rows_v), np.array(rows_m, dtype=bool))
