"""OTLP/HTTP out: what the store accepts reaches an OTLP endpoint as requests that
opentelemetry-proto decodes; retries only on 429/502/503/504 (and connection errors); and
nothing is lost while the endpoint is down (the round trip into `watchkeeper serve`'s own
/v1/metrics is in tests/server/test_otlp_sdk.py)."""

from __future__ import annotations

import gzip
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from peers import free_port
from watchkeeper.config.models import OTLPExportConfig
from watchkeeper.otlp.exporter import OTLPExport
from watchkeeper.tsdb import Store

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
from inprocess import served_app


class Collector:
    """An OTLP/HTTP endpoint that decodes every request with opentelemetry-proto and answers
    with the statuses it is told, one per request (then 200)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self.statuses: list[int] = []
        self.answered: list[int] = []
        self.headers: list[dict[str, str]] = []
        self.partial = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.headers.append(dict(self.headers))
                status = outer.statuses.pop(0) if outer.statuses else 200
                outer.answered.append(status)
                answer = ExportMetricsServiceResponse()
                if status == 200:
                    outer.requests.append(ExportMetricsServiceRequest.FromString(body))
                    if outer.partial:
                        answer.partial_success.rejected_data_points = outer.partial
                        answer.partial_success.error_message = "too old"
                payload = answer.SerializeToString()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/metrics"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def points(self) -> list[tuple[dict[str, str], str, dict[str, str], float, int]]:
        """(resource, metric name, attributes, value, time ms) of every point received."""
        out = []
        for req in self.requests:
            for rm in req.resource_metrics:
                resource = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        data = m.sum if m.WhichOneof("data") == "sum" else m.gauge
                        for p in data.data_points:
                            attrs = {kv.key: kv.value.string_value for kv in p.attributes}
                            out.append((resource, m.name, attrs, p.as_double,
                                        p.time_unix_nano // 1_000_000))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _wait(probe, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return result


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def _export(tmp_path, url: str, **cfg):
    store = Store.open(tmp_path / "data", background=False)
    config = OTLPExportConfig(url=url, name="otel", queue_config={
        "batch_send_deadline": "50ms", "min_backoff": "10ms", "max_backoff": "50ms"}, **cfg)
    export = OTLPExport(store, [config], tmp_path / "otlp")
    export.start()
    return store, export


def _counter(export: OTLPExport, name: str) -> float:
    for family in export.collect():
        for s in family.samples:
            if s.name == name:
                return s.value
    return 0.0


def test_requests_decode_and_carry_every_sample(tmp_path, collector) -> None:
    store, export = _export(tmp_path, collector.url,
                            resource_attributes={"deployment.environment": "prod"},
                            write_relabel_configs=[{"source_labels": ["__name__"],
                                                    "regex": "noise", "action": "drop"}])
    try:
        now = int(time.time() * 1000)
        for i in range(3):
            store.append({"__name__": "http_requests_total", "job": "shop/api",
                          "instance": "pod-1", "code": "200"}, now + i * 1000, 10.0 + i)
            store.append({"__name__": "queue_depth", "job": "worker"}, now + i * 1000, 4.0)
            store.append({"__name__": "noise"}, now + i * 1000, 1.0)
        store.commit()
        points = _wait(lambda: len(collector.points()) >= 6 and collector.points())
        assert len(points) == 6
        counters = [p for p in points if p[1] == "http_requests_total"]
        assert [p[3] for p in counters] == [10.0, 11.0, 12.0]
        assert [p[4] for p in counters] == [now, now + 1000, now + 2000]
        assert counters[0][0] == {"service.name": "api", "service.namespace": "shop",
                                  "service.instance.id": "pod-1",
                                  "deployment.environment": "prod"}
        assert counters[0][2] == {"code": "200"}
        gauges = [p for p in points if p[1] == "queue_depth"]
        assert gauges[0][0]["service.name"] == "worker" and len(gauges) == 3
        metric = collector.requests[0].resource_metrics[0].scope_metrics[0].metrics[0]
        assert metric.sum.is_monotonic and metric.sum.aggregation_temporality == 2
        assert collector.headers[0]["Content-Encoding"] == "gzip"
        _wait(lambda: _counter(export, "watchkeeper_otlp_export_samples_dropped_total") == 3)
    finally:
        export.stop()
        store.close()


def test_credentials_from_the_config_or_a_file(tmp_path, collector) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    store, export = _export(tmp_path, collector.url,
                            authorization={"credentials_file": str(token)})
    try:
        store.append({"__name__": "a"}, 1000, 1.0)
        store.commit()
        _wait(lambda: collector.requests)
        assert collector.headers[0]["Authorization"] == "Bearer s3cret"
    finally:
        export.stop()
        store.close()
    with pytest.raises(ValueError, match="at most one"):
        OTLPExportConfig(url=collector.url, basic_auth={"username": "u", "password": "p"},
                         authorization={"credentials": "t"})


def test_https_with_the_tls_config(tmp_path, collector) -> None:
    """A certificate checked against tls_config's CA; without that CA the connection is
    refused (and retried, never sent in clear)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", str(key), "-out", str(cert), "-days", "1",
                           "-subj", "/CN=localhost",
                           "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {made.stderr[-200:]!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    collector.server.socket = context.wrap_socket(collector.server.socket, server_side=True)
    url = collector.url.replace("http://", "https://")
    store, export = _export(tmp_path / "untrusted", url)
    try:
        store.append({"__name__": "a"}, 1000, 1.0)
        store.commit()
        _wait(lambda: _counter(export, "watchkeeper_otlp_export_samples_retried_total") > 0)
        assert collector.requests == []
    finally:
        export.stop()
        store.close()
    store, export = _export(tmp_path / "trusted", url, tls_config={"ca_file": str(cert)})
    try:
        store.append({"__name__": "a"}, 1000, 1.0)
        store.commit()
        _wait(lambda: collector.requests)
    finally:
        export.stop()
        store.close()


