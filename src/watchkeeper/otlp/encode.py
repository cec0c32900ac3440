"""Stored series as an OTLP ``ExportMetricsServiceRequest``, the way the compatibility
specification maps Prometheus data to OpenTelemetry:

- ``job`` becomes ``service.name`` (``ns/name`` splits into ``service.namespace`` and
  ``service.name``), ``instance`` becomes ``service.instance.id``; one ResourceMetrics per
  (job, instance), plus the exporter's own ``resource_attributes``;
- a counter (by its family's metadata from scrapes, pushes and our own metrics; without
  metadata, a name ending in ``_total``) is a monotonic cumulative Sum, its start time when
  this process first saw the series;
- a histogram's ``_bucket``/``_count``/``_sum`` at one time are one cumulative Histogram
  point, a summary's quantiles, count and sum one Summary point, named by the family
  (``families``); a group that cannot make a valid point goes series by series;
- every other series is a Gauge; the family's help is the description and its unit the UCUM
  unit (``seconds`` → ``s``); the other labels are attributes;
- a staleness marker is a point flagged "no recorded value".

So OTLP in (``translate``) of what this writes gives back the same series.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

from .families import Metadata, Point, Series, gather
from .naming import UNITS
from .translate import NO_RECORDED_VALUE

STALE_BITS = 0x7FF0000000000002
_CUMULATIVE = 2
_DOUBLE = struct.Struct("<d")


def _is_stale(value: float) -> bool:
    return value != value and struct.unpack("<Q", _DOUBLE.pack(value))[0] == STALE_BITS


def _resource(job: str, instance: str, extra: Mapping[str, str]) -> dict[str, str]:
    out = dict(extra)
    if job:
        namespace, _, name = job.rpartition("/")
        out["service.name"] = name
        if namespace:
            out["service.namespace"] = namespace
    if instance:
        out["service.instance.id"] = instance
    return out


def _attributes(target: Any, attrs: Iterable[tuple[str, str]]) -> None:
    for key, value in attrs:
        kv = target.add()
        kv.key = key
        kv.value.string_value = value


_PARTS = ("_bucket", "_count", "_sum")
_UCUM = {words: code for code, words in UNITS.items()}  # Prometheus unit -> UCUM (seconds: s)


def describe(name: str, metadata: Metadata) -> tuple[bool, str, str]:
    """(is a counter, description, UCUM unit) of the series called ``name``, from its
    family's metadata: the family itself, a counter's ``_total``, or a histogram's or
    summary's ``_bucket``/``_count``/``_sum``. Without metadata, ``_total`` means counter."""
    meta = metadata.get(name)
    if meta is not None and meta[0] not in ("unknown", "untyped", ""):
        return meta[0] == "counter", meta[1], _UCUM.get(meta[2], meta[2])
    if name.endswith("_total"):
        meta = metadata.get(name[:-6])
        if meta is not None and meta[0] == "counter":
            return True, meta[1], _UCUM.get(meta[2], meta[2])
    for part in _PARTS:
        if name.endswith(part):
            meta = metadata.get(name[:-len(part)])
            if meta is not None and meta[0] in ("histogram", "summary", "gaugehistogram"):
                return False, meta[1], _UCUM.get(meta[2], meta[2])
    return name.endswith("_total"), "", ""


def encode_request(series: Iterable[Series], resource_attributes: Mapping[str, str],
                   metadata: Metadata | None = None) -> bytes:
    """A serialized request holding every point of ``series`` (labels, timestamps in ms,
    values, first-seen ms for counters), typed by ``metadata``."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    request = ExportMetricsServiceRequest()
    resources: dict[tuple[str, str], Any] = {}
    metrics: dict[tuple[str, str, str], Any] = {}

    def scope_of(job: str, instance: str) -> Any:
        scope = resources.get((job, instance))
        if scope is None:
            rm = request.resource_metrics.add()
            _attributes(rm.resource.attributes,
                        sorted(_resource(job, instance, resource_attributes).items()))
            scope = rm.scope_metrics.add()
            scope.scope.name = "watchkeeper"
            resources[(job, instance)] = scope
        return scope

    metadata = metadata or {}
    grouped, series = gather(list(series), metadata, _is_stale)
    families: dict[tuple[str, str, str], Any] = {}  # apart: a summary shares its name
    for (job, instance, family, _), points in grouped.items():
        metric = families.get((job, instance, family))
        if metric is None:
            metric = families[(job, instance, family)] = scope_of(job, instance).metrics.add()
            metric.name = family
            kind, help_text, unit = metadata[family]
            metric.description, metric.unit = help_text, _UCUM.get(unit, unit)
            if kind == "histogram":
                metric.histogram.aggregation_temporality = _CUMULATIVE
            else:
                metric.summary.SetInParent()
        _add_points(metric, points)
    for labels, ts, values, start_ms in series:
        job, instance = labels.get("job", ""), labels.get("instance", "")
        scope = scope_of(job, instance)
        name = labels.get("__name__", "")
        metric = metrics.get((job, instance, name))
        if metric is None:
            metric = scope.metrics.add()
            metric.name = name
            cumulative, help_text, unit = describe(name, metadata)
            metric.description, metric.unit = help_text, unit
            if cumulative:
                metric.sum.is_monotonic = True
                metric.sum.aggregation_temporality = _CUMULATIVE
            metrics[(job, instance, name)] = metric
        points = (metric.sum if metric.WhichOneof("data") == "sum" else metric.gauge).data_points
        attrs = [(k, v) for k, v in sorted(labels.items())
                 if k not in ("__name__", "job", "instance")]
        for t, v in zip(ts, values, strict=True):
            point = points.add()
            _attributes(point.attributes, attrs)
            point.time_unix_nano = t * 1_000_000
            if metric.WhichOneof("data") == "sum":
                point.start_time_unix_nano = min(start_ms, t) * 1_000_000
            if _is_stale(v):
                point.flags = NO_RECORDED_VALUE
            else:
                point.as_double = v
    return request.SerializeToString()


def _add_points(metric: Any, points: list[Point]) -> None:
    """Histogram or summary points of one family (cumulative, as stored)."""
    data = metric.histogram if metric.WhichOneof("data") == "histogram" else metric.summary
    for p in points:
        point = data.data_points.add()
        _attributes(point.attributes, p.attributes)
        point.time_unix_nano = p.time_ms * 1_000_000
        point.start_time_unix_nano = p.start_ms * 1_000_000
        if p.stale:
            point.flags = NO_RECORDED_VALUE
        point.count = p.count
        if p.sum is not None:
            point.sum = 0.0 if p.stale else p.sum
        if p.kind == "summary":
            for q, v in p.quantiles:
                value = point.quantile_values.add()
                value.quantile, value.value = q, (0.0 if p.stale else v)
        else:
            point.explicit_bounds.extend(p.bounds)
            point.bucket_counts.extend(p.bucket_counts)
