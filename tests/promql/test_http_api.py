"""The /api/v1 app driven the way Grafana's Prometheus data source drives a server."""

import numpy as np
import pytest
from starlette.testclient import TestClient

from watchkeeper.promql.http_api import create_app
from watchkeeper.tsdb.store import Store

T0 = 1_700_000_000


@pytest.fixture
def client(tmp_path):
    store = Store.open(tmp_path / "data", background=False)
    ts = (T0 + np.arange(0, 3600, 15)) * 1000
    for job in ("api", "web"):
        for inst in ("a", "b"):
            labels = {"__name__": "http_requests_total", "job": job, "instance": inst}
            rate = 2 if job == "api" else 1
            store.append_array(labels, ts, np.arange(len(ts), dtype=np.float64) * rate)
    store.append_array({"__name__": "up", "job": "api"}, ts, np.ones(len(ts)))
    store.set_metadata("http_requests_total", "counter", "Requests served.", "")
    with TestClient(create_app(store)) as c:
        yield c
    store.close()


def _ok(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    return body["data"]


def test_health_check_query(client):
    data = _ok(client.get("/api/v1/query", params={"query": "1+1", "time": T0 + 60}))
    assert data == {"resultType": "scalar", "result": [T0 + 60, "2"]}


def test_metric_name_and_label_lookups(client):
    names = _ok(client.get("/api/v1/label/__name__/values",
                           params={"start": T0, "end": T0 + 3600}))
    assert names == ["http_requests_total", "up"]
    assert _ok(client.get("/api/v1/labels")) == ["__name__", "instance", "job"]
    assert _ok(client.post("/api/v1/labels", data={"match[]": "up"})) == ["__name__", "job"]
    values = _ok(client.get("/api/v1/label/instance/values",
                            params={"match[]": 'http_requests_total{job="web"}'}))
    assert values == ["a", "b"]


def test_series_lookup_with_match(client):
    data = _ok(client.get("/api/v1/series", params=[("match[]", "up"),
                                                    ("match[]", '{instance="a"}'),
                                                    ("start", T0), ("end", T0 + 60)]))
    assert {"__name__": "up", "job": "api"} in data
    assert sum(1 for s in data if s.get("instance") == "a") == 2
    bad = client.get("/api/v1/series")
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"


def test_range_query_with_step_alignment_as_grafana_sends_it(client):
    step = 60
    start = (T0 + 1000) // step * step
    end = (T0 + 2000) // step * step
    data = _ok(client.post("/api/v1/query_range", data={
        "query": "sum by (job) (rate(http_requests_total[5m]))",
        "start": start, "end": end, "step": step}))
    assert data["resultType"] == "matrix"
    assert [s["metric"] for s in data["result"]] == [{"job": "api"}, {"job": "web"}]
    for series in data["result"]:
        stamps = [p[0] for p in series["values"]]
        assert stamps == list(range(start, end + 1, step))
        assert all(isinstance(p[1], str) for p in series["values"])
    api = float(data["result"][0]["values"][0][1])
    web = float(data["result"][1]["values"][0][1])
    assert api == pytest.approx(2 * web)


def test_instant_vector_shape(client):
    data = _ok(client.get("/api/v1/query", params={"query": "up", "time": T0 + 100}))
    assert data == {"resultType": "vector", "result": [
        {"metric": {"__name__": "up", "job": "api"}, "value": [T0 + 100, "1"]}]}


def test_errors_have_prometheus_shape(client):
    r = client.get("/api/v1/query", params={"query": "sum(", "time": T0})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert "1:5: parse error" in body["error"]
    r = client.get("/api/v1/query", params={"query": "up + on() http_requests_total",
                                            "time": T0 + 100})
    assert r.status_code == 422 and r.json()["errorType"] == "execution"
    r = client.get("/api/v1/query_range", params={"query": "up", "start": T0, "end": T0 + 10,
                                                  "step": "0"})
    assert r.status_code == 400 and "step" in r.json()["error"]
    r = client.get("/api/v1/query", params={"query": "up", "time": "yesterday"})
    assert r.status_code == 400 and '"time"' in r.json()["error"]


def test_metadata_buildinfo_exemplars_and_format_query(client):
    meta = _ok(client.get("/api/v1/metadata"))
    assert meta["http_requests_total"] == [
        {"type": "counter", "help": "Requests served.", "unit": ""}]
    assert "version" in _ok(client.get("/api/v1/status/buildinfo"))
    assert _ok(client.get("/api/v1/query_exemplars", params={"query": "up"})) == []
    formatted = _ok(client.get("/api/v1/format_query",
                               params={"query": "sum(rate(x[5m]))by(job)"}))
    assert formatted == "sum by (job) (rate(x[5m]))"


def test_rfc3339_times_are_accepted(client):
    data = _ok(client.get("/api/v1/query", params={"query": "up",
                                                   "time": "2023-11-14T22:15:00Z"}))
    assert data["result"][0]["value"][0] == 1_700_000_100


def test_a_query_over_its_timeout_answers_with_a_timeout_error(tmp_path):
    import threading

    from watchkeeper.promql.engine import Engine
    from watchkeeper.promql.limits import QueryLimits

    release = threading.Event()

    class SlowEngine(Engine):  # stuck where the evaluator cannot check its deadline
        def instant(self, query, time_ms, budget=None):
            release.wait(5)
            return super().instant(query, time_ms, budget)

    store = Store.open(tmp_path / "slow", background=False)
    try:
        engine = SlowEngine(store, limits=QueryLimits(timeout_s=0.2))
        with TestClient(create_app(store, engine)) as c:
            r = c.get("/api/v1/query", params={"query": "1", "time": T0})
            release.set()
        assert r.status_code == 503
        assert r.json()["errorType"] == "timeout"
    finally:
        store.close()


@pytest.mark.parametrize("path,params", [
    ("/api/v1/series", {"match[]": "up"}),
    ("/api/v1/labels", {"match[]": "up"}),
    ("/api/v1/label/job/values", {"match[]": "up"}),
])
def test_series_and_label_lookups_answer_within_the_query_timeout(tmp_path, path, params):
    import threading
    import time

    from watchkeeper.promql.engine import Engine
    from watchkeeper.promql.limits import QueryLimits

    release = threading.Event()

    class SlowStore(Store):  # an index read that takes longer than any client waits
        def series(self, *args, **kwargs):
            release.wait(5)
            return super().series(*args, **kwargs)

        def label_names(self, *args, **kwargs):
            release.wait(5)
            return super().label_names(*args, **kwargs)

        def label_values(self, *args, **kwargs):
            release.wait(5)
            return super().label_values(*args, **kwargs)

    store = SlowStore.open(tmp_path / "slow", background=False)
    try:
        engine = Engine(store, limits=QueryLimits(timeout_s=0.2))
        with TestClient(create_app(store, engine)) as c:
            began = time.monotonic()
            r = c.get(path, params=params)
            took = time.monotonic() - began
            release.set()
            assert r.status_code == 503, r.text
            assert r.json()["errorType"] == "timeout"
            assert took < 4  # answered at the timeout, not when the read ended
            # and with time enough, the same lookup answers
            assert c.get(path, params={**params, "timeout": "10s"}).status_code == 200
    finally:
        store.close()
