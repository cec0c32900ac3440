"""Silences over HTTP with Alertmanager's v2 paths and shapes, so amtool-era scripts work:
``GET/POST /api/v2/silences``, ``GET/DELETE /api/v2/silence/{id}``."""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.alerting.routing import matches_all, parse_matchers
from watchkeeper.alerting.silences import SilenceStore, silence_from_api


def _now() -> int:
    return int(time.time() * 1000)


def silences_routes(silences: SilenceStore) -> list[Route]:
    async def list_silences(request: Request) -> JSONResponse:
        try:
            wanted = parse_matchers({"matchers": request.query_params.getlist("filter")})
        except ValueError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        now = _now()
        out = []
        for s in silences.list():
            shown = {m.name: m.value for m in s.matchers if m.op == "="}
            if matches_all(wanted, shown):
                out.append(s.to_api(now))
        return JSONResponse(out)

    async def post_silence(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
            silence = silence_from_api(body)
        except (ValueError, TypeError, AttributeError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        if body.get("id") and silences.get(str(body["id"])) is None:
            return JSONResponse({"error": f"silence {body['id']} not found"}, status_code=404)
        return JSONResponse({"silenceID": silences.put(silence)})

    async def get_silence(request: Request) -> Response:
        silence = silences.get(request.path_params["id"])
        if silence is None:
            return JSONResponse({"error": "silence not found"}, status_code=404)
        return JSONResponse(silence.to_api(_now()))

    async def delete_silence(request: Request) -> Response:
        if not silences.expire(request.path_params["id"]):
            return JSONResponse({"error": "silence not found"}, status_code=404)
        return Response(status_code=200)

    return [Route("/api/v2/silences", list_silences, methods=["GET"]),
            Route("/api/v2/silences", post_silence, methods=["POST"]),
            Route("/api/v2/silence/{id}", get_silence, methods=["GET"]),
            Route("/api/v2/silence/{id}", delete_silence, methods=["DELETE"])]
