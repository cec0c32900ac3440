"""The open day's finished hours are rolled up, and answers stay those of raw samples
whatever arrives after: late samples, out-of-order ones, a series lagging behind."""

import numpy as np
import pytest
from test_rollup_reads import DAY, HOUR, MINUTE, T0, answers, assert_same

from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import compaction, rollups
from watchkeeper.tsdb.store import Store

QUERIES = [
    ("rate(requests_total[5m])", 5 * MINUTE),
    ("increase(requests_total[1h])", HOUR),
    ("max_over_time(load[1h])", HOUR),
    ("count_over_time(load[1m])", MINUTE),
    ("sum_over_time(load[5m])", 5 * MINUTE),
    ("load", 5 * MINUTE),
]


def write(store, start: int, end: int, every: int = 1_000) -> None:
    """A counter with resets and a gauge, one sample per ``every`` ms in [start, end)."""
    ts = np.arange(start, end, every, dtype=np.int64)
    rng = np.random.default_rng(start % 1_000_003)
    counter = np.cumsum(rng.integers(0, 100, ts.size)).astype(float)
    counter[ts.size // 2 :] -= counter[ts.size // 2]  # a reset
    store.append_array({"__name__": "requests_total", "job": "a"}, ts, counter)
    store.append_array({"__name__": "load", "job": "a"}, ts, np.round(rng.normal(1, 0.3,
                                                                        ts.size), 3))


def assert_rollups_equal_raw(store, start: int, end: int) -> None:
    for query, step in QUERIES:
        fast = answers(Engine(store).range(query, start, end, step))
        raw = answers(Engine(store, rollups=False).range(query, start, end, step))
        assert fast, query
        assert_same(fast, raw, exact=query.startswith(("max", "count", "load")))


def buckets(store, res: int) -> np.ndarray:
    ids = [s.id for s in store.head.by_id.values()]
    views = rollups.read(store.db, ids, res, T0, T0 + 2 * DAY)
    return np.unique(np.concatenate([np.empty(0, np.int64)] + [
                                     v.block.stamps[v.lo : v.hi] if v.block.grid is None
                                     else v.block.grid[0] + np.arange(v.lo, v.hi)
                                     * v.block.grid[1] for vs in views.values()
                                     for v in vs]))


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "data", background=False, ooo_window_ms=DAY) as s:
        write(s, T0 + DAY - 2 * HOUR, T0 + DAY + 2 * HOUR + 20 * MINUTE)  # today: 2h20m
        s.flush()
        s.maintain()
        yield s


def test_the_open_days_finished_hours_are_rolled_up(store):
    assert rollups.built_through(store.db) == T0 + DAY + 2 * HOUR
    minutes = buckets(store, MINUTE)
    assert minutes.max() == T0 + DAY + 2 * HOUR - MINUTE  # the open hour is not
    assert minutes.size == 4 * 60
    assert buckets(store, HOUR).tolist() == [T0 + DAY + h * HOUR for h in range(-2, 2)]
    # no chunk before the open hour waits to be rolled up
    assert not store.db.conn.execute(
        "SELECT count(*) FROM chunks WHERE rolled=0 AND max_t < ?", (T0 + DAY + 2 * HOUR,)
    ).fetchone()[0]
    assert_rollups_equal_raw(store, T0 + DAY - HOUR, T0 + DAY + 2 * HOUR + 15 * MINUTE)


def test_later_hours_are_rolled_up_as_they_finish(store):
    write(store, T0 + DAY + 2 * HOUR + 20 * MINUTE, T0 + DAY + 3 * HOUR + 10 * MINUTE)
    store.maintain()
    assert rollups.built_through(store.db) == T0 + DAY + 3 * HOUR
    assert buckets(store, MINUTE).max() == T0 + DAY + 3 * HOUR - MINUTE
    assert_rollups_equal_raw(store, T0 + DAY - HOUR, T0 + DAY + 3 * HOUR + 5 * MINUTE)


