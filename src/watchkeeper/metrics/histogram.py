"""Histogram: counts of observations in cumulative buckets, plus their sum."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from time import time
from typing import Any

from . import base
from .base import _UNSET, MetricWrapper
from .family import Metric, Sample
from .naming import make_exemplar
from .registry import REGISTRY, CollectorRegistry
from .textformat import format_exemplar
from .textformat import format_value as fmt
from .timing import Timer

INF = math.inf
DEFAULT_BUCKETS = (.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0, INF)


class HistogramChild:
    """Per-bucket (not cumulative) counts; the render accumulates them."""

    __slots__ = ("_counts", "_created", "_exemplars", "_key", "_lbl", "_sum", "_upper")
    _writes = ("observe",)

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._upper = metric._upper_bounds
        self._counts = [0] * len(self._upper)
        self._sum = 0.0
        self._created = time()
        self._exemplars: list[Any] | None = None

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        """Count ``amount`` in the first bucket whose bound is >= it (found by bisection)."""
        # No lock: each `+=` below is atomic under the GIL (see CounterChild.inc). A scrape
        # racing an observation may see the sum before the count; the next scrape agrees.
        self._sum += amount
        i = bisect_left(self._upper, amount)
        if not i and amount != amount:
            i = -1  # NaN compares false with every bound: count it in +Inf, as Go does
        self._counts[i] += 1
        if exemplar:
            self._set_exemplar(i, exemplar, amount)

    def _set_exemplar(self, i: int, labels: dict[str, str], amount: float) -> None:
        exemplars = self._exemplars
        if exemplars is None:
            exemplars = self._exemplars = [None] * len(self._upper)
        exemplars[i] = make_exemplar(labels, amount, time())

    def time(self) -> Timer:
        """Observe the duration of the block or call, in seconds (async calls too)."""
        return Timer(self, "observe")


class HistogramValueChild(HistogramChild):
    __slots__ = ("_vcounts", "_vsum")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        # Not HistogramChild.__init__: `_counts` and `_sum` are read-only properties here.
        self._key = key
        self._lbl = lbl
        self._upper = metric._upper_bounds
        self._created = time()
        self._exemplars = None
        new = metric._values
        name, doc, names = metric._name, metric._documentation, metric._labelnames
        self._vcounts = [new("histogram", name, name + "_bucket", (*names, "le"), (*key, le),
                             doc, "") for le in metric._le_strings]
        self._vsum = new("histogram", name, name + "_sum", names, key, doc, "")

    @property
    def _counts(self) -> list[float]:  # type: ignore[override]
        return [v.get() for v in self._vcounts]

    @property
    def _sum(self) -> float:  # type: ignore[override]
        return self._vsum.get()

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        self._vsum.inc(amount)
        i = bisect_left(self._upper, amount)
        if not i and amount != amount:
            i = -1
        self._vcounts[i].inc(1)
        if exemplar:
            self._set_exemplar(i, exemplar, amount)


def prepare_buckets(source: Sequence[float | str]) -> list[float]:
    buckets = [float(b) for b in source]
    if buckets != sorted(buckets):
        raise ValueError("Buckets not in sorted order")
    if buckets and buckets[-1] != INF:
        buckets.append(INF)
    if len(buckets) < 2:
        raise ValueError("Must have at least two buckets")
    return buckets


def _count_str(n: float) -> str:
    # Integral counts below 1e6 print as "N.0" in Go's format; skip the float detour.
    if n.__class__ is int and n < 1000000:
        return f"{n}.0"
    return fmt(n)


class Histogram(MetricWrapper):
    _type = "histogram"
    _reserved_labelnames = ("le",)
    _child_class = HistogramChild
    _value_child_class = HistogramValueChild
    _child_methods = ("observe", "time")
    DEFAULT_BUCKETS = DEFAULT_BUCKETS

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: CollectorRegistry | None = REGISTRY,
        _labelvalues: Sequence[str] | None = None,
        buckets: Sequence[float | str] = DEFAULT_BUCKETS,
        *,
        max_label_sets: int | None = _UNSET,
        label_set_ttl: float | None = None,
    ) -> None:
        self._upper_bounds = prepare_buckets(buckets)
        self._le_strings = [fmt(b) for b in self._upper_bounds]
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, max_label_sets=max_label_sets,
                         label_set_ttl=label_set_ttl)

    observe = MetricWrapper._missing_labels

    def time(self) -> Timer:
        return Timer(self, "observe")

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        name = self._name
        counts = child._counts
        exemplars = child._exemplars or [None] * len(counts)
        acc = 0
        for le, n, ex in zip(self._le_strings, counts, exemplars, strict=True):
            acc += n
            fam.samples.append(Sample(name + "_bucket", {**labels, "le": le}, float(acc), None,
                                      ex))
        fam.samples.append(Sample(name + "_count", labels, float(acc)))
        if self._upper_bounds[0] >= 0:
            fam.samples.append(Sample(name + "_sum", labels, child._sum))
        if base._use_created:
            fam.samples.append(Sample(name + "_created", labels, child._created))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name
        bucket = name + "_bucket"
        out.append(self._header(openmetrics))
        with_sum = self._upper_bounds[0] >= 0
        les = [f'le="{le}"}} ' for le in self._le_strings]
        use_created = base._use_created
        created: list[str] = []
        for c in self._children():
            lbl = c._lbl
            inner = bucket + (lbl[:-1] + "," if lbl else "{")
            acc = 0
            exemplars = c._exemplars if openmetrics else None
            if exemplars is None:
                for le, n in zip(les, c._counts, strict=True):
                    acc += n
                    out.append(f"{inner}{le}{_count_str(acc)}\n")
            else:
                for le, n, ex in zip(les, c._counts, exemplars, strict=True):
                    acc += n
                    tail = "\n" if ex is None else format_exemplar(ex) + "\n"
                    out.append(f"{inner}{le}{_count_str(acc)}{tail}")
            out.append(f"{name}_count{lbl} {_count_str(acc)}\n")
            if with_sum:
                out.append(f"{name}_sum{lbl} {fmt(c._sum)}\n")
            if use_created:
                (out if openmetrics else created).append(
                    f"{name}_created{lbl} {fmt(c._created)}\n")
        self._created_family(out, created)
