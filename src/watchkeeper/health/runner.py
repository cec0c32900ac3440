"""The runner: runs checks concurrently, each bounded by its timeout, and keeps results.

How one check runs (in a thread or as a task, cut off at its deadline, an exception made a
result) is ``execution``'s job; a check that overruns never delays the rest.

Endpoints answer from the latest results. ``start()`` schedules every check on its own
interval in a background thread with its own event loop; ``refresh()`` forces a full run
there, coalesced with any run already in flight and rate limited.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterable

from .check import HealthCheck, validate_common
from .execution import CheckExecutor, close_without_waiting
from .history import DEFAULT_SIZE, CheckHistory
from .model import CheckResult

DEFAULT_FRESH_INTERVAL = 1.0


class Runner:
    """A set of checks with their latest results and history."""

    def __init__(
        self,
        checks: Iterable[HealthCheck] = (),
        *,
        history_size: int = DEFAULT_SIZE,
        fresh_interval: float = DEFAULT_FRESH_INTERVAL,
    ) -> None:
        self._checks: dict[str, HealthCheck] = {}
        self._histories: dict[str, CheckHistory] = {}
        self._latest: dict[str, CheckResult] = {}
        self._executor = CheckExecutor()
        self._inflight: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self._lock = threading.Lock()
        self._history_size = history_size
        self.fresh_interval = fresh_interval
        self.generation = 0  # bumped on every stored result; endpoints cache on it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._tasks: dict[str, asyncio.Task] = {}
        self._refresh: concurrent.futures.Future | None = None
        self._last_refresh = -float("inf")
        for c in checks:
            self.add(c)

    # -- the set of checks -------------------------------------------------------------
    def add(self, check: HealthCheck) -> HealthCheck:
        validate_common(check.name, check.timeout, check.interval)
        with self._lock:
            if check.name in self._checks:
                raise ValueError(f"a health check named {check.name!r} is already registered")
            self._checks[check.name] = check
            self._histories[check.name] = CheckHistory(self._history_size)
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._schedule, check, loop)
        return check

    def remove(self, name: str) -> None:
        with self._lock:
            self._checks.pop(name, None)
            self._histories.pop(name, None)
            self._latest.pop(name, None)
            self.generation += 1
        task = self._tasks.pop(name, None)
        if task is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(task.cancel)

    def checks(self) -> list[HealthCheck]:
        return list(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)

    # -- results -------------------------------------------------------------------------
    def latest(self) -> dict[str, CheckResult]:
        """The last result of every check that has run, by name."""
        return dict(self._latest)

    def missing(self) -> list[str]:
        """Checks that have not produced a result yet."""
        latest = self._latest
        if len(latest) == len(self._checks):  # the common case, cheap per request
            return []
        return [n for n in list(self._checks) if n not in latest]

    def history(self, name: str) -> CheckHistory:
        return self._histories[name]

    def histories(self) -> dict[str, CheckHistory]:
        return dict(self._histories)

    def _store(self, result: CheckResult) -> None:
        with self._lock:
            history = self._histories.get(result.name)
            if history is None:  # removed while running
                return
            history.add(result)
            self._latest[result.name] = result
            self.generation += 1

    # -- running -------------------------------------------------------------------------
    async def run_check(self, check: HealthCheck, started: float | None = None) -> CheckResult:
        """Run one check now (sharing a run already in flight on this loop) and store it.

        ``started`` (loop time) is when its timeout starts counting; by default, now.
        """
        loop = asyncio.get_running_loop()
        shared = self._inflight.get(check.name)
        if shared is not None and shared[0] is loop and not shared[1].done():
            return await asyncio.shield(shared[1])
        future: asyncio.Future = loop.create_future()
        self._inflight[check.name] = (loop, future)
        try:
            result = await self._executor.execute(check, started)
            self._store(result)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: waiters, if any, re-raise it
            raise
        finally:
            current = self._inflight.get(check.name)
            if current is not None and current[1] is future:
                self._inflight.pop(check.name, None)

    async def run(self, names: Iterable[str] | None = None) -> list[CheckResult]:
        """Run the named checks (default all) concurrently; results in registration order."""
        wanted = self.checks() if names is None else [self._checks[n] for n in names]
        return await self._run_all(wanted)

    async def _run_all(self, checks: list[HealthCheck]) -> list[CheckResult]:
        # every timeout counts from the same instant, so starting fifty threads does not
        # push back the deadlines of the checks started last
        started = asyncio.get_running_loop().time()
        return list(await asyncio.gather(*(self.run_check(c, started) for c in checks)))

    def run_sync(self, names: Iterable[str] | None = None) -> list[CheckResult]:
        """Run checks from synchronous code (CLI, WSGI) and wait for them."""
        if self._loop is not None:
            return asyncio.run_coroutine_threadsafe(self.run(names), self._loop).result()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("run_sync() called from async code: use 'await runner.run()'")
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(self.run(names))
        finally:
            close_without_waiting(loop)

    # -- background scheduling -------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Run every check on its interval in a background thread; idempotent."""
        with self._lock:
            if self._thread is None:
                self._ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._ready,), name="health-scheduler",
                    daemon=True,
                )
                self._thread.start()
            ready = self._ready
        ready.wait()  # every caller, not only the first, returns with the loop running

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        # "" is never a check name; stop() cancels it with the rest
        self._tasks[""] = loop.create_task(self._first_round(loop))
        ready.set()
        try:
            loop.run_forever()
        finally:
            close_without_waiting(loop)

    async def _first_round(self, loop: asyncio.AbstractEventLoop) -> None:
        """All checks at once (one common start), then each on its own interval."""
        checks = self.checks()
        try:
            await self._run_all(checks)
        finally:
            for c in checks:
                self._schedule(c, loop, delay=c.interval)

    def _schedule(
        self, check: HealthCheck, loop: asyncio.AbstractEventLoop, delay: float = 0.0
    ) -> None:
        if check.name in self._tasks or self._checks.get(check.name) is not check:
            return
        self._tasks[check.name] = loop.create_task(self._every(check, delay))

    async def _every(self, check: HealthCheck, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        while self._checks.get(check.name) is check:
            started = time.monotonic()
            await self.run_check(check)
            await asyncio.sleep(max(0.0, check.interval - (time.monotonic() - started)))

    def stop(self) -> None:
        """Stop background scheduling (results are kept)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None

        def shutdown() -> None:
            for task in self._tasks.values():
                task.cancel()
            self._tasks.clear()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        thread.join(timeout=5)
        self._thread = None

    def _all_younger_than(self, seconds: float) -> bool:
        latest = self._latest
        if not latest or len(latest) < len(self._checks):
            return False
        return min(r.timestamp for r in latest.values()) >= time.time() - seconds

    def refresh(self, force: bool = False) -> concurrent.futures.Future:
        """Run every check now in the background loop; a future of the results.

        Coalesced with a refresh in flight, and rate limited: within ``fresh_interval``
        seconds of the last one, or while every result is younger than that, the cached
        results are returned instead (unless forced).
        """
        self.start()
        with self._lock:
            if self._refresh is not None and not self._refresh.done():
                return self._refresh
            loop = self._loop
            rate_limited = not force and (
                time.monotonic() - self._last_refresh < self.fresh_interval
                or self._all_younger_than(self.fresh_interval)
            )
            if loop is None or rate_limited:  # (or stopped meanwhile) answer from the cache
                done: concurrent.futures.Future = concurrent.futures.Future()
                done.set_result(list(self._latest.values()))
                return done
            self._last_refresh = time.monotonic()
            self._refresh = asyncio.run_coroutine_threadsafe(self.run(), loop)
            return self._refresh


_default: Runner | None = None
_default_lock = threading.Lock()


def default_runner() -> Runner:
    """The process-wide runner the ``@check`` decorator and default endpoints use.

    Its results are exposed on the default ``REGISTRY`` (``watchkeeper_health_*``), so
    ``/metrics`` shows them next to the service's own metrics.
    """
    global _default
    with _default_lock:
        if _default is None:
            from ..metrics.registry import REGISTRY
            from .metrics import HealthCollector

            _default = Runner()
            REGISTRY.register(HealthCollector(_default))
        return _default
