"""Status routes of a real ``watchkeeper serve``: dropped targets, TSDB cardinality, the host."""

from __future__ import annotations

import threading

import httpx
import pytest
from serve_process import ServeProcess, TargetApp

pytestmark = pytest.mark.peer


def _config(app: TargetApp) -> dict:
    return {
        "scrape_configs": [
            {"job_name": "web", "scrape_interval": "1s",
             "static_configs": [{"targets": [app.address, "10.0.0.9:80"],
                                 "labels": {"team": "core"}}],
             "metrics_path": "/good",
             "relabel_configs": [{"source_labels": ["__address__"], "regex": "10\\..*",
                                  "action": "drop"}]},
            {"job_name": "db", "scrape_interval": "1s",
             "static_configs": [{"targets": [app.address], "labels": {"env": "test"}}],
             "relabel_configs": [{"source_labels": ["env"], "regex": "prod",
                                  "action": "keep"}]},
        ],
        "checks": [{"type": "memory"}],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with TargetApp(huge_series=10) as app:
        server = ServeProcess(tmp_path_factory.mktemp("status"), _config(app))
        with server:
            server.wait_until(lambda: server.client.get("/api/v1/targets").json()[
                "data"]["activeTargets"][0]["health"] == "up", 30, "the web target up")
            yield server, app


def _targets(server: ServeProcess, **params: str) -> dict:
    body = server.client.get("/api/v1/targets", params=params).json()
    assert body["status"] == "success"
    return body["data"]


def test_targets_dropped_by_relabeling_show_their_discovered_labels(served) -> None:
    server, app = served
    data = _targets(server)
    assert [t["labels"]["job"] for t in data["activeTargets"]] == ["web"]
    dropped = sorted(data["droppedTargets"], key=lambda t: t["discoveredLabels"]["job"])
    assert dropped == [
        {"discoveredLabels": {"__address__": app.address, "__metrics_path__": "/metrics",
                              "__scheme__": "http", "__scrape_interval__": "1s",
                              "__scrape_timeout__": "1s", "env": "test", "job": "db"}},
        {"discoveredLabels": {"__address__": "10.0.0.9:80", "__metrics_path__": "/good",
                              "__scheme__": "http", "__scrape_interval__": "1s",
                              "__scrape_timeout__": "1s", "job": "web", "team": "core"}},
    ]
    assert data["droppedTargetCounts"] == {"web": 1, "db": 1}
    assert data["activeTargets"][0]["discoveredLabels"]["__address__"] == app.address


def test_targets_state_and_scrape_pool_filters(served) -> None:
    server, _ = served
    only_dropped = _targets(server, state="dropped")
    assert only_dropped["activeTargets"] == [] and len(only_dropped["droppedTargets"]) == 2
    only_active = _targets(server, state="active")
    assert only_active["droppedTargets"] == [] and len(only_active["activeTargets"]) == 1
    db = _targets(server, scrapePool="db")
    assert db["activeTargets"] == []
    assert [t["discoveredLabels"]["job"] for t in db["droppedTargets"]] == ["db"]


def test_tsdb_status_ranks_label_cardinality(served) -> None:
    server, _ = served
    body = "".join(f'wk_known_metric{{wk_shard="{i}",wk_zone="{"ab"[i % 2]}"}} 1\n'
                   for i in range(7))
    assert server.client.post("/api/v1/import/prometheus",
                              content=body.encode()).status_code == 204
    data = server.wait_until(lambda: _tsdb_with(server, "wk_known_metric"), 30, "import")
    metrics = {e["name"]: e["value"] for e in data["seriesCountByMetricName"]}
    assert metrics["wk_known_metric"] == 7
    values = {e["name"]: e["value"] for e in data["labelValueCountByLabelName"]}
    assert values["wk_shard"] == 7 and values["wk_zone"] == 2
    memory = {e["name"]: e["value"] for e in data["memoryInBytesByLabelName"]}
    assert memory["wk_shard"] == 7 and memory["wk_zone"] == 2  # one byte per distinct value
    pairs = {e["name"]: e["value"] for e in data["seriesCountByLabelValuePair"]}
    assert pairs["wk_zone=a"] == 4 and pairs["wk_zone=b"] == 3 and pairs["wk_shard=6"] == 1
    assert data["headStats"]["numLabelPairs"] >= 7 + 2 + 1
    for key in ("seriesCountByMetricName", "labelValueCountByLabelName",
                "memoryInBytesByLabelName", "seriesCountByLabelValuePair"):
        counts = [e["value"] for e in data[key]]
        assert counts == sorted(counts, reverse=True), key
    top3 = server.client.get("/api/v1/status/tsdb", params={"limit": 3}).json()["data"]
    assert all(len(top3[key]) == 3 for key in ("seriesCountByMetricName",
                                               "seriesCountByLabelValuePair"))
    for bad in ("0", "-1", "x"):
        answer = server.client.get("/api/v1/status/tsdb", params={"limit": bad})
        assert answer.status_code == 400 and answer.json()["errorType"] == "bad_data"


def _tsdb_with(server: ServeProcess, metric: str) -> dict | None:
    data = server.client.get("/api/v1/status/tsdb", params={"limit": 10000}).json()["data"]
    return data if any(e["name"] == metric for e in data["seriesCountByMetricName"]) else None


def test_host_status_is_the_stats_summary_and_never_blocks_the_server(served) -> None:
    server, _ = served
    answers: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: answers.append(httpx.get(
        f"{server.url}/api/v1/status/host", params={"interval": 5, "top": 2}, timeout=60)))
    slow.start()
    try:
        # while one request waits out its interval, the server keeps answering others
        assert server.client.get("/-/healthy").status_code == 200
        assert slow.is_alive()
    finally:
        slow.join(60)
    data = answers[0].json()["data"]
    assert data["interval_seconds"] >= 5
    assert {"cpu", "memory", "swap", "load", "filesystems", "disk_io", "network",
            "processes"} <= set(data)
    assert len(data["processes"]["by_memory"]) == 2
    for params in ({"interval": "0"}, {"interval": "61"}, {"interval": "nan"},
                   {"top": "-1"}, {"top": "many"}):
        answer = server.client.get("/api/v1/status/host", params=params)
        assert answer.status_code == 400, params
        assert next(iter(params)) in answer.json()["error"]


def test_host_status_is_in_the_openapi_document(served) -> None:
    server, _ = served
    paths = server.client.get("/api/v1/openapi.json").json()["paths"]
    params = {p["name"] for p in paths["/api/v1/status/host"]["get"]["parameters"]}
    assert params == {"interval", "top"}
