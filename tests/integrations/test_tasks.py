"""Tasks and hooks: the seed series from decorators, context managers and asyncio tasks."""

from __future__ import annotations

import asyncio

import pytest

import watchkeeper
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.context import current_work
from watchkeeper.integrations.tasks import TaskMetrics, hook, track_asyncio_tasks, track_task


@pytest.fixture
def reg():
    registry = CollectorRegistry()
    return registry, TaskMetrics(registry)


def value(registry, name, **labels) -> float:
    v = registry.get_sample_value(name, labels)
    return 0.0 if v is None else v


def test_decorator_and_context_manager_count_each_ending(reg) -> None:
    registry, metrics = reg

    @track_task("send_digest", metrics=metrics)
    def send(fail: bool) -> str:
        assert current_work().kind == "task" and current_work().name == "send_digest"
        if fail:
            raise RuntimeError("smtp down")
        return "sent"

    assert send(False) == "sent"
    with pytest.raises(RuntimeError):
        send(True)
    with track_task("rebuild", metrics=metrics):
        pass
    assert current_work() is None
    assert value(registry, "tasks_created_total", task="send_digest") == 2
    assert value(registry, "tasks_completed_total", task="send_digest") == 1
    assert value(registry, "tasks_failed_total", task="send_digest") == 1
    assert value(registry, "task_duration_seconds_count", task="send_digest") == 2
    assert value(registry, "tasks_in_progress", task="send_digest") == 0
    assert value(registry, "tasks_completed_total", task="rebuild") == 1


def test_asyncio_tasks_completed_failed_and_cancelled(reg) -> None:
    registry, metrics = reg

    async def ok() -> int:
        return 1

    async def boom() -> None:
        raise ValueError("x")

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        t1 = track_task(ok(), name="ok", metrics=metrics)
        t2 = track_task(asyncio.ensure_future(boom()), name="boom", metrics=metrics)
        t3 = track_task(forever(), name="forever", metrics=metrics)
        assert value(registry, "tasks_in_progress", task="forever") == 1
        await asyncio.sleep(0)
        t3.cancel()
        results = await asyncio.gather(t1, t2, t3, return_exceptions=True)
        assert results[0] == 1 and isinstance(results[1], ValueError)

    asyncio.run(main())
    assert value(registry, "tasks_completed_total", task="ok") == 1
    assert value(registry, "tasks_failed_total", task="boom") == 1
    assert value(registry, "tasks_cancelled_total", task="forever") == 1
    assert value(registry, "tasks_in_progress", task="forever") == 0


def test_async_decorator_and_every_task_of_a_loop(reg) -> None:
    registry, metrics = reg

    @track_task("fetch", metrics=metrics)
    async def fetch() -> str:
        assert current_work().name == "fetch"
        return "body"

    async def child() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        assert await fetch() == "body"
        track_asyncio_tasks(metrics=metrics)
        await asyncio.gather(*(asyncio.create_task(child()) for _ in range(3)))

    asyncio.run(main())
    assert value(registry, "tasks_completed_total", task="fetch") == 1
    name = "test_async_decorator_and_every_task_of_a_loop.<locals>.child"
    assert value(registry, "tasks_completed_total", task=name) == 3


def test_hooks_count_executions_by_outcome(reg) -> None:
    registry, metrics = reg

    @hook("on_signup", metrics=metrics)
    def welcome(ok: bool) -> None:
        if not ok:
            raise KeyError("template")

    welcome(True)
    welcome(True)
    with pytest.raises(KeyError):
        welcome(False)
    assert value(registry, "hooks_executed_total", hook="on_signup", outcome="success") == 2
    assert value(registry, "hooks_executed_total", hook="on_signup", outcome="failure") == 1


def test_the_public_names_use_the_default_registry() -> None:
    before = value(watchkeeper.REGISTRY, "tasks_completed_total", task="public_task")
    with watchkeeper.track_task("public_task"):
        pass
    assert value(watchkeeper.REGISTRY, "tasks_completed_total", task="public_task") == before + 1
    with pytest.raises(TypeError):
        watchkeeper.track_task(42)
