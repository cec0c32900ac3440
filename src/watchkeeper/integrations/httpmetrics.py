"""The HTTP server metrics every web middleware records into, in one of five namings.

The default follows the OpenTelemetry HTTP semantic conventions in Prometheus form;
``preset="pfi" | "starlette_exporter" | "django" | "flask"`` reproduces the metric names and
labels of prometheus-fastapi-instrumentator, starlette_exporter, django-prometheus and
prometheus_flask_exporter, so dashboards built on them keep working. One metric set exists
per (registry, preset, buckets): two middlewares on one registry share it.

Every labelled metric carries a series cap (default 10,000): past it new label sets share
the ``__overflow__`` series and are counted in
``watchkeeper_metric_label_sets_dropped_total{metric}``.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from ..metrics import Counter, Gauge, Histogram
from ..metrics.registry import REGISTRY, CollectorRegistry

#: The 14 bucket bounds of ``http.server.request.duration`` in the semantic conventions.
SEMCONV_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                   7.5, 10.0)
SIZE_BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)
DEFAULT_MAX_SERIES = 10_000
PRESETS = ("otel", "pfi", "starlette_exporter", "django", "flask")
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
                     "PATCH", "QUERY"))
_STATUS = {code: str(code) for code in range(100, 600)}
_CLASS = {code: f"{code // 100}xx" for code in range(100, 600)}


def method_label(method: str) -> str:
    """Known methods as sent; anything else ``_OTHER`` (a client cannot mint series)."""
    return method if method in METHODS else "_OTHER"


def status_label(status: int) -> str:
    return _STATUS.get(status) or str(status)


def error_type(exc: BaseException) -> str:
    """The exception's type name, module-qualified outside builtins (semconv ``error.type``)."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def trace_exemplar() -> dict[str, str] | None:
    """``{"trace_id": ...}`` of the active OpenTelemetry span, if OpenTelemetry is in use."""
    read = _span_reader
    if read is None:
        if "opentelemetry.trace" not in sys.modules:  # never imported: no span can be active
            return None
        read = _bind_span_reader()
    span = read()
    if span is None:
        return None
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


_span_reader: Any = None


def _bind_span_reader() -> Any:
    """The cheapest way to the current span: OpenTelemetry's own context variable read
    directly (two C calls on every request), else its public getter."""
    global _span_reader
    from opentelemetry import context, trace
    from opentelemetry.trace import propagation

    var = getattr(getattr(context, "_RUNTIME_CONTEXT", None), "_current_context", None)
    key = getattr(propagation, "_SPAN_KEY", None)
    if isinstance(var, ContextVar) and isinstance(key, str):
        span_type = trace.Span

        def read() -> Any:
            span = var.get().get(key)
            return span if isinstance(span, span_type) else None
    else:
        getter = trace.get_current_span

        def read() -> Any:
            return getter()
    _span_reader = read
    return read


