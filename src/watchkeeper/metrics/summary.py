"""Summary: count and sum of observations, plus quantiles over a sliding time window."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from time import time
from typing import Any

from . import base
from .base import _UNSET, MetricWrapper
from .family import Metric, Sample
from .quantiles import DEFAULT_AGE_BUCKETS, DEFAULT_MAX_AGE, DEFAULT_QUANTILES, QuantileWindow
from .registry import REGISTRY, CollectorRegistry
from .textformat import format_value as fmt
from .timing import Timer

# Observations buffered before they are folded into the window (also folded at scrape).
FLUSH_EVERY = 512


class SummaryChild:
    """Count and sum only (``quantiles=()``, or multiprocess mode)."""

    __slots__ = ("_count", "_created", "_key", "_lbl", "_sum")
    _writes = ("observe",)

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._count = 0
        self._sum = 0.0
        self._created = time()

    def observe(self, amount: float) -> None:
        # No lock: each `+=` is atomic under the GIL (see CounterChild.inc).
        self._count += 1
        self._sum += amount

    def time(self) -> Timer:
        """Observe the duration of the block or call, in seconds (async calls too)."""
        return Timer(self, "observe")

    def quantile_values(self) -> list[float]:
        return []


class QuantileSummaryChild(SummaryChild):
    """Also keeps recent observations for quantiles: one list append per observation."""

    __slots__ = ("_buf", "_quantiles", "_window")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        super().__init__(metric, key, lbl)
        self._quantiles = metric._quantiles
        self._window = QuantileWindow(metric._max_age, metric._age_buckets)
        self._buf: list[float] = []

    def observe(self, amount: float) -> None:
        self._count += 1
        self._sum += amount
        buf = self._buf
        buf.append(amount)  # one C call: atomic under the GIL
        if len(buf) >= FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        # Swapping the list is two bytecodes with no switch point between them, so an
        # append lands either in the batch taken here or in the new list, never lost.
        batch = self._buf
        self._buf = []
        if batch:
            self._window.add(batch)

    def quantile_values(self) -> list[float]:
        self._flush()
        return self._window.quantiles(self._quantiles)


class SummaryValueChild(SummaryChild):
    __slots__ = ("_vcount", "_vsum")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        # Not SummaryChild.__init__: `_count` and `_sum` are read-only properties here.
        self._key = key
        self._lbl = lbl
        self._created = time()
        new = metric._values
        name, doc, names = metric._name, metric._documentation, metric._labelnames
        self._vcount = new("summary", name, name + "_count", names, key, doc, "")
        self._vsum = new("summary", name, name + "_sum", names, key, doc, "")

    @property
    def _count(self) -> float:  # type: ignore[override]
        return self._vcount.get()

    @property
    def _sum(self) -> float:  # type: ignore[override]
        return self._vsum.get()

    def observe(self, amount: float) -> None:
        self._vcount.inc(1)
        self._vsum.inc(amount)


class Summary(MetricWrapper):
    """``quantiles`` (default 0.5, 0.9, 0.99) are computed over the last ``max_age`` seconds
    split in ``age_buckets`` steps; pass ``quantiles=()`` for count and sum only."""

    _type = "summary"
    _reserved_labelnames = ("quantile",)
    _child_class = QuantileSummaryChild
    _value_child_class = SummaryValueChild
    _child_methods = ("observe", "time")

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
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        max_age: float = DEFAULT_MAX_AGE,
        age_buckets: int = DEFAULT_AGE_BUCKETS,
        *,
        max_label_sets: int | None = _UNSET,
        label_set_ttl: float | None = None,
    ) -> None:
        self._quantiles = tuple(float(q) for q in quantiles)
        for q in self._quantiles:
            if not 0.0 <= q <= 1.0:
                raise ValueError(f"quantile {q} is not between 0 and 1")
        if max_age <= 0 or age_buckets < 1:
            raise ValueError("max_age must be positive and age_buckets at least 1")
        self._max_age = float(max_age)
        self._age_buckets = int(age_buckets)
        self._q_strings = [fmt(q) for q in self._quantiles]
        if not self._quantiles:
            self._child_class = SummaryChild
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, max_label_sets=max_label_sets,
                         label_set_ttl=label_set_ttl)

    observe = MetricWrapper._missing_labels

    def time(self) -> Timer:
        return Timer(self, "observe")

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        name = self._name
        for q, v in zip(self._q_strings, child.quantile_values(), strict=False):
            fam.samples.append(Sample(name, {**labels, "quantile": q}, v))
        fam.samples.append(Sample(name + "_count", labels, float(child._count)))
        fam.samples.append(Sample(name + "_sum", labels, child._sum))
        if base._use_created:
            fam.samples.append(Sample(name + "_created", labels, child._created))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name
        out.append(self._header(openmetrics))
        qs = [f'quantile="{q}"}} ' for q in self._q_strings]
        use_created = base._use_created
        created: list[str] = []
        for c in self._children():
            lbl = c._lbl
            inner = name + (lbl[:-1] + "," if lbl else "{")
            for q, v in zip(qs, c.quantile_values(), strict=False):
                out.append(f"{inner}{q}{fmt(v)}\n")
            out.append(f"{name}_count{lbl} {fmt(c._count)}\n{name}_sum{lbl} {fmt(c._sum)}\n")
            if use_created:
                (out if openmetrics else created).append(
                    f"{name}_created{lbl} {fmt(c._created)}\n")
        self._created_family(out, created)
