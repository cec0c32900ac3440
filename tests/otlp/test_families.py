"""Histograms and summaries out over OTLP: their stored series become one OTLP point per
(series, time), which OTLP in (``translate``) reads back as exactly the same series; a group
that cannot be a valid point goes series by series, and no sample is lost either way."""

from __future__ import annotations

import math
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.otlp import PROTOBUF, decode_request, translate
from watchkeeper.otlp.encode import encode_request
from watchkeeper.otlp.translate import STALE_NAN, le_text

META = {"latency_seconds": ("histogram", "How long requests took.", "seconds"),
        "rpc_seconds": ("summary", "RPC durations.", "seconds")}


def _request(series, metadata=META):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    return ExportMetricsServiceRequest.FromString(encode_request(series, {}, metadata))


def _metrics(request):
    return {m.name: m for rm in request.resource_metrics for sm in rm.scope_metrics
            for m in sm.metrics}


def _histogram(t: int, counts: dict[str, float], total: float, sum_: float, **labels):
    base = {"job": "api", "instance": "h:1", **labels}
    out = [({**base, "__name__": "latency_seconds_bucket", "le": le}, [t], [v], 1000)
           for le, v in counts.items()]
    out.append(({**base, "__name__": "latency_seconds_count"}, [t], [total], 1000))
    out.append(({**base, "__name__": "latency_seconds_sum"}, [t], [sum_], 1000))
    return out


def _bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def _samples(series):
    """Every sample as (sorted labels, ms, value bits): comparable, NaN included."""
    return sorted((tuple(sorted(labels.items())), t, _bits(v))
                  for labels, ts, vs, *_ in series for t, v in zip(ts, vs, strict=True))


def _back(series, metadata=META):
    body = encode_request(series, {}, metadata)
    out = translate(decode_request(body, PROTOBUF), 0)
    return [(labels, [t], [v]) for labels, t, v in out.samples]


def test_a_histogram_is_one_cumulative_point_per_series_and_time() -> None:
    series = _histogram(5000, {"0.1": 2, "0.5": 7, "+Inf": 9}, 9, 3.25, route="/pay")
    series += _histogram(5000, {"0.1": 0, "0.5": 1, "+Inf": 1}, 1, 0.4, route="/")
    metrics = _metrics(_request(series))
    assert set(metrics) == {"latency_seconds"}
    m = metrics["latency_seconds"]
    assert m.unit == "s" and m.description == "How long requests took."
    assert m.histogram.aggregation_temporality == 2  # cumulative
    points = {p.attributes[0].value.string_value: p for p in m.histogram.data_points}
    pay = points["/pay"]
    assert [kv.key for kv in pay.attributes] == ["route"]  # no le, job or instance
    assert list(pay.explicit_bounds) == [0.1, 0.5]
    assert list(pay.bucket_counts) == [2, 5, 2]  # per bucket, not cumulative
    assert pay.count == 9 and pay.sum == 3.25
    assert pay.time_unix_nano == 5000 * 10**6 and pay.start_time_unix_nano == 1000 * 10**6
    assert list(points["/"].bucket_counts) == [0, 1, 0]


def test_histograms_and_summaries_come_back_as_the_same_series() -> None:
    series = _histogram(5000, {"0.1": 2, "0.5": 7, "+Inf": 9}, 9, 3.25, route="/pay")
    base = {"job": "api", "instance": "h:1"}
    series += [({**base, "__name__": "rpc_seconds", "quantile": q}, [5000], [v], 1000)
               for q, v in (("0.5", 0.2), ("0.99", 1.5))]
    series += [({**base, "__name__": "rpc_seconds_count"}, [5000], [40.0], 1000),
               ({**base, "__name__": "rpc_seconds_sum"}, [5000], [9.5], 1000)]
    assert _metrics(_request(series))["rpc_seconds"].WhichOneof("data") == "summary"
    assert _samples(_back(series)) == _samples(series)


def test_a_group_that_cannot_be_a_point_goes_series_by_series() -> None:
    no_inf = _histogram(5000, {"0.1": 2, "0.5": 7}, 9, 3.0)
    falling = _histogram(6000, {"0.1": 5, "0.5": 3, "+Inf": 9}, 9, 3.0)
    fractional = _histogram(7000, {"0.1": 0.5, "+Inf": 9}, 9, 3.0)
    series = no_inf + falling + fractional
    metrics = _metrics(_request(series))
    assert "latency_seconds" not in metrics
    assert metrics["latency_seconds_bucket"].WhichOneof("data") == "gauge"
    assert _samples(_back(series)) == _samples(series)


def test_a_stale_histogram_is_a_point_with_no_recorded_value() -> None:
    series = _histogram(5000, {"0.1": STALE_NAN, "+Inf": STALE_NAN}, STALE_NAN, STALE_NAN)
    (point,) = _metrics(_request(series))["latency_seconds"].histogram.data_points
    assert point.flags == 1 and point.count == 0 and set(point.bucket_counts) == {0}
    assert list(point.explicit_bounds) == [0.1]  # the shape: each series gets its marker
    assert _samples(_back(series)) == _samples(series)


def test_without_metadata_every_series_is_a_gauge_as_before() -> None:
    series = _histogram(5000, {"0.1": 2, "+Inf": 9}, 9, 3.0)
    metrics = _metrics(_request(series, {}))
    assert {m.WhichOneof("data") for m in metrics.values()} == {"gauge"}


_bounds = st.lists(st.sampled_from([0.005, 0.1, 0.25, 1.0, 2.5, 10.0, math.inf]),
                   min_size=0, max_size=5, unique=True)
_value = st.one_of(st.integers(0, 50).map(float), st.sampled_from([0.5, -1.0, STALE_NAN]))


@st.composite
def _families(draw):
    series = []
    for g in range(draw(st.integers(1, 3))):
        t = draw(st.sampled_from([1000, 2000]))
        labels = {"job": "j", "g": str(g)}
        for bound in draw(_bounds):
            series.append(({**labels, "__name__": "latency_seconds_bucket",
                            "le": le_text(bound)}, [t], [draw(_value)], 1000))
        for part in draw(st.lists(st.sampled_from(["_count", "_sum"]), unique=True)):
            series.append(({**labels, "__name__": "latency_seconds" + part}, [t],
                           [draw(_value)], 1000))
        for q in draw(st.lists(st.sampled_from([0.5, 0.9, 0.99]), max_size=2, unique=True)):
            series.append(({**labels, "__name__": "rpc_seconds", "quantile": le_text(q)},
                           [t], [draw(_value)], 1000))
        if draw(st.booleans()):
            series.append(({**labels, "__name__": "rpc_seconds_count"}, [t],
                           [draw(_value)], 1000))
    return series


@settings(max_examples=300, deadline=None)
@given(_families())
def test_every_sample_comes_back_whatever_the_groups(series) -> None:
    """Valid groups as points, the rest series by series: nothing lost, nothing added."""
    seen = set()
    unique = []
    for labels, ts, vs, start in series:  # one sample per series and time, as a store has
        key = (tuple(sorted(labels.items())), ts[0])
        if key not in seen:
            seen.add(key)
            unique.append((labels, ts, vs, start))
    assert _samples(_back(unique)) == _samples(unique)
