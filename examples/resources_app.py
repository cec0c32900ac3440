"""An instrumented FastAPI service: a SQLAlchemy pool on PostgreSQL, a two-tier cache on
Redis and a circuit breaker around a flaky dependency, with /metrics and the resource
endpoints mounted.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
        uvicorn examples.resources_app:app --port 8000

    curl localhost:8000/products/7            # pool + cache
    curl localhost:8000/quote                 # breaker (fails one call in three)
    curl localhost:8000/health/performance    # scores and their worst contributors
    curl localhost:8000/metrics/database      # also /metrics/cache, /metrics/circuit-breaker

Point ``watchkeeper serve`` at ``localhost:8000/metrics`` and open the Resources dashboard.
"""

from __future__ import annotations

import itertools
import os

import redis
from fastapi import FastAPI, HTTPException
from sqlalchemy import create_engine, text
from starlette.routing import Route

import watchkeeper

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

engine = create_engine(DATABASE_URL, pool_size=5, max_overflow=5, pool_timeout=2)
watchkeeper.instrument_pool(engine, name="main", leak_seconds=30)
cache = watchkeeper.TieredCache("products", redis.Redis.from_url(REDIS_URL), l1_maxsize=100,
                                l1_ttl=5, ttl=60, codec="zlib")
_calls = itertools.count()


@watchkeeper.circuit_breaker(name="pricing", failure_threshold=3, open_seconds=5,
                             fallback=lambda: {"price": None, "source": "fallback"})
def quote_from_pricing() -> dict:
    if next(_calls) % 3 == 2:
        raise ConnectionError("pricing service unavailable")
    return {"price": 42.0, "source": "pricing"}


class Exposition:
    """/metrics as an exact route (an ASGI app object, not a mount that would take
    /metrics/database too)."""

    def __init__(self) -> None:
        self.app = watchkeeper.make_asgi_app()

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        await self.app(scope, receive, send)


app = FastAPI()
app.add_middleware(watchkeeper.HTTPMetricsMiddleware)  # latency by route; sets the route
app.router.routes.append(Route("/metrics", Exposition()))  # that pool hold times carry


@app.get("/products/{product_id}")
def product(product_id: int) -> dict:
    def load() -> dict:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT :id AS id, md5(CAST(:id AS text)) AS name"),
                               {"id": product_id}).one()
        return {"id": row.id, "name": row.name}

    return cache.get_or_set(f"product:{product_id}", load)


@app.get("/quote")
def quote() -> dict:
    try:
        return quote_from_pricing()
    except watchkeeper.CircuitOpenError as e:
        raise HTTPException(503, str(e)) from e


# /health/performance, /metrics/database, /metrics/cache, /metrics/circuit-breaker
app.mount("/", watchkeeper.resources_asgi_app())
