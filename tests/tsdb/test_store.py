import struct

import numpy as np
import pytest

from watchkeeper.tsdb.api import TimeSeriesStore
from watchkeeper.tsdb.errors import StoreClosedError
from watchkeeper.tsdb.labels import Labels
from watchkeeper.tsdb.matchers import Matcher, parse_selector

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
T0 = 1_700_000_000_000


def bits(a) -> list[int]:
    return np.asarray(a, dtype=np.float64).view(np.int64).tolist()


def all_samples(store) -> dict[str, tuple[list[int], list[int]]]:
    return {str(d.labels): (d.timestamps.tolist(), bits(d.values)) for d in store.select([])}


def test_store_is_the_abstract_contract(open_store):
    assert isinstance(open_store(), TimeSeriesStore)


def test_append_commit_select_in_time_range(open_store):
    store = open_store()
    for i in range(100):
        assert store.append({"__name__": "up", "job": "api"}, T0 + i * 1000, float(i))
        store.append({"__name__": "up", "job": "web"}, T0 + i * 1000, 1.0)
    store.commit()
    (api,) = store.select(parse_selector('up{job="api"}'), T0 + 10_000, T0 + 19_000)
    assert api.labels == Labels.of({"__name__": "up", "job": "api"})
    assert api.timestamps.tolist() == [T0 + i * 1000 for i in range(10, 20)]
    assert api.values.tolist() == [float(i) for i in range(10, 20)]
    assert [str(d.labels) for d in store.select([Matcher("__name__", "=", "up")])] == [
        'up{job="api"}', 'up{job="web"}']


def test_samples_read_back_bit_exact_across_flush_compaction_and_restart(tmp_path, open_store):
    rng = np.random.default_rng(3)
    path = tmp_path / "d"
    store = open_store(path)
    expected = {}
    ts = T0 + np.arange(20_000, dtype=np.int64) * 15_000  # ~3.5 days, several chunks
    for k in range(5):
        vals = np.round(rng.normal(size=ts.size).cumsum(), 3)
        vals[::97] = STALE_NAN
        vals[5] = -0.0
        store.append_array({"__name__": "g", "k": str(k)}, ts[:15_000], vals[:15_000])
        store.flush()
        for t, v in zip(ts[15_000:].tolist(), vals[15_000:].tolist(), strict=True):
            store.append({"__name__": "g", "k": str(k)}, t, v)
        expected[f'g{{k="{k}"}}'] = (ts.tolist(), bits(vals))
    store.commit()
    assert all_samples(store) == expected  # head + chunks
    store.flush()
    store.maintain()
    # per series: a chunk per closed day, and the open day's cut where its rolled-up hours end
    assert store.stats()["chunks"] <= 5 * 6
    assert all_samples(store) == expected  # compacted
    store.close()
    again = open_store(path)
    assert all_samples(again) == expected  # restarted
    assert again.stats()["samples"] == 5 * 20_000


def test_out_of_order_and_duplicates_are_rejected_and_counted(open_store):
    store = open_store()
    lab = {"__name__": "c"}
    assert store.append(lab, T0 + 2000, 2.0)
    assert not store.append(lab, T0 + 1000, 1.0)  # out of order
    assert not store.append(lab, T0 + 2000, 3.0)  # same time, other value
    assert not store.append(lab, T0 + 2000, 2.0)  # identical resend: ignored, not counted
    assert store.append(lab, T0 + 3000, 3.0)
    assert store.append_array(lab, np.array([T0 + 2500, T0 + 4000]), np.array([9.0, 4.0])) == 1
    assert store.stats()["rejected"] == {"out_of_order": 2, "duplicate": 1}
    store.flush()
    assert not store.append(lab, T0 + 3500, 1.0)  # older than what was persisted
    (data,) = store.select([])
    assert data.timestamps.tolist() == [T0 + 2000, T0 + 3000, T0 + 4000]


def test_out_of_order_window_accepts_late_samples_without_corrupting_chunks(open_store):
    store = open_store(ooo_window_ms=60_000)
    lab = {"__name__": "late"}
    for t in (10_000, 20_000, 30_000):
        store.append(lab, T0 + t, t / 1000)
    store.flush()
    assert store.append(lab, T0 + 15_000, 15.0)  # in window, older than persisted data
    assert store.append(lab, T0 + 25_000, 25.0)
    assert store.append(lab, T0 + 40_000, 40.0)
    assert store.append(lab, T0 + 35_000, 35.0)
    assert not store.append(lab, T0 - 60_000, 0.0)  # outside the window
    store.flush()
    store.maintain()
    (data,) = store.select([])
    assert data.timestamps.tolist() == [T0 + t * 1000 for t in (10, 15, 20, 25, 30, 35, 40)]
    assert data.values.tolist() == [10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0]


