"""Pool monitors against the real PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid

import pytest
from tests.peers import require_service

from watchkeeper.exposition import generate_latest
from watchkeeper.integrations.context import working
from watchkeeper.integrations.db import instrument_pool, operation_name
from watchkeeper.integrations.db_stats import POOLS, pool_score

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MY = "mysql+pymysql://root@127.0.0.1:3306/"


def _name() -> str:
    return "p" + uuid.uuid4().hex[:8]


def _stats(name: str):
    return next(s for s in POOLS.all() if s.name == name)


def _drive(engine, n: int, hold: float) -> list[BaseException]:
    """``n`` threads each check a connection out, hold it, and return it."""
    from sqlalchemy import text

    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                time.sleep(hold)
        except Exception as e:  # the pool's TimeoutError
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@pytest.mark.parametrize("service,url", [("postgres", PG), ("mariadb", MY)])
def test_exhausted_pool_shows_pending_waits_and_timeouts(service: str, url: str) -> None:
    require_service(service)
    from sqlalchemy import create_engine, exc

    name = _name()
    engine = create_engine(url, pool_size=2, max_overflow=1, pool_timeout=0.3)
    instrument_pool(engine, name=name)
    s = _stats(name)
    seen_pending = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen_pending.append(s.pending)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        errors = _drive(engine, 2 * (2 + 1), hold=0.6)
    finally:
        stop.set()
        watcher.join()
    timeouts = [e for e in errors if isinstance(e, exc.TimeoutError)]
    assert errors == timeouts and len(timeouts) >= 1
    assert max(seen_pending) > 0
    assert s.timeouts == len(timeouts)
    assert s.wait.count == 6 - len(timeouts)
    assert s.wait.sum > 0 and s.checkouts == 6 - len(timeouts)
    assert s.pending == 0 and s.figure("overflow") >= 0
    assert s.figure("max") == 3
    assert s.operations["SELECT"].count == 6 - len(timeouts)
    assert pool_score(s).worst in ("errors", "wait_time")  # before a scrape consumes it
    text = generate_latest().decode()
    assert f'db_client_connection_timeouts_total{{pool_name="{name}"}} {float(len(timeouts))}' \
        in text
    assert f'db_client_connection_count{{pool_name="{name}",state="idle"}}' in text
    assert f'db_client_operation_duration_seconds_bucket{{pool_name="{name}"' in text
    engine.dispose()


def test_hold_time_by_work_and_leak_warning(caplog: pytest.LogCaptureFixture) -> None:
    require_service("postgres")
    from sqlalchemy import create_engine, text

    name = _name()
    engine = create_engine(PG, pool_size=1, max_overflow=0)
    instrument_pool(engine, name=name, leak_seconds=0.05)
    with working("http", "/orders/{id}"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        with caplog.at_level(logging.WARNING, "watchkeeper.db"):
            time.sleep(0.1)
            generate_latest()  # the scan at scrape time finds it still out
    s = _stats(name)
    assert s.hold["/orders/{id}"][0] == 1 and s.hold["/orders/{id}"][1] >= 0.1
    assert s.leaks == 1
    assert "test_hold_time_by_work_and_leak_warning" in caplog.text
    assert f'db_client_connection_hold_seconds_count{{pool_name="{name}",work="/orders/{{id}}"}}' \
        in generate_latest().decode()
    engine.dispose()


def test_null_pool_and_invalidation() -> None:
    require_service("postgres")
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    name = _name()
    engine = create_engine(PG, poolclass=NullPool)
    instrument_pool(engine, name=name)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert _stats(name).figure("used") == 1
        conn.invalidate()
    s = _stats(name)
    assert s.figure("used") == 0 and s.invalidations == 1 and s.create.count >= 1
    engine.dispose()


def test_async_engine_pool() -> None:
    require_service("postgres")
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = _name()

    async def main() -> None:
        engine = create_async_engine(PG, pool_size=1, max_overflow=0, pool_timeout=0.2)
        instrument_pool(engine, name=name)

        async def one() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.5)

        results = await asyncio.gather(one(), one(), return_exceptions=True)
        assert sum(isinstance(r, Exception) for r in results) == 1
        await engine.dispose()

    asyncio.run(main())
    s = _stats(name)
    assert s.timeouts == 1 and s.checkouts == 1


def test_psycopg_pool() -> None:
    require_service("postgres")
    from psycopg_pool import ConnectionPool, PoolTimeout

    name = _name()
    pool = ConnectionPool("host=127.0.0.1 dbname=test user=postgres", min_size=1, max_size=1,
                          open=True)
    instrument_pool(pool, name=name)
    try:
        pool.wait(10)
        with pool.connection() as conn:
            conn.execute("SELECT 1")
            with pytest.raises(PoolTimeout):
                pool.getconn(timeout=0.1)
            assert _stats(name).figure("used") == 1
        s = _stats(name)
        assert s.timeouts == 1 and s.checkouts == 1 and s.use.count == 1
        assert s.figure("max") == 1 and s.figure("idle") == 1
    finally:
        pool.close()


def test_asyncpg_pool() -> None:
    require_service("postgres")
    import asyncpg

    name = _name()

    async def main() -> None:
        pool = await asyncpg.create_pool("postgresql://postgres@127.0.0.1:5432/test",
                                         min_size=1, max_size=1)
        instrument_pool(pool, name=name)
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            await conn.fetch("SELECT $1::int", 2)
            await conn.execute("CREATE TEMP TABLE wk_t (x int)")
            await conn.executemany("INSERT INTO wk_t VALUES ($1)", [(1,), (2,)])
            with pytest.raises(asyncpg.PostgresError):
                await conn.execute("SELECT * FROM wk_no_such_table")
            with pytest.raises(TimeoutError):
                await pool.acquire(timeout=0.1)
            assert _stats(name).figure("used") == 1
            await asyncio.sleep(0)  # asyncpg calls its query loggers soon after
        await pool.close()

    asyncio.run(main())
    s = _stats(name)
    assert s.timeouts == 1 and s.checkouts == 1 and s.use.count == 1
    counts = {op: h.count for op, h in s.operations.items()}
    assert counts == {"SELECT": 3, "CREATE": 1, "INSERT": 1}
    assert all(h.sum > 0 for h in s.operations.values())
    from watchkeeper.exposition.parse import text_string_to_metric_families

    exported = {s.labels["db_operation_name"]: s.value
                for fam in text_string_to_metric_families(generate_latest().decode())
                for s in fam.samples
                if s.name == "db_client_operation_duration_seconds_count"
                and s.labels.get("pool_name") == name}
    assert exported == {"SELECT": 3, "CREATE": 1, "INSERT": 1}


def test_operation_name_is_bounded() -> None:
    assert operation_name("  select * from t") == "SELECT"
    assert operation_name("(SELECT 1)") == "SELECT"
    assert operation_name("frobnicate") == "OTHER"
    assert operation_name("") == "OTHER"


def test_async_psycopg_pool() -> None:
    require_service("postgres")
    from psycopg_pool import AsyncConnectionPool, PoolTimeout

    name = _name()

    async def main() -> None:
        pool = AsyncConnectionPool("host=127.0.0.1 dbname=test user=postgres", min_size=1,
                                   max_size=1, open=False)
        instrument_pool(pool, name=name)
        await pool.open(wait=True, timeout=10)
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
                with pytest.raises(PoolTimeout):
                    await pool.getconn(timeout=0.1)
        finally:
            await pool.close()

    asyncio.run(main())
    s = _stats(name)
    assert s.timeouts == 1 and s.checkouts == 1 and s.use.count == 1 and s.create.count >= 1
