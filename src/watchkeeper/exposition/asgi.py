"""An ASGI app serving /metrics that renders in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from ..metrics.registry import REGISTRY
from .negotiation import bake_output

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]
_ALLOW = [(b"allow", b"OPTIONS,GET,HEAD")]


async def _in_thread(func: Callable[[], Any]) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio through anyio)
        import anyio.to_thread

        return await anyio.to_thread.run_sync(func)
    return await asyncio.to_thread(func)


def make_asgi_app(registry: Any = REGISTRY, disable_compression: bool = False) -> ASGIApp:
    """Serve the registry on any path, as prometheus_client's app does: content negotiation
    on Accept, gzip on Accept-Encoding, ``?name[]=`` filtering."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        if method == "OPTIONS":
            await _respond(send, 200, list(_ALLOW), b"")
            return
        if method not in ("GET", "HEAD"):
            body = f"# HTTP 405 Method Not Allowed: {method}; use OPTIONS or GET\n".encode()
            await _respond(send, 405, list(_ALLOW), body)
            return
        request_headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in scope.get("headers", [])}
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers, body = await _in_thread(partial(
            bake_output, registry, request_headers.get("accept"),
            request_headers.get("accept-encoding"), params.get("name[]"), disable_compression))
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await _respond(send, 200, raw, b"" if method == "HEAD" else body)

    return app


async def _respond(send: Callable, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