def test_series_label_names_and_values(open_store):
    store = open_store()
    store.append({"__name__": "a", "job": "x"}, T0, 1.0)
    store.append({"__name__": "b", "job": "y", "env": "prod"}, T0 + 3_600_000, 1.0)
    store.flush()
    store.append({"__name__": "c", "job": "z"}, T0 + 7_200_000, 1.0)
    assert [str(x) for x in store.series([Matcher("job", "=~", "x|y")])] == [
        'a{job="x"}', 'b{env="prod",job="y"}']
    assert [str(x) for x in store.series([], T0 + 3_000_000, T0 + 8_000_000)] == [
        'b{env="prod",job="y"}', 'c{job="z"}']
    assert store.label_names() == ["__name__", "env", "job"]
    assert store.label_names([Matcher("job", "=", "x")]) == ["__name__", "job"]
    assert store.label_values("job") == ["x", "y", "z"]
    assert store.label_values("job", [], T0 + 7_000_000) == ["z"]


def test_delete_series_range_survives_restart(tmp_path, open_store):
    path = tmp_path / "d"
    store = open_store(path)
    ts = T0 + np.arange(100, dtype=np.int64) * 1000
    store.append_array({"__name__": "d", "i": "1"}, ts, np.arange(100.0))
    store.append_array({"__name__": "d", "i": "2"}, ts, np.arange(100.0))
    store.flush()
    store.append_array({"__name__": "d", "i": "1"}, ts + 100_000, np.arange(100.0))
    assert store.delete_series([Matcher("i", "=", "1")], T0 + 50_000, T0 + 149_000) == 1
    store.close()
    store = open_store(path)
    one, two = store.select([])
    assert one.timestamps.tolist() == ts[:50].tolist() + (ts[50:] + 100_000).tolist()
    assert two.timestamps.size == 100
    store.delete_series([Matcher("i", "=", "2")])
    assert [str(x) for x in store.series([])] == ['d{i="1"}']


def test_closed_store_refuses_appends(open_store):
    store = open_store()
    store.close()
    with pytest.raises(StoreClosedError):
        store.append({"__name__": "x"}, 1, 1.0)


def test_empty_label_values_are_dropped_as_in_prometheus(open_store):
    store = open_store()
    store.append({"__name__": "x", "env": ""}, T0, 1.0)
    store.append({"__name__": "x"}, T0 + 1, 2.0)
    (data,) = store.select([Matcher("env", "=", "")])
    assert data.values.tolist() == [1.0, 2.0]


def test_head_limit_moves_samples_to_chunks_on_its_own(open_store):
    store = open_store(head_max_samples=1_000)
    ts = T0 + np.arange(5_000, dtype=np.int64) * 1000
    store.append_array({"__name__": "big"}, ts, np.arange(5_000.0))
    for i in range(5_000, 6_500):
        store.append({"__name__": "big"}, T0 + i * 1000, float(i))
    store.commit()
    stats = store.stats()
    assert stats["chunks"] >= 2 and stats["head_samples"] < 1_000
    (data,) = store.select([])
    assert data.values.tolist() == [float(i) for i in range(6_500)]


def test_concurrent_writers_with_background_sync_lose_nothing(tmp_path):
    import threading

    from watchkeeper.tsdb.store import Store

    store = Store.open(tmp_path / "d", sync_interval=0.01, checkpoint_interval=0.05,
                       maintenance_interval=0.1, head_max_samples=5_000)

    def writer(k: int) -> None:
        for i in range(3_000):
            store.append({"__name__": "thr", "k": str(k)}, T0 + i, float(i))
            if i % 500 == 0:
                store.commit()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    with Store.open(tmp_path / "d", background=False) as again:
        got = list(again.select([]))
        assert len(got) == 4
        for data in got:
            assert data.values.tolist() == [float(i) for i in range(3_000)]
        assert again.health().ok


def test_stats_of_an_empty_store(open_store):
    stats = open_store().stats()
    assert stats["series"] == 0 and stats["samples"] == 0 and stats["bytes_per_sample"] is None


