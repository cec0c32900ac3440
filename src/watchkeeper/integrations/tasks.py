"""Tasks and hooks: how many were created, completed, failed, cancelled, and how long each took.

    @watchkeeper.track_task("send_digest")          # a decorator (plain or async functions)
    def send_digest(): ...

    with watchkeeper.track_task("rebuild_index"):  # a context manager
        ...

    task = watchkeeper.track_task(fetch(url), name="fetch")   # an asyncio task or coroutine
    watchkeeper.track_asyncio_tasks()              # every task the running loop creates

    @watchkeeper.hook("on_user_created")           # hooks: executions by outcome
    def welcome(user): ...

Series (the seed names, label ``task``): ``tasks_created_total``, ``tasks_completed_total``
(ended normally), ``tasks_failed_total`` (raised), ``tasks_cancelled_total``
(``CancelledError``), ``task_duration_seconds`` (every end), ``tasks_in_progress``; and
``hooks_executed_total{hook, outcome}`` with outcome ``success`` or ``failure``. While a
task runs, the work contextvar says ``Work("task", name)``, so pools, caches and locks used
inside are labelled with it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any

from .context import Work, reset_work, set_work

TASK_BUCKETS = (.005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
                float("inf"))


class TaskMetrics:
    """The task and hook series on one registry, with a per-name cache of children."""

    def __init__(self, registry: Any = None, max_label_sets: int | None = 500) -> None:
        from ..metrics import Counter, Gauge, Histogram
        from ..metrics.registry import REGISTRY

        reg = REGISTRY if registry is None else registry
        lab = ["task"]
        opts = {"registry": reg, "max_label_sets": max_label_sets}
        self.created = Counter("tasks_created_total", "Tasks created.", lab, **opts)
        self.completed = Counter("tasks_completed_total", "Tasks that ended normally.", lab,
                                 **opts)
        self.failed = Counter("tasks_failed_total", "Tasks that raised.", lab, **opts)
        self.cancelled = Counter("tasks_cancelled_total", "Tasks cancelled.", lab, **opts)
        self.duration = Histogram("task_duration_seconds", "How long tasks ran, however "
                                  "they ended.", lab, buckets=TASK_BUCKETS, **opts)
        self.in_progress = Gauge("tasks_in_progress", "Tasks running now.", lab,
                                 multiprocess_mode="livesum", **opts)
        self.hooks = Counter("hooks_executed_total", "Hook executions by outcome.",
                             ["hook", "outcome"], **opts)
        self._children: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def children(self, name: str) -> tuple[Any, ...]:
        """(created.inc, in_progress, completed.inc, failed.inc, cancelled.inc, observe)."""
        found = self._children.get(name)
        if found is None:
            with self._lock:
                found = self._children.get(name)
                if found is None:
                    found = (self.created.labels(name).inc, self.in_progress.labels(name),
                             self.completed.labels(name).inc, self.failed.labels(name).inc,
                             self.cancelled.labels(name).inc,
                             self.duration.labels(name).observe)
                    if len(self._children) < 10_000:
                        self._children[name] = found
        return found


_default: TaskMetrics | None = None
_default_lock = threading.Lock()


def task_metrics() -> TaskMetrics:
    """The series on the default registry, built on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TaskMetrics()
    return _default


