"""Live pushes: subscribe to PromQL expressions and health, over WebSocket or SSE.

WebSocket ``/api/v1/stream``: send ``{"queries": ["up", ...], "health": true,
"interval": 1000}`` (milliseconds, at least 100) at any time to (re)subscribe; every interval
the server sends ``{"type": "update", "time": ..., "queries": [{"query", "result"} |
{"query", "error"}], "health": {...}}``. SSE ``/api/v1/stream/sse?query=up&health=1
&interval=1000`` sends the same objects as ``data:`` events.

Why a hub: a thousand dashboards watching the same three expressions must not cost three
thousand evaluations a tick. Subscribers with the same interval share one ticker; each tick
evaluates every distinct expression once (in one worker thread), encodes each result to
JSON once, and hands every subscriber a message joined from those pieces (subscribers with
the same queries share the very same string). A subscriber that cannot keep up keeps only
the newest message: a slow reader never delays the tick or the other subscribers. On
uvicorn's WebSocket protocols an update is framed once (a server's frames are not masked)
and the same bytes are written to every subscriber's transport, which is what lets one
process feed a thousand dashboards ten times a second.
``time`` in an update is when its expressions were evaluated, so a reader can measure lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

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


class Subscriber:
    """One stream's subscription and its mailbox: replies (subscribed, errors) in order,
    then only the newest undelivered update."""

    __slots__ = ("busy", "control", "framing", "health", "interval", "pending", "queries",
                 "raw", "ready")

    def __init__(self, raw: Any = None, framing: Any = None) -> None:
        self.raw = raw  # the connection's transport, for updates framed once for everyone
        self.framing = framing  # text -> the bytes of one update on that transport
        self.busy = False  # the sender is writing a reply or an update
        self.queries: tuple[str, ...] = ()
        self.health = False
        self.interval = 1.0
        self.control: deque[str] = deque(maxlen=16)
        self.pending: str | None = None
        self.ready = asyncio.Event()

    def offer(self, message: str) -> bool:
        """Leave an update for the reader; False when it replaced one never read."""
        replaced = self.pending is not None
        self.pending = message
        self.ready.set()
        return not replaced

    def reply(self, message: str) -> None:
        self.control.append(message)
        self.ready.set()

    async def next(self) -> str:
        while not self.control and self.pending is None:
            self.ready.clear()
            await self.ready.wait()
        if self.control:
            return self.control.popleft()
        message, self.pending = self.pending, None
        return message


RAW_BUFFER_LIMIT = 1 << 20


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


class _Ticker:
    """The subscribers of one interval and the thread that evaluates for them.

    The thread sleeps to each tick itself and hands the encoded results to the event loop,
    which writes them out: one thread wake-up a tick rather than two round trips through
    the executor, which a busy machine delays the most."""

    def __init__(self, hub: Hub, interval: float) -> None:
        self.hub = hub
        self.interval = interval
        self.subscribers: set[Subscriber] = set()
        self.last: tuple[float, dict[str, Any]] | None = None  # (loop time, pieces)
        self._counts: dict[str, int] = {}
        self._health = 0
        self.wanted: tuple[list[str], bool] = ([], False)  # replaced whole, read by the thread
        self._stop = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._thread: threading.Thread | None = None

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        for q in set(sub.queries):
            self._counts[q] = self._counts.get(q, 0) + 1
        self._health += sub.health
        self.wanted = (sorted(self._counts), self._health > 0)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"watchkeeper-stream-{self.interval:g}s")
            self._thread.start()

    def discard(self, sub: Subscriber) -> None:
        if sub not in self.subscribers:
            return
        self.subscribers.discard(sub)
        for q in set(sub.queries):
            self._counts[q] -= 1
            if not self._counts[q]:
                del self._counts[q]
        self._health -= sub.health
        self.wanted = (sorted(self._counts), self._health > 0)
        if not self.subscribers:
            self._stop.set()

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            queries, health = self.wanted
            try:
                pieces = self.hub.evaluate(queries, health)
            except Exception:  # never let one bad tick end the stream for everyone
                pieces = None
            if pieces is not None:
                try:
                    self._loop.call_soon_threadsafe(self._deliver, pieces, len(queries))
                except RuntimeError:  # the loop is closed: the server is gone
                    return
            now = time.monotonic()
            next_tick += self.interval
            if now - next_tick > self.interval:  # over a tick behind: skip what is lost
                self.hub.ticks_skipped += int((now - next_tick) // self.interval)
                next_tick = now
            # a tick late by less than an interval runs at once, so a hiccup costs no update
            self._stop.wait(max(0.0, next_tick - now))

    def _deliver(self, pieces: dict[str, Any], evaluated: int) -> None:
        self.hub.ticks += 1
        self.hub.evaluations += evaluated
        self.last = (self._loop.time(), pieces)
        self.hub.fan_out(self.subscribers, pieces)


class Hub:
    """Every live subscription, grouped by interval; the figures of what it did."""

    def __init__(self, service: Any, engine: Any) -> None:
        self.service = service
        self.engine = engine
        self.tickers: dict[float, _Ticker] = {}
        self.evaluations = 0  # by the tickers: once per distinct expression a tick
        self.ticks = 0
        self.first_evaluations = 0  # for a new subscription the last tick did not cover
        self.ticks_skipped = 0
        self.messages = 0
        self.messages_dropped = 0  # replaced before a slow reader took them
        self.raw_writes = 0  # updates written as a frame built once for every WebSocket

    @property
    def subscribers(self) -> int:
        return sum(len(t.subscribers) for t in self.tickers.values())

    def subscribe(self, sub: Subscriber, queries: list[str], health: bool,
                  interval: float) -> None:
        self.unsubscribe(sub)
        sub.queries, sub.health, sub.interval = tuple(queries), health, interval
        if not (queries or health):
            return
        ticker = self.tickers.get(interval)
        if ticker is None:
            ticker = self.tickers[interval] = _Ticker(self, interval)
        ticker.add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        ticker = self.tickers.get(sub.interval)
        if ticker is None:
            return
        ticker.discard(sub)
        if not ticker.subscribers:
            del self.tickers[sub.interval]  # its thread ends at its next tick

    def evaluate(self, queries: list[str], health: bool) -> dict[str, Any]:
        """Each expression once, each result encoded once (a ticker's or a worker thread)."""
        from watchkeeper.promql.errors import PromQLError
        from watchkeeper.promql.formatting import result_to_api

        now = time.time()
        at_ms = int(now * 1000)
        encoded: dict[str, str] = {}
        for q in queries:
            try:
                part: dict[str, Any] = {"query": q,
                                        "result": result_to_api(self.engine.instant(q, at_ms))}
            except PromQLError as e:
                part = {"query": q, "error": str(e)}
            encoded[q] = json.dumps(part, separators=(",", ":"))
        out: dict[str, Any] = {"time": json.dumps(now), "queries": encoded}
        if health:
            out["health"] = json.dumps(
                {name: {"status": str(r.status), "details": r.details}
                 for name, r in self.service.runner.latest().items()}, separators=(",", ":"))
        return out

    @staticmethod
    def message(pieces: dict[str, Any], queries: tuple[str, ...], health: bool) -> str:
        body = ",".join(pieces["queries"][q] for q in queries)
        tail = f',"health":{pieces["health"]}' if health and "health" in pieces else ""
        return f'{{"type":"update","time":{pieces["time"]},"queries":[{body}]{tail}}}'

    def fan_out(self, subscribers: set[Subscriber], pieces: dict[str, Any]) -> None:
        built: dict[tuple[tuple[str, ...], bool], str] = {}
        framed: dict[tuple[tuple[str, ...], bool, Any], bytes] = {}
        for sub in list(subscribers):
            key = (sub.queries, sub.health)
            text = built.get(key)
            if text is None:
                text = built[key] = self.message(pieces, *key)
            self.messages += 1
            raw = sub.raw
            if raw is not None and not sub.busy and not sub.control and sub.pending is None:
                if raw.is_closing():
                    continue
                if raw.get_write_buffer_size() > RAW_BUFFER_LIMIT:
                    self.messages_dropped += 1  # a reader this far behind skips an update
                    continue
                fkey = (*key, sub.framing)
                frame = framed.get(fkey)
                if frame is None:
                    frame = framed[fkey] = sub.framing(text)
                raw.write(frame)
                self.raw_writes += 1
            elif not sub.offer(text):
                self.messages_dropped += 1

    async def first(self, sub: Subscriber) -> None:
        """An update soon after (re)subscribing: the last tick's when it covers this
        subscription; else, for an interval over a second, one evaluated for it alone
        (shorter intervals wait for their next tick rather than add work to it)."""
        ticker = self.tickers.get(sub.interval)
        last = ticker.last if ticker is not None else None
        if (last is not None and all(q in last[1]["queries"] for q in sub.queries)
                and (not sub.health or "health" in last[1])):
            sub.offer(self.message(last[1], sub.queries, sub.health))
        elif sub.interval > 1.0:
            wanted = list(dict.fromkeys(sub.queries))
            pieces = await asyncio.to_thread(self.evaluate, wanted, sub.health)
            self.first_evaluations += len(wanted)
            sub.offer(self.message(pieces, sub.queries, sub.health))


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
