"""Bulk operations as metrics, a health check and 0-100 scores.

The score of an operation (``watchkeeper_health_score{component="bulk", name=...}``) is
100 minus:

- ``stalled``: 60 while no progress has been seen for ``stall_after`` seconds;
- ``errors``: 200 x the failed share of processed items, at most 40 (20 % failed costs 40);
- ``slowdown``: 20 x how far the moving rate fell below the average since the start
  (a rate half the average costs 10), only while running;
- ``outcome``: 50 when the operation ended with an exception or was cancelled.

The health check ``bulk_operations`` (not critical) is degraded while any running
operation is stalled, so readiness probes see it and ``/health`` says which one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..metrics.values import multiprocess_enabled
from .bulk import OPERATIONS, Operation
from .scores import SCOREBOARD, Score, register_score, score_from_penalties

CHECK_NAME = "bulk_operations"
COMPONENT = "bulk"
_lock = threading.Lock()


def operation_score(op: Operation) -> Score:
    done = op.done
    penalties: dict[str, float] = {"stalled": 60.0 if op.stalled() else 0.0,
                                   "errors": min(40.0, 200.0 * op.failed / done) if done else 0.0}
    if op.finished is None:
        elapsed = op.elapsed()
        average = done / elapsed if elapsed > 0 else 0.0
        if average > 0:
            penalties["slowdown"] = 20.0 * min(1.0, max(0.0, 1.0 - op.rate() / average))
    elif op.outcome in ("failed", "cancelled"):
        penalties["outcome"] = 50.0
    return score_from_penalties(COMPONENT, op.name, penalties)


def track(op: Operation) -> None:
    register_score(COMPONENT, op.name, lambda: operation_score(op))


def untrack(op: Operation, dropped: bool) -> None:
    """A finished operation keeps its score while it is listed as recent."""
    if dropped and not any(o.name == op.name for o in OPERATIONS.all()):
        SCOREBOARD.unregister(COMPONENT, op.name)


def stall_check() -> Any:
    """Degraded while a running operation is stalled."""
    from ..health.model import degraded, healthy

    stalled = [op for op in OPERATIONS.running() if op.stalled()]
    if stalled:
        names = ", ".join(f"{op.name} (no progress for {op.stall_after:g}s)" for op in stalled)
        return degraded(f"stalled: {names}", observed_value=len(stalled))
    return healthy(f"{len(OPERATIONS.running())} running", observed_value=0)


class BulkCollector:
    """Exports every listed operation; in multiprocess mode the item and error counters
    come from the files (one family over all processes), so only the rest is here."""

    def collect(self) -> Iterator[Any]:
        from ..metrics.family import CounterMetricFamily, GaugeMetricFamily

        ops = OPERATIONS.all()
        shared = multiprocess_enabled()
        lab = ["operation"]
        gauges = {
            "items_expected": ("Items a bulk operation expects in all.", "total"),
            "progress_ratio": ("Share of the expected items processed, 0 to 1.", "progress"),
            "items_per_second": ("Items per second, moving average.", "rate"),
            "eta_seconds": ("Seconds left at the current rate.", "eta_seconds"),
            "duration_seconds": ("Seconds since the start (until the end once finished).",
                                 "duration_seconds"),
            "running": ("1 while the bulk operation runs, 0 once finished.", "running"),
            "stalled": ("1 while no progress was seen for the stall interval.", "stalled"),
            "last_progress_timestamp_seconds": ("When progress was last seen (Unix time).",
                                                "last_progress"),
            "started_timestamp_seconds": ("When the bulk operation started (Unix time).",
                                          "started"),
        }
        rows = [op.as_dict() for op in ops]
        seen: set[str] = set()
        unique = []
        for row in rows:  # one series per name: the running one or the latest finished
            if row["operation"] not in seen:
                seen.add(row["operation"])
                unique.append(row)
        for suffix, (doc, key) in gauges.items():
            fam = GaugeMetricFamily(f"watchkeeper_bulk_{suffix}", doc, labels=lab)
            for row in unique:
                value = row[key]
                if value is not None:
                    fam.add_metric([row["operation"]], float(value))
            yield fam
        if shared:
            return
        items = CounterMetricFamily("watchkeeper_bulk_items", "Items of bulk operations by "
                                    "result.", labels=["operation", "result"])
        errors = CounterMetricFamily("watchkeeper_bulk_errors", "Failed items of bulk "
                                     "operations by error type.", labels=["operation",
                                                                          "error_type"])
        for row in unique:
            for result in ("ok", "failed", "skipped"):
                items.add_metric([row["operation"], result], row[result])
            for etype, count in sorted(row["errors_by_type"].items()):
                errors.add_metric([row["operation"], etype], count)
        yield items
        yield errors


COLLECTOR = BulkCollector()


def install(registry: Any = None) -> None:
    """Register the collector on ``registry`` (default REGISTRY) and the stall check on the
    default health runner; safe to call again."""
    from ..metrics.registry import REGISTRY

    with _lock:
        target = registry if registry is not None else REGISTRY
        try:
            target.register(COLLECTOR)
        except ValueError:
            pass
        if registry is None:
            from ..health.check import function_check
            from ..health.runner import default_runner

            runner = default_runner()
            if CHECK_NAME not in {c.name for c in runner.checks()}:
                runner.add(function_check(stall_check, name=CHECK_NAME, critical=False,
                                          interval=5.0))
