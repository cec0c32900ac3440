"""The Celery hooks in process, through Celery's own tracer (``apply``): every outcome, the
queue wait from the stamped header, the work context during a run, and a run revoked while
in progress. The real worker on the real brokers is ``test_jobs_celery``."""

from __future__ import annotations

import contextvars
import time
from types import SimpleNamespace

import pytest

from watchkeeper import CollectorRegistry
from watchkeeper.integrations.context import current_work
from watchkeeper.integrations.jobs.celery import CeleryHooks
from watchkeeper.integrations.jobs.schema import ENQUEUED_HEADER, JobMetrics

celery = pytest.importorskip("celery")


def figures(registry: CollectorRegistry) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in registry.collect() for s in fam.samples if "le" not in s.labels}


def total(found: dict[tuple, float], name: str, **labels: str) -> float:
    return sum(v for (n, lab), v in found.items()
               if n == name and all((k, labels[k]) in lab for k in labels))


@pytest.fixture(params=["cached", "uncached"])
def celery_app(request, monkeypatch):
    """Both paths: the task signals caching their receivers (the Celery versions the hooks
    know) and running uncached (any other version)."""
    from celery import Celery
    from celery.exceptions import Ignore

    from watchkeeper.integrations.jobs import celery as hooks_module

    if request.param == "uncached":
        monkeypatch.setattr(hooks_module, "_CACHE_VERSIONS", ((0, 0), (0, 0)))
    app = Celery("wk_hooks", broker="memory://", set_as_current=False)
    app.conf.task_ignore_result = True
    seen: dict[str, object] = {}
    registry = CollectorRegistry()
    hooks = CeleryHooks(JobMetrics(registry)).connect()

    @app.task(name="h.ok")
    def ok() -> int:
        work = current_work()
        seen["work"] = (work.kind, work.name, work.system)
        return 1

    @app.task(name="h.boom")
    def boom() -> None:
        raise ValueError("boom")

    @app.task(name="h.ignored")
    def ignored() -> None:
        raise Ignore()

    @app.task(name="h.revoked", bind=True)
    def revoked(self) -> None:  # as the worker's revoke does while it runs
        hooks.revoked(sender=self, request=SimpleNamespace(id=self.request.id))

    try:
        yield SimpleNamespace(app=app, hooks=hooks, registry=registry, seen=seen, ok=ok,
                              boom=boom, ignored=ignored, revoked=revoked)
    finally:
        hooks.disconnect()
        app.close()


def test_every_outcome_is_counted_once_and_the_work_context_is_the_task(celery_app) -> None:
    c = celery_app
    for _ in range(3):
        c.ok.apply()
    c.boom.apply()
    c.ignored.apply()
    c.revoked.apply()
    assert current_work() is None  # each run restored the context it found
    assert c.seen["work"] == ("job", "h.ok", "celery")
    found = figures(c.registry)
    assert total(found, "jobs_started_total") == 6
    assert total(found, "jobs_started_total", task="h.ok") == 3
    assert {o: total(found, "jobs_completed_total", outcome=o)
            for o in ("success", "failure", "retry", "revoked")} == {
        "success": 4, "failure": 1, "retry": 0, "revoked": 1}
    assert total(found, "jobs_in_progress") == 0
    assert total(found, "job_duration_seconds_count") == 6
    assert c.hooks._runs == {}


def test_the_stamped_enqueue_time_is_the_queue_wait_on_the_delivery_queue(celery_app) -> None:
    from celery.app.trace import build_tracer

    c = celery_app
    tracer = build_tracer(c.ok.name, c.ok, app=c.app)  # as a worker runs a message
    # a worker's request carries the message headers as fields, the delivery queue too
    tracer("id-1", (), {}, {"id": "id-1", ENQUEUED_HEADER: time.time() - 2.0,
                            "delivery_info": {"routing_key": "emails", "exchange": ""}})
    tracer("id-2", (), {}, {"id": "id-2", "delivery_info": {"routing_key": "emails"}})
    found = figures(c.registry)
    assert total(found, "job_queue_wait_seconds_count") == 1  # the one stamped
    assert total(found, "job_queue_wait_seconds_sum") >= 2.0
    assert total(found, "jobs_completed_total", queue="emails", task="h.ok",
                 outcome="success") == 2


def test_publishing_stamps_the_header_and_counts_the_enqueue(celery_app) -> None:
    c = celery_app
    headers: dict[str, object] = {"task": "h.ok"}
    before = time.time()
    c.hooks.before_publish(sender="h.ok", headers=headers, routing_key="emails")
    assert before <= headers[ENQUEUED_HEADER] <= time.time()
    c.hooks.before_publish(sender="h.ok", headers={"task": "h.ok", "retries": 1},
                           routing_key="emails")  # a retry: counted by task_retry
    found = figures(c.registry)
    assert total(found, "jobs_enqueued_total", queue="emails", task="h.ok") == 1


def test_receivers_connected_later_still_run_and_disconnect_restores_the_signals() -> None:
    # in a context of its own: two hooks both set the work context of a run
    contextvars.copy_context().run(_receivers_connected_later)


def _receivers_connected_later() -> None:
    from celery import Celery, signals

    from watchkeeper.integrations.jobs.celery import cache_receivers

    app = Celery("wk_cache", broker="memory://", set_as_current=False)
    app.conf.task_ignore_result = True

    @app.task(name="c.ok")
    def ok() -> int:
        return 1

    registry = CollectorRegistry()
    first = CeleryHooks(JobMetrics(registry)).connect()
    second = CeleryHooks(JobMetrics(CollectorRegistry())).connect()
    seen: list[str] = []

    def later(task_id: str = "", **_: object) -> None:
        seen.append(task_id)

    try:
        assert signals.task_prerun.use_caching and signals.task_postrun.use_caching
        ok.apply()  # fills the cache for this sender
        signals.task_postrun.connect(later, weak=False)
        ok.apply(task_id="after")
        assert seen == ["after"]
        signals.task_postrun.disconnect(later)
        first.disconnect()
        assert signals.task_prerun.use_caching  # the second hooks still connected
        ok.apply()
        assert total(figures(registry), "jobs_started_total") == 2  # not after disconnect
    finally:
        signals.task_postrun.disconnect(later)
        first.disconnect()
        second.disconnect()
        app.close()
    assert not signals.task_prerun.use_caching and not signals.task_postrun.use_caching
    assert not cache_receivers(signals.task_prerun, version=(6, 0))  # unknown version
    assert not signals.task_prerun.use_caching


def test_two_sets_of_hooks_leave_no_work_behind_after_a_run() -> None:
    contextvars.copy_context().run(_two_sets_of_hooks)


def _two_sets_of_hooks() -> None:
    from celery import Celery

    app = Celery("wk_two", broker="memory://", set_as_current=False)
    app.conf.task_ignore_result = True
    inside: list[object] = []

    @app.task(name="two.ok")
    def ok() -> int:
        inside.append(current_work())
        return 1

    first = CeleryHooks(JobMetrics(CollectorRegistry())).connect()
    second = CeleryHooks(JobMetrics(CollectorRegistry())).connect()
    try:
        ok.apply()
        ok.apply()
    finally:
        first.disconnect()
        second.disconnect()
        app.close()
    assert [(w.kind, w.name) for w in inside] == [("job", "two.ok")] * 2
    assert current_work() is None
