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
from collections import deque
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


class _Turns:
    """A first-come, first-served slot: the query holding it hands it to the next waiting
    one at every check. A query whose turn does not come within ``patience`` (the holder
    is in one long step that cannot check) runs anyway, sharing the GIL as it would
    without the slot: no query waits on another for long."""

    def __init__(self, patience: float = 0.05) -> None:
        self.patience = patience
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._busy = False

    def acquire(self) -> bool:
        """True when the slot is ours; False when we run beside its holder."""
        with self._lock:
            if not self._busy:
                self._busy = True
                return True
            handoff = threading.Lock()
            handoff.acquire()
            self._waiting.append(handoff)
        if handoff.acquire(timeout=self.patience):
            return True
        with self._lock:
            if handoff in self._waiting:
                self._waiting.remove(handoff)
                return False
        handoff.acquire()  # handed to us while we gave up: released already, so at once
        return True

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._busy = False

    def pass_on(self) -> bool:
        """Let the next query have a turn, then wait for ours (see ``acquire``)."""
        if not self._waiting:  # unlocked peek: a miss only delays the turn a check
            return True
        self.release()
        return self.acquire()


_ACTIVE = threading.local()  # the budget of the query this thread evaluates


def checkpoint() -> None:
    """A check for loops deep in the evaluation (windows, functions) that do not carry the
    query's budget: a no-op outside a query."""
    budget = getattr(_ACTIVE, "budget", None)
    if budget is not None:
        budget.check()


# Queries served over HTTP take turns on this slot: under the GIL only one thread runs
# Python at a time anyway, and with one evaluator (not four) contending for it, the event
# loop waits at most one switch interval for the GIL instead of several
_CPU_SLOT = _Turns()


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
        self._slot = _CPU_SLOT.acquire()
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
                self._slot = _CPU_SLOT.pass_on()
            time.sleep(0)  # the event loop's turn, if it waits for the GIL
            self._next_yield = time.monotonic() + YIELD_EVERY_S

    def activate(self) -> Budget | None:
        """Make this the budget ``checkpoint()`` checks on this thread; returns the one
        it replaces (to put back with ``restore``)."""
        previous = getattr(_ACTIVE, "budget", None)
        _ACTIVE.budget = self
        return previous

    @staticmethod
    def restore(previous: Budget | None) -> None:
        _ACTIVE.budget = previous

    def add_samples(self, count: int) -> None:
        """Count samples a step loads into memory; over ``max_samples`` held at once (see
        ``settle``) the query fails."""
        self.samples += count
        if self.samples > self.max_samples:
            raise PromQLEvalError(TOO_MANY_SAMPLES)
        self.check()

    def settle(self, held: int, count: int) -> None:
        """A node's result replaced its operands: ``held`` (what was in memory before the
        node) plus its ``count`` samples is what the query holds now."""
        self.samples = held + count
        if self.samples > self.max_samples:
            raise PromQLEvalError(TOO_MANY_SAMPLES)

    def check_points(self, points: int) -> None:
        """Refuse a grid before it is allocated."""
        if points > MAX_POINTS:
            raise PromQLEvalError(RESOLUTION_ERROR)


__all__ = ["MAX_POINTS", "RESOLUTION_ERROR", "SWITCH_INTERVAL_S", "TOO_MANY_SAMPLES", "Budget",
           "QueryLimits", "checkpoint"]
