"""Tracked locks: threading, asyncio, and the real Redis and PostgreSQL advisory locks."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from peers import require_service
from watchkeeper import CollectorRegistry
from watchkeeper.integrations.locks import (
    HOLD_SAMPLE,
    LOCKS,
    tracked_async_lock,
    tracked_lock,
)
from watchkeeper.integrations.locks_remote import advisory_lock, tracked_redis_lock


def figures(name: str) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(LOCKS)
    out = {}
    for fam in registry.collect():
        for s in fam.samples:
            if s.labels.get("lock") == name and "le" not in s.labels:
                out[s.name] = s.value
    return out


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_uncontended_lock_counts_acquires_releases_and_hold_time() -> None:
    name = unique("plain")
    lock = tracked_lock(name)
    for _ in range(5):
        with lock:
            time.sleep(0.002)
    assert lock.acquire() and not lock.acquire(blocking=False)
    lock.release()
    f = figures(name)
    assert f["locks_acquired_total"] == 6 and f["locks_released_total"] == 6
    assert f["locks_timeouts_total"] == 1 and f["locks_contended_total"] == 0
    # the first hold is timed, then one in HOLD_SAMPLE
    assert f["locks_hold_seconds_count"] == 1 and f["locks_hold_seconds_sum"] >= 0.002
    assert f["locks_held"] == 0 and f["locks_waiters"] == 0


@pytest.mark.parametrize("reentrant", [False, True])
def test_hold_time_is_sampled_but_acquisitions_and_releases_stay_exact(reentrant) -> None:
    name = unique("sampled")
    lock = tracked_lock(name, reentrant=reentrant)
    n = 2 * HOLD_SAMPLE + 1
    for _ in range(n):
        with lock:
            time.sleep(0.001)
    f = figures(name)
    assert f["locks_acquired_total"] == n and f["locks_released_total"] == n
    assert f["locks_hold_seconds_count"] == 3  # the 1st, the 17th and the 33rd
    assert f["locks_hold_seconds_sum"] / f["locks_hold_seconds_count"] >= 0.001
    lock.acquire()  # held now: its release is not counted before it happens
    f = figures(name)
    assert f["locks_acquired_total"] == n + 1 and f["locks_released_total"] == n
    assert f["locks_held"] == 1
    lock.release()
    assert figures(name)["locks_released_total"] == n + 1


def test_a_wrapped_lock_without_locked_counts_its_releases() -> None:
    import multiprocessing

    name = unique("mp")
    lock = tracked_lock(name, multiprocessing.Lock())
    with lock:
        f = figures(name)
        assert f["locks_acquired_total"] == 1 and f["locks_released_total"] == 0
    for _ in range(3):
        with lock:
            pass
    f = figures(name)
    assert f["locks_acquired_total"] == 4 and f["locks_released_total"] == 4
    assert f["locks_held"] == 0


def test_contention_waiters_waits_and_timeouts() -> None:
    name = unique("contended")
    lock = tracked_lock(name)
    lock.acquire()
    started = threading.Event()

    def waiter() -> None:
        started.set()
        with lock:
            pass

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    deadline = time.monotonic() + 5
    while figures(name)["locks_waiters"] != 1 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert figures(name)["locks_waiters"] == 1
    assert not lock.acquire(timeout=0.01)  # a second waiter gives up
    lock.release()
    t.join(5)
    f = figures(name)
    assert f["locks_contended_total"] == 2 and f["locks_timeouts_total"] == 1
    assert f["locks_acquired_total"] == 2 and f["locks_wait_seconds_count"] == 2
    assert f["locks_wait_seconds_sum"] > 0 and f["locks_waiters"] == 0


def test_reentrant_lock_counts_the_outermost_hold() -> None:
    name = unique("rlock")
    lock = tracked_lock(name, reentrant=True)
    with lock, lock, lock:
        assert lock.locked()
    assert not lock.locked()
    f = figures(name)
    assert f["locks_acquired_total"] == 1 and f["locks_released_total"] == 1


def test_asyncio_lock_contention_and_timeout() -> None:
    name = unique("alock")

    async def main() -> None:
        lock = tracked_async_lock(name)
        async with lock:
            assert not await lock.acquire(timeout=0.01)
            waiter = asyncio.ensure_future(lock.acquire())
            await asyncio.sleep(0)
            assert figures(name)["locks_waiters"] == 1
        assert await waiter
        lock.release()

    asyncio.run(main())
    f = figures(name)
    assert f["locks_acquired_total"] == 2 and f["locks_released_total"] == 2
    assert f["locks_contended_total"] == 2 and f["locks_timeouts_total"] == 1


def test_redis_lock_on_the_real_redis() -> None:
    redis = pytest.importorskip("redis")
    host, port = require_service("redis")
    client = redis.Redis(host=host, port=port)
    key = unique("watchkeeper-test-lock")
    name = unique("redis")
    try:
        first = tracked_redis_lock(client, key, name=name, expire=10)
        second = tracked_redis_lock(client, key, name=name, timeout=0.1)
        with first:
            assert client.exists(key)
            with pytest.raises(TimeoutError), second:
                pass
        with second:
            pass
        f = figures(name)
        assert f["locks_acquired_total"] == 2 and f["locks_released_total"] == 2
        assert f["locks_timeouts_total"] == 1 and f["locks_contended_total"] == 1
        assert {s.labels["kind"] for fam in LOCKS.collect() for s in fam.samples
                if s.labels.get("lock") == name} == {"redis"}
    finally:
        client.delete(key)
        client.close()


def test_postgres_advisory_lock_on_the_real_server() -> None:
    psycopg = pytest.importorskip("psycopg")
    host, port = require_service("postgres")
    dsn = f"host={host} port={port} dbname=test user=postgres"
    name = unique("pg")
    key = unique("watchkeeper_test")
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        holder = advisory_lock(a, key, name=name)
        other = advisory_lock(b, key, name=name, timeout=0.1)
        with holder:
            assert not other.acquire(timeout=0.1)
        assert other.acquire(timeout=1)
        other.release()
        number = advisory_lock(a, 424242, name=name)
        with number:
            assert a.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                             " AND pid = pg_backend_pid()").fetchone()[0] == 1
    f = figures(name)
    assert f["locks_acquired_total"] == 3 and f["locks_released_total"] == 3
    assert f["locks_timeouts_total"] == 1 and f["locks_contended_total"] == 1


def test_a_lock_that_is_gone_keeps_its_counts_under_its_name() -> None:
    import gc

    name = unique("gone")
    for _ in range(2):  # two short-lived locks of one name (say, one per request)
        lock = tracked_lock(name)
        for _ in range(3):
            with lock:
                pass
        del lock
        gc.collect()
    f = figures(name)
    assert f["locks_acquired_total"] == 6 and f["locks_released_total"] == 6
    assert f["locks_held"] == 0


def test_threads_hammering_one_lock_leave_exact_counts() -> None:
    name = unique("hammer")
    lock = tracked_lock(name)
    per_thread, threads = 3000, 4

    def work() -> None:
        for _ in range(per_thread):
            with lock:
                pass

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    f = figures(name)
    total = per_thread * threads
    assert f["locks_acquired_total"] == total and f["locks_released_total"] == total
    assert f["locks_waiters"] == 0 and f["locks_held"] == 0
    assert f["locks_wait_seconds_count"] == f["locks_contended_total"]


@pytest.mark.parametrize("reentrant", [False, True])
def test_an_exception_leaving_a_block_releases_it_timed_or_not(reentrant) -> None:
    name = unique("raises")
    lock = tracked_lock(name, reentrant=reentrant)
    for _ in range(HOLD_SAMPLE + 2):  # the 1st and the 17th leave through the timed exit
        with pytest.raises(ValueError), lock:
            raise ValueError("inside")
        assert not lock.locked()
    f = figures(name)
    assert f["locks_acquired_total"] == HOLD_SAMPLE + 2
    assert f["locks_released_total"] == HOLD_SAMPLE + 2
    assert f["locks_hold_seconds_count"] == 2 and f["locks_held"] == 0


@pytest.mark.parametrize("reentrant", [False, True])
def test_with_blocks_and_acquire_release_calls_mixed_keep_exact_counts(reentrant) -> None:
    name = unique("mixed")
    lock = tracked_lock(name, reentrant=reentrant)
    n = 3 * HOLD_SAMPLE + 5
    for i in range(n):
        if i % 3 == 0:
            assert lock.acquire()
            lock.release()
        else:
            with lock:
                pass
    f = figures(name)
    assert f["locks_acquired_total"] == n and f["locks_released_total"] == n
    # a hold is timed only if it was sampled (one in HOLD_SAMPLE) and, for a with block,
    # its exit was armed before the block began: never more than the samples
    assert 1 <= f["locks_hold_seconds_count"] <= -(-n // HOLD_SAMPLE)


def test_reentrant_lock_held_by_another_thread_shows_as_held() -> None:
    name = unique("rheld")
    lock = tracked_lock(name, reentrant=True)
    inside, leave = threading.Event(), threading.Event()

    def holder() -> None:
        with lock, lock:
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(10)
    assert lock.locked()  # asked from a thread that does not own it
    f = figures(name)
    assert f["locks_acquired_total"] == 1 and f["locks_released_total"] == 0
    assert f["locks_held"] == 1
    leave.set()
    t.join(10)
    f = figures(name)
    assert f["locks_released_total"] == 1 and f["locks_held"] == 0


def test_a_wrapped_rlock_without_a_recursion_count_keeps_its_own_depth() -> None:
    import multiprocessing

    name = unique("mprlock")
    lock = tracked_lock(name, multiprocessing.RLock(), reentrant=True)
    for _ in range(HOLD_SAMPLE + 1):
        with lock, lock:
            assert lock.locked()
    assert not lock.locked()
    f = figures(name)
    assert f["locks_acquired_total"] == HOLD_SAMPLE + 1
    assert f["locks_released_total"] == HOLD_SAMPLE + 1
    assert f["locks_hold_seconds_count"] == 2


@pytest.mark.parametrize("reentrant", [False, True])
def test_threads_hammering_nested_and_timed_holds_leave_exact_counts(reentrant) -> None:
    name = unique("hammer_r")
    lock = tracked_lock(name, reentrant=reentrant)
    per_thread, threads = 2000, 4

    def work() -> None:
        for i in range(per_thread):
            with lock:
                if reentrant and i % 2:
                    with lock:
                        pass

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    f = figures(name)
    total = per_thread * threads
    assert f["locks_acquired_total"] == total and f["locks_released_total"] == total
    assert f["locks_waiters"] == 0 and f["locks_held"] == 0 and not lock.locked()
    assert 1 <= f["locks_hold_seconds_count"] <= total // HOLD_SAMPLE
    assert f["locks_wait_seconds_count"] == f["locks_contended_total"]


def test_a_sampled_hold_whose_block_began_before_the_exit_was_armed_is_not_timed() -> None:
    """A with statement takes ``__exit__`` before it waits: two blocks waiting since before
    the 16th acquisition armed the timed exit get the 16th and the sampled 17th, and the
    17th leaves untimed; the next block's timed exit must not time from the 17th's start."""
    name = unique("stale")
    lock = tracked_lock(name)
    for _ in range(HOLD_SAMPLE - 2):  # 1..14; the 1st is timed
        with lock:
            pass
    assert lock.acquire()  # the 15th
    done = []

    def waiter() -> None:
        with lock:
            done.append(1)

    pool = [threading.Thread(target=waiter) for _ in range(2)]
    for t in pool:
        t.start()
    deadline = time.monotonic() + 10
    while figures(name)["locks_waiters"] != 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert figures(name)["locks_waiters"] == 2
    lock.release()
    for t in pool:
        t.join(10)
    assert len(done) == 2
    with lock:  # the 18th leaves through the armed exit, but it was not sampled
        pass
    f = figures(name)
    assert f["locks_acquired_total"] == HOLD_SAMPLE + 2
    assert f["locks_hold_seconds_count"] == 1
    for _ in range(HOLD_SAMPLE):  # ..., the 33rd is sampled and timed again
        with lock:
            pass
    assert figures(name)["locks_hold_seconds_count"] == 2
