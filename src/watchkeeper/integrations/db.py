"""Connection-pool monitors: SQLAlchemy, psycopg_pool and asyncpg pools, one schema.

    engine = sqlalchemy.create_engine(url, pool_size=10, max_overflow=5)
    instrument_pool(engine, name="main", leak_seconds=30)
    instrument_pool(psycopg_pool.ConnectionPool(conninfo), name="reports")
    instrument_pool(await asyncpg.create_pool(dsn), name="events")

What is measured (series in ``db_stats``): the wait for a connection (every checkout),
requests waiting now, timeouts, the time to create a connection, the time each is used,
held time by the current route or task (``context.work_name()``), invalidations, and for
an engine or an asyncpg pool the duration of each statement by operation (asyncpg's query
logger). The pool's own counters (size,
idle, overflow, maximum) are read when scraped. With ``leak_seconds`` each checkout keeps
a short stack, and a connection held longer is logged once with it and counted.

Why this shape: the pool's get and return methods are wrapped on the instance, so a
checkout costs two clock reads, a bucket search and a dict insert; nothing of SQLAlchemy,
psycopg or asyncpg is imported until a pool of theirs is given.
"""

from __future__ import annotations

import logging
import sys
from bisect import bisect_left
from inspect import iscoroutinefunction
from time import perf_counter
from typing import Any

from .context import NO_WORK, current_work
from .db_stats import POOLS, PoolStats

log = logging.getLogger("watchkeeper.db")
_OPERATIONS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT",
                         "ROLLBACK", "CREATE", "DROP", "ALTER", "WITH", "CALL", "SET",
                         "SHOW", "TRUNCATE", "COPY", "MERGE", "REPLACE", "SAVEPOINT",
                         "RELEASE", "EXPLAIN", "LOCK", "VACUUM", "ANALYZE"})


def operation_name(statement: str) -> str:
    """The statement's verb (``SELECT``...), or ``OTHER``: a bounded label."""
    head = statement.lstrip(" (\n\t").split(None, 1)
    verb = head[0].upper() if head else ""
    return verb if verb in _OPERATIONS else "OTHER"


def _stack() -> list[str]:
    frame, out = sys._getframe(3), []
    while frame is not None and len(out) < 25:
        code = frame.f_code
        out.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back
    return out


class Checkouts:
    """The connections of one pool that are out now: when, by which work, from where."""

    def __init__(self, stats: PoolStats, leak_seconds: float | None) -> None:
        self.stats = stats
        self.leak_seconds = leak_seconds
        self.out: dict[int, tuple[float, str, list[str] | None]] = {}
        self.warned: set[int] = set()
        if leak_seconds is not None:
            POOLS.before_collect.append(self.scan)

    def taken(self, key: int, started: float, waited: float) -> None:
        s = self.stats
        s.checkouts += 1
        s.wait.observe(waited)
        self.out[key] = (started, current_work(),
                         _stack() if self.leak_seconds is not None else None)

    def returned(self, key: int) -> None:
        found = self.out.pop(key, None)
        if found is None:
            return
        seconds = perf_counter() - found[0]
        self.stats.use.observe(seconds)
        self.finish(key, found, seconds)

    def finish(self, key: int, found: tuple, seconds: float) -> None:
        """Hold time by work (a new work name, or with leak detection on) and leaks."""
        work = found[1]
        self.stats.held(work.name if work is not None else NO_WORK, seconds)
        if key in self.warned:
            self.warned.discard(key)
        elif self.leak_seconds is not None and seconds > self.leak_seconds:
            self._leak(found, seconds)

    def scan(self) -> None:
        """Warn about connections still out past the threshold (once each)."""
        now = perf_counter()
        for key, found in list(self.out.items()):
            if key not in self.warned and now - found[0] > self.leak_seconds:  # type: ignore
                self.warned.add(key)
                self._leak(found, now - found[0])

    def _leak(self, found: tuple[float, str, list[str] | None], seconds: float) -> None:
        self.stats.leaks += 1
        stack = "\n  ".join(reversed(found[2] or []))
        work = found[1].name if found[1] is not None else "-"
        log.warning("pool %s: connection held %.1fs (> %ss) by %r; checked out at:\n  %s",
                    self.stats.name, seconds, self.leak_seconds, work, stack)


