"""Decoded chunks kept in memory between reads, dropped the moment their row changes.

Why: a dashboard asks for the same day of the same series at every refresh, and reading
the blobs back from SQLite and decoding them is most of a query's time. A chunk's row
never changes in place except through compaction, deletion and retention; as the rollup
cache does, temporary SQLite triggers record each deleted or rewritten row in a
per-connection table, and every read evicts those rows first (a rolled-back write rolls
back its records too). Bounded by bytes, oldest first out, and forgotten after five
minutes unread (see ``idle_cache``); a read bigger than half the budget is not kept. An
entry is charged its arrays' bytes plus the Python objects that hold them (two array
headers, a tuple, the dict's entry and key, about 400 bytes): a 5-minute chunk of a 5 s
scrape has 960 bytes of samples, so counting the samples alone let the cache hold some
40 % more memory than its budget and its figure.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import weakref
from collections.abc import Iterable

import numpy as np

from watchkeeper.tsdb.idle_cache import DEFAULT_IDLE_S, IdleCache

DEFAULT_BUDGET_BYTES = 128 << 20
Decoded = tuple[np.ndarray, np.ndarray]  # timestamps, values


def _entry_overhead() -> int:
    """Bytes an entry costs beyond its samples: two array objects (views of a batch's
    arrays, or arrays of their own), the tuple pairing them, the int key and the ordered
    dict's slot and link (measured: about 105 bytes)."""
    view = np.zeros(2)[:1]
    return 2 * sys.getsizeof(view) + sys.getsizeof((view, view)) + sys.getsizeof(1 << 40) + 105


ENTRY_OVERHEAD = _entry_overhead()


def entry_bytes(decoded: Decoded) -> int:
    """What keeping one decoded chunk costs (see the module's docstring)."""
    return decoded[0].nbytes + decoded[1].nbytes + ENTRY_OVERHEAD

_TRIGGERS = (
    "CREATE TEMP TABLE IF NOT EXISTS chunk_changed(id INTEGER)",
    "CREATE TEMP TRIGGER IF NOT EXISTS chunk_changed_upd AFTER UPDATE OF series_id, min_t, "
    "max_t, n, data ON main.chunks BEGIN INSERT INTO chunk_changed VALUES(OLD.rowid); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS chunk_changed_del AFTER DELETE ON main.chunks BEGIN "
    "INSERT INTO chunk_changed VALUES(OLD.rowid); END",
)


class ChunkCache:
    """Decoded chunks (by rowid) of one database connection, kept honest by triggers.

    ``sync`` runs where the connection is used (under the store's lock); ``get`` and
    ``put`` may run on any thread."""

    def __init__(self, conn: sqlite3.Connection, budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 idle_s: float = DEFAULT_IDLE_S):
        self.conn = conn
        self.budget = budget_bytes
        self.generation = 0  # counts syncs that evicted: a put from before one is dropped
        self.chunks: IdleCache[int, Decoded] = IdleCache(budget_bytes, entry_bytes, idle_s)
        self._lock = threading.Lock()
        for statement in _TRIGGERS:  # one by one: a script would commit a transaction
            conn.execute(statement)

    def sync(self) -> int:
        """Evict every chunk rewritten or deleted since the last read; returns the
        generation to hand to ``put_many`` for what this read decodes."""
        changed = self.conn.execute("SELECT DISTINCT id FROM chunk_changed").fetchall()
        with self._lock:
            if changed:
                self.conn.execute("DELETE FROM chunk_changed")
                self.generation += 1
                for (rowid,) in changed:
                    self.chunks.pop(rowid)
            return self.generation

    @property
    def used(self) -> int:
        return self.chunks.used

    def expire(self) -> None:
        """Forget the chunks nobody has read for a while."""
        with self._lock:
            self.chunks.expire()

    def get_many(self, rowids: Iterable[int]) -> dict[int, Decoded]:
        """The cached ones of rowids. Order of eviction is order of insertion: marking
        each hit as recent cost more than it saved on reads of 50,000 chunks."""
        with self._lock:
            return self.chunks.get_many(rowids)

    def put_many(self, items: Iterable[tuple[int, Decoded]], generation: int) -> None:
        """Keep chunks decoded from rows read at ``generation`` (see ``sync``): a row
        changed since may be one of them, and then none is kept."""
        sized = [(item, entry_bytes(item[1])) for item in items]
        if sum(size for _, size in sized) > self.budget // 2:
            return  # a read this big would only push out what the next reads need
        limit = self.budget // 8  # one huge chunk must not flush everything
        with self._lock:
            if generation != self.generation:
                return
            self.chunks.put_many(item for item, size in sized if size <= limit)


_CACHES: weakref.WeakKeyDictionary[object, ChunkCache] = weakref.WeakKeyDictionary()


def cache_for(db: object, conn: sqlite3.Connection) -> ChunkCache:
    """The cache of this database handle, created (with its triggers) on first use."""
    cache = _CACHES.get(db)
    if cache is None or cache.conn is not conn:
        cache = _CACHES[db] = ChunkCache(conn)
    return cache


def cached_bytes(db: object) -> int:
    """Bytes the decoded chunks held for this database handle cost, their objects included
    (0 before its first read)."""
    cache = _CACHES.get(db)
    return cache.used if cache is not None else 0


def expire(db: object) -> None:
    """Forget this database handle's chunks that nobody has read for a while (a server
    nobody queries must not keep what a burst of queries left behind)."""
    cache = _CACHES.get(db)
    if cache is not None:
        cache.expire()
