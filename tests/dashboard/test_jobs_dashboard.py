"""The built-in jobs dashboard: every panel's query runs on what the monitors export, and the
bulk and job panels show the series a real run produced."""

from __future__ import annotations

from pathlib import Path

from watchkeeper import CollectorRegistry
from watchkeeper.dashboard import builtin_dashboards
from watchkeeper.integrations.bulk import OPERATIONS, Operation
from watchkeeper.integrations.bulk_health import COLLECTOR, track
from watchkeeper.integrations.jobs.schema import JobMetrics
from watchkeeper.integrations.scores import SCOREBOARD
from watchkeeper.integrations.tasks import TaskMetrics, track_task
from watchkeeper.promql.engine import Engine
from watchkeeper.server.ingest import family_samples
from watchkeeper.tsdb import Store

T0 = 1_800_000_000_000


def test_every_panel_runs_and_the_main_ones_show_data(tmp_path: Path) -> None:
    OPERATIONS.clear()
    registry = CollectorRegistry()
    registry.register(COLLECTOR)
    jobs = JobMetrics(registry)
    jobs.worker_up("celery", ["emails"], True, slots=4)
    tasks = TaskMetrics(registry)
    registry.register(SCOREBOARD)
    op = Operation("import_users", total=1000, report=None)
    track(op)
    store = Store.open(tmp_path / "data", background=False)
    try:
        for step in range(12):
            op.ok(40)
            op.fail(ValueError("bad row"), item=step)
            op.sample()
            for _ in range(3):
                jobs.job_enqueued("celery", "emails", "send")
                run = jobs.job_started("celery", "emails", "send", enqueued_at=None)
                jobs.job_finished(run, "success" if step % 4 else "failure")
            with track_task("rebuild", metrics=tasks):
                pass
            target = {"job": "app", "instance": "a:1"}
            for labels, ts, value in family_samples(registry.collect(), target,
                                                    T0 + step * 15_000):
                store.append(labels, ts, value)
            store.commit()
        engine = Engine(store)
        dashboard = next(d for d in builtin_dashboards() if d.id == "jobs")
        answers = {}
        for panel in dashboard.panels():
            result = engine.instant(panel.expr, T0 + 11 * 15_000)
            answers[panel.title] = len(result.value.labels)
        for title in ("Progress of running operations", "Items per second",
                      "Failed items by error", "Job runs by outcome", "Failed runs by task",
                      "Tasks completed", "Health of operations, queues and worker pools",
                      "Worker pools busy"):
            assert answers[title] >= 1, title
        assert answers["Stalled operations"] == 1  # the vector(0) fallback: nothing stalled
    finally:
        store.close()
        op.finish()
        OPERATIONS.clear()
        SCOREBOARD.unregister("bulk", "import_users")
        SCOREBOARD.unregister("workers", "celery/emails")
