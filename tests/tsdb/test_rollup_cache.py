"""Decoded rollup blocks are cached between reads and dropped whenever their row changes."""

import numpy as np

from watchkeeper.tsdb import rollup_cache
from watchkeeper.tsdb.chunks import DAY_MS
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.rollups import HOUR_MS

from .test_rollups_retention import T0, as_dict, direct

DAILY = 60_000  # a sample a minute: 60 per hourly bucket


def year_ish(store, name: str, days: int, seed: int):
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(days * DAY_MS // DAILY, dtype=np.int64) * DAILY
    vals = np.round(rng.normal(size=ts.size).cumsum(), 3)
    store.append_array({"__name__": name}, ts, vals)
    return ts, vals


def read(store, name: str):
    (r,) = store.select_rollup([Matcher("__name__", "=", name)], 0, 2**62, HOUR_MS)
    return as_dict(r)


def cache(store):
    return rollup_cache.cache_for(store.db, store.db.conn)


def test_a_second_read_comes_from_the_cache_and_equals_the_first(open_store):
    store = open_store()
    ts, vals = year_ish(store, "c", 3, 1)
    store.maintain()
    first = read(store, "c")
    assert cache(store).blocks  # decoded blocks kept
    second = read(store, "c")
    assert first == second
    want = direct(ts, vals, HOUR_MS)
    assert first.keys() == want.keys()
    assert all(first[b][:2] == want[b][:2] and first[b][3:] == want[b][3:] for b in want)


def test_cached_columns_cannot_be_changed_through_a_result(open_store):
    store = open_store()
    year_ish(store, "c", 3, 2)
    store.maintain()
    (r,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    r.max[:] = -1.0  # results are copies: the cache stays intact
    (again,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    assert (again.max != -1.0).all()


def test_a_late_sample_that_rebuilds_a_day_evicts_the_cached_block(open_store):
    store = open_store(ooo_window_ms=10 * DAY_MS)
    ts, vals = year_ish(store, "late", 3, 3)
    store.maintain()
    before = read(store, "late")
    late_t = T0 + DAY_MS + 30 * 60_000 + 1  # inside a closed, rolled-up day
    assert store.append({"__name__": "late"}, late_t, 1e6)
    store.commit()
    store.flush()
    store.maintain()
    after = read(store, "late")
    bucket = T0 + DAY_MS
    assert before[bucket][1] != 1e6 and after[bucket][1] == 1e6
    assert after[bucket][3] == before[bucket][3] + 1
    order = np.argsort(np.r_[ts, late_t], kind="stable")
    want = direct(np.r_[ts, late_t][order], np.r_[vals, 1e6][order], HOUR_MS)
    assert after.keys() == want.keys()
    assert all(after[b][3:] == want[b][3:] for b in want)


def test_deleted_and_expired_blocks_leave_the_cache(open_store):
    store = open_store()
    year_ish(store, "gone", 3, 4)
    year_ish(store, "kept", 3, 5)
    store.maintain()
    read(store, "gone")
    kept = read(store, "kept")
    store.delete_series([Matcher("__name__", "=", "gone")], 0, 2**62)
    assert list(store.select_rollup([Matcher("__name__", "=", "gone")], 0, 2**62, HOUR_MS)) == []
    assert read(store, "kept") == kept
    assert all(
        key[1] in {s for s in store.index.select([Matcher("__name__", "=", "kept")])}
        for key in cache(store).blocks
    )


def test_a_rolled_back_write_keeps_the_cache_valid(open_store):
    store = open_store()
    year_ish(store, "c", 3, 6)
    store.maintain()
    first = read(store, "c")
    conn = store.db.conn
    conn.execute("BEGIN")
    conn.execute("DELETE FROM rollups")
    conn.execute("ROLLBACK")
    assert read(store, "c") == first


def test_the_cache_stays_within_its_budget():
    from watchkeeper.tsdb.rollup_blocks import DecodedBlock
    from watchkeeper.tsdb.rollup_encode import encode_block
    from watchkeeper.tsdb.rollups import aggregate

    ts = T0 + np.arange(600, dtype=np.int64) * 60_000
    block = encode_block(aggregate(ts, np.arange(600.0), 60_000), fast=True)
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE rollups(res, series_id, window, min_t, max_t, data)")
    c = rollup_cache.RollupCache(conn, budget_bytes=3 * DecodedBlock(block).nbytes)
    for i in range(5):
        c.put((60_000, i, 0), DecodedBlock(block))
    assert c.used <= c.budget and list(c.blocks) == [(60_000, i, 0) for i in (2, 3, 4)]


def test_series_share_one_buffer_per_column_but_never_overlap(open_store):
    store = open_store()
    year_ish(store, "a", 3, 7)
    year_ish(store, "b", 3, 8)
    store.maintain()
    first = {
        r.labels.get("__name__"): as_dict(r) for r in store.select_rollup([], 0, 2**62, HOUR_MS)
    }
    ra, rb = store.select_rollup([], 0, 2**62, HOUR_MS)
    for col in (ra.timestamps, ra.min, ra.max, ra.sum, ra.count, ra.last):
        col[:] = 0
    assert as_dict(rb) == first[rb.labels.get("__name__")]


def test_a_store_written_before_the_span_index_gains_it_on_open(open_store, tmp_path):
    import sqlite3

    store = open_store(tmp_path / "old")
    year_ish(store, "c", 3, 9)
    store.maintain()
    want = read(store, "c")
    store.close()
    (db,) = (tmp_path / "old").glob("*.sqlite3")
    conn = sqlite3.connect(db)
    conn.execute("DROP INDEX rollups_span")
    conn.commit()
    conn.close()
    assert read(open_store(tmp_path / "old"), "c") == want
