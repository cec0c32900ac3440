"""``watchkeeper serve`` as a subprocess: every endpoint, hostile targets, reload, restart."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import cramjam
import pytest
from serve_process import ServeProcess, TargetApp

from peers import require_service
from watchkeeper.server.remote_write import encode_write_request

pytestmark = pytest.mark.peer


def _config(app: TargetApp, redis: tuple[str, int], pg: tuple[str, int]) -> dict:
    def job(name: str, path: str, **extra: object) -> dict:
        return {"job_name": name, "metrics_path": path, "scrape_interval": "1s",
                "static_configs": [{"targets": [app.address], "labels": {"team": "core"}}],
                **extra}

    return {
        "global": {"collect_interval": "1s", "external_labels": {"site": "lab"}},
        "scrape_configs": [
            job("good", "/good", params={"module": ["web", "extra"]}, metric_relabel_configs=[
                {"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"}]),
            job("hang", "/hang", scrape_timeout="500ms"),
            job("garbage", "/garbage"),
            job("huge", "/huge", sample_limit=1000),
            job("secret", "/secret", bearer_token="s3cret-token"),
        ],
        "checks": [
            {"type": "redis", "name": "cache",
             "parameters": {"url": f"redis://{redis[0]}:{redis[1]}/0"}},
            {"type": "postgres", "name": "db", "parameters": {
                "dsn": f"postgresql://postgres:pg-pass@{pg[0]}:{pg[1]}/test"}},
            {"type": "disk", "parameters": {"path": "/"}},
        ],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    redis, pg = require_service("redis"), require_service("postgres")
    with TargetApp() as app:
        server = ServeProcess(tmp_path_factory.mktemp("serve"), _config(app, redis, pg))
        with server:
            server.wait_until(lambda: len([t for t in server.client.get(
                "/api/v1/targets").json()["data"]["activeTargets"]
                if t["health"] != "unknown"]) == 5, 30, "every target scraped once")
            yield server, app


def _targets(server: ServeProcess) -> dict[str, dict]:
    data = server.client.get("/api/v1/targets").json()["data"]["activeTargets"]
    return {t["labels"]["job"]: t for t in data}


def test_hostile_targets_are_down_with_reasons_and_the_others_keep_their_interval(served):
    server, app = served
    server.wait_until(lambda: _targets(server)["huge"]["health"] == "down", 30, "huge down")

    def reason(job: str, words: str) -> bool:
        # on a loaded machine any scrape may also miss its 1 s deadline: wait for one
        # that answered in time and was judged
        return words in (_targets(server)[job]["lastError"] or "")

    server.wait_until(lambda: reason("hang", "deadline"), 30, "hang's reason")
    server.wait_until(lambda: reason("garbage", "invalid exposition"), 30, "garbage's reason")
    server.wait_until(lambda: reason("huge", "sample limit exceeded"), 30, "huge's reason")
    targets = _targets(server)
    assert targets["good"]["health"] == "up" and targets["secret"]["health"] == "up"
    before, start = app.hits.get("/good", 0), time.monotonic()
    time.sleep(6)
    elapsed = time.monotonic() - start
    # a hanging target must not hold the others back (it would stop them for its whole
    # timeout); half the 1 s interval's scrapes leaves room for a loaded machine
    assert app.hits["/good"] - before >= int(elapsed) // 2
    ups = {r["metric"]["job"]: r["value"][1] for r in server.query("up")
           if r["metric"].get("job") != "watchkeeper"}
    assert ups == {"good": "1", "secret": "1", "hang": "0", "garbage": "0", "huge": "0"}


def test_params_reach_the_target_and_its_scrape_url(served):
    server, app = served
    assert _targets(server)["good"]["scrapeUrl"] == (
        f"http://{app.address}/good?module=web&module=extra")
    assert app.queries["/good"] == "module=web&module=extra"


def test_scraped_samples_and_report_series_are_stored(served):
    server, _ = served
    rows = server.wait_until(lambda: server.query('app_requests_total{route="/a"}'))
    labels = rows[0]["metric"]
    assert labels["job"] == "good" and labels["team"] == "core" and labels["site"] == "lab"
    assert rows[0]["value"][1] == "7"
    assert server.query('go_goroutines{job="good"}') == []  # dropped by metric relabeling
    inner = server.query('labelled{job="good"}')[0]["metric"]
    assert inner["exported_job"] == "inner" and inner["exported_instance"] == "x"
    for name, value in [("scrape_samples_scraped", "4"),
                        ("scrape_samples_post_metric_relabeling", "3")]:
        assert server.query(f'{name}{{job="good"}}')[0]["value"][1] == value
    assert server.query('scrape_duration_seconds{job="hang"}')
    added = server.query('max_over_time(scrape_series_added{job="good"}[1h])')
    assert added[0]["value"][1] == "3"


def test_host_process_and_health_samples_are_stored(served):
    server, _ = served
    assert server.wait_until(lambda: server.query("node_load1"))
    assert server.query('process_resident_memory_bytes{job="watchkeeper"}')
    status = {r["metric"]["check"]: r["value"][1]
              for r in server.wait_until(lambda: server.query("watchkeeper_health_status"))}
    assert status["cache"] == "1" and status["db"] == "1" and "watchkeeper_storage" in status


def test_health_endpoints(served):
    server, _ = served
    assert server.client.get("/health/live").json()["status"] == "pass"
    ready = server.client.get("/health/ready")
    assert ready.status_code == 200
    doc = server.client.get("/health").json()
    names = {item["componentId"] for items in doc["checks"].values() for item in items}
    assert {"cache", "db", "watchkeeper_storage"} <= names


def test_own_metrics_pass_promtool(served):
    server, _ = served
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    body = server.client.get("/metrics").content
    assert b"watchkeeper_samples_appended_total" in body
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                             check=False)
    assert checked.returncode == 0, checked.stderr


def test_status_routes_redact_secrets(served):
    server, _ = served
    text = server.client.get("/api/v1/status/config").json()["data"]["yaml"]
    assert "job_name: secret" in text
    assert "s3cret-token" not in text and "pg-pass" not in text
    assert "s3cret-token" not in server.log() and "pg-pass" not in server.log()
    tsdb = server.client.get("/api/v1/status/tsdb").json()["data"]
    assert tsdb["headStats"]["numSeries"] > 100
    openapi = server.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/write" in openapi["paths"]


def test_pushed_samples_are_queryable(served):
    server, _ = served
    now = int(time.time() * 1000)
    body = encode_write_request([({"__name__": "pushed_rw", "src": "test"}, now, 42.5)])
    sent = server.client.post("/api/v1/write", content=bytes(cramjam.snappy.compress_raw(body)),
                              headers={"Content-Encoding": "snappy",
                                       "Content-Type": "application/x-protobuf"})
    assert sent.status_code == 204
    assert server.query("pushed_rw")[0]["value"][1] == "42.5"
    bad = server.client.post("/api/v1/write", content=b"not snappy at all")
    assert bad.status_code == 400 and "invalid remote write" in bad.json()["error"]
    text = b"# TYPE pushed_text gauge\npushed_text{a=\"1\"} 3\n"
    imported = server.client.post("/api/v1/import/prometheus?extra_label=from=import",
                                  content=text)
    assert imported.status_code == 204
    assert server.query("pushed_text")[0]["metric"]["from"] == "import"
    garbage = server.client.post("/api/v1/import/prometheus", content=b"pushed_text{ 3\n")
    assert garbage.status_code == 400 and "line 1" in garbage.json()["error"]


def test_stream_over_sse_and_websocket(served):
    server, _ = served
    with server.client.stream("GET", "/api/v1/stream/sse",
                              params={"query": "up", "health": "1", "interval": "100"}) as r:
        lines = r.iter_lines()
        event = next(line for line in lines if line.startswith("data: "))
    update = json.loads(event.removeprefix("data: "))
    assert update["queries"][0]["result"]["resultType"] == "vector"
    assert "cache" in update["health"]
    tooshort = server.client.get("/api/v1/stream/sse", params={"interval": "10"})
    assert tooshort.status_code == 400
    from websockets.sync.client import connect

    with connect(server.url.replace("http", "ws") + "/api/v1/stream") as ws:
        ws.send(json.dumps({"queries": ["up"], "interval": 100}))
        assert json.loads(ws.recv(10))["type"] == "subscribed"
        first = json.loads(ws.recv(10))
        second = json.loads(ws.recv(10))
        assert first["type"] == second["type"] == "update"
        ws.send(json.dumps({"interval": 5}))
        assert "at least 100" in json.loads(ws.recv(10))["error"]


def test_reload_keeps_the_old_config_when_the_new_one_is_bad(served):
    server, _ = served
    original = server.config_path.read_text()
    try:
        server.config_path.write_text(original.replace("scrape_interval: 1s",
                                                       "scrape_interval: soon", 1))
        answer = server.client.post("/-/reload")
        assert answer.status_code == 500 and "scrape_interval" in answer.text
        assert _targets(server)["good"]["health"] == "up"
        info = server.client.get("/api/v1/status/runtimeinfo").json()["data"]
        assert info["reloadConfigSuccess"] is False
    finally:
        server.config_path.write_text(original)
    assert server.client.post("/-/reload").status_code == 200
    assert len(_targets(server)) == 5


def test_sigterm_flushes_and_kill9_restart_keeps_history(tmp_path):
    server = ServeProcess(tmp_path, {"global": {"collect_interval": "1s"}})
    with server:
        server.wait_until(lambda: server.query("node_load1"))
        now = int(time.time() * 1000)
        body = encode_write_request([({"__name__": "kept", "n": "1"}, now - 1000, 1.0),
                                     ({"__name__": "kept", "n": "1"}, now, 2.0)])
        assert server.client.post("/api/v1/write", content=bytes(
            cramjam.snappy.compress_raw(body))).status_code == 204
        time.sleep(1.5)  # the default sync policy fsyncs once a second
        server.kill9()
        server.start()
        rows = server.query("count_over_time(kept[1h])")
        assert rows and rows[0]["value"][1] == "2"
        seconds = server.terminate()
        assert seconds < 5, server.log()
        assert "store flushed and closed" in server.log()
    server.start()
    try:
        assert server.query("count_over_time(kept[1h])")[0]["value"][1] == "2"
    finally:
        server.stop()


def test_rules_evaluate_into_alerts_and_report_into_health(tmp_path):
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
        "      - alert: AlwaysFiring\n        expr: vector(1)\n"
        "      - record: wk:one\n        expr: vector(1)\n")
    config = {"global": {"evaluation_interval": "1s"}, "rule_files": ["rules.yml"],
              "checks": [{"type": "memory"}]}
    server = ServeProcess(tmp_path, config)
    with server:
        # the default rules run too (a loaded machine may fire HostLoadAboveCores)
        assert server.wait_until(lambda: [a for a in server.client.get(
            "/api/v1/alerts").json()["data"]["alerts"]
            if a["labels"]["alertname"] == "AlwaysFiring"])
        assert server.wait_until(lambda: server.query("wk:one"))
        verbose = server.client.get("/health", params={"verbose": ""}).text
        assert "watchkeeper_rules ok" in verbose and "watchkeeper_storage ok" in verbose


def test_sighup_reloads_scrape_jobs(tmp_path):
    import signal

    with TargetApp(huge_series=10) as app:
        config = {"checks": [{"type": "memory"}], "scrape_configs": []}
        server = ServeProcess(tmp_path, config)
        with server:
            assert _targets(server) == {}
            config["scrape_configs"] = [{"job_name": "late", "metrics_path": "/good",
                                         "scrape_interval": "1s",
                                         "static_configs": [{"targets": [app.address]}]}]
            server.write_config(config)
            server.proc.send_signal(signal.SIGHUP)
            server.wait_until(lambda: _targets(server)["late"]["health"] == "up", 30,
                              "the new job scraped")
            assert server.query('app_requests_total{job="late"}')
            config["scrape_configs"] = []
            server.write_config(config)
            server.proc.send_signal(signal.SIGHUP)
            # a removed target's series end at once (staleness markers), not 5 min later
            server.wait_until(lambda: not server.query('app_requests_total{job="late"}'), 30,
                              "stale series")
            assert server.query('count_over_time(app_requests_total{job="late"}[1h])')
