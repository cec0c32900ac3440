"""Celery hooks with a real prefork worker on the real RabbitMQ and Redis: the counters equal
what the test enqueued, children merged through the multiprocess mode."""

from __future__ import annotations

import pytest
from jobpeers import AMQP_URL, REDIS_URL, Worker, samples, total, unique, wait_for

from peers import require_service
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs.depth import watch_queues
from watchkeeper.integrations.jobs.schema import JobMetrics
from watchkeeper.integrations.scores import SCOREBOARD

pytestmark = pytest.mark.peer
celery = pytest.importorskip("celery")

BROKERS = {"rabbitmq": AMQP_URL, "redis": REDIS_URL}


def _app(broker: str, queue: str):
    from celery_worker_app import make_app

    return make_app(broker, queue)


def _cleanup(broker: str, queue: str) -> None:
    if broker.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker)
        keys = [k for k in client.scan_iter(f"*{queue}*")]
        if keys:
            client.delete(*keys)
        client.close()
        return
    from kombu import Connection

    with Connection(broker) as conn:
        for method in ("queue_delete", "exchange_delete"):
            channel = conn.channel()  # a failed call closes its channel
            try:
                getattr(channel, method)(queue)
            except Exception:
                pass


def _kombu_redis_usable() -> str:
    """Why kombu's Redis transport cannot load here, or "" when it can."""
    try:
        from kombu.transport.redis import Channel

        Channel._get_client(Channel)
    except Exception as e:
        return f"kombu's Redis transport is unusable with the installed redis-py: {e}"
    return ""


@pytest.fixture(params=sorted(BROKERS))
def broker(request):
    require_service(request.param)
    if request.param == "redis" and (why := _kombu_redis_usable()):
        # kombu 5.7 needs redis-py >= 6.1 while arq pins redis-py < 6: one venv has one.
        pytest.skip(why)
    return BROKERS[request.param]


def test_a_prefork_worker_counts_what_was_enqueued(broker, tmp_path) -> None:
    queue = unique("wk_celery")
    mod = _app(broker, queue)
    registry = CollectorRegistry()
    from watchkeeper.integrations.jobs.celery import instrument_celery

    hooks = instrument_celery(mod.app, metrics=JobMetrics(registry))
    mpdir = tmp_path / "mp"
    try:
        with Worker(["celery_worker_app.py", "2"], {"WK_BROKER": broker, "WK_QUEUE": queue},
                    mpdir, tmp_path / "worker.log") as worker:
            wait_for(lambda: total(samples(mpdir), "job_workers_up", queue=queue) == 1, 60,
                     "the worker to be ready")
            for i in range(20):
                mod.add.delay(i, i)
            for _ in range(3):
                mod.fail.delay()
            for _ in range(2):
                mod.flaky.delay()
            revoked_id = unique("revoked")
            replies = mod.app.control.revoke(revoked_id, reply=True, timeout=10)
            assert replies, "the worker acknowledged the revoke"
            mod.add.apply_async((1, 1), task_id=revoked_id)  # discarded as revoked

            def finished() -> dict | None:
                found = samples(mpdir)
                return found if total(found, "jobs_completed_total") == 28 else None

            found = wait_for(finished, 90, "28 finished runs")
            done = {o: total(found, "jobs_completed_total", outcome=o)
                    for o in ("success", "failure", "retry", "revoked")}
            assert done == {"success": 22, "failure": 3, "retry": 2, "revoked": 1}
            assert total(found, "jobs_started_total") == 27
            assert total(found, "jobs_started_total", task="wk.add", queue=queue,
                         system="celery") == 20
            assert total(found, "jobs_retries_total", task="wk.flaky") == 2
            assert total(found, "job_queue_wait_seconds_count") == 27
            assert total(found, "job_duration_seconds_count") == 27
            assert total(found, "jobs_in_progress") == 0
            assert not any("hostname" in dict(lab) for _, lab in found)
            enqueued = {s.labels["task"]: s.value for fam in registry.collect()
                        for s in fam.samples if s.name == "jobs_enqueued_total"}
            assert enqueued == {"wk.add": 21, "wk.fail": 3, "wk.flaky": 2}
            worker.stop()
            assert total(samples(mpdir), "job_workers_up", queue=queue) == 0
            assert worker.proc.returncode == 0, worker.log.read_text()[-2000:]
    finally:
        hooks.disconnect()
        mod.app.close()
        _cleanup(broker, queue)


def test_queue_depth_and_no_workers_score(broker) -> None:
    queue = unique("wk_depth")
    mod = _app(broker, queue)
    registry = CollectorRegistry()
    try:
        for i in range(5):
            mod.add.delay(i, i)
        if broker.startswith("redis"):
            watcher = watch_queues("celery", [queue], redis=broker, registry=registry)
        else:
            watcher = watch_queues("celery", [queue], amqp=broker, registry=registry)
        depth = {s.name: s.value for fam in registry.collect() for s in fam.samples
                 if s.labels.get("queue") == queue}
        assert depth["job_queue_depth"] == 5
        if not broker.startswith("redis"):
            assert depth["job_queue_consumers"] == 0
            score = watcher.score(queue)
            assert score.worst == "no_workers" and score.value == 40
        assert ("queue", f"celery/{queue}") in {(s.component, s.name)
                                                for s in SCOREBOARD.scores()}
    finally:
        SCOREBOARD.unregister("queue", f"celery/{queue}")
        mod.app.close()
        _cleanup(broker, queue)
