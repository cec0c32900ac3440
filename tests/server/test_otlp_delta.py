"""The official OpenTelemetry Python SDK, configured for delta temporality, writes into
``watchkeeper serve``: after every export, each counter, up-down counter and histogram
(explicit and exponential) reads in PromQL as the running total of everything recorded so
far, as the Collector's deltatocumulative processor would store it."""

from __future__ import annotations

import math
import random

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from serve_process import ServeProcess

DELTA = AggregationTemporality.DELTA
TEMPORALITY = {Counter: DELTA, UpDownCounter: DELTA, Histogram: DELTA, ObservableCounter: DELTA}
BOUNDS = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)


class Recording(OTLPMetricExporter):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sent, self.results = [], []

    def export(self, metrics_data, timeout_millis=10000, **kwargs):
        result = super().export(metrics_data, timeout_millis, **kwargs)
        self.sent.append(metrics_data)
        self.results.append(result)
        return result


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServeProcess(tmp_path_factory.mktemp("otlp-delta"), {"collect_host": False}) as s:
        yield s


def _query(server, expr: str, at_ns: int) -> dict[str, float]:
    body = server.client.get("/api/v1/query", params={"query": expr, "time": at_ns / 1e9})
    result = body.json()["data"]["result"]
    return {r["metric"].get("le", r["metric"].get("route", "")): float(r["value"][1])
            for r in result}


def test_delta_sums_and_histograms_read_as_running_totals(server) -> None:
    exporter = Recording(endpoint=f"{server.url}/v1/metrics", timeout=10,
                         preferred_temporality=TEMPORALITY)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        resource=Resource.create({"service.name": "deltas", "service.instance.id": "p1"}),
        metric_readers=[reader],
        views=[View(instrument_name="payload.size",
                    aggregation=ExponentialBucketHistogramAggregation(max_size=40))])
    meter = provider.get_meter("deltas")
    requests = meter.create_counter("http.requests", unit="{request}")
    inflight = meter.create_up_down_counter("jobs.queued", unit="{job}")
    duration = meter.create_histogram("http.duration", unit="ms")
    payload = meter.create_histogram("payload.size", unit="By")
    observed = {"total": 0}
    meter.create_observable_counter("cpu.time", unit="s", callbacks=[
        lambda options: [Observation(observed["total"])]])

    rng = random.Random(7)
    totals = {"/pay": 0, "/cart": 0}
    queued = 0
    durations: list[float] = []
    sizes: list[float] = []
    for _ in range(4):  # four exports, each a delta of what was recorded since the last
        for route in totals:
            n = rng.randint(1, 9)
            requests.add(n, {"route": route})
            totals[route] += n
        change = rng.randint(-3, 6)
        inflight.add(change)
        queued += change
        for _ in range(rng.randint(3, 12)):
            ms = rng.uniform(0.5, 3000)
            duration.record(ms)
            durations.append(ms)
            size = rng.choice([rng.uniform(1, 100), rng.uniform(1000, 1e6)])
            payload.record(size)
            sizes.append(size)
        observed["total"] += rng.randint(1, 5)  # an observable counter reports totals
        assert provider.force_flush()
        assert exporter.results[-1] is MetricExportResult.SUCCESS, server.log()[-2000:]
        at = max(p.time_unix_nano for rm in exporter.sent[-1].resource_metrics
                 for sm in rm.scope_metrics for m in sm.metrics for p in m.data.data_points)
        assert all(m.data.aggregation_temporality == DELTA
                   for rm in exporter.sent[-1].resource_metrics
                   for sm in rm.scope_metrics for m in sm.metrics)

        assert _query(server, 'http_requests_total{job="deltas"}', at) == \
            {r: float(n) for r, n in totals.items()}
        assert _query(server, 'jobs_queued{job="deltas"}', at) == {"": float(queued)}
        assert _query(server, 'cpu_time_seconds_total{job="deltas"}', at) == \
            {"": float(observed["total"])}
        assert _query(server, 'http_duration_milliseconds_count{job="deltas"}', at) == \
            {"": float(len(durations))}
        assert _query(server, 'http_duration_milliseconds_sum{job="deltas"}', at)[""] == \
            pytest.approx(sum(durations))
        buckets = _query(server, 'http_duration_milliseconds_bucket{job="deltas"}', at)
        assert len(buckets) == len(BOUNDS) + 1
        for le, count in buckets.items():
            assert count == sum(d <= float(le) for d in durations), le
        assert _query(server, 'payload_size_bytes_count{job="deltas"}', at) == \
            {"": float(len(sizes))}
        exp = _query(server, 'payload_size_bytes_bucket{job="deltas"}', at)
        assert exp[ "+Inf"] == len(sizes)
        for le, count in exp.items():  # classic buckets of the merged exponential one
            bound = float(le)
            if not math.isinf(bound):
                assert count == sum(s <= bound for s in sizes) or \
                    (abs(count - sum(s <= bound for s in sizes)) <= 1 and _near(sizes, bound)), le
    provider.shutdown()
    # a stream's total keeps counting up: rate() sees no reset between the exports
    resets = server.query('resets(http_requests_total{job="deltas"}[1h])')
    assert {r["metric"]["route"]: r["value"][1] for r in resets} == {"/pay": "0", "/cart": "0"}


def _near(values: list[float], bound: float) -> bool:
    """A recorded value within float rounding of an exponential bucket bound."""
    return any(abs(v - bound) <= 1e-9 * bound for v in values)
