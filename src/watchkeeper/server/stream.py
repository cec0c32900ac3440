"""Live pushes: subscribe to PromQL expressions and health, over WebSocket or SSE.

WebSocket ``/api/v1/stream``: send ``{"queries": ["up", ...], "health": true,
"interval": 1000}`` (milliseconds, at least 100) at any time to (re)subscribe; every interval
the server sends ``{"type": "update", "time": ..., "queries": [{"query", "result"} |
{"query", "error"}], "health": {...}}``. SSE ``/api/v1/stream/sse?query=up&health=1
&interval=1000`` sends the same objects as ``data:`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
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
    if interval < MIN_INTERVAL_MS:
        raise SubscriptionError(f"'interval' must be at least {MIN_INTERVAL_MS} ms")
    return queries, bool(data.get("health", False)), interval / 1000


class Streamer:
    def __init__(self, service: Any, engine: Any) -> None:
        self.service = service
        self.engine = engine

    def snapshot(self, queries: list[str], health: bool) -> dict[str, Any]:
        from watchkeeper.promql.errors import PromQLError
        from watchkeeper.promql.formatting import result_to_api

        now = time.time()
        out: dict[str, Any] = {"type": "update", "time": now, "queries": []}
        for q in queries:
            try:
                result = result_to_api(self.engine.instant(q, int(now * 1000)))
                out["queries"].append({"query": q, "result": result})
            except PromQLError as e:
                out["queries"].append({"query": q, "error": str(e)})
        if health:
            out["health"] = {name: {"status": str(r.status), "details": r.details}
                             for name, r in self.service.runner.latest().items()}
        return out

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        queries: list[str] = []
        health, interval = False, 1.0
        receiver = asyncio.create_task(ws.receive_text())
        try:
            while True:
                ticker = asyncio.create_task(asyncio.sleep(interval))
                done, _ = await asyncio.wait({receiver, ticker},
                                             return_when=asyncio.FIRST_COMPLETED)
                if receiver in done:
                    ticker.cancel()
                    try:
                        text = receiver.result()
                    except (WebSocketDisconnect, RuntimeError):
                        return
                    receiver = asyncio.create_task(ws.receive_text())
                    try:
                        data = json.loads(text)
                        if not isinstance(data, dict):
                            raise SubscriptionError("expected a JSON object")
                        queries, health, interval = parse_subscription(data)
                    except (ValueError, SubscriptionError) as e:
                        await ws.send_json({"type": "error", "error": str(e)})
                        continue
                    await ws.send_json({"type": "subscribed", "queries": queries,
                                        "health": health, "interval": interval * 1000})
                if queries or health:
                    snap = await asyncio.to_thread(self.snapshot, queries, health)
                    await ws.send_json(snap)
        except WebSocketDisconnect:
            return
        finally:
            receiver.cancel()
            with contextlib.suppress(BaseException):
                await receiver

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

        async def events() -> AsyncIterator[str]:
            while not await request.is_disconnected():
                snap = await asyncio.to_thread(self.snapshot, queries, health)
                yield f"data: {json.dumps(snap)}\n\n"
                await asyncio.sleep(interval)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
