"""Locks that say how often they are taken, how long callers wait and hold them, and who waits.

    lock = watchkeeper.tracked_lock("cache_fill")          # threading.Lock
    rlock = watchkeeper.tracked_lock("registry", reentrant=True)
    alock = watchkeeper.tracked_async_lock("token_refresh")  # asyncio.Lock
    with lock: ...
    async with alock: ...

Series (labels ``lock``, ``kind``): ``locks_acquired_total``, ``locks_released_total``,
``locks_contended_total`` (acquisitions that found the lock taken),
``locks_wait_seconds`` (histogram of those waits; an uncontended acquisition waits no
time worth measuring), ``locks_hold_seconds`` (a summary of the holds that were timed:
every hold of an asyncio or remote lock, one in ``HOLD_SAMPLE`` of a thread lock, so its
mean is the mean hold), ``locks_timeouts_total``, ``locks_waiters`` and ``locks_held``.

Why this shape: an uncontended acquire/release is the common case and must stay cheap, so
for a thread lock it is a non-blocking try, one counter increment and a test, and a
``with`` block leaves through the wrapped lock's own ``__exit__`` (no Python call); the
clock is read for one hold in ``HOLD_SAMPLE`` (the 1st, 17th, ...; a hold whose block
began waiting before its exit was armed goes untimed). Releases are not counted on
the hot path: every release ends a counted acquisition, so releases are acquisitions less
the one holding the lock now, read when scraped (exact whenever nobody is mid-acquire, and
never ahead of the truth, so the counter never goes back). The contended path, where the
caller waits anyway, fills the histogram under the stats' own lock. Every lock of one name
shares one set of figures (per-instance locks of a class add up under the class's name).
The re-entrant lock is in ``locks_reentrant``, the asyncio one in ``locks_async``, the Redis
and PostgreSQL advisory locks in ``locks_remote``.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter
from typing import Any

WAIT_BUCKETS = (.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0,
                float("inf"))
#: a thread lock times one hold in this many (a power of two: the test is a mask)
HOLD_SAMPLE = 16
_MASK = HOLD_SAMPLE - 1


class LockStats:
    """The figures of every lock of one name; the slow-path ones change under ``guard``."""

    __slots__ = ("acquired", "contended", "guard", "hold_count", "hold_sum", "kind", "live",
                 "name", "released", "shown_released", "timeouts", "wait_counts", "wait_sum",
                 "waiters")

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.guard = threading.Lock()
        # Local locks keep their own counts (one less indirection on the hot path) and
        # fold them in here when they are collected.
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()
        self.acquired = self.released = self.contended = self.timeouts = 0
        self.waiters = self.hold_count = self.shown_released = 0
        self.hold_sum = self.wait_sum = 0.0
        self.wait_counts = [0] * len(WAIT_BUCKETS)

    def totals(self) -> tuple[int, int, int, float]:
        """(acquired, released, holds timed, their seconds) over live and collected locks."""
        acquired, released = self.acquired, self.released
        count, seconds = self.hold_count, self.hold_sum
        for lock in list(self.live):
            n = lock.acquired  # before asking who holds it: never counts a release early
            acquired += n
            released += n - lock.holding()
            count += lock.hold_count
            seconds += lock.hold_sum
        # a scrape between a C-level acquire and its count sees one release too few; the
        # next one sees it, so the counter is held where it was meanwhile
        released = self.shown_released = max(self.shown_released, released)
        return acquired, released, count, seconds

    def waited(self, seconds: float, got: bool) -> None:
        """Record a contended wait (under ``guard``); one that ended without the lock is a
        timeout."""
        self.wait_sum += seconds
        self.wait_counts[bisect_left(WAIT_BUCKETS, seconds)] += 1
        if not got:
            self.timeouts += 1

    def fold(self, lock: TrackedLock) -> None:
        """Keep the counts of a lock that is going away."""
        with self.guard:
            n = lock.acquired
            self.acquired += n
            self.released += n - lock.holding()
            self.hold_count += lock.hold_count
            self.hold_sum += lock.hold_sum


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
        from ..metrics.family import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
            SummaryMetricFamily,
        )

        stats = sorted(list(self._stats.values()), key=lambda s: s.name)
        totals = {id(s): s.totals() for s in stats}
        lab = ["lock", "kind"]

        def figure(s: LockStats, attr: str) -> float:
            acquired, released, _, _ = totals[id(s)]
            return {"acquired": acquired, "released": released,
                    "held": max(0, acquired - released)}.get(attr, getattr(s, attr, 0))

        counters = (
            ("locks_acquired", "Lock acquisitions.", "acquired"),
            ("locks_released", "Lock releases.", "released"),
            ("locks_contended", "Acquisitions that found the lock taken and waited.",
             "contended"),
            ("locks_timeouts", "Acquisitions that gave up waiting (timeout or non-blocking).",
             "timeouts"),
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
        hold = SummaryMetricFamily(
            "locks_hold_seconds",
            f"Timed holds (thread locks: one in {HOLD_SAMPLE}); sum over count is the mean.",
            labels=lab)
        for s in stats:
            _, _, count, seconds = totals[id(s)]
            hold.add_metric([s.name, s.kind], count, seconds)
        yield hold
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
    """A ``threading.Lock`` (or any lock with ``acquire(blocking, timeout)`` and
    ``locked()``) that counts.

    Its own counters are written only by the holder (after acquiring, before releasing),
    so the lock itself serialises them. A ``with`` block leaves through the wrapped lock's
    own ``__exit__``, kept in the ``__exit__`` slot: no Python frame on the way out. The
    ``with`` statement fetches ``__exit__`` before it calls ``__enter__``, so the exit that
    times a hold is put in the slot one acquisition ahead (``_sample``), and it times only a
    hold whose acquisition was sampled (``_since_n``, the acquisition number it timed)."""

    __slots__ = ("__exit__", "__weakref__", "_acquire", "_lock", "_plain_exit", "_release",
                 "_released", "_s", "_since", "_since_n", "acquired", "hold_count",
                 "hold_sum")

    def __init__(self, name: str, lock: Any = None, *, kind: str = "thread") -> None:
        self._lock = threading.Lock() if lock is None else lock
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._s = LOCKS.stats(name, kind)
        self._since = 0.0
        self.acquired = self.hold_count = self._released = self._since_n = 0
        self.hold_sum = 0.0
        self._plain_exit = getattr(self._lock, "__exit__", None) or self._exit_release
        if type(self) is TrackedLock and not hasattr(self._lock, "locked"):
            self.__class__ = _CountedReleases  # who holds it cannot be asked: count them
        self._init_exit()
        self._s.live.add(self)

    def __del__(self) -> None:
        self._s.fold(self)

    def holding(self) -> int:
        """1 while the lock is held (its release is not yet due), else 0."""
        return 1 if self._lock.locked() else 0

    def _init_exit(self) -> None:
        self.__exit__ = self._timed_exit  # the first hold is timed

    def _sample(self, n: int, now: float = 0.0) -> None:
        """Acquisition ``n`` (``n & _MASK`` is 0 or 1): arm the exit of the next block, or
        time this hold."""
        if n & _MASK:
            self._since = now or perf_counter()
            self._since_n = n
        else:
            self.__exit__ = self._timed_exit

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._acquire(False):
            n = self.acquired = self.acquired + 1
            if n & _MASK < 2:
                self._sample(n)
            return True
        return self._wait(blocking, timeout)

    def _wait(self, blocking: bool, timeout: float) -> bool:
        s = self._s
        if not blocking:
            with s.guard:
                s.timeouts += 1
            return False
        with s.guard:
            s.contended += 1
            s.waiters += 1
        start = perf_counter()
        got = False
        try:
            got = self._acquire(True, timeout)
        finally:
            now = perf_counter()
            with s.guard:
                s.waiters -= 1
                s.waited(now - start, got)
        if got:
            n = self.acquired = self.acquired + 1
            if n & _MASK < 2:
                self._sample(n, now)
        return got

    def _timed(self) -> None:
        """End a sampled hold (``_since`` set): record it if it is the current one."""
        since, self._since = self._since, 0.0
        if self._since_n == self.acquired:
            self.hold_sum += perf_counter() - since
            self.hold_count += 1
            self.__exit__ = self._plain_exit

    def _timed_exit(self, etype: object = None, exc: object = None, tb: object = None) -> None:
        since = self._since
        if since:  # _timed, inlined: the one exit in HOLD_SAMPLE that is a Python call
            self._since = 0.0
            if self._since_n == self.acquired:
                self.hold_sum += perf_counter() - since
                self.hold_count += 1
                self.__exit__ = self._plain_exit
        self._release()

    def _exit_release(self, etype: object = None, exc: object = None,
                      tb: object = None) -> None:
        self._release()  # a wrapped lock without __exit__

    def release(self) -> None:
        if self._since:
            self._timed()
        self._release()

    def locked(self) -> bool:
        return self._lock.locked()

    # ``with`` repeats the fast path: one Python call less on the way in.
    def __enter__(self) -> bool:
        if self._acquire(False):
            n = self.acquired = self.acquired + 1
            if n & _MASK < 2:
                self._sample(n)
            return True
        return self._wait(True, -1)


class _OwnExit(TrackedLock):
    """A lock whose every ``with`` block leaves through ``release()`` (a Python call)."""

    __slots__ = ()

    def _init_exit(self) -> None:
        self.__exit__ = self._plain_exit = self._exit_release

    def _exit_release(self, etype: object = None, exc: object = None,
                      tb: object = None) -> None:
        self.release()

    def _sample(self, n: int, now: float = 0.0) -> None:
        if n & _MASK:  # release() times it: no exit to arm
            self._since = now or perf_counter()
            self._since_n = n


class _CountedReleases(_OwnExit):
    """For a lock without ``locked()``: releases are counted as they happen."""

    __slots__ = ()

    def holding(self) -> int:
        return max(0, self.acquired - self._released)

    def release(self) -> None:
        self._released += 1
        TrackedLock.release(self)


def tracked_lock(name: str, lock: Any = None, *, reentrant: bool = False) -> TrackedLock:
    """A counting ``threading.Lock`` (``reentrant``: ``RLock``), or a wrapper of ``lock``."""
    if not reentrant:
        return TrackedLock(name, lock)
    from .locks_reentrant import tracked_rlock

    return tracked_rlock(name, lock)


# the asyncio lock shares the stats above
from .locks_async import TrackedAsyncLock, tracked_async_lock  # noqa: E402

__all__ = [
    "HOLD_SAMPLE",
    "LOCKS",
    "LockRegistry",
    "LockStats",
    "TrackedAsyncLock",
    "TrackedLock",
    "tracked_async_lock",
    "tracked_lock",
]
