"""Locks that say how often they are taken, how long callers wait and hold them, and who waits.

    lock = watchkeeper.tracked_lock("cache_fill")          # threading.Lock
    rlock = watchkeeper.tracked_lock("registry", reentrant=True)
    alock = watchkeeper.tracked_async_lock("token_refresh")  # asyncio.Lock
    with lock: ...
    async with alock: ...

Series (label ``lock``): ``locks_acquired_total``, ``locks_released_total``,
``locks_contended_total`` (acquisitions that found the lock taken),
``locks_wait_seconds`` (histogram of those waits; an uncontended acquisition waits no
time worth measuring), ``locks_hold_seconds_total`` (time held; divided by releases it is
the mean hold), ``locks_timeouts_total``, ``locks_waiters`` and ``locks_held`` (now).

Why this shape: an uncontended acquire/release is the common case and must stay cheap, so
it is a non-blocking try, two counter increments and two clock reads; a histogram is
filled only on the contended path, where the caller waits anyway. Every lock of one name
shares one set of figures (per-instance locks of a class add up under the class's name).
The Redis and PostgreSQL advisory locks are in ``locks_remote``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter
from typing import Any

WAIT_BUCKETS = (.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0,
                float("inf"))


class LockStats:
    """The figures of every lock of one name; plain attributes, atomic under the GIL."""

    __slots__ = ("acquired", "contended", "held_seconds", "kind", "live", "name", "released",
                 "timeouts", "wait_counts", "wait_sum", "waiters")

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        # Local locks keep their own acquired/released/held counts (one less indirection
        # on the hot path) and fold them in here when they are collected.
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()
        self.acquired = self.released = self.contended = self.timeouts = 0
        self.waiters = 0
        self.held_seconds = self.wait_sum = 0.0
        self.wait_counts = [0] * len(WAIT_BUCKETS)

    def totals(self) -> tuple[int, int, float]:
        """(acquired, released, held seconds) over live locks and collected ones."""
        acquired, released, held = self.acquired, self.released, self.held_seconds
        for lock in list(self.live):
            acquired += lock.acquired
            released += lock.released
            held += lock.held_seconds
        return acquired, released, held

    def waited(self, seconds: float, got: bool) -> None:
        """Record a contended wait; a wait that ended without the lock is a timeout."""
        self.wait_sum += seconds
        self.wait_counts[bisect_left(WAIT_BUCKETS, seconds)] += 1
        if not got:
            self.timeouts += 1


class LockRegistry:
    """Every lock name's stats, and a collector exporting them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, LockStats] = {}
        self._registered = False

    def stats(self, name: str, kind: str) -> LockStats:
        found = self._stats.get(name)
        if found is None:
            with self._lock:
                found = self._stats.get(name)
                if found is None:
                    found = self._stats[name] = LockStats(name, kind)
                if not self._registered:
                    from ..metrics.registry import REGISTRY

                    REGISTRY.register(self)
                    self._registered = True
        return found

    def collect(self) -> Iterator[Any]:
        from ..metrics.family import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        stats = sorted(list(self._stats.values()), key=lambda s: s.name)
        totals = {id(s): s.totals() for s in stats}
        lab = ["lock", "kind"]

        def figure(s: LockStats, attr: str) -> float:
            acquired, released, held = totals[id(s)]
            return {"acquired": acquired, "released": released, "held_seconds": held,
                    "held": max(0, acquired - released)}.get(attr, getattr(s, attr, 0))

        counters = (
            ("locks_acquired", "Lock acquisitions.", "acquired"),
            ("locks_released", "Lock releases.", "released"),
            ("locks_contended", "Acquisitions that found the lock taken and waited.",
             "contended"),
            ("locks_timeouts", "Acquisitions that gave up waiting (timeout or non-blocking).",
             "timeouts"),
            ("locks_hold_seconds", "Seconds locks were held, in all.", "held_seconds"),
        )
        for name, doc, attr in counters:
            fam = CounterMetricFamily(name, doc, labels=lab)
            for s in stats:
                fam.add_metric([s.name, s.kind], figure(s, attr))
            yield fam
        for name, doc, attr in (("locks_waiters", "Callers waiting for the lock now.",
                                 "waiters"),
                                ("locks_held", "Holders of the lock now.", "held")):
            fam = GaugeMetricFamily(name, doc, labels=lab)
            for s in stats:
                fam.add_metric([s.name, s.kind], max(0, figure(s, attr)))
            yield fam
        hist = HistogramMetricFamily("locks_wait_seconds", "Waits of contended acquisitions.",
                                     labels=lab)
        for s in stats:
            counts, acc, buckets = list(s.wait_counts), 0, []
            for bound, n in zip(WAIT_BUCKETS, counts, strict=True):
                acc += n
                buckets.append((bound, acc))  # add_metric spells the bound (+Inf)
            hist.add_metric([s.name, s.kind], buckets, s.wait_sum)
        yield hist


