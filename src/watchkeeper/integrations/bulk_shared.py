"""A bulk operation's counts in the multiprocess files, so a pool's workers add into one.

Each process's ``bulk(name)`` writes its items and errors by result to file-backed
counters (``metrics/multiprocess``) under the operation's name; any process reads their
sum, at most twice a second, to compute progress, rate and ETA over every worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()


class SharedCounts:
    """An operation's counts in the multiprocess files, and their sum over processes."""

    def __init__(self, name: str) -> None:
        from ..metrics.counter import Counter

        self.name = name
        self._items = _shared_metric("items", lambda: Counter(
            "watchkeeper_bulk_items", "Items of bulk operations by result.",
            ["operation", "result"], registry=None))
        self._errors = _shared_metric("errors", lambda: Counter(
            "watchkeeper_bulk_errors", "Failed items of bulk operations by error type.",
            ["operation", "error_type"], registry=None))
        self._incs: dict[str, Any] = {}
        self._merged: dict[str, float] = {}
        self._merged_at = -1.0

    def add(self, result: str, n: int, error_type: str | None = None) -> None:
        inc = self._incs.get(result)
        if inc is None:
            inc = self._incs[result] = self._items.labels(self.name, result).inc
        inc(n)
        if error_type is not None:
            self._errors.labels(self.name, error_type).inc(n)

    def merged(self) -> dict[str, float]:
        """Counts by result over every process's file (``*``: all results), re-read at most
        twice a second."""
        now = time.monotonic()
        if now - self._merged_at < 0.5:
            return self._merged
        from ..metrics.multiprocess import MultiProcessCollector

        aggregate, _ = MultiProcessCollector(None).merge()
        out: dict[str, float] = {"*": 0.0}
        for (metric, _sample, labels), value in list(aggregate.samples.items()):
            if metric != "watchkeeper_bulk_items":
                continue
            lab = dict(labels)
            if lab.get("operation") == self.name:
                out[lab["result"]] = out.get(lab["result"], 0.0) + value[0]
                out["*"] += value[0]
        self._merged, self._merged_at = out, now
        return out


_shared_metrics: dict[tuple[str, str | None], Any] = {}


def _shared_metric(key: str, make: Callable[[], Any]) -> Any:
    """One file-backed counter per multiprocess directory (values bind at construction)."""
    from ..metrics.multiprocess import directory

    with _lock:
        found = _shared_metrics.get((key, directory()))
        if found is None:
            found = _shared_metrics[(key, directory())] = make()
        return found
