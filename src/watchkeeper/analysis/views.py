"""The analysis functions over the store, through PromQL: what the API, the CLI and the MCP
tools call. Each returns plain data (labels, numbers, seconds), never a rendering."""

from __future__ import annotations

from typing import Any

import numpy as np

from .capacity import DAY, SKIPPED_FSTYPES, time_until_full
from .changes import rank_changes

#: Series considered by "what changed" unless a selector narrows it.
ALL_SERIES = '{__name__=~".+"}'


def grid(engine: Any, expr: str, start_ms: int, end_ms: int, step_ms: int,
         ) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray]:
    """(labels per row, times in seconds, values with NaN where a row has no sample)."""
    res = engine.range(expr, start_ms, end_ms, step_ms)
    vec = res.value
    if not hasattr(vec, "mask"):  # a scalar expression: one series without labels
        return [{}], res.times / 1000.0, np.asarray(vec.values, dtype=float)[None, :]
    values = np.where(vec.mask, vec.values, np.nan)
    return [dict(lbl) for lbl in vec.labels], res.times / 1000.0, values


def what_changed(engine: Any, at_ms: int, window_ms: int, selector: str = ALL_SERIES,
                 points: int = 120, top: int = 20) -> list[dict[str, Any]]:
    """Series ranked by how much their level or spread changed at ``at_ms``, against the
    four windows before it. ``points`` per window sets the step."""
    step = max(1000, window_ms // points)
    labels, times, values = grid(engine, selector, at_ms - 4 * window_ms, at_ms + window_ms,
                                 step)
    if not labels:
        return []
    out = []
    for c in rank_changes(times, values, at_ms / 1000.0, window_ms / 1000.0, top=top):
        out.append({"labels": labels[c.row], "score": c.score, "before": c.level_before,
                    "after": c.level_after, "spread_ratio": c.spread_ratio,
                    "changed_at": c.at, "ks_pvalue": c.ks_pvalue})
    return out


def capacity(engine: Any, now_ms: int, lookback_ms: int = int(7 * DAY * 1000),
             step_ms: int = 300_000) -> list[dict[str, Any]]:
    """Time until full for every writable disk filesystem (node_exporter's names), soonest
    first; flat or shrinking ones have ``seconds: None``."""
    start = now_ms - lookback_ms
    used_expr = "node_filesystem_size_bytes - node_filesystem_avail_bytes"
    labels, times, used = grid(engine, used_expr, start, now_ms, step_ms)
    size_labels, _, sizes = grid(engine, "node_filesystem_size_bytes", start, now_ms, step_ms)
    ro_labels, _, ro = grid(engine, "node_filesystem_readonly", now_ms, now_ms, step_ms)
    size_of = {_key(lbl): row for lbl, row in zip(size_labels, sizes, strict=True)}
    readonly = {_key(lbl) for lbl, row in zip(ro_labels, ro, strict=True) if row[-1] == 1}
    out = []
    for lbl, row in zip(labels, used, strict=True):
        key = _key(lbl)
        if lbl.get("fstype") in SKIPPED_FSTYPES or key in readonly or key not in size_of:
            continue
        size_row = size_of[key]
        ok = np.isfinite(row)
        if not ok.any():
            continue
        size = float(size_row[np.isfinite(size_row)][-1])
        r = time_until_full(times[ok], row[ok], size, now=now_ms / 1000.0)
        if r is None:
            continue
        out.append({"labels": lbl, "seconds": r.seconds, "lower": r.lower, "upper": r.upper,
                    "growth_per_day": r.growth_per_day, "used_ratio": r.used / size if size
                    else None, "size": size})
    return sorted(out, key=lambda d: (d["seconds"] is None, d["seconds"] or 0.0))


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
