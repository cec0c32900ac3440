"""The one schema every job system writes, labelled ``{system, queue, task}``.

``jobs_enqueued_total``, ``jobs_started_total``, ``jobs_completed_total{outcome}`` (success,
failure, retry, revoked), ``jobs_retries_total``, ``jobs_in_progress``,
``job_duration_seconds`` (start to end of a run), ``job_queue_wait_seconds`` (enqueue to
start, from the enqueue time carried in the message), ``job_workers_up{system, queue}``
(workers consuming the queue), ``job_worker_slots{system, queue}`` (the jobs they can run
at once; with the in-progress count, the pool's saturation, see ``workers``) and
``job_queue_depth{system, queue}`` (polled, see ``depth``). No hostname label: autoscaled
workers would churn series; in prefork pools the children's numbers merge through the
multiprocess mode.
"""

from __future__ import annotations

import threading
import time
from time import perf_counter
from typing import Any

from ..context import Work, reset_work, set_work

OUTCOMES = ("success", "failure", "retry", "revoked")
DURATION_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                    900.0, 3600.0, float("inf"))
WAIT_BUCKETS = (.001, .005, .01, .05, .1, .5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
                3600.0, float("inf"))
#: The message header carrying the enqueue time (Unix seconds) where a system has none.
ENQUEUED_HEADER = "wk_enqueued_at"


class JobMetrics:
    """The job series on one registry, with cached children per (system, queue, task)."""

    def __init__(self, registry: Any = None, max_label_sets: int | None = 2000) -> None:
        from ...metrics import Counter, Gauge, Histogram
        from ...metrics.registry import REGISTRY

        opts = {"registry": REGISTRY if registry is None else registry,
                "max_label_sets": max_label_sets}
        lab = ["system", "queue", "task"]
        self.enqueued = Counter("jobs_enqueued_total", "Jobs put on a queue.", lab, **opts)
        self.started = Counter("jobs_started_total", "Jobs a worker started.", lab, **opts)
        self.completed = Counter("jobs_completed_total", "Job runs that ended, by outcome "
                                 "(success, failure, retry, revoked).", [*lab, "outcome"],
                                 **opts)
        self.retries = Counter("jobs_retries_total", "Retries scheduled for jobs.", lab, **opts)
        self.in_progress = Gauge("jobs_in_progress", "Jobs running now.", lab,
                                 multiprocess_mode="livesum", **opts)
        self.duration = Histogram("job_duration_seconds", "How long a job run took.", lab,
                                  buckets=DURATION_BUCKETS, **opts)
        self.wait = Histogram("job_queue_wait_seconds", "From enqueue to the start of a run.",
                              lab, buckets=WAIT_BUCKETS, **opts)
        self.workers = Gauge("job_workers_up", "Workers consuming the queue now.",
                             ["system", "queue"], multiprocess_mode="livesum", **opts)
        self.slots = Gauge("job_worker_slots", "Jobs the queue's workers can run at once "
                           "(processes, threads or max jobs).", ["system", "queue"],
                           multiprocess_mode="livesum", **opts)
        self.registry = registry
        self._pools: set[tuple[str, str]] = set()
        self._reader: Any = None
        self._kids: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        self._enqueued: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def children(self, system: str, queue: str, task: str) -> tuple[Any, ...]:
        key = (system, queue, task)
        found = self._kids.get(key)
        if found is None:
            with self._lock:
                found = (self.started.labels(*key).inc, self.in_progress.labels(*key),
                         self.duration.labels(*key).observe, self.wait.labels(*key).observe,
                         {o: self.completed.labels(*key, o).inc for o in OUTCOMES})
                if len(self._kids) < 10_000:
                    self._kids[key] = found
        return found

    # -- events ---------------------------------------------------------------------------
    def job_enqueued(self, system: str, queue: str, task: str) -> None:
        key = (system, queue, task)
        inc = self._enqueued.get(key)
        if inc is None:
            inc = self.enqueued.labels(*key).inc
            if len(self._enqueued) < 10_000:
                self._enqueued[key] = inc
        inc()

    def job_retried(self, system: str, queue: str, task: str) -> None:
        self.retries.labels(system, queue, task).inc()

    def job_started(self, system: str, queue: str, task: str,
                    enqueued_at: float | None = None) -> JobRun:
        """Count the start, observe the queue wait, make the job the current work."""
        kids = self.children(system, queue, task)
        kids[0]()
        kids[1].inc()
        if enqueued_at:
            kids[3](max(0.0, time.time() - float(enqueued_at)))
        token = set_work(Work("job", task, system=system))
        return JobRun(kids, perf_counter(), token)

    def job_finished(self, run: JobRun | None, outcome: str) -> None:
        if run is None or run.done:
            return
        run.done = True
        kids = run.kids
        kids[2](perf_counter() - run.started)
        kids[1].dec()
        kids[4].get(outcome, kids[4]["failure"])()
        if run.token is not None:
            try:
                reset_work(run.token)
            except ValueError:  # finished in another context
                pass

    def worker_up(self, system: str, queues: list[str] | tuple[str, ...], up: bool,
                  slots: int | None = None) -> None:
        """A worker came up (or went down) on ``queues`` with ``slots`` jobs at once; the
        first time a pool is seen its score (``workers.PoolScore``) is published."""
        for queue in queues:
            sign = 1 if up else -1
            self.workers.labels(system, queue).inc(sign)
            if slots:
                self.slots.labels(system, queue).inc(sign * slots)
            if up and (system, queue) not in self._pools:
                from .workers import register_pool

                self._pools.add((system, queue))
                register_pool(self, system, queue, self.registry)

    @property
    def reader(self) -> Any:
        """What the pool scores read: this object's families or the multiprocess files."""
        if self._reader is None:
            from .workers import Reader

            self._reader = Reader(self)
        return self._reader


class JobRun:
    """One started run: its series, when it started, and the work-context token."""

    __slots__ = ("done", "kids", "started", "token")

    def __init__(self, kids: tuple[Any, ...], started: float, token: Any) -> None:
        self.kids = kids
        self.started = started
        self.token = token
        self.done = False


_default: JobMetrics | None = None
_default_lock = threading.Lock()


def job_metrics() -> JobMetrics:
    """The series on the default registry, built on first use (after a fork in prefork
    children, so their numbers go to their own multiprocess files)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = JobMetrics()
    return _default