class ServerMetrics:
    """The metric set of one naming. ``record`` is the one call per finished request."""

    preset = "otel"
    #: Which name a route label takes: the template, or (django) the view name.
    route_kind = "template"
    unmatched = "_unmatched"
    inflight: dict[int, Any]

    def __init__(self, registry: CollectorRegistry | None, buckets: Sequence[float] | None,
                 max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        self.duration = Histogram(
            "http_server_request_duration_seconds", "Duration of HTTP server requests.",
            ["http_request_method", "http_route", "http_response_status_code", "url_scheme",
             "error_type"], buckets=buckets or SEMCONV_BUCKETS, **cap)
        self.active_gauge = Gauge(
            "http_server_active_requests", "Number of active HTTP server requests.",
            ["http_request_method", "http_route"], multiprocess_mode="livesum", **cap)
        size_labels = ["http_request_method", "http_route", "http_response_status_code"]
        self.req_size = Histogram(
            "http_server_request_body_size_bytes", "Size of HTTP server request bodies.",
            size_labels, buckets=SIZE_BUCKETS, **cap)
        self.resp_size = Histogram(
            "http_server_response_body_size_bytes", "Size of HTTP server response bodies.",
            size_labels, buckets=SIZE_BUCKETS, **cap)
        self.ttfb = Histogram(
            "http_server_time_to_first_byte_seconds",
            "Time from request start to the first body chunk of a streamed response.",
            ["http_request_method", "http_route"], buckets=buckets or SEMCONV_BUCKETS, **cap)
        self._children: dict[tuple[str, str, int, str, str], tuple[Any, Any, Any]] = {}
        self._children_cap = max_series or DEFAULT_MAX_SERIES

    def active(self, method: str, route: str) -> Any:
        return self.active_gauge.labels(method, route)

    def record(self, method: str, route: str, status: int, scheme: str, error: str,
               duration: float, req_size: int | None, resp_size: int) -> None:
        key = (method, route, status, scheme, error)
        found = self._children.get(key)
        if found is None:
            found = self._bind(key)
        found[0](duration, trace_exemplar())
        found[2](resp_size)
        if req_size is not None:
            found[1](req_size)

    def _bind(self, key: tuple[str, str, int, str, str]) -> tuple[Any, Any, Any]:
        """The three ``observe`` methods of one label set, bound once: a repeat request
        costs one dict lookup instead of three ``labels()`` calls. The table is bounded
        like the metrics are (past the cap a label set is looked up every time)."""
        method, route, status, scheme, error = key
        code = _STATUS.get(status) or str(status)
        found = (self.duration.labels(method, route, code, scheme, error).observe,
                 self.req_size.labels(method, route, code).observe,
                 self.resp_size.labels(method, route, code).observe)
        if len(self._children) < self._children_cap:
            self._children[key] = found
        return found

    def first_byte(self, method: str, route: str, seconds: float) -> None:
        self.ttfb.labels(method, route).observe(seconds)


def _get(name: str) -> Any:
    from importlib import import_module

    return import_module(f"{__name__}_presets").PRESET_CLASSES[name]


_lock = threading.Lock()
_sets: weakref.WeakKeyDictionary[Any, dict[tuple, ServerMetrics]] = weakref.WeakKeyDictionary()
_unregistered: dict[tuple, ServerMetrics] = {}


def server_metrics(registry: CollectorRegistry | None = REGISTRY, preset: str = "otel",
                   buckets: Sequence[float] | None = None,
                   max_series: int | None = DEFAULT_MAX_SERIES) -> ServerMetrics:
    """The shared metric set for this registry and naming, created on first use."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    key = (preset, tuple(buckets) if buckets else None, max_series)
    with _lock:
        table = _unregistered if registry is None else _sets.setdefault(registry, {})
        found = table.get(key)
        if found is None:
            cls = ServerMetrics if preset == "otel" else _get(preset)
            settler = _Settler()
            if registry is not None:
                registry.register(settler)  # before the gauge, so a scrape sees it settled
            found = table[key] = cls(registry, buckets, max_series)
            found.inflight = settler.inflight
            settler.metrics = found
        return found


class InFlight:
    """One running request: its active-gauge child is chosen once its route is known."""

    __slots__ = ("child", "method", "route")

    def __init__(self, method: str, route: Any) -> None:
        self.method = method
        self.route = route  # a callable answering the route label, or None while unrouted
        self.child: Any = None

    def settle(self, metrics: ServerMetrics) -> Any:
        child = self.child
        if child is None:
            route = self.route()
            if route is not None:
                child = self.child = metrics.active(self.method, route)
                child.inc()
        return child


class _Settler:
    """Counts requests still inside a handler at scrape time: their route is resolved by
    then, so ``http_server_active_requests`` needs no work on the request path."""

    def __init__(self) -> None:
        self.inflight: dict[int, InFlight] = {}
        self.metrics: Any = None

    def collect(self) -> list[Any]:
        if self.metrics is not None:
            for entry in list(self.inflight.values()):
                entry.settle(self.metrics)
        return []


class WebSocketMetrics:
    """WebSocket connections never enter HTTP latency: their own three metrics."""

    def __init__(self, registry: CollectorRegistry | None, max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        self.active = Gauge("websocket_server_active_connections",
                            "Open WebSocket connections.", ["http_route"],
                            multiprocess_mode="livesum", **cap)
        self.duration = Histogram(
            "websocket_server_connection_duration_seconds",
            "How long WebSocket connections stay open.", ["http_route", "close_code"],
            buckets=(0.1, 1, 10, 60, 300, 1800, 3600, 14400, 86400), **cap)
        self.messages = Counter("websocket_server_messages", "WebSocket messages.",
                                ["http_route", "direction"], **cap)


_ws: weakref.WeakKeyDictionary[Any, WebSocketMetrics] = weakref.WeakKeyDictionary()


def websocket_metrics(registry: CollectorRegistry | None = REGISTRY,
                      max_series: int | None = DEFAULT_MAX_SERIES) -> WebSocketMetrics:
    with _lock:
        if registry is None:
            return WebSocketMetrics(None, max_series)
        found = _ws.get(registry)
        if found is None:
            found = _ws[registry] = WebSocketMetrics(registry, max_series)
        return found


def status_class(status: int) -> str:
    return _CLASS.get(status) or f"{status // 100}xx"
