"""Delta points made cumulative per stream, with deltatocumulative's rules: the first point
starts a stream, later ones add, older starts and points not newer are refused, histograms
add bucket by bucket (exponential ones at the coarser scale), changed bounds restart the
stream, stale streams are forgotten and the number of streams is capped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from tests.otlp.test_translate import kv, request

from watchkeeper.otlp import translate
from watchkeeper.otlp.delta import DeltaToCumulative

D = pb.AGGREGATION_TEMPORALITY_DELTA
S = 1_000_000_000  # a second in ns


def delta_sum(*points: tuple[float, int, int], monotonic: bool = True, name: str = "jobs",
              attrs: dict | None = None) -> pb.Metric:
    return pb.Metric(name=name, sum=pb.Sum(is_monotonic=monotonic, aggregation_temporality=D,
                     data_points=[pb.NumberDataPoint(
                         as_int=int(v), start_time_unix_nano=s * S, time_unix_nano=t * S,
                         attributes=[kv(k, x) for k, x in (attrs or {}).items()])
                         for v, s, t in points]))


def stored(acc: DeltaToCumulative, *metrics: pb.Metric) -> tuple[dict, int, list[str]]:
    req = request(*metrics, resource={"service.name": "svc"})
    refused = acc.convert(req)
    out = translate(req, 0)
    assert out.rejected == 0  # nothing delta is left for translate to refuse
    values = {}
    for labels, ts, v in out.samples:
        key = labels["__name__"] + (f"{{le={labels['le']}}}" if "le" in labels else "")
        values.setdefault(key, []).append((ts, v))
    return values, sum(n for n, _ in refused), [why for _, why in refused]


def test_sums_accumulate_and_bad_points_are_refused() -> None:
    acc = DeltaToCumulative()
    got, refused, _ = stored(acc, delta_sum((5, 5, 10)))
    assert got == {"jobs_total": [(10_000, 5.0)]} and refused == 0
    got, _, _ = stored(acc, delta_sum((3, 10, 20), (2, 20, 30)))
    assert got == {"jobs_total": [(20_000, 8.0), (30_000, 10.0)]}
    got, refused, why = stored(acc, delta_sum((7, 20, 30), (1, 30, 25)))
    assert got == {} and refused == 2 and "out of order" in why[0]
    got, refused, why = stored(acc, delta_sum((1, 0, 40)))  # starts before the stream did
    assert got == {} and refused == 1 and "starting before" in why[0]
    got, _, _ = stored(acc, delta_sum((4, 40, 50), attrs={"queue": "b"}))  # its own stream
    assert got == {"jobs_total": [(50_000, 4.0)]}
    got, _, _ = stored(acc, delta_sum((-2, 0, 10), monotonic=False, name="depth"),
                       delta_sum((1, 50, 60)))
    assert got == {"depth": [(10_000, -2.0)], "jobs_total": [(60_000, 11.0)]}


def test_a_stream_is_its_resource_scope_metric_and_attributes() -> None:
    acc = DeltaToCumulative()
    for svc, value in (("a", 1), ("b", 10), ("a", 2)):
        req = request(delta_sum((value, 0, 1 + value)), resource={"service.name": svc})
        acc.convert(req)
        last = req.resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0].as_int
    assert last == 3 and len(acc) == 2


def histogram(counts: list[int], bounds: list[float], start: int, t: int,
              total: float) -> pb.Metric:
    return pb.Metric(name="latency", unit="s", histogram=pb.Histogram(
        aggregation_temporality=D, data_points=[pb.HistogramDataPoint(
            start_time_unix_nano=start * S, time_unix_nano=t * S, count=sum(counts),
            sum=total, bucket_counts=counts, explicit_bounds=bounds, min=0.1, max=total)]))


def test_histograms_add_bucket_by_bucket_and_new_bounds_restart() -> None:
    acc = DeltaToCumulative()
    stored(acc, histogram([1, 2, 0], [0.1, 1.0], 0, 10, 2.0))
    got, _, _ = stored(acc, histogram([0, 1, 3], [0.1, 1.0], 10, 20, 9.0))
    assert got["latency_seconds_bucket{le=0.1}"] == [(20_000, 1.0)]
    assert got["latency_seconds_bucket{le=1}"] == [(20_000, 4.0)]
    assert got["latency_seconds_bucket{le=+Inf}"] == [(20_000, 7.0)]
    assert got["latency_seconds_sum"] == [(20_000, 11.0)]
    got, _, _ = stored(acc, histogram([2, 2], [5.0], 20, 30, 3.0))  # new bounds: a restart
    assert got["latency_seconds_count"] == [(30_000, 4.0)]
    got, _, _ = stored(acc, histogram([1, 0], [5.0], 30, 40, 1.0))
    assert got["latency_seconds_count"] == [(40_000, 5.0)]


def exponential(scale: int, offset: int, counts: list[int], start: int, t: int,
                zero: int = 0) -> pb.Metric:
    return pb.Metric(name="size", unit="By", exponential_histogram=pb.ExponentialHistogram(
        aggregation_temporality=D, data_points=[pb.ExponentialHistogramDataPoint(
            start_time_unix_nano=start * S, time_unix_nano=t * S, scale=scale,
            zero_count=zero, count=sum(counts) + zero, sum=1.0,
            positive=pb.ExponentialHistogramDataPoint.Buckets(offset=offset,
                                                              bucket_counts=counts))]))


def test_exponential_histograms_merge_at_the_coarser_scale() -> None:
    acc = DeltaToCumulative()
    # scale 1: buckets (2^(i/2), 2^((i+1)/2)]; indexes 2, 3 are (2, 2.83], (2.83, 4]
    stored(acc, exponential(1, 2, [1, 1], 0, 10, zero=1))
    # scale 0: bucket 1 is (2, 4], bucket 2 is (4, 8]
    got, _, _ = stored(acc, exponential(0, 1, [2, 5], 10, 20))
    assert got["size_bytes_count"] == [(20_000, 10.0)]
    assert got["size_bytes_bucket{le=0}"] == [(20_000, 1.0)]
    assert got["size_bytes_bucket{le=4}"] == [(20_000, 5.0)]  # zero, then 2 + 2 in (2, 4]
    assert got["size_bytes_bucket{le=8}"] == [(20_000, 10.0)]


def test_far_apart_exponential_points_merge_into_a_bounded_number_of_buckets() -> None:
    acc = DeltaToCumulative()
    req = request(exponential(20, 0, [1], 0, 10), resource={"service.name": "svc"})
    acc.convert(req)
    far = request(exponential(20, 20 << 20, [1], 10, 20), resource={"service.name": "svc"})
    acc.convert(far)  # 2^20 x 2^20 indexes apart at scale 20: merged at a coarser scale
    point = far.resource_metrics[0].scope_metrics[0].metrics[0] \
        .exponential_histogram.data_points[0]
    assert len(point.positive.bucket_counts) <= 160 and point.count == 2
    assert sum(point.positive.bucket_counts) == 2 and point.scale < 20


def test_stale_streams_are_forgotten_and_streams_are_capped() -> None:
    now = [0.0]
    acc = DeltaToCumulative(max_stale=60, max_streams=2, clock=lambda: now[0])
    stored(acc, delta_sum((1, 0, 1), attrs={"k": "a"}), delta_sum((1, 0, 1), attrs={"k": "b"}))
    got, refused, why = stored(acc, delta_sum((1, 0, 1), attrs={"k": "c"}))
    assert got == {} and refused == 1 and "over 2 delta streams" in why[0]
    now[0] = 30.0
    stored(acc, delta_sum((1, 1, 2), attrs={"k": "a"}))
    now[0] = 80.0  # b unseen for 80 s: gone; a seen 50 s ago: kept
    got, refused, _ = stored(acc, delta_sum((5, 0, 3), attrs={"k": "c"}))
    assert refused == 0 and got == {"jobs_total": [(3_000, 5.0)]} and len(acc) == 2
    got, _, _ = stored(acc, delta_sum((1, 2, 4), attrs={"k": "a"}))
    assert got == {"jobs_total": [(4_000, 3.0)]}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(-3, 3)), min_size=1,
                max_size=30))
def test_any_sequence_of_deltas_totals_what_was_taken(steps) -> None:
    """Whatever order points come in, the stored total is the sum of the points taken."""
    acc = DeltaToCumulative()
    t, taken, last_total = 10, 0, None
    for value, jump in steps:
        t_point = t + jump
        got, refused, _ = stored(acc, delta_sum((value, 0, t_point)))
        if refused:
            assert got == {}
            continue
        taken += value
        last_total = got["jobs_total"][-1][1]
        assert last_total == taken
        t = max(t, t_point)
    assert last_total is None or last_total == taken
