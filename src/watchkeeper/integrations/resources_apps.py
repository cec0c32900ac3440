"""``/health/performance`` and ``/metrics/{database,cache,circuit-breaker}`` in a user's app:
an ASGI app (FastAPI, Starlette), a WSGI app (Flask, Django under WSGI) and Django urls.

    app.mount("/", watchkeeper.resources_asgi_app())                      # FastAPI
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/resources": resources_wsgi_app()})
    urlpatterns += watchkeeper.integrations.resources_apps.django_urls()  # Django

Each answers JSON, or the Prometheus text of its series when the request accepts
``text/plain``; paths match on their tail, so any mount prefix works. Standard library
only: the frameworks are the caller's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .resources import DEGRADED_BELOW, PATHS, UNHEALTHY_BELOW, Sample, local_samples, respond


def resources_asgi_app(*, degraded_below: float = DEGRADED_BELOW,
                       unhealthy_below: float = UNHEALTHY_BELOW) -> Any:
    """An ASGI app answering the four resource paths (404 elsewhere); the performance
    status is ``degraded``/``unhealthy`` (503) below the thresholds."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            status, ctype, body = 405, "application/json", b'{"error": "method not allowed"}'
        else:
            accept = ""
            for k, v in scope.get("headers", []):
                if k.lower() == b"accept":
                    accept = v.decode("latin-1")
            status, ctype, body = respond(scope.get("path", ""), accept, local_samples,
                                          degraded_below=degraded_below,
                                          unhealthy_below=unhealthy_below)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})

    return app


_REASONS = {200: "200 OK", 404: "404 Not Found", 405: "405 Method Not Allowed",
            503: "503 Service Unavailable"}


def resources_wsgi_app(*, degraded_below: float = DEGRADED_BELOW,
                       unhealthy_below: float = UNHEALTHY_BELOW) -> Any:
    """A WSGI app answering the four resource paths (404 elsewhere), thresholds as the
    ASGI one."""
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            status, ctype, body = 405, "application/json", b'{"error": "method not allowed"}'
        else:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            status, ctype, body = respond(path, environ.get("HTTP_ACCEPT", ""), local_samples,
                                          degraded_below=degraded_below,
                                          unhealthy_below=unhealthy_below)
        start_response(_REASONS[status], [("Content-Type", ctype),
                                          ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    return app


def django_view(request: Any) -> Any:
    from django.http import HttpResponse

    if request.method not in ("GET", "HEAD"):
        return HttpResponse(b'{"error": "method not allowed"}', status=405,
                            content_type="application/json")
    status, ctype, body = respond(request.path, request.headers.get("Accept", ""),
                                  local_samples)
    return HttpResponse(body, status=status, content_type=ctype)


def django_urls(prefix: str = "") -> list[Any]:
    """URL patterns for the four paths under ``prefix`` (``""`` or ``"ops/"``)."""
    from django.urls import path

    return [path(prefix + p.lstrip("/"), django_view) for p in PATHS]


def performance_check(*, name: str = "performance", degraded_below: float = DEGRADED_BELOW,
                      unhealthy_below: float = UNHEALTHY_BELOW, critical: bool = True,
                      interval: float = 15.0,
                      samples: Callable[[], list[Sample]] | None = None) -> Any:
    """A health check on the overall performance score: degraded below
    ``degraded_below``, unhealthy below ``unhealthy_below``; critical by default, so
    ``/health/ready`` follows it (``runner.add(performance_check())``). ``samples``: where
    the scores come from (default this process's monitors; the server passes its store)."""
    from ..health.check import Check
    from ..health.model import degraded, healthy, unhealthy
    from .resources import performance

    read = samples if samples is not None else local_samples

    class PerformanceCheck(Check):
        type = "performance"

        def check(self) -> Any:
            got = performance(read(), degraded_below, unhealthy_below)
            worst = got["worst"]
            why = (f"worst: {worst['component']} {worst['name']} {worst['score']:.0f}"
                   f" ({worst['worst'] or 'no penalty'})" if worst else "no components")
            message = f"score {got['score']:.0f}; {why}"
            verdict = {"healthy": healthy, "degraded": degraded,
                       "unhealthy": unhealthy}[got["status"]]
            return verdict(message, observed_value=got["score"])

    return PerformanceCheck(name=name, critical=critical, interval=interval)
