"""HTTP metrics for Django, sync and async (no thread hop under ASGI).

    MIDDLEWARE = ["watchkeeper.integrations.django.HTTPMetricsMiddleware", ...]
    WATCHKEEPER_HTTP_METRICS = {"preset": "otel", "exclude": ["/metrics"]}   # optional

Put it first so its time includes the other middlewares. The route label is
``request.resolver_match.route`` (``include()`` prefixes included), what Django's resolver
already matched; preset ``"django"`` labels views by name as django-prometheus does.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from .context import UNMATCHED, Work, reset_work, set_work
from .hooks import EXCEPTION_HOOKS, run_exception_hooks
from .httpmetrics import InFlight, error_type, method_label, server_metrics, status_label

_EXC = "_watchkeeper_exception"


class HTTPMetricsMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        from asgiref.sync import iscoroutinefunction, markcoroutinefunction
        from django.conf import settings

        options = dict(getattr(settings, "WATCHKEEPER_HTTP_METRICS", {}) or {})
        kwargs = {k: options[k] for k in ("registry", "preset", "buckets", "max_series")
                  if k in options}
        self.metrics = server_metrics(**kwargs)
        self.unmatched = options.get("unmatched", self.metrics.unmatched)
        self.exclude = tuple(options.get("exclude", ()))
        self.activity = options.get("activity")
        self.by_view = self.metrics.route_kind == "view"
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _route(self, request: Any) -> str | None:
        match = getattr(request, "resolver_match", None)
        if match is None:
            return None
        if self.by_view:
            return match.view_name or None
        route = match.route
        return "/" + route if route and not route.startswith("^") else route

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if self.exclude and request.path.startswith(self.exclude):
            return self.get_response(request)
        start, entry, token = self._begin(request)
        try:
            response = self.get_response(request)
        except BaseException as exc:
            self._end(request, start, entry, token, None, exc)
            raise
        self._end(request, start, entry, token, response, None)
        return response

    async def __acall__(self, request: Any) -> Any:
        if self.exclude and request.path.startswith(self.exclude):
            return await self.get_response(request)
        start, entry, token = self._begin(request)
        try:
            response = await self.get_response(request)
        except BaseException as exc:
            self._end(request, start, entry, token, None, exc)
            raise
        self._end(request, start, entry, token, response, None)
        return response

    def _begin(self, request: Any) -> tuple[float, InFlight, Any]:
        start = perf_counter()
        entry = InFlight(method_label(request.method), lambda: self._route(request))
        self.metrics.inflight[id(entry)] = entry
        token = set_work(Work("http", resolve=entry.route))
        return start, entry, token

    def process_exception(self, request: Any, exception: Exception) -> None:
        """Django turns a view's exception into a 500 response; keep its type."""
        setattr(request, _EXC, exception)
        if EXCEPTION_HOOKS:
            from .context import current_work

            run_exception_hooks(exception, current_work())

    def _end(self, request: Any, start: float, entry: InFlight, token: Any, response: Any,
             exc: BaseException | None) -> None:
        end = perf_counter()
        reset_work(token)
        user = None
        if self.activity is not None:  # at the end: request.user is set by then
            user = self.activity.see_request(request)
        metrics = self.metrics
        metrics.inflight.pop(id(entry), None)
        if entry.child is not None:
            entry.child.dec()
        status = response.status_code if response is not None else 500
        caught = exc or getattr(request, _EXC, None)
        error = error_type(caught) if caught is not None else (
            status_label(status) if status >= 500 else "")
        label = entry.route() or self.unmatched
        if user is not None:
            self.activity.see_route(label or UNMATCHED, user)
        if label is None:
            return
        length = request.META.get("CONTENT_LENGTH")
        size = 0 if response is None or getattr(response, "streaming", False) else len(
            response.content)
        metrics.record(entry.method, label, status, request.scheme, error, end - start,
                       int(length) if length and length.isdigit() else None, size)
        if self.by_view:
            metrics.response_extras(request, response)
