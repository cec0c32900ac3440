"""Redis, memcached, the L1+L2 cache and Django's RedisCache against the real servers."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from tests.peers import free_port, require_binary, require_service

from watchkeeper.integrations.cache_clients import instrument_memcache, instrument_redis
from watchkeeper.integrations.cache_stats import CACHES
from watchkeeper.integrations.cache_tiered import TieredCache


def _name() -> str:
    return "c" + uuid.uuid4().hex[:8]


@pytest.fixture
def redis_url() -> str:
    host, port = require_service("redis")
    return f"redis://{host}:{port}/0"


@pytest.fixture(scope="module")
def memcached() -> Iterator[tuple[str, int]]:
    binary = require_binary("memcached")
    port = free_port()
    args = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16"]
    if os.geteuid() == 0:
        args += ["-u", "nobody"]  # memcached refuses to run as root otherwise
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_client_counts_hits_misses_by_prefix(redis_url: str) -> None:
    import redis

    name, tag = _name(), uuid.uuid4().hex[:6]
    client = instrument_redis(redis.Redis.from_url(redis_url), name=name)
    try:
        client.set(f"user{tag}:1", "a")
        assert client.get(f"user{tag}:1") == b"a"
        assert client.get(f"user{tag}:2") is None
        assert client.mget([f"user{tag}:1", f"sess{tag}:9"]) == [b"a", None]
        client.incr(f"n{tag}:c")
        client.delete(f"user{tag}:1", f"n{tag}:c")
        s = CACHES.stats(name)
        assert s.requests == {("redis", "hit"): 2, ("redis", "miss"): 2}
        assert s.prefixes[(f"user{tag}", "hit")] == 2
        assert s.prefixes[(f"sess{tag}", "miss")] == 1
        assert s.ops[("redis", "incr")] == 1 and s.ops[("redis", "delete")] == 1
    finally:
        client.close()


def test_redis_asyncio_client(redis_url: str) -> None:
    import redis.asyncio

    name, key = _name(), f"page:{uuid.uuid4().hex}"

    async def main() -> None:
        client = instrument_redis(redis.asyncio.Redis.from_url(redis_url), name=name)
        await client.set(key, "x")
        assert await client.get(key) == b"x"
        assert await client.get(key + "-") is None
        await client.delete(key)
        await client.aclose()

    asyncio.run(main())
    assert CACHES.stats(name).requests == {("redis", "hit"): 1, ("redis", "miss"): 1}


def test_memcached_client(memcached: tuple[str, int]) -> None:
    from pymemcache.client.base import Client

    name = _name()
    mc = instrument_memcache(Client(memcached), name=name)
    mc.set("user:1", b"a")
    assert mc.get("user:1") == b"a"
    assert mc.get("user:2") is None
    assert mc.get_many(["user:1", "cart:3"]) == {"user:1": b"a"}
    mc.set("n:1", b"1")
    mc.incr("n:1", 1)
    mc.delete("user:1")
    s = CACHES.stats(name)
    assert s.requests == {("memcached", "hit"): 2, ("memcached", "miss"): 2}
    assert s.prefixes[("cart", "miss")] == 1
    assert s.ops[("memcached", "incr")] == 1
    mc.close()


@pytest.mark.parametrize("codec", [None, "zlib", "zstd", "lz4"])
def test_tiered_cache_promotes_and_reports_tiers(redis_url: str, codec: str | None) -> None:
    import redis

    name = _name()
    client = redis.Redis.from_url(redis_url)
    cache = TieredCache(name, client, l1_maxsize=2, l1_ttl=60, ttl=60, codec=codec)
    try:
        value = {"text": "lorem ipsum " * 100}
        cache.set("a", value)
        assert cache.get("a") == value                      # L1 hit
        # a second process: its own L1 (and figures), the same L2
        other = TieredCache(name + "-2", client, l1_maxsize=2, codec=codec, prefix=f"{name}:")
        assert other.get("a") == value                      # L1 miss, L2 hit, promoted
        assert other.get("a") == value                      # now an L1 hit
        assert other.get("missing") is None                 # both miss
        cache.set("b", 1)
        cache.set("c", 2)                                   # evicts "a" from L1
        s, s2 = CACHES.stats(name), CACHES.stats(name + "-2")
        assert s.requests == {("l1", "hit"): 1}
        assert s2.requests[("l1", "hit")] == 1 and s2.requests[("l1", "miss")] == 2
        assert s2.requests[("l2", "hit")] == 1 and s2.requests[("l2", "miss")] == 1
        assert s2.promotions == 1 and s.evictions["l1"] == 1
        ratio = s.raw_bytes["l2"] / s.stored_bytes["l2"]
        assert ratio > 2 if codec else ratio == 1.0
        assert s.gauges["l1"]["size"]() == 2 and s.gauges["l1"]["bytes"]() > 0
    finally:
        client.delete(*(f"{name}:{k}" for k in "abc"))
        client.close()


def test_django_redis_cache_backend(redis_url: str) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(CACHES={})
        django.setup()
    from watchkeeper.integrations.cache_django import RedisCache

    name = _name()
    cache = RedisCache(redis_url, {"KEY_PREFIX": name, "WATCHKEEPER_NAME": name})
    cache.set("user:1", {"a": 1})
    assert cache.get("user:1") == {"a": 1}
    assert cache.get("user:2", "dflt") == "dflt"
    assert cache.get_many(["user:1", "cart:1"]) == {"user:1": {"a": 1}}
    cache.set("n:1", 1)
    cache.incr("n:1")
    cache.delete("user:1")
    cache.delete("n:1")
    s = CACHES.stats(name)
    assert s.requests == {("django", "hit"): 2, ("django", "miss"): 2}
    assert s.prefixes[("cart", "miss")] == 1 and s.ops[("django", "incr")] == 1


def test_zstd_codec_is_safe_across_threads():
    """zstandard's (de)compressors are not thread-safe; each thread must get its own."""
    import threading

    from watchkeeper.integrations.cache_tiered import _zstandard_per_thread

    compress, decompress = _zstandard_per_thread()
    bad: list[int] = []

    def work() -> None:
        for i in range(500):
            data = (b"value-%d" % i) * 50
            if decompress(compress(data)) != data:
                bad.append(i)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
