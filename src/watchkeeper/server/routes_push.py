"""Pushed samples: the remote-write receiver and plain text exposition import.

Every problem with a body is a 4xx naming what was wrong (413 past the size limits, before
anything is decompressed past them), and a refused request writes nothing. Pushes decode and
write on threads of their own: a backlog of queries on the shared pool never holds them up.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from watchkeeper.exposition.parse import ParseError, parse

from .bodies import BodyError, decompress
from .ingest import SampleError, SampleLimits, check_samples, family_samples
from .remote_write import Metadata, decode_snappy_write_request

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest")


async def _off_loop(fn: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_POOL, fn, *args)


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message},
                        status_code=status)


def limits_of(service: Any) -> tuple[int, SampleLimits]:
    web = service.config.web
    return web.max_body_bytes, SampleLimits(max_labels=web.max_labels_per_series,
                                            max_value_bytes=web.max_label_value_bytes)


def _decode_remote_write(body: bytes, encoding: str, cap: int, limits: SampleLimits,
                         metadata: list[Metadata]) -> list[Any]:
    samples = decode_snappy_write_request(body, cap, metadata, encoding)
    check_samples(samples, limits)
    return samples


def _decode_import(body: bytes, encoding: str, content_type: str, cap: int,
                   limits: SampleLimits, extra: dict[str, str]) -> list[Any]:
    text = decompress(body, encoding, cap)
    families = parse(text, content_type)
    samples = family_samples(families, extra, int(time.time() * 1000))
    check_samples(samples, limits)
    return samples


def make_routes(service: Any) -> dict[str, Any]:
    async def remote_write(request: Request) -> Response:
        encoding = request.headers.get("content-encoding", "snappy") or "snappy"
        if encoding.strip().lower() not in ("snappy", "identity"):
            return _bad(f"unsupported Content-Encoding {encoding!r}; remote write sends "
                        "snappy", 415)
        cap, limits = limits_of(service)
        body = await request.body()
        metadata: list[Metadata] = []
        try:
            samples = await _off_loop(_decode_remote_write, body, encoding, cap,
                                              limits, metadata)
        except BodyError as e:
            return _bad(f"invalid remote write request: {e}", e.status)
        except SampleError as e:
            return _bad(f"invalid remote write request: {e}")
        if metadata:
            service.metadata.push(metadata)
        await _off_loop(service.ingester.write, samples)
        return Response(status_code=204)

    async def import_prometheus(request: Request) -> Response:
        body = await request.body()
        extra: dict[str, str] = {}
        for item in request.query_params.getlist("extra_label"):
            name, _, value = item.partition("=")
            if name:
                extra[name] = value
        cap, limits = limits_of(service)
        encoding = request.headers.get("content-encoding", "")
        content_type = request.headers.get("content-type", "")
        try:
            samples = await _off_loop(_decode_import, body, encoding, content_type,
                                              cap, limits, extra)
        except BodyError as e:
            return _bad(f"invalid import: {e}", e.status)
        except ParseError as e:
            return _bad(f"invalid exposition text: {e}")
        except UnicodeDecodeError as e:
            return _bad(f"invalid exposition text: not UTF-8 ({e})")
        except SampleError as e:
            return _bad(f"invalid import: {e}")
        kept = await _off_loop(service.ingester.write, samples)
        if kept < len(samples):
            return JSONResponse({"status": "success", "data": {
                "accepted": kept, "rejected": len(samples) - kept}}, status_code=200)
        return Response(status_code=204)

    return {"remote_write": remote_write, "import_prometheus": import_prometheus}
