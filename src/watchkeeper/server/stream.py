"""Live pushes: subscribe to PromQL expressions and health, over WebSocket or SSE.

WebSocket ``/api/v1/stream``: send ``{"queries": ["up", ...], "health": true,
"interval": 1000}`` (milliseconds, at least 100) at any time to (re)subscribe; every interval
the server sends ``{"type": "update", "time": ..., "queries": [{"query", "result"} |
{"query", "error"}], "health": {...}}``. SSE ``/api/v1/stream/sse?query=up&health=1
&interval=1000`` sends the same objects as ``data:`` events.

Every connection is a ``Subscriber`` of the streamer's ``Hub`` (``stream_hub``), which
evaluates each expression once a tick for all of them. On uvicorn's WebSocket protocols
(and its chunked HTTP/1.1 responses, for SSE) the connection's transport is found here and
given the framing of its updates, so the hub frames an update once (a server's frames are
not masked) and writes the same bytes to every such transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from .stream_hub import Hub, Subscriber

MIN_INTERVAL_MS = 100
MAX_QUERIES = 50


class SubscriptionError(ValueError):
    pass


def parse_subscription(data: dict[str, Any]) -> tuple[list[str], bool, float]:
    queries = data.get("queries", [])
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise SubscriptionError("'queries' must be a list of PromQL expressions")
    if len(queries) > MAX_QUERIES:
        raise SubscriptionError(f"at most {MAX_QUERIES} queries per stream")
    try:
        interval = float(data.get("interval", 1000))
    except (TypeError, ValueError):
        raise SubscriptionError("'interval' must be a number of milliseconds") from None
    if not interval >= MIN_INTERVAL_MS:  # also refuses NaN
        raise SubscriptionError(f"'interval' must be at least {MIN_INTERVAL_MS} ms")
    return queries, bool(data.get("health", False)), min(interval, 86_400_000.0) / 1000


def text_frame(text: str) -> bytes:
    """One unfragmented, unmasked, uncompressed RFC 6455 text frame (a server's frames are
    never masked, so every subscriber of the same message gets the same bytes; a message
    without RSV1 is valid under permessage-deflate too)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + data


def sse_chunk(text: str) -> bytes:
    """One event as one HTTP/1.1 chunk."""
    data = b"data: " + text.encode() + b"\n\n"
    return b"%x\r\n%b\r\n" % (len(data), data)


def chunked_transport(request: Request) -> Any:
    """The transport of a streamed HTTP/1.1 response whose body uvicorn sends chunked (h11
    or httptools), else None."""
    cycle = getattr(request.receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if (not type(cycle).__module__.startswith("uvicorn.protocols.http")
            or not hasattr(transport, "get_write_buffer_size")):
        return None
    conn = getattr(cycle, "conn", None)  # h11
    chunked = (getattr(cycle, "chunked_encoding", None) is True
               or type(getattr(conn, "_writer", None)).__name__ == "ChunkedWriter")
    return transport if chunked else None


def raw_transport(ws: WebSocket) -> Any:
    """The connection's transport when the server is uvicorn's websockets protocol (its
    frames are plain RFC 6455 on that transport), else None: updates go through send.
    Middleware wraps ``send`` but passes ``receive`` on, so the protocol is found there."""
    for channel in (getattr(ws, "_receive", None), getattr(ws, "_send", None)):
        proto = getattr(channel, "__self__", None)
        module = type(proto).__module__
        transport = getattr(proto, "transport", None)
        if (module.startswith("uvicorn.protocols.websockets.websockets")
                and hasattr(transport, "get_write_buffer_size")):
            return transport
    return None


class Streamer:
    def __init__(self, service: Any, engine: Any) -> None:
        self.service = service
        self.engine = engine
        self.hub = Hub(service, engine)

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        sub = Subscriber(raw_transport(ws), text_frame)
        sender = asyncio.ensure_future(self._send_updates(ws, sub))
        try:
            while True:
                try:
                    text = await ws.receive_text()
                except (WebSocketDisconnect, RuntimeError, KeyError):
                    return
                try:
                    data = json.loads(text)
                    if not isinstance(data, dict):
                        raise SubscriptionError("expected a JSON object")
                    queries, health, interval = parse_subscription(data)
                except (ValueError, SubscriptionError) as e:
                    sub.reply(json.dumps({"type": "error", "error": str(e)}))
                    continue
                self.hub.subscribe(sub, queries, health, interval)
                sub.reply(json.dumps({"type": "subscribed", "queries": queries,
                                      "health": health, "interval": interval * 1000}))
                if queries or health:
                    await self.hub.first(sub)
        finally:
            self.hub.unsubscribe(sub)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender

    @staticmethod
    async def _send_updates(ws: WebSocket, sub: Subscriber) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                message = await sub.next()
                sub.busy = True
                try:
                    await ws.send_text(message)
                finally:
                    sub.busy = False

    async def sse(self, request: Request) -> Any:
        params = request.query_params
        try:
            queries, health, interval = parse_subscription({
                "queries": params.getlist("query"),
                "health": params.get("health", "") not in ("", "0", "false"),
                "interval": params.get("interval", "1000")})
        except SubscriptionError as e:
            return JSONResponse({"status": "error", "errorType": "bad_data", "error": str(e)},
                                status_code=400)
        hub = self.hub

        async def events() -> AsyncIterator[str]:
            sub = Subscriber()
            hub.subscribe(sub, queries, health, interval)
            try:
                yield ": subscribed\n\n"  # an SSE comment: the headers are out after it
                sub.raw, sub.framing = chunked_transport(request), sse_chunk
                if queries or health:
                    await hub.first(sub)
                while True:
                    message = await sub.next()
                    sub.busy = True
                    yield f"data: {message}\n\n"
                    sub.busy = False
            finally:
                hub.unsubscribe(sub)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
