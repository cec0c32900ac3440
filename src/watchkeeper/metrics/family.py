"""Metric families and samples: the one data model every collector yields.

It mirrors prometheus_client's ``metrics_core`` so custom collectors written for it work
unchanged: ``collect()`` yields families, each with a name, help, type, unit and samples.
The renderers, the parser, the scraper and the store all speak these types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .textformat import format_value

METRIC_TYPES = frozenset(
    {"counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset"}
)
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABEL_PREFIX = "__"


class Exemplar(NamedTuple):
    """A trace pointer attached to a counter or bucket sample (OpenMetrics)."""

    labels: dict[str, str]
    value: float
    timestamp: float | None = None


class Sample(NamedTuple):
    """One line of exposition: full sample name (with suffix), labels, value, seconds."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None
    exemplar: Exemplar | None = None


class Metric:
    """A metric family. ``name`` has no ``_total``/``_info`` suffix, as in OpenMetrics."""

    __slots__ = ("documentation", "name", "samples", "type", "unit")

    def __init__(self, name: str, documentation: str, typ: str, unit: str = "") -> None:
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        if not METRIC_NAME_RE.match(name):
            raise ValueError(f"invalid metric name: {name!r}")
        if typ not in METRIC_TYPES:
            raise ValueError(f"invalid metric type: {typ!r}")
        self.name = name
        self.documentation = documentation
        self.unit = unit
        self.type = typ
        self.samples: list[Sample] = []

    def add_sample(
        self,
        name: str,
        labels: dict[str, str],
        value: float,
        timestamp: float | None = None,
        exemplar: Exemplar | None = None,
    ) -> None:
        self.samples.append(Sample(name, labels, value, timestamp, exemplar))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    def __repr__(self) -> str:
        return (
            f"Metric({self.name!r}, {self.documentation!r}, {self.type!r}, "
            f"{self.unit!r}, {self.samples!r})"
        )


def _check_labels(labels: Sequence[str] | None, value: object) -> Sequence[str]:
    if labels is not None and value is not None:
        raise ValueError("pass either value or labels, not both")
    return labels or ()


class CounterMetricFamily(Metric):
    """A counter for custom collectors; ``_total`` is stripped from the family name."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        created: float | None = None,
        unit: str = "",
        exemplar: Exemplar | None = None,
    ) -> None:
        if name.endswith("_total"):
            name = name[:-6]
        super().__init__(name, documentation, "counter", unit)
        self._labelnames = tuple(_check_labels(labels, value))
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: float | None = None,
        timestamp: float | None = None,
        exemplar: Exemplar | None = None,
    ) -> None:
        lbl = dict(zip(self._labelnames, labels, strict=True))
        self.samples.append(Sample(self.name + "_total", lbl, value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", lbl, created, timestamp))


class GaugeMetricFamily(Metric):
    def __init__(
        self,
        name: str,
        documentation: str,
        value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "gauge", unit)
        self._labelnames = tuple(_check_labels(labels, value))
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: float, timestamp: float | None = None
    ) -> None:
        lbl = dict(zip(self._labelnames, labels, strict=True))
        self.samples.append(Sample(self.name, lbl, value, timestamp))


class UnknownMetricFamily(GaugeMetricFamily):
    def __init__(self, name: str, documentation: str, value: float | None = None,
                 labels: Sequence[str] | None = None, unit: str = "") -> None:
        super().__init__(name, documentation, value, labels, unit)
        self.type = "unknown"


UntypedMetricFamily = UnknownMetricFamily


class SummaryMetricFamily(Metric):
    def __init__(
        self,
        name: str,
        documentation: str,
        count_value: float | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, "summary", unit)
        if (count_value is None) != (sum_value is None):
            raise ValueError("count_value and sum_value go together")
        self._labelnames = tuple(_check_labels(labels, count_value))
        if count_value is not None:
            self.add_metric([], count_value, sum_value)  # type: ignore[arg-type]

    def add_metric(
        self,
        labels: Sequence[str],
        count_value: float,
        sum_value: float,
        timestamp: float | None = None,
        quantiles: Iterable[tuple[float, float]] = (),
    ) -> None:
        lbl = dict(zip(self._labelnames, labels, strict=True))
        for q, v in quantiles:
            self.samples.append(Sample(self.name, {**lbl, "quantile": _fmt_le(q)}, v, timestamp))
        self.samples.append(Sample(self.name + "_count", lbl, count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", lbl, sum_value, timestamp))


class HistogramMetricFamily(Metric):
    _type = "histogram"
    _sum_suffix = "_sum"
    _count_suffix = "_count"

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[tuple[str | float, float]] | None = None,
        sum_value: float | None = None,
        labels: Sequence[str] | None = None,
        unit: str = "",
    ) -> None:
        super().__init__(name, documentation, self._type, unit)
        self._labelnames = tuple(_check_labels(labels, buckets))
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: Sequence[tuple[str | float, float] | tuple[str | float, float, Exemplar | None]],
        sum_value: float | None,
        timestamp: float | None = None,
    ) -> None:
        """``buckets`` are cumulative ``(le, count[, exemplar])`` ending with ``+Inf``."""
        lbl = dict(zip(self._labelnames, labels, strict=True))
        for b in buckets:
            le, count = b[0], b[1]
            exemplar = b[2] if len(b) > 2 else None  # type: ignore[misc]
            self.samples.append(
                Sample(self.name + "_bucket", {**lbl, "le": _fmt_le(le)}, count, timestamp,
                       exemplar)
            )
        if sum_value is not None:
            # The count equals the +Inf bucket, as the formats require.
            self.samples.append(Sample(self.name + self._count_suffix, lbl, buckets[-1][1],
                                       timestamp))
            self.samples.append(Sample(self.name + self._sum_suffix, lbl, sum_value, timestamp))


class GaugeHistogramMetricFamily(HistogramMetricFamily):
    _type = "gaugehistogram"
    _sum_suffix = "_gsum"
    _count_suffix = "_gcount"

    def __init__(self, name: str, documentation: str,
                 buckets: Sequence[tuple[str | float, float]] | None = None,
                 gsum_value: float | None = None, labels: Sequence[str] | None = None,
                 unit: str = "") -> None:
        super().__init__(name, documentation, buckets, gsum_value, labels, unit)


class InfoMetricFamily(Metric):
    def __init__(
        self,
        name: str,
        documentation: str,
        value: dict[str, str] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        if name.endswith("_info"):
            name = name[:-5]
        super().__init__(name, documentation, "info")
        self._labelnames = tuple(_check_labels(labels, value))
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: dict[str, str], timestamp: float | None = None
    ) -> None:
        lbl = dict(zip(self._labelnames, labels, strict=True))
        self.samples.append(Sample(self.name + "_info", {**lbl, **value}, 1.0, timestamp))


class StateSetMetricFamily(Metric):
    def __init__(
        self,
        name: str,
        documentation: str,
        value: dict[str, bool] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name, documentation, "stateset")
        self._labelnames = tuple(_check_labels(labels, value))
        if value is not None:
            self.add_metric([], value)

    def add_metric(
        self, labels: Sequence[str], value: dict[str, bool], timestamp: float | None = None
    ) -> None:
        lbl = dict(zip(self._labelnames, labels, strict=True))
        for state, enabled in sorted(value.items()):
            self.samples.append(
                Sample(self.name, {**lbl, self.name: state}, 1.0 if enabled else 0.0, timestamp)
            )


def _fmt_le(v: str | float) -> str:
    """Bucket bounds and quantiles as our Histogram writes them: 0.5, 1.0, 1e+06, +Inf."""
    return v if isinstance(v, str) else format_value(v)
