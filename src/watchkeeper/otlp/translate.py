"""OTLP metrics as Prometheus samples, as the OpenTelemetry-to-Prometheus compatibility
specification maps them.

- A resource's ``service.name`` (``service.namespace/service.name`` when there is a
  namespace) becomes ``job``, ``service.instance.id`` becomes ``instance``; its other
  attributes go to one ``target_info`` series (value 1) with the same ``job`` and
  ``instance``, so they can be joined on rather than copied onto every series.
- Gauges and non-monotonic sums are gauges; monotonic sums are counters (``_total``);
  histograms are ``_bucket{le}``/``_sum``/``_count``; exponential histograms become classic
  buckets at the bounds of their own scale (``base = 2^(2^-scale)``), merged to at most
  ``MAX_BUCKETS``; summaries are ``{quantile}``/``_sum``/``_count``.
- Delta temporality cannot be stored as Prometheus stores counters: the receiver makes it
  cumulative first (``delta.DeltaToCumulative``); a delta point that reaches this module is
  refused (counted, and named in the answer's ``partial_success``), the rest kept.
- A point flagged "no recorded value" becomes a staleness marker.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .naming import attribute_text, labels_of, metric_name

Sample = tuple[dict[str, str], int, float]
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
DELTA = 1
NO_RECORDED_VALUE = 1
MIN_SCALE, MAX_SCALE = -10, 20
MAX_BUCKETS = 320  # classic buckets one exponential histogram point may become
_RESOURCE_PROMOTED = ("service.name", "service.namespace", "service.instance.id")


class Translation:
    """What one request became: samples to write, metadata, and the points refused."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.samples: list[Sample] = []
        self.metadata: dict[str, tuple[str, str, str, str]] = {}
        self.rejected = 0
        self.errors: list[str] = []

    def refuse(self, points: int, why: str) -> None:
        self.rejected += points
        if len(self.errors) < 5 and why not in self.errors:
            self.errors.append(why)


@dataclass
class _Resource:
    identity: dict[str, str]  # job and instance
    info: dict[str, str]  # the rest of the resource attributes
    newest_ms: int = 0
    touched: bool = field(default=False)


