"""Rollups: min, max, sum, count and last per 1 m, 5 m and 1 h step, kept longer than raw.

Why: a year at 1 h step should read ~9,000 points per series, not two million samples.
Rollups are built from closed days of raw chunks (a day is closed once newer data
exists); the still-open tail is aggregated from raw data at query time, so a rollup
query always covers everything stored. Stale markers are not values and are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from watchkeeper.tsdb import rollup_cache
from watchkeeper.tsdb.chunks import DAY_MS, ChunkDB
from watchkeeper.tsdb.codec import decode_chunk
from watchkeeper.tsdb.head import sort_dedupe
from watchkeeper.tsdb.rollup_blocks import (
    COLUMNS,
    BlockView,
    DecodedBlock,
    decode_block,
    encode_block,
)

MINUTE_MS, FIVE_MINUTES_MS, HOUR_MS = 60_000, 300_000, 3_600_000
RESOLUTIONS = (MINUTE_MS, FIVE_MINUTES_MS, HOUR_MS)
BLOCK_MS = {MINUTE_MS: DAY_MS, FIVE_MINUTES_MS: 10 * DAY_MS, HOUR_MS: 400 * DAY_MS}
DEFAULT_RETENTION_MS = {
    MINUTE_MS: 60 * DAY_MS,
    FIVE_MINUTES_MS: 180 * DAY_MS,
    HOUR_MS: 365 * DAY_MS,
}
STALE_NAN_BITS = 0x7FF0000000000002
ALL_COLUMNS = tuple(range(len(COLUMNS)))
MIN_REDUCTION = 6  # store a resolution only where it has 6+ samples per step on average


def resolution_for(step_ms: int) -> int | None:
    """The coarsest rollup resolution that fits in a query step, or None for raw."""
    fitting = [r for r in RESOLUTIONS if r <= step_ms]
    return max(fitting) if fitting else None


def aggregate(ts: np.ndarray, vals: np.ndarray, res: int) -> list[np.ndarray]:
    """[bucket starts, min, max, sum, count, last] of sorted samples at one resolution."""
    real = vals.view(np.int64) != STALE_NAN_BITS
    if not real.all():
        ts, vals = ts[real], vals[real]
    if not ts.size:
        empty = np.empty(0, np.float64)
        return [np.empty(0, np.int64), empty, empty, empty, empty, empty]
    buckets = ts - ts % res
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], ts.size]
    return [
        buckets[starts],
        np.fmin.reduceat(vals, starts),
        np.fmax.reduceat(vals, starts),
        np.add.reduceat(vals, starts),
        (ends - starts).astype(np.float64),
        vals[ends - 1],
    ]


def _encode(cols: list[np.ndarray], res: int) -> bytes:
    return encode_block(cols, fast=res >= HOUR_MS)


def _decode(data: bytes, wanted: Collection[int] = ALL_COLUMNS) -> list[np.ndarray | None]:
    return decode_block(data, wanted)


def wanted_columns(columns: Sequence[str] | None) -> tuple[int, ...]:
    """Column names (min, max, sum, count, last) -> indexes; None means all."""
    if columns is None:
        return ALL_COLUMNS
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown rollup columns {sorted(unknown)}; use {COLUMNS[1:]}")
    return (0, *sorted(COLUMNS.index(c) for c in columns if c != "timestamps"))


def built_through(db: ChunkDB) -> int:
    """Rollups cover every day before this time (ms); later data is aggregated on the fly."""
    return int(db.meta("rollup_through", str(-(2**62))) or 0)


def build(db: ChunkDB, max_t: int) -> int:
    """(Re)build rollups of closed days that have unrolled chunks; returns blocks written."""
    closed_before = (max_t // DAY_MS) * DAY_MS
    todo: dict[int, set[int]] = {}
    for sid, min_t in db.conn.execute(
        "SELECT series_id, min_t FROM chunks WHERE rolled=0 AND max_t < ?", (closed_before,)
    ):
        todo.setdefault(sid, set()).add(min_t // DAY_MS)
    written = 0
    items = sorted(todo.items())
    for i in range(0, len(items), 100):
        with db.transaction() as c:
            for sid, days in items[i : i + 100]:
                written += _build_series(c, sid, sorted(days))
    if max_t > -(2**62):
        with db.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES('rollup_through', ?)",
                (str(max(closed_before, built_through(db))),),
            )
    return written


def _build_series(c, sid: int, days: list[int]) -> int:  # type: ignore[no-untyped-def]
    lo, hi = days[0] * DAY_MS, (days[-1] + 1) * DAY_MS
    found = c.execute(
        "SELECT rowid, min_t, data FROM chunks WHERE series_id=? AND min_t >= ? "
        "AND min_t < ? ORDER BY min_t",
        (sid, lo, hi),
    ).fetchall()
    wanted = set(days)
    found = [r for r in found if r[1] // DAY_MS in wanted]
    if not found:
        return 0
    parts = [decode_chunk(r[2]) for r in found]
    ts, vals = sort_dedupe(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    )
    day_of = ts // DAY_MS
    written = 0
    for res in RESOLUTIONS:
        cols = aggregate(ts, vals, res)
        if cols[0].size * MIN_REDUCTION > ts.size:
            continue  # too sparse for this step: queries aggregate raw samples instead
        block = BLOCK_MS[res]
        for window in np.unique(cols[0] // block).tolist():
            mine = (cols[0] // block) == window
            new = [col[mine] for col in cols]
            row = c.execute(
                "SELECT data FROM rollups WHERE res=? AND series_id=? AND window=?",
                (res, sid, window),
            ).fetchone()
            if row is not None:  # keep buckets of days not rebuilt now
                old = _decode(row[0])
                keep = ~np.isin(old[0] // DAY_MS, day_of)
                merged = [np.concatenate((o[keep], n)) for o, n in zip(old, new, strict=True)]
                order = np.argsort(merged[0], kind="stable")
                new = [m[order] for m in merged]
            c.execute(
                "INSERT OR REPLACE INTO rollups VALUES(?,?,?,?,?,?)",
                (res, sid, window, int(new[0][0]), int(new[0][-1]), _encode(new, res)),
            )
            written += 1
    c.executemany("UPDATE chunks SET rolled=1 WHERE rowid=?", [(r[0],) for r in found])
    return written


def read(
    db: ChunkDB, series_ids: Sequence[int], res: int, start: int, end: int
) -> dict[int, list[BlockView]]:
    """Stored rollup blocks per series, clipped to [start, end], in time order.

    Blocks come decoded from the cache when unchanged since an earlier read; columns
    are decoded on first use. Blocks are found through a covering index: a block's
    row spills into overflow pages that reading its bounds would otherwise pull in."""
    if res not in BLOCK_MS:
        raise ValueError(f"rollup resolution must be one of {RESOLUTIONS}, not {res}")
    out: dict[int, list[BlockView]] = {}
    if end < start:
        return out
    cache = rollup_cache.cache_for(db, db.conn)
    cache.sync()
    ids = sorted(series_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        keys = db.conn.execute(
            f"SELECT series_id, window FROM rollups INDEXED BY rollups_span "
            f"WHERE res=? AND series_id IN ({marks}) "
            "AND max_t >= ? AND min_t <= ? ORDER BY series_id, window",
            (res, *part, start, end),
        ).fetchall()
        for sid, window in keys:
            key = (res, sid, window)
            block = cache.get(key)
            if block is None:
                (data,) = db.conn.execute(
                    "SELECT data FROM rollups WHERE res=? AND series_id=? AND window=?", key
                ).fetchone()
                block = DecodedBlock(data)
                cache.put(key, block)
            view = BlockView(block, start, end)
            if view.size:
                out.setdefault(sid, []).append(view)
    return out


def assemble(
    parts: Sequence[tuple[Sequence[BlockView], list[np.ndarray] | None]],
    wanted: Collection[int],
) -> list[list[np.ndarray | None]]:
    """Per series, one array per wanted column from stored blocks plus an on-the-fly tail.

    Each column of all series is one allocation, every series a slice of it: a year of
    100 series is ~40 MB of results, and one large buffer costs far fewer page faults
    than hundreds of small ones. A series kept alive keeps its columns' buffers alive."""
    sizes = [
        sum(v.size for v in views) + (0 if tail is None else tail[0].size) for views, tail in parts
    ]
    bounds = np.r_[0, np.cumsum(sizes, dtype=np.int64)].tolist()
    out: list[list[np.ndarray | None]] = [[None] * len(COLUMNS) for _ in parts]
    for index in range(len(COLUMNS)):
        if index and index not in wanted:
            continue
        buf = np.empty(bounds[-1], np.int64 if index == 0 else np.float64)
        for k, (views, tail) in enumerate(parts):
            pos = bounds[k]
            for view in views:
                view.decode_into(index, buf[pos : pos + view.size])
                pos += view.size
            if tail is not None:
                buf[pos : bounds[k + 1]] = tail[index]
            out[k][index] = buf[bounds[k] : bounds[k + 1]]
    return out
