"""Celery hooks with a real prefork worker on the real RabbitMQ and Redis: the counters equal
what the test enqueued, children merged through the multiprocess mode. The producer runs in
its own process too, so that on Redis both can use the redis-py kombu needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import httpx
import pytest
from jobpeers import (
    AMQP_URL,
    HERE,
    REDIS_URL,
    Worker,
    python_path,
    samples,
    total,
    unique,
    wait_for,
)

from peers import free_port, require_service, side_packages
from watchkeeper import CollectorRegistry
from watchkeeper.exposition.parse import text_string_to_metric_families
from watchkeeper.integrations.jobs.depth import watch_queues
from watchkeeper.integrations.scores import SCOREBOARD

pytestmark = pytest.mark.peer
celery = pytest.importorskip("celery")

BROKERS = {"rabbitmq": AMQP_URL, "redis": REDIS_URL}


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


def _produce(broker: Broker, queue: str, what: str) -> dict[str, float]:
    """Enqueue in a producer process (``celery_producer.py``); what its hooks counted."""
    done = subprocess.run([sys.executable, "celery_producer.py", broker.url, queue, what],
                          cwd=HERE, env={**os.environ, "PYTHONPATH": python_path(broker.first)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Broker:
    url: str
    first: tuple[str, ...] = ()  # ahead of the path of the producer and the worker


@pytest.fixture(params=sorted(BROKERS))
def broker(request) -> Broker:
    require_service(request.param)
    if request.param == "rabbitmq":
        return Broker(BROKERS["rabbitmq"])
    # kombu 5.7's Redis transport needs redis-py >= 6.1 and arq pins redis-py < 6, so no
    # one venv has both: the producer and the worker run with a redis-py 6+ in front.
    side = side_packages("redis-py6")
    probe = subprocess.run(
        [sys.executable, "-c", "import redis; from kombu.transport.redis import Channel; "
         "Channel._get_client(Channel); print(redis.__version__)"],
        env={**os.environ, "PYTHONPATH": python_path([side])}, capture_output=True,
        text=True, timeout=60)
    assert probe.returncode == 0, f"kombu's Redis transport with {side}: {probe.stderr}"
    assert int(probe.stdout.split(".")[0]) >= 6
    return Broker(BROKERS["redis"], (side,))


def test_a_prefork_worker_counts_what_was_enqueued(broker: Broker, tmp_path) -> None:
    queue = unique("wk_celery")
    mpdir = tmp_path / "mp"
    port = free_port()
    env = {"WK_BROKER": broker.url, "WK_QUEUE": queue, "WK_PORT": str(port)}
    try:
        with Worker(["celery_worker_app.py", "2"], env, mpdir, tmp_path / "worker.log",
                    first=broker.first) as worker:
            wait_for(lambda: total(samples(mpdir), "job_workers_up", queue=queue) == 1, 60,
                     "the worker to be ready")
            enqueued = _produce(broker, queue, "run")
            assert enqueued == {"wk.add": 21, "wk.fail": 3, "wk.flaky": 2}

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
            assert total(found, "job_worker_slots", queue=queue) == 2  # prefork -c 2
            # the worker serves the children's sum and the pool's score: 3 of the 28 runs
            # that ended failed, so about 10.7 of its points went to failures (the files
            # behind a score are read at most once a second: a scrape may be that late)
            def pool_score() -> float | None:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
                scores = {s.labels["name"]: s.value
                          for fam in text_string_to_metric_families(text)
                          for s in fam.samples if s.name == "watchkeeper_health_score"
                          and s.labels.get("component") == "workers"}
                got = scores[f"celery/{queue}"]
                return got if got < 100 else None

            got = wait_for(pool_score, 10, "the failures in the pool's score")
            assert 85 < got <= 100 - 100 * 3 / 28 + 1e-9
            worker.stop()
            assert total(samples(mpdir), "job_workers_up", queue=queue) == 0
            assert worker.proc.returncode == 0, worker.log.read_text()[-2000:]
    finally:
        _cleanup(broker.url, queue)


def test_queue_depth_and_no_workers_score(broker: Broker) -> None:
    queue = unique("wk_depth")
    url = broker.url
    registry = CollectorRegistry()
    try:
        assert _produce(broker, queue, "depth") == {"wk.add": 5}
        if url.startswith("redis"):
            watcher = watch_queues("celery", [queue], redis=url, registry=registry)
        else:
            watcher = watch_queues("celery", [queue], amqp=url, registry=registry)
        depth = {s.name: s.value for fam in registry.collect() for s in fam.samples
                 if s.labels.get("queue") == queue}
        assert depth["job_queue_depth"] == 5
        if not url.startswith("redis"):
            assert depth["job_queue_consumers"] == 0
            score = watcher.score(queue)
            assert score.worst == "no_workers" and score.value == 40
        assert ("queue", f"celery/{queue}") in {(s.component, s.name)
                                                for s in SCOREBOARD.scores()}
    finally:
        SCOREBOARD.unregister("queue", f"celery/{queue}")
        _cleanup(url, queue)
