"""The other libraries' namings: same metric names, label names and buckets as theirs.

Label values differ only where theirs were unbounded: the route is always a template (or
django-prometheus's view name), never a raw path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..metrics import Counter, Gauge, Histogram, Summary
from ..metrics.histogram import DEFAULT_BUCKETS
from ..metrics.registry import CollectorRegistry
from .httpmetrics import ServerMetrics, status_class, status_label


class _NoGauge:
    def inc(self, amount: float = 1) -> None:
        pass

    dec = inc


_NO_GAUGE = _NoGauge()


class PFIMetrics(ServerMetrics):
    """prometheus-fastapi-instrumentator's ``Instrumentator().instrument(app)`` defaults."""

    preset = "pfi"
    unmatched = "none"

    def __init__(self, registry: CollectorRegistry | None, buckets: Sequence[float] | None,
                 max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        self.total = Counter("http_requests_total", "Total number of requests by method, "
                             "status and handler.", ["method", "status", "handler"], **cap)
        self.req_size = Summary("http_request_size_bytes", "Content length of incoming "
                                "requests by handler. Only value of header is respected. "
                                "Otherwise ignored. No percentile calculated. ",
                                ["handler"], quantiles=(), **cap)
        self.resp_size = Summary("http_response_size_bytes", "Content length of outgoing "
                                 "responses by handler. Only value of header is respected. "
                                 "Otherwise ignored. No percentile calculated. ",
                                 ["handler"], quantiles=(), **cap)
        self.highr = Histogram(
            "http_request_duration_highr_seconds", "Latency with many buckets but no API "
            "specific labels. Made for more accurate percentile calculations. ",
            buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5,
                     4, 4.5, 5, 7.5, 10, 30, 60), registry=registry)
        self.duration = Histogram(
            "http_request_duration_seconds", "Latency with only few buckets by handler. Made "
            "to be only used if aggregation by handler is important. ",
            ["method", "handler"], buckets=buckets or (0.1, 0.5, 1), **cap)

    def active(self, method: str, route: str) -> Any:
        return _NO_GAUGE

    def record(self, method: str, route: str, status: int, scheme: str, error: str,
               duration: float, req_size: int | None, resp_size: int) -> None:
        self.total.labels(method, status_class(status), route).inc()
        self.req_size.labels(route).observe(req_size or 0)
        self.resp_size.labels(route).observe(resp_size)
        self.highr.observe(duration)
        self.duration.labels(method, route).observe(duration)

    def first_byte(self, method: str, route: str, seconds: float) -> None:
        pass


