"""Every panel of a dashboard in one request: ``GET /dashboards/{id}/query?start=&end=&step=``.

A browser opens at most six connections to a server, so twelve charts asking one query each
wait on each other and on a request parser per query. Here each panel's query is handed to
the server's own ``/api/v1/query_range`` (``/api/v1/query`` at ``end`` for stat panels and
for each column of a table)
in-process and all of them run at once, so every answer is exactly what that endpoint says,
errors included, and the page pays one round trip. The body is
``{"status": "success", "data": [<each panel's Prometheus response>, ...]}`` in panel order
(as Grafana's ``/api/ds/query`` batches a dashboard's queries).
"""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any
from urllib.parse import urlencode

from .panels import Dashboard, Panel

_HEADERS = {"cache-control": "no-store", "vary": "accept-encoding"}
_GZIP_FROM_BYTES = 1024  # smaller answers gain nothing from compression


def _error(message: str, error_type: str = "bad_data") -> bytes:
    return json.dumps({"status": "error", "errorType": error_type, "error": message},
                      separators=(",", ":")).encode()


def panel_request(panel: Panel, start: str, end: str, step: str) -> tuple[str, bytes]:
    """The Prometheus API path and query string that answer one panel (a table's first
    column; :func:`panel_answer` asks for the others)."""
    if panel.kind in ("stat", "table"):
        return "/api/v1/query", urlencode({"query": panel.expr, "time": end}).encode()
    return "/api/v1/query_range", urlencode(
        {"query": panel.expr, "start": start, "end": end, "step": step}).encode()


async def _dispatch(router: Any, parent: dict[str, Any], path: str, query: bytes) -> bytes:
    """One GET through the enclosing app's router; its body, or an error body."""
    from starlette.exceptions import HTTPException

    scope = {key: parent[key] for key in ("asgi", "http_version", "scheme", "server",
                                          "client", "state", "app") if key in parent}
    scope.update(type="http", method="GET", path=path, raw_path=path.encode(),
                 root_path="", query_string=query, headers=[])
    status, kind = 500, b""
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, kind
        if message["type"] == "http.response.start":
            status = message["status"]
            kind = dict(message.get("headers") or []).get(b"content-type", b"")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await router(scope, receive, send)
    except HTTPException as e:  # the router's own 404/405
        status = e.status_code
    except Exception as e:  # the endpoint's failure, kept to this panel
        return _error(f"{path}: {e}", "internal")
    body = b"".join(chunks)
    if status in (404, 405):
        return _error(f"{path} is not served here", "not_found")
    if not kind.startswith(b"application/json") or not body:
        return _error(f"{path}: HTTP {status}", "internal")
    return body


async def panel_answer(panel: Panel, router: Any, parent: dict[str, Any], start: str,
                       end: str, step: str) -> bytes:
    """One panel's answer. A table's is ``{"status": "success", "data": {"resultType":
    "table", "columns": [<each column's /api/v1/query response at end>, ...]}}``."""
    if panel.kind != "table":
        return await _dispatch(router, parent, *panel_request(panel, start, end, step))
    bodies = await asyncio.gather(*(
        _dispatch(router, parent, "/api/v1/query",
                  urlencode({"query": column.expr, "time": end}).encode())
        for column in panel.columns))
    return (b'{"status":"success","data":{"resultType":"table","columns":['
            + b",".join(bodies) + b"]}}")


async def dashboard_query(dashboard: Dashboard, router: Any, parent: dict[str, Any],
                          params: dict[str, str]) -> tuple[int, bytes]:
    """(status, JSON body) for all of ``dashboard``'s panels over one time range."""
    missing = [p for p in ("start", "end", "step") if not params.get(p)]
    if missing:
        return 400, _error(f"missing parameter(s): {', '.join(missing)}")
    start, end, step = params["start"], params["end"], params["step"]
    bodies = await asyncio.gather(*(panel_answer(panel, router, parent, start, end, step)
                                    for panel in dashboard.panels()))
    # each body is already JSON: joined, not decoded and encoded again
    return 200, b'{"status":"success","data":[' + b",".join(bodies) + b"]}"


def query_route(dashboards: list[Dashboard]) -> Any:
    """The Starlette route serving ``/dashboards/{id}/query`` for these dashboards."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    by_id = {d.id: d for d in dashboards}

    async def endpoint(request: Request) -> Response:
        dashboard = by_id.get(request.path_params["id"])
        if dashboard is None:
            return Response(_error(f"no dashboard {request.path_params['id']!r}", "not_found"),
                            404, media_type="application/json", headers=_HEADERS)
        # the outermost router: the one holding the server's /api/v1 routes
        status, body = await dashboard_query(dashboard, request.scope["router"], request.scope,
                                             dict(request.query_params))
        headers = dict(_HEADERS)
        if len(body) >= _GZIP_FROM_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
            # a day of twelve panels: 127 KB of JSON, 44 KB at level 1 for ~1 ms (level 5
            # saves 4 KB more for three times the time)
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers["content-encoding"] = "gzip"
        return Response(body, status, media_type="application/json", headers=headers)

    return Route("/dashboards/{id}/query", endpoint, methods=["GET"])
