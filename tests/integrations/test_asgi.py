import asyncio
import string

import httpx
import pytest
from fastapi import APIRouter, BackgroundTasks, FastAPI, WebSocket
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from watchkeeper.exposition import generate_openmetrics
from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
from watchkeeper.integrations.context import work_name
from watchkeeper.integrations.hooks import EXCEPTION_HOOKS
from watchkeeper.integrations.httpmetrics import METHODS
from watchkeeper.metrics import CollectorRegistry

DUR = "http_server_request_duration_seconds_count"


def run(app, *paths, root_path="", method="GET"):
    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False,
                                        root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.request(method, root_path + p) for p in paths]
    return asyncio.run(go())


def routes_of(reg, name=DUR):
    out = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name == name:
                key = (s.labels.get("http_route"), s.labels.get("http_response_status_code"))
                out[key] = out.get(key, 0) + s.value
    return out


def fastapi_app(reg, **kw):
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg, **kw)

    @app.get("/items/{item_id}")
    def item(item_id: int):
        return {"route": work_name()}

    return app


def test_route_template_not_path_and_unmatched_shared():
    reg = CollectorRegistry()
    app = fastapi_app(reg)
    r = run(app, "/items/1", "/items/2", *(f"/probe/{i}" for i in range(50)))
    assert r[0].json() == {"route": "/items/{item_id}"}
    seen = routes_of(reg)
    assert seen == {("/items/{item_id}", "200"): 2, ("_unmatched", "404"): 50}


def test_unmatched_can_be_dropped():
    reg = CollectorRegistry()
    run(fastapi_app(reg, unmatched=None), "/nope", "/items/3")
    assert routes_of(reg) == {("/items/{item_id}", "200"): 1}


def test_routing_matrix_full_templates():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg)
    v1 = APIRouter(prefix="/v1")

    @v1.get("/users/{uid}")
    def user(uid: int):
        return uid

    app.include_router(v1)
    sub = Starlette(routes=[Route("/x/{y}", lambda req: PlainTextResponse("x"))])
    app.mount("/sub", sub)
    late = APIRouter()  # routers added after the middleware

    @late.get("/late/{z}")
    def later(z: str):
        return z

    app.include_router(late, prefix="/p")
    app.mount("/static", lambda scope, receive, send: PlainTextResponse("s")(
        scope, receive, send))
    run(app, "/v1/users/7", "/sub/x/5", "/p/late/q", "/static/a/b.css")
    run(app, "/sub/x/9", "/p/late/r", root_path="/proxy")
    assert routes_of(reg) == {("/v1/users/{uid}", "200"): 1, ("/sub/x/{y}", "200"): 2,
                              ("/p/late/{z}", "200"): 2,
                              ("/static/{path:path}", "200"): 1}


def test_starlette_nested_mounts():
    reg = CollectorRegistry()
    inner = Starlette(routes=[Route("/leaf/{n}", lambda r: PlainTextResponse("l"))])
    app = Starlette(routes=[Mount("/a", routes=[Mount("/b", app=inner)])])
    app = HTTPMetricsMiddleware(app, registry=reg)
    run(app, "/a/b/leaf/1", "/a/b/leaf/2")
    assert routes_of(reg) == {("/a/b/leaf/{n}", "200"): 2}


def test_exception_is_500_with_type_reraised_and_hooked():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg)

    class PaymentError(Exception):
        pass

    @app.get("/pay/{n}")
    def pay(n: int):
        raise PaymentError("declined")

    seen = []
    hook = lambda exc, work: seen.append((type(exc).__name__, work.name))  # noqa: E731
    EXCEPTION_HOOKS.append(hook)
    try:
        with pytest.raises(PaymentError, match="declined"):
            TestClient(app).get("/pay/1")
    finally:
        EXCEPTION_HOOKS.remove(hook)
    assert seen == [("PaymentError", "/pay/{n}")]
    error = PaymentError.__module__ + "." + PaymentError.__qualname__
    assert reg.get_sample_value(DUR, {
        "http_request_method": "GET", "http_route": "/pay/{n}",
        "http_response_status_code": "500", "url_scheme": "http", "error_type": error}) == 1


def test_client_disconnect_is_499():
    reg = CollectorRegistry()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise asyncio.CancelledError  # what servers do when the client hangs up

    mw = HTTPMetricsMiddleware(app, registry=reg)

    async def go():
        async def receive():
            return {"type": "http.disconnect"}

        async def send(message):
            pass
        with pytest.raises(asyncio.CancelledError):
            await mw({"type": "http", "method": "GET", "path": "/s", "headers": []},
                     receive, send)
    asyncio.run(go())
    assert routes_of(reg) == {("_unmatched", "499"): 1}


def test_streaming_records_first_byte_and_full_duration_separately():
    reg = CollectorRegistry()

    async def slow():
        yield b"first"
        await asyncio.sleep(0.05)
        yield b"second"

    app = Starlette(routes=[Route("/stream", lambda r: StreamingResponse(slow()))])
    run(HTTPMetricsMiddleware(app, registry=reg), "/stream")
    labels = {"http_request_method": "GET", "http_route": "/stream"}
    ttfb = reg.get_sample_value("http_server_time_to_first_byte_seconds_sum", labels)
    full = reg.get_sample_value("http_server_request_duration_seconds_sum", {
        **labels, "http_response_status_code": "200", "url_scheme": "http", "error_type": ""})
    assert ttfb < 0.05 <= full
    size = reg.get_sample_value("http_server_response_body_size_bytes_sum",
                                {**labels, "http_response_status_code": "200"})
    assert size == len(b"firstsecond")


