"""Litestar: the route label is the template Litestar matched (``scope["path_template"]``,
router prefixes included), whether the middleware is Litestar's own or wraps the app."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
from watchkeeper.metrics import CollectorRegistry

litestar = pytest.importorskip("litestar")
try:  # the explicit spelling of a path parameter (newer Litestar deprecates the inferred one)
    from litestar.params import FromPath

    OrderId = FromPath[int]
except ImportError:
    OrderId = int


def run(app, *paths):
    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get(p) for p in paths]
    return asyncio.run(go())


def routes_of(reg):
    out = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name == "http_server_request_duration_seconds_count":
                key = (s.labels["http_route"], s.labels["http_response_status_code"])
                out[key] = out.get(key, 0) + s.value
    return out


def make_app(reg, inside: bool):
    from litestar import Litestar, Router, get
    from litestar.middleware import DefineMiddleware

    @get("/orders/{order_id:int}")
    async def order(order_id: OrderId) -> dict[str, int]:
        return {"id": order_id}

    @get("/health", sync_to_thread=False)
    def health() -> str:
        return "ok"

    api = Router(path="/api/v1", route_handlers=[order])
    middleware = [DefineMiddleware(HTTPMetricsMiddleware, registry=reg)] if inside else []
    app = Litestar(route_handlers=[api, health], middleware=middleware)
    return app if inside else HTTPMetricsMiddleware(app, registry=reg)


@pytest.mark.parametrize("inside", [True, False], ids=["litestar-middleware", "wrapping"])
def test_litestar_routes_are_their_templates(inside):
    reg = CollectorRegistry()
    answers = run(make_app(reg, inside), "/api/v1/orders/1", "/api/v1/orders/2", "/health",
                  *(f"/wp-{i}.php" for i in range(20)))
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    expected = {("/api/v1/orders/{order_id}", "200"): 2, ("/health", "200"): 1}
    if not inside:  # Litestar runs its own middleware only for a route it matched
        expected[("_unmatched", "404")] = 20
    assert routes_of(reg) == expected


def test_a_litestar_handler_error_keeps_its_type_and_is_captured_once():
    from litestar import Litestar, get
    from litestar.exceptions import NotFoundException

    from watchkeeper.integrations.asgi import litestar_after_exception
    from watchkeeper.integrations.hooks import EXCEPTION_HOOKS

    @get("/pay/{order_id:int}")
    async def pay(order_id: OrderId) -> None:
        if order_id == 0:
            raise NotFoundException("no such order")
        raise ZeroDivisionError("card declined")

    reg = CollectorRegistry()
    seen = []

    def hook(exc, work):
        seen.append((type(exc).__name__, work.name))

    app = HTTPMetricsMiddleware(Litestar(route_handlers=[pay],
                                         after_exception=[litestar_after_exception]),
                                registry=reg)
    EXCEPTION_HOOKS.insert(0, hook)
    try:
        answers = run(app, "/pay/1", "/pay/0")
    finally:
        EXCEPTION_HOOKS.remove(hook)
    assert [a.status_code for a in answers] == [500, 404]
    assert seen == [("ZeroDivisionError", "/pay/{order_id}")]  # a 404 is not an error
    errors = {(s.labels["http_response_status_code"], s.labels["error_type"])
              for f in reg.collect() for s in f.samples
              if s.name == "http_server_request_duration_seconds_count"}
    assert errors == {("500", "ZeroDivisionError"), ("404", "")}
