"""Job functions for the RQ tests; run as a script it drains a queue with a watched worker."""

from __future__ import annotations

import os
import sys

import redis


def add(x: int, y: int) -> int:
    return x + y


def fail() -> None:
    raise ValueError("boom")


def flaky(key: str) -> int:
    """Fails on its first run, succeeds on the retry (the count lives in Redis)."""
    client = redis.Redis.from_url(os.environ["WK_REDIS"])
    if client.incr(key) == 1:
        raise RuntimeError("first try")
    return 1


if __name__ == "__main__":
    from watchkeeper.integrations.jobs.rq import WatchedQueue, WatchedWorker

    connection = redis.Redis.from_url(os.environ["WK_REDIS"])
    queue = WatchedQueue(sys.argv[1], connection=connection)
    WatchedWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")
