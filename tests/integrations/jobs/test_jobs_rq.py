"""RQ with the watched worker on the real Redis: forked work horses merged through the
multiprocess mode, counters equal to what the test enqueued, depth and workers seen."""

from __future__ import annotations

import pytest
from jobpeers import REDIS_URL, Worker, samples, total, unique, wait_for

from peers import require_service
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs.schema import JobMetrics

pytestmark = pytest.mark.peer
rq = pytest.importorskip("rq")


@pytest.fixture
def connection():
    import redis

    require_service("redis")
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


def _cleanup(connection, queue: str, jobs: list) -> None:
    for job in jobs:
        try:
            job.delete()
        except Exception:
            pass
    keys = list(connection.scan_iter(f"*{queue}*"))
    if keys:
        connection.delete(*keys)
    connection.srem("rq:queues", f"rq:queue:{queue}")  # RQ's shared set of queue names


def test_a_forking_worker_counts_what_was_enqueued(connection, tmp_path) -> None:
    from rq import Retry
    from rq_jobs import add, fail, flaky

    from watchkeeper.integrations.jobs.depth import watch_queues
    from watchkeeper.integrations.jobs.rq import WatchedQueue

    queue_name = unique("wk_rq")
    registry = CollectorRegistry()
    WatchedQueue.metrics = JobMetrics(registry)
    queue = WatchedQueue(queue_name, connection=connection)
    jobs = []
    try:
        jobs += [queue.enqueue(add, i, i) for i in range(10)]
        jobs += [queue.enqueue(fail) for _ in range(2)]
        jobs.append(queue.enqueue(flaky, f"{queue_name}:flaky", retry=Retry(max=1)))
        watcher = watch_queues("rq", [queue_name], redis=connection, registry=registry)
        depth = {s.name: s.value for fam in registry.collect() for s in fam.samples
                 if s.labels.get("queue") == queue_name}
        assert depth["job_queue_depth"] == 13 and depth["job_queue_consumers"] == 0
        assert watcher.score(queue_name).worst == "no_workers"
        enqueued = {s.labels["task"]: s.value for fam in registry.collect()
                    for s in fam.samples if s.name == "jobs_enqueued_total"}
        assert enqueued == {"rq_jobs.add": 10, "rq_jobs.fail": 2, "rq_jobs.flaky": 1}
        mpdir = tmp_path / "mp"
        with Worker(["rq_jobs.py", queue_name], {"WK_REDIS": REDIS_URL}, mpdir,
                    tmp_path / "worker.log") as worker:
            wait_for(lambda: worker.proc.poll() is not None, 120, "the burst worker to end")
        assert worker.proc.returncode == 0, worker.log.read_text()[-2000:]
        found = samples(mpdir)
        done = {o: total(found, "jobs_completed_total", outcome=o)
                for o in ("success", "failure", "retry", "revoked")}
        assert done == {"success": 11, "failure": 2, "retry": 1, "revoked": 0}
        assert total(found, "jobs_started_total", system="rq", queue=queue_name,
                     task="rq_jobs.add") == 10
        assert total(found, "jobs_retries_total", task="rq_jobs.flaky") == 1
        assert total(found, "job_queue_wait_seconds_count") == 14
        assert total(found, "job_duration_seconds_count") == 14
        assert total(found, "jobs_in_progress") == 0
    finally:
        WatchedQueue.metrics = None
        _cleanup(connection, queue_name, jobs)


def test_a_worker_is_up_between_birth_and_death(connection) -> None:
    from watchkeeper.integrations.jobs.rq import WatchedQueue, WatchedSimpleWorker

    queue_name = unique("wk_rq_up")
    registry = CollectorRegistry()
    worker = WatchedSimpleWorker([WatchedQueue(queue_name, connection=connection)],
                                 connection=connection)
    worker.metrics = JobMetrics(registry)
    try:
        worker.register_birth()
        assert registry.get_sample_value("job_workers_up",
                                         {"system": "rq", "queue": queue_name}) == 1
        worker.register_death()
        assert registry.get_sample_value("job_workers_up",
                                         {"system": "rq", "queue": queue_name}) == 0
    finally:
        _cleanup(connection, queue_name, [])
        connection.delete(worker.key)
