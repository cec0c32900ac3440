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
    four windows before it. ``points`` per window sets the step.

    A plain selector (the default: every series) is read straight from the store as
    per-step means, from the one-minute rollups when the window is 30 minutes or more
    (then the step is at least a minute): at 10,000 series scraped every second, 2.5 h of
    raw samples is 90 M values to decode, their rollups 1.5 M (every finished hour, today's
    too, is rolled up; the current hour is read raw). Any other
    expression is evaluated by PromQL on the step grid."""
    step = max(1000, window_ms // points)
    if window_ms >= ROLLUP_WINDOW_MS:
        step = max(step, MINUTE_MS)
    read = step_means(engine.store, selector, at_ms, window_ms, step)
    if read is None:  # not a plain selector
        read = grid(engine, selector, at_ms - 4 * window_ms, at_ms + window_ms, step)
    labels, times, values = read
    if not labels:
        return []
    out = []
    for c in rank_changes(times, values, at_ms / 1000.0, window_ms / 1000.0, top=top):
        out.append({"labels": dict(labels[c.row]), "score": c.score, "before": c.level_before,
                    "after": c.level_after, "spread_ratio": c.spread_ratio,
                    "changed_at": c.at, "ks_pvalue": c.ks_pvalue})
    return out


MINUTE_MS = 60_000
ROLLUP_WINDOW_MS = 30 * MINUTE_MS  # 30 one-minute means per window: enough to rank on


def step_means(store: Any, selector: str, at_ms: int, window_ms: int, step_ms: int,
               ) -> tuple[list[Any], np.ndarray, np.ndarray] | None:
    """(labels (the store's pairs), step times in seconds, the mean of each series'
    samples in each step) over the four windows before ``at_ms`` and the one after;
    steps are counted from ``at_ms``, so no step straddles it. None when ``selector``
    is not a plain selector (no offset, no @). The hours the store has rolled up are
    read from the one-minute rollups when ``step_ms`` holds whole minutes; the rest (the
    current hour) raw.

    Why means: a search of each step's first sample and one segment sum over the
    samples, where PromQL's selector builds per-series arrays; a mean is also the
    steadier level of a noisy series. Why only rolled-up hours from rollups: the store
    aggregates the others from raw samples on the fly, exactly, which costs more than
    the means here."""
    from watchkeeper.promql import ast
    from watchkeeper.promql.parser import parse

    node = parse(selector)
    if not isinstance(node, ast.VectorSelector) or node.offset_ms or node.at is not None:
        return None
    start, end = at_ms - 4 * window_ms, at_ms + window_ms - 1
    before = -(-4 * window_ms // step_ms)  # steps before at_ms, rounded up
    steps = before + -(-window_ms // step_ms)
    times = (at_ms + (np.arange(steps) - before) * step_ms) / 1000.0
    split = start
    if step_ms % MINUTE_MS == 0:
        split = min(max(_rolled_through(store), start), end + 1)
    rows: dict[Any, int] = {}
    total = np.zeros((0, steps))
    n = np.zeros((0, steps))
    edges = at_ms + (np.arange(steps + 1) - before) * step_ms
    for labels, sizes, ts, sums, counts in _reads(store, node.matchers, start, split, end):
        row = np.fromiter((rows.setdefault(lbl, len(rows)) for lbl in labels), np.int64,
                          len(labels))
        if len(rows) > len(total):
            grow = np.zeros((len(rows) - len(total), steps))
            total, n = np.vstack((total, grow)), np.vstack((n, grow))
        part_total, part_n = _cell_sums(np.asarray(sizes, np.int64), ts, sums, counts, edges)
        total[row] += part_total  # a series appears once per read
        n[row] += part_n
    if not rows:
        return [], times, np.empty((0, steps))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n > 0, total / n, np.nan)
    return list(rows), times, means  # the store's labels: made dicts only where ranked


_SERIES_APART = 1 << 42  # ms (139 years): each series' samples get a range of their own


def _cell_sums(sizes: np.ndarray, ts: np.ndarray, sums: np.ndarray, counts: np.ndarray | None,
               edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per series (``sizes`` samples each, sorted within each series) and per step between
    ``edges``: the sum of ``sums`` and of ``counts`` (one per sample when None), over finite
    sums only (stale markers, NaN).

    Why edges: each series' samples are sorted, so one search finds every step's first
    sample and one segment sum (np.add.reduceat) adds each step up, instead of a step
    index (an integer division) and a cell index computed, masked and counted for every
    sample. Segment sums also keep one series' huge values out of another's sums."""
    k, steps = len(sizes), len(edges) - 1
    offsets = np.arange(k, dtype=np.int64) * _SERIES_APART
    key = (ts - edges[0]) + np.repeat(offsets, sizes)  # sorted across series too
    ends = offsets[:, None] + (edges - edges[0])[None, :]
    at = np.searchsorted(key, ends.ravel()).reshape(k, steps + 1)
    finite = np.isfinite(sums)
    if counts is None and finite.all():
        n = np.diff(at, axis=1).astype(np.float64)
    else:
        if not finite.all():
            sums = np.where(finite, sums, 0.0)
            counts = np.where(finite, 1.0 if counts is None else counts, 0.0)
        n = _segment_sums(counts, at)  # type: ignore[arg-type]
    return _segment_sums(sums, at), n


def _segment_sums(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """x summed over [at[i, j], at[i, j + 1]) for each row i and step j (0 where empty)."""
    padded = np.append(x, 0.0)  # so that a segment may end at x's end (reduceat's indices)
    out = np.add.reduceat(padded, at.ravel()).reshape(at.shape)[:, :-1]
    return np.where(at[:, 1:] > at[:, :-1], out, 0.0)  # reduceat gives x[a] when empty


def _reads(store: Any, matchers: Any, start: int, split: int, end: int) -> Any:
    """(labels, sizes, timestamps, sums, counts) per read: the one-minute rollups over
    [start, split), raw samples (each its own sum; counts None: one each) over [split, end]."""
    if split > start:
        found = store.select_rollup_block(matchers, start, split - 1, MINUTE_MS,
                                          columns=("sum", "count"))
        if found.labels:
            yield (found.labels, found.sizes, found.timestamps, found.columns["sum"],
                   found.columns["count"])
    if split <= end:
        for block in store.select_blocks(matchers, split, end):
            yield block.labels, block.sizes, block.timestamps, block.values, None


def _rolled_through(store: Any) -> int:
    """Rollups hold every finished hour before this (ms); a store without rollups: never."""
    db = getattr(store, "db", None)
    if db is None:
        return -(2**62)
    from watchkeeper.tsdb.rollups import built_through

    return built_through(db)


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
        readonly = {label_key(lbl) for lbl, row in zip(ro_labels, ro, strict=True) if row[-1] == 1}
    out = []
    for res in chosen:
        labels, times, used = grid(engine, res.used, start, now_ms, step_ms)
        if not labels:
            continue
        size_labels, _, sizes = grid(engine, res.limit, start, now_ms, step_ms)
        size_of = {label_key(lbl): row for lbl, row in zip(size_labels, sizes, strict=True)}
        for lbl, row in zip(labels, used, strict=True):
            key = label_key(lbl)
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


def label_key(labels: dict[str, str]) -> tuple:
    """A series' labels without its name: how a used series meets its limit."""
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
