import asyncio
import pickle

import httpx
from fastapi import FastAPI

from watchkeeper.integrations.activity import (
    ActivityTracker,
    SlidingSketch,
    from_cookie,
    from_header,
    hash64,
)
from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
from watchkeeper.metrics import CollectorRegistry


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def test_a_million_users_within_two_percent_in_16_kib():
    sketch = SlidingSketch(3600)
    for i in range(1_000_000):
        sketch.add_hash(hash64(f"user-{i}"), 10.0)
    estimate = sketch.count(10.0)
    assert abs(estimate - 1_000_000) / 1_000_000 <= 0.02
    assert sketch.nbytes() <= 16 * 1024


def test_windows_slide_and_ids_are_never_kept():
    reg = CollectorRegistry()
    clock = Clock()
    tracker = ActivityTracker(registry=reg, clock=clock)
    for i in range(1000):
        tracker.see_user(f"alice-{i}@example.com")
    assert 980 <= reg.get_sample_value("http_active_users", {"window": "5m"}) <= 1020
    clock.now += 400  # past the 5m window, inside 1h
    tracker.see_user("bob")
    assert reg.get_sample_value("http_active_users", {"window": "5m"}) == 1
    assert 980 <= reg.get_sample_value("http_active_users", {"window": "1h"}) <= 1020
    clock.now += 90_000
    assert reg.get_sample_value("http_active_users", {"window": "24h"}) == 0
    assert b"alice" not in pickle.dumps([s._slots for _, s in tracker.windows])


def test_sessions_active_and_duration_when_they_time_out():
    reg = CollectorRegistry()
    clock = Clock()
    tracker = ActivityTracker(session_id=from_cookie("sid"), registry=reg, clock=clock,
                              session_timeout=600)
    scope = {"headers": [(b"cookie", b"sid=abc123; theme=dark")]}
    tracker.see(scope)
    clock.now += 120
    tracker.see(scope)
    tracker.see({"headers": [(b"cookie", b"sid=zzz")]})
    assert reg.get_sample_value("http_sessions_active") == 2
    assert all(b"abc123" not in key for key in tracker._sessions)
    clock.now += 1000
    assert reg.get_sample_value("http_sessions_active") == 0
    assert reg.get_sample_value("http_session_duration_seconds_count") == 2
    assert reg.get_sample_value("http_session_duration_seconds_sum") == 120


def test_middleware_feeds_users_from_a_header_never_as_a_label():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg, user_id=from_header("X-User"))

    @app.get("/")
    def root():
        return "ok"

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(50):
                await client.get("/", headers={"x-user": f"u{i % 10}"})
    asyncio.run(go())
    assert reg.get_sample_value("http_active_users", {"window": "5m"}) == 10
    text = "".join(str(s.labels) for f in reg.collect() for s in f.samples)
    assert "u1" not in text


def test_users_by_route_are_opt_in_and_capped():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg, user_id=from_header("X-User"),
                       users_by_route=True)

    @app.get("/orders/{order_id}")
    def order(order_id: int):
        return "ok"

    @app.get("/cart")
    def cart():
        return "ok"

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for i in range(40):
                await client.get(f"/orders/{i}", headers={"x-user": f"u{i % 8}"})
            for i in range(6):
                await client.get("/cart", headers={"x-user": f"u{i}"})
            await client.get("/nowhere", headers={"x-user": "probe"})
            await client.get("/cart")  # no user: not counted anywhere
    asyncio.run(go())
    by_route = {(s.labels["http_route"], s.labels["window"]): s.value
                for f in reg.collect() if f.name == "http_active_users_by_route"
                for s in f.samples}
    assert by_route[("/orders/{order_id}", "5m")] == 8
    assert by_route[("/cart", "1h")] == 6
    assert by_route[("_unmatched", "24h")] == 1  # a path no route matched: never raw
    assert reg.get_sample_value("http_active_users", {"window": "5m"}) == 9

    plain = CollectorRegistry()
    ActivityTracker(user_id=from_header("x-user"), registry=plain).see_route("/a", 1)
    assert all(f.name != "http_active_users_by_route" for f in plain.collect())


def test_routes_past_the_cap_share_other():
    reg = CollectorRegistry()
    tracker = ActivityTracker(user_id=from_header("x-user"), registry=reg, by_route=True,
                              max_routes=3, clock=Clock())
    for r in range(10):
        tracker.see_route(f"/r{r}", hash64(f"user-{r}"))
    routes = {s.labels["http_route"]: s.value for f in reg.collect()
              if f.name == "http_active_users_by_route" for s in f.samples
              if s.labels["window"] == "5m"}
    assert routes == {"/r0": 1, "/r1": 1, "/r2": 1, "_other": 7}
