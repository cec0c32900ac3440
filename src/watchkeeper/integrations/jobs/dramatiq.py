"""dramatiq through a middleware, on any broker (Redis, RabbitMQ).

    broker = RedisBroker(url="redis://127.0.0.1:6379/0")
    watchkeeper.integrations.jobs.dramatiq.instrument_dramatiq(broker)

The middleware sits before dramatiq's ``Retries`` so that, when a run ends, it already
knows whether the message will be retried (outcome ``retry``) or has failed for good
(``failure``). Enqueues stamp the time into the message options (``wk_enqueued_at``); a
retry's re-enqueue counts as a retry, not a new job. Skipped messages (age limit, abort)
end ``revoked``. Worker processes started by the ``dramatiq`` command merge through the
multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set.
"""

from __future__ import annotations

import time
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware, Retries

from .schema import ENQUEUED_HEADER, JobMetrics, job_metrics

SYSTEM = "dramatiq"


class WatchkeeperMiddleware(Middleware):
    """Counts enqueues, runs by outcome, durations, queue waits and workers."""

    def __init__(self, metrics: JobMetrics | None = None) -> None:
        self._metrics = metrics
        self._runs: dict[str, Any] = {}
        self._queues: list[str] = []

    @property
    def metrics(self) -> JobMetrics:
        return self._metrics or job_metrics()

    def before_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        options = message.options
        options[ENQUEUED_HEADER] = time.time() + (delay or 0) / 1000
        if options.get("retries"):
            return
        self.metrics.job_enqueued(SYSTEM, q_name(message.queue_name), message.actor_name)

    def before_process_message(self, broker: Any, message: Any) -> None:
        enqueued = message.options.get(ENQUEUED_HEADER) or message.message_timestamp / 1000
        self._runs[message.message_id] = self.metrics.job_started(
            SYSTEM, q_name(message.queue_name), message.actor_name, enqueued)

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        run = self._runs.pop(message.message_id, None)
        if exception is None:
            outcome = "success"
        elif message.failed:
            outcome = "failure"
        else:
            outcome = "retry"
            self.metrics.job_retried(SYSTEM, q_name(message.queue_name), message.actor_name)
        self.metrics.job_finished(run, outcome)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        run = self._runs.pop(message.message_id, None)
        if run is not None:
            self.metrics.job_finished(run, "revoked")
        else:
            self.metrics.completed.labels(SYSTEM, q_name(message.queue_name),
                                          message.actor_name, "revoked").inc()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        queues = sorted(worker.consumer_whitelist or {q_name(q) for q in
                                                      broker.get_declared_queues()})
        self._queues, self._slots = queues, getattr(worker, "worker_threads", None)
        self.metrics.worker_up(SYSTEM, queues, True, self._slots)

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        queues, self._queues = self._queues, []
        self.metrics.worker_up(SYSTEM, queues, False, getattr(self, "_slots", None))


def instrument_dramatiq(broker: Any, *, metrics: JobMetrics | None = None
                        ) -> WatchkeeperMiddleware:
    """Add the middleware to ``broker``, before ``Retries`` when that is present."""
    middleware = WatchkeeperMiddleware(metrics)
    if any(isinstance(m, Retries) for m in broker.middleware):
        broker.add_middleware(middleware, before=Retries)
    else:
        broker.add_middleware(middleware)
    return middleware
