"""The worker-pool score: down, saturation, failures and queue wait, each from the job
series, each window starting where the previous score left off."""

from __future__ import annotations

import time

import pytest
from jobpeers import unique

from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs import workers
from watchkeeper.integrations.jobs.schema import JobMetrics
from watchkeeper.integrations.scores import SCOREBOARD


@pytest.fixture
def pool(monkeypatch):
    monkeypatch.setattr(workers, "CACHE_SECONDS", 0.0)  # every score reads afresh
    monkeypatch.setattr(workers, "WINDOW_SECONDS", 0.0)  # each score's window: since the last
    metrics = JobMetrics(CollectorRegistry())
    queue = unique("pool")
    metrics.worker_up("celery", [queue], True, slots=4)
    name = f"celery/{queue}"
    yield metrics, queue, lambda: next(s for s in SCOREBOARD.scores()
                                       if (s.component, s.name) == ("workers", name))
    SCOREBOARD.unregister("workers", name)


def test_an_idle_pool_that_is_up_scores_100(pool) -> None:
    _, _, score = pool
    got = score()
    assert got.value == 100 and got.worst == ""


def test_a_full_pool_failing_runs_and_long_waits_lose_points(pool) -> None:
    metrics, queue, score = pool
    runs = [metrics.job_started("celery", queue, "t", enqueued_at=time.time() - 30)
            for _ in range(4)]
    got = score()  # 4 busy of 4 slots; nothing ended yet; 4 waits of ~30 s
    assert got.contributors["saturation"] == pytest.approx(20)
    assert got.contributors["failures"] == 0
    assert got.contributors["queue_wait"] == pytest.approx(10, abs=0.5)
    # last started, first finished: each run restores the work context it found
    for run, outcome in zip(reversed(runs), ["success", "success", "success", "failure"],
                            strict=True):
        metrics.job_finished(run, outcome)
    got = score()  # idle again; a quarter of the runs ended in failure; no new waits
    assert got.contributors == {"down": 0, "saturation": 0, "failures": 20, "queue_wait": 0}
    assert got.value == pytest.approx(80) and got.worst == "failures"
    for _ in range(10):
        metrics.job_finished(metrics.job_started("celery", queue, "t"), "success")
    assert score().value == 100  # the failures were in the previous window
    from watchkeeper.integrations.context import current_work

    assert current_work() is None


def test_a_pool_with_no_worker_up_loses_60(pool) -> None:
    metrics, queue, score = pool
    metrics.worker_up("celery", [queue], False, slots=4)
    got = score()
    assert got.value == 40 and got.worst == "down"
    found = {s.name: s.value for fam in metrics.slots.collect() for s in fam.samples
             if s.labels["queue"] == queue}
    assert found == {"job_worker_slots": 0}


def test_the_worst_contributor_reaches_the_performance_summary(pool) -> None:
    from watchkeeper.integrations.resources import local_samples, performance

    metrics, queue, _ = pool
    metrics.worker_up("celery", [queue], False, slots=4)
    mine = [c for c in performance(local_samples())["components"]
            if c["component"] == "workers" and c["name"] == f"celery/{queue}"]
    assert mine == [{"component": "workers", "name": f"celery/{queue}", "score": 40.0,
                     "worst": "down"}]


def test_every_reader_sees_the_failures_of_the_window(monkeypatch) -> None:
    # a scrape and /health/performance read the same pool: neither hides the other's
    monkeypatch.setattr(workers, "CACHE_SECONDS", 0.0)
    metrics = JobMetrics(CollectorRegistry())
    queue = unique("window")
    metrics.worker_up("celery", [queue], True, slots=4)
    name = f"celery/{queue}"
    try:
        def score():
            return next(s for s in SCOREBOARD.scores()
                        if (s.component, s.name) == ("workers", name))

        for outcome in ["success"] * 3 + ["failure"]:
            metrics.job_finished(metrics.job_started("celery", queue, "t"), outcome)
        first, second = score(), score()
        assert first.contributors["failures"] == pytest.approx(20)  # a quarter failed
        assert second.contributors["failures"] == pytest.approx(20)
    finally:
        SCOREBOARD.unregister("workers", name)
