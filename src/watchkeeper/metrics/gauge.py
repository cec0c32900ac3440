"""Gauge: a value that goes up and down, or is read from a function at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from time import time
from typing import Any

from .base import _UNSET, MetricWrapper
from .family import Metric, Sample
from .registry import REGISTRY, CollectorRegistry
from .textformat import format_value as fmt
from .timing import InprogressTracker, Timer

MULTIPROCESS_MODES = frozenset(("all", "liveall", "min", "livemin", "max", "livemax", "sum",
                                "livesum", "mostrecent", "livemostrecent"))
MOST_RECENT_MODES = frozenset(("mostrecent", "livemostrecent"))


class GaugeChild:
    __slots__ = ("_fn", "_key", "_lbl", "_value")
    _writes = ("inc", "dec", "set", "set_to_current_time", "set_function")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._value = 0.0
        self._fn: Callable[[], float] | None = None

    # No lock on inc/dec/set: see CounterChild.inc for why the GIL makes them atomic.
    def inc(self, amount: float = 1) -> None:
        self._value += amount

    def dec(self, amount: float = 1) -> None:
        self._value -= amount

    def set(self, value: float) -> None:
        self._value = float(value)

    def set_to_current_time(self) -> None:
        self.set(time())

    def set_function(self, f: Callable[[], float]) -> None:
        """Read the value from ``f()`` at every scrape instead."""
        self._fn = f

    def get(self) -> float:
        fn = self._fn
        return self._value if fn is None else float(fn())

    def track_inprogress(self) -> InprogressTracker:
        return InprogressTracker(self)

    def time(self) -> Timer:
        """Set the gauge to the duration of the block or call, in seconds."""
        return Timer(self, "set")


class MostRecentGaugeChild(GaugeChild):
    __slots__ = ()

    def inc(self, amount: float = 1) -> None:
        raise RuntimeError("inc must not be used with the mostrecent mode")

    def dec(self, amount: float = 1) -> None:
        raise RuntimeError("dec must not be used with the mostrecent mode")


class GaugeValueChild(GaugeChild):
    __slots__ = ("_mostrecent", "_v")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        # Not GaugeChild.__init__: `_value` is a read-only property here.
        self._key = key
        self._lbl = lbl
        self._fn = None
        mode = metric._multiprocess_mode
        self._mostrecent = mode in MOST_RECENT_MODES
        self._v = metric._values("gauge", metric._name, metric._name, metric._labelnames,
                                 key, metric._documentation, mode)

    @property
    def _value(self) -> float:  # type: ignore[override]
        return self._v.get()

    def inc(self, amount: float = 1) -> None:
        if self._mostrecent:
            raise RuntimeError("inc must not be used with the mostrecent mode")
        self._v.inc(amount)

    def dec(self, amount: float = 1) -> None:
        if self._mostrecent:
            raise RuntimeError("dec must not be used with the mostrecent mode")
        self._v.inc(-amount)

    def set(self, value: float) -> None:
        self._v.set(float(value))


class Gauge(MetricWrapper):
    _type = "gauge"
    _child_class = GaugeChild
    _value_child_class = GaugeValueChild
    _child_methods = ("inc", "dec", "set", "set_to_current_time", "set_function",
                      "track_inprogress", "time")

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
        multiprocess_mode: str = "all",
        *,
        max_label_sets: int | None = _UNSET,
        label_set_ttl: float | None = None,
    ) -> None:
        if multiprocess_mode not in MULTIPROCESS_MODES:
            raise ValueError("Invalid multiprocess mode: " + multiprocess_mode)
        self._multiprocess_mode = multiprocess_mode
        if multiprocess_mode in MOST_RECENT_MODES:
            self._child_class = MostRecentGaugeChild
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit, registry,
                         _labelvalues, max_label_sets=max_label_sets,
                         label_set_ttl=label_set_ttl)

    inc = dec = set = set_to_current_time = set_function = MetricWrapper._missing_labels
    track_inprogress = MetricWrapper._missing_labels

    def time(self) -> Timer:
        return Timer(self, "set")

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        fam.samples.append(Sample(self._name, labels, child.get()))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name
        out.append(self._header(openmetrics))
        out.extend([f"{name}{c._lbl} {fmt(c.get())}\n" for c in self._children()])
