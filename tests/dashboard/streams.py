"""The server's live streams (WebSocket and SSE) over a store and a health runner, mounted
as `watchkeeper serve` mounts them, for a preview app to serve."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def stream_routes(store: Any, runner: Any) -> list[Any]:
    from starlette.routing import Route, WebSocketRoute

    from watchkeeper.promql.engine import Engine
    from watchkeeper.server.stream import Streamer

    streamer = Streamer(SimpleNamespace(runner=runner), Engine(store))
    return [WebSocketRoute("/api/v1/stream", streamer.websocket),
            Route("/api/v1/stream/sse", streamer.sse)]
