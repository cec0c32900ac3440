"""arq by wrapping the worker's functions, the way arq is extended (its job hooks see neither
the function nor the outcome).

    class WorkerSettings:
        functions = [send_email]
        redis_settings = RedisSettings()
    instrument_arq(WorkerSettings)            # wraps functions, chains on_startup/on_shutdown
    pool = count_enqueues(await create_pool(RedisSettings()))   # counts enqueue_job calls

arq carries the enqueue time in the job itself, which gives the queue wait. Outcomes:
returned (success), raised ``Retry`` (retry), cancelled, as by an abort (revoked), any
other exception (failure).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import Any

from arq.constants import default_queue_name
from arq.worker import Retry, func

from .schema import JobMetrics, job_metrics

SYSTEM = "arq"


def watch_function(function: Any, queue: str = default_queue_name,
                   metrics: JobMetrics | None = None) -> Any:
    """An arq ``Function`` whose runs are counted under its name and ``queue``."""
    fn = func(function)
    inner = fn.coroutine
    name = fn.name

    @functools.wraps(inner)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        m = metrics or job_metrics()
        enqueued = ctx.get("enqueue_time")
        job = m.job_started(SYSTEM, queue, name,
                            enqueued.timestamp() if enqueued is not None else None)
        outcome = "failure"
        try:
            result = await inner(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            m.job_retried(SYSTEM, queue, name)
            raise
        except asyncio.CancelledError:
            outcome = "revoked"
            raise
        finally:
            m.job_finished(job, outcome)

    return dataclasses.replace(fn, coroutine=run)


def _get(settings: Any, key: str, default: Any = None) -> Any:
    return settings.get(key, default) if isinstance(settings, dict) else getattr(
        settings, key, default)


def _set(settings: Any, key: str, value: Any) -> None:
    if isinstance(settings, dict):
        settings[key] = value
    else:
        setattr(settings, key, value)


def instrument_arq(settings: Any, *, metrics: JobMetrics | None = None) -> Any:
    """Wrap the functions of a ``WorkerSettings`` class (or dict) and count the worker up
    from ``on_startup`` to ``on_shutdown`` (chaining any already set)."""
    queue = _get(settings, "queue_name") or default_queue_name
    _set(settings, "functions", [watch_function(f, queue, metrics)
                                 for f in _get(settings, "functions", [])])
    startup, shutdown = _get(settings, "on_startup"), _get(settings, "on_shutdown")
    slots = _get(settings, "max_jobs") or 10  # arq's default

    async def on_startup(ctx: dict[str, Any]) -> None:
        if startup is not None:
            await startup(ctx)
        (metrics or job_metrics()).worker_up(SYSTEM, [queue], True, slots)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        (metrics or job_metrics()).worker_up(SYSTEM, [queue], False, slots)
        if shutdown is not None:
            await shutdown(ctx)

    _set(settings, "on_startup", on_startup)
    _set(settings, "on_shutdown", on_shutdown)
    return settings


def count_enqueues(pool: Any, *, metrics: JobMetrics | None = None) -> Any:
    """Count each job ``pool.enqueue_job`` accepts (a duplicate job id is not a new job)."""
    original = pool.enqueue_job

    @functools.wraps(original)
    async def enqueue_job(function: str, *args: Any, **kwargs: Any) -> Any:
        job = await original(function, *args, **kwargs)
        if job is not None:
            queue = kwargs.get("_queue_name") or pool.default_queue_name
            (metrics or job_metrics()).job_enqueued(SYSTEM, queue, function)
        return job

    pool.enqueue_job = enqueue_job
    return pool
