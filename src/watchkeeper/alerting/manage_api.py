"""Run-time management over HTTP: thresholds (GET/PUT/DELETE /api/v1/thresholds/{name})
and incidents (list with filters, one with its timeline, ack, manual resolve)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from watchkeeper.alerting.history import AlertHistory, IncidentError
from watchkeeper.alerting.routing import RoutingConfigError, parse_matchers
from watchkeeper.alerting.silences import SilenceError, parse_iso
from watchkeeper.alerting.thresholds import ThresholdError, ThresholdStore, threshold_from_json


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def bad(message: str, status: int = 400) -> JSONResponse:
    kind = "not_found" if status == 404 else "bad_data"
    return JSONResponse({"status": "error", "errorType": kind, "error": message},
                        status_code=status)


def _who(request: Request, body: dict[str, Any] | None = None) -> str:
    return str((body or {}).get("by") or request.headers.get("x-watchkeeper-user")
               or (request.client.host if request.client else "api"))


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def threshold_routes(store: ThresholdStore, changed: Callable[[], None]) -> list[Route]:
    async def list_all(request: Request) -> JSONResponse:
        return ok([asdict(t) for t in store.list()])

    async def get_one(request: Request) -> JSONResponse:
        found = store.get(request.path_params["name"])
        if found is None:
            return bad("threshold not found", 404)
        return ok({**asdict(found), "changes": store.changes(found.name)})

    async def put(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            threshold = threshold_from_json(request.path_params["name"], body)
            store.put(threshold, _who(request, body))
        except (ValueError, ThresholdError) as e:
            return bad(str(e))
        changed()
        return ok(asdict(threshold))

    async def delete(request: Request) -> JSONResponse:
        if not store.delete(request.path_params["name"], _who(request)):
            return bad("threshold not found", 404)
        changed()
        return ok(None)

    return [Route("/api/v1/thresholds", list_all, methods=["GET"]),
            Route("/api/v1/thresholds/{name}", get_one, methods=["GET"]),
            Route("/api/v1/thresholds/{name}", put, methods=["PUT"]),
            Route("/api/v1/thresholds/{name}", delete, methods=["DELETE"])]


def incident_routes(history: AlertHistory) -> list[Route]:
    async def list_incidents(request: Request) -> JSONResponse:
        q = request.query_params
        try:
            matchers = parse_matchers({"matchers": q.getlist("match[]")})
            start = parse_iso(q["start"]) if q.get("start") else None
            end = parse_iso(q["end"]) if q.get("end") else None
        except (RoutingConfigError, SilenceError, ValueError) as e:
            return bad(str(e))
        return ok(history.list(q.get("state"), q.get("severity"), start, end, matchers,
                               int(q.get("limit", 500))))

    async def one(request: Request) -> JSONResponse:
        try:
            return ok(history.incident(int(request.path_params["id"])))
        except IncidentError as e:
            return bad(str(e), 404)

    def action(name: str) -> Callable[[Request], Any]:
        async def run(request: Request) -> JSONResponse:
            try:
                body = await _body(request)
                method = history.acknowledge if name == "ack" else history.resolve
                result = method(int(request.path_params["id"]), _who(request, body),
                                str(body.get("comment", "")))
            except IncidentError as e:
                return bad(str(e), 404 if "no incident" in str(e) else 409)
            except ValueError as e:
                return bad(str(e))
            return ok(result)
        return run

    return [Route("/api/v1/incidents", list_incidents, methods=["GET"]),
            Route("/api/v1/incidents/{id:int}", one, methods=["GET"]),
            Route("/api/v1/incidents/{id:int}/ack", action("ack"), methods=["POST"]),
            Route("/api/v1/incidents/{id:int}/resolve", action("resolve"), methods=["POST"])]
