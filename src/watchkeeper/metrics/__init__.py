"""Instrumentation: metric types, the registry and the family data model (stdlib only)."""

from .base import (
    OVERFLOW_MARKER,
    disable_created_metrics,
    enable_created_metrics,
    set_default_max_label_sets,
)
from .counter import Counter
from .family import (
    CounterMetricFamily,
    Exemplar,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    Sample,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from .gauge import Gauge
from .histogram import Histogram
from .info_enum import Enum, Info
from .registry import REGISTRY, CollectorRegistry
from .summary import Summary

__all__ = [
    "OVERFLOW_MARKER",
    "REGISTRY",
    "CollectorRegistry",
    "Counter",
    "CounterMetricFamily",
    "Enum",
    "Exemplar",
    "Gauge",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "Histogram",
    "HistogramMetricFamily",
    "Info",
    "InfoMetricFamily",
    "Metric",
    "Sample",
    "StateSetMetricFamily",
    "Summary",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
    "disable_created_metrics",
    "enable_created_metrics",
    "set_default_max_label_sets",
]

from . import runtime as _runtime  # noqa: F401  registers process/python collectors
