"""Query limits as Prometheus has them, and the budget one query spends.

The limits follow Prometheus's flags: ``--query.timeout`` (2 min), ``--query.max-samples``
(50 M) and ``--query.max-concurrency`` (20, the rest wait in a queue). The evaluator calls
``Budget.check`` at every node and every series it reads, so a query past its deadline (or
cancelled because its client left) stops using CPU at the next check rather than running
to the end in a thread nobody waits for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from watchkeeper.promql.errors import PromQLCanceled, PromQLEvalError, PromQLTimeout

MAX_POINTS = 11_000  # per series, for range queries and subqueries
RESOLUTION_ERROR = ("exceeded maximum resolution of 11,000 points per timeseries. "
                    "Try decreasing the query resolution (?step=XX)")
TOO_MANY_SAMPLES = ("query processing would load too many samples into memory in "
                    "query execution")
# evaluation gives up the GIL this often, so the event loop's thread (health checks,
# /metrics, remote write) gets a turn however many queries run
YIELD_EVERY_S = 0.002
SWITCH_INTERVAL_S = 0.001
# Queries served over HTTP take turns on this slot: under the GIL only one thread runs
# Python at a time anyway, and with one evaluator (not four) contending, the event loop
# waits at most one switch interval for the GIL instead of several
_CPU_SLOT = threading.Lock()


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use; ``max_concurrency`` queries run at once, the rest queue."""

    timeout_s: float = 120.0
    max_samples: int = 50_000_000
    max_concurrency: int = 20


class Budget:
    """The deadline, cancel flag and sample count of one query."""

    __slots__ = ("_next_yield", "_slot", "cancelled", "deadline", "max_samples", "samples")

    def __init__(self, limits: QueryLimits, timeout_s: float | None = None) -> None:
        self.max_samples = limits.max_samples
        self.samples = 0
        timeout = limits.timeout_s if timeout_s is None else min(timeout_s, limits.timeout_s)
        self.deadline = time.monotonic() + timeout
        self.cancelled = False
        self._next_yield = 0.0
        self._slot = False

    def __enter__(self) -> Budget:
        """Evaluate in turns with the other queries entered this way (see _CPU_SLOT)."""
        _CPU_SLOT.acquire()
        self._slot = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._slot:
            self._slot = False
            _CPU_SLOT.release()

    def check(self) -> None:
        """Raise if the query ran out of time or was cancelled; now and then yield the GIL."""
        if self.cancelled:
            raise PromQLCanceled("query was canceled in expression evaluation")
        now = time.monotonic()
        if now > self.deadline:
            raise PromQLTimeout("query timed out in expression evaluation")
        if now > self._next_yield:
            if self._slot:
                _CPU_SLOT.release()  # the next query's turn
                time.sleep(0)  # and the event loop's, if it waits for the GIL
                _CPU_SLOT.acquire()
            else:
                time.sleep(0)
            self._next_yield = time.monotonic() + YIELD_EVERY_S

    def add_samples(self, count: int) -> None:
        """Count samples a step loads into memory; over ``max_samples`` the query fails."""
        self.samples += count
        if self.samples > self.max_samples:
            raise PromQLEvalError(TOO_MANY_SAMPLES)
        self.check()

    def check_points(self, points: int) -> None:
        """Refuse a grid before it is allocated."""
        if points > MAX_POINTS:
            raise PromQLEvalError(RESOLUTION_ERROR)


__all__ = ["MAX_POINTS", "RESOLUTION_ERROR", "TOO_MANY_SAMPLES", "Budget", "QueryLimits"]
