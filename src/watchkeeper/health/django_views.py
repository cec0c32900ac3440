"""The health endpoints as Django views: ``urlpatterns += health_urls()``.

Django is imported only when this is called, so the package never depends on it.
"""

from __future__ import annotations

from typing import Any

from .endpoints import HEALTH, LIVE, READY, HealthEndpoints
from .runner import Runner


def health_urls(prefix: str = "health", runner: Runner | None = None, **options: Any) -> list:
    """URL patterns for ``<prefix>``, ``<prefix>/live`` and ``<prefix>/ready``."""
    from django.http import HttpResponse
    from django.urls import path

    endpoints = HealthEndpoints(runner, **options)

    def view(request: Any, kind: str) -> Any:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(b"method not allowed\n", status=405)
        response = endpoints.handle(kind, request.META.get("QUERY_STRING", ""))
        out = HttpResponse(
            response.body, status=response.status, content_type=response.content_type
        )
        for name, value in response.headers:
            out[name] = value
        return out

    base = prefix.strip("/")
    return [
        path(base, view, {"kind": HEALTH}, name="health"),
        path(f"{base}/live", view, {"kind": LIVE}, name="health-live"),
        path(f"{base}/ready", view, {"kind": READY}, name="health-ready"),
    ]
