"""The health endpoints as a WSGI app, mountable in Flask, Django or any WSGI server.

Dispatches on the last segment of ``PATH_INFO`` (``/health``, ``/live``, ``/ready``),
so it works mounted under any prefix (``DispatcherMiddleware``) or as the whole app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .endpoints import NOT_ALLOWED, NOT_FOUND, HealthEndpoints, kind_of
from .runner import Runner

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class HealthWSGIApp:
    def __init__(self, endpoints: HealthEndpoints) -> None:
        self.endpoints = endpoints

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        kind = kind_of(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if kind is None:
            response = NOT_FOUND
        elif method not in ("GET", "HEAD"):
            response = NOT_ALLOWED
        else:
            response = self.endpoints.handle(kind, environ.get("QUERY_STRING", ""))
        start_response(f"{response.status} {_REASONS.get(response.status, '')}",
                       response.all_headers())
        return [b"" if method == "HEAD" else response.body]


def make_wsgi_app(runner: Runner | None = None, **options: Any) -> HealthWSGIApp:
    """A WSGI app for the runner's checks (default: the ``@check``-decorated ones)."""
    return HealthWSGIApp(HealthEndpoints(runner, **options))