def instrument_pool(pool: Any, name: str = "default", *, leak_seconds: float | None = None,
                    system: str | None = None) -> Any:
    """Instrument a SQLAlchemy engine (sync or async) or pool, a psycopg_pool pool or an
    asyncpg pool under ``name``; returns what it was given."""
    module = type(pool).__module__
    if module.startswith("sqlalchemy"):
        _sqlalchemy(pool, name, leak_seconds, system)
    elif module.startswith("psycopg_pool"):
        _psycopg(pool, name, leak_seconds)
    elif module.startswith("asyncpg"):
        _asyncpg(pool, name, leak_seconds)
    else:
        raise TypeError(f"instrument_pool: unsupported pool type {type(pool).__qualname__}")
    return pool


def _sqlalchemy(target: Any, name: str, leak_seconds: float | None, system: str | None) -> None:
    from sqlalchemy import event, exc

    engine = getattr(target, "sync_engine", target)  # AsyncEngine -> its Engine
    pool = getattr(engine, "pool", engine)
    is_engine = pool is not engine
    stats = POOLS.stats(name, system or (engine.dialect.name if is_engine else "other_sql"))
    outs = Checkouts(stats, leak_seconds)
    get, ret, create = pool._do_get, pool._do_return_conn, pool._create_connection
    # the hot path inlines Checkouts.taken/returned: locals, no method calls per checkout
    out, wait, use, hold, leak = outs.out, stats.wait, stats.use, stats.hold, leak_seconds
    wait_counts, use_counts, bounds = wait.counts, use.counts, wait.bounds

    def _do_get() -> Any:
        stats.pending += 1
        t0 = perf_counter()
        try:
            record = get()
        except exc.TimeoutError:
            stats.timeouts += 1
            raise
        finally:
            stats.pending -= 1
        t1 = perf_counter()
        stats.checkouts += 1
        waited = t1 - t0
        wait_counts[bisect_left(bounds, waited)] += 1
        wait.sum += waited
        out[id(record)] = (t1, current_work(), None if leak is None else _stack())
        return record

    def _do_return_conn(record: Any) -> None:
        found = out.pop(id(record), None)
        if found is not None:
            seconds = perf_counter() - found[0]
            use_counts[bisect_left(bounds, seconds)] += 1
            use.sum += seconds
            work = found[1]
            h = hold.get(work.name if work is not None else NO_WORK)
            if h is None or leak is not None:
                outs.finish(id(record), found, seconds)
            else:
                h[0] += 1
                h[1] += seconds
        ret(record)

    def _create_connection() -> Any:
        t0 = perf_counter()
        record = create()
        stats.create.observe(perf_counter() - t0)
        return record

    pool._do_get, pool._do_return_conn = _do_get, _do_return_conn
    pool._create_connection = _create_connection

    def invalidated(*_: Any) -> None:
        stats.invalidations += 1

    event.listen(pool, "invalidate", invalidated)
    event.listen(pool, "soft_invalidate", invalidated)
    if hasattr(pool, "checkedout") and hasattr(pool, "_max_overflow"):
        size = pool.size()
        most = size + pool._max_overflow if pool._max_overflow >= 0 else -1
        stats.gauges.update(used=pool.checkedout, idle=pool.checkedin, max=lambda: most,
                            idle_max=lambda: size, idle_min=lambda: 0,
                            overflow=lambda: max(0, pool.overflow()))
    else:  # NullPool and other unbounded pools: what is out is what is used
        stats.gauges.update(used=lambda: len(outs.out), idle=lambda: 0, overflow=lambda: 0,
                            idle_max=lambda: 0, idle_min=lambda: 0)
    if is_engine:
        def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                   many: bool) -> None:
            conn.info["_wk_t0"] = perf_counter()

        def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                  many: bool) -> None:
            t0 = conn.info.pop("_wk_t0", None)
            if t0 is not None:
                stats.operation(operation_name(statement), perf_counter() - t0)

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)


