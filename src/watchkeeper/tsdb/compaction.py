"""Cutting head samples into chunks, merging small chunks, deleting ranges.

Why: a checkpoint writes whatever the head held, so a series accumulates many small
chunks (and out-of-order samples make overlapping ones). Merging the chunks of a closed
day into a few large ones is what makes the store small and range reads cheap. Chunks
never span a day boundary, so a day is the unit of compaction, rollups and retention.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.chunks import DAY_MS, ChunkDB, ChunkRow
from watchkeeper.tsdb.codec import decode_chunk, encode_chunk
from watchkeeper.tsdb.head import sort_dedupe

__all__ = ["CHUNK_MAX_SAMPLES", "DAY_MS", "compact", "cut_chunks", "delete_range"]

CHUNK_MAX_SAMPLES = 16_384
OPEN_WINDOW_MAX_CHUNKS = 32  # an open day is compacted early once it has this many chunks
COMPACT_LEVEL = 9


def cut_chunks(series_id: int, ts: np.ndarray, vals: np.ndarray, level: int = 3) -> list[ChunkRow]:
    """Encode sorted samples into chunks split at day boundaries and at the size cap."""
    rows: list[ChunkRow] = []
    if not ts.size:
        return rows
    days = ts // DAY_MS
    cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
    bounds = [0, *cuts.tolist(), ts.size]
    for lo, hi in itertools.pairwise(bounds):
        for a in range(lo, hi, CHUNK_MAX_SAMPLES):
            b = min(a + CHUNK_MAX_SAMPLES, hi)
            rows.append(
                (
                    series_id,
                    int(ts[a]),
                    int(ts[b - 1]),
                    b - a,
                    encode_chunk(ts[a:b], vals[a:b], level),
                )
            )
    return rows


def compact(db: ChunkDB, max_t: int,
            lock: AbstractContextManager[object] = nullcontext()) -> dict[str, int]:
    """Merge the chunks of each (series, day) that is closed or has too many chunks,
    unless they already are what merging would write: no overlaps, no more chunks than
    the size cap needs (a day at 1 s is six chunks; merged again at every maintenance
    they cost seconds of decoding and encoding each minute, under the lock in batches).

    ``lock`` is taken per batch of series, not for the whole run: merging a day of
    50,000 series takes many seconds, and appends and queries must not wait that long."""
    open_day = max_t // DAY_MS
    with lock:
        groups = db.conn.execute(
            "SELECT series_id, day, count(*), sum(n), sum(overlap) FROM ("
            "SELECT series_id, min_t / ?1 AS day, n, coalesce(min_t <= lag(max_t) OVER ("
            "PARTITION BY series_id, min_t / ?1 ORDER BY min_t), 0) AS overlap FROM chunks) "
            "GROUP BY series_id, day HAVING count(*) > 1",
            (DAY_MS,),
        ).fetchall()
    merged = written = 0
    todo = [(sid, day) for sid, day, n, samples, overlaps in groups
            if (day < open_day or n >= OPEN_WINDOW_MAX_CHUNKS)
            and (overlaps or n > -(-samples // CHUNK_MAX_SAMPLES))]
    for i in range(0, len(todo), 200):
        with lock, db.transaction() as c:
            for sid, day in todo[i : i + 200]:
                found = c.execute(
                    "SELECT rowid, min_t, rolled, data FROM chunks WHERE series_id=? "
                    "AND min_t >= ? AND min_t < ? ORDER BY min_t",
                    (sid, day * DAY_MS, (day + 1) * DAY_MS),
                ).fetchall()
                if len(found) < 2:
                    continue
                ts, vals = _merge([decode_chunk(r[3]) for r in found])
                # samples before the first unrolled chunk's all came from rolled ones: the
                # chunks before stay rolled. The open day is cut there, so its finished
                # hours stay rolled; a closed day is not (it is rolled up again whole, and
                # one more chunk would have it merged again)
                unrolled = min((r[1] for r in found if not r[2]), default=None)
                cut = ts.size if unrolled is None else int(np.searchsorted(ts, unrolled))
                if day < open_day and cut < ts.size:
                    cut = 0
                rows = [(*row, 1) for row in cut_chunks(sid, ts[:cut], vals[:cut], COMPACT_LEVEL)]
                rows += [(*row, 0) for row in cut_chunks(sid, ts[cut:], vals[cut:], COMPACT_LEVEL)]
                c.executemany("DELETE FROM chunks WHERE rowid=?", [(r[0],) for r in found])
                c.executemany(
                    "INSERT INTO chunks(series_id, min_t, max_t, n, data, rolled) "
                    "VALUES(?,?,?,?,?,?)",
                    rows,
                )
                merged += len(found)
                written += len(rows)
    return {"chunks_merged": merged, "chunks_written": written}


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    ts = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    return sort_dedupe(ts, vals)


def delete_range(db: ChunkDB, series_ids: Sequence[int], start: int, end: int) -> None:
    """Remove samples of the series within [start, end], from rollups too (days that
    still have raw data are rolled up again by the next maintenance)."""
    with db.transaction() as c:
        for sid in series_ids:
            found = c.execute(
                "SELECT rowid, min_t, max_t, data FROM chunks WHERE series_id=? "
                "AND max_t >= ? AND min_t <= ?",
                (sid, start, end),
            ).fetchall()
            for rowid, min_t, max_t, data in found:
                c.execute("DELETE FROM chunks WHERE rowid=?", (rowid,))
                if start <= min_t and max_t <= end:
                    continue
                ts, vals = decode_chunk(data)
                keep = (ts < start) | (ts > end)
                c.executemany(
                    "INSERT INTO chunks(series_id, min_t, max_t, n, data) VALUES(?,?,?,?,?)",
                    cut_chunks(sid, ts[keep], vals[keep]),
                )
            rollups.forget_range(c, sid, start, end)
            if found:  # rebuild the touched days from what raw data they keep
                c.execute(
                    "UPDATE chunks SET rolled=0 WHERE series_id=? AND max_t >= ? AND min_t < ?",
                    (sid, start - start % DAY_MS, end - end % DAY_MS + DAY_MS),
                )
