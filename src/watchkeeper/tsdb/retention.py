"""Retention: raw chunks by age (default 30 days) and by total size; rollups by age.

Why data time and not the wall clock: ages count back from the newest sample, as in
Prometheus, so importing last year's data does not delete it on arrival. Freed pages
are returned to the file system, so disk use stays flat once retention is reached.
"""

from __future__ import annotations

from watchkeeper.tsdb.chunks import DAY_MS, ChunkDB
from watchkeeper.tsdb.rollup_table import BYTES as ROLLUP_BYTES

# pages returned to the file system per pass at most (4 MB at 4 kB pages): each moves a
# page from the file's end (0.2 ms here), so a pass after a large deletion holds the
# store's lock a fifth of a second, not seconds; a pass a minute still keeps up with
# what 10,000 series at 1 s free (about 250 pages a minute)
VACUUM_PAGES = 1024


def apply_retention(
    db: ChunkDB,
    max_t: int,
    retention_ms: int | None,
    max_bytes: int | None,
    rollup_retention_ms: dict[int, int],
) -> dict[str, int]:
    """Delete what is past retention; returns how many chunks and rollup blocks went."""
    dropped_chunks = dropped_rollups = 0
    with db.transaction() as c:
        if retention_ms is not None:
            dropped_chunks += c.execute(
                "DELETE FROM chunks WHERE max_t < ?", (max_t - retention_ms,)
            ).rowcount
        for res, keep_ms in rollup_retention_ms.items():
            dropped_rollups += c.execute(
                "DELETE FROM rollups WHERE res=? AND max_t < ?", (res, max_t - keep_ms)
            ).rowcount
        if max_bytes is not None:
            dropped_chunks += _shrink_to(c, max_bytes)
    # through executescript: an execute() steps the pragma once, which frees one page
    db.conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES})")
    return {"chunks_expired": dropped_chunks, "rollups_expired": dropped_rollups}


_STORED_BYTES = (f"SELECT (SELECT coalesce(sum(length(data)), 0) FROM chunks) + "
                 f"(SELECT {ROLLUP_BYTES} FROM rollups)")


def footprint(db: ChunkDB) -> tuple[int | None, int]:
    """The oldest raw sample kept (ms, None when empty) and the bytes retention counts:
    what tells an operator whether retention keeps up with what is written."""
    oldest = db.conn.execute("SELECT min(min_t) FROM chunks").fetchone()[0]
    used = db.conn.execute(_STORED_BYTES).fetchone()[0]
    return oldest, int(used)


def _shrink_to(c, max_bytes: int) -> int:  # type: ignore[no-untyped-def]
    """Drop the oldest days of raw chunks until the stored bytes fit max_bytes."""
    dropped = 0
    while True:
        used = c.execute(_STORED_BYTES).fetchone()[0]
        oldest = c.execute("SELECT min(min_t) FROM chunks").fetchone()[0]
        if used <= max_bytes:
            return dropped
        if oldest is None:  # only rollups left: drop the oldest block of the finest step
            row = c.execute(
                "SELECT res, series_id, window FROM rollups ORDER BY res, min_t LIMIT 1"
            ).fetchone()
            if row is None:
                return dropped
            c.execute("DELETE FROM rollups WHERE res=? AND series_id=? AND window=?", row)
            continue
        day_end = (oldest // DAY_MS + 1) * DAY_MS
        dropped += c.execute("DELETE FROM chunks WHERE min_t < ?", (day_end,)).rowcount
