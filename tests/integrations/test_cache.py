"""In-process caches and the wrappers for cachetools and aiocache."""

from __future__ import annotations

import asyncio
import functools
import uuid

from watchkeeper.exposition import generate_latest
from watchkeeper.integrations.cache import cached, watch_aiocache, watch_cachetools, watch_lru
from watchkeeper.integrations.cache_stats import CACHES, cache_score, key_prefix


def _name() -> str:
    return "c" + uuid.uuid4().hex[:8]


def _req(name: str, tier: str = "l1") -> tuple[int, int]:
    s = CACHES.stats(name)
    s.refresh()
    return s.requests.get((tier, "hit"), 0), s.requests.get((tier, "miss"), 0)


def test_cached_without_ttl_is_lru_cache_and_reports_its_figures() -> None:
    name = _name()

    @cached(name=name, maxsize=2)
    def square(x: int) -> int:
        return x * x

    assert [square(i) for i in (1, 1, 2, 3, 1)] == [1, 1, 4, 9, 1]
    assert square.cache_info().hits == 1
    assert _req(name) == (1, 4)
    text = generate_latest().decode()
    assert f'cache_requests_total{{cache="{name}",tier="l1",result="hit"}} 1.0' in text
    assert f'cache_size{{cache="{name}",tier="l1"}} 2.0' in text
    assert f'cache_max_size{{cache="{name}",tier="l1"}} 2.0' in text
    assert f'cache_evictions_total{{cache="{name}",tier="l1"}} 2.0' in text


def test_cached_with_ttl_expires_and_evicts(monkeypatch) -> None:
    name = _name()
    calls = []

    @cached(name=name, maxsize=2, ttl=10)
    def load(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert load("a") == "A" and load("a") == "A"
    now = [0.0]
    import watchkeeper.integrations.cache as mod

    real = mod.monotonic
    monkeypatch.setattr(mod, "monotonic", lambda: real() + now[0])
    now[0] = 11
    assert load("a") == "A"
    assert calls == ["a", "a"]
    load("b")
    load("c")
    s = CACHES.stats(name)
    assert s.evictions["l1"] == 1
    assert _req(name) == (1, 4)


def test_ttl_caches_of_one_name_add_up_across_scrapes() -> None:
    name = _name()

    @cached(name=name, maxsize=8, ttl=60)
    def a(x: int) -> int:
        return x

    @cached(name=name, maxsize=8, ttl=60)
    def b(x: int) -> int:
        return -x

    for x in (1, 1, 1, 2):
        a(x)
    assert _req(name) == (2, 2)  # read once: the counts move into the stats
    for x in (1, 1):
        b(x)
    assert a.cache.get((2,)) == 2  # a lookup through the store counts as well
    assert _req(name) == (4, 3)


def test_cached_async() -> None:
    name = _name()

    @cached(name=name, maxsize=10)
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    async def main() -> list[int]:
        return [await fetch(1), await fetch(1), await fetch(2)]

    assert asyncio.run(main()) == [2, 2, 3]
    assert _req(name) == (1, 2)


def test_watch_existing_lru_cache() -> None:
    name = _name()

    @functools.cache
    def f(x: int) -> int:
        return x

    watch_lru(f, name)
    f(1), f(1), f(1)
    assert _req(name) == (2, 1)


def test_watch_cachetools_counts_lookups_and_evictions() -> None:
    import cachetools

    name = _name()
    cache = watch_cachetools(cachetools.LRUCache(maxsize=2), name)

    @cachetools.cached(cache)
    def f(x: int) -> int:
        return x

    for x in (1, 1, 2, 3):
        f(x)
    assert _req(name) == (1, 3)
    assert CACHES.stats(name).evictions["l1"] == 1
    assert isinstance(cache, cachetools.LRUCache)


def test_watch_aiocache() -> None:
    from aiocache import Cache

    name = _name()
    cache = watch_aiocache(Cache(Cache.MEMORY), name)

    async def main() -> None:
        await cache.set("user:1", "a")
        assert await cache.get("user:1") == "a"
        assert await cache.get("user:2") is None
        assert await cache.multi_get(["user:1", "user:3"]) == ["a", None]

    asyncio.run(main())
    assert _req(name) == (2, 2)
    assert CACHES.stats(name).ops[("l1", "set")] == 1


def test_key_prefix_template() -> None:
    assert key_prefix("user:42:profile") == "user"
    assert key_prefix(b"session:x") == "session"
    assert key_prefix("plain") == "_"


def test_score_drops_when_hit_ratio_falls_below_its_baseline() -> None:
    name = _name()
    s = CACHES.stats(name)
    s.hit("l1", 90)
    s.miss("l1", 10)
    assert cache_score(s).value == 100  # first window sets the baseline
    s.hit("l1", 10)
    s.miss("l1", 90)
    score = cache_score(s)
    assert score.value < 70 and score.worst == "hit_ratio"
