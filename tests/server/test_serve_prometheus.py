"""A real Prometheus scrapes serve's /metrics and remote-writes into it."""

from __future__ import annotations

import pytest
from serve_process import ServeProcess

from prometheus_runner import PrometheusRunner

pytestmark = pytest.mark.peer


def test_prometheus_scrapes_it_and_remote_writes_into_it(tmp_path):
    with ServeProcess(tmp_path / "wk", {"global": {"collect_interval": "1s"}}) as server:
        host_port = server.url.removeprefix("http://")
        config = PrometheusRunner.scrape_config([host_port], job="wk")
        config["remote_write"] = [{"url": f"{server.url}/api/v1/write",
                                   "queue_config": {"batch_send_deadline": "1s"}}]
        with PrometheusRunner(tmp_path / "prom", config=config) as prom:
            prom.wait_until(lambda: prom.query('up{job="wk"} == 1'), 60, what="wk scraped")
            rows = prom.query('watchkeeper_samples_appended_total{job="wk"}')
            assert rows and float(rows[0]["value"][1]) > 0
            # what Prometheus scraped from us comes back to us by remote write
            written = server.wait_until(
                lambda: server.query(f'up{{job="wk", instance="{host_port}"}}'), 60,
                "remote-written samples")
            assert written[0]["value"][1] == "1"
            assert server.wait_until(lambda: server.query(
                'prometheus_build_info{job="wk"} or scrape_duration_seconds{job="wk"}'))
