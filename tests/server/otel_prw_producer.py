"""Run in a subprocess with the side packages of ``otel-prw`` first on the path: the
OpenTelemetry SDK exports through the OpenTelemetry Prometheus remote-write exporter to the
URL in argv[1], and prints, one JSON line each, every series the exporter sent (its own
translation, taken from the request it built) and then the export results."""

from __future__ import annotations

import json
import sys

from opentelemetry.exporter.prometheus_remote_write import PrometheusRemoteWriteMetricsExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource


class Recording(PrometheusRemoteWriteMetricsExporter):
    """The exporter, keeping every series of every request it sends."""

    series: list = []
    results: list = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        for ts in self._translate_data(metrics_data):
            Recording.series.append({"labels": {lb.name: lb.value for lb in ts.labels},
                                     "samples": [[s.timestamp, s.value] for s in ts.samples]})
        result = super().export(metrics_data, timeout_millis, **kwargs)
        Recording.results.append(result.name)
        return result


def main(url: str) -> None:
    exporter = Recording(endpoint=url, headers={"X-Scope-OrgID": "otel"})
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        resource=Resource.create({"service.name": "prw-app", "service.instance.id": "i-1"}),
        metric_readers=[reader],
        views=[View(instrument_name="job.duration",
                    aggregation=ExplicitBucketHistogramAggregation([0.5, 1, 5, 10]))])
    meter = provider.get_meter("prw")
    jobs = meter.create_counter("jobs.done")
    depth = meter.create_up_down_counter("queue.depth")
    temperature = meter.create_gauge("room.temperature")
    duration = meter.create_histogram("job.duration", unit="s")
    for round_ in range(3):  # three exports, each of the cumulative totals so far
        for i, seconds in enumerate((0.2, 0.7, 3.0, 8.0, 40.0)):
            jobs.add(1 + i, {"kind": "a" if i % 2 else "b"})
            duration.record(seconds * (round_ + 1), {"kind": "a"})
        depth.add(round_ - 1)
        temperature.set(20.5 + round_, {"room": "lab"})
        provider.force_flush()
    provider.shutdown()
    for s in Recording.series:
        print(json.dumps(s))
    print(json.dumps({"results": Recording.results}))


if __name__ == "__main__":
    main(sys.argv[1])
