"""arq with wrapped functions on the real Redis: counters equal what the test enqueued."""

from __future__ import annotations

import asyncio

import pytest
from jobpeers import unique

from peers import require_service
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.jobs.schema import JobMetrics

pytestmark = pytest.mark.peer
arq = pytest.importorskip("arq")

SEEN_UP: list[float | None] = []
REGISTRY = CollectorRegistry()
METRICS = JobMetrics(REGISTRY)
TRIES: dict[str, int] = {}


async def add(ctx, x: int, y: int) -> int:
    SEEN_UP.append(REGISTRY.get_sample_value("job_workers_up",
                                             {"system": "arq", "queue": ctx["wk_queue"]}))
    return x + y


async def fail(ctx) -> None:
    raise ValueError("boom")


async def flaky(ctx, key: str) -> None:
    TRIES[key] = TRIES.get(key, 0) + 1
    if TRIES[key] == 1:
        raise arq.worker.Retry(defer=0)


def value(name: str, **labels: str) -> float:
    return sum(s.value for fam in REGISTRY.collect() for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_a_burst_worker_counts_what_was_enqueued() -> None:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from watchkeeper.integrations.jobs.arq import count_enqueues, instrument_arq

    host, port = require_service("redis")
    queue = unique("wk_arq")
    redis_settings = RedisSettings(host=host, port=port)
    before = {o: value("jobs_completed_total", outcome=o, queue=queue)
              for o in ("success", "failure", "retry", "revoked")}

    async def main() -> None:
        pool = count_enqueues(await create_pool(redis_settings, default_queue_name=queue),
                              metrics=METRICS)
        job_ids = []
        try:
            for i in range(10):
                job_ids.append((await pool.enqueue_job("add", i, i)).job_id)
            for _ in range(2):
                job_ids.append((await pool.enqueue_job("fail")).job_id)
            job_ids.append((await pool.enqueue_job("flaky", queue)).job_id)

            async def startup(ctx) -> None:
                ctx["wk_queue"] = queue

            settings = {"functions": [add, fail, flaky], "queue_name": queue,
                        "redis_settings": redis_settings, "burst": True, "poll_delay": 0.05,
                        "max_tries": 3, "keep_result": 0, "on_startup": startup,
                        "handle_signals": False}
            instrument_arq(settings, metrics=METRICS)
            worker = Worker(**settings)
            try:
                await asyncio.wait_for(worker.main(), 60)
            finally:
                await worker.close()
        finally:
            keys = [queue] + [f"{p}{j}" for j in job_ids for p in
                              ("arq:job:", "arq:result:", "arq:in-progress:", "arq:retry:")]
            await pool.delete(*keys)
            await pool.aclose()

    asyncio.run(main())
    done = {o: value("jobs_completed_total", outcome=o, queue=queue) - before[o]
            for o in before}
    assert done == {"success": 11, "failure": 2, "retry": 1, "revoked": 0}
    assert value("jobs_enqueued_total", system="arq", queue=queue) == 13
    assert value("jobs_enqueued_total", queue=queue, task="add") == 10
    assert value("jobs_started_total", queue=queue) == 14
    assert value("jobs_retries_total", queue=queue, task="flaky") == 1
    assert value("job_queue_wait_seconds_count", queue=queue) == 14
    assert SEEN_UP and set(SEEN_UP) == {1.0}
    assert value("job_workers_up", queue=queue) == 0
