"""The official OpenTelemetry Python SDK's OTLP/HTTP exporter writes into `watchkeeper serve`;
every data point it sent is then found by PromQL under its Prometheus name, with its value.
Our own OTLP exporter's requests come back under the series they left as."""

from __future__ import annotations

import math
import time

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter,
)
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from serve_process import ServeProcess

from watchkeeper.config.models import OTLPExportConfig
from watchkeeper.otlp.exporter import OTLPExport
from watchkeeper.tsdb import Store

# instrument name -> the name the compatibility specification gives it
NAMES = {
    "http.server.requests": "http_server_requests_total",        # counter, unit {request}
    "queue.size": "queue_size",                                  # up-down counter
    "http.server.duration": "http_server_duration_milliseconds",  # histogram, ms
    "payload.size": "payload_size_bytes",                        # exponential histogram, By
    "cpu.utilization": "cpu_utilization_ratio",                  # observable gauge, unit 1
    "room.temperature": "room_temperature_celsius",              # gauge, Cel
}
DURATIONS = [3.3, 7.1, 12.9, 48.2, 230.7, 1200.4]
SIZES = [100.3, 900.7, 1500.2, 70000.9, 3.1, 3.3]


class Recording(OTLPMetricExporter):
    """The SDK's own exporter, keeping what it sent."""

    sent: list = []
    results: list = []

    def export(self, metrics_data, timeout_millis=10000, **kwargs):
        result = super().export(metrics_data, timeout_millis, **kwargs)
        self.sent.append(metrics_data)
        self.results.append(result)
        return result


def _record(url: str, compression: Compression, instance: str) -> Recording:
    exporter = Recording(endpoint=f"{url}/v1/metrics", compression=compression, timeout=10)
    exporter.sent, exporter.results = [], []
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": "checkout", "service.namespace": "shop",
                                "service.instance.id": instance,
                                "deployment.environment": "prod"})
    provider = MeterProvider(resource=resource, metric_readers=[reader], views=[
        View(instrument_name="payload.size",
             aggregation=ExponentialBucketHistogramAggregation(max_size=20))])
    meter = provider.get_meter("shop.checkout", "1.0")
    requests = meter.create_counter("http.server.requests", unit="{request}")
    queue = meter.create_up_down_counter("queue.size", unit="{item}")
    duration = meter.create_histogram("http.server.duration", unit="ms",
                                      description="How long requests took.")
    payload = meter.create_histogram("payload.size", unit="By")
    temperature = meter.create_gauge("room.temperature", unit="Cel")
    meter.create_observable_gauge("cpu.utilization", unit="1", callbacks=[
        lambda options: [Observation(0.25, {"cpu": "0"}), Observation(0.75, {"cpu": "1"})]])
    for i, ms in enumerate(DURATIONS):
        requests.add(1 + i, {"http.route": "/pay", "http.status_code": 200 + i % 2})
        duration.record(ms, {"http.route": "/pay"})
    queue.add(5)
    queue.add(-2)
    for size in SIZES:
        payload.record(size)
    temperature.set(21.5, {"room": "b.1"})
    provider.force_flush()
    provider.shutdown()
    return exporter


def _labels(point, base: dict[str, str]) -> dict[str, str]:
    return {**base, **{k.replace(".", "_"): str(v) for k, v in point.attributes.items()}}


def _selector(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _value(server: ServeProcess, name: str, labels: dict[str, str], at_ns: int) -> float:
    body = server.client.get("/api/v1/query", params={
        "query": _selector(name, labels), "time": at_ns / 1e9}).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    assert len(result) == 1, (name, labels, result)
    return float(result[0]["value"][1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServeProcess(tmp_path_factory.mktemp("otlp-sink"), {"collect_host": False}) as s:
        yield s


def test_every_sdk_data_point_is_queryable(server) -> None:
    for compression, instance in ((Compression.NoCompression, "pod-1"),
                                  (Compression.Gzip, "pod-2")):
        _check_export(server, _record(server.url, compression, instance), instance)
    info = server.query('target_info{job="shop/checkout"}')
    assert sorted((r["metric"]["instance"], r["metric"]["deployment_environment"])
                  for r in info) == [("pod-1", "prod"), ("pod-2", "prod")]
    meta = server.client.get("/api/v1/metadata",
                             params={"metric": "http_server_duration_milliseconds"}).json()
    assert meta["data"]["http_server_duration_milliseconds"][0]["type"] == "histogram"


def _check_export(server: ServeProcess, exporter: Recording, instance: str) -> None:
    assert exporter.results and all(r is MetricExportResult.SUCCESS
                                    for r in exporter.results), server.log()[-2000:]
    base = {"job": "shop/checkout", "instance": instance}
    checked = set()
    for data in exporter.sent:
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    name = NAMES[metric.name]
                    for point in metric.data.data_points:
                        labels = _labels(point, base)
                        at = point.time_unix_nano
                        if hasattr(point, "value"):
                            assert _value(server, name, labels, at) == pytest.approx(
                                point.value)
                        else:
                            assert _value(server, f"{name}_count", labels, at) == \
                                point.count
                            assert _value(server, f"{name}_sum", labels, at) == \
                                pytest.approx(point.sum)
                            recorded = DURATIONS if "duration" in name else SIZES
                            _check_buckets(server, name, labels, at, recorded)
                        checked.add(metric.name)
    assert checked == set(NAMES)


def _check_buckets(server: ServeProcess, name: str, labels: dict[str, str], at: int,
                   recorded: list[float]) -> None:
    """Every stored bucket counts exactly the recorded values at or under its bound."""
    body = server.client.get("/api/v1/query", params={
        "query": _selector(f"{name}_bucket", labels), "time": at / 1e9}).json()
    buckets = body["data"]["result"]
    assert len(buckets) >= 3, buckets
    for b in buckets:
        bound = float(b["metric"]["le"])
        expected = len(recorded) if math.isinf(bound) else sum(v <= bound for v in recorded)
        assert float(b["value"][1]) == expected, (b["metric"]["le"], expected)


def test_our_exporter_round_trips_through_the_receiver(server, tmp_path) -> None:
    store = Store.open(tmp_path / "data", background=False)
    export = OTLPExport(store, [OTLPExportConfig(
        url=f"{server.url}/v1/metrics", queue_config={"batch_send_deadline": "50ms"})],
        tmp_path / "otlp")
    export.start()
    try:
        now = int(time.time() * 1000)
        store.append({"__name__": "orders_total", "job": "shop/cart",
                      "instance": "i-1", "tier": "gold"}, now, 7.0)
        store.append({"__name__": "temperature_celsius", "job": "lab"}, now, 21.5)
        store.commit()
        got = server.wait_until(lambda: server.query('orders_total{tier="gold"}'), 20,
                              "the exported counter")
        assert got[0]["metric"] == {"__name__": "orders_total", "job": "shop/cart",
                                    "instance": "i-1", "tier": "gold"}
        assert got[0]["value"][1] == "7"
        [gauge] = server.wait_until(lambda: server.query("temperature_celsius"), 20)
        assert gauge["metric"] == {"__name__": "temperature_celsius", "job": "lab"}
    finally:
        export.stop()
        store.close()
