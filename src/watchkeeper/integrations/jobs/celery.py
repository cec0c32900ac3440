"""Celery through its signals: no events, no sidecar, no pollable-broker requirement.

    app = Celery("proj", broker="amqp://guest:guest@127.0.0.1:5672//")
    watchkeeper.instrument_celery(app, port=9808)   # in the module workers and clients import

Publishing stamps the enqueue time into the message headers (``wk_enqueued_at``), so the
worker observes the queue wait; a retry re-publishes the task and counts as a retry, not a
new enqueue. Prefork children write to the multiprocess files when
``PROMETHEUS_MULTIPROC_DIR`` is set, and ``port`` serves their sum from the main process.
"""

from __future__ import annotations

import threading
import time
from time import perf_counter
from typing import Any

from ..context import Work
from ..context import _current as _work
from .schema import ENQUEUED_HEADER, JobMetrics, job_metrics

SYSTEM = "celery"
_STATE_OUTCOME = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry",
                  "REVOKED": "revoked", "IGNORED": "success", "REJECTED": "failure"}


#: Celery versions whose ``Signal`` has ``use_caching`` and a plain dict ``sender_receivers_cache``
_CACHE_VERSIONS = ((4, 0), (6, 0))
# signal -> hooks connected with its receiver cache turned on by us
_cached: dict[Any, int] = {}
_cached_lock = threading.Lock()


def cache_receivers(signal: Any, version: tuple[int, ...] | None = None) -> bool:
    """Have ``signal`` cache its receivers per sender, as Celery's own option does.

    Uncached, every send takes the signal's lock, makes an id of the sender and filters
    all receivers: about a third of what the hooks add to a real worker's task cycle (see
    bench/jobs.py). Connecting and disconnecting clear the cache, so it stays right. The
    attributes are Celery's own, so this is done on the versions known to have them; on
    any other the signal runs uncached, as before. False when left uncached."""
    if version is None:
        import celery

        version = tuple(celery.VERSION[:2])
    low, high = _CACHE_VERSIONS
    cache = getattr(signal, "sender_receivers_cache", None)
    if not (low <= version < high and isinstance(getattr(signal, "use_caching", None), bool)
            and hasattr(cache, "clear") and hasattr(signal, "lock")):
        return False
    with _cached_lock:
        if signal in _cached:
            _cached[signal] += 1
        elif not signal.use_caching and type(cache) is dict:
            with signal.lock:
                cache.clear()
                signal.use_caching = True
            _cached[signal] = 1
    return bool(signal.use_caching)


def uncache_receivers(signal: Any) -> None:
    """Undo ``cache_receivers`` once the last hooks that asked for it let go."""
    with _cached_lock:
        users = _cached.get(signal, 0) - 1
        if users < 0:
            return
        if users:
            _cached[signal] = users
            return
        del _cached[signal]
        with signal.lock:
            signal.use_caching = False
            signal.sender_receivers_cache.clear()


def _queue(request: Any) -> str:
    info = getattr(request, "delivery_info", None) or {}
    return info.get("routing_key") or info.get("queue") or "celery"


class _Series:
    """One (queue, task)'s bound writers, and the work context its runs share (a job's work
    is never renamed): a run's start and end are a few calls, no lookups by label."""

    __slots__ = ("busy", "duration", "ended", "failed", "started", "wait", "work")

    def __init__(self, metrics: JobMetrics, queue: str, task: str) -> None:
        started, busy, duration, wait, by_outcome = metrics.children(SYSTEM, queue, task)
        self.started, self.busy, self.duration, self.wait = started, busy, duration, wait
        self.ended = {state: by_outcome[o] for state, o in _STATE_OUTCOME.items()}
        self.failed = by_outcome["failure"]
        self.work = Work("job", task, system=SYSTEM)


