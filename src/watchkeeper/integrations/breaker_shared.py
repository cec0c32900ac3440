"""Breaker state shared through Redis, so that every worker of a service opens together.

    shared = RedisBreakerState(redis.Redis(), refresh=1.0)
    breaker = CircuitBreaker("payments", shared=shared)

Each transition writes ``{state, open_until, opens}`` to the hash ``PREFIX + name`` and
bumps its ``version``; a worker reads the hash at most once per ``refresh`` seconds on the
calls it guards and adopts a newer version. Times are wall-clock seconds (``time.time``),
the clock workers on one host or NTP-synced hosts share. Only the state is shared; each
worker counts its own calls, and its metrics say what it saw.
"""

from __future__ import annotations

import time
from typing import Any


class RedisBreakerState:
    """The state store a breaker consults; ``client`` is a sync ``redis.Redis``."""

    clock = staticmethod(time.time)

    def __init__(self, client: Any, *, prefix: str = "watchkeeper:breaker:",
                 refresh: float = 1.0) -> None:
        self.client = client
        self.prefix = prefix
        self.refresh = refresh

    def read(self, name: str) -> tuple[str, float, int, int] | None:
        raw = self.client.hgetall(self.prefix + name)
        if not raw:
            return None
        get = {(k.decode() if isinstance(k, bytes) else k):
               (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}
        try:
            return (get["state"], float(get["open_until"]), int(get["opens"]),
                    int(get["version"]))
        except (KeyError, ValueError):
            return None

    def write(self, name: str, state: str, open_until: float, opens: int) -> int:
        key = self.prefix + name
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"state": state, "open_until": repr(open_until),
                                "opens": opens})
        pipe.hincrby(key, "version", 1)
        return int(pipe.execute()[1])
