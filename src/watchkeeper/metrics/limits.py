"""The counter of label sets dropped by cardinality limits, one per registry."""

from __future__ import annotations

import threading
import weakref
from typing import Any

DROPPED_NAME = "watchkeeper_metric_label_sets_dropped"

_lock = threading.Lock()
_by_registry: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_unregistered: Any = None


def dropped_counter(registry: Any) -> Any:
    """``watchkeeper_metric_label_sets_dropped_total{metric=...}`` living in ``registry``
    (the registry of the limited metric), created there on first need."""
    global _unregistered
    from .counter import Counter

    with _lock:
        if registry is None:
            if _unregistered is None:
                _unregistered = _new(Counter, None)
            return _unregistered
        counter = _by_registry.get(registry)
        if counter is None:
            counter = _by_registry[registry] = _new(Counter, registry)
        return counter


def _new(counter_cls: Any, registry: Any) -> Any:
    return counter_cls(
        DROPPED_NAME,
        "Label sets sent to the overflow series because the metric reached its "
        "cardinality limit.",
        ["metric"],
        registry=registry,
        max_label_sets=None,
    )
