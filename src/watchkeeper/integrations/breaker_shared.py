"""Breaker state shared through Redis, or through files on one host, so that every worker
of a service opens together.

    shared = RedisBreakerState(redis.Redis(), refresh=1.0)
    shared = FileBreakerState("/run/myapp/breakers")   # prefork workers of one host
    breaker = CircuitBreaker("payments", shared=shared)

Each transition writes ``{state, open_until, opens}`` to the hash ``PREFIX + name`` and
bumps its ``version``; a worker reads the hash at most once per ``refresh`` seconds on the
calls it guards and adopts a newer version. Times are wall-clock seconds (``time.time``),
the clock workers on one host or NTP-synced hosts share. Only the state is shared; each
worker counts its own calls, and its metrics say what it saw. ``FileBreakerState`` keeps
the same record in one JSON file per breaker (replaced atomically, written under an
``flock``), for workers that share a host but no Redis (default directory: the
multiprocess directory's ``breakers`` folder).
"""

from __future__ import annotations

import hashlib
import json
import os
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


class FileBreakerState:
    """The state store of workers on one host: a JSON file per breaker in ``directory``."""

    clock = staticmethod(time.time)

    def __init__(self, directory: str | os.PathLike[str] | None = None, *,
                 refresh: float = 1.0) -> None:
        if directory is None:
            from ..metrics.multiprocess import directory as mp_directory

            base = mp_directory()
            if not base:
                raise ValueError("FileBreakerState needs a directory (or the multiprocess "
                                 "directory set)")
            directory = os.path.join(base, "breakers")
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.refresh = refresh

    def _path(self, name: str) -> str:
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]  # any name, a safe file name
        return os.path.join(self.directory, f"{digest}.json")

    def read(self, name: str) -> tuple[str, float, int, int] | None:
        try:
            with open(self._path(name), encoding="utf-8") as f:
                got = json.load(f)
            return (str(got["state"]), float(got["open_until"]), int(got["opens"]),
                    int(got["version"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, name: str, state: str, open_until: float, opens: int) -> int:
        import fcntl

        path = self._path(name)
        with open(path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one writer at a time: versions never repeat
            try:
                found = self.read(name)
                version = (found[3] if found else 0) + 1
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump({"name": name, "state": state, "open_until": open_until,
                               "opens": opens, "version": version}, f)
                os.replace(tmp, path)  # readers see the old record or the new, whole
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return version
