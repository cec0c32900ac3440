"""HTTP metrics for Flask: ``HTTPMetrics(app)`` wraps ``app.wsgi_app``.

    from flask import Flask
    from watchkeeper.integrations.flask import HTTPMetrics
    app = Flask(__name__)
    HTTPMetrics(app)

The route label is ``request.url_rule`` (blueprint prefixes included), read from the request
Flask already matched, never by matching the URL map again. Exceptions Flask turns into a 500
response keep their type in ``error_type`` (through ``got_request_exception``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..metrics.registry import REGISTRY, CollectorRegistry
from .hooks import EXCEPTION_HOOKS, run_exception_hooks
from .httpmetrics import DEFAULT_MAX_SERIES
from .wsgi import _DEFAULT, EXC_KEY, WSGIMetricsMiddleware

ROUTE_KEY = "watchkeeper.route"


def flask_route(environ: dict[str, Any]) -> str | None:
    """The matched rule of the request Flask built for ``environ`` (None if unmatched)."""
    request = environ.get("werkzeug.request")
    rule = getattr(request, "url_rule", None)
    return rule.rule if rule is not None else environ.get(ROUTE_KEY)


class HTTPMetrics:
    """The Flask extension (``init_app`` supported for application factories)."""

    def __init__(self, app: Any = None, registry: CollectorRegistry | None = REGISTRY,
                 preset: str = "otel", exclude: Iterable[str] = (),
                 buckets: Sequence[float] | None = None, *, unmatched: str | None = _DEFAULT,
                 max_series: int | None = DEFAULT_MAX_SERIES, activity: Any = None) -> None:
        self.options = {"registry": registry, "preset": preset, "exclude": exclude,
                        "buckets": buckets, "unmatched": unmatched, "max_series": max_series,
                        "activity": activity}
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        from flask import got_request_exception

        middleware = WSGIMetricsMiddleware(app.wsgi_app, route=flask_route, **self.options)
        app.wsgi_app = middleware
        got_request_exception.connect(_remember, app, weak=False)
        app.extensions["watchkeeper_metrics"] = middleware


def _remember(sender: Any, exception: BaseException, **_: Any) -> None:
    from flask import request

    request.environ[EXC_KEY] = exception
    rule = request.url_rule
    if rule is not None:  # Flask forgets it before a propagated exception leaves
        request.environ[ROUTE_KEY] = rule.rule
    if EXCEPTION_HOOKS:
        from .context import current_work

        run_exception_hooks(exception, current_work())
