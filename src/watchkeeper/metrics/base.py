"""What every metric type shares: names, labels, children, limits, expiry and collection.

A metric with label names is a parent holding one child per label set; a metric without
is a parent whose single child's methods are bound onto it, so ``Counter.inc()`` costs one
call. Children live in one dict keyed by the tuple of label values: the hot path
``labels("a", "b")`` is a single ``dict.get`` without a lock. That is safe because under the
GIL a ``dict.get`` and a ``dict[key] = value`` are each one indivisible C call; creating a
child, removing one and expiry take ``self._lock`` so two threads never both create the
same child.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any

from .family import Metric
from .naming import build_full_name, validate_labelname
from .registry import REGISTRY, CollectorRegistry
from .textformat import escape_help, render_labels
from .values import multiprocess_enabled, value_factory

#: The label value every label of the overflow series carries once the limit is reached.
OVERFLOW_MARKER = "__overflow__"
#: How many dropped label sets a limited metric remembers (so each is counted once).
DROPPED_REMEMBERED = 1000

_UNSET: Any = object()

_use_created = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in (
    "true", "1", "t")


def _env_limit() -> int | None:
    raw = os.environ.get("WATCHKEEPER_MAX_LABEL_SETS", "").strip()
    return int(raw) if raw else None


_default_max_label_sets: int | None = _env_limit()


def disable_created_metrics() -> None:
    """Stop exporting ``_created`` samples (as prometheus_client's function of that name)."""
    global _use_created
    _use_created = False


def enable_created_metrics() -> None:
    global _use_created
    _use_created = True


def set_default_max_label_sets(limit: int | None) -> None:
    """Cardinality limit for metrics constructed afterwards without ``max_label_sets``.

    None (the default, unless ``WATCHKEEPER_MAX_LABEL_SETS`` is set) means unlimited.
    """
    global _default_max_label_sets
    _default_max_label_sets = limit


class MetricWrapper:
    """Base of Counter, Gauge, Histogram, Summary, Info and Enum."""

    _type = ""
    _reserved_labelnames: tuple[str, ...] = ()
    _child_class: type = object
    _value_child_class: type | None = None
    _child_methods: tuple[str, ...] = ()

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
        *,
        max_label_sets: int | None = _UNSET,
        label_set_ttl: float | None = None,
    ) -> None:
        self._original_name = name
        self._name = build_full_name(self._type, name, namespace, subsystem, unit)
        self._documentation = documentation
        self._unit = unit
        self._labelnames = tuple(labelnames)
        for label in self._labelnames:
            validate_labelname(label)
            if label in self._reserved_labelnames:
                raise ValueError("Reserved label metric name: " + label)
        self._lock = threading.Lock()
        self._lookup: dict[tuple, Any] = {}
        self._series = 0
        self._aliases = 0
        self._overflow_child: Any = None
        self._limit = _default_max_label_sets if max_label_sets is _UNSET else max_label_sets
        if self._limit is not None and self._limit < 1:
            raise ValueError("max_label_sets must be at least 1")
        self._dropped: Any = None
        self._ttl = label_set_ttl
        self._swept = monotonic()
        self._values = value_factory()
        cls = self._child_class
        if self._values is not None and self._value_child_class is not None:
            cls = self._value_child_class
        if self._ttl is not None:
            if self._ttl <= 0:
                raise ValueError("label_set_ttl must be positive")
            cls = touching_class(cls)
            self.labels = self._labels_touching  # type: ignore[method-assign]
        self._cls = cls
        if not self._labelnames:
            child = self._make_child(())
            self._lookup[()] = child
            for method in self._child_methods:
                setattr(self, method, getattr(child, method))
        if registry is not None:
            registry.register(self)
        if self._limit is not None and self._labelnames:
            from .limits import dropped_counter

            self._dropped = dropped_counter(registry).labels(self._name)

    # -- children ---------------------------------------------------------------------------

    def _make_child(self, key: tuple) -> Any:
        return self._cls(self, key, render_labels(self._labelnames, key))

    def labels(self, *labelvalues: Any, **labelkwargs: Any) -> Any:
        """The child for one label set, created on first use (positional or keyword)."""
        if labelkwargs or not labelvalues:
            labelvalues = self._values_from_kwargs(labelvalues, labelkwargs)
        try:
            child = self._lookup.get(labelvalues)
        except TypeError:  # unhashable values: the slow path stringifies them
            child = None
        if child is None:
            child = self._new_child(labelvalues)
        return child

    def _labels_touching(self, *labelvalues: Any, **labelkwargs: Any) -> Any:
        child = MetricWrapper.labels(self, *labelvalues, **labelkwargs)
        child._touched = monotonic()
        return child

    def _values_from_kwargs(self, labelvalues: tuple, labelkwargs: dict[str, Any]) -> tuple:
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if labelvalues and labelkwargs:
            raise ValueError("Can't pass both *args and **kwargs")
        if labelkwargs:
            if sorted(labelkwargs) != sorted(self._labelnames):
                raise ValueError("Incorrect label names")
            return tuple(str(labelkwargs[n]) for n in self._labelnames)
        return labelvalues

    def _new_child(self, raw: tuple) -> Any:
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if len(raw) != len(self._labelnames):
            raise ValueError("Incorrect label count")
        key = tuple(v if v.__class__ is str else str(v) for v in raw)
        with self._lock:
            child = self._lookup.get(key)
            if child is None:
                if self._ttl is not None and monotonic() - self._swept > self._ttl:
                    self._expire_locked()  # even if nobody scrapes, memory stays bounded
                if self._limit is not None and self._series >= self._limit:
                    if self._ttl is not None:
                        self._expire_locked()
                    if self._series >= self._limit:
                        return self._overflow(raw, key)
                child = self._make_child(key)
                self._lookup[key] = child
                self._series += 1
            if raw != key and self._aliases < max(64, self._series):
                # Remember the caller's spelling (ints, enums...) so the next call hits.
                self._alias(raw, child)
        return child

    def _alias(self, key: tuple, child: Any) -> None:
        """Another key for an existing child; caller holds the lock."""
        try:
            self._lookup[key] = child
        except TypeError:  # an unhashable spelling keeps taking the slow path
            return
        self._aliases += 1

    def _overflow(self, raw: tuple, key: tuple) -> Any:
        """Past the limit every new label set shares one series; memory stays bounded."""
        child = self._overflow_child
        if child is None:
            okey = (OVERFLOW_MARKER,) * len(self._labelnames)
            child = self._overflow_child = self._make_child(okey)
            self._lookup[okey] = child
        if self._dropped is not None:
            self._dropped.inc()
        # Remember a bounded number of dropped sets, so each is counted once and the next
        # call with it is a plain dict hit; past that bound every call counts.
        if self._aliases < max(self._limit, DROPPED_REMEMBERED):  # type: ignore[type-var]
            self._alias(key, child)
            if raw != key:
                self._alias(raw, child)
        return child

    def _children(self) -> list[Any]:
        """A snapshot of the real children (aliases skipped), safe to iterate while others
        write: ``list(dict.items())`` is one C call under the GIL."""
        if self._ttl is not None:
            with self._lock:
                self._expire_locked()
        if not self._aliases:
            return list(self._lookup.values())
        return [c for k, c in list(self._lookup.items()) if k is c._key]

    def _drop_locked(self, children: list[Any]) -> None:
        """Forget children and every other key leading to them. Dropping a real series
        makes room under the limit, so the label sets that went to the overflow series are
        forgotten too: their next use may get a series of its own."""
        if not children:
            return
        overflow = self._overflow_child
        for child in children:
            del self._lookup[child._key]
            if child is overflow:
                self._overflow_child = None
            else:
                self._series -= 1
        if self._aliases:
            gone = {id(c) for c in children}
            if overflow is not None:
                gone.add(id(overflow))
            stale = [k for k, c in self._lookup.items() if id(c) in gone and k is not c._key]
            for k in stale:
                del self._lookup[k]
            self._aliases -= len(stale)

    def _expire_locked(self) -> None:
        self._swept = now = monotonic()
        cutoff = now - self._ttl  # type: ignore[operator]
        self._drop_locked([child for key, child in list(self._lookup.items())
                           if key is child._key and key and child._touched < cutoff])

    def _warn_multiprocess(self, what: str) -> None:
        if self._values is not None and multiprocess_enabled():
            warnings.warn(f"{what} labels has not been implemented in multi-process mode yet.",
                          UserWarning, stacklevel=3)

    def remove(self, *labelvalues: Any) -> None:
        """Forget one label set."""
        self._warn_multiprocess("Removal of")
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if len(labelvalues) != len(self._labelnames):
            raise ValueError(
                f"Incorrect label count (expected {len(self._labelnames)}, got {labelvalues})")
        key = tuple(str(v) for v in labelvalues)
        with self._lock:
            child = self._lookup.get(key)
            if child is not None and child._key == key:
                self._drop_locked([child])

    def remove_by_labels(self, labels: dict[str, str]) -> None:
        """Forget every label set matching all the given label values."""
        self._warn_multiprocess("Removal of")
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if not isinstance(labels, dict):
            raise TypeError("labels must be a dict of {label_name: label_value}")
        invalid = [k for k in labels if k not in self._labelnames]
        if invalid:
            raise ValueError(f"Unknown label names: {invalid}; expected {self._labelnames}")
        if not labels:
            return
        wanted = {self._labelnames.index(k): str(v) for k, v in labels.items()}
        with self._lock:
            self._drop_locked([child for key, child in list(self._lookup.items())
                               if key is child._key
                               and all(key[i] == v for i, v in wanted.items())])

    def clear(self) -> None:
        """Forget every label set."""
        if not self._labelnames:
            return
        self._warn_multiprocess("Clearing")
        with self._lock:
            self._lookup = {}
            self._series = self._aliases = 0
            self._overflow_child = None

    def _missing_labels(self, *_args: Any, **_kwargs: Any) -> Any:
        raise ValueError(f"{self._type} metric is missing label values")

    # -- collection -------------------------------------------------------------------------

    def describe(self) -> list[Metric]:
        return [Metric(self._name, self._documentation, self._type, self._unit)]

    def collect(self) -> list[Metric]:
        fam = Metric(self._name, self._documentation, self._type, self._unit)
        names = self._labelnames
        for child in self._children():
            self._add_samples(fam, child, dict(zip(names, child._key, strict=True)))
        return [fam]

    def _add_samples(self, fam: Metric, child: Any, labels: dict[str, str]) -> None:
        raise NotImplementedError

    # The exposition renderers call these instead of collect() when a collector has them.
    def _render_text(self, out: list[str]) -> None:
        self._render(out, False)

    def _render_openmetrics(self, out: list[str]) -> None:
        self._render(out, True)

    def _render(self, out: list[str], openmetrics: bool) -> None:
        raise NotImplementedError

    def _created_family(self, out: list[str], lines: list[str]) -> None:
        """Text 0.0.4 has no ``_created`` samples: they follow as a gauge of their own."""
        if lines:
            out.append(self._header(False, self._name + "_created", "gauge"))
            out.extend(lines)

    def _header(self, openmetrics: bool, name: str | None = None, typ: str | None = None) -> str:
        name = name or self._name
        head = (f"# HELP {name} {escape_help(self._documentation, openmetrics)}\n"
                f"# TYPE {name} {typ or self._type}\n")
        if openmetrics and self._unit:
            head += f"# UNIT {name} {self._unit}\n"
        return head

    def __str__(self) -> str:
        return f"{self._type}:{self._name}"

    def __repr__(self) -> str:
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}({self._name})"


_touching: dict[type, type] = {}


def touching_class(cls: type) -> type:
    """A subclass of a child class whose writes record when the series was last touched."""
    sub = _touching.get(cls)
    if sub is not None:
        return sub

    def wrap(name: str) -> Any:
        original = getattr(cls, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._touched = monotonic()
            return original(self, *args, **kwargs)

        method.__name__ = name
        method.__doc__ = original.__doc__
        return method

    def init(self: Any, *args: Any) -> None:
        cls.__init__(self, *args)
        self._touched = monotonic()

    namespace: dict[str, Any] = {"__slots__": ("_touched",), "__init__": init}
    for name in getattr(cls, "_writes", ()):
        namespace[name] = wrap(name)
    sub = _touching[cls] = type(cls.__name__ + "WithTTL", (cls,), namespace)
    return sub