def test_an_out_of_order_sample_into_a_rolled_up_hour_is_answered_then_rolled_in(store):
    late = T0 + DAY + HOUR + 30 * MINUTE + 500  # between two samples of a finished hour
    assert store.append({"__name__": "load", "job": "a"}, late, 1e6)
    assert store.append({"__name__": "requests_total", "job": "a"}, late, 0.0)  # a reset
    store.commit()
    span = (T0 + DAY - HOUR, T0 + DAY + 2 * HOUR + 15 * MINUTE)
    assert_rollups_equal_raw(store, *span)  # still in the head
    store.flush()
    assert_rollups_equal_raw(store, *span)  # in an unrolled chunk
    store.maintain()
    assert_rollups_equal_raw(store, *span)  # rolled in
    fast = answers(Engine(store).range("max_over_time(load[1h])", *span, HOUR))
    assert max(v for _, v in fast[(("job", "a"),)]) == 1e6


def test_a_series_behind_the_others_is_answered_before_its_hour_is_rolled_up(store):
    # a series scraped late: its samples for a finished hour reach the store after the
    # hour was rolled up for the others, in order for it
    write(store, T0 + DAY + 2 * HOUR + 20 * MINUTE, T0 + DAY + 3 * HOUR + 5 * MINUTE)
    lag = np.arange(T0 + DAY, T0 + DAY + 2 * HOUR + 50 * MINUTE, 1_000, dtype=np.int64)
    store.append_array({"__name__": "load", "job": "lagging"}, lag[: lag.size // 2],
                       np.ones(lag.size // 2))
    store.flush()
    store.maintain()  # rolls up through T0 + DAY + 3h; "lagging" is at T0 + DAY + 1h25m
    store.append_array({"__name__": "load", "job": "lagging"}, lag[lag.size // 2 :],
                       np.full(lag.size - lag.size // 2, 2.0))
    span = (T0 + DAY - HOUR, T0 + DAY + 3 * HOUR)
    assert_rollups_equal_raw(store, *span)  # in the head
    store.flush()
    assert_rollups_equal_raw(store, *span)  # in a chunk reaching into a finished hour
    store.maintain()
    assert_rollups_equal_raw(store, *span)
    got = answers(Engine(store).range("count_over_time(load{job='lagging'}[1h])", *span, HOUR))
    assert got[(("job", "lagging"),)][-2:] == [((T0 + DAY + 2 * HOUR) / 1000, 3601.0),
                                                ((T0 + DAY + 3 * HOUR) / 1000, 3000.0)]


def test_compacting_the_open_day_keeps_its_rolled_hours_rolled(store):
    for k in range(40):  # many small checkpoints: the open day is compacted early
        t = T0 + DAY + 2 * HOUR + 20 * MINUTE + k * 30_000
        write(store, t, t + 30_000)
        store.flush()
    assert compaction.compact(store.db, store.head.max_t)["chunks_merged"] > 40
    # the merged chunks holding only rolled-up samples are still marked rolled up
    assert store.db.conn.execute(
        "SELECT min(min_t) FROM chunks WHERE rolled=0").fetchone()[0] >= T0 + DAY + 2 * HOUR
    store.maintain()
    assert_rollups_equal_raw(store, T0 + DAY - HOUR, T0 + DAY + 2 * HOUR + 35 * MINUTE)


def test_a_series_starting_late_in_an_hour_keeps_the_rollups_its_spacing_earns(tmp_path):
    with Store.open(tmp_path / "late-start", background=False) as s:
        # a 60 s scrape from two minutes before the hour ends: dense enough for 1 h buckets
        ts = T0 + HOUR - 2 * MINUTE + np.arange(0, 3 * HOUR, MINUTE, dtype=np.int64)
        s.append_array({"__name__": "up"}, ts[:3], np.ones(3))  # through T0 + HOUR
        s.flush()
        s.maintain()
        s.append_array({"__name__": "up"}, ts[3:], np.ones(ts.size - 3))
        s.flush()
        s.maintain()
        assert buckets(s, HOUR)[0] == T0  # from its first hour on
        assert buckets(s, 5 * MINUTE).size == 0  # 5 samples a bucket: too sparse
