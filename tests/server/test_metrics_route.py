"""/metrics of the server is the latest collection, rendered once per format however many
scrapers ask."""

from __future__ import annotations

import asyncio
import gzip

import httpx

from watchkeeper.exposition import generate_latest, generate_openmetrics
from watchkeeper.metrics import Counter
from watchkeeper.metrics.registry import CollectorRegistry
from watchkeeper.server.metrics_route import CachedExposition


def _setup():
    registry = CollectorRegistry()
    hits = Counter("hits", "Hits.", ["route"], registry=registry)
    hits.labels("/a").inc()
    cache = CachedExposition(registry)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=cache), base_url="http://t",
                               headers={"Accept-Encoding": "identity"})
    return registry, hits, cache, client


def test_answers_from_the_collection_until_the_next_one() -> None:
    async def scenario() -> None:
        registry, hits, cache, client = _setup()
        async with client:
            # before the first collection: the live registry
            assert (await client.get("/metrics")).content == generate_latest(registry)
            cache.update(list(registry.collect()))
            first = generate_latest(registry)
            hits.labels("/a").inc(5)  # not collected yet
            bodies = await asyncio.gather(*(client.get("/metrics") for _ in range(20)))
            assert {b.content for b in bodies} == {first}
            assert cache.renders == 1
            assert bodies[0].headers["content-type"].startswith("text/plain; version=0.0.4")
            cache.update(list(registry.collect()))
            fresh = await client.get("/metrics")
            assert fresh.content == generate_latest(registry) != first
            assert b'hits_total{route="/a"} 6.0' in fresh.content
            assert cache.renders == 2

    asyncio.run(scenario())


def test_formats_compression_head_and_filters() -> None:
    async def scenario() -> None:
        registry, _, cache, client = _setup()
        Counter("other", "Other.", registry=registry).inc()
        cache.update(list(registry.collect()))
        async with client:
            om = await client.get("/metrics", headers={
                "Accept": "application/openmetrics-text; version=1.0.0"})
            assert om.content == generate_openmetrics(registry)
            assert om.headers["content-type"].startswith("application/openmetrics-text")
            zipped = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.content == generate_latest(registry)  # httpx inflates it
            head = await client.head("/metrics")
            assert head.status_code == 200 and head.content == b""
            assert int(head.headers["content-length"]) == len(generate_latest(registry))
            only = await client.get("/metrics", params={"name[]": "other_total"})
            assert b"other_total" in only.content and b"hits_total" not in only.content
            assert (await client.post("/metrics")).status_code == 405
        assert cache.renders == 3  # text, OpenMetrics, gzipped text

    asyncio.run(scenario())


def test_gzip_body_is_the_plain_body_compressed() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        registry, _, cache, _ = _setup()
        cache.update(list(registry.collect()))
        from watchkeeper.exposition.negotiation import choose_encoder

        encoder, _ = choose_encoder(None)
        return gzip.decompress(await cache.body(encoder, True)), generate_latest(registry)

    unzipped, plain = asyncio.run(scenario())
    assert unzipped == plain
