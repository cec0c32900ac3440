"""A real Prometheus scrapes our metrics in both formats; what it stores is what we set, and
exactly what our own parser reads from the same response."""

from __future__ import annotations

import math
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peers import free_port, require_binary
from prometheus_runner import PrometheusError, PrometheusRunner
from watchkeeper.exposition import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from watchkeeper.exposition.parse import parse
from watchkeeper.metrics import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary

HOSTILE = ['back\\slash', 'quo"te', "new\nline", "ünïcödé 漢字", "{}=,# EOF", ""]
# What Prometheus 2.42 asks a target for.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                     "application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def _registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    c = Counter("wk_scrape_requests", "Requests", ["path"], registry=reg)
    for i, v in enumerate(HOSTILE):
        c.labels(v).inc(i + 0.5)
    Gauge("wk_scrape_level", "Level", registry=reg).set(-42.125)
    h = Histogram("wk_scrape_latency_seconds", "Latency", buckets=(1, 2, 4, 8), registry=reg)
    for value, times in ((0.5, 4), (1.5, 4), (3.0, 2)):
        for _ in range(times):
            h.observe(value)
    s = Summary("wk_scrape_payload_bytes", "Payload", registry=reg)
    for v in (100, 200, 300):
        s.observe(v)
    Info("wk_scrape_build", "Build", registry=reg).info({"version": 'v"1\\2'})
    Enum("wk_scrape_phase", "Phase", states=["a", "b"], registry=reg).state("b")
    return reg


class _TextOnly(BaseHTTPRequestHandler):
    """Answers every request with text 0.0.4, whatever the Accept header says."""

    registry: CollectorRegistry

    def do_GET(self) -> None:
        body = generate_latest(self.registry)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _key(labels: dict[str, str]) -> tuple:
    """A series as Prometheus stores it: empty label values are no labels at all."""
    return tuple(sorted((k, v) for k, v in labels.items() if v))


def _num(v: float) -> object:
    return "NaN" if math.isnan(v) else v


def _ours(body: bytes, content_type: str, job: str, instance: str) -> dict[tuple, object]:
    out = {}
    for fam in parse(body, content_type):
        for s in fam.samples:
            labels = {**s.labels, "__name__": s.name, "job": job, "instance": instance}
            out[_key(labels)] = _num(s.value)
    return out


def _theirs(prom: PrometheusRunner, job: str) -> dict[tuple, object]:
    result = prom.query(f'{{job="{job}",__name__=~"wk_scrape_.*"}}')
    return {_key(r["metric"]): _num(float(r["value"][1])) for r in result}


@pytest.fixture
def targets():
    reg = _registry()
    om_port, text_port = free_port(), free_port()
    om_server, _ = start_http_server(om_port, registry=reg)
    handler = type("Handler", (_TextOnly,), {"registry": reg})
    text_server = ThreadingHTTPServer(("127.0.0.1", text_port), handler)
    thread = threading.Thread(target=text_server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"om": f"127.0.0.1:{om_port}", "text": f"127.0.0.1:{text_port}"}
    finally:
        for server in (om_server, text_server):
            server.shutdown()
            server.server_close()


@pytest.mark.peer
def test_prometheus_stores_what_we_expose_in_both_formats(tmp_path, targets):
    require_binary("prometheus")
    config = PrometheusRunner.scrape_config([])
    config["scrape_configs"] = [
        {"job_name": job, "static_configs": [{"targets": [address]}]}
        for job, address in targets.items()]
    with PrometheusRunner(tmp_path, config=config) as prom:
        prom.wait_for_query('count(up{job=~"om|text"} == 1) == 2')
        formats = {t["labels"]["job"]: t for t in prom.targets()}
        assert {job: t["health"] for job, t in formats.items()} == {"om": "up", "text": "up"}

        for job in ("om", "text"):
            counters = prom.wait_for_query(f'wk_scrape_requests_total{{job="{job}"}}')
            assert {r["metric"].get("path", ""): float(r["value"][1]) for r in counters} == {
                v: i + 0.5 for i, v in enumerate(HOSTILE)}
            bucket = f'wk_scrape_latency_seconds_bucket{{job="{job}"}}'
            # Ten observations: 4 in (0,1], 4 in (1,2], 2 in (2,4]; linear interpolation
            # puts the median a quarter into (1,2] and the 0.9 quantile half into (2,4].
            (median,) = prom.query(f"histogram_quantile(0.5, sum by (le) ({bucket}))")
            assert float(median["value"][1]) == pytest.approx(1.25)
            (p90,) = prom.query(f"histogram_quantile(0.9, sum by (le) ({bucket}))")
            assert float(p90["value"][1]) == pytest.approx(3.0)

        # Prometheus's parser and ours read the same responses to the same series and values.
        for job, accept in (("om", PROMETHEUS_ACCEPT), ("text", "text/plain")):
            request = urllib.request.Request(f"http://{targets[job]}/metrics",
                                             headers={"Accept": accept})
            with urllib.request.urlopen(request, timeout=10) as resp:
                body, ctype = resp.read(), resp.headers["Content-Type"]
            assert ("openmetrics" in ctype) == (job == "om")
            ours = _ours(body, ctype, job, targets[job])
            assert len(ours) > 20
            try:
                prom.wait_until(lambda job=job, ours=ours: _theirs(prom, job) == ours,
                                timeout=30, what=f"{job} series to match")
            except PrometheusError:
                assert _theirs(prom, job) == ours  # shows the difference
