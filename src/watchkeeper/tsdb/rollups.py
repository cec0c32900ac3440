"""Rollups: per 1 m, 5 m and 1 h bucket aggregates (see rollup_aggregate), kept longer
than raw.

Why: a year at 1 h step should read ~9,000 points per series, not two million samples.
Rollups are built from finished hours of raw chunks (an hour is finished once newer data
exists), today's too; the still-open hour is aggregated from raw data at query time, so
a rollup query always covers everything stored. Stale markers are not values and are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from watchkeeper.tsdb import rollup_cache
from watchkeeper.tsdb.chunks import DAY_MS, ChunkDB
from watchkeeper.tsdb.codec import decode_chunk, encode_chunk
from watchkeeper.tsdb.head import sort_dedupe
from watchkeeper.tsdb.rollup_aggregate import aggregate
from watchkeeper.tsdb.rollup_aggregate import aggregate_many as aggregate_many
from watchkeeper.tsdb.rollup_blocks import COLUMNS, ROWS, DecodedBlock, decode_block, in_lead
from watchkeeper.tsdb.rollup_encode import encode_block, split_block
from watchkeeper.tsdb.rollup_gather import BlockView
from watchkeeper.tsdb.rollup_table import INSERT, joined

MINUTE_MS, FIVE_MINUTES_MS, HOUR_MS = 60_000, 300_000, 3_600_000
RESOLUTIONS = (MINUTE_MS, FIVE_MINUTES_MS, HOUR_MS)
BLOCK_MS = {MINUTE_MS: DAY_MS, FIVE_MINUTES_MS: 10 * DAY_MS, HOUR_MS: 400 * DAY_MS}
DEFAULT_RETENTION_MS = {
    MINUTE_MS: 60 * DAY_MS,
    FIVE_MINUTES_MS: 180 * DAY_MS,
    HOUR_MS: 365 * DAY_MS,
}
ALL_COLUMNS = tuple(range(len(COLUMNS)))
# "3": blocks with first/first_at/last_at/resets/stale (rate and plain selectors);
# "2": with at_start (see rollup_blocks); "1" or none: the first layout
LAYOUT = "3"
# store a resolution only where it has 6+ samples per step on average; once stored, a
# series keeps it, so a sparse day never leaves a hole in its rollups
MIN_REDUCTION = 6


def resolution_for(step_ms: int) -> int | None:
    """The coarsest rollup resolution that fits in a query step, or None for raw."""
    fitting = [r for r in RESOLUTIONS if r <= step_ms]
    return max(fitting) if fitting else None


def _encode(cols: list[np.ndarray], res: int) -> tuple[bytes, bytes | None]:
    """(lead, rest), the ``data`` and ``rest`` of a block's row. Hourly blocks plain; finer
    ones (a day or ten) compressed, so an hour's read of a day block decodes a frame and
    copies that hour out, not every bucket of the day."""
    return split_block(encode_block(cols, fast=True, squeeze=res < HOUR_MS))


def _decode(data: bytes, rest: bytes | None = None,
            wanted: Collection[int] = ALL_COLUMNS) -> list[np.ndarray | None]:
    """A stored block's columns from its row's ``data`` and ``rest``."""
    return decode_block(joined(data, rest), wanted)


def wanted_columns(columns: Sequence[str] | None) -> tuple[int, ...]:
    """Column names (``COLUMNS`` but timestamps) -> indexes; None means all."""
    if columns is None:
        return ALL_COLUMNS
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown rollup columns {sorted(unknown)}; use {COLUMNS[1:]}")
    return (0, *sorted(COLUMNS.index(c) for c in columns if c != "timestamps"))


def built_through(db: ChunkDB) -> int:
    """Rollups cover every day before this time (ms); later data is aggregated on the fly."""
    return int(db.meta("rollup_through", str(-(2**62))) or 0)


def _upgrade_layout(db: ChunkDB) -> None:
    """Blocks of an older layout lack columns: rebuild every day that still has raw data.

    Older days keep their blocks (still readable, the missing columns NaN): queries
    needing those columns read raw samples there, or none."""
    if db.meta("rollup_layout") == LAYOUT:
        return
    with db.transaction() as c:
        if c.execute("SELECT 1 FROM rollups LIMIT 1").fetchone():
            c.execute("UPDATE chunks SET rolled=0 WHERE rolled=1")
        c.execute("INSERT OR REPLACE INTO meta VALUES('rollup_layout', ?)", (LAYOUT,))


def build(db: ChunkDB, max_t: int, lock: AbstractContextManager[object] = nullcontext()) -> int:
    """(Re)build rollups of finished hours that have unrolled chunks; returns blocks written.

    An hour is finished once newer data exists, so the open day's past hours are rolled
    up too and reads over today decode raw samples only for the current hour. A series
    is rebuilt, in each day with unrolled chunks (chunks never span days), from the
    first hour they touch to the day's end or the first unfinished hour. A chunk reaching
    into that hour is cut there: its rolled part is marked so, the rest stays unrolled
    and is read raw. ``lock`` is taken per batch of series (see compaction.compact)."""
    closed_before = (max_t // HOUR_MS) * HOUR_MS
    first: dict[tuple[int, int], int] = {}  # (series, day) -> its first unrolled sample
    with lock:
        _upgrade_layout(db)
        for sid, min_t in db.conn.execute(
            "SELECT series_id, min_t FROM chunks WHERE rolled=0 AND min_t < ?", (closed_before,)
        ):
            key = (sid, min_t // DAY_MS)
            first[key] = min(first.get(key, min_t), min_t)
    todo = sorted((sid, t - t % HOUR_MS, min((day + 1) * DAY_MS, closed_before))
                  for (sid, day), t in first.items())
    written = 0
    for i in range(0, len(todo), 100):
        with lock, db.transaction() as c:
            for sid, since, until in todo[i : i + 100]:
                written += _build_series(c, sid, since, until)
    if max_t > -(2**62):
        with lock, db.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES('rollup_through', ?)",
                (str(max(closed_before, built_through(db))),),
            )
    return written


def _build_series(c, sid: int, since: int, until: int) -> int:  # type: ignore[no-untyped-def]
    """Replace the series' buckets in [since, until) (whole hours) by ones built from
    every chunk holding samples there; those chunks become rolled (cut at ``until``)."""
    found = c.execute(
        "SELECT rowid, max_t, data FROM chunks WHERE series_id=? AND min_t >= ? "
        "AND min_t < ? AND max_t >= ? ORDER BY min_t",
        (sid, since - since % DAY_MS, until, since),
    ).fetchall()
    if not found:
        return 0
    parts = [decode_chunk(r[2]) for r in found]
    for (rowid, max_t, _), (t, v) in zip(found, parts, strict=True):
        if max_t >= until:  # reaches into the unfinished hour: cut it there
            cut = int(np.searchsorted(t, until))
            c.execute("DELETE FROM chunks WHERE rowid=?", (rowid,))
            c.executemany(
                "INSERT INTO chunks(series_id, min_t, max_t, n, data, rolled) VALUES(?,?,?,?,?,?)",
                [(sid, int(t[a]), int(t[b - 1]), b - a, encode_chunk(t[a:b], v[a:b]), rolled)
                 for a, b, rolled in ((0, cut, 1), (cut, t.size, 0)) if b > a],
            )
    ts, vals = sort_dedupe(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    )
    inside = (ts >= since) & (ts < until)
    ts, vals = ts[inside], vals[inside]
    written = 0
    for res in RESOLUTIONS:
        cols = aggregate(ts, vals, res)
        if _sparse(ts, cols[0].size, res) and not c.execute(
            "SELECT 1 FROM rollups WHERE res=? AND series_id=? LIMIT 1", (res, sid)
        ).fetchone():
            continue  # too sparse for this step: queries aggregate raw samples instead
        written += _replace_buckets(c, sid, res, cols, since, until)
    c.executemany("UPDATE chunks SET rolled=1 WHERE rowid=?",
                  [(r[0],) for r in found if r[1] < until])
    return written


def _sparse(ts: np.ndarray, buckets: int, res: int) -> bool:
    """Fewer than MIN_REDUCTION samples per bucket: by their spacing when there are two or
    more (a series starting late in an hour holds a few samples of it, yet is dense; once
    skipped, its rollups would start after its raw samples and it would be read raw)."""
    if ts.size >= 2 and ts[-1] > ts[0]:
        return (ts.size - 1) * res < MIN_REDUCTION * int(ts[-1] - ts[0])
    return buckets * MIN_REDUCTION > ts.size


def _replace_buckets(c, sid: int, res: int, cols: list[np.ndarray],  # type: ignore[no-untyped-def]
                     since: int, until: int) -> int:
    """Blocks at res with their buckets in [since, until) replaced by cols' buckets."""
    block = BLOCK_MS[res]
    first, last = since // block, (until - 1) // block
    windows = set(np.unique(cols[0] // block).tolist())
    windows.update(w for (w,) in c.execute(
        "SELECT window FROM rollups WHERE res=? AND series_id=? AND window BETWEEN ? AND ?",
        (res, sid, first, last)))
    written = 0
    for window in sorted(windows):
        mine = (cols[0] // block) == window
        new = [col[mine] for col in cols]
        row = c.execute(
            "SELECT data, rest FROM rollups WHERE res=? AND series_id=? AND window=?",
            (res, sid, window),
        ).fetchone()
        if row is not None:  # keep buckets outside the rebuilt hours
            old = _decode(*row)
            keep = (old[0] < since) | (old[0] >= until)
            if keep.all() and not mine.any():
                continue
            merged = [np.concatenate((o[keep], n)) for o, n in zip(old, new, strict=True)]
            order = np.argsort(merged[0], kind="stable")
            new = [m[order] for m in merged]
        if not new[0].size:
            c.execute("DELETE FROM rollups WHERE res=? AND series_id=? AND window=?",
                      (res, sid, window))
            continue
        c.execute(INSERT, (res, sid, window, int(new[0][0]), int(new[0][-1]),
                           *_encode(new, res)))
        written += 1
    return written


def _within(block: DecodedBlock, lo: int, hi: int, windows: tuple[np.ndarray, np.ndarray],
            ) -> np.ndarray:
    """Indexes in lo:hi of the block's buckets starting inside any window [start, end]
    (windows sorted and apart)."""
    starts, ends = windows
    if block.grid is None:
        a = np.searchsorted(block.stamps, starts, "left")
        b = np.searchsorted(block.stamps, ends, "right")
    else:
        first, step = block.grid
        step = max(step, 1)
        a = -((first - starts) // step)
        b = (ends - first) // step + 1
    a, b = np.clip(a, lo, hi), np.clip(b, lo, hi)
    keep = b > a
    a, b = a[keep], b[keep]
    if not a.size:
        return np.empty(0, np.int64)
    sizes = b - a
    # one arange over all windows: each window's run starts at its a
    offsets = np.repeat(a - np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    return np.arange(sizes.sum(), dtype=np.int64) + offsets


def forget_range(c, series_id: int, start: int, end: int) -> None:  # type: ignore[no-untyped-def]
    """Drop the series' buckets that hold any time in [start, end], keeping the others.

    Why: a deletion must not take a year of hourly rollups with it when the raw days
    that could rebuild them are long gone; days that still have raw data are rebuilt."""
    for res in RESOLUTIONS:
        rows = c.execute(
            "SELECT window, data, rest FROM rollups WHERE res=? AND series_id=? "
            "AND max_t >= ? AND min_t <= ?",
            (res, series_id, start - res + 1, end),
        ).fetchall()
        for window, data, rest in rows:
            cols = _decode(data, rest)
            keep = (cols[0] + res <= start) | (cols[0] > end)
            if keep.all():
                continue
            if not keep.any():
                c.execute("DELETE FROM rollups WHERE res=? AND series_id=? AND window=?",
                          (res, series_id, window))
                continue
            kept = [col[keep] for col in cols]  # type: ignore[index]
            c.execute(
                "UPDATE rollups SET min_t=?, max_t=?, data=?, rest=? WHERE res=? "
                "AND series_id=? AND window=?",
                (int(kept[0][0]), int(kept[0][-1]), *_encode(kept, res), res, series_id,
                 window),
            )


def read(
    db: ChunkDB, series_ids: Sequence[int], res: int, start: int, end: int,
    windows: tuple[np.ndarray, np.ndarray] | None = None,
    columns: Collection[int] = ALL_COLUMNS,
) -> dict[int, list[BlockView]]:
    """Stored rollup blocks per series, clipped to [start, end], in time order; with
    ``windows`` (starts, ends: sorted, apart), only their buckets. The blocks hold at
    least the ``COLUMNS`` indexes in ``columns``: when a mean's rows are all it needs,
    only each block's lead (``LEAD_ROWS``) is read, a seventh of a day of minutes.

    Blocks come decoded from the cache when unchanged since an earlier read. Blocks are
    found through a covering index (a block's row spills into overflow pages that
    reading its bounds would otherwise pull in), then the missing ones are fetched in
    as few statements as the variable limit allows."""
    if res not in BLOCK_MS:
        raise ValueError(f"rollup resolution must be one of {RESOLUTIONS}, not {res}")
    if end < start:
        return {}
    cache = rollup_cache.cache_for(db, db.conn)
    cache.sync()
    ids = sorted(series_ids)
    keys: list[tuple[int, int]] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        keys += db.conn.execute(
            f"SELECT series_id, window FROM rollups INDEXED BY rollups_span "
            f"WHERE res=? AND series_id IN ({','.join('?' * len(part))}) "
            "AND max_t >= ? AND min_t <= ? ORDER BY series_id, window",
            (res, *part, start, end),
        ).fetchall()
    rows = [ROWS.index(COLUMNS[c]) for c in columns if c]
    lead = in_lead(rows)
    blocks = {key: cache.get((res, *key)) for key in keys}
    missing = [key for key, block in blocks.items() if block is None or not block.has_rows(rows)]
    blocks.update((key, None) for key in missing)  # a cached lead the read needs more of
    for i in range(0, len(missing), 400):
        part = missing[i : i + 400]
        # one seek of the key index per block (the CROSS JOIN keeps the wanted keys
        # outside): "(series_id, window) IN (VALUES ...)" was planned as a scan of every
        # block at this resolution, once per statement. A row gone since the keys were
        # read: none.
        for sid, window, data, rest in db.conn.execute(
            f"WITH wanted(sid, win) AS (VALUES {','.join(['(?,?)'] * len(part))}) "
            f"SELECT sid, win, data, {'NULL' if lead else 'rest'} FROM wanted "
            "CROSS JOIN rollups ON res=? AND series_id=sid AND window=win",
            (*(x for key in part for x in key), res),
        ):
            block = blocks[(sid, window)] = (DecodedBlock(data, lead=True) if lead
                                              else DecodedBlock(joined(data, rest)))
            cache.put((res, sid, window), block)
    out: dict[int, list[BlockView]] = {}
    for sid, window in keys:
        block = blocks[(sid, window)]
        if block is None:  # its row went since the keys were read (callers hold no lock)
            continue
        lo, hi = block.bounds(start, end)
        if hi > lo and windows is not None:
            idx = _within(block, lo, hi, windows)
            if idx.size:
                out.setdefault(sid, []).append(BlockView(block, lo, hi, idx))
        elif hi > lo:
            out.setdefault(sid, []).append(BlockView(block, lo, hi))
    return out


def first_unrolled_hour(db: ChunkDB, series_ids: Sequence[int], start: int, end: int,
                        ) -> dict[int, int]:
    """Per series, the start of the first hour in [start, end] whose raw chunks changed
    after its rollups were built: stored buckets from then on may be stale.

    Why its own index (unrolled chunks by series and end): through the index of
    ``rolled`` alone, each statement of 500 series walked every unrolled chunk of the
    store (the open hour of each series) and looked its row up."""
    out: dict[int, int] = {}
    ids = sorted(series_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        for sid, min_t in db.conn.execute(
            "SELECT series_id, min(min_t) FROM chunks INDEXED BY chunks_unrolled_span "
            f"WHERE rolled=0 AND series_id IN ({','.join('?' * len(part))}) "
            "AND max_t >= ? AND min_t <= ? GROUP BY series_id",
            (*part, start, end),
        ):
            out[sid] = max(start, min_t - min_t % HOUR_MS)
    return out


def starts(db: ChunkDB, series_ids: Sequence[int], res: int | None) -> dict[int, int]:
    """Per series, its first rollup bucket at res, or (res None) its first raw sample.

    Why one lookup per series: min() grouped over a list of series walked every chunk
    of each (a week at 1 s is ~45 a series); the first by start is one index seek."""
    out: dict[int, int] = {}
    ids = sorted(series_ids)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        if res is None:
            first = "SELECT min_t FROM chunks WHERE series_id=ids.id ORDER BY min_t LIMIT 1"
        else:
            first = (f"SELECT min(min_t) FROM rollups INDEXED BY rollups_span WHERE res={int(res)}"
                     " AND series_id=ids.id")
        out.update((sid, t) for sid, t in db.conn.execute(
            f"WITH ids(id) AS (VALUES {','.join(['(?)'] * len(part))}) SELECT id, ({first}) "
            "FROM ids", part) if t is not None)
    return out


def clip(views: Sequence[BlockView], end: int) -> list[BlockView]:
    """The views cut to buckets starting at or before end."""
    out = []
    for view in views:
        _, hi = view.block.bounds(-(2**62), end)
        hi = min(hi, view.hi)
        idx = None if view.idx is None else view.idx[view.idx < hi]
        if hi > view.lo and (idx is None or idx.size):
            out.append(BlockView(view.block, view.lo, hi, idx))
    return out
