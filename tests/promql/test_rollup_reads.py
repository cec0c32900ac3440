"""Coarse range queries read rollups by default, and answer exactly as raw samples do."""

import struct

import numpy as np
import pytest

from watchkeeper.promql import rollup_reads
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.tsdb import rollups
from watchkeeper.tsdb.matchers import Matcher
from watchkeeper.tsdb.store import Store

MINUTE = 60_000
HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_700_006_400_000  # a midnight
STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
EXACT = {"min_over_time", "max_over_time", "count_over_time", "last_over_time",
         "present_over_time"}


def write_data(store, days: float) -> None:
    """Series whose samples sit off, and exactly on, bucket starts (and so on window ends)."""
    rng = np.random.default_rng(3)
    n = int(days * DAY / 15_000)
    on_grid = T0 + np.arange(n, dtype=np.int64) * 15_000
    off_grid = on_grid + 7
    gauge = np.round(rng.normal(1, 0.5, n), 3)
    store.append_array({"__name__": "load", "host": "off"}, off_grid, gauge)
    on = np.round(rng.normal(50, 20, n), 2)
    on[1000:1040] = STALE  # a gap
    on[4 * 240] = np.nan  # a NaN sample exactly on an hour
    store.append_array({"__name__": "load", "host": "on"}, on_grid, on)
    counter = 1e12 + np.cumsum(rng.integers(0, 1000, n)).astype(float)
    store.append_array({"__name__": "requests_total", "host": "on"}, on_grid, counter)
    floats = rng.normal(0, 1e-3, n) * np.pi  # no decimals: sums stay float sums
    store.append_array({"__name__": "load", "host": "float"}, on_grid[::4], floats[::4])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store.open(tmp_path_factory.mktemp("rollups") / "data", background=False,
                   retention_ms=10_000 * DAY, ooo_window_ms=10 * DAY)
    write_data(s, 3.6)  # three closed days in rollups, the open one from raw
    s.flush()
    s.maintain()
    yield s
    s.close()


def answers(result) -> dict:
    out = {}
    for series in result_to_api(result)["result"]:
        key = tuple(sorted(series["metric"].items()))
        out[key] = [(t, float(v)) for t, v in series["values"]]
    return out


def assert_same(fast: dict, raw: dict, exact: bool) -> None:
    assert fast.keys() == raw.keys()
    for key, points in raw.items():
        assert [p[0] for p in fast[key]] == [p[0] for p in points], key
        got, want = np.array([p[1] for p in fast[key]]), np.array([p[1] for p in points])
        if exact:
            assert got.tobytes() == want.tobytes(), key
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)


@pytest.fixture
def rollup_calls(monkeypatch):
    calls = []
    real = rollup_reads.rollup_over_time

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr("watchkeeper.promql.engine.rollup_over_time", counting)
    return calls


QUERIES = [
    (f"{fn}({sel}[{rng}])", step)
    for fn in sorted(rollup_reads.ROLLUP_FUNCTIONS - rollup_reads.COUNTER_FUNCTIONS)
    for sel in ("load", "requests_total")
    for rng, step in (("1h", HOUR), ("10m", HOUR), ("3h", HOUR), ("2h", 30 * MINUTE),
                      ("5m", 5 * MINUTE), ("1m", MINUTE))
]


@pytest.mark.parametrize(("query", "step"), QUERIES)
def test_rollup_answer_equals_raw_answer(store, query, step, rollup_calls):
    start, end = 4 * HOUR, int(3.5 * DAY)  # across closed days and into the open one
    if step == MINUTE:
        start, end = 3 * DAY - 2 * HOUR, 3 * DAY + 2 * HOUR
    fast = answers(Engine(store).range(query, T0 + start, T0 + end, step))
    raw = answers(Engine(store, rollups=False).range(query, T0 + start, T0 + end, step))
    assert rollup_calls == [True]  # the default engine answered from rollups
    assert fast
    assert_same(fast, raw, query.split("(")[0] in EXACT)


@pytest.mark.parametrize("query", [
    "max_over_time(load[1h] offset 1h)",
    "sum by (host) (count_over_time(load[2h]))",
    "avg_over_time(load[1h]) * 2 > 1",
])
def test_rollups_serve_calls_inside_larger_expressions(store, query, rollup_calls):
    fast = answers(Engine(store).range(query, T0 + DAY, T0 + 3 * DAY, HOUR))
    raw = answers(Engine(store, rollups=False).range(query, T0 + DAY, T0 + 3 * DAY, HOUR))
    assert rollup_calls == [True]
    assert_same(fast, raw, exact=False)


@pytest.mark.parametrize(("query", "start", "step"), [
    ("max_over_time(load[1h])", T0 + 4 * HOUR, 30_000),  # step finer than any rollup
    ("max_over_time(load[1h])", T0 + 4 * HOUR + 1, HOUR),  # ends off the hour
    ("max_over_time(load[90s])", T0 + 4 * HOUR, HOUR),  # range not whole minutes
    ("irate(requests_total[1h])", T0 + 4 * HOUR, HOUR),  # not an aggregate rollups keep
    ("quantile_over_time(0.5, load[1h])", T0 + 4 * HOUR, HOUR),
])
def test_other_queries_read_raw_samples(store, query, start, step, rollup_calls):
    Engine(store).range(query, start, start + 10 * step, step)
    assert True not in rollup_calls


