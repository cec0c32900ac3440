"""Query limits as Prometheus has them: a timeout that really stops the evaluation, the
sample cap, 11,000 points per series, and numbers out of range answered as 400s."""

import threading
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

from watchkeeper.promql.engine import Engine
from watchkeeper.promql.http_api import create_app
from watchkeeper.promql.limits import RESOLUTION_ERROR, TOO_MANY_SAMPLES, QueryLimits
from watchkeeper.tsdb.store import Store

T0 = 1_700_000_000


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "data", background=False)
    ts = (T0 + np.arange(0, 3600, 15)) * 1000
    for i in range(20):
        store.append_array({"__name__": "x", "i": str(i)}, ts, np.arange(len(ts), dtype=float))
    yield store
    store.close()


def _client(store, engine=None):
    return TestClient(create_app(store, engine or Engine(store)))


def _error(response, status, kind):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == kind, body
    return body["error"]


class _SlowReads:
    """The real store, read slowly: every series costs 20 ms, and reads are counted."""

    def __init__(self, store):
        self.store, self.reads = store, 0

    def select(self, matchers, start, end):
        for series in self.store.select(matchers, start, end):
            time.sleep(0.02)
            self.reads += 1
            yield series

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_timed_out_query_stops_evaluating(store):
    slow = _SlowReads(store)
    engine = Engine(slow, limits=QueryLimits(timeout_s=0.2))  # type: ignore[arg-type]
    with _client(store, engine) as c:
        # 20 series x 200 repeats: 80 s of reading if nothing stopped it
        expr = " or ".join(f'x{{i!="{k}"}}' for k in range(200))
        r = c.get("/api/v1/query", params={"query": expr, "time": T0 + 600})
        message = _error(r, 503, "timeout")
        assert message == "query timed out in expression evaluation"
        time.sleep(0.3)
        after = slow.reads
        time.sleep(0.3)
        assert slow.reads == after  # the thread stopped, it is not reading on
        assert after < 200


def test_the_timeout_parameter_shortens_the_limit(store):
    slow = _SlowReads(store)
    with _client(store, Engine(slow)) as c:  # type: ignore[arg-type]
        expr = " or ".join(f'x{{i!="{k}"}}' for k in range(200))
        r = c.get("/api/v1/query", params={"query": expr, "time": T0 + 600, "timeout": "200ms"})
        _error(r, 503, "timeout")


def test_queries_over_max_concurrency_wait_in_a_queue(store):
    release = threading.Event()
    started = []

    class Gate(Engine):
        def instant(self, query, time_ms, budget=None):
            started.append(query)
            release.wait(5)
            return super().instant(query, time_ms, budget)

    engine = Gate(store, limits=QueryLimits(max_concurrency=1))
    with _client(store, engine) as c:
        answers = []
        threads = [threading.Thread(target=lambda q=q: answers.append(
            c.get("/api/v1/query", params={"query": q, "time": T0}))) for q in ("1", "2")]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while not started and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert len(started) == 1  # the second waits for the first
        release.set()
        for t in threads:
            t.join(10)
        assert sorted(r.json()["data"]["result"][1] for r in answers) == ["1", "2"]


def test_too_many_samples_is_a_422_with_prometheus_text(store):
    engine = Engine(store, limits=QueryLimits(max_samples=1000))
    with _client(store, engine) as c:
        r = c.get("/api/v1/query", params={"query": "count_over_time(x[1h])",
                                           "time": T0 + 3600})
        assert _error(r, 422, "execution") == TOO_MANY_SAMPLES
        r = c.get("/api/v1/query", params={"query": "count_over_time(x[5m])",
                                           "time": T0 + 3600})
        assert r.status_code == 200  # 20 series x 21 samples fit


def test_max_samples_counts_the_peak_held_not_all_loaded(store):
    """As Prometheus: one side's 20 x ~21 samples are freed once its sum is computed, so two
    such sides fit under 600 at once, though 880 were loaded in all; one side of 1 h
    (20 x 240) still does not."""
    engine = Engine(store, limits=QueryLimits(max_samples=600))
    side = "sum(count_over_time(x[5m]))"
    with _client(store, engine) as c:
        r = c.get("/api/v1/query", params={"query": f"{side} + {side}", "time": T0 + 3600})
        assert r.status_code == 200, r.text
        assert r.json()["data"]["result"][0]["value"][1] == str(2 * 20 * 20)
        r = c.get("/api/v1/query", params={"query": "sum(count_over_time(x[1h]))",
                                           "time": T0 + 3600})
        assert _error(r, 422, "execution") == TOO_MANY_SAMPLES