def test_retries_only_on_429_502_503_504(tmp_path, collector) -> None:
    store, export = _export(tmp_path, collector.url, compression="none")
    try:
        collector.statuses = [503, 429, 502, 504]  # retried, then delivered
        store.append({"__name__": "a"}, 1000, 1.0)
        store.commit()
        _wait(lambda: collector.requests)
        assert collector.answered == [503, 429, 502, 504, 200]
        assert _counter(export, "watchkeeper_otlp_export_samples_retried_total") == 4
        for i, status in enumerate((500, 400, 413)):  # refused for good: sent once only
            collector.statuses = [status]
            before = len(collector.answered)
            store.append({"__name__": "a"}, 2000 + i, 1.0)
            store.commit()
            _wait(lambda n=before: len(collector.answered) > n and _counter(
                export, "watchkeeper_otlp_export_samples_pending") == 0)
            time.sleep(0.2)
            assert collector.answered[before:] == [status]
        assert _counter(export, "watchkeeper_otlp_export_samples_failed_total") == 3
        collector.partial = 1  # a 2xx with partial_success: delivered, the rejected counted
        store.append({"__name__": "a"}, 9000, 1.0)
        store.commit()
        _wait(lambda: _counter(export, "watchkeeper_otlp_export_samples_failed_total") == 4)
    finally:
        export.stop()
        store.close()


def test_backend_down_then_back_loses_nothing(tmp_path) -> None:
    port = free_port()  # nobody listens yet: connection errors, retried
    url = f"http://127.0.0.1:{port}/v1/metrics"
    store, export = _export(tmp_path, url)
    try:
        for t in range(50):
            store.append({"__name__": "m"}, 1000 + t, float(t))
        store.commit()
        _wait(lambda: _counter(export, "watchkeeper_otlp_export_samples_retried_total") > 0)
    finally:
        export.stop()
        store.close()
    back = Collector(port)
    store, export = _export(tmp_path, url)  # as after a restart: resumes from disk
    try:
        points = _wait(lambda: len(back.points()) >= 50 and back.points())
        assert sorted(p[3] for p in points) == [float(t) for t in range(50)]
    finally:
        export.stop()
        store.close()
        back.close()


def test_serve_exports_from_its_config(tmp_path, collector) -> None:
    config = (f"global: {{collect_interval: 1s}}\ncollect_host: false\n"
              f"otlp_export:\n  - url: {collector.url}\n    name: otel\n"
              f"    queue_config: {{batch_send_deadline: 50ms}}\n")
    with served_app(tmp_path, config) as (client, _service):
        client.post("/api/v1/import/prometheus", content=b"pushed_total 3\n")
        points = _wait(lambda: [p for p in collector.points() if p[1] == "pushed_total"])
        assert points[0][3] == 3.0
        # /metrics answers from the collector loop's last collection: it shows up there next
        _wait(lambda: 'watchkeeper_otlp_export_samples_total{name="otel"' in client.get(
            "/metrics").text)


def test_config_names_must_be_unique() -> None:
    from watchkeeper.config import ConfigError, parse_config

    entry = "  - {url: http://127.0.0.1:4318/v1/metrics, name: x}\n"
    with pytest.raises(ConfigError, match="otlp_export names must be unique"):
        parse_config("otlp_export:\n" + entry + entry)
    with pytest.raises(ConfigError, match="http"):
        parse_config("otlp_export:\n  - {url: collector:4318}\n")


FAMILIES = [("http_requests_total", "counter", "Requests served.", ""),
            ("room_temperature_celsius", "gauge", "Air in the room.", "celsius"),
            ("latency_seconds", "histogram", "How long requests took.", "seconds"),
            ("rpc_seconds", "summary", "RPC durations.", "seconds"),
            ("jobs", "counter", "Jobs done (OpenMetrics family name).", ""),
            ("legacy_total", "unknown", "", "")]


