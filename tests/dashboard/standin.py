"""The one route the page uses that this test server lacks: scrape targets, in Prometheus's
shape, with markup in a label value and an error message."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HOSTILE = "<img src=x onerror=window.__pwned=1>"


async def targets(request: Request) -> JSONResponse:
    return JSONResponse({"status": "success", "data": {"activeTargets": [
        {"labels": {"job": "node", "instance": "127.0.0.1:9100"}, "health": "up",
         "lastError": ""},
        {"labels": {"job": "api", "instance": HOSTILE}, "health": "down",
         "lastError": f"connection refused {HOSTILE}"}], "droppedTargets": []}})


def targets_routes() -> list[Any]:
    return [Route("/api/v1/targets", targets)]