def test_range_queries_stop_at_11000_points_per_series(store):
    with _client(store) as c:
        ok = c.get("/api/v1/query_range", params={"query": "1", "start": T0,
                                                  "end": T0 + 11_000, "step": 1})
        assert ok.status_code == 200  # 11,000 steps, as Prometheus allows
        r = c.get("/api/v1/query_range", params={"query": "1", "start": T0,
                                                 "end": T0 + 11_001, "step": 1})
        assert _error(r, 400, "bad_data") == RESOLUTION_ERROR


@pytest.mark.parametrize("expr", ["max_over_time(x[30d:1ms])", "x[5m:1ms]",
                                  "rate(x[1d:1s])"])
def test_a_subquery_too_fine_is_refused_before_allocating(store, expr):
    with _client(store) as c:
        r = c.get("/api/v1/query", params={"query": expr, "time": T0 + 600})
        assert _error(r, 422, "execution") == RESOLUTION_ERROR


def test_a_subquery_over_the_sample_cap_is_refused_before_allocating(store):
    engine = Engine(store, limits=QueryLimits(max_samples=50_000))  # grid: 90,000
    with _client(store, engine) as c:
        r = c.get("/api/v1/query_range", params={
            "query": "max_over_time(vector(1)[1h:1s])", "start": T0, "end": T0 + 86_400,
            "step": 3600})
        assert _error(r, 422, "execution") == TOO_MANY_SAMPLES


@pytest.mark.parametrize(("params", "named"), [
    ({"query": "x offset 300000000y"}, "duration out of range"),
    ({"query": "x @ 1e300"}, "timestamp out of bounds for @ modifier"),
    ({"query": "x @ -1e300"}, "timestamp out of bounds for @ modifier"),
    ({"query": "rate(x[300000000y])"}, "duration out of range"),
    ({"query": "x[1000y:1y]"}, "duration out of range"),
    ({"query": "x", "time": "1e300"}, 'invalid parameter "time"'),
    ({"query": "x", "time": "-1e19"}, 'invalid parameter "time"'),
    ({"query": "x", "time": "99999-01-01T00:00:00Z"}, 'invalid parameter "time"'),
    ({"query": "x", "timeout": "1e300"}, 'invalid parameter "timeout"'),
    ({"query": "(" * 5000 + "x" + ")" * 5000}, "nested too deeply"),
    ({"query": "-" * 5000 + "x"}, "nested too deeply"),
    ({"query": "x" + " + x" * 5000}, "nested too deeply"),
    ({"query": "sum(" * 3000 + "x" + ")" * 3000}, "nested too deeply"),
])
def test_numbers_out_of_range_and_deep_expressions_are_400s(store, params, named):
    with _client(store) as c:
        r = c.get("/api/v1/query", params={"time": T0, **params})
        assert named in _error(r, 400, "bad_data")


@pytest.mark.parametrize("params", [
    {"start": "1e300", "end": "1e301", "step": "15"},
    {"start": T0, "end": T0 + 60, "step": "1e300"},
    {"start": T0, "end": T0 + 60, "step": "300000000y"},
    {"start": "-1e300", "end": T0, "step": "15"},
])
def test_range_parameters_out_of_range_are_400s(store, params):
    with _client(store) as c:
        r = c.get("/api/v1/query_range", params={"query": "x", **params})
        _error(r, 400, "bad_data")


def test_a_deep_but_reasonable_expression_still_answers(store):
    with _client(store) as c:
        expr = "(" * 60 + "sum(x)" + " + 1)" * 60
        r = c.get("/api/v1/query", params={"query": expr, "time": T0 + 600})
        assert r.status_code == 200, r.text


def test_deriv_over_many_windows_goes_in_chunks_with_the_same_answer(store, monkeypatch):
    from watchkeeper.promql import functions_range

    engine = Engine(store, rollups=False)
    args = ("deriv(x[2m])", T0 * 1000, (T0 + 3600) * 1000, 15_000)
    whole = engine.range(*args).value
    monkeypatch.setattr(functions_range, "REGRESSION_CELLS", 50)  # a few steps a chunk
    chunked = engine.range(*args).value
    assert whole.labels == chunked.labels
    np.testing.assert_array_equal(whole.values, chunked.values)
    np.testing.assert_array_equal(whole.mask, chunked.mask)
