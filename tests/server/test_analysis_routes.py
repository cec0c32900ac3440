"""``/api/v1/analysis/*`` on the whole server app: answers from the store, 400s that name
the parameter, never a 5xx."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import served_app

NOW = int(time.time()) * 1000 // 60_000 * 60_000
MIN = 60_000


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    global NOW  # when the data is planted, not when the module was collected
    NOW = int(time.time()) * 1000 // 60_000 * 60_000
    with served_app(tmp_path_factory.mktemp("analysis")) as (client, service):
        store = service.store
        ts = np.arange(NOW - 600 * MIN, NOW + 1, MIN, dtype=np.int64)
        rng = np.random.default_rng(0)
        for i in range(6):
            y = 100 + rng.normal(0, 2, len(ts))
            if i == 4:
                y[400:] += 40
            store.append_array({"__name__": "latency", "route": f"/r{i}"}, ts, y)
        fs_ts = np.arange(NOW - 3 * 86400_000, NOW + 1, 5 * MIN, dtype=np.int64)
        days = (fs_ts - fs_ts[0]) / 86400_000
        base = {"mountpoint": "/", "fstype": "ext4", "device": "sda1"}
        store.append_array({"__name__": "node_filesystem_size_bytes", **base}, fs_ts,
                           np.full(len(fs_ts), 100e9))
        store.append_array({"__name__": "node_filesystem_avail_bytes", **base}, fs_ts,
                           100e9 - (20e9 + 10e9 * days))
        store.append_array({"__name__": "queue_depth"}, ts, 10 + 0.5 * np.arange(len(ts)))
        client.service = service  # type: ignore[attr-defined]
        yield client


def test_changes_ranks_the_series_that_stepped(client):
    at = (NOW - 600 * MIN + 400 * MIN) // 1000
    body = client.get("/api/v1/analysis/changes",
                      params={"at": at, "window": "100m", "match": "latency"}).json()
    assert body["status"] == "success"
    assert body["data"][0]["labels"]["route"] == "/r4"
    assert abs(body["data"][0]["changed_at"] - at) <= 60
    assert body["events"] == []  # the events of the window beside the series: none planted


def test_capacity_lists_filesystems(client):
    body = client.get("/api/v1/analysis/capacity").json()
    [fs] = body["data"]
    assert fs["labels"]["mountpoint"] == "/"
    assert fs["seconds"] / 86400 == pytest.approx(5, rel=0.15)  # 50 GB left at 10 GB/day
    # less than a day of history: nothing to say yet
    assert client.get("/api/v1/analysis/capacity", params={"lookback": "10h"}).json()[
        "data"] == []


def test_forecast_gives_values_interval_and_crossing(client):
    body = client.get("/api/v1/analysis/forecast", params={
        "query": "queue_depth", "lookback": "10h", "horizon": "2h", "method": "linear",
        "threshold": "400"}).json()
    [f] = body["data"]
    assert f["method"] == "linear" and len(f["values"]) == 24
    # 0.5 per minute from 310 now: 400 in 180 minutes, beyond a 2 h horizon
    assert f["crossing"] is None
    assert f["values"][-1] == pytest.approx(310 + 60, rel=0.05)


def test_anomalies_scores_each_series(client):
    body = client.get("/api/v1/analysis/anomalies", params={
        "query": "latency", "window": "10h", "step": "1m"}).json()
    assert body["data"][0]["labels"]["route"] == "/r4"
    assert body["data"][0]["max_score"] >= 0.5


@pytest.mark.parametrize("path, params, names", [
    ("/api/v1/analysis/changes", {"at": "yesterday"}, "'at'"),
    ("/api/v1/analysis/changes", {"window": "0s"}, "'window'"),
    ("/api/v1/analysis/changes", {"top": "-1"}, "'top'"),
    ("/api/v1/analysis/changes", {"match": "latency{"}, "parse error"),
    ("/api/v1/analysis/forecast", {}, "'query'"),
    ("/api/v1/analysis/forecast", {"query": "x", "method": "magic"}, "'method'"),
    ("/api/v1/analysis/forecast", {"query": "x", "threshold": "high"}, "'threshold'"),
    ("/api/v1/analysis/anomalies", {"query": "x", "window": "30d", "step": "1s"}, "11,000"),
    ("/api/v1/analysis/plan", {"target": "2"}, "'target'"),
    ("/api/v1/analysis/plan", {"target": "most"}, "'target'"),
    ("/api/v1/analysis/plan", {"window": "1d) or up[5m"}, "'window'"),
])
def test_bad_parameters_are_400s_naming_them(client, path, params, names):
    r = client.get(path, params=params)
    assert r.status_code == 400, r.text
    assert names in r.json()["error"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(["changes", "capacity", "forecast", "anomalies", "plan",
                              "scores"]),
       params=st.dictionaries(
           st.sampled_from(["at", "window", "top", "match", "query", "method", "threshold",
                            "time", "lookback", "horizon", "end", "step", "target"]),
           st.one_of(st.text(max_size=30), st.sampled_from(
               ["1h", "0", "-5m", "1e308", "nan", "latency", "{", "99999999999999999999",
                "2026-12-01T00:00:00Z", "holt_winters", "sum(latency)"])),
           max_size=5))
def test_no_input_gets_a_5xx(client, route, params):
    r = client.get(f"/api/v1/analysis/{route}", params=params)
    assert r.status_code < 500, (params, r.text)


def test_scores_lists_the_servers_latest_top_series(client):
    from watchkeeper.analysis.streaming import WARMUP

    watch = client.service.analysis
    assert watch is not None and "up" in " ".join(watch.queries)  # the dashboards' queries
    watch.stop()  # its timer would race the ticks below
    watch.queries = ["latency"]
    for k in range(400 - WARMUP - 5, 402):  # route /r4 steps up by 20 sigma at 400
        watch.score_tick(NOW - 600 * MIN + k * MIN)
    body = client.get("/api/v1/analysis/scores").json()
    top = body["data"][0]
    assert top["labels"]["route"] == "/r4" and top["score"] >= 0.5 and top["expr"] == "latency"


def test_plan_gives_growth_headroom_and_the_target_date(client):
    body = client.get("/api/v1/analysis/plan", params={"target": "0.5"}).json()
    [disk] = [r for r in body["data"]["resources"] if r["resource"] == "disk"]
    assert disk["growth_per_day"] == pytest.approx(10e9, rel=0.05)
    assert disk["target_crossed_at"] is not None  # 50 GB used of 100: at the target now
    assert set(body["data"]["hot_spots"]) == {"routes", "queries", "caches"}
    assert body["data"]["hints"] == []
