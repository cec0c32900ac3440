"""POST /v1/metrics under fuzzing: any body, media type, encoding or field value is answered
200 or a clean 4xx (a google.rpc.Status naming the problem), never a 5xx, and what was
accepted before stays."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import served_app
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
PROTO = {"Content-Type": "application/x-protobuf"}
JSON_TYPE = {"Content-Type": "application/json"}


def _canary_request() -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name", value=AnyValue(string_value="canary"))
    rm.scope_metrics.add().metrics.add(name="fuzz.canary", gauge=pb.Gauge(data_points=[
        pb.NumberDataPoint(time_unix_nano=time.time_ns(), as_double=1.0)]))
    return req.SerializeToString()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    config = "collect_host: false\nweb: {max_body_bytes: 64KiB}\n"
    with served_app(tmp_path_factory.mktemp("otlp-fuzz"), config) as (client, _service):
        answer = client.post("/v1/metrics", content=_canary_request(), headers=PROTO)
        assert answer.status_code == 200, answer.text
        yield client
        assert _canary(client), "data accepted before the fuzzing was lost"


def _canary(client) -> bool:
    body = client.get("/api/v1/query", params={"query": 'fuzz_canary{job="canary"}'}).json()
    return body["status"] == "success" and len(body["data"]["result"]) == 1


def _clean(response) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        if response.headers["content-type"].startswith("application/json"):
            message = response.json()["message"]
        else:  # google.rpc.Status: field 1 code, field 2 message
            assert response.content[:1] == b"\x08", response.content[:50]
            message = response.content.decode(errors="replace")
        assert message and "Traceback" not in message


@SETTINGS
@given(body=st.binary(max_size=512),
       ctype=st.sampled_from(["application/x-protobuf", "application/json", "text/plain",
                              "application/json; charset=utf-8", ""]),
       encoding=st.sampled_from(["", "gzip", "deflate", "zstd", "br"]))
def test_any_bytes(app, body: bytes, ctype: str, encoding: str) -> None:
    headers = {"Content-Type": ctype, **({"Content-Encoding": encoding} if encoding else {})}
    _clean(app.post("/v1/metrics", content=body, headers=headers))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["resourceMetrics", "scopeMetrics", "metrics", "name", "sum",
                                 "gauge", "dataPoints", "asInt", "asDouble", "histogram",
                                 "bucketCounts", "explicitBounds", "attributes", "key",
                                 "value", "exemplars", "scale", "timeUnixNano"]), inner,
                                max_size=4)),
    max_leaves=20)


@SETTINGS
@given(doc=json_values)
def test_any_json(app, doc) -> None:
    _clean(app.post("/v1/metrics", content=json.dumps(doc).encode(), headers=JSON_TYPE))


names = st.text(max_size=10)
u64 = st.integers(0, 2**64 - 1)
attrs = st.lists(st.builds(lambda k, v: KeyValue(key=k, value=v), names, st.one_of(
    st.builds(lambda s: AnyValue(string_value=s), names),
    st.builds(lambda i: AnyValue(int_value=i), st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda d: AnyValue(double_value=d), st.floats()),
    st.builds(lambda b: AnyValue(bool_value=b), st.booleans()))), max_size=3)
number_points = st.lists(st.builds(
    lambda a, t, v, f: pb.NumberDataPoint(attributes=a, time_unix_nano=t, as_double=v,
                                          flags=f),
    attrs, st.one_of(u64, st.just(time.time_ns())), st.floats(), st.integers(0, 3)),
    max_size=3)
buckets = st.builds(lambda o, c: pb.ExponentialHistogramDataPoint.Buckets(
    offset=o, bucket_counts=c), st.integers(-(2**31), 2**31 - 1), st.lists(u64, max_size=40))
metrics = st.one_of(
    st.builds(lambda n, u, p: pb.Metric(name=n, unit=u, gauge=pb.Gauge(data_points=p)),
              names, names, number_points),
    st.builds(lambda n, m, t, p: pb.Metric(name=n, sum=pb.Sum(
        is_monotonic=m, aggregation_temporality=t, data_points=p)),
        names, st.booleans(), st.integers(0, 3), number_points),
    st.builds(lambda n, b, c, s, t: pb.Metric(name=n, histogram=pb.Histogram(
        aggregation_temporality=t, data_points=[pb.HistogramDataPoint(
            explicit_bounds=b, bucket_counts=c, count=sum(c) % 2**64, sum=s,
            time_unix_nano=time.time_ns())])),
        names, st.lists(st.floats(), max_size=5), st.lists(u64, max_size=6), st.floats(),
        st.integers(0, 3)),
    st.builds(lambda n, sc, p, ng, z, zt: pb.Metric(
        name=n, exponential_histogram=pb.ExponentialHistogram(
            aggregation_temporality=2, data_points=[pb.ExponentialHistogramDataPoint(
                scale=sc, positive=p, negative=ng, zero_count=z, zero_threshold=zt,
                count=z, time_unix_nano=time.time_ns())])),
        names, st.integers(-(2**31), 2**31 - 1), buckets, buckets, u64, st.floats()),
)


@SETTINGS
@given(ms=st.lists(metrics, max_size=4), resource=attrs, as_json=st.booleans())
def test_any_field_values(app, ms, resource, as_json: bool) -> None:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(resource)
    rm.scope_metrics.add().metrics.extend(ms)
    if as_json:
        body = json_format.MessageToJson(req, use_integers_for_enums=True).encode()
        response = app.post("/v1/metrics", content=body, headers=JSON_TYPE)
    else:
        response = app.post("/v1/metrics", content=req.SerializeToString(), headers=PROTO)
    _clean(response)
    assert response.status_code in (200, 400, 413), response.content[:300]


def test_json_request_answer_and_partial_success(app) -> None:
    doc = {"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-app"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "jobs.done", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                          "dataPoints": [{"asInt": "5", "timeUnixNano":
                                                          str(time.time_ns())}]}},
            {"name": "jobs.delta", "sum": {"aggregationTemporality": 1, "isMonotonic": True,
                                           "dataPoints": [{"asInt": "1"}]}},
            {"name": "jobs.gauge", "gauge": {"dataPoints": [{"asDouble": 1.5, "timeUnixNano":
                                                             "1000"}, {"asDouble": 2.5,
                                                             "timeUnixNano": "1000"}]}}]}]}]}
    answer = app.post("/v1/metrics", content=json.dumps(doc), headers=JSON_TYPE)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    partial = answer.json()["partialSuccess"]  # the second gauge point: a duplicate time
    assert partial["rejectedDataPoints"] == "1" and "out of order" in partial["errorMessage"]
    delta = app.get("/api/v1/query", params={"query": 'jobs_delta_total{job="json-app"}'})
    assert delta.json()["data"]["result"][0]["value"][1] == "1"  # a delta sum, now taken
    result = app.get("/api/v1/query", params={"query": 'jobs_done_total{job="json-app"}'})
    assert result.json()["data"]["result"][0]["value"][1] == "5"


def test_protobuf_answer_and_limits(app) -> None:
    answer = app.post("/v1/metrics", content=_canary_request(), headers=PROTO)
    assert answer.status_code == 200
    assert ExportMetricsServiceResponse.FromString(answer.content) == \
        ExportMetricsServiceResponse()
    bomb = gzip.compress(b"\x00" * (1 << 20))
    too_big = app.post("/v1/metrics", content=bomb,
                       headers={**PROTO, "Content-Encoding": "gzip"})
    assert too_big.status_code == 413
    assert app.post("/v1/metrics", content=b"{}", headers={
        "Content-Type": "text/csv"}).status_code == 415
