"""Coarse range queries read rollups and agree with the raw answer."""

import numpy as np
import pytest

from watchkeeper.promql import rollup_reads
from watchkeeper.promql.engine import Engine
from watchkeeper.promql.formatting import result_to_api
from watchkeeper.tsdb.store import Store

HOUR = 3_600_000
DAY = 24 * HOUR
QUERIES = [f"{fn}(load[{rng}])" for fn in sorted(rollup_reads.ROLLUP_FUNCTIONS)
           for rng in ("1h", "10m", "3h")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store.open(tmp_path_factory.mktemp("rollups") / "data", background=False,
                   retention_ms=10_000 * DAY)
    rng = np.random.default_rng(3)
    ts = np.arange(0, 3 * DAY, 60_000, dtype=np.int64) + 7  # scrapes off the hour
    for host in ("a", "b"):
        s.append_array({"__name__": "load", "host": host}, ts,
                       np.round(rng.normal(1, 0.5, len(ts)), 3))
    s.flush()
    s.maintain()
    yield s
    s.close()


def _series(result):
    answer = result_to_api(result)["result"]
    return {tuple(sorted(x["metric"].items())): x["values"] for x in answer}


@pytest.mark.parametrize("query", QUERIES)
def test_rollup_answer_equals_raw_answer(store, query, monkeypatch):
    calls = []
    real = rollup_reads.rollup_over_time

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr("watchkeeper.promql.engine.rollup_over_time", counting)
    start, end = 4 * HOUR, 3 * DAY - HOUR
    fast = _series(Engine(store, rollups=True).range(query, start, end, HOUR))
    raw = _series(Engine(store).range(query, start, end, HOUR))
    assert calls == [True]  # the rollup path answered
    assert fast.keys() == raw.keys()
    for key, points in raw.items():
        assert [p[0] for p in fast[key]] == [p[0] for p in points]
        assert [float(p[1]) for p in fast[key]] == pytest.approx(
            [float(p[1]) for p in points], rel=1e-9)


def test_fine_or_unaligned_steps_read_raw_samples(store):
    assert rollup_reads.pick_resolution(HOUR, 30_000, np.array([HOUR])) is None
    assert rollup_reads.pick_resolution(HOUR, HOUR, np.array([HOUR + 1])) is None
    assert rollup_reads.pick_resolution(600_000, HOUR, np.array([HOUR])) == 300_000