def test_background_tasks_are_not_request_time():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg)

    done = []

    async def slow_job():
        await asyncio.sleep(0.5)
        done.append(1)

    @app.get("/bg")
    async def bg(tasks: BackgroundTasks):
        tasks.add_task(slow_job)
        return "ok"

    run(app, "/bg")
    total = reg.get_sample_value("http_server_request_duration_seconds_sum", {
        "http_request_method": "GET", "http_route": "/bg",
        "http_response_status_code": "200", "url_scheme": "http", "error_type": ""})
    assert done == [1] and total < 0.5


def test_websocket_has_own_metrics_and_no_http_latency():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg)

    @app.websocket("/ws/{room}")
    async def ws(websocket: WebSocket, room: str):
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(text.upper())
        await websocket.close()

    with TestClient(app).websocket_connect("/ws/lobby") as conn:
        conn.send_text("hi")
        assert conn.receive_text() == "HI"
    assert routes_of(reg) == {}
    assert reg.get_sample_value("websocket_server_messages_total",
                                {"http_route": "/ws/{room}", "direction": "received"}) == 1
    assert reg.get_sample_value("websocket_server_messages_total",
                                {"http_route": "/ws/{room}", "direction": "sent"}) == 1
    assert reg.get_sample_value("websocket_server_active_connections",
                                {"http_route": "/ws/{room}"}) == 0
    assert reg.get_sample_value("websocket_server_connection_duration_seconds_count",
                                {"http_route": "/ws/{room}", "close_code": "1000"}) == 1


def test_unknown_methods_are_other_and_series_are_capped():
    reg = CollectorRegistry()
    app = fastapi_app(reg, max_series=3)
    run(app, "/items/1", method="BREW")
    run(app, *(f"/items/{i}" for i in range(5)))
    run(app, "/items/x", "/nope", *(f"/nope/{i}" for i in range(20)))  # 422, then 404s
    seen = routes_of(reg)
    assert len(seen) == 4 and seen[("__overflow__", "__overflow__")] == 21
    methods = {s.labels["http_request_method"] for f in reg.collect() for s in f.samples
               if s.name == DUR}
    assert "_OTHER" in methods and "BREW" not in methods
    assert reg.get_sample_value("watchkeeper_metric_label_sets_dropped_total",
                                {"metric": "http_server_request_duration_seconds"}) >= 1


def test_active_requests_counted_while_the_handler_runs():
    reg = CollectorRegistry()
    app = FastAPI()
    app.add_middleware(HTTPMetricsMiddleware, registry=reg)
    during = []

    @app.get("/slow/{n}")
    async def slow(n: int):
        during.append(reg.get_sample_value("http_server_active_requests", {
            "http_request_method": "GET", "http_route": "/slow/{n}"}))
        return n

    run(app, "/slow/1")
    assert during == [1]
    assert reg.get_sample_value("http_server_active_requests", {
        "http_request_method": "GET", "http_route": "/slow/{n}"}) == 0


def test_exemplar_with_active_span_in_openmetrics():
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("t")
    reg = CollectorRegistry()
    app = fastapi_app(reg)
    inner = app.build_middleware_stack()

    async def traced(scope, receive, send):
        with tracer.start_as_current_span("req") as span:
            traced.trace_id = format(span.get_span_context().trace_id, "032x")
            await inner(scope, receive, send)

    app.build_middleware_stack = lambda: traced
    app.middleware_stack = None
    run(app, "/items/1")
    text = generate_openmetrics(reg).decode()
    assert f'trace_id="{traced.trace_id}"' in text


def test_probes_and_ids_add_one_label_set_per_method_and_status():
    reg = CollectorRegistry()
    app = Starlette(routes=[Route("/users/{uid}", lambda r: PlainTextResponse("u"))])
    app = HTTPMetricsMiddleware(app, registry=reg)
    run(app, *(f"/wp-{i}.php" for i in range(2000)), *(f"/users/{i}" for i in range(10000)))
    assert routes_of(reg) == {("_unmatched", "404"): 2000, ("/users/{uid}", "200"): 10000}


@settings(max_examples=100, deadline=None)
@given(method=st.text(alphabet=string.ascii_letters + "-_", min_size=1, max_size=12),
       path=st.text(alphabet=string.printable, max_size=40),
       header=st.binary(max_size=30))
def test_fuzzed_requests_never_break_the_app_or_mint_series(method, path, header):
    reg = CollectorRegistry()
    app = Starlette(routes=[Route("/users/{uid}", lambda r: PlainTextResponse("u"))])
    app = HTTPMetricsMiddleware(app, registry=reg)

    async def go():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": method, "path": "/" + path, "root_path": "",
                 "headers": [(b"content-length", header), (b"x", header)],
                 "query_string": b"", "scheme": "http"}
        await app(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(go()) < 500
    labels = [s.labels for f in reg.collect() for s in f.samples if s.name == DUR]
    assert len(labels) == 1
    assert labels[0]["http_route"] in ("/users/{uid}", "_unmatched")
    assert labels[0]["http_request_method"] in METHODS | {"_OTHER"}
