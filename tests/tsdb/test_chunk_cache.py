"""Decoded chunks are kept between reads and dropped whenever their row changes."""

import gc
import tracemalloc

import numpy as np

from watchkeeper.tsdb import chunk_cache
from watchkeeper.tsdb.batch_read import decode_missing
from watchkeeper.tsdb.chunks import DAY_MS
from watchkeeper.tsdb.codec import encode_chunk
from watchkeeper.tsdb.matchers import Matcher

T0 = 1_700_006_400_000  # a midnight


def write(store, name: str, days: float, seed: int, step: int = 60_000):
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(int(days * DAY_MS // step), dtype=np.int64) * step
    vals = np.round(rng.normal(size=ts.size).cumsum(), 3)
    store.append_array({"__name__": name, "k": str(seed)}, ts, vals)
    return ts, vals


def read(store, name: str) -> dict:
    return {s.labels: (s.timestamps.tolist(), s.values.tolist())
            for s in store.select([Matcher("__name__", "=", name)])}


def fetched(store, monkeypatch) -> list[int]:
    """Rows whose blobs the store fetches from the database from now on."""
    rows: list[int] = []
    real = store.db.chunk_data

    def counting(rowids):
        rows.extend(rowids)
        return real(rowids)

    monkeypatch.setattr(store.db, "chunk_data", counting)
    return rows


def test_a_second_read_decodes_nothing_and_equals_the_first(open_store, monkeypatch):
    store = open_store()
    for seed in range(6):  # more series than a read decodes one by one
        write(store, "g", 2.5, seed)
    store.flush()
    first = read(store, "g")
    rows = fetched(store, monkeypatch)
    assert read(store, "g") == first
    assert rows == []
    assert len(first) == 6 and all(len(ts) == 3600 for ts, _ in first.values())


def test_results_are_the_readers_own(open_store):
    store = open_store()
    write(store, "one", 0.5, 1)
    store.flush()
    (a,) = store.select([Matcher("__name__", "=", "one")])
    a.values[:] = -1.0
    (b,) = store.select([Matcher("__name__", "=", "one")])
    assert (b.values != -1.0).all()


def test_compaction_and_deletion_evict_what_they_rewrite(open_store):
    store = open_store(ooo_window_ms=10 * DAY_MS)
    ts, vals = write(store, "g", 2.5, 1)
    store.flush()
    read(store, "g")  # cached: many small chunks of the checkpoint
    store.maintain()  # closed days merged into new rows, the old ones deleted
    (labels,) = read(store, "g")
    assert read(store, "g")[labels] == (ts.tolist(), vals.tolist())
    store.delete_series([Matcher("__name__", "=", "g")], T0 + DAY_MS // 2, T0 + DAY_MS)
    keep = (ts < T0 + DAY_MS // 2) | (ts > T0 + DAY_MS)
    assert read(store, "g")[labels] == (ts[keep].tolist(), vals[keep].tolist())
    late = T0 + DAY_MS + 7  # a late sample in a closed day rewrites its chunks
    store.append(dict(labels), late, 123.0)
    store.flush()
    store.maintain()
    got_ts, got_vals = read(store, "g")[labels]
    assert late in got_ts and got_vals[got_ts.index(late)] == 123.0


def test_a_put_from_before_an_eviction_is_dropped(open_store):
    store = open_store()
    cache = chunk_cache.cache_for(store.db, store.db.conn)
    generation = cache.sync()
    store.db.conn.execute("INSERT INTO chunk_changed VALUES(42)")  # as a trigger records
    cache.sync()
    decoded = (np.arange(3, dtype=np.int64), np.ones(3))
    cache.put_many([(42, decoded)], generation)
    assert cache.get_many([42]) == {}
    cache.put_many([(42, decoded)], cache.sync())
    assert list(cache.get_many([42])) == [42]


def test_the_cache_stays_within_its_budget(open_store):
    store = open_store()
    entry = chunk_cache.entry_bytes((np.zeros(50, np.int64), np.zeros(50)))
    cache = chunk_cache.ChunkCache(store.db.conn, budget_bytes=20 * entry)
    generation = cache.sync()
    for rowid in range(100):
        cache.put_many([(rowid, (np.zeros(50, np.int64), np.zeros(50)))], generation)
    assert cache.used <= 20 * entry and len(cache.chunks) == 20
    assert list(cache.get_many([99, 0])) == [99]  # the oldest went first
    big = [(1000 + k, (np.zeros(50, np.int64), np.zeros(50))) for k in range(11)]
    cache.put_many(big, generation)  # more than half the budget
    assert cache.get_many([r for r, _ in big]) == {}


def test_what_the_cache_charges_is_what_it_holds(open_store):
    """Small chunks (a 5 s scrape's 5 minutes: 60 samples) decoded in batches, as reads
    decode them: the budget and the cache's figure must cover the memory really held, or
    the cache outgrows both."""
    store = open_store()
    blobs = {r: encode_chunk(T0 + np.arange(60, dtype=np.int64) * 5000, np.full(60, r + 0.5))
             for r in range(20_000)}
    cache = chunk_cache.ChunkCache(store.db.conn, budget_bytes=1 << 30)
    generation = cache.sync()
    gc.collect()
    tracemalloc.start()
    try:
        for at in range(0, len(blobs), 5000):
            cache.put_many(decode_missing(list(range(at, at + 5000)), blobs).items(),
                           generation)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(cache.chunks) == 20_000
    assert 0.9 < cache.used / held < 1.1, (cache.used, held)
