"""OTLP requests as samples: resources to job/instance/target_info, every data type, and
exponential histograms as classic buckets at their own bounds."""

from __future__ import annotations

import itertools
import json
import math

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from watchkeeper.otlp import JSON, PROTOBUF, decode_request, translate
from watchkeeper.otlp.translate import STALE_NAN, le_text

NOW = 1_700_000_000_000
T_NS = 1_700_000_000_123_456_789


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def request(*metrics: pb.Metric, resource: dict | None = None) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(kv(k, v) for k, v in (resource or {}).items())
    rm.scope_metrics.add().metrics.extend(metrics)
    return req


def by_series(req) -> dict[tuple, float]:
    out = translate(req, NOW)
    return {(labels["__name__"], *sorted((k, v) for k, v in labels.items()
                                         if k != "__name__")): value
            for labels, _ts, value in out.samples}


def test_resource_becomes_job_instance_and_target_info() -> None:
    gauge = pb.Metric(name="temp", unit="Cel", gauge=pb.Gauge(data_points=[
        pb.NumberDataPoint(time_unix_nano=T_NS, as_double=20.5,
                           attributes=[kv("room", "a"), kv("job", "spoofed")])]))
    out = translate(request(gauge, resource={
        "service.name": "api", "service.namespace": "shop", "service.instance.id": "i-1",
        "host.name": "h1", "k8s.pod.uid": 7}), NOW)
    (labels, ts, value), (info, info_ts, one) = out.samples
    assert labels == {"__name__": "temp_celsius", "room": "a", "job": "shop/api",
                      "instance": "i-1"}
    assert (ts, value) == (T_NS // 1_000_000, 20.5)
    assert info == {"__name__": "target_info", "job": "shop/api", "instance": "i-1",
                    "host_name": "h1", "k8s_pod_uid": "7"}
    assert (info_ts, one) == (ts, 1.0)


def test_sums_counters_gauges_and_delta_refused() -> None:
    counter = pb.Metric(name="requests", sum=pb.Sum(
        is_monotonic=True, aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
        data_points=[pb.NumberDataPoint(time_unix_nano=T_NS, as_int=42)]))
    updown = pb.Metric(name="queue", sum=pb.Sum(
        is_monotonic=False, aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
        data_points=[pb.NumberDataPoint(time_unix_nano=T_NS, as_int=-3)]))
    delta = pb.Metric(name="deltas", sum=pb.Sum(
        is_monotonic=True, aggregation_temporality=pb.AGGREGATION_TEMPORALITY_DELTA,
        data_points=[pb.NumberDataPoint(time_unix_nano=T_NS, as_int=1)] * 2))
    out = translate(request(counter, updown, delta), NOW)
    assert {s[0]["__name__"]: s[2] for s in out.samples} == {"requests_total": 42.0,
                                                             "queue": -3.0}
    assert out.rejected == 2 and "deltas_total: delta temporality" in out.errors[0]
    assert out.metadata["requests_total"][1] == "counter"


def test_histogram_and_summary_series() -> None:
    hist = pb.Metric(name="latency", unit="s", histogram=pb.Histogram(
        aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
        data_points=[pb.HistogramDataPoint(time_unix_nano=T_NS, count=6, sum=4.5,
                                           explicit_bounds=[0.1, 1.0],
                                           bucket_counts=[1, 2, 3])]))
    summary = pb.Metric(name="rpc", unit="ms", summary=pb.Summary(data_points=[
        pb.SummaryDataPoint(time_unix_nano=T_NS, count=10, sum=55.0, quantile_values=[
            pb.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=5.0),
            pb.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=9.0)])]))
    series = by_series(request(hist, summary))
    assert series == {
        ("latency_seconds_bucket", ("le", "0.1")): 1.0,
        ("latency_seconds_bucket", ("le", "1")): 3.0,
        ("latency_seconds_bucket", ("le", "+Inf")): 6.0,
        ("latency_seconds_count",): 6.0, ("latency_seconds_sum",): 4.5,
        ("rpc_milliseconds", ("quantile", "0.5")): 5.0,
        ("rpc_milliseconds", ("quantile", "0.99")): 9.0,
        ("rpc_milliseconds_count",): 10.0, ("rpc_milliseconds_sum",): 55.0}