def test_a_late_sample_is_in_the_answer_before_its_day_is_rolled_up_again(tmp_path):
    with Store.open(tmp_path / "late", background=False, ooo_window_ms=10 * DAY) as s:
        write_data(s, 2.5)
        s.maintain()
        late = T0 + DAY + 30 * MINUTE  # on a closed, rolled-up day, on the half hour
        assert s.append({"__name__": "load", "host": "off"}, late, 1e6)
        s.commit()
        s.flush()  # its chunk is on disk, not rolled up yet
        query = "max_over_time(load[1h])"
        fast = answers(Engine(s).range(query, T0 + HOUR, T0 + 2 * DAY, HOUR))
        raw = answers(Engine(s, rollups=False).range(query, T0 + HOUR, T0 + 2 * DAY, HOUR))
        assert_same(fast, raw, exact=True)
        assert max(v for _, v in fast[(("host", "off"),)]) == 1e6
        s.delete_series([Matcher("host", "=", "on")], T0 + DAY, T0 + DAY + 3 * HOUR)
        fast = answers(Engine(s).range(query, T0 + HOUR, T0 + 2 * DAY, HOUR))
        raw = answers(Engine(s, rollups=False).range(query, T0 + HOUR, T0 + 2 * DAY, HOUR))
        assert_same(fast, raw, exact=True)


def test_a_range_older_than_raw_retention_still_answers_from_rollups(tmp_path):
    kept = Store.open(tmp_path / "kept", background=False, retention_ms=10_000 * DAY)
    expired = Store.open(tmp_path / "expired", background=False, retention_ms=2 * DAY)
    for s in (kept, expired):
        write_data(s, 5.5)
        s.maintain()
    first_days = (T0 + HOUR, T0 + 2 * DAY)
    try:
        assert expired.stats()["min_time_ms"] > first_days[1]  # raw samples are gone
        # (a resolution is kept only for series with 6+ samples per bucket: not 5 m for
        # the series scraped once a minute)
        for query in ("max_over_time(load[1h])", "avg_over_time(requests_total[3h])",
                      "count_over_time(load{host!='float'}[5m])"):
            step = 5 * MINUTE if "5m" in query else HOUR
            old = answers(Engine(expired).range(query, *first_days, step))
            assert not answers(Engine(expired, rollups=False).range(query, *first_days, step))
            want = answers(Engine(kept, rollups=False).range(query, *first_days, step))
            assert old and old.keys() == want.keys()
            assert_same(old, want, exact=query.startswith(("max", "count")))
    finally:
        kept.close()
        expired.close()


def test_fine_or_unaligned_steps_pick_no_resolution():
    assert rollup_reads.pick_resolution(HOUR, 30_000, np.array([HOUR])) is None
    assert rollup_reads.pick_resolution(HOUR, HOUR, np.array([HOUR + 1])) is None
    assert rollup_reads.pick_resolution(600_000, HOUR, np.array([HOUR])) == 300_000


def test_a_series_too_sparse_for_a_resolution_at_first_answers_from_raw(tmp_path, rollup_calls):
    with Store.open(tmp_path / "young", background=False) as s:
        sparse = T0 + np.arange(0, DAY + 1, 10 * MINUTE, dtype=np.int64)  # no 5 m rollups
        dense = T0 + DAY + np.arange(1, 2 * DAY, 15_000, dtype=np.int64)
        for ts in (sparse, dense):  # the sparse day is rolled up on its own
            s.append_array({"__name__": "young"}, ts, np.round(np.cos(ts / 1e7), 2))
            s.maintain()
        query = "count_over_time(young[5m])"
        fast = answers(Engine(s).range(query, T0 + HOUR, T0 + 2 * DAY, 5 * MINUTE))
        raw = answers(Engine(s, rollups=False).range(query, T0 + HOUR, T0 + 2 * DAY,
                                                     5 * MINUTE))
        assert rollup_calls == [True]
        assert_same(fast, raw, exact=True)


@pytest.mark.parametrize(("query", "step"), [
    ("rate(requests_total[1h])", HOUR), ("increase(requests_total[10m])", HOUR),
    ("rate(requests_total[5m])", 5 * MINUTE), ("load", HOUR), ("requests_total", 5 * MINUTE),
    ("rate(requests_total[5m])", 2 * HOUR), ("increase(requests_total[5m])", 25 * MINUTE),
])
def test_rate_and_selectors_from_rollups_equal_raw(store, query, step):
    start, end = 4 * HOUR, int(3.5 * DAY)
    fast = answers(Engine(store).range(query, T0 + start, T0 + end, step))
    raw = answers(Engine(store, rollups=False).range(query, T0 + start, T0 + end, step))
    assert fast
    assert_same(fast, raw, exact=not query.startswith(("rate", "increase")))


def test_windows_apart_read_only_their_buckets(store):
    ends = T0 + np.arange(1, 40, dtype=np.int64) * 2 * HOUR  # across closed days and the open one
    matchers = [Matcher("__name__", "=", "requests_total")]
    (whole,) = store.select_rollup(matchers, int(ends[0]) - 5 * MINUTE, int(ends[-1]), 5 * MINUTE,
                                   ("count", "last"))
    (part,) = store.select_rollup(matchers, int(ends[0]) - 5 * MINUTE, int(ends[-1]), 5 * MINUTE,
                                  ("count", "last"), windows=(ends - 5 * MINUTE, ends))
    inside = np.zeros(whole.timestamps.size, bool)
    for end in ends.tolist():
        inside |= (whole.timestamps >= end - 5 * MINUTE) & (whole.timestamps <= end)
    tail = whole.timestamps >= rollups.built_through(store.db)  # aggregated from raw whole
    assert part.timestamps.tolist() == whole.timestamps[inside | tail].tolist()
    assert part.last.tobytes() == whole.last[inside | tail].tobytes()
    assert part.count.tobytes() == whole.count[inside | tail].tobytes()
    assert part.timestamps.size < whole.timestamps.size / 10  # 2 buckets of every 24
