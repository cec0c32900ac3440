"""Running one check against its deadline, wherever it blocks.

Plain checks run in their own daemon threads (a hung driver call can neither block the
event loop, nor the others, nor interpreter exit); async checks run as tasks. A check that
overruns its timeout is reported ``unhealthy`` at the deadline; one that raises is reported
``unhealthy`` with the error, never a traceback to the caller. While a plain check's thread
still hangs, its next runs say so at once instead of starting another thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

from .check import HealthCheck
from .model import CheckError, CheckResult, Outcome, Status

CLEANUP_SECONDS = 1.0


class CheckExecutor:
    """Runs checks one call at a time, remembering the threads of plain checks."""

    def __init__(self) -> None:
        self._threads: dict[str, tuple[threading.Event, float]] = {}  # name -> (done, since)

    async def execute(self, check: HealthCheck, run_started: float | None) -> CheckResult:
        """The check's result; its timeout counts from ``run_started`` (loop time), or
        now."""
        wall = time.time()
        t0 = time.perf_counter()
        try:
            outcome = await self._call(check, run_started)
        except _TimedOut:
            outcome = Outcome(Status.UNHEALTHY, f"timed out after {_seconds(check.timeout)} s")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a failing check is a result, not a crash
            outcome = Outcome(Status.UNHEALTHY, _describe_error(e))
        duration = time.perf_counter() - t0
        return CheckResult.from_outcome(
            check.name, outcome, timestamp=wall, duration=duration, critical=check.critical
        )

    async def _call(self, check: HealthCheck, started: float | None) -> Outcome:
        loop = asyncio.get_running_loop()
        deadline = (loop.time() if started is None else started) + check.timeout
        method = check.check
        if inspect.iscoroutinefunction(method):
            waitable: asyncio.Future = asyncio.ensure_future(method())
        else:
            hung = self._threads.get(check.name)
            if hung is not None and not hung[0].is_set():
                since = time.monotonic() - hung[1]
                return Outcome(
                    Status.UNHEALTHY,
                    f"timed out after {_seconds(check.timeout)} s "
                    f"(previous run still hanging for {since:.0f} s)",
                )
            waitable = self._in_thread(check)
        done, _ = await asyncio.wait({waitable}, timeout=max(0.0, deadline - loop.time()))
        if not done:
            waitable.cancel()
            waitable.add_done_callback(_consume)
            raise _TimedOut
        value = waitable.result()
        if inspect.isawaitable(value):
            try:
                value = await asyncio.wait_for(value, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise _TimedOut from None
        return Outcome.coerce(value)

    def _in_thread(self, check: HealthCheck) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def deliver(ok: bool, value: Any) -> None:
            if future.done():
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        finished = threading.Event()

        def target() -> None:
            try:
                value, ok = check.check(), True
            except BaseException as e:
                value, ok = e, False
            finished.set()
            try:
                loop.call_soon_threadsafe(deliver, ok, value)
            except RuntimeError:  # the loop is gone: nobody waits any more
                pass

        thread = threading.Thread(target=target, name=f"health:{check.name}", daemon=True)
        self._threads[check.name] = (finished, time.monotonic())
        thread.start()
        return future


class _TimedOut(Exception):
    """The runner's deadline passed (distinct from a TimeoutError raised by a check)."""


def _consume(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _seconds(value: float) -> str:
    return f"{value:g}"


def _describe_error(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, CheckError):
        return text
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def close_without_waiting(loop: asyncio.AbstractEventLoop) -> None:
    """Close a loop without joining worker threads a hung check may still occupy."""
    try:
        # checks cancelled at their timeout are cleaning up (killing and reaping a
        # subprocess): let them finish first, or cancelling their inner tasks would
        # interrupt the cleanup and leave a child for a closed loop
        cleaning = {t for t in asyncio.all_tasks(loop) if t.cancelling()}
        if cleaning:
            loop.run_until_complete(asyncio.wait(cleaning, timeout=CLEANUP_SECONDS))
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:  # a moment for cancelled checks to clean up (kill a subprocess, close)
            loop.run_until_complete(asyncio.wait(tasks, timeout=CLEANUP_SECONDS))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
