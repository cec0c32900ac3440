"""A histogram's or summary's series gathered back into one OTLP point per (series, time).

Stored data has a histogram as ``X_bucket{le}``, ``X_count`` and ``X_sum`` and a summary as
``X{quantile}``, ``X_count`` and ``X_sum``; OTLP backends want one ``HistogramDataPoint``
(non-cumulative bucket counts, explicit bounds) or ``SummaryDataPoint``. The family's type
comes from the metadata (scrapes, pushes, our own metrics); a group that cannot be a valid
point (no ``_count``, no ``+Inf`` bucket, counts that are not whole or fall as ``le``
grows, stale and live parts mixed) is left to be sent series by series, as gauges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .translate import le_text

Series = tuple[Mapping[str, str], list[int], list[float], int]  # labels, ts, values, start
Metadata = Mapping[str, tuple[str, str, str]]  # family -> (type, help, unit)
GroupKey = tuple[str, str, str, tuple[tuple[str, str], ...]]  # job, instance, family, attrs
_OWN = frozenset({"__name__", "job", "instance"})


@dataclass
class Parts:
    """What one (series, time) of a family has so far."""

    kind: str  # "histogram" or "summary"
    start_ms: int
    points: dict[float, float] = field(default_factory=dict)  # le or quantile -> value
    count: float | None = None
    sum: float | None = None
    stale: int = 0  # parts that are staleness markers
    seen: int = 0
    where: list[tuple[int, int]] = field(default_factory=list)  # (series index, point index)


@dataclass
class Point:
    """One histogram or summary point, ready to encode."""

    kind: str  # "histogram" or "summary"
    attributes: list[tuple[str, str]]
    time_ms: int
    start_ms: int
    count: int
    sum: float | None
    stale: bool
    bounds: list[float] = field(default_factory=list)  # histograms: finite bounds, rising
    bucket_counts: list[int] = field(default_factory=list)  # one more than bounds
    quantiles: list[tuple[float, float]] = field(default_factory=list)  # summaries


def _role(name: str, labels: Mapping[str, str], metadata: Metadata
          ) -> tuple[str, str, str, float | None] | None:
    """(family, kind, part, le/quantile) of a series that belongs to a histogram or
    summary, or None."""
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            family = name[:-len(suffix)]
            meta = metadata.get(family)
            if meta is None or meta[0] not in ("histogram", "summary"):
                continue
            if suffix == "_bucket":
                if meta[0] != "histogram":
                    return None
                bound = _number(labels.get("le"))
                return None if bound is None else (family, "histogram", "bucket", bound)
            return family, meta[0], suffix[1:], None
    meta = metadata.get(name)
    if meta is not None and meta[0] == "summary":
        q = _number(labels.get("quantile"))
        return None if q is None else (name, "summary", "quantile", q)
    return None


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return None if value is None or value != value else value


def _whole(value: float) -> bool:
    return math.isfinite(value) and value >= 0 and value == int(value)


def gather(series: list[Series], metadata: Metadata, is_stale
           ) -> tuple[dict[GroupKey, list[Point]], list[Series]]:
    """Split ``series`` into histogram/summary points by (job, instance, family, attributes)
    and the series left to send as they are (with only their points not gathered)."""
    groups: dict[tuple[GroupKey, int], Parts] = {}
    for index, (labels, stamps, values, start_ms) in enumerate(series):
        role = _role(labels.get("__name__", ""), labels, metadata)
        if role is None:
            continue
        family, kind, part, at = role
        attrs = tuple(sorted((k, v) for k, v in labels.items()
                             if k not in _OWN and k != ("le" if part == "bucket" else
                                                       "quantile")))
        key = (labels.get("job", ""), labels.get("instance", ""), family, attrs)
        for point_index, (t, v) in enumerate(zip(stamps, values, strict=True)):
            parts = groups.get((key, t))
            if parts is None:
                parts = groups[(key, t)] = Parts(kind, start_ms)
            parts.start_ms = min(parts.start_ms, start_ms)
            parts.where.append((index, point_index))
            parts.seen += 1
            if is_stale(v):
                parts.stale += 1
            if part in ("bucket", "quantile"):
                if le_text(at) == labels["le" if part == "bucket" else "quantile"]:  # type: ignore[arg-type]
                    parts.points[at] = v  # type: ignore[index]
                # (else not counted: a bound OTLP in would write otherwise spoils the group)
            elif part == "count":
                parts.count = v
            else:
                parts.sum = v
    out: dict[GroupKey, list[Point]] = {}
    taken: set[tuple[int, int]] = set()
    for (key, t), parts in groups.items():
        point = _point(key[3], t, parts)
        if point is not None:
            out.setdefault(key, []).append(point)
            taken.update(parts.where)
    return out, _rest(series, taken)


def _point(attrs: tuple[tuple[str, str], ...], t: int, parts: Parts) -> Point | None:
    if parts.count is None or parts.seen != len(parts.points) + 1 + (parts.sum is not None):
        return None  # no count, or a part twice / not as OTLP in would write it back
    if parts.kind == "summary" and parts.sum is None:
        return None  # an OTLP summary always has a sum
    if parts.kind == "histogram" and math.inf not in parts.points:
        return None
    if parts.stale and parts.stale != parts.seen:
        return None
    stale = bool(parts.stale)
    if not stale and not _whole(parts.count):
        return None
    point = Point(parts.kind, list(attrs), t, min(parts.start_ms, t),
                  0 if stale else int(parts.count), parts.sum, stale)
    if parts.kind == "summary":
        point.quantiles = sorted(parts.points.items())
        return point
    if not stale and parts.points[math.inf] != parts.count:
        return None
    previous = 0.0
    for bound, cumulative in sorted(parts.points.items()):
        if bound != math.inf:
            point.bounds.append(bound)
        if stale:  # the shape alone: OTLP in gives each series its staleness marker back
            point.bucket_counts.append(0)
            continue
        if not _whole(cumulative) or cumulative < previous:
            return None
        point.bucket_counts.append(int(cumulative - previous))
        previous = cumulative
    return point


def _rest(series: list[Series], taken: set[tuple[int, int]]) -> list[Series]:
    if not taken:
        return series
    out: list[Series] = []
    for index, (labels, stamps, values, start_ms) in enumerate(series):
        keep = [i for i in range(len(stamps)) if (index, i) not in taken]
        if len(keep) == len(stamps):
            out.append((labels, stamps, values, start_ms))
        elif keep:
            out.append((labels, [stamps[i] for i in keep], [values[i] for i in keep],
                        start_ms))
    return out

