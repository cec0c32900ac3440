"""Web instrumentation cost: what each middleware adds per request, anchors in the same run.

In-process ASGI and WSGI calls (no sockets) on a one-route FastAPI app, at the 200th route
of a 200-route app, and on Flask; outgoing HTTP over real loopback sockets with httpx.
Goals (issue 17): FastAPI added cost <= 10 us, <= 0.25 x prometheus-fastapi-instrumentator's,
<= 0.1 x OpenTelemetry's metrics-only instrumentation; 200th route <= 1.5 x one route; Flask
<= 0.5 x prometheus_flask_exporter's; outgoing <= 5 us over bare httpx and <= 0.25 x
OpenTelemetry's httpx instrumentation.

Added cost = the fastest round of the instrumented app minus the fastest round of the bare one,
the variants taking turns in every round. Times are process CPU time, so other processes on a
busy machine count less (the loopback server's thread is in this process, the same for every
variant). The outgoing figure is also taken over httpx's in-memory MockTransport, where the
socket's noise (tens of microseconds) cannot hide a few microseconds of added work. The
200th-route against one-route check times ours and bare alone, in many short rounds.
Ratios (ours/anchor, <= goal meets it) are printed last.
Rounds are short (about --round-ms of bare requests, a few hundred of them), so that the
fastest is one that no other process preempted. On a busy machine the minimum of a request
of 200-400 us (the 200th route, a loopback socket) still moves by tens of us between runs:
there the Python call counts and the in-memory httpx figure are the ones to read.
Run: .venv/bin/python bench/web.py [--round-ms 1.5] [--rounds 400]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from time import process_time as perf_counter  # CPU time: robust on a loaded machine
from typing import Any

import prometheus_client

from watchkeeper.metrics import CollectorRegistry

# -- ASGI -------------------------------------------------------------------------------------


def fastapi_app(routes: int) -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    for i in range(routes):
        async def endpoint(item_id: int) -> dict[str, int]:
            return {"id": item_id}
        app.add_api_route(f"/r{i}/items/{{item_id}}", endpoint, methods=["GET"])
    return app


def asgi_variants(routes: int) -> dict[str, Any]:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.trace import NoOpTracerProvider
    from prometheus_fastapi_instrumentator import Instrumentator

    from watchkeeper.integrations.asgi import HTTPMetricsMiddleware

    bare = fastapi_app(routes)
    ours = fastapi_app(routes)
    ours.add_middleware(HTTPMetricsMiddleware, registry=CollectorRegistry())
    pfi = fastapi_app(routes)
    Instrumentator(registry=prometheus_client.CollectorRegistry()).instrument(pfi)
    otel = fastapi_app(routes)
    FastAPIInstrumentor.instrument_app(otel, meter_provider=MeterProvider(),
                                       tracer_provider=NoOpTracerProvider())
    return {"bare": bare, "ours": ours, "pfi": pfi, "otel": otel}


def asgi_timer(app: Any, path: str, n: int) -> Callable[[], float]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench")]
    request = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: dict[str, Any]) -> None:
        pass

    async def run() -> float:
        start = perf_counter()
        for _ in range(n):
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
                     "query_string": b"", "root_path": "", "headers": headers,
                     "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
            await app(scope, receive, send)
        return (perf_counter() - start) / n

    loop = asyncio.new_event_loop()
    return lambda: loop.run_until_complete(run())


# -- WSGI -------------------------------------------------------------------------------------


def flask_variants() -> dict[str, Any]:
    from flask import Flask
    from prometheus_flask_exporter import PrometheusMetrics

    from watchkeeper.integrations.flask import HTTPMetrics

    def make() -> Any:
        app = Flask("bench")

        @app.get("/items/<int:item_id>")
        def item(item_id: int) -> str:
            return "ok"
        return app

    bare, ours, pfe = make(), make(), make()
    HTTPMetrics(ours, registry=CollectorRegistry())
    PrometheusMetrics(pfe, registry=prometheus_client.CollectorRegistry())
    return {"bare": bare, "ours": ours, "pfe": pfe}


def wsgi_timer(app: Any, path: str, n: int) -> Callable[[], float]:
    from werkzeug.test import EnvironBuilder

    template = EnvironBuilder(path=path).get_environ()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        pass

    def run() -> float:
        start = perf_counter()
        for _ in range(n):
            result = app(dict(template), start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (perf_counter() - start) / n
    return run


# -- outgoing ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body meet the 40 ms delayed ACK

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def client_variants(url: str, in_memory: bool = False) -> dict[str, Any]:
    """Bare, ours and OpenTelemetry's httpx clients; ``in_memory``: over MockTransport."""
    import httpx
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    from watchkeeper.integrations.httpclient import instrument_httpx

    def client() -> Any:
        if in_memory:
            return httpx.Client(transport=httpx.MockTransport(
                lambda request: httpx.Response(200, content=b"ok")))
        return httpx.Client()

    bare = client()
    ours = instrument_httpx(client(), registry=CollectorRegistry())
    otel = client()
    HTTPXClientInstrumentor.instrument_client(otel, meter_provider=MeterProvider(),
                                              tracer_provider=NoOpTracerProvider())
    return {"bare": bare, "ours": ours, "otel": otel}


