"""Bulk operations: high-volume work that exports its progress, rate, ETA, errors and stalls.

    with watchkeeper.bulk("import_users", total=len(rows)) as op:
        for row in rows:
            try:
                save(row)
                op.ok()
            except ValueError as e:
                op.fail(e, item=row["id"])

    for row in watchkeeper.bulk("import_users", rows):   # or wrap the iterable
        save(row)

Why: tqdm and rich print progress but export nothing and go silent in containers. The hot
path is one attribute increment (``op.ok()``); everything derived (rate, ETA, stall) is
computed when sampled, about once a second, by the reporter thread or a scrape. Threads add
into one operation with no lock: under the GIL ``self._done += n`` cannot lose an update
(see ``metrics/counter.py``). In multiprocess mode every process's counts go to the
per-process files (``metrics/multiprocess``) under the operation's name, and an operation
reads the merged counts, so a pool of workers adds into the one operation of the parent.

Exported (label ``operation``): ``watchkeeper_bulk_items_total{result}`` (ok, failed,
skipped), ``watchkeeper_bulk_errors_total{error_type}``, ``_items_expected``,
``_progress_ratio``, ``_items_per_second`` (moving average over ``rate_window``),
``_eta_seconds``, ``_duration_seconds``, ``_running``, ``_stalled`` and
``_last_progress_timestamp_seconds``. Formulas of the health score: see ``bulk_health``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..metrics.values import multiprocess_enabled

DEFAULT_STALL_AFTER = 60.0
DEFAULT_RATE_WINDOW = 30.0
DEFAULT_ERRORS_KEPT = 20
#: Finished operations still listed (and exported, ``running`` 0) after they end.
RECENT_KEPT = 20
MESSAGE_LIMIT = 500


class ErrorSample:
    """One kept failure: when, its type, its message (truncated) and the item's id."""

    __slots__ = ("error_type", "item", "message", "time")

    def __init__(self, when: float, error_type: str, message: str, item: Any) -> None:
        self.time = when
        self.error_type = error_type
        self.message = message[:MESSAGE_LIMIT]
        self.item = None if item is None else str(item)[:200]

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "error_type": self.error_type, "message": self.message,
                "item": self.item}