def test_metric_metadata_types_the_exported_metrics(tmp_path, collector) -> None:
    """Counters are monotonic cumulative sums, whatever their name; a histogram's series
    are one histogram, a summary's one summary; the rest are gauges; help and unit (in
    UCUM) go along."""
    store = Store.open(tmp_path / "data", background=False)
    config = OTLPExportConfig(url=collector.url, queue_config={"batch_send_deadline": "50ms"})
    export = OTLPExport(store, [config], tmp_path / "otlp", metadata_source=lambda: FAMILIES)
    export.start()
    series = {"http_requests_total": {}, "room_temperature_celsius": {},
              "latency_seconds_bucket": {"le": "0.5"}, "latency_seconds_count": {},
              "latency_seconds_sum": {}, "rpc_seconds": {"quantile": "0.9"},
              "rpc_seconds_count": {}, "rpc_seconds_sum": {}, "jobs_total": {},
              "legacy_total": {}, "unknown_gauge": {}, "unknown_total": {}}
    try:
        now = int(time.time() * 1000)
        for name, extra in series.items():
            store.append({"__name__": name, "job": "svc", **extra}, now, 1.0)
        store.append({"__name__": "latency_seconds_bucket", "job": "svc", "le": "+Inf"},
                     now, 1.0)
        store.commit()

        def metrics():
            return {m.name: m for req in collector.requests for rm in req.resource_metrics
                    for sm in rm.scope_metrics for m in sm.metrics}

        _wait(lambda: len(metrics()) >= 8)
        metrics = metrics()
    finally:
        export.stop()
        store.close()
    sums = {n for n, m in metrics.items() if m.WhichOneof("data") == "sum"}
    assert sums == {"http_requests_total", "jobs_total", "legacy_total", "unknown_total"}
    assert all(metrics[n].sum.is_monotonic and metrics[n].sum.aggregation_temporality == 2
               for n in sums)
    assert metrics["room_temperature_celsius"].description == "Air in the room."
    assert metrics["room_temperature_celsius"].unit == "Cel"
    latency = metrics["latency_seconds"]
    assert latency.description == "How long requests took." and latency.unit == "s"
    assert latency.WhichOneof("data") == "histogram"
    assert latency.histogram.aggregation_temporality == 2
    (point,) = latency.histogram.data_points
    assert list(point.explicit_bounds) == [0.5] and list(point.bucket_counts) == [1, 0]
    assert point.count == 1 and point.sum == 1.0
    assert metrics["rpc_seconds"].WhichOneof("data") == "summary"
    assert "latency_seconds_bucket" not in metrics and "rpc_seconds_count" not in metrics
    assert metrics["jobs_total"].description == "Jobs done (OpenMetrics family name)."
    assert metrics["unknown_gauge"].description == ""


def test_typed_metrics_come_back_under_the_same_names() -> None:
    """What ``encode_request`` writes with metadata, OTLP in reads back unchanged: units in
    UCUM map to the suffix the name already has, and only counters gain nothing either."""
    from watchkeeper.otlp import PROTOBUF, decode_request, translate
    from watchkeeper.otlp.encode import encode_request

    names = ["http_requests_total", "room_temperature_celsius", "latency_seconds_bucket",
             "latency_seconds_count", "latency_seconds_sum", "rpc_seconds", "jobs_total",
             "legacy_total", "unknown_gauge"]
    meta = {name: (typ, help_text, unit) for name, typ, help_text, unit in FAMILIES}
    body = encode_request([({"__name__": n, "job": "svc", "k": "v"}, [1000], [2.0], 1000)
                           for n in names], {}, meta)
    out = translate(decode_request(body, PROTOBUF), 0)
    assert sorted(s[0]["__name__"] for s in out.samples) == sorted(names)
    assert all(s[0] == {"__name__": s[0]["__name__"], "job": "svc", "k": "v"}
               for s in out.samples)


def test_a_histogram_bigger_than_a_batch_still_goes_as_one_point(tmp_path, collector) -> None:
    """A batch ends where a commit's samples end, so the buckets of one scrape are never
    split between two requests (which would send them as gauges)."""
    store = Store.open(tmp_path / "data", background=False)
    config = OTLPExportConfig(url=collector.url, queue_config={
        "batch_send_deadline": "50ms", "max_samples_per_send": 5})
    meta = [("latency_seconds", "histogram", "", "seconds")]
    export = OTLPExport(store, [config], tmp_path / "otlp", metadata_source=lambda: meta)
    export.start()
    try:
        now = int(time.time() * 1000)
        for step in range(2):
            bounds = [str(b) for b in range(1, 21)] + ["+Inf"]
            for i, le in enumerate(bounds):
                store.append({"__name__": "latency_seconds_bucket", "job": "svc", "le": le},
                             now + step, float(i))
            store.append({"__name__": "latency_seconds_count", "job": "svc"}, now + step, 20.0)
            store.append({"__name__": "latency_seconds_sum", "job": "svc"}, now + step, 7.0)
            store.commit()

        def points():
            return [p for req in collector.requests for rm in req.resource_metrics
                    for sm in rm.scope_metrics for m in sm.metrics
                    for p in m.histogram.data_points]

        _wait(lambda: len(points()) >= 2)
        names = {m.name for req in collector.requests for rm in req.resource_metrics
                 for sm in rm.scope_metrics for m in sm.metrics}
    finally:
        export.stop()
        store.close()
    assert names == {"latency_seconds"}
    assert [len(p.explicit_bounds) for p in points()] == [20, 20]
    assert all(sum(p.bucket_counts) == p.count == 20 for p in points())
