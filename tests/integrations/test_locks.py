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
