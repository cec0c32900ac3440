"""In-process caches that report hits, misses, evictions and size.

    @watchkeeper.cached(name="prices", maxsize=1024)            # functools.lru_cache
    def price(sku): ...

    @watchkeeper.cached(name="tokens", maxsize=256, ttl=300)    # entries expire
    def token(user): ...

    watch_lru(existing_lru_function, name="parse")
    watch_cachetools(cachetools.TTLCache(1000, 60), name="sessions")
    watch_aiocache(aiocache.Cache(), name="pages")

Why this shape: without a TTL, ``cached`` *is* ``functools.lru_cache`` and its figures are
read from ``cache_info()`` when scraped, so a hit costs nothing more than the C cache's own
hit. With a TTL every entry carries its deadline. Redis and memcached clients are in
``cache_clients``, the L1+L2 cache in ``cache_tiered``, the series in ``cache_stats``.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from inspect import iscoroutinefunction
from time import monotonic
from typing import Any

from .cache_stats import CACHES, CacheStats

_MISSING = object()


def watch_lru(func: Any, name: str | None = None, tier: str = "l1") -> Any:
    """Export an existing ``functools.lru_cache`` function's figures; returns it."""
    stats = CACHES.stats(name or getattr(func, "__qualname__", "lru_cache"))
    info = func.cache_info

    def pull() -> None:
        i = info()
        stats.requests[(tier, "hit")] = i.hits
        stats.requests[(tier, "miss")] = i.misses
        # every miss stored an entry; those no longer there were evicted (or cleared)
        stats.evictions[tier] = max(0, i.misses - i.currsize)

    stats.pullers.append(pull)
    stats.gauge(tier, "size", lambda: info().currsize)
    if info().maxsize is not None:
        stats.gauge(tier, "max_size", lambda: info().maxsize)
    return func


class TTLCache:
    """An LRU mapping whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, maxsize: int, ttl: float, stats: CacheStats, tier: str = "l1") -> None:
        self.maxsize, self.ttl, self.stats, self.tier = maxsize, ttl, stats, tier
        self.data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        #: hits and misses, counted here (a list item is the cheapest counter) and added
        #: to the stats when they are read
        self.counts = [0, 0]
        self._pulled = [0, 0]
        stats.pullers.append(self._pull)
        stats.gauge(tier, "size", lambda: len(self.data))
        stats.gauge(tier, "max_size", lambda: self.maxsize)

    def _pull(self) -> None:
        hits, misses = self.counts
        h0, m0 = self._pulled
        self._pulled = [hits, misses]
        self.stats.hit(self.tier, hits - h0)
        self.stats.miss(self.tier, misses - m0)

    def get(self, key: Any, default: Any = _MISSING) -> Any:
        found = self.data.get(key)
        if found is not None and found[0] > monotonic():
            self.data.move_to_end(key)
            self.counts[0] += 1
            return found[1]
        if found is not None:
            self.data.pop(key, None)
        self.counts[1] += 1
        return default

    def set(self, key: Any, value: Any) -> None:
        data = self.data
        data[key] = (monotonic() + self.ttl, value)
        data.move_to_end(key)
        while len(data) > self.maxsize:
            data.popitem(last=False)
            self.stats.evicted(self.tier)

    def clear(self) -> None:
        self.data.clear()


def cached(func: Callable[..., Any] | None = None, *, name: str | None = None,
           maxsize: int | None = 128, ttl: float | None = None) -> Any:
    """Memoise a function (sync or async) under ``name`` with its figures exported.

    Without ``ttl`` it is ``functools.lru_cache(maxsize)`` itself; with ``ttl`` an LRU of
    ``maxsize`` entries that expire. Async functions cache their awaited result.
    """
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        label = name or f.__qualname__
        if ttl is None and not iscoroutinefunction(f):
            return watch_lru(functools.lru_cache(maxsize=maxsize)(f), label)
        store = TTLCache(maxsize or 2 ** 31, ttl if ttl is not None else float("inf"),
                         CACHES.stats(label))
        # the hit path is inlined (TTLCache.get's lines): one Python call per hit
        put, data, move, counts = store.set, store.data, store.data.move_to_end, store.counts
        if iscoroutinefunction(f):
            @functools.wraps(f)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
                found = data.get(key)
                if found is not None and found[0] > monotonic():
                    move(key)
                    counts[0] += 1
                    return found[1]
                counts[1] += 1
                value = await f(*args, **kwargs)
                put(key, value)
                return value

            run_async.cache = store  # type: ignore[attr-defined]
            return run_async

        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> Any:
            key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            found = data.get(key)
            if found is not None and found[0] > monotonic():
                move(key)
                counts[0] += 1
                return found[1]
            counts[1] += 1
            value = f(*args, **kwargs)
            put(key, value)
            return value

        run.cache = store  # type: ignore[attr-defined]
        run.cache_clear = store.clear  # type: ignore[attr-defined]
        return run

    return decorate(func) if func is not None else decorate


def watch_cachetools(cache: Any, name: str, tier: str = "l1") -> Any:
    """Count lookups and evictions of a cachetools cache (its class is swapped for a
    counting subclass, so ``cachetools.cached`` using it counts too); returns it."""
    stats = CACHES.stats(name)
    base = type(cache)

    class Counted(base):  # type: ignore[misc, valid-type]
        def __getitem__(self, key: Any) -> Any:
            try:
                value = base.__getitem__(self, key)
            except KeyError:
                stats.miss(tier)
                raise
            stats.hit(tier)
            return value

        def get(self, key: Any, default: Any = None) -> Any:
            try:
                return self[key]
            except KeyError:
                return default

        def popitem(self) -> Any:
            item = base.popitem(self)
            stats.evicted(tier)
            return item

    Counted.__name__ = base.__name__
    cache.__class__ = Counted
    stats.gauge(tier, "size", lambda: len(cache))
    stats.gauge(tier, "max_size", lambda: cache.maxsize)
    stats.gauge(tier, "bytes", lambda: cache.currsize if cache.getsizeof else len(cache))
    return cache


def watch_aiocache(cache: Any, name: str, tier: str = "l1") -> Any:
    """Count get/multi_get hits and misses and set/delete/increment of an aiocache cache
    (its bound methods are wrapped on the instance); returns it."""
    stats = CACHES.stats(name)
    get, multi_get = cache.get, cache.multi_get

    async def counted_get(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
        stats.op(tier, "get")
        value = await get(key, _MISSING, *args, **kwargs)
        if value is _MISSING:
            stats.miss(tier)
            return default
        stats.hit(tier)
        return value

    async def counted_multi_get(keys: Any, *args: Any, **kwargs: Any) -> Any:
        stats.op(tier, "mget")
        values = await multi_get(keys, *args, **kwargs)
        hits = sum(v is not None for v in values)
        stats.hit(tier, hits)
        stats.miss(tier, len(values) - hits)
        return values

    cache.get, cache.multi_get = counted_get, counted_multi_get
    for op, attr in (("set", "set"), ("delete", "delete"), ("incr", "increment")):
        original = getattr(cache, attr)

        async def counted(*args: Any, _o: Any = original, _op: str = op, **kwargs: Any) -> Any:
            stats.op(tier, _op)
            return await _o(*args, **kwargs)

        setattr(cache, attr, counted)
    return cache