def _psycopg(pool: Any, name: str, leak_seconds: float | None) -> None:
    from psycopg_pool import PoolTimeout

    stats = POOLS.stats(name, "postgresql")
    outs = Checkouts(stats, leak_seconds)
    get, put, connect = pool.getconn, pool.putconn, pool._connect
    if iscoroutinefunction(get):
        async def agetconn(timeout: float | None = None) -> Any:
            stats.pending += 1
            t0 = perf_counter()
            try:
                conn = await get(timeout=timeout)
            except PoolTimeout:
                stats.timeouts += 1
                raise
            finally:
                stats.pending -= 1
            t1 = perf_counter()
            outs.taken(id(conn), t1, t1 - t0)
            return conn

        async def aputconn(conn: Any) -> None:
            outs.returned(id(conn))
            await put(conn)

        async def aconnect(*args: Any, **kwargs: Any) -> Any:
            t0 = perf_counter()
            conn = await connect(*args, **kwargs)
            stats.create.observe(perf_counter() - t0)
            return conn

        pool.getconn, pool.putconn, pool._connect = agetconn, aputconn, aconnect
    else:
        def getconn(timeout: float | None = None) -> Any:
            stats.pending += 1
            t0 = perf_counter()
            try:
                conn = get(timeout=timeout)
            except PoolTimeout:
                stats.timeouts += 1
                raise
            finally:
                stats.pending -= 1
            t1 = perf_counter()
            outs.taken(id(conn), t1, t1 - t0)
            return conn

        def putconn(conn: Any) -> None:
            outs.returned(id(conn))
            put(conn)

        def connect_(*args: Any, **kwargs: Any) -> Any:
            t0 = perf_counter()
            conn = connect(*args, **kwargs)
            stats.create.observe(perf_counter() - t0)
            return conn

        pool.getconn, pool.putconn, pool._connect = getconn, putconn, connect_

    def figure(key: str) -> Any:
        return lambda: pool.get_stats().get(key, 0)

    stats.gauges.update(
        used=lambda: (lambda st: st.get("pool_size", 0) - st.get("pool_available", 0))(
            pool.get_stats()),
        idle=figure("pool_available"), max=lambda: pool.max_size,
        idle_max=lambda: pool.max_size, idle_min=lambda: pool.min_size,
        overflow=lambda: max(0, pool.get_stats().get("pool_size", 0) - pool.min_size))


def _asyncpg(pool: Any, name: str, leak_seconds: float | None) -> None:
    stats = POOLS.stats(name, "postgresql")
    outs = Checkouts(stats, leak_seconds)
    base = type(pool)

    def listen(conn: Any) -> None:
        add = getattr(conn, "add_query_logger", None)
        if add is None:  # asyncpg < 0.29 has no query logger
            return

        def logged(record: Any) -> None:
            # asyncpg's own logger times execute, fetch* and executemany; the statement the
            # pool runs to reset a returned connection is the pool's, not the app's
            if record.query != getattr(conn, "_reset_query", None):
                stats.operation(operation_name(record.query), record.elapsed)

        add(logged)

    for holder in getattr(pool, "_holders", ()):  # connections opened before this call
        if getattr(holder, "_con", None) is not None:
            listen(holder._con)

    class Counted(base):  # type: ignore[misc, valid-type]
        # asyncpg's Pool has slots: its methods cannot be replaced on the instance, so the
        # instance gets this subclass (no new slots, the same layout) instead
        __slots__ = ()

        async def _acquire(self, timeout: float | None) -> Any:
            stats.pending += 1
            t0 = perf_counter()
            try:
                conn = await base._acquire(self, timeout)
            except TimeoutError:
                stats.timeouts += 1
                raise
            finally:
                stats.pending -= 1
            t1 = perf_counter()
            outs.taken(id(conn), t1, t1 - t0)
            return conn

        async def release(self, connection: Any, *, timeout: float | None = None) -> None:
            outs.returned(id(connection))
            await base.release(self, connection, timeout=timeout)

        async def _get_new_connection(self) -> Any:
            t0 = perf_counter()
            conn = await base._get_new_connection(self)
            stats.create.observe(perf_counter() - t0)
            listen(conn)
            return conn

    Counted.__name__ = base.__name__
    pool.__class__ = Counted
    stats.gauges.update(used=lambda: pool.get_size() - pool.get_idle_size(),
                        idle=pool.get_idle_size, max=pool.get_max_size,
                        idle_max=pool.get_max_size, idle_min=pool.get_min_size,
                        overflow=lambda: max(0, pool.get_size() - pool.get_min_size()))
