"""Content negotiation shared by every way of serving /metrics (ASGI, WSGI, http.server)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from .render import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    generate_latest,
    generate_openmetrics,
)

Encoder = Callable[[Any], bytes]


def choose_encoder(accept_header: str | None) -> tuple[Encoder, str]:
    """OpenMetrics when the scraper asks for it in Accept, Prometheus text 0.0.4 otherwise."""
    for accepted in (accept_header or "").split(","):
        media_type, _, params = accepted.partition(";")
        if media_type.strip() != "application/openmetrics-text":
            continue
        version = ""
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "version":
                version = value.strip()
        if not version or version.startswith("1."):
            return generate_openmetrics, CONTENT_TYPE_OPENMETRICS
    return generate_latest, CONTENT_TYPE_LATEST


def gzip_accepted(accept_encoding_header: str | None) -> bool:
    """True when Accept-Encoding lists gzip with a non-zero quality."""
    for accepted in (accept_encoding_header or "").split(","):
        coding, _, params = accepted.partition(";")
        if coding.strip().lower() != "gzip":
            continue
        key, _, value = params.strip().partition("=")
        if key.strip() == "q":
            try:
                return float(value) > 0
            except ValueError:
                return False
        return True
    return False


def bake_output(
    registry: Any,
    accept_header: str | None,
    accept_encoding_header: str | None,
    names: list[str] | None,
    disable_compression: bool = False,
) -> tuple[list[tuple[str, str]], bytes]:
    """Headers and body of a /metrics answer; ``names`` restricts to ``?name[]=`` values."""
    encoder, content_type = choose_encoder(accept_header)
    if names:
        registry = registry.restricted_registry(names)
    body = encoder(registry)
    headers = [("Content-Type", content_type)]
    if not disable_compression and gzip_accepted(accept_encoding_header):
        body = gzip.compress(body, compresslevel=6)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    return headers, body
