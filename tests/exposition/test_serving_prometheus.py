"""A real Prometheus scrapes our /metrics server and answers queries over what we set."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from peers import free_port, require_binary
from watchkeeper.exposition import start_http_server
from watchkeeper.metrics import CollectorRegistry, Counter, Histogram


def _query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]["result"]


def _wait_for(port: int, expr: str, deadline: float) -> list:
    while time.monotonic() < deadline:
        try:
            result = _query(port, expr)
        except OSError:
            result = []
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"Prometheus never returned a result for {expr}")


@pytest.mark.peer
def test_prometheus_scrapes_counters_and_histograms(tmp_path):
    prometheus = require_binary("prometheus")
    reg = CollectorRegistry()
    c = Counter("wk_judge_requests", "Requests", ["path"], registry=reg)
    c.labels('/a"b').inc(7)
    c.labels("/c").inc(2.5)
    h = Histogram("wk_judge_latency_seconds", "Latency", registry=reg)
    for _ in range(10):
        h.observe(0.2)
    target_port, web_port = free_port(), free_port()
    httpd, _ = start_http_server(target_port, registry=reg)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: wk\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{web_port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        up = _wait_for(web_port, 'up{job="wk"} == 1', deadline)
        assert up[0]["value"][1] == "1"
        result = _wait_for(web_port, "wk_judge_requests_total", deadline)
        values = {r["metric"]["path"]: float(r["value"][1]) for r in result}
        assert values == {'/a"b': 7.0, "/c": 2.5}
        (q,) = _wait_for(web_port, "histogram_quantile(0.5, wk_judge_latency_seconds_bucket)",
                         deadline)
        # All ten observations sit in (0.1, 0.25]: linear interpolation gives the middle.
        assert float(q["value"][1]) == pytest.approx(0.175)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        httpd.shutdown()
        httpd.server_close()