def le_text(bound: float) -> str:
    """A bucket bound as Prometheus's OTLP translation writes ``le``: ``0.005``, ``1``,
    ``+Inf`` (positional digits, never an exponent)."""
    if bound == math.inf:
        return "+Inf"
    if bound == -math.inf:
        return "-Inf"
    text = format(Decimal(repr(bound)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _resource(resource: Any) -> _Resource:
    attrs = {kv.key: kv for kv in resource.attributes}
    identity: dict[str, str] = {}
    name = _text(attrs.get("service.name"))
    namespace = _text(attrs.get("service.namespace"))
    if name:
        identity["job"] = f"{namespace}/{name}" if namespace else name
    instance = _text(attrs.get("service.instance.id"))
    if instance:
        identity["instance"] = instance
    rest = [kv for kv in resource.attributes if kv.key not in _RESOURCE_PROMOTED]
    return _Resource(identity, labels_of(rest))


def _text(kv: Any) -> str:
    return "" if kv is None else attribute_text(kv.value)


def _ms(point: Any, now_ms: int) -> int:
    ns = point.time_unix_nano
    return ns // 1_000_000 if ns else now_ms


def _value(point: Any) -> float:
    kind = point.WhichOneof("value")
    if kind == "as_int":
        return float(point.as_int)
    return point.as_double if kind == "as_double" else 0.0


class _Emitter:
    """Writes the series of one point: base labels plus a name and extra labels."""

    def __init__(self, out: Translation, resource: _Resource, point: Any) -> None:
        self.out = out
        self.ts = _ms(point, out.now_ms)
        self.stale = bool(point.flags & NO_RECORDED_VALUE)
        self.base = {**labels_of(point.attributes), **resource.identity}
        resource.newest_ms = max(resource.newest_ms, self.ts)
        resource.touched = True

    def __call__(self, name: str, value: float, **extra: str) -> None:
        labels = {**self.base, **extra, "__name__": name}
        self.out.samples.append((labels, self.ts, STALE_NAN if self.stale else value))


def _buckets(emit: _Emitter, name: str, bounds: list[float], counts: list[int],
             total: int, total_sum: float | None) -> None:
    running = 0
    for bound, count in zip(bounds, counts, strict=False):
        running += count
        emit(f"{name}_bucket", float(running), le=le_text(bound))
    emit(f"{name}_bucket", float(total), le="+Inf")
    emit(f"{name}_count", float(total))
    if total_sum is not None:
        emit(f"{name}_sum", total_sum)


def _histogram(out: Translation, res: _Resource, name: str, point: Any) -> None:
    bounds = list(point.explicit_bounds)
    counts = list(point.bucket_counts)
    if counts and len(counts) != len(bounds) + 1:
        out.refuse(1, f"{name}: {len(counts)} bucket counts for {len(bounds)} bounds "
                      f"(there must be one more count than bounds)")
        return
    if any(not b < c for b, c in itertools.pairwise(bounds)) or any(b != b for b in bounds):
        out.refuse(1, f"{name}: explicit bounds are not strictly increasing")
        return
    _buckets(_Emitter(out, res, point), name, bounds, counts[:len(bounds)], point.count,
             point.sum if point.HasField("sum") else None)


def _bound(index: int, scale: int) -> float:
    """The upper bound of exponential bucket ``index`` (``base^(index+1)``)."""
    try:
        if scale <= 0:
            return math.ldexp(1.0, (index + 1) << -scale)
        return 2.0 ** ((index + 1) * 2.0 ** -scale)
    except OverflowError:
        return math.inf


def _merged(offset: int, counts: list[int], shift: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for i, c in enumerate(counts):
        if c:
            key = (offset + i) >> shift
            out[key] = out.get(key, 0) + c
    return out


def _exponential(out: Translation, res: _Resource, name: str, point: Any) -> None:
    scale = point.scale
    if not MIN_SCALE <= scale <= MAX_SCALE:
        out.refuse(1, f"{name}: exponential histogram scale {scale} is outside "
                      f"[{MIN_SCALE}, {MAX_SCALE}]")
        return
    pos, neg = list(point.positive.bucket_counts), list(point.negative.bucket_counts)
    shift = 0
    while True:  # fewer buckets at a coarser scale, as a downscaling SDK would
        positive = _merged(point.positive.offset, pos, shift)
        negative = _merged(point.negative.offset, neg, shift)
        spans = [max(b) - min(b) + 1 for b in (positive, negative) if b]
        if sum(spans) <= MAX_BUCKETS or scale - shift <= MIN_SCALE:
            break
        shift += 1
    scale -= shift
    bounds: list[float] = []
    counts: list[int] = []
    if negative:  # bucket i holds [-base^(i+1), -base^i): all of it is <= -base^i
        for i in range(max(negative), min(negative) - 1, -1):
            bounds.append(-_bound(i - 1, scale))
            counts.append(negative.get(i, 0))
    zero = point.zero_threshold if point.zero_threshold > 0 else 0.0
    bounds.append(zero)
    counts.append(point.zero_count)
    if positive:
        for i in range(min(positive), max(positive) + 1):
            bounds.append(_bound(i, scale))
            counts.append(positive.get(i, 0))
    merged_bounds: list[float] = []
    merged_counts: list[int] = []
    for b, c in zip(bounds, counts, strict=True):  # float rounding may repeat a bound
        if merged_bounds and b <= merged_bounds[-1]:
            merged_counts[-1] += c
        elif b == math.inf:
            break
        else:
            merged_bounds.append(b)
            merged_counts.append(c)
    _buckets(_Emitter(out, res, point), name, merged_bounds, merged_counts, point.count,
             point.sum if point.HasField("sum") else None)


def _summary(out: Translation, res: _Resource, name: str, point: Any) -> None:
    emit = _Emitter(out, res, point)
    for q in point.quantile_values:
        emit(name, q.value, quantile=le_text(q.quantile))
    emit(f"{name}_count", float(point.count))
    emit(f"{name}_sum", point.sum)


def _metric(out: Translation, res: _Resource, metric: Any) -> None:
    kind = metric.WhichOneof("data")
    unit, help_text = metric.unit, metric.description
    if kind == "gauge":
        name = metric_name(metric.name, unit, "gauge")
        out.metadata[name] = (name, "gauge", help_text, unit)
        for p in metric.gauge.data_points:
            _Emitter(out, res, p)(name, _value(p))
    elif kind == "sum":
        data = metric.sum
        counter = data.is_monotonic
        name = metric_name(metric.name, unit, "counter" if counter else "gauge")
        if counter and data.aggregation_temporality == DELTA:
            out.refuse(len(data.data_points), f"{name}: delta temporality is not taken "
                       "(configure the exporter for cumulative temporality)")
            return
        out.metadata[name] = (name, "counter" if counter else "gauge", help_text, unit)
        for p in data.data_points:
            _Emitter(out, res, p)(name, _value(p))
    elif kind in ("histogram", "exponential_histogram"):
        data = getattr(metric, kind)
        name = metric_name(metric.name, unit, "histogram")
        if data.aggregation_temporality == DELTA:
            out.refuse(len(data.data_points), f"{name}: delta temporality is not taken "
                       "(configure the exporter for cumulative temporality)")
            return
        out.metadata[name] = (name, "histogram", help_text, unit)
        convert = _histogram if kind == "histogram" else _exponential
        for p in data.data_points:
            convert(out, res, name, p)
    elif kind == "summary":
        name = metric_name(metric.name, unit, "summary")
        out.metadata[name] = (name, "summary", help_text, unit)
        for p in metric.summary.data_points:
            _summary(out, res, name, p)


def translate(request: Any, now_ms: int) -> Translation:
    """Every point of an ``ExportMetricsServiceRequest`` as samples (see the module doc)."""
    out = Translation(now_ms)
    for rm in request.resource_metrics:
        res = _resource(rm.resource)
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                _metric(out, res, metric)
        if res.touched and res.info:
            out.samples.append(({**res.info, **res.identity, "__name__": "target_info"},
                                res.newest_ms, 1.0))
    return out