class CeleryHooks:
    """The signal receivers; kept on an object so tests and apps can disconnect them."""

    def __init__(self, metrics: JobMetrics | None = None, port: int | None = None,
                 addr: str = "127.0.0.1") -> None:
        self._metrics = metrics
        self.port = port
        self.addr = addr
        # task id -> (series, start, work token) of the runs in progress
        self._runs: dict[str, tuple[_Series, float, Any]] = {}
        self._series: dict[tuple[str, str], _Series] = {}
        self._queues: list[str] = []
        self._slots: int | None = None
        self._lock = threading.Lock()
        self._cached: list[Any] = []  # the signals whose receiver cache we turned on

    @property
    def metrics(self) -> JobMetrics:
        return self._metrics or job_metrics()

    def before_publish(self, sender: Any = None, headers: Any = None, routing_key: Any = None,
                       properties: Any = None, **_: Any) -> None:
        if headers is None:
            return
        headers[ENQUEUED_HEADER] = time.time()
        if headers.get("retries"):
            return  # a retry: counted by task_retry
        queue = routing_key or (properties or {}).get("delivery_info", {}).get(
            "routing_key") or "celery"
        self.metrics.job_enqueued(SYSTEM, queue, str(sender or headers.get("task", "")))

    def _new_series(self, queue: str, task: str) -> _Series:
        series = _Series(self.metrics, queue, task)
        with self._lock:
            if len(self._series) < 10_000:
                self._series[(queue, task)] = series
        return series

    # prerun and postrun run once per task in the worker: what JobMetrics.job_started and
    # job_finished do, inlined on the series found by one dict lookup; the parameters
    # Celery sends are named so that the call builds no dict of them
    def prerun(self, signal: Any = None, sender: Any = None, task_id: str = "",
               task: Any = None, args: Any = None, kwargs: Any = None, **_: Any) -> None:
        request = task.request_stack.top or task.request  # the property, a call more
        info = getattr(request, "delivery_info", None)
        queue = (info and (info.get("routing_key") or info.get("queue"))) or "celery"
        name = task.name
        series = self._series.get((queue, name)) or self._new_series(queue, name)
        series.started()
        series.busy.inc()
        enqueued = getattr(request, ENQUEUED_HEADER, None)
        if enqueued:
            series.wait(max(0.0, time.time() - float(enqueued)))
        work, current = series.work, _work.get()
        # a second set of hooks on the same run leaves the context to the first: the
        # postruns come in connection order, so two tokens would end restored inside out
        same = (current is not None and current.kind == "job" and current.system == SYSTEM
                and current.name == name)
        self._runs[task_id] = (series, perf_counter(), None if same else _work.set(work))

    def postrun(self, signal: Any = None, sender: Any = None, task_id: str = "",
                task: Any = None, args: Any = None, kwargs: Any = None, retval: Any = None,
                state: str | None = None, **_: Any) -> None:
        run = self._runs.pop(task_id, None)
        if run is None:
            return
        series, started, token = run
        series.duration(perf_counter() - started)
        series.busy.dec()
        series.ended.get(state, series.failed)()
        if token is not None:
            try:
                _work.reset(token)
            except ValueError:  # finished in another context
                pass

    def retry(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        self.metrics.job_retried(SYSTEM, _queue(request), getattr(sender, "name", "") or "")

    def revoked(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        """Revoked or expired: a run in progress ends revoked, one never started counts."""
        task_id = getattr(request, "id", None) or ""
        if task_id in self._runs:
            self.postrun(task_id=task_id, state="REVOKED")
            return
        name = getattr(sender, "name", None) or getattr(request, "task", None) or ""
        self.metrics.completed.labels(SYSTEM, _queue(request), str(name), "revoked").inc()

    def worker_ready(self, sender: Any = None, **_: Any) -> None:
        try:
            queues = sorted(q.name for q in sender.task_consumer.queues)
        except Exception:
            queues = ["celery"]
        slots = getattr(getattr(sender, "pool", None), "limit", None)  # prefork processes
        slots = slots if isinstance(slots, int) and slots > 0 else None
        with self._lock:
            self._queues, self._slots = queues, slots
        self.metrics.worker_up(SYSTEM, queues, True, slots)
        if self.port is not None:
            _serve(self.port, self.addr)

    def worker_shutdown(self, **_: Any) -> None:
        with self._lock:
            queues, self._queues = self._queues, []
        self.metrics.worker_up(SYSTEM, queues, False, self._slots)

    def connect(self) -> CeleryHooks:
        from celery import signals

        signals.before_task_publish.connect(self.before_publish, weak=False)
        signals.task_prerun.connect(self.prerun, weak=False)
        signals.task_postrun.connect(self.postrun, weak=False)
        if not self._cached:
            self._cached = [s for s in (signals.task_prerun, signals.task_postrun)
                            if cache_receivers(s)]
        signals.task_retry.connect(self.retry, weak=False)
        signals.task_revoked.connect(self.revoked, weak=False)
        signals.worker_ready.connect(self.worker_ready, weak=False)
        signals.worker_shutdown.connect(self.worker_shutdown, weak=False)
        return self

    def disconnect(self) -> None:
        from celery import signals

        for signal, fn in ((signals.before_task_publish, self.before_publish),
                           (signals.task_prerun, self.prerun),
                           (signals.task_postrun, self.postrun),
                           (signals.task_retry, self.retry),
                           (signals.task_revoked, self.revoked),
                           (signals.worker_ready, self.worker_ready),
                           (signals.worker_shutdown, self.worker_shutdown)):
            signal.disconnect(fn)
        cached, self._cached = self._cached, []
        for signal in cached:
            uncache_receivers(signal)


def _serve(port: int, addr: str) -> None:
    """/metrics from the worker's main process: the sum over prefork children and the
    scores in multiprocess mode, the default registry otherwise."""
    from ...exposition.wsgi import start_wsgi_server
    from ...metrics.registry import REGISTRY, CollectorRegistry
    from ...metrics.values import multiprocess_enabled

    registry = REGISTRY
    if multiprocess_enabled():
        from ...metrics.multiprocess import MultiProcessCollector
        from ..scores import SCOREBOARD

        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(SCOREBOARD)  # the pool and queue scores, computed here
    start_wsgi_server(port, addr, registry=registry)


def instrument_celery(app: Any = None, *, metrics: JobMetrics | None = None,
                      port: int | None = None, addr: str = "127.0.0.1") -> CeleryHooks:
    """Connect the hooks (signals are global to the process, ``app`` is for symmetry);
    ``port``: serve ``/metrics`` from the worker once it is ready."""
    return CeleryHooks(metrics, port, addr).connect()
