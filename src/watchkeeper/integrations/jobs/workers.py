"""The health score of a worker pool: the workers of one system consuming one queue.

Registered by the job hooks when a worker comes up; read from the job series of this
process, or of every process writing to the multiprocess directory (a prefork worker's
children), when scraped. Score (``watchkeeper_health_score{component="workers",
name="SYSTEM/QUEUE"}``), 100 minus:

- ``down`` 60 when no worker of the pool is up (``job_workers_up`` is 0);
- ``saturation`` up to 20: busy slots (``jobs_in_progress``) over the pool's slots
  (``job_worker_slots``: prefork processes, threads, ``max_jobs``) past 80 %, over the
  remaining 20 %; a pool that is always full leaves jobs waiting in the queue;
- ``failures`` up to 20: 100 x the share of runs that ended in failure over the last
  ``WINDOW_SECONDS`` (a fifth failing costs the full 20);
- ``queue_wait`` up to 20: the mean wait from enqueue to start of the runs started over the
  last ``WINDOW_SECONDS``, full at 60 s.

The window slides by the clock, not by reads: a scrape, ``/health/performance`` and any other
reader see the same figures however often each reads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..scores import Score, score_from_penalties

WAIT_FULL = 60.0
#: how far back failures and queue waits count
WINDOW_SECONDS = 300.0
#: samples read once serve every pool's score of one scrape
CACHE_SECONDS = 1.0

Figures = dict[str, float]


def _figures(families: Iterable[Any], system: str, queue: str) -> Figures:
    """The pool's current totals summed over tasks: up, slots, busy, runs and failures
    ended, runs started with a known wait and the sum of those waits."""
    out = {"up": 0.0, "slots": 0.0, "busy": 0.0, "ended": 0.0, "failed": 0.0,
           "waits": 0.0, "wait_sum": 0.0}
    names = {"job_workers_up": "up", "job_worker_slots": "slots", "jobs_in_progress": "busy",
             "job_queue_wait_seconds_count": "waits", "job_queue_wait_seconds_sum": "wait_sum"}
    for fam in families:
        for s in fam.samples:
            lab = s.labels
            if lab.get("system") != system or lab.get("queue") != queue:
                continue
            if s.name == "jobs_completed_total":
                out["ended"] += s.value
                if lab.get("outcome") == "failure":
                    out["failed"] += s.value
            elif s.name in names:
                out[names[s.name]] += s.value
    return out


class PoolScore:
    """One pool's score function; keeps the totals of the previous score for its window."""

    def __init__(self, system: str, queue: str, read: Callable[[], list[Any]]) -> None:
        self.system, self.queue, self.read = system, queue, read
        # (monotonic time, totals) read so far within the window, and the newest one older
        # than it; the first starts when the pool came up, with its counters at 0
        zero: Figures = dict.fromkeys(("ended", "failed", "waits", "wait_sum"), 0.0)
        self._seen: deque[tuple[float, Figures]] = deque([(time.monotonic(), zero)], maxlen=4096)
        self._lock = threading.Lock()

    def _base(self, at: float, now: Figures) -> Figures:
        """The totals at the window's start: the newest read at least a window old (or the
        oldest one kept, while the pool is younger than the window)."""
        with self._lock:
            seen = self._seen
            while len(seen) > 1 and at - seen[1][0] >= WINDOW_SECONDS:
                seen.popleft()
            base = seen[0][1]
            seen.append((at, now))
            return base

    def __call__(self) -> Score:
        now = _figures(self.read(), self.system, self.queue)
        last = self._base(time.monotonic(), now)
        penalties = {"down": 60.0 if now["up"] <= 0 else 0.0, "saturation": 0.0,
                     "failures": 0.0, "queue_wait": 0.0}
        if now["slots"] > 0:
            busy = max(0.0, now["busy"]) / now["slots"]
            penalties["saturation"] = min(20.0, 20.0 * max(0.0, busy - 0.8) / 0.2)
        if last is not None:
            ended = now["ended"] - last["ended"]
            if ended > 0:
                share = (now["failed"] - last["failed"]) / ended
                penalties["failures"] = min(20.0, 100.0 * max(0.0, share))
            waits = now["waits"] - last["waits"]
            if waits > 0:
                mean = (now["wait_sum"] - last["wait_sum"]) / waits
                penalties["queue_wait"] = min(20.0, 20.0 * max(0.0, mean) / WAIT_FULL)
        return score_from_penalties("workers", f"{self.system}/{self.queue}", penalties)


class Reader:
    """The job families of ``metrics``, or of the multiprocess directory when this process
    writes there; read at most once per ``CACHE_SECONDS``."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._families: list[Any] = []

    def __call__(self) -> list[Any]:
        with self._lock:
            now = time.monotonic()
            if now - self._at >= CACHE_SECONDS:
                self._families, self._at = self._read(), now
            return self._families

    def _read(self) -> list[Any]:
        from ...metrics.values import multiprocess_enabled

        if multiprocess_enabled():
            from ...metrics.multiprocess import MultiProcessCollector

            return list(MultiProcessCollector(None).collect())
        m = self.metrics
        return [f for metric in (m.workers, m.slots, m.in_progress, m.completed, m.wait)
                for f in metric.collect()]


def register_pool(metrics: Any, system: str, queue: str, registry: Any = None) -> None:
    """Publish the score of the pool ``system/queue`` read from ``metrics``."""
    from ..scores import register_score

    register_score("workers", f"{system}/{queue}", PoolScore(system, queue, metrics.reader),
                   registry=registry)
