"""Where a metric keeps its numbers: plain attributes (the fast default) or value objects.

Value objects (``.inc(amount)``, ``.set(value)``, ``.get()``) are used when:

* multiprocess mode is on (``PROMETHEUS_MULTIPROC_DIR`` or ``WATCHKEEPER_MULTIPROC_DIR``
  set when the metric is constructed): every number lives in the per-process files that
  ``watchkeeper.metrics.multiprocess`` manages, so one scrape sums all workers;
* the interpreter runs without a GIL (free-threaded builds), where a plain ``x += 1`` is no
  longer atomic, so each number gets a small lock instead.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

ValueFactory = Callable[[str, str, str, Sequence[str], Sequence[str], str, str], Any]

#: True when the GIL serialises bytecodes, which makes our lock-free hot paths safe.
GIL_ENABLED: bool = getattr(sys, "_is_gil_enabled", lambda: True)()


class LockedValue:
    """A number guarded by its own lock, for interpreters without a GIL."""

    __slots__ = ("_lock", "_value")

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        self._value = 0.0
        self._lock = threading.Lock()

    def inc(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    def set(self, value: float) -> None:
        with self._lock:
            self._value = value

    def get(self) -> float:
        with self._lock:
            return self._value


def _locked_value(typ: str, metric_name: str, sample_name: str, labelnames: Sequence[str],
                  labelvalues: Sequence[str], documentation: str,
                  multiprocess_mode: str = "") -> LockedValue:
    return LockedValue()


def value_factory() -> ValueFactory | None:
    """The factory a metric constructed now must use, or None for plain attributes."""
    try:
        mp = importlib.import_module("watchkeeper.metrics.multiprocess.values")
    except ImportError:
        mp = None
    if mp is not None and mp.directory() is not None:
        return mp.open_value
    if not GIL_ENABLED:
        return _locked_value
    return None


def multiprocess_enabled() -> bool:
    """True when metrics constructed now write to the multiprocess directory."""
    factory = value_factory()
    return factory is not None and factory is not _locked_value
