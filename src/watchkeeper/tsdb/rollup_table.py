"""The table that keeps rollup blocks, and the upgrade of a store that kept them otherwise.

Why a rowid table with the key in an index: a block is 3 to 25 kB, and a WITHOUT ROWID
table keeps whole rows in its interior pages too, so its tree had a fan-out of about
four and each block's lookup walked some eight pages: 10,000 blocks took 0.18 s to
find where an index and the rowid take 0.04 s. Why ``data`` and ``rest``: a block's
lead (``LEAD_ROWS``: count and sum) is its own column ahead of the other frames, so a
read of means reads only the lead's pages (a seventh of a day of minutes).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from watchkeeper.tsdb.errors import CorruptChunkError
from watchkeeper.tsdb.rollup_encode import split_block

log = logging.getLogger("watchkeeper.tsdb")

# window in the span index: a query's blocks are found from the index alone
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rollups(id INTEGER PRIMARY KEY, res INTEGER NOT NULL, "
    "series_id INTEGER NOT NULL, window INTEGER NOT NULL, min_t INTEGER NOT NULL, "
    "max_t INTEGER NOT NULL, data BLOB NOT NULL, rest BLOB)",
    "CREATE UNIQUE INDEX IF NOT EXISTS rollups_key ON rollups(res, series_id, window)",
    "CREATE INDEX IF NOT EXISTS rollups_span ON rollups(res, series_id, max_t, min_t, window)",
)
# the bytes the table's blocks take: their leads and the rest (NULL for a block kept whole)
BYTES = "coalesce(sum(length(data)), 0) + coalesce(sum(length(rest)), 0)"
INSERT = ("INSERT OR REPLACE INTO rollups(res, series_id, window, min_t, max_t, data, rest) "
          "VALUES(?,?,?,?,?,?,?)")


def create(conn: sqlite3.Connection) -> None:
    """The table as this version keeps it; a store of an earlier version is upgraded
    first, in one transaction (a crash leaves the earlier table as it was)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='rollups'"
                       ).fetchone()
    if row is not None and "WITHOUT ROWID" in row[0].upper():
        _upgrade(conn)
    for statement in SCHEMA:
        conn.execute(statement)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Every block copied into the new table, split into its lead and the rest where its
    layout allows (whole otherwise: a damaged block stays for reads to report)."""
    held = {r[1] for r in conn.execute("PRAGMA table_info(rollups)")}
    rest = "rest" if "rest" in held else "NULL"
    log.warning("upgrading the rollups table of %s: every block is copied once "
                "(about 25 s per GB of rollups)",
                conn.execute("PRAGMA database_list").fetchone()[2])
    started = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DROP INDEX IF EXISTS rollups_span")
        conn.execute("ALTER TABLE rollups RENAME TO rollups_before")
        for statement in SCHEMA:
            conn.execute(statement)
        old = conn.execute(f"SELECT res, series_id, window, min_t, max_t, data, {rest} "
                           "FROM rollups_before")
        conn.executemany(INSERT, ((*r[:5], *_split(joined(r[5], r[6]))) for r in old))
        conn.execute("DROP TABLE rollups_before")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.executescript("PRAGMA incremental_vacuum")  # the earlier table's pages, all at once
    log.warning("rollups table upgraded in %.1f s", time.monotonic() - started)


def joined(data: bytes, rest: bytes | None) -> bytes:
    """A block's bytes from its row: its lead and the rest (None: whole in ``data``)."""
    return data + rest if rest else data


def _split(data: bytes) -> tuple[bytes, bytes | None]:
    try:
        return split_block(data)
    except CorruptChunkError:
        return data, None
