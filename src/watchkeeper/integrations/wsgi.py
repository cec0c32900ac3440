"""HTTP metrics for any WSGI app; Flask's extension (``flask.py``) is this with Flask's route.

    from watchkeeper.integrations.wsgi import WSGIMetricsMiddleware
    app = WSGIMetricsMiddleware(app, route=lambda environ: environ.get("myframework.route"))

A plain WSGI app has no router the middleware could read, so ``route`` says where the
framework left the template; without it every request is ``_unmatched`` (never the raw
path). A streamed body (an iterable that is not a list) ends when the server closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from time import perf_counter
from typing import Any

from ..metrics.registry import REGISTRY, CollectorRegistry
from .context import UNMATCHED, Work
from .context import _current as _WORK
from .hooks import EXCEPTION_HOOKS, run_exception_hooks
from .httpmetrics import DEFAULT_MAX_SERIES, METHODS, InFlight, error_type, server_metrics

RouteOf = Callable[[dict[str, Any]], "str | None"]
#: Where a framework hook leaves an exception it turned into a 500 response.
EXC_KEY = "watchkeeper.exception"
_USER_KEY = "watchkeeper.user_hash"
_DEFAULT: Any = object()


class _Request(Work):
    """A running request: the current :class:`Work` (named by the route the framework
    left in the environ) and its entry among the requests in flight."""

    __slots__ = ("child", "environ", "method", "route_of")

    def __init__(self, environ: dict[str, Any], method: str, route_of: RouteOf) -> None:
        self.kind = "http"
        self.system = ""
        self._name = None
        self._resolve = None
        self.environ = environ
        self.method = method
        self.route_of = route_of
        self.child: Any = None

    @property
    def name(self) -> str:
        return self.route() or UNMATCHED

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def route(self) -> str | None:
        name = self._name
        if name is None:
            name = self._name = self.route_of(self.environ)
        return name

    settle = InFlight.settle


class WSGIMetricsMiddleware:
    """Records ``http_server_*`` (or a preset's names) for each request of a WSGI app."""

    def __init__(self, app: Any, registry: CollectorRegistry | None = REGISTRY,
                 preset: str = "otel", exclude: Iterable[str] = (),
                 buckets: Sequence[float] | None = None, *, route: RouteOf | None = None,
                 unmatched: str | None = _DEFAULT,
                 max_series: int | None = DEFAULT_MAX_SERIES, activity: Any = None) -> None:
        self.app = app
        self.metrics = server_metrics(registry, preset, buckets, max_series)
        self.unmatched = self.metrics.unmatched if unmatched is _DEFAULT else unmatched
        self.exclude = tuple(exclude)
        self.route_of = route or (lambda environ: None)
        self.activity = activity

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.exclude and environ.get("PATH_INFO", "").startswith(self.exclude):
            return self.app(environ, start_response)
        start = perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            method = "_OTHER"
        # One object is the request's Work, its in-flight entry and its route.
        entry = _Request(environ, method, self.route_of)
        status = [0, -1]  # status code, Content-Length (-1: unknown, count the body)

        def start_wrapper(line: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = int(line[:3])
            for name, value in headers:
                if name.lower() == "content-length" and value.isdigit():
                    status[1] = int(value)
            if entry._name is None:  # while the framework still holds its request
                entry._name = entry.route_of(environ)
            return start_response(line, headers, exc_info) if exc_info else \
                start_response(line, headers)

        self.metrics.inflight[id(entry)] = entry
        token = _WORK.set(entry)
        if self.activity is not None:
            environ[_USER_KEY] = self.activity.see_environ(environ)
        try:
            result = self.app(environ, start_wrapper)
        except BaseException as exc:
            self._finish(entry, environ, start, 500, error_type(exc), 0)
            if EXCEPTION_HOOKS and environ.get(EXC_KEY) is not exc:
                run_exception_hooks(exc, entry)
            raise
        finally:
            _WORK.reset(token)
        if result.__class__ is list:
            self._finish(entry, environ, start, status[0], None, sum(map(len, result)))
            return result
        return _Body(self, entry, environ, start, status, result)

    def _finish(self, entry: _Request, environ: dict[str, Any], start: float, status: int,
                error: str | None, size: int) -> None:
        end = perf_counter()
        metrics = self.metrics
        self.metrics.inflight.pop(id(entry), None)
        child = entry.child
        if child is not None:
            child.dec()
        if error is None:
            exc = environ.get(EXC_KEY)
            error = error_type(exc) if exc is not None else (
                str(status) if status >= 500 else "")
        label = entry.route() or self.unmatched
        if self.activity is not None:
            self.activity.see_route(label or UNMATCHED, environ.get(_USER_KEY))
        if label is None:
            return
        length = environ.get("CONTENT_LENGTH")
        metrics.record(entry.method, label, status, environ.get("wsgi.url_scheme", "http"),
                       error, end - start, int(length) if length and length.isdigit() else None,
                       size)


class _Body:
    """A streamed body: the request ends when the server closes it (or a write fails)."""

    __slots__ = ("_entry", "_environ", "_mw", "_result", "_size", "_start", "_status")

    def __init__(self, mw: WSGIMetricsMiddleware, entry: _Request, environ: dict[str, Any],
                 start: float, status: list[int], result: Any) -> None:
        self._mw, self._entry, self._environ = mw, entry, environ
        self._start, self._status, self._result, self._size = start, status, result, 0

    def __iter__(self) -> Iterator[bytes]:
        if self._status[1] >= 0:  # the length is known: hand the body over untouched
            self._size = self._status[1]
            return iter(self._result)
        return self._counting()

    def _counting(self) -> Iterator[bytes]:
        try:
            for chunk in self._result:
                self._size += len(chunk)
                yield chunk
        except BaseException as exc:
            if type(exc).__name__ not in ("GeneratorExit",):
                self._environ.setdefault(EXC_KEY, exc)
                self._status[0] = 500
            raise

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            mw = self._mw
            entry = self._entry
            if id(entry) in mw.metrics.inflight:
                mw._finish(entry, self._environ, self._start, self._status[0], None,
                           self._size)
