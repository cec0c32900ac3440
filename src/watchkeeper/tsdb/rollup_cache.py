"""Decoded rollup blocks kept in memory between queries, dropped the moment a block changes.

Why: a year at 1 h for 100 series is ~200 blocks whose decompression and decoding cost
more than the rest of the query; stored blocks change only when maintenance rebuilds
a day, retention drops a block or samples are deleted. Rather than trust every writer
to say so, temporary SQLite triggers record each changed (res, series, window) key in a
per-connection table, and a read evicts those keys first. Rolled-back writes roll back
their records too. The cache is bounded by bytes, evicts the least recently used and
forgets blocks nobody has read for five minutes (see ``idle_cache``).
"""

from __future__ import annotations

import sqlite3
import weakref

from watchkeeper.tsdb.idle_cache import DEFAULT_IDLE_S, IdleCache
from watchkeeper.tsdb.rollup_blocks import DecodedBlock

DEFAULT_BUDGET_BYTES = 64 << 20
Key = tuple[int, int, int]  # res, series_id, window

_TRIGGERS = (
    "CREATE TEMP TABLE IF NOT EXISTS rollup_changed(res, series_id, window)",
    "CREATE TEMP TRIGGER IF NOT EXISTS rollup_changed_ins AFTER INSERT ON main.rollups BEGIN "
    "INSERT INTO rollup_changed VALUES(NEW.res, NEW.series_id, NEW.window); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS rollup_changed_upd AFTER UPDATE ON main.rollups BEGIN "
    "INSERT INTO rollup_changed VALUES(OLD.res, OLD.series_id, OLD.window); "
    "INSERT INTO rollup_changed VALUES(NEW.res, NEW.series_id, NEW.window); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS rollup_changed_del AFTER DELETE ON main.rollups BEGIN "
    "INSERT INTO rollup_changed VALUES(OLD.res, OLD.series_id, OLD.window); END",
)


class RollupCache:
    """LRU of decoded blocks of one database connection, kept honest by its triggers."""

    def __init__(self, conn: sqlite3.Connection, budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 idle_s: float = DEFAULT_IDLE_S):
        self.conn = conn
        self.budget = budget_bytes
        self.blocks: IdleCache[Key, DecodedBlock] = IdleCache(
            budget_bytes, lambda block: block.nbytes, idle_s)
        for statement in _TRIGGERS:  # one by one: a script would commit a transaction
            conn.execute(statement)

    def sync(self) -> None:
        """Evict every block written or deleted since the last read."""
        changed = self.conn.execute("SELECT DISTINCT res, series_id, window FROM rollup_changed")
        keys = changed.fetchall()
        if keys:
            self.conn.execute("DELETE FROM rollup_changed")
            for key in keys:
                self.evict(key)

    @property
    def used(self) -> int:
        return self.blocks.used

    def evict(self, key: Key) -> None:
        self.blocks.pop(key)

    def get(self, key: Key) -> DecodedBlock | None:
        return self.blocks.get(key)

    def put(self, key: Key, block: DecodedBlock) -> None:
        if block.nbytes > self.budget:
            self.blocks.pop(key)
            return
        self.blocks.put(key, block)


_CACHES: weakref.WeakKeyDictionary[object, RollupCache] = weakref.WeakKeyDictionary()


def cache_for(db: object, conn: sqlite3.Connection) -> RollupCache:
    """The cache of this database handle, created (with its triggers) on first use."""
    cache = _CACHES.get(db)
    if cache is None or cache.conn is not conn:
        cache = _CACHES[db] = RollupCache(conn)
    return cache


def cached_bytes(db: object) -> int:
    """Bytes of decoded rollup blocks held for this database handle (0 before its first read)."""
    cache = _CACHES.get(db)
    return cache.used if cache is not None else 0


def expire(db: object) -> None:
    """Forget this database handle's blocks that nobody has read for a while."""
    cache = _CACHES.get(db)
    if cache is not None:
        cache.blocks.expire()
