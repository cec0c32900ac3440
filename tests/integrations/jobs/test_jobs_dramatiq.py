"""dramatiq with the middleware on the real Redis and RabbitMQ: counters equal what the test
sent, retries and failures told apart."""

from __future__ import annotations

import pytest
from jobpeers import REDIS_URL, unique, wait_for

from peers import require_service
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs.schema import JobMetrics

pytestmark = pytest.mark.peer
dramatiq = pytest.importorskip("dramatiq")


def _broker(kind: str, namespace: str):
    if kind == "redis":
        from dramatiq.brokers.redis import RedisBroker

        require_service("redis")
        return RedisBroker(url=REDIS_URL, namespace=namespace)
    pytest.importorskip("pika")
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    require_service("rabbitmq")
    return RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2F")  # pika names the vhost


def _cleanup(kind: str, broker, namespace: str, queue: str) -> None:
    if kind == "redis":
        client = broker.client
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)
    else:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            try:
                broker.channel.queue_delete(name)
            except Exception:
                pass
    broker.close()


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_worker_counts_what_was_sent(kind) -> None:
    from dramatiq import Worker

    from watchkeeper.integrations.jobs.dramatiq import instrument_dramatiq

    namespace, queue = unique("wk_dramatiq_ns"), unique("wk_dramatiq")
    broker = _broker(kind, namespace)
    registry = CollectorRegistry()
    instrument_dramatiq(broker, metrics=JobMetrics(registry))
    tries: dict[str, int] = {}

    def add(x: int, y: int) -> int:
        return x + y

    def fail() -> None:
        raise ValueError("boom")

    def flaky(key: str) -> None:
        tries[key] = tries.get(key, 0) + 1
        if tries[key] == 1:
            raise RuntimeError("first try")

    opts = {"broker": broker, "queue_name": queue, "min_backoff": 10, "max_backoff": 20}
    add_a = dramatiq.actor(add, actor_name="wk_add", max_retries=0, **opts)
    fail_a = dramatiq.actor(fail, actor_name="wk_fail", max_retries=0, **opts)
    flaky_a = dramatiq.actor(flaky, actor_name="wk_flaky", max_retries=2, **opts)
    worker = Worker(broker, worker_threads=2, worker_timeout=100)
    try:
        for i in range(10):
            add_a.send(i, i)
        fail_a.send()
        fail_a.send()
        flaky_a.send("a")
        worker.start()

        def value(name: str, **labels: str) -> float:
            return sum(s.value for fam in registry.collect() for s in fam.samples
                       if s.name == name and all(s.labels.get(k) == v
                                                 for k, v in labels.items()))

        wait_for(lambda: value("jobs_completed_total") == 14, 60, "14 finished runs")
        assert value("job_workers_up", queue=queue) == 1
        done = {o: value("jobs_completed_total", outcome=o)
                for o in ("success", "failure", "retry", "revoked")}
        assert done == {"success": 11, "failure": 2, "retry": 1, "revoked": 0}
        assert value("jobs_enqueued_total", system="dramatiq", queue=queue) == 13
        assert value("jobs_enqueued_total", task="wk_add") == 10
        assert value("jobs_started_total") == 14
        assert value("jobs_retries_total", task="wk_flaky") == 1
        assert value("job_queue_wait_seconds_count") == 14
        assert value("jobs_in_progress") == 0
        worker.stop()
        assert value("job_workers_up", queue=queue) == 0
    finally:
        worker.stop()
        _cleanup(kind, broker, namespace, queue)