def test_histogram_with_mismatched_buckets_is_refused_alone() -> None:
    bad = pb.Metric(name="h", histogram=pb.Histogram(
        aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
        data_points=[pb.HistogramDataPoint(count=1, explicit_bounds=[1.0],
                                           bucket_counts=[1])]))
    good = pb.Metric(name="g", gauge=pb.Gauge(data_points=[pb.NumberDataPoint(as_double=1)]))
    out = translate(request(bad, good), NOW)
    assert [s[0]["__name__"] for s in out.samples] == ["g"]
    assert out.samples[0][1] == NOW  # no timestamp: now
    assert out.rejected == 1 and "bucket counts" in out.errors[0]


def _exp(scale: int, pos_offset: int, pos: list[int], neg_offset: int = 0,
         neg: list[int] = (), zero: int = 0, threshold: float = 0.0) -> pb.Metric:
    point = pb.ExponentialHistogramDataPoint(
        time_unix_nano=T_NS, scale=scale, zero_count=zero, zero_threshold=threshold,
        count=sum(pos) + sum(neg) + zero, sum=1.0,
        positive=pb.ExponentialHistogramDataPoint.Buckets(offset=pos_offset,
                                                          bucket_counts=pos),
        negative=pb.ExponentialHistogramDataPoint.Buckets(offset=neg_offset,
                                                          bucket_counts=list(neg)))
    return pb.Metric(name="size", unit="By", exponential_histogram=pb.ExponentialHistogram(
        aggregation_temporality=pb.AGGREGATION_TEMPORALITY_CUMULATIVE, data_points=[point]))


def _buckets(metric: pb.Metric) -> list[tuple[str, float]]:
    out = translate(request(metric), NOW)
    return [(s[0]["le"], s[2]) for s in out.samples if s[0]["__name__"].endswith("_bucket")]


def test_exponential_buckets_at_their_bounds() -> None:
    # scale 0: base 2, bucket i is (2^i, 2^(i+1)]; scale 1: base sqrt(2)
    assert _buckets(_exp(0, 1, [1, 0, 2], neg_offset=0, neg=[3], zero=4)) == [
        ("-1", 3.0), ("0", 7.0), ("4", 8.0), ("8", 8.0), ("16", 10.0), ("+Inf", 10.0)]
    assert _buckets(_exp(1, 2, [5])) == [("0", 0.0), ("2.8284271247461903", 5.0),
                                         ("+Inf", 5.0)]


def test_wide_exponential_histograms_are_downscaled() -> None:
    counts = [1] * 1000
    buckets = _buckets(_exp(3, -500, counts))
    assert len(buckets) <= 320 + 2
    assert buckets[-1] == ("+Inf", 1000.0)
    finite = [(float(le), c) for le, c in buckets[:-1]]
    # downscaled twice (scale 3 -> 1): every bound is a power of sqrt(2), counts add up
    assert finite[-1][1] == 1000.0 and all(a[1] <= b[1] for a, b in itertools.pairwise(finite))
    assert all(abs(2 * math.log2(b) - round(2 * math.log2(b))) < 1e-9 for b, _ in finite[1:])
    assert len(finite) == 1 + 250


def test_exponential_scale_out_of_range_is_refused() -> None:
    out = translate(request(_exp(40, 0, [1])), NOW)
    assert out.samples == [] and out.rejected == 1 and "scale 40" in out.errors[0]


def test_no_recorded_value_is_a_staleness_marker() -> None:
    gauge = pb.Metric(name="g", gauge=pb.Gauge(data_points=[
        pb.NumberDataPoint(time_unix_nano=T_NS, as_double=3, flags=1)]))
    (_labels, _ts, value), = translate(request(gauge), NOW).samples
    assert math.isnan(value) and value.hex() == STALE_NAN.hex()


def test_otlp_json_as_the_specification_writes_it() -> None:
    doc = {"resourceMetrics": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "cart"}}]},
        "scopeMetrics": [{"scope": {"name": "s"}, "metrics": [{
            "name": "orders", "unit": "{order}",
            "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [{
                "asInt": "17", "timeUnixNano": str(T_NS),
                "attributes": [{"key": "tier", "value": {"intValue": "2"}}],
                "exemplars": [{"asInt": "1", "timeUnixNano": str(T_NS),
                               "traceId": "5b8efff798038103d269b633813fc60c",
                               "spanId": "eee19b7ec3c1b174"}]}]}}]}]}]}
    req = decode_request(json.dumps(doc).encode(), JSON)
    assert by_series(req) == {("orders_total", ("job", "cart"), ("tier", "2")): 17.0}
    assert decode_request(req.SerializeToString(), PROTOBUF) == req


def test_le_text_is_positional() -> None:
    assert [le_text(v) for v in (0.005, 1.0, 1e-7, 2.5e20, -0.0, math.inf)] == [
        "0.005", "1", "0.0000001", "250000000000000000000", "0", "+Inf"]
