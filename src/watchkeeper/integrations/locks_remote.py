"""Distributed locks that count like the local ones: Redis (redis-py) and PostgreSQL advisory.

    lock = watchkeeper.tracked_redis_lock(redis_client, "locks:nightly", name="nightly",
                                          timeout=60)
    with lock: ...
    with watchkeeper.advisory_lock(pg_conn, "nightly_report", timeout=5): ...

Same series as ``locks`` (``kind`` ``redis`` or ``postgres``). The label is ``name``
(default: the key), so give a bounded name when keys carry ids. Waiters and contention
are this process's callers; neither driver is imported here, the client is passed in.
"""

from __future__ import annotations

import time
from time import perf_counter
from typing import Any

from .locks import LOCKS


class _Remote:
    """Shared counting around a try-then-wait acquisition."""

    def __init__(self, name: str, kind: str) -> None:
        self._s = LOCKS.stats(name, kind)
        self._since = 0.0

    def _try(self) -> bool:
        raise NotImplementedError

    def _block(self, timeout: float | None) -> bool:
        raise NotImplementedError

    def _unlock(self) -> None:
        raise NotImplementedError

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock; ``timeout`` seconds of waiting at most (None: as long as it takes)."""
        s = self._s
        if self._try():
            with s.guard:
                s.acquired += 1
            self._since = perf_counter()
            return True
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
            got = self._block(timeout)
        finally:
            now = perf_counter()
            with s.guard:
                s.waiters -= 1
                s.waited(now - start, got)
                if got:
                    s.acquired += 1
        self._since = now
        return got

    def release(self) -> None:
        s = self._s
        held = perf_counter() - self._since
        with s.guard:
            s.hold_sum += held
            s.hold_count += 1
            s.released += 1
        self._unlock()

    def __enter__(self) -> _Remote:
        if not self.acquire(timeout=self.timeout):
            raise TimeoutError(f"lock {self._s.name!r} not acquired within {self.timeout}s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    timeout: float | None = None


class TrackedRedisLock(_Remote):
    """A redis-py ``Lock`` (``client.lock(key, ...)``) that counts; ``timeout`` here is
    the acquisition wait, ``expire`` the lock's own expiry in Redis."""

    def __init__(self, client: Any, key: str, *, name: str | None = None,
                 timeout: float | None = None, expire: float | None = None,
                 sleep: float = 0.05) -> None:
        super().__init__(name or key, "redis")
        self.timeout = timeout
        self.lock = client.lock(key, timeout=expire, sleep=sleep)

    def _try(self) -> bool:
        return bool(self.lock.acquire(blocking=False))

    def _block(self, timeout: float | None) -> bool:
        return bool(self.lock.acquire(blocking=True, blocking_timeout=timeout))

    def _unlock(self) -> None:
        self.lock.release()


def tracked_redis_lock(client: Any, key: str, *, name: str | None = None,
                       timeout: float | None = None, expire: float | None = None,
                       sleep: float = 0.05) -> TrackedRedisLock:
    """A counting Redis lock on ``key`` (redis-py's algorithm: SET NX with a token)."""
    return TrackedRedisLock(client, key, name=name, timeout=timeout, expire=expire,
                            sleep=sleep)


class AdvisoryLock(_Remote):
    """A PostgreSQL session advisory lock over a DB-API connection (psycopg 3 or 2) in
    autocommit mode; a ``str`` key is hashed by the server (``hashtextextended``)."""

    def __init__(self, conn: Any, key: int | str, *, name: str | None = None,
                 timeout: float | None = None, poll: float = 0.05) -> None:
        super().__init__(name or str(key), "postgres")
        self.conn = conn
        self.key = key
        self.timeout = timeout
        self.poll = poll
        self._arg = "hashtextextended(%s, 0)" if isinstance(key, str) else "%s::bigint"

    def _call(self, fn: str) -> Any:
        cur = self.conn.cursor()
        try:
            cur.execute(f"SELECT {fn}({self._arg})", (self.key,))
            return cur.fetchone()[0]
        finally:
            cur.close()

    def _try(self) -> bool:
        return bool(self._call("pg_try_advisory_lock"))

    def _block(self, timeout: float | None) -> bool:
        if timeout is None:
            self._call("pg_advisory_lock")  # the server queues us: no polling
            return True
        deadline = time.monotonic() + timeout
        while True:
            if self._try():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.poll, left))

    def _unlock(self) -> None:
        self._call("pg_advisory_unlock")


def advisory_lock(conn: Any, key: int | str, *, name: str | None = None,
                  timeout: float | None = None, poll: float = 0.05) -> AdvisoryLock:
    """A counting PostgreSQL advisory lock on ``key`` held by ``conn``'s session."""
    return AdvisoryLock(conn, key, name=name, timeout=timeout, poll=poll)
