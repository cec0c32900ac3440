"""The analysis functions over the store, through PromQL: what the API, the CLI and the MCP
tools call. Each returns plain data (labels, numbers, seconds), never a rendering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .capacity import DAY, time_until_full
from .changes import rank_changes
from .resources import SKIPPED_FSTYPES, select

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
             step_ms: int = 300_000, resources: Iterable[str] | None = None,
             ) -> list[dict[str, Any]]:
    """Time until full of everything that can run out (writable disks and their inodes,
    memory, file descriptors, pools and the config's own gauges with a limit), soonest
    first; flat or shrinking ones have ``seconds: None``. Each row's labels carry
    ``resource``, so a disk's space and its inodes stay two series."""
    start = now_ms - lookback_ms
    chosen = [r for r in select(resources) if r.fills]
    readonly: set[tuple] = set()
    if any(r.filesystem for r in chosen):
        ro_labels, _, ro = grid(engine, "node_filesystem_readonly", now_ms, now_ms, step_ms)
        readonly = {_key(lbl) for lbl, row in zip(ro_labels, ro, strict=True) if row[-1] == 1}
    out = []
    for res in chosen:
        labels, times, used = grid(engine, res.used, start, now_ms, step_ms)
        if not labels:
            continue
        size_labels, _, sizes = grid(engine, res.limit, start, now_ms, step_ms)
        size_of = {_key(lbl): row for lbl, row in zip(size_labels, sizes, strict=True)}
        for lbl, row in zip(labels, used, strict=True):
            key = _key(lbl)
            if key not in size_of or (res.filesystem and (
                    lbl.get("fstype") in SKIPPED_FSTYPES or key in readonly)):
                continue
            size_row = size_of[key]
            ok = np.isfinite(row)
            if not ok.any() or not np.isfinite(size_row).any():
                continue
            size = float(size_row[np.isfinite(size_row)][-1])
            r = time_until_full(times[ok], row[ok], size, now=now_ms / 1000.0)
            if r is None:
                continue
            out.append({"resource": res.name, "unit": res.unit,
                        "labels": {**{k: v for k, v in lbl.items() if k != "__name__"},
                                   "resource": res.name},
                        "seconds": r.seconds, "lower": r.lower, "upper": r.upper,
                        "growth_per_day": r.growth_per_day,
                        "used_ratio": r.used / size if size else None, "size": size})
    return sorted(out, key=lambda d: (d["seconds"] is None, d["seconds"] or 0.0))


def _key(labels: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
