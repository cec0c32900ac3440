import struct

import numpy as np

from watchkeeper.tsdb.chunks import DAY_MS
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.rollup_table import BYTES as ROLLUP_BYTES
from watchkeeper.tsdb.rollups import HOUR_MS, MINUTE_MS, RESOLUTIONS, resolution_for

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
T0 = 1_700_006_400_000  # midnight UTC


def direct(ts: np.ndarray, vals: np.ndarray, res: int) -> dict[int, tuple]:
    """The obvious per-step computation the rollups must equal."""
    out: dict[int, list] = {}
    for t, v in zip(ts.tolist(), vals.tolist(), strict=True):
        if struct.pack("<d", v) == struct.pack("<d", STALE_NAN):
            continue
        out.setdefault(t - t % res, []).append(v)
    return {b: (min(vs), max(vs), sum(vs), len(vs), vs[-1]) for b, vs in out.items()}


def as_dict(r) -> dict[int, tuple]:
    return {int(t): (a, b, s, int(c), last) for t, a, b, s, c, last in zip(
        r.timestamps.tolist(), r.min.tolist(), r.max.tolist(), r.sum.tolist(),
        r.count.tolist(), r.last.tolist(), strict=True)}


def make_data(days: float, step_ms: int, seed: int, integers: bool):
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(int(days * DAY_MS / step_ms), dtype=np.int64) * step_ms
    if integers:
        vals = rng.integers(-1000, 1000, ts.size).astype(float)
    else:
        vals = np.round(rng.normal(size=ts.size).cumsum(), 3)
    vals[::501] = STALE_NAN
    return ts, vals


def test_rollups_equal_a_direct_computation_stored_and_on_the_fly(open_store):
    store = open_store()
    series = {"int": make_data(3.5, 10_000, 1, True), "dec": make_data(3.5, 10_000, 2, False)}
    for name, (ts, vals) in series.items():
        store.append_array({"__name__": "r", "kind": name}, ts, vals)
    store.maintain()
    assert store.stats()["rollup_blocks"] > 0  # the three closed days are rolled up
    for res in RESOLUTIONS:
        got = {r.labels.get("kind"): as_dict(r)
               for r in store.select_rollup([Matcher("__name__", "=", "r")], 0, 2**62, res)}
        for name, (ts, vals) in series.items():
            want = direct(ts, vals, res)
            assert got[name].keys() == want.keys()
            for bucket, (mn, mx, sm, count, last) in want.items():
                g = got[name][bucket]
                assert (g[0], g[1], g[3], g[4]) == (mn, mx, count, last)
                if name == "int":
                    assert g[2] == sm
                else:
                    assert abs(g[2] - sm) <= 1e-9 * max(1.0, abs(sm))


def test_rollup_query_range_is_clipped_to_whole_steps(open_store):
    store = open_store()
    ts, vals = make_data(2.5, 60_000, 3, True)
    store.append_array({"__name__": "r"}, ts, vals)
    store.maintain()
    (r,) = store.select_rollup([], T0 + HOUR_MS, T0 + 5 * HOUR_MS - 1, HOUR_MS)
    assert r.timestamps.tolist() == [T0 + h * HOUR_MS for h in range(1, 5)]
    assert r.count.tolist() == [60.0, 60.0, 60.0, 60.0]


