"""A two-tier cache: an in-process L1 (LRU with TTL) in front of a Redis L2.

    cache = TieredCache("catalog", redis.Redis(), l1_maxsize=1000, l1_ttl=30, ttl=600,
                        codec="zstd")
    cache.set("product:42", {...})
    cache.get("product:42")      # L1 hit; after L1 expiry an L2 hit promoted into L1

Reported per tier (``l1``, ``l2``): hits and misses, evictions (L1), size and max size
(L1), bytes (L1 holds the encoded size of each value), the compression ratio of what L2
stores (raw over stored bytes), promotions from L2 into L1 and sampled latency per tier
and operation. Values are pickled; ``codec`` is ``None``, ``"zlib"``, ``"zstd"`` (stdlib
on 3.14, else the ``zstandard`` package) or ``"lz4"`` (the ``lz4`` package).
"""

from __future__ import annotations

import pickle
import zlib
from collections import OrderedDict
from collections.abc import Callable
from time import monotonic, perf_counter
from typing import Any

from .cache_stats import CACHES

_MISSING = object()


def codec_pair(codec: str | None) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    """(compress, decompress) for a codec name."""
    if codec is None:
        return (lambda b: b), (lambda b: b)
    if codec == "zlib":
        return zlib.compress, zlib.decompress
    if codec == "lz4":
        import lz4.frame

        return lz4.frame.compress, lz4.frame.decompress
    if codec == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]

            return zstd.compress, zstd.decompress
        except ImportError:
            return _zstandard_per_thread()
    raise ValueError(f"unknown codec {codec!r} (None, 'zlib', 'zstd' or 'lz4')")


def _zstandard_per_thread() -> tuple[Any, Any]:
    """zstandard's (de)compressor objects are not safe to share between threads: each
    thread gets its own."""
    import threading

    import zstandard

    local = threading.local()

    def compress(data: bytes) -> bytes:
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = zstandard.ZstdCompressor()
        return c.compress(data)

    def decompress(data: bytes) -> bytes:
        d = getattr(local, "d", None)
        if d is None:
            d = local.d = zstandard.ZstdDecompressor()
        return d.decompress(data)

    return compress, decompress


class TieredCache:
    """L1 in process, L2 in Redis; ``get`` promotes an L2 hit into L1."""

    def __init__(self, name: str, redis_client: Any, *, l1_maxsize: int = 1024,
                 l1_ttl: float = 60.0, ttl: float | None = None, codec: str | None = None,
                 prefix: str | None = None) -> None:
        self.name = name
        self.redis = redis_client
        self.l1_maxsize, self.l1_ttl, self.ttl = l1_maxsize, l1_ttl, ttl
        self.prefix = prefix if prefix is not None else f"{name}:"
        self._compress, self._decompress = codec_pair(codec)
        self._l1: OrderedDict[str, tuple[float, Any, int]] = OrderedDict()
        self._l1_bytes = 0
        self.stats = s = CACHES.stats(name)
        s.gauge("l1", "size", lambda: len(self._l1))
        s.gauge("l1", "max_size", lambda: self.l1_maxsize)
        s.gauge("l1", "bytes", lambda: self._l1_bytes)

    # -- L1 ----------------------------------------------------------------------------
    def _l1_put(self, key: str, value: Any, size: int) -> None:
        old = self._l1.pop(key, None)
        if old is not None:
            self._l1_bytes -= old[2]
        self._l1[key] = (monotonic() + self.l1_ttl, value, size)
        self._l1_bytes += size
        while len(self._l1) > self.l1_maxsize:
            _, (_, _, dropped) = self._l1.popitem(last=False)
            self._l1_bytes -= dropped
            self.stats.evicted("l1")

    def _l1_get(self, key: str) -> Any:
        found = self._l1.get(key)
        if found is None:
            return _MISSING
        if found[0] <= monotonic():
            self._l1.pop(key, None)
            self._l1_bytes -= found[2]
            return _MISSING
        self._l1.move_to_end(key)
        return found[1]

    # -- the cache -----------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        s = self.stats
        timed = s.op("l1", "get")
        t0 = perf_counter() if timed else 0.0
        value = self._l1_get(key)
        if timed:
            s.timed("l1", "get", perf_counter() - t0)
        if value is not _MISSING:
            s.hit("l1")
            return value
        s.miss("l1")
        timed = s.op("l2", "get")
        t0 = perf_counter() if timed else 0.0
        raw = self.redis.get(self.prefix + key)
        if timed:
            s.timed("l2", "get", perf_counter() - t0)
        if raw is None:
            s.miss("l2")
            return default
        s.hit("l2")
        data = self._decompress(raw)
        value = pickle.loads(data)
        s.promotions += 1
        self._l1_put(key, value, len(data))
        return value

    def set(self, key: str, value: Any) -> None:
        s = self.stats
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        stored = self._compress(data)
        s.op("l1", "set")
        self._l1_put(key, value, len(data))
        timed = s.op("l2", "set")
        t0 = perf_counter() if timed else 0.0
        self.redis.set(self.prefix + key, stored, ex=int(self.ttl) if self.ttl else None)
        if timed:
            s.timed("l2", "set", perf_counter() - t0)
        s.stored("l2", len(data), len(stored))

    def delete(self, key: str) -> None:
        found = self._l1.pop(key, None)
        if found is not None:
            self._l1_bytes -= found[2]
        self.stats.op("l2", "delete")
        self.redis.delete(self.prefix + key)

    def get_or_set(self, key: str, make: Callable[[], Any]) -> Any:
        """The cached value, or ``make()``'s, stored in both tiers."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self.set(key, value)
        return value