class TrackedTask:
    """A context manager and decorator counting one task name (re-entrant, thread safe:
    each entry keeps its own start and contextvar token)."""

    def __init__(self, name: str, metrics: TaskMetrics | None = None) -> None:
        self.name = name
        self._metrics = metrics
        self._local = threading.local()

    def _kids(self) -> tuple[Any, ...]:
        return (self._metrics or task_metrics()).children(self.name)

    def start(self, label_work: bool = True) -> tuple[Any, ...]:
        """Count the start; ``label_work`` makes the task the current work of this context
        (not for a task already running elsewhere, watched through its done callback)."""
        kids = self._kids()
        kids[0]()
        kids[1].inc()
        token = set_work(Work("task", self.name)) if label_work else None
        return kids, perf_counter(), token

    @staticmethod
    def end(state: tuple[Any, ...], error: BaseException | None) -> None:
        kids, started, token = state
        kids[5](perf_counter() - started)
        kids[1].dec()
        if error is None:
            kids[2]()
        elif isinstance(error, asyncio.CancelledError):
            kids[4]()
        else:
            kids[3]()
        if token is not None:
            try:
                reset_work(token)
            except ValueError:  # ended in another context (a generator, a callback)
                pass

    def __enter__(self) -> TrackedTask:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        stack.append(self.start())
        return self

    def __exit__(self, etype: Any, exc: BaseException | None, tb: Any) -> None:
        self.end(self._local.stack.pop(), exc)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                state = self.start()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as e:
                    self.end(state, e)
                    raise
                self.end(state, None)
                return result
            return run_async

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            state = self.start()
            try:
                result = func(*args, **kwargs)
            except BaseException as e:
                self.end(state, e)
                raise
            self.end(state, None)
            return result
        return run


def track_task(target: Any, name: str | None = None, *,
               metrics: TaskMetrics | None = None) -> Any:
    """Count a task: a name gives a decorator/context manager; an asyncio task or future is
    counted until done and returned; a coroutine is run as a counted task and returned."""
    if isinstance(target, str):
        return TrackedTask(target, metrics)
    if inspect.iscoroutine(target):
        label = name or _coro_name(target)
        return track_task(asyncio.ensure_future(_labelled(label, target)), label,
                          metrics=metrics)
    if isinstance(target, asyncio.Future):
        label = name or (target.get_name() if isinstance(target, asyncio.Task) else "future")
        state = TrackedTask(label, metrics).start(label_work=False)
        target.add_done_callback(functools.partial(_done, state))
        return target
    raise TypeError("track_task takes a task name, a coroutine or an asyncio task, "
                    f"not {type(target).__name__}")


async def _labelled(name: str, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` as the current work ``Work("task", name)`` (its task's own context)."""
    set_work(Work("task", name))
    return await coro


def _done(state: tuple[Any, ...], future: asyncio.Future) -> None:
    error: BaseException | None
    error = asyncio.CancelledError() if future.cancelled() else future.exception()
    TrackedTask.end(state, error)


def _coro_name(coro: Any) -> str:
    return getattr(coro, "__qualname__", None) or type(coro).__name__


def track_asyncio_tasks(loop: asyncio.AbstractEventLoop | None = None, *,
                        metrics: TaskMetrics | None = None) -> None:
    """Count every task the loop creates from now on, named by its coroutine's qualified
    name (code names, so the label stays bounded)."""
    loop = loop or asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(lp: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        if previous is None:
            task = asyncio.Task(coro, loop=lp, **kwargs)
        else:
            task = previous(lp, coro, **kwargs)
        state = TrackedTask(_coro_name(coro), metrics).start(label_work=False)
        task.add_done_callback(functools.partial(_done, state))
        return task

    loop.set_task_factory(factory)


class Hook:
    """Counts a hook's executions by outcome; decorator or context manager."""

    def __init__(self, name: str, metrics: TaskMetrics | None = None) -> None:
        self.name = name
        self._metrics = metrics
        self._ok: Any = None
        self._fail: Any = None

    def _count(self, ok: bool) -> None:
        if self._ok is None:
            hooks = (self._metrics or task_metrics()).hooks
            self._ok = hooks.labels(self.name, "success").inc
            self._fail = hooks.labels(self.name, "failure").inc
        (self._ok if ok else self._fail)()

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, etype: Any, exc: Any, tb: Any) -> None:
        self._count(exc is None)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)
            return run_async

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return run


def hook(name: str, *, metrics: TaskMetrics | None = None) -> Hook:
    """``@hook("on_signup")`` or ``with hook("on_signup"):`` counts executions by outcome."""
    return Hook(name, metrics)
