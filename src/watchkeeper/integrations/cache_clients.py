"""Redis (sync and ``redis.asyncio``) and pymemcache clients that count what they do.

    client = instrument_redis(redis.Redis(), name="sessions")
    aclient = instrument_redis(redis.asyncio.Redis(), name="pages")
    mc = instrument_memcache(pymemcache.client.base.Client(("127.0.0.1", 11211)), name="mc")

get/mget (and memcached's get_many/get_multi) count hits and misses per key-prefix
template (``cache_key_requests_total``) and under ``cache_requests_total{tier}`` (tier
``redis`` or ``memcached``); set/delete/incr are counted as operations; one operation in
``SAMPLE_EVERY`` is timed. The client's methods are wrapped on the instance, so code that
holds the client object sees no difference.
"""

from __future__ import annotations

from collections.abc import Callable
from inspect import iscoroutinefunction
from time import perf_counter
from typing import Any

from .cache_stats import CACHES, CacheStats

#: (method, op label, how its answer counts: "one" a value, "many" a list or dict, "")
REDIS_OPS = (("get", "get", "one"), ("mget", "mget", "many"), ("set", "set", ""),
             ("delete", "delete", ""), ("incr", "incr", ""), ("incrby", "incr", ""),
             ("getex", "get", "one"), ("setex", "set", ""))
MEMCACHE_OPS = (("get", "get", "one"), ("gets", "get", "one"), ("get_many", "mget", "many"),
                ("get_multi", "mget", "many"), ("set", "set", ""), ("set_many", "set", ""),
                ("add", "set", ""), ("delete", "delete", ""), ("delete_many", "delete", ""),
                ("incr", "incr", ""), ("decr", "incr", ""))


def _count(stats: CacheStats, tier: str, how: str, args: tuple, result: Any) -> None:
    if how == "one":
        hit = result is not None and not (isinstance(result, tuple) and result[0] is None)
        (stats.hit if hit else stats.miss)(tier)
        if args:
            stats.prefix(args[0], hit)
    elif how == "many":
        keys = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if isinstance(result, dict):  # memcached: only the keys found
            hits = [k in result for k in keys]
        else:
            hits = [v is not None for v in result]
        for key, hit in zip(keys, hits, strict=False):
            stats.prefix(key, hit)
        n = sum(hits)
        stats.hit(tier, n)
        stats.miss(tier, len(hits) - n)


def _wrap(stats: CacheStats, tier: str, op: str, how: str, method: Callable[..., Any],
          is_async: bool) -> Any:
    if is_async:
        async def counted_async(*args: Any, **kwargs: Any) -> Any:
            if stats.op(tier, op):
                t0 = perf_counter()
                result = await method(*args, **kwargs)
                stats.timed(tier, op, perf_counter() - t0)
            else:
                result = await method(*args, **kwargs)
            if how:
                _count(stats, tier, how, args, result)
            return result

        return counted_async

    def counted(*args: Any, **kwargs: Any) -> Any:
        if stats.op(tier, op):
            t0 = perf_counter()
            result = method(*args, **kwargs)
            stats.timed(tier, op, perf_counter() - t0)
        else:
            result = method(*args, **kwargs)
        if how:
            _count(stats, tier, how, args, result)
        return result

    return counted


def _instrument(client: Any, name: str, tier: str, ops: tuple) -> Any:
    stats = CACHES.stats(name)
    # redis.asyncio's command methods are plain functions returning awaitables
    is_async = iscoroutinefunction(getattr(client, "execute_command", None))
    for method, op, how in ops:
        original = getattr(client, method, None)
        if original is not None and not getattr(original, "_watchkeeper", False):
            wrapped = _wrap(stats, tier, op, how, original,
                            is_async or iscoroutinefunction(original))
            wrapped._watchkeeper = True  # type: ignore[attr-defined]
            setattr(client, method, wrapped)
    return client


def instrument_redis(client: Any, name: str = "redis", tier: str = "redis") -> Any:
    """Count a ``redis.Redis`` or ``redis.asyncio.Redis`` client's cache commands."""
    return _instrument(client, name, tier, REDIS_OPS)


def instrument_memcache(client: Any, name: str = "memcached", tier: str = "memcached") -> Any:
    """Count a pymemcache client's (base, pooled or hash client) cache commands."""
    return _instrument(client, name, tier, MEMCACHE_OPS)
