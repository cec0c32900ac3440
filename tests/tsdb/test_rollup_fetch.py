"""Reading the stored blocks of many series at once gives each series the buckets its own
raw samples make, however many statements the read takes."""

import numpy as np

from watchkeeper.tsdb import rollup_cache, rollups
from watchkeeper.tsdb.matchers import Matcher

from .test_rollups_retention import T0, as_dict, direct

MINUTE = rollups.MINUTE_MS


def test_blocks_of_more_series_than_one_statement_fetches_equal_raw(open_store):
    store = open_store()
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(0, 2 * 3_600_000, 10_000, dtype=np.int64)
    want = {}
    for k in range(450):  # the blocks are fetched 400 to a statement
        vals = rng.integers(-1000, 1000, ts.size).astype(float)  # sums exact in any order
        store.append_array({"__name__": "g", "k": str(k)}, ts, vals)
        want[str(k)] = direct(ts, vals, MINUTE)
    store.append_array({"__name__": "later"}, np.array([T0 + 3 * 3_600_000]), np.array([1.0]))
    store.maintain()
    assert rollups.built_through(store.db) > int(ts[-1])  # every bucket is stored
    for _ in range(2):  # from the database, then as the cache kept them
        got = {r.labels.get("k"): as_dict(r) for r in store.select_rollup(
            [Matcher("__name__", "=", "g")], T0, T0 + 2 * 3_600_000 - 1, MINUTE)}
        assert got == want


def test_a_block_deleted_between_finding_and_fetching_is_left_out(open_store, monkeypatch):
    store = open_store()
    ts = T0 + np.arange(0, 3_600_000, 10_000, dtype=np.int64)
    for name in ("a", "b"):
        store.append_array({"__name__": name}, ts, np.arange(ts.size, dtype=float))
    store.append_array({"__name__": "later"}, np.array([T0 + 2 * 3_600_000]), np.array([1.0]))
    store.maintain()
    ids = sorted(store.index.select([Matcher("__name__", "=~", "a|b")]))
    gone = ids[0]
    cache = rollup_cache.cache_for(store.db, store.db.conn)
    real_sync = cache.sync

    def sync_then_delete() -> None:  # as another connection's retention would, meanwhile
        real_sync()
        store.db.conn.execute("DELETE FROM rollups WHERE series_id=?", (gone,))

    monkeypatch.setattr(cache, "sync", sync_then_delete)
    found = rollups.read(store.db, ids, MINUTE, T0, T0 + 3_600_000)
    assert set(found) == {ids[1]}
    assert sum(v.size for v in found[ids[1]]) == 60
