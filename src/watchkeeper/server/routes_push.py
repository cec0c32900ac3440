"""Pushed samples: the remote-write receiver and plain text exposition import."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from watchkeeper.exposition.parse import ParseError, parse

from .ingest import family_samples
from .remote_write import DecodeError, decode_snappy_write_request


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message},
                        status_code=status)


def make_routes(service: Any) -> dict[str, Any]:
    async def remote_write(request: Request) -> Response:
        encoding = request.headers.get("content-encoding", "snappy").lower()
        if encoding not in ("snappy", ""):
            return _bad(f"unsupported Content-Encoding {encoding!r}; remote write sends "
                        "snappy", 415)
        body = await request.body()
        try:
            samples = await asyncio.to_thread(decode_snappy_write_request, body)
        except DecodeError as e:
            return _bad(f"invalid remote write request: {e}")
        await asyncio.to_thread(service.ingester.write, samples)
        return Response(status_code=204)

    async def import_prometheus(request: Request) -> Response:
        body = await request.body()
        extra: dict[str, str] = {}
        for item in request.query_params.getlist("extra_label"):
            name, _, value = item.partition("=")
            if name:
                extra[name] = value
        content_type = request.headers.get("content-type", "")
        try:
            families = await asyncio.to_thread(parse, body, content_type)
        except ParseError as e:
            return _bad(f"invalid exposition text: {e}")
        except UnicodeDecodeError as e:
            return _bad(f"invalid exposition text: not UTF-8 ({e})")
        samples = family_samples(families, extra, int(time.time() * 1000))
        kept = await asyncio.to_thread(service.ingester.write, samples)
        if kept < len(samples):
            return JSONResponse({"status": "success", "data": {
                "accepted": kept, "rejected": len(samples) - kept}}, status_code=200)
        return Response(status_code=204)

    return {"remote_write": remote_write, "import_prometheus": import_prometheus}
