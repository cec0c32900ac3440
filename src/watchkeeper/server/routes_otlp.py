"""``POST /v1/metrics``: OTLP/HTTP metrics (protobuf or JSON, plain or gzip) into the store.

Delta sums and histograms are made cumulative per stream first (``otlp.delta``).
As OTLP/HTTP says: 200 with an ``ExportMetricsServiceResponse`` (its ``partial_success``
counts the points refused, such as a delta point out of order), 400 with a
``google.rpc.Status`` for a body that does not decode, 413 past ``web.max_body_bytes``
(compressed or not), 415 for another media type. Bad input never reaches the store half-written.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from watchkeeper.otlp.decode import (
    JSON,
    OTLPError,
    decode_request,
    encode_response,
    encode_status,
    media_type,
)
from watchkeeper.otlp.delta import DeltaToCumulative
from watchkeeper.otlp.translate import translate

from .bodies import BodyError, decompress
from .ingest import SampleError, SampleLimits, check_samples
from .routes_push import _off_loop, limits_of


def _decode(body: bytes, encoding: str, kind: str, cap: int,
            limits: SampleLimits, deltas: DeltaToCumulative) -> Any:
    raw = decompress(body, encoding, cap)
    request = decode_request(raw, kind)
    refused = deltas.convert(request)
    translation = translate(request, int(time.time() * 1000))
    for count, why in refused:
        translation.refuse(count, why)
    check_samples(translation.samples, limits)
    return translation


def make_route(service: Any) -> Any:
    deltas = DeltaToCumulative()  # the running totals of delta streams, per server

    async def otlp_metrics(request: Request) -> Response:
        try:
            kind = media_type(request.headers.get("content-type", ""))
        except OTLPError as e:
            return Response(encode_status(JSON, str(e)), e.status, media_type=JSON)
        cap, limits = limits_of(service)
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        try:
            translation = await _off_loop(_decode, body, encoding, kind, cap, limits,
                                            deltas)
        except (BodyError, OTLPError, SampleError) as e:
            status = getattr(e, "status", 400)
            return Response(encode_status(kind, f"invalid OTLP request: {e}"), status,
                            media_type=kind)
        if translation.metadata:
            service.metadata.push(translation.metadata.values())
        kept = await _off_loop(service.ingester.write, translation.samples)
        rejected, errors = translation.rejected, list(translation.errors)
        if kept < len(translation.samples):
            rejected += len(translation.samples) - kept
            errors.append(f"{len(translation.samples) - kept} samples out of order or "
                          "duplicated")
        return Response(encode_response(kind, rejected, "; ".join(errors)), 200,
                        media_type=kind)

    return otlp_metrics