def test_rollups_outlive_raw_retention(open_store):
    store = open_store(retention_ms=DAY_MS)
    ts, vals = make_data(5, 60_000, 4, True)
    store.append_array({"__name__": "old"}, ts, vals)
    store.maintain()
    (raw,) = store.select([])
    assert raw.timestamps[0] >= ts[-1] - 2 * DAY_MS  # raw older than a day is gone
    (r,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    assert as_dict(r) == direct(ts, vals, HOUR_MS)  # yet the hourly history is complete


def test_series_whose_raw_data_expired_stays_queryable_through_rollups(open_store):
    store = open_store(retention_ms=DAY_MS)
    ts, vals = make_data(3, 60_000, 8, True)
    store.append_array({"__name__": "gone"}, ts, vals)
    later = ts[-1] + 3 * DAY_MS + np.arange(10, dtype=np.int64) * 60_000
    store.append_array({"__name__": "live"}, later, np.ones(10))
    store.maintain()
    assert [str(x) for x in store.series([])] == ["gone", "live"]
    (r,) = store.select_rollup([Matcher("__name__", "=", "gone")], 0, 2**62, HOUR_MS)
    assert as_dict(r) == direct(ts, vals, HOUR_MS)


def test_resolution_for_step():
    assert resolution_for(15_000) is None
    assert resolution_for(MINUTE_MS) == MINUTE_MS
    assert resolution_for(2 * HOUR_MS) == HOUR_MS


def test_time_retention_keeps_disk_use_flat(open_store, tmp_path):
    store = open_store(tmp_path / "flat", retention_ms=2 * DAY_MS,
                       rollup_retention_ms={r: 2 * DAY_MS for r in RESOLUTIONS})
    sizes = []
    rng = np.random.default_rng(5)
    for day in range(12):
        for k in range(20):
            ts = T0 + day * DAY_MS + np.arange(1440, dtype=np.int64) * 60_000
            store.append_array({"__name__": "f", "k": str(k)}, ts,
                               np.round(rng.normal(size=1440).cumsum(), 2))
        store.maintain()
        # hourly buckets sit in blocks of 400 days, which expire whole: they grow
        hourly = store.db.conn.execute(
            f"SELECT {ROLLUP_BYTES} FROM rollups WHERE res=?", (HOUR_MS,)
        ).fetchone()[0]
        sizes.append(sum(p.stat().st_size for p in (tmp_path / "flat").rglob("*")) - hourly)
        first = min(d.timestamps[0] for d in store.select([]))
        assert first >= ts[-1] - 3 * DAY_MS
    assert max(sizes[6:]) <= 1.25 * max(sizes[3:6])


def test_retention_returns_the_pages_it_frees_to_the_file_system(open_store, tmp_path):
    store = open_store(tmp_path / "shrinks", retention_ms=None)
    rng = np.random.default_rng(8)
    ts = T0 + np.arange(6 * 1440, dtype=np.int64) * 60_000
    for k in range(20):
        store.append_array({"__name__": "s", "k": str(k)}, ts, rng.normal(size=ts.size))
    store.maintain()
    (db,) = (tmp_path / "shrinks").glob("*.sqlite3")
    before = db.stat().st_size
    store.retention_ms = DAY_MS
    store.maintain()
    assert store.db.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert db.stat().st_size < 0.6 * before


def test_size_retention_drops_oldest_days_first(open_store):
    store = open_store(max_bytes=400_000, retention_ms=None)
    rng = np.random.default_rng(6)
    ts = T0 + np.arange(10 * 1440, dtype=np.int64) * 60_000
    for k in range(10):
        store.append_array({"__name__": "s", "k": str(k)}, ts, rng.normal(size=ts.size))
    store.maintain()
    stats = store.stats()
    assert stats["chunk_bytes"] + stats["rollup_bytes"] <= 400_000
    (first, *_) = store.select([])
    assert first.timestamps[-1] == ts[-1]  # newest kept
    assert first.timestamps[0] > ts[0]  # oldest dropped


def test_size_retention_finally_trims_rollups(open_store):
    store = open_store(max_bytes=1_000, retention_ms=None)
    ts = T0 + np.arange(5 * 1440, dtype=np.int64) * 60_000
    store.append_array({"__name__": "s"}, ts, np.random.default_rng(7).normal(size=ts.size))
    store.maintain()
    stats = store.stats()
    assert stats["chunk_bytes"] + stats["rollup_bytes"] <= 1_000


def test_rollup_query_reads_only_the_columns_asked_for(open_store):
    store = open_store()
    ts, vals = make_data(2.5, 60_000, 9, True)
    store.append_array({"__name__": "r"}, ts, vals)
    store.maintain()
    (full,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    (part,) = store.select_rollup([], 0, 2**62, HOUR_MS, columns=("max", "count"))
    assert part.min is None and part.sum is None and part.last is None
    assert part.max.tolist() == full.max.tolist()
    assert part.count.tolist() == full.count.tolist()
    assert part.timestamps.tolist() == full.timestamps.tolist()


def test_damaged_rollup_block_is_a_clean_error():
    import pytest

    from watchkeeper.tsdb.errors import CorruptChunkError
    from watchkeeper.tsdb.rollup_blocks import decode_block
    from watchkeeper.tsdb.rollup_encode import encode_block
    from watchkeeper.tsdb.rollups import ALL_COLUMNS, aggregate

    ts, vals = make_data(1, 60_000, 10, False)
    block = bytearray(encode_block(aggregate(ts, vals, HOUR_MS)))
    for pos in range(0, len(block), 7):
        damaged = bytearray(block)
        damaged[pos] ^= 0x10
        try:
            decode_block(bytes(damaged), ALL_COLUMNS)
        except CorruptChunkError:
            continue
        raise AssertionError(f"flip at byte {pos} went unnoticed")
    with pytest.raises(CorruptChunkError):
        decode_block(bytes(block[:-3]), ALL_COLUMNS)


def test_deleting_a_range_keeps_the_rollups_of_other_days_past_raw_retention(open_store):
    store = open_store(retention_ms=DAY_MS)
    ts, vals = make_data(4.5, 60_000, 11, False)
    store.append_array({"__name__": "d"}, ts, vals)
    store.maintain()
    (before,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    assert before.timestamps[0] == T0  # day 0 lives on in rollups only
    gone = (T0 + 3 * HOUR_MS + 1, T0 + 5 * HOUR_MS)
    store.delete_series([Matcher("__name__", "=", "d")], *gone)
    store.maintain()
    (after,) = store.select_rollup([], 0, 2**62, HOUR_MS)
    dropped = (before.timestamps + HOUR_MS > gone[0]) & (before.timestamps <= gone[1])
    assert after.timestamps.tolist() == before.timestamps[~dropped].tolist()
    assert after.max.tolist() == before.max[~dropped].tolist()


def test_deleting_a_range_older_than_raw_data_deletes_its_rollups(open_store):
    store = open_store(retention_ms=DAY_MS)
    ts, vals = make_data(4.5, 60_000, 12, False)
    store.append_array({"__name__": "d"}, ts, vals)
    store.maintain()
    store.delete_series([Matcher("__name__", "=", "d")], 0, T0 + 2 * DAY_MS - 1)
    for res in RESOLUTIONS:
        for r in store.select_rollup([], 0, 2**62, res):
            assert r.timestamps[0] >= T0 + 2 * DAY_MS
