"""RQ through a worker class and a queue class (RQ has no signals, and no job durations).

    from watchkeeper.integrations.jobs.rq import WatchedQueue, WatchedWorker
    queue = WatchedQueue("emails", connection=redis)      # counts enqueues
    WatchedWorker([queue], connection=redis).work()       # or: rq worker -w <path>.WatchedWorker

RQ stores the enqueue time on the job (``enqueued_at``), which gives the queue wait. The
default worker forks a work horse per job: with ``PROMETHEUS_MULTIPROC_DIR`` set the horses'
numbers land in the multiprocess files; ``WatchedSimpleWorker`` runs jobs in-process.
A run's outcome is read from the job's status after RQ handled it: finished (success),
failed (failure), queued/scheduled again (retry), stopped or canceled (revoked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq import Queue, SimpleWorker, Worker

from .schema import JobMetrics, job_metrics

SYSTEM = "rq"
_STATUS_OUTCOME = {"finished": "success", "failed": "failure", "queued": "retry",
                   "scheduled": "retry", "deferred": "retry", "stopped": "revoked",
                   "canceled": "revoked"}


def _timestamp(when: datetime | None) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RQ stores UTC
    return when.timestamp()


class WatchedQueue(Queue):
    """A queue that counts what is enqueued (not retries, which RQ re-enqueues itself)."""

    metrics: JobMetrics | None = None

    def enqueue_job(self, job: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().enqueue_job(job, *args, **kwargs)
        (self.metrics or job_metrics()).job_enqueued(SYSTEM, self.name, job.func_name)
        return result


class _Hooks:
    metrics: JobMetrics | None = None

    def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
        metrics = self.metrics or job_metrics()
        name = job.func_name
        run = metrics.job_started(SYSTEM, queue.name, name, _timestamp(job.enqueued_at))
        outcome = "failure"
        try:
            ok = super().perform_job(job, queue, *args, **kwargs)  # type: ignore[misc]
            status = job.get_status(refresh=True)
            value = getattr(status, "value", status)
            outcome = _STATUS_OUTCOME.get(str(value), "success" if ok else "failure")
            return ok
        finally:
            metrics.job_finished(run, outcome)
            if outcome == "retry":
                metrics.job_retried(SYSTEM, queue.name, name)

    def register_birth(self, *args: Any, **kwargs: Any) -> Any:
        result = super().register_birth(*args, **kwargs)  # type: ignore[misc]
        (self.metrics or job_metrics()).worker_up(SYSTEM, self.queue_names(), True, 1)  # type: ignore[attr-defined]
        return result

    def register_death(self, *args: Any, **kwargs: Any) -> Any:
        (self.metrics or job_metrics()).worker_up(SYSTEM, self.queue_names(), False, 1)  # type: ignore[attr-defined]
        return super().register_death(*args, **kwargs)  # type: ignore[misc]


class WatchedWorker(_Hooks, Worker):
    """RQ's forking worker, counting each job run in its work horse."""


class WatchedSimpleWorker(_Hooks, SimpleWorker):
    """RQ's in-process worker, counting each job run."""