def client_timer(client: Any, url: str, n: int) -> Callable[[], float]:
    def run() -> float:
        start = perf_counter()
        for _ in range(n):
            client.get(url)
        return (perf_counter() - start) / n
    return run


# -- driver -----------------------------------------------------------------------------------


def measure(timers: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Added cost per variant in seconds: its fastest round minus bare's fastest round.
    The variants take turns in every round, and on a busy machine the fastest of many
    rounds is the one least disturbed, for every variant alike."""
    for timer in timers.values():
        timer()  # warm up: imports, lazy stacks, first label sets
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer())
    result = {name: best[name] - best["bare"] for name in timers if name != "bare"}
    result["bare"] = best["bare"]
    return result


def calls_per_request(timer: Callable[[], float], n: int) -> float:
    """Python-level calls one request makes: a count, immune to a busy machine's noise."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    timer()
    profile.disable()
    return sum(v[1] for v in pstats.Stats(profile).stats.values()) / n  # type: ignore[attr-defined]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.2f} us"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--round-ms", type=float, default=1.5,
                        help="length of one round of bare requests (short rounds: the "
                             "fastest is one no other process preempted)")
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    target, rounds = args.round_ms / 1000, args.rounds

    def sized(make: Callable[[int], Callable[[], float]]) -> int:
        """Requests per round so that a bare round lasts about ``--round-ms``."""
        probe = make(20)
        probe()
        return max(1, round(target / min(probe() for _ in range(5))))

    one = asgi_variants(1)
    n = sized(lambda k: asgi_timer(one["bare"], "/r0/items/7", k))
    one_r = measure({k: asgi_timer(a, "/r0/items/7", n) for k, a in one.items()}, rounds)
    many = asgi_variants(200)
    n200 = sized(lambda k: asgi_timer(many["bare"], "/r199/items/7", k))
    many_r = measure({k: asgi_timer(a, "/r199/items/7", n200) for k, a in many.items()},
                     rounds)
    # ours alone against bare: the 200th-route figure is a few us on a 240 us request,
    # which the anchors' heavier rounds in between would disturb
    pair = {}
    for routes, variants, size in ((1, one, n), (200, many, n200)):
        path = f"/r{routes - 1}/items/7"
        pair[routes] = measure({k: asgi_timer(variants[k], path, size)
                                for k in ("bare", "ours")}, rounds * 2)
    calls_n = 100
    calls = {}
    for routes, variants in ((1, one), (200, many)):
        path = f"/r{routes - 1}/items/7"
        counts = {k: calls_per_request(asgi_timer(a, path, calls_n), calls_n)
                  for k, a in variants.items()}
        calls[routes] = {k: c - counts["bare"] for k, c in counts.items() if k != "bare"}
    flask = flask_variants()
    nf = sized(lambda k: wsgi_timer(flask["bare"].wsgi_app, "/items/7", k))
    flask_r = measure({k: wsgi_timer(a.wsgi_app, "/items/7", nf) for k, a in flask.items()},
                      rounds)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        clients = client_variants(url)
        nc = sized(lambda k: client_timer(clients["bare"], url, k))
        out_r = measure({k: client_timer(c, url, nc) for k, c in clients.items()}, rounds)
        out_counts = {k: calls_per_request(client_timer(c, url, calls_n), calls_n)
                      for k, c in clients.items()}
        out_calls = {k: c - out_counts["bare"] for k, c in out_counts.items()}
    finally:
        server.shutdown()
        server.server_close()
    memory = client_variants("http://bench.test/", in_memory=True)
    nm = sized(lambda k: client_timer(memory["bare"], "http://bench.test/", k))
    mem_r = measure({k: client_timer(c, "http://bench.test/", nm) for k, c in
                     memory.items()}, rounds)

    print("FastAPI, one route (bare request", us(one_r["bare"]) + ")")
    for name in ("ours", "pfi", "otel"):
        print(f"  added by {name:5}", us(one_r[name]))
    print("FastAPI, 200th of 200 routes (bare request", us(many_r["bare"]) + ")")
    for name in ("ours", "pfi", "otel"):
        print(f"  added by {name:5}", us(many_r[name]))
    print("FastAPI, ours alone against bare, short rounds")
    for routes in (1, 200):
        print(f"  route {routes:3} of {routes:3}: added", us(pair[routes]["ours"]),
              f"(bare request {us(pair[routes]['bare']).strip()})")
    print("FastAPI, Python calls added per request (a count: no timing noise)")
    for name in ("ours", "pfi", "otel"):
        print(f"  {name:5} one route {calls[1][name]:7.1f}   200th route {calls[200][name]:7.1f}")
    print("Flask (bare request", us(flask_r["bare"]) + ")")
    for name in ("ours", "pfe"):
        print(f"  added by {name:5}", us(flask_r[name]))
    print("httpx to loopback (bare request", us(out_r["bare"]) + ")")
    for name in ("ours", "otel"):
        print(f"  added by {name:5}", us(out_r[name]), f"  ({out_calls[name]:.1f} Python calls)")
    print("httpx over its in-memory MockTransport (bare request", us(mem_r["bare"]) + ")")
    for name in ("ours", "otel"):
        print(f"  added by {name:5}", us(mem_r[name]))
    print()
    print("ratios (ours/anchor; goal in brackets)")
    rows = [
        ("fastapi added / 10 us", one_r["ours"] / 10e-6, 1.0),
        ("fastapi ours / pfi", one_r["ours"] / one_r["pfi"], 0.25),
        ("fastapi ours / otel", one_r["ours"] / one_r["otel"], 0.1),
        ("200th route / one route (time)", pair[200]["ours"] / pair[1]["ours"], 1.5),
        ("200th route / one route (calls)", calls[200]["ours"] / calls[1]["ours"], 1.5),
        ("flask ours / prometheus_flask_exporter", flask_r["ours"] / flask_r["pfe"], 0.5),
        ("httpx added / 5 us", out_r["ours"] / 5e-6, 1.0),
        ("httpx ours / otel", out_r["ours"] / out_r["otel"], 0.25),
        ("httpx ours / otel (calls)", out_calls["ours"] / out_calls["otel"], 0.25),
        ("httpx in memory added / 5 us", mem_r["ours"] / 5e-6, 1.0),
        ("httpx in memory ours / otel", mem_r["ours"] / mem_r["otel"], 0.25),
    ]
    for label, ratio, goal in rows:
        print(f"  {label:42} {ratio:6.3f}  [<= {goal}]")


if __name__ == "__main__":
    main()