class StarletteExporterMetrics(PFIMetrics):
    """starlette_exporter's ``PrometheusMiddleware`` defaults (unmatched paths skipped)."""

    preset = "starlette_exporter"
    unmatched = None  # type: ignore[assignment]
    app_name = "starlette"

    def __init__(self, registry: CollectorRegistry | None, buckets: Sequence[float] | None,
                 max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        labels = ["method", "path", "status_code", "app_name"]
        self.total = Counter("starlette_requests_total", "Total HTTP requests", labels, **cap)
        self.duration = Histogram("starlette_request_duration_seconds",
                                  "HTTP request duration, in seconds", labels,
                                  buckets=buckets or DEFAULT_BUCKETS, **cap)
        self.in_progress = Gauge("starlette_requests_in_progress",
                                 "Total HTTP requests currently in progress",
                                 ["method", "app_name"], multiprocess_mode="livesum", **cap)

    def active(self, method: str, route: str) -> Any:
        return self.in_progress.labels(method, self.app_name)

    def record(self, method: str, route: str, status: int, scheme: str, error: str,
               duration: float, req_size: int | None, resp_size: int) -> None:
        code = status_label(status)
        self.total.labels(method, route, code, self.app_name).inc()
        self.duration.labels(method, route, code, self.app_name).observe(duration)
        self.in_progress.labels(method, self.app_name)  # shown at 0, as theirs is


class FlaskExporterMetrics(PFIMetrics):
    """prometheus_flask_exporter's ``PrometheusMetrics(app)`` defaults."""

    preset = "flask"

    def __init__(self, registry: CollectorRegistry | None, buckets: Sequence[float] | None,
                 max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        self.duration = Histogram("flask_http_request_duration_seconds",
                                  "Flask HTTP request duration in seconds",
                                  ["method", "path", "status"],
                                  buckets=buckets or DEFAULT_BUCKETS, **cap)
        self.total = Counter("flask_http_request_total", "Total number of HTTP requests",
                             ["method", "status"], **cap)
        self.exceptions = Counter("flask_http_request_exceptions_total",
                                  "Total number of HTTP requests which resulted in an "
                                  "exception", ["method", "status"], **cap)

    def record(self, method: str, route: str, status: int, scheme: str, error: str,
               duration: float, req_size: int | None, resp_size: int) -> None:
        code = status_label(status)
        self.duration.labels(method, route, code).observe(duration)
        self.total.labels(method, code).inc()
        if error and not error.isdigit():
            self.exceptions.labels(method, code).inc()


class DjangoMetrics(PFIMetrics):
    """django-prometheus's ``PrometheusBeforeMiddleware``/``AfterMiddleware`` (views by name)."""

    preset = "django"
    route_kind = "view"
    unmatched = "<unnamed view>"

    def __init__(self, registry: CollectorRegistry | None, buckets: Sequence[float] | None,
                 max_series: int | None) -> None:
        cap = {"registry": registry, "max_label_sets": max_series}
        latency = buckets or (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                              7.5, 10.0, 25.0, 50.0, 75.0, float("inf"))
        self.total_before = Counter("django_http_requests_before_middlewares_total",
                                    "Total count of requests before middlewares run.",
                                    registry=registry)
        self.latency_all = Histogram(
            "django_http_requests_latency_including_middlewares_seconds",
            "Histogram of requests processing time (including middleware processing time).",
            buckets=latency, registry=registry)
        self.latency = Histogram("django_http_requests_latency_seconds_by_view_method",
                                 "Histogram of request processing time labelled by view.",
                                 ["view", "method"], buckets=latency, **cap)
        self.by_method = Counter("django_http_requests_total_by_method_total",
                                 "Count of requests by method.", ["method"], **cap)
        self.by_transport = Counter("django_http_requests_total_by_transport_total",
                                    "Count of requests by transport.", ["transport"], **cap)
        self.by_view = Counter(
            "django_http_requests_total_by_view_transport_method_total",
            "Count of requests by view, transport, method.",
            ["view", "transport", "method"], **cap)
        self.by_status = Counter("django_http_responses_total_by_status_total",
                                 "Count of responses by status.", ["status"], **cap)
        self.by_status_view = Counter(
            "django_http_responses_total_by_status_view_method_total",
            "Count of responses by status, view, method.", ["status", "view", "method"], **cap)
        self.exc_type = Counter("django_http_exceptions_total_by_type_total",
                                "Count of exceptions by object type.", ["type"], **cap)
        self.exc_view = Counter("django_http_exceptions_total_by_view_total",
                                "Count of exceptions by view.", ["view"], **cap)
        self.responses_before = Counter("django_http_responses_before_middlewares_total",
                                        "Total count of responses before middlewares run.",
                                        registry=registry)
        Counter("django_http_requests_unknown_latency_including_middlewares_total",
                "Count of requests for which the latency was unknown (when computing "
                "django_http_requests_latency_including_middlewares_seconds).",
                registry=registry)
        Counter("django_http_requests_unknown_latency_total",
                "Count of requests for which the latency was unknown.", registry=registry)
        self.ajax = Counter("django_http_ajax_requests_total", "Count of AJAX requests.",
                            registry=registry)
        sizes = [0] + [2 ** i for i in range(30)]
        self.req_body = Histogram("django_http_requests_body_total_bytes",
                                  "Histogram of requests by body size.", buckets=sizes,
                                  registry=registry)
        self.resp_body = Histogram("django_http_responses_body_total_bytes",
                                   "Histogram of responses by body size.", buckets=sizes,
                                   registry=registry)
        self.charset = Counter("django_http_responses_total_by_charset_total",
                               "Count of responses by charset.", ["charset"], **cap)
        self.streaming = Counter("django_http_responses_streaming_total",
                                 "Count of streaming responses.", registry=registry)

    def response_extras(self, request: Any, response: Any) -> None:
        """What only a Django request and response tell: AJAX, charset, streaming."""
        if request.headers.get("x-requested-with") == "XMLHttpRequest":
            self.ajax.inc()
        if response is not None:
            charset = getattr(response, "charset", None)
            if charset:
                self.charset.labels(charset).inc()
            if getattr(response, "streaming", False):
                self.streaming.inc()

    def record(self, method: str, route: str, status: int, scheme: str, error: str,
               duration: float, req_size: int | None, resp_size: int) -> None:
        code = status_label(status)
        self.total_before.inc()
        self.responses_before.inc()
        self.latency_all.observe(duration)
        self.latency.labels(route, method).observe(duration)
        self.by_method.labels(method).inc()
        self.by_transport.labels(scheme).inc()
        if route != self.unmatched:
            self.by_view.labels(route, scheme, method).inc()
        self.req_body.observe(req_size or 0)
        self.resp_body.observe(resp_size)
        self.by_status.labels(code).inc()
        self.by_status_view.labels(code, route, method).inc()
        if error and not error.isdigit():
            self.exc_type.labels(error.rsplit(".", 1)[-1]).inc()
            self.exc_view.labels(route).inc()


PRESET_CLASSES = {"pfi": PFIMetrics, "starlette_exporter": StarletteExporterMetrics,
                  "flask": FlaskExporterMetrics, "django": DjangoMetrics}
