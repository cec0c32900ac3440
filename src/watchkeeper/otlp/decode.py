"""OTLP/HTTP metric request bodies (protobuf or JSON) as ``ExportMetricsServiceRequest``
messages, and the answers OTLP/HTTP expects.

The message classes come from ``opentelemetry-proto`` (the ``otlp`` extra), imported on the
first request: a server that never receives OTLP never loads protobuf. Anything that does not
decode is an ``OTLPError`` (a 400) naming what was wrong; a missing extra is a 415 saying
which extra to install.
"""

from __future__ import annotations

import json
from typing import Any

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
INVALID_ARGUMENT = 3  # google.rpc.Code


class OTLPError(ValueError):
    """A body that is not an OTLP metrics request: ``status`` 400, or 415."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def media_type(content_type: str) -> str:
    """``PROTOBUF`` or ``JSON`` for a request's Content-Type, else an ``OTLPError`` (415)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise OTLPError(f"unsupported Content-Type {content_type!r}; OTLP/HTTP sends "
                    f"{PROTOBUF} or {JSON}", 415)


def _classes() -> Any:
    try:
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
    except ImportError:
        raise OTLPError("OTLP needs the opentelemetry-proto package: pip install "
                        "'watchkeeper[otlp]'", 415) from None
    return metrics_service_pb2


def _without_exemplars(doc: Any) -> Any:
    """OTLP JSON writes exemplar trace ids in hex, which proto3 JSON would read as base64;
    exemplars are not stored, so they are dropped before parsing."""
    if not isinstance(doc, dict):
        return doc
    for rm in doc.get("resourceMetrics") or doc.get("resource_metrics") or []:
        for sm in (rm.get("scopeMetrics") or rm.get("scope_metrics") or []) if isinstance(
                rm, dict) else []:
            for metric in (sm.get("metrics") or []) if isinstance(sm, dict) else []:
                if not isinstance(metric, dict):
                    continue
                for data in metric.values():
                    points = data.get("dataPoints") or data.get("data_points") if isinstance(
                        data, dict) else None
                    for point in points if isinstance(points, list) else []:
                        if isinstance(point, dict):
                            point.pop("exemplars", None)
    return doc


def decode_request(body: bytes, kind: str) -> Any:
    """The ``ExportMetricsServiceRequest`` in ``body`` (already decompressed)."""
    pb = _classes()
    request = pb.ExportMetricsServiceRequest()
    try:
        if kind == PROTOBUF:
            request.ParseFromString(body)
        else:
            from google.protobuf import json_format

            doc = _without_exemplars(json.loads(body))
            json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except RecursionError:
        raise OTLPError("invalid OTLP request: nested too deeply") from None
    except Exception as e:  # any decoder complaint is the body's fault: a 400
        what = "protobuf" if kind == PROTOBUF else "JSON"
        detail = " ".join(str(e).split())[:300] or type(e).__name__
        raise OTLPError(f"invalid OTLP {what} metrics request: {detail}") from None
    return request


def encode_response(kind: str, rejected: int = 0, message: str = "") -> bytes:
    """An ``ExportMetricsServiceResponse``, with ``partial_success`` when points were
    refused."""
    pb = _classes()
    response = pb.ExportMetricsServiceResponse()
    if rejected or message:
        response.partial_success.rejected_data_points = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    from google.protobuf import json_format

    return json_format.MessageToJson(response, indent=None).encode()


def encode_status(kind: str, message: str, code: int = INVALID_ARGUMENT) -> bytes:
    """A ``google.rpc.Status`` (what OTLP/HTTP answers a refused request with), written by
    hand so it needs no extra package."""
    if kind != PROTOBUF:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