def test_append_many_keeps_what_append_would_and_refuses_the_same(open_store, tmp_path):
    one, many = open_store(tmp_path / "one"), open_store(tmp_path / "many")
    samples = [({"__name__": "m", "i": str(i % 7)}, T0 + (i // 7) * 1000, float(i))
               for i in range(3_000)]
    samples += [({"__name__": "m", "i": "0"}, T0, 9.0),  # duplicate time: refused
                ({"__name__": "m", "i": "1"}, T0 - 10 ** 9, 9.0)]  # far too old: refused
    kept_one = sum(1 for s in samples if one.append(*s))
    assert many.append_many(iter(samples)) == kept_one == 3_000
    one.commit()
    many.commit()
    assert all_samples(many) == all_samples(one)
    assert one.stats()["rejected"] == many.stats()["rejected"]


def test_append_many_beside_readers_and_commits_loses_nothing(tmp_path):
    import threading

    from watchkeeper.tsdb.store import Store

    store = Store.open(tmp_path / "d", sync_interval=0.01, checkpoint_interval=0.05,
                       maintenance_interval=0.1, head_max_samples=5_000)
    done = threading.Event()

    def writer(k: int) -> None:
        for step in range(30):  # a "scrape" of 500 series at a time, then its commit
            store.append_many(({"__name__": "scr", "k": str(k), "s": str(j)}, T0 + step, 1.0)
                              for j in range(500))
            store.commit()

    def reader() -> None:
        while not done.is_set():
            list(store.select(parse_selector('{__name__="scr"}')))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    store.close()
    with Store.open(tmp_path / "d", background=False) as again:
        got = list(again.select([]))
        assert len(got) == 3 * 500
        assert all(len(d.values) == 30 for d in got)


def test_a_read_skips_a_series_forgotten_after_it_was_chosen(tmp_path):
    # a series created by a scrape whose samples have not come yet can be forgotten by
    # maintenance between a read choosing its ids and decoding them; the read goes on
    from watchkeeper.tsdb.store import Store

    with Store.open(tmp_path / "d", background=False) as store:
        store.append({"__name__": "kept"}, T0, 1.0)
        store.resolve({"__name__": "kept", "empty": "yes"})
        store.commit()
        store.flush()  # the empty series is saved: nothing keeps it any more
        reading = store.select(parse_selector('{__name__="kept"}'))
        with store._lock:
            store._forget_empty_series()
        got = list(reading)
        assert [d.labels for d in got] == [store.resolve({"__name__": "kept"}).labels]
        assert list(got[0].values) == [1.0]


def test_maintenance_merges_a_closed_day_once_and_again_only_when_it_changes(open_store):
    day = 86_400_000
    store = open_store(ooo_window_ms=2 * day)
    start = T0 - T0 % day
    ts = start + np.arange(0, day + 3_600_000, 1_000, dtype=np.int64)  # a day at 1 s
    for part in np.array_split(np.arange(ts.size), 10):  # flushed in ten pieces
        store.append_array({"__name__": "g"}, ts[part], np.sin(ts[part] / 1e6))
        store.flush()
    expected = all_samples(store)
    first = store.maintain()
    assert first["chunks_merged"] >= 10
    # the closed day is six full chunks now: nothing to merge, however often it runs
    assert store.maintain()["chunks_merged"] == 0
    assert store.db.conn.execute(
        "SELECT count(*) FROM chunks WHERE max_t < ?", (start + day,)).fetchone()[0] == 6
    # a late sample into it (a chunk overlapping the others) merges it again
    assert store.append({"__name__": "g"}, start + 500, 7.0)
    store.commit()
    store.flush()
    assert store.maintain()["chunks_merged"] == 7
    assert store.maintain()["chunks_merged"] == 0
    got = all_samples(store)
    (key,) = got
    assert start + 500 in got[key][0]
    assert len(got[key][0]) == len(expected[key][0]) + 1


def test_numpy_integer_times_find_what_python_ints_do(open_store, tmp_path):
    """Times often come from numpy arrays: bounds of np.int64 read the database too."""
    store = open_store(tmp_path / "np")
    ts = 1_700_006_400_000 + np.arange(7200, dtype=np.int64) * 1000
    store.append_array({"__name__": "g"}, ts, np.arange(ts.size, dtype=np.float64))
    store.append_array({"__name__": "g"}, ts[-1:] + 3_600_000, np.ones(1))
    store.maintain()  # the samples are in the database, the hours rolled up
    g = [Matcher("__name__", "=", "g")]
    for start, end in [(ts[10], ts[5000]), (ts[0], ts[-1])]:
        (want,) = store.select(g, int(start), int(end))
        (got,) = store.select(g, start, end)
        assert got.timestamps.tolist() == want.timestamps.tolist()
        (want_r,) = store.select_rollup(g, int(start), int(end), 60_000)
        (got_r,) = store.select_rollup(g, start, end, 60_000)
        assert got_r.sum.tolist() == want_r.sum.tolist()
        assert store.series(g, start, end) == store.series(g, int(start), int(end)) != []