LOCKS = LockRegistry()


class TrackedLock:
    """A ``threading.Lock`` (or any lock with ``acquire(blocking, timeout)``) that counts.

    Its own counters are written only by the holder (after acquiring, before releasing),
    so the lock itself serialises them."""

    __slots__ = ("__weakref__", "_acquire", "_lock", "_release", "_s", "_since", "acquired",
                 "held_seconds", "released")

    def __init__(self, name: str, lock: Any = None, *, kind: str = "thread") -> None:
        self._lock = threading.Lock() if lock is None else lock
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._s = LOCKS.stats(name, kind)
        self._since = 0.0
        self.acquired = self.released = 0
        self.held_seconds = 0.0
        self._s.live.add(self)

    def __del__(self) -> None:
        s = self._s
        s.acquired += self.acquired
        s.released += self.released
        s.held_seconds += self.held_seconds

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._acquire(False):
            self.acquired += 1
            self._since = perf_counter()
            return True
        return self._wait(blocking, timeout)

    def _wait(self, blocking: bool, timeout: float) -> bool:
        s = self._s
        if not blocking:
            s.timeouts += 1
            return False
        s.contended += 1
        s.waiters += 1
        start = perf_counter()
        try:
            got = self._acquire(True, timeout)
        finally:
            s.waiters -= 1
        now = perf_counter()
        s.waited(now - start, got)
        if got:
            self.acquired += 1
            self._since = now
        return got

    def release(self) -> None:
        self.held_seconds += perf_counter() - self._since
        self.released += 1
        self._release()

    def locked(self) -> bool:
        return self._lock.locked()

    # ``with`` repeats the two fast paths: one Python call less on each side.
    def __enter__(self) -> bool:
        if self._acquire(False):
            self.acquired += 1
            self._since = perf_counter()
            return True
        return self._wait(True, -1)

    def __exit__(self, etype: object, exc: object, tb: object) -> None:
        self.held_seconds += perf_counter() - self._since
        self.released += 1
        self._release()


class TrackedRLock(TrackedLock):
    """A re-entrant lock: counts and times only the outermost acquire and release."""

    __slots__ = ("_depth",)

    def __init__(self, name: str, lock: Any = None, *, kind: str = "thread") -> None:
        super().__init__(name, threading.RLock() if lock is None else lock, kind=kind)
        self._depth = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._acquire(False):
            self._depth += 1  # only the owner gets here, so this is never raced
            if self._depth == 1:
                self.acquired += 1
                self._since = perf_counter()
            return True
        got = self._wait(blocking, timeout)
        if got:
            self._depth = 1
        return got

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.held_seconds += perf_counter() - self._since
            self.released += 1
        self._release()

    def locked(self) -> bool:
        return self._depth > 0

    __enter__ = acquire

    def __exit__(self, etype: object, exc: object, tb: object) -> None:
        self.release()


def tracked_lock(name: str, lock: Any = None, *, reentrant: bool = False) -> TrackedLock:
    """A counting ``threading.Lock`` (``reentrant``: ``RLock``), or a wrapper of ``lock``."""
    return (TrackedRLock if reentrant else TrackedLock)(name, lock)


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
        s.held_seconds += perf_counter() - self._since
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