class Operation:
    """One bulk operation; a context manager, and iterable when built over an iterable.

    ``clock`` (monotonic seconds) is for tests; ``report`` chooses the progress display
    (``"auto"``: a rich bar on a terminal, else a log line every ``log_every`` seconds;
    ``"bar"``, ``"log"`` or ``None``).
    """

    def __init__(self, name: str, total: int | None = None, iterable: Iterable[Any] | None = None,
                 *, stall_after: float = DEFAULT_STALL_AFTER,
                 rate_window: float = DEFAULT_RATE_WINDOW, errors_kept: int = DEFAULT_ERRORS_KEPT,
                 report: str | None = "auto", log_every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not name or not isinstance(name, str):
            raise ValueError("a bulk operation needs a non-empty name")
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                pass
        if total is not None:
            total = int(total)  # numpy and other integral types too
        if total is not None and total < 0:
            raise ValueError(f"bulk operation {name!r}: total must not be negative")
        self.name = name
        self.total = total
        self.stall_after = float(stall_after)
        self.rate_window = float(rate_window)
        self.report = report
        self.log_every = float(log_every)
        self.clock = clock
        self._iterable = iterable
        self._done = 0  # every processed item, whatever its result
        self._failed = 0
        self._skipped = 0
        self._iterating = False
        self.errors_by_type: dict[str, int] = {}
        self.errors: deque[ErrorSample] = deque(maxlen=max(0, errors_kept))
        self._err_lock = threading.Lock()
        self.started = clock()
        self.started_wall = time.time()
        self.finished: float | None = None
        self.outcome = "running"
        self._samples: deque[tuple[float, float]] = deque()
        self._last_done = -1.0
        self.last_progress = self.started
        self.last_progress_wall = self.started_wall
        self._shared = None
        if multiprocess_enabled():
            from .bulk_shared import SharedCounts

            self._shared = SharedCounts(name)
        if self._shared is not None:
            self.ok = self._shared_ok  # type: ignore[method-assign]
        OPERATIONS.add(self)

    # -- the hot path ---------------------------------------------------------------------
    def ok(self, n: int = 1) -> None:
        """``n`` items done successfully."""
        self._done += n

    def _shared_ok(self, n: int = 1) -> None:
        self._done += n
        self._shared.add("ok", n)  # type: ignore[union-attr]

    def skip(self, n: int = 1) -> None:
        """``n`` items deliberately not processed (counted as progress)."""
        self._skipped += n
        if not self._iterating:
            self._done += n
        if self._shared is not None:
            self._shared.add("skipped", n)

    def fail(self, error: BaseException | str | None = None, *, item: Any = None,
             n: int = 1) -> None:
        """``n`` items failed; the error's type is counted and a sample kept with ``item``."""
        if isinstance(error, BaseException):
            etype, message = type(error).__name__, str(error)
        else:
            etype, message = "error", "" if error is None else str(error)
        with self._err_lock:
            self._failed += n
            if not self._iterating:
                self._done += n
            self.errors_by_type[etype] = self.errors_by_type.get(etype, 0) + n
            if self.errors.maxlen:
                self.errors.append(ErrorSample(time.time(), etype, message, item))
        if self._shared is not None:
            self._shared.add("failed", n, etype)

    def iter(self, items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``items``, each counted done when the next is asked for; an item the body
        marked with ``fail()`` or ``skip()`` is counted under that result instead."""
        self._iterating = True
        shared = self._shared
        try:
            for item in items:
                yield item
                self._done += 1
                if shared is not None:
                    shared.add("ok", 1)
        finally:
            self._iterating = False

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise TypeError(f"bulk operation {self.name!r} was not given an iterable")
        with self:
            yield from self.iter(self._iterable)

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Operation:
        return self

    def __exit__(self, etype: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.finish()
        elif isinstance(exc, GeneratorExit):
            self.finish("stopped")  # the loop over the operation ended early
        elif isinstance(exc, Exception):
            self._iterating = False  # the item in hand is done: it failed
            self.fail(exc)
            self.finish("failed")
        else:
            self.finish("cancelled")

    def finish(self, outcome: str = "completed") -> None:
        """End the operation (the context manager does it); it stays listed as recent."""
        if self.finished is not None:
            return
        self.sample()
        self.finished = self.clock()
        self.outcome = outcome
        OPERATIONS.finished(self)

    # -- derived figures, computed when sampled -------------------------------------------
    @property
    def done(self) -> int:
        """Items processed (every result), over every process in multiprocess mode."""
        if self._shared is not None:
            return int(self._shared.merged().get("*", self._done))
        return self._done

    @property
    def failed(self) -> int:
        if self._shared is not None:
            return int(self._shared.merged().get("failed", self._failed))
        return self._failed

    @property
    def skipped(self) -> int:
        if self._shared is not None:
            return int(self._shared.merged().get("skipped", self._skipped))
        return self._skipped

    def counts(self) -> dict[str, int]:
        done, failed, skipped = self.done, self.failed, self.skipped
        return {"ok": max(0, done - failed - skipped), "failed": failed, "skipped": skipped}

    def sample(self, now: float | None = None) -> None:
        """Record (now, done) for the moving rate and notice progress; the reporter calls
        it about once a second, tests call it with their own clock."""
        now = self.clock() if now is None else now
        done = float(self.done)
        if done != self._last_done:
            if self._last_done >= 0:
                self.last_progress = now
                self.last_progress_wall = time.time() - (self.clock() - now)
            self._last_done = done
        samples = self._samples
        samples.append((now, done))
        while len(samples) > 2 and now - samples[1][0] >= self.rate_window:
            samples.popleft()

    def elapsed(self, now: float | None = None) -> float:
        end = self.finished if self.finished is not None else (
            self.clock() if now is None else now)
        return max(0.0, end - self.started)

    def rate(self) -> float:
        """Items per second over the last ``rate_window`` seconds of samples (the average
        since the start until two samples exist)."""
        samples = self._samples
        if len(samples) >= 2:
            (t0, d0), (t1, d1) = samples[0], samples[-1]
            if t1 > t0:
                return (d1 - d0) / (t1 - t0)
        elapsed = self.elapsed()
        return self.done / elapsed if elapsed > 0 else 0.0

    def progress(self) -> float | None:
        if not self.total:
            return None if self.total is None else 1.0
        return min(1.0, self.done / self.total)

    def eta(self) -> float | None:
        """Seconds left at the moving rate; None without a total or before any progress."""
        if self.total is None:
            return None
        if self.finished is not None:
            return 0.0
        left = max(0, self.total - self.done)
        rate = self.rate()
        if left == 0:
            return 0.0
        return left / rate if rate > 0 else None

    def stalled(self, now: float | None = None) -> bool:
        """Running and no progress seen for ``stall_after`` seconds."""
        if self.finished is not None:
            return False
        now = self.clock() if now is None else now
        return now - self.last_progress >= self.stall_after

    def as_dict(self) -> dict[str, Any]:
        """What ``GET /api/v1/operations`` and the log line show."""
        return {
            "operation": self.name, "running": self.finished is None, "outcome": self.outcome,
            "total": self.total, "done": self.done, **self.counts(),
            "progress": self.progress(), "rate": self.rate(), "eta_seconds": self.eta(),
            "duration_seconds": self.elapsed(), "stalled": self.stalled(),
            "started": self.started_wall, "last_progress": self.last_progress_wall,
            "errors_by_type": dict(self.errors_by_type),
            "errors": [e.as_dict() for e in list(self.errors)],
        }

    def __repr__(self) -> str:
        return f"<Operation {self.name!r} {self.done}/{self.total}>"


class Operations:
    """The running operations and the most recent finished ones, by name."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._running: dict[int, Operation] = {}
        self._recent: deque[Operation] = deque(maxlen=RECENT_KEPT)
        self._listeners: list[Callable[[Operation, str], None]] = []

    def add(self, op: Operation) -> None:
        with self.lock:
            self._running[id(op)] = op
            listeners = list(self._listeners)
        for fn in listeners:
            fn(op, "started")

    def finished(self, op: Operation) -> None:
        with self.lock:
            self._running.pop(id(op), None)
            dropped = self._recent[0] if len(self._recent) == self._recent.maxlen else None
            self._recent.append(op)
            listeners = list(self._listeners)
        for fn in listeners:
            fn(op, "finished")
            if dropped is not None:
                fn(dropped, "dropped")

    def listen(self, fn: Callable[[Operation, str], None]) -> None:
        with self.lock:
            self._listeners.append(fn)

    def running(self) -> list[Operation]:
        with self.lock:
            return list(self._running.values())

    def all(self) -> list[Operation]:
        """Running first, then recent ones, newest first."""
        with self.lock:
            return list(self._running.values()) + list(reversed(self._recent))

    def clear(self) -> None:
        with self.lock:
            self._running.clear()
            self._recent.clear()


OPERATIONS = Operations()


def bulk(name: str, total: int | Iterable[Any] | None = None,
         iterable: Iterable[Any] | None = None, **options: Any) -> Operation:
    """A bulk operation: ``with bulk(name, total=n) as op`` or ``for x in bulk(name, items)``.

    Options: ``stall_after`` (seconds without progress before it counts as stalled, 60),
    ``rate_window`` (seconds of the moving rate, 30), ``errors_kept`` (20), ``report``
    (``"auto"``, ``"bar"``, ``"log"``, None), ``log_every`` (10 s).
    """
    if total is not None and hasattr(total, "__iter__"):  # bulk(name, items)
        iterable, total = total, None
    op = Operation(name, total, iterable, **options)
    from .bulk_report import attach

    attach(op)
    return op
