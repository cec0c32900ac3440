"""Persistent storage of compressed chunks, series and rollups in one SQLite file.

Why SQLite: one file, transactions (a checkpoint's chunks and its WAL position commit
together, so a crash never half-applies one), and an index to find a series' chunks by
time. Each row is a whole compressed chunk of up to thousands of samples, never a
sample; a small page size keeps the slack of blobs spilling into overflow pages low.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from watchkeeper.tsdb import rollup_table
from watchkeeper.tsdb.errors import DataDirError, StoreLockedError, TSDBError

APPLICATION_ID = 0x574B5453  # "WKTS": marks the file as ours
SCHEMA_VERSION = 1
DAY_MS = 86_400_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS chunks(
    series_id INTEGER NOT NULL, min_t INTEGER NOT NULL, max_t INTEGER NOT NULL,
    n INTEGER NOT NULL, rolled INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_series ON chunks(series_id, min_t);
DROP INDEX IF EXISTS chunks_unrolled;
CREATE INDEX IF NOT EXISTS chunks_span ON chunks(series_id, max_t, min_t);
CREATE INDEX IF NOT EXISTS chunks_unrolled_span ON chunks(series_id, max_t, min_t)
    WHERE rolled = 0;
"""

ChunkRow = tuple[int, int, int, int, bytes]  # series_id, min_t, max_t, n, data

# Which chunks overlap [start, end] is answered from chunks_span alone: by series and
# end time, so a window near the end of a week of chunks seeks to its few chunks and
# checks their start in the index. Through chunks_by_series it scanned every older chunk
# of the series and looked each one's row up for its end (in a database larger than
# SQLite's page cache, a page read each: 45 a series at a week of 1 s).
_OVERLAPPING = "INDEXED BY chunks_span WHERE series_id IN ({}) AND max_t >= ? AND min_t <= ?"


class StorageError(TSDBError):
    """The database failed underneath us: disk full, I/O error, locked."""


def translate(e: sqlite3.Error, path: Path) -> TSDBError:
    text = str(e)
    if "locked" in text or "busy" in text:
        return StoreLockedError(f"{path}: database is locked by another process ({text})")
    if "full" in text:
        return StorageError(f"{path}: disk full ({text}); samples stay in the WAL")
    if "not a database" in text or "malformed" in text:
        return DataDirError(f"{path}: not a valid store database ({text})")
    return StorageError(f"{path}: {text}")


class ChunkDB:
    """Thin, typed access to the store's SQLite file. Not thread-safe: the store locks."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fresh = not path.exists() or path.stat().st_size == 0
        try:
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=2.0
            )
            if fresh:
                self.conn.execute("PRAGMA page_size=4096")
                self.conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            else:
                app = self.conn.execute("PRAGMA application_id").fetchone()[0]
                if app != APPLICATION_ID:
                    raise DataDirError(
                        f"{path} is an SQLite database of another application "
                        f"(application_id {app:#x}); refusing to use it"
                    )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            # no mapping (mmap_size stays 0): mapped pages of the file count in the
            # process's resident size and grew with the database (24 to 48 MB over a
            # one-hour soak) while reads through the kernel's page cache cost about the
            # same (bench/tsdb.py's cold 1-year read within its noise either way)
            self.conn.executescript(_SCHEMA)
            rollup_table.create(self.conn)
            self.set_meta_default("schema_version", str(SCHEMA_VERSION))
        except sqlite3.Error as e:
            raise translate(e, path) from None

    def set_meta_default(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES(?, ?)", (key, value))

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def load_series(self) -> list[tuple[int, str]]:
        return self.conn.execute("SELECT id, labels FROM series").fetchall()

    def series_max_t(self) -> dict[int, int]:
        return dict(
            self.conn.execute("SELECT series_id, max(max_t) FROM chunks GROUP BY series_id")
        )

    def write_checkpoint(
        self, new_series: Iterable[tuple[int, str]], rows: Sequence[ChunkRow], wal_segment: int
    ) -> None:
        """Chunks, new series and the WAL position they cover, in one transaction."""
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO series(id, labels) VALUES(?, ?)", new_series)
            c.executemany(
                "INSERT INTO chunks(series_id, min_t, max_t, n, data) VALUES(?,?,?,?,?)", rows
            )
            c.execute(
                "INSERT OR REPLACE INTO meta VALUES('checkpoint_segment', ?)", (str(wal_segment),)
            )

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def chunks(
        self, series_ids: Sequence[int], start: int, end: int
    ) -> Iterator[tuple[int, int, bytes]]:
        """(series_id, min_t, data) of chunks overlapping [start, end], by series then time."""
        ids = sorted(series_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            yield from self.conn.execute(
                f"SELECT series_id, min_t, data FROM chunks {_OVERLAPPING.format(marks)} "
                "ORDER BY series_id, min_t, rowid",
                (*part, start, end),
            )

    def chunk_ids(
        self, series_ids: Sequence[int], start: int, end: int
    ) -> list[tuple[int, int]]:
        """(rowid, series_id) of chunks overlapping [start, end], by series then time."""
        ids = sorted(series_ids)
        out: list[tuple[int, int]] = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out += self.conn.execute(
                f"SELECT rowid, series_id FROM chunks {_OVERLAPPING.format(marks)} "
                "ORDER BY series_id, min_t, rowid",
                (*part, start, end),
            ).fetchall()
        return out

    def chunk_data(self, rowids: Sequence[int]) -> dict[int, bytes]:
        """The encoded chunk of each rowid still present."""
        out: dict[int, bytes] = {}
        for i in range(0, len(rowids), 500):
            part = rowids[i : i + 500]
            out.update(self.conn.execute(
                f"SELECT rowid, data FROM chunks WHERE rowid IN ({','.join('?' * len(part))})",
                part,
            ))
        return out

    def series_with_data(self, start: int, end: int) -> set[int]:
        return {
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT series_id FROM chunks INDEXED BY chunks_span "
                "WHERE max_t >= ? AND min_t <= ?",
                (start, end),
            )
        }

    def totals(self) -> dict[str, int]:
        n, chunks, raw_bytes, min_t, max_t = self.conn.execute(
            "SELECT coalesce(sum(n),0), count(*), coalesce(sum(length(data)),0), "
            "min(min_t), max(max_t) FROM chunks"
        ).fetchone()
        r_rows, r_bytes = self.conn.execute(
            f"SELECT count(*), {rollup_table.BYTES} FROM rollups"
        ).fetchone()
        return {
            "samples": n,
            "chunks": chunks,
            "chunk_bytes": raw_bytes,
            "min_t": min_t,
            "max_t": max_t,
            "rollup_blocks": r_rows,
            "rollup_bytes": r_bytes,
        }

    def close(self) -> None:
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.conn.close()


class _Transaction:
    def __init__(self, db: ChunkDB) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise translate(e, self.db.path) from None
        return self.db.conn

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        conn = self.db.conn
        if exc is None:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.Error as e:
                conn.execute("ROLLBACK")
                raise translate(e, self.db.path) from None
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, self.db.path) from exc
