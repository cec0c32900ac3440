"""Exposition: render registries as Prometheus text or OpenMetrics, and serve /metrics.

Serving helpers are imported on first use so that rendering alone stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

from .negotiation import bake_output, choose_encoder, gzip_accepted
from .render import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    generate_latest,
    generate_openmetrics,
)

_LAZY = {
    "make_asgi_app": "watchkeeper.exposition.asgi",
    "make_wsgi_app": "watchkeeper.exposition.wsgi",
    "start_wsgi_server": "watchkeeper.exposition.wsgi",
    "start_http_server": "watchkeeper.exposition.wsgi",
    "write_to_textfile": "watchkeeper.exposition.textfile",
}

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_OPENMETRICS",
    "bake_output",
    "choose_encoder",
    "generate_latest",
    "generate_openmetrics",
    "gzip_accepted",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper.exposition' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
