"""/api/v1/metadata and /api/v1/targets/metadata against a real Prometheus 2.42 scraping
the same targets (text format and OpenMetrics)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from serve_process import ServeProcess

from peers import free_port
from prometheus_runner import PrometheusRunner

pytestmark = pytest.mark.peer

TEXT = b"""# HELP app_requests_total Requests served.
# TYPE app_requests_total counter
app_requests_total{code="200"} 7
# HELP app_temperature Temperature with a \\\\ backslash and a \\n newline.
# TYPE app_temperature gauge
app_temperature 21.5
# HELP app_latency_seconds Latency.
# TYPE app_latency_seconds histogram
app_latency_seconds_bucket{le="0.1"} 1
app_latency_seconds_bucket{le="+Inf"} 2
app_latency_seconds_sum 0.3
app_latency_seconds_count 2
# TYPE app_rpc_seconds summary
app_rpc_seconds{quantile="0.5"} 0.1
app_rpc_seconds_sum 1
app_rpc_seconds_count 4
# HELP app_only_help Only a help line.
app_only_help 1
# TYPE app_untyped untyped
app_untyped 3
app_bare 4
"""

OPENMETRICS = b"""# TYPE om_requests counter
# HELP om_requests Requests served.
om_requests_total 7
# TYPE om_size_bytes gauge
# UNIT om_size_bytes bytes
# HELP om_size_bytes Size.
om_size_bytes 10
# TYPE om_build info
# HELP om_build Build.
om_build_info{version="1"} 1
# TYPE om_state stateset
om_state{om_state="a"} 1
# EOF
"""


class Target:
    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.startswith("/om"):
                    body, ctype = OPENMETRICS, "application/openmetrics-text; version=1.0.0"
                else:
                    body, ctype = TEXT, "text/plain; version=0.0.4"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Target:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _jobs(address: str) -> list[dict[str, Any]]:
    return [{"job_name": "text", "scrape_interval": "1s", "metrics_path": "/text",
             "static_configs": [{"targets": [address]}]},
            {"job_name": "om", "scrape_interval": "1s", "metrics_path": "/om",
             "static_configs": [{"targets": [address]}]}]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("metaprom")
    with Target() as target:
        prom = PrometheusRunner(workdir / "prom", config={
            "global": {"scrape_interval": "1s"}, "scrape_configs": _jobs(target.address)})
        ours = ServeProcess(workdir / "ours", {"scrape_configs": _jobs(target.address),
                                               "collect_host": False})
        with prom, ours:
            for api in (prom.api, lambda path, **p: _ours(ours, path, **p)):
                prom.wait_until(lambda api=api: len(api(
                    "targets/metadata", match_target='{job=~"text|om"}')) >= 10,
                    30, what="both targets' metadata")
            yield prom, ours


def _ours(server: ServeProcess, path: str, **params: Any) -> Any:
    body = server.client.get(f"/api/v1/{path}", params=params).json()
    assert body["status"] == "success", body
    return body["data"]


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda m: (sorted(m["target"].items()), m.get("metric", "")))


@pytest.mark.parametrize("params", [
    {"match_target": '{job=~"text|om"}'},
    {"match_target": '{job="text"}', "metric": "app_requests_total"},
    {"match_target": '{job="om"}', "metric": "om_size_bytes"},
    {"match_target": '{job="om"}', "metric": "om_requests"},
    {"match_target": '{job="text"}', "metric": "no_such_metric"},
])
def test_targets_metadata_equals_prometheus(both, params) -> None:
    prom, ours = both
    assert _sorted(_ours(ours, "targets/metadata", **params)) == \
        _sorted(prom.api("targets/metadata", **params))


def test_metadata_equals_prometheus_for_every_scraped_metric(both) -> None:
    prom, ours = both
    theirs = prom.api("metadata")
    mine = _ours(ours, "metadata")
    assert theirs
    for name, entries in theirs.items():
        assert sorted(mine[name], key=str) == sorted(entries, key=str), name
        assert _ours(ours, "metadata", metric=name) == \
            prom.api("metadata", metric=name)
        assert _ours(ours, "metadata", metric=name, limit_per_metric="1")[name] \
            == prom.api("metadata", metric=name, limit_per_metric="1")[name]
    assert _ours(ours, "metadata", limit="0") == prom.api("metadata",
                                                                   limit="0")
    assert len(_ours(ours, "metadata", limit="3")) == len(
        prom.api("metadata", limit="3"))
    assert _ours(ours, "metadata", metric="no_such") == prom.api(
        "metadata", metric="no_such")
