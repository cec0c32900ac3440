"""The asyncio lock of ``locks``: same series, ``kind="asyncio"``.

Every acquisition and hold is counted and timed: an event loop runs one coroutine at a time,
so the figures change without a lock, and an ``await`` costs more than the clock anyway.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

from .locks import LOCKS


class TrackedAsyncLock:
    """An ``asyncio.Lock`` that counts; ``acquire(timeout=...)`` gives up after that long."""

    __slots__ = ("_lock", "_s", "_since")

    def __init__(self, name: str, lock: asyncio.Lock | None = None) -> None:
        self._lock = asyncio.Lock() if lock is None else lock
        self._s = LOCKS.stats(name, "asyncio")
        self._since = 0.0

    async def acquire(self, timeout: float | None = None) -> bool:
        s = self._s
        if not self._lock.locked():
            await self._lock.acquire()  # free: returns without yielding
            s.acquired += 1
            self._since = perf_counter()
            return True
        s.contended += 1
        s.waiters += 1
        start = perf_counter()
        got = False
        try:
            if timeout is None:
                got = await self._lock.acquire()
            else:
                try:
                    got = await asyncio.wait_for(self._lock.acquire(), timeout)
                except TimeoutError:
                    got = False
        finally:
            s.waiters -= 1
            now = perf_counter()
            s.waited(now - start, got)
        if got:
            s.acquired += 1
        self._since = now
        return got

    def release(self) -> None:
        s = self._s
        s.hold_sum += perf_counter() - self._since
        s.hold_count += 1
        s.released += 1
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


def tracked_async_lock(name: str, lock: asyncio.Lock | None = None) -> TrackedAsyncLock:
    """A counting ``asyncio.Lock`` (or a wrapper of ``lock``)."""
    return TrackedAsyncLock(name, lock)
