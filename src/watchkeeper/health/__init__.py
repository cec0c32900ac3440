"""Health checks: a framework, built-in checks, and Kubernetes-style endpoints.

    from watchkeeper import health

    @health.check(timeout=2, critical=False)
    def cache():
        return health.healthy("warm")

    app.mount("/health", health.make_asgi_app())     # /health/, /health/live, /health/ready
    app.router.routes += health.starlette_routes()   # or exact routes, no trailing slash
    flask_app.wsgi_app = DispatcherMiddleware(flask_app.wsgi_app,
                                              {"/health": health.make_wsgi_app()})
    urlpatterns += health.health_urls()              # Django

Names are imported on first use and everything here is stdlib only; database drivers and
HTTP clients are imported inside the checks that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

# Bound eagerly: importing the ``check`` submodule would otherwise shadow the decorator.
from .check import check

_EXPORTS: dict[str, str] = {
    "Status": "watchkeeper.health.model",
    "Outcome": "watchkeeper.health.model",
    "CheckError": "watchkeeper.health.model",
    "CheckResult": "watchkeeper.health.model",
    "healthy": "watchkeeper.health.model",
    "degraded": "watchkeeper.health.model",
    "unhealthy": "watchkeeper.health.model",
    "overall_status": "watchkeeper.health.model",
    "HealthCheck": "watchkeeper.health.check",
    "Check": "watchkeeper.health.check",
    "function_check": "watchkeeper.health.check",
    "Runner": "watchkeeper.health.runner",
    "default_runner": "watchkeeper.health.runner",
    "CheckHistory": "watchkeeper.health.history",
    "HealthCollector": "watchkeeper.health.metrics",
    "health_document": "watchkeeper.health.report",
    "HealthEndpoints": "watchkeeper.health.endpoints",
    "make_asgi_app": "watchkeeper.health.asgi",
    "starlette_routes": "watchkeeper.health.asgi",
    "make_wsgi_app": "watchkeeper.health.wsgi",
    "health_urls": "watchkeeper.health.django_views",
    "load_config": "watchkeeper.health.config",
    "build_checks": "watchkeeper.health.config",
    "ConfigError": "watchkeeper.health.config",
    "create_check": "watchkeeper.health.checks",
    "CHECK_TYPES": "watchkeeper.health.checks",
}

__all__ = [*_EXPORTS, "check"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'watchkeeper.health' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
