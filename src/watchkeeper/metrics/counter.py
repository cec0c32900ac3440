"""Counter: a total that only goes up."""

from __future__ import annotations

from time import time
from typing import Any

from . import base
from .base import MetricWrapper
from .family import Metric, Sample
from .naming import make_exemplar
from .textformat import format_exemplar
from .textformat import format_value as fmt
from .timing import ExceptionCounter

_NEGATIVE = "Counters can only be incremented by non-negative amounts."


class CounterChild:
    """One series. ``_lbl`` is its label set rendered once, ``{a="x"}``."""

    __slots__ = ("_created", "_exemplar", "_key", "_lbl", "_value")
    _writes = ("inc", "reset")

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        self._key = key
        self._lbl = lbl
        self._value = 0.0
        self._created = time()
        self._exemplar: Any = None

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        """Add ``amount`` (>= 0); ``exemplar`` labels (e.g. a trace id) go to OpenMetrics."""
        if amount < 0:
            raise ValueError(_NEGATIVE)
        # No lock: under the GIL, `self._value += amount` on an int or float runs as
        # LOAD_ATTR, BINARY_OP, STORE_ATTR with no eval-breaker check (the only place
        # CPython switches threads) between them, so no other thread can interleave and no
        # increment is lost. Free-threaded builds use locked value objects instead.
        self._value += amount
        if exemplar:
            self._exemplar = make_exemplar(exemplar, amount, time())

    def reset(self) -> None:
        """Back to zero, as after a restart of the logical process."""
        self._value = 0.0
        self._created = time()

    def count_exceptions(
        self, exception: type[BaseException] | tuple[type[BaseException], ...] = Exception
    ) -> ExceptionCounter:
        """Context manager and decorator counting raised ``exception``s."""
        return ExceptionCounter(self, exception)


class CounterValueChild(CounterChild):
    """A series whose number lives in a value object (multiprocess files, or a lock)."""

    __slots__ = ("_v",)

    def __init__(self, metric: Any, key: tuple, lbl: str) -> None:
        # Not CounterChild.__init__: `_value` is a read-only property here.
        self._key = key
        self._lbl = lbl
        self._created = time()
        self._exemplar = None
        self._v = metric._values("counter", metric._name, metric._name + "_total",
                                 metric._labelnames, key, metric._documentation, "")

    @property
    def _value(self) -> float:  # type: ignore[override]
        return self._v.get()

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        if amount < 0:
            raise ValueError(_NEGATIVE)
        self._v.inc(amount)
        if exemplar:
            self._exemplar = make_exemplar(exemplar, amount, time())

    def reset(self) -> None:
        self._v.set(0.0)
        self._created = time()


class Counter(MetricWrapper):
    """A counter; ``name`` may end in ``_total`` (stripped from the family name)."""

    _type = "counter"
    _child_class = CounterChild
    _value_child_class = CounterValueChild
    _child_methods = ("inc", "reset", "count_exceptions")

    inc = reset = count_exceptions = MetricWrapper._missing_labels

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        fam.samples.append(Sample(self._name + "_total", labels, child._value, None,
                                  child._exemplar))
        if base._use_created:
            fam.samples.append(Sample(self._name + "_created", labels, child._created))

    def _render(self, out: list[str], openmetrics: bool) -> None:
        name = self._name
        children = self._children()
        use_created = base._use_created
        if not openmetrics:  # no exemplars: two flat passes
            total = name + "_total"
            out.append(self._header(False, total))
            out.extend([f"{total}{c._lbl} {fmt(c._value)}\n" for c in children])
            if use_created:
                self._created_family(out, [f"{name}_created{c._lbl} {fmt(c._created)}\n"
                                           for c in children])
            return
        out.append(self._header(True))
        for c in children:
            ex = c._exemplar
            tail = "\n" if ex is None else format_exemplar(ex) + "\n"
            out.append(f"{name}_total{c._lbl} {fmt(c._value)}{tail}")
            if use_created:
                out.append(f"{name}_created{c._lbl} {fmt(c._created)}\n")
