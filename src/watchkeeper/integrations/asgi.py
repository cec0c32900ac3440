"""HTTP metrics for any ASGI app (FastAPI, Starlette, Litestar...): one pure ASGI middleware.

    from watchkeeper.integrations.asgi import HTTPMetricsMiddleware
    app.add_middleware(HTTPMetricsMiddleware)          # FastAPI / Starlette
    app = HTTPMetricsMiddleware(app)                   # any other ASGI app

The route label is the template the framework already resolved (``scope["route"]``, with
Mount prefixes and FastAPI router prefixes; Litestar's ``scope["path_template"]``), read
after the app routed the request: the cost does not grow with the number of routes. The
request's end is its last body chunk, so background tasks that run afterwards are not
request time. WebSockets get their own metrics and never enter HTTP latency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from time import perf_counter
from typing import Any

from ..metrics.registry import REGISTRY, CollectorRegistry
from ..metrics.values import multiprocess_enabled
from .context import UNMATCHED, Work, reset_work, set_work
from .context import _current as _WORK
from .hooks import EXCEPTION_HOOKS, run_exception_hooks
from .httpmetrics import (
    DEFAULT_MAX_SERIES,
    METHODS,
    InFlight,
    error_type,
    server_metrics,
    status_label,
    websocket_metrics,
)

#: Exceptions meaning "the client went away": counted as status 499, not as errors.
DISCONNECTS = frozenset(("CancelledError", "ClientDisconnect", "ClientDisconnected",
                         "BrokenPipeError", "ConnectionResetError"))
_DEFAULT: Any = object()
#: Where a framework hook leaves an exception it turned into a 500 response.
EXC_KEY = "watchkeeper.exception"
#: Methods whose requests carry no body worth a size histogram: no header scan for them.
_NO_BODY = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))


def scope_route(scope: dict[str, Any], root: str = "") -> str | None:
    """The full route template of a routed request, or None before (or without) a match.

    ``root`` is the root_path the server gave (a proxy prefix, not part of the template);
    what Mounts added to root_path since is the mount prefix.
    """
    route = scope.get("route")
    if route is None:
        template = scope.get("path_template")  # Litestar: the matched handler's template
        if template.__class__ is str:
            return template
        mounted = scope.get("root_path", "")
        if mounted != root and "endpoint" in scope:  # a mounted app that is not a router
            return mounted[len(root):] + "/{path:path}"
        return None
    path = None
    fastapi = scope.get("fastapi")
    if fastapi:
        path = getattr(fastapi.get("effective_route_context"), "path", None)
        if path is None:  # after the route ran: the included router's prefix
            context = getattr(fastapi.get("included_router"), "include_context", None)
            inner = getattr(route, "path", None)
            if context is not None and inner is not None:
                path = context.prefix + inner
    mounted = scope.get("root_path", "")
    prefix = mounted[len(root):] if mounted != root else ""
    if path is None:
        path = getattr(route, "path", None)
        if path is None:
            return None
        if hasattr(route, "routes"):  # a Mount whose app routed nothing further
            return (prefix or path) + "/{path:path}"
    return prefix + path if prefix else path


class _Request(Work):
    """A running request: the current :class:`Work` (its name is the route template,
    read from the scope once the app has routed), and the active-requests entry that the
    scrape counts by route (see ``httpmetrics.InFlight``)."""

    __slots__ = ("child", "method", "root", "scope")

    def __init__(self, scope: dict[str, Any], method: str) -> None:
        self.kind = "http"
        self.system = ""
        self._name = None
        self._resolve = None
        self.scope = scope
        self.root = scope.get("root_path", "")  # the server's; Mounts extend it later
        self.method = method
        self.child: Any = None

    @property
    def name(self) -> str:
        return self.route() or UNMATCHED

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    def route(self) -> str | None:
        """The route template, or None while (or if) nothing matched."""
        name = self._name
        if name is None:
            name = self._name = scope_route(self.scope, self.root)
        return name

    settle = InFlight.settle


class HTTPMetricsMiddleware:
    """Records ``http_server_*`` (or a preset's names) per request and WebSocket metrics.

    ``exclude``: path prefixes not measured (``/metrics``, ``/health``); ``unmatched``:
    the route label of paths no route matched (None drops them); ``max_series``: the
    per-metric cap past which label sets go to ``__overflow__``.
    """

    def __init__(self, app: Any, registry: CollectorRegistry | None = REGISTRY,
                 preset: str = "otel", exclude: Iterable[str] = (),
                 buckets: Sequence[float] | None = None, *, unmatched: str | None = _DEFAULT,
                 max_series: int | None = DEFAULT_MAX_SERIES,
                 user_id: Callable[[dict[str, Any]], str | None] | None = None,
                 session_id: Callable[[dict[str, Any]], str | None] | None = None,
                 activity: Any = None, users_by_route: bool = False) -> None:
        self.app = app
        self.registry = registry
        self.max_series = max_series
        self.metrics = server_metrics(registry, preset, buckets, max_series)
        self.unmatched = self.metrics.unmatched if unmatched is _DEFAULT else unmatched
        self.exclude = tuple(exclude)
        self._ws: Any = None
        # A scrape counts the requests still running in its own process; other workers'
        # must count themselves once their route is known.
        self._settle_on_start = multiprocess_enabled()
        self.activity = activity
        if activity is None and (user_id is not None or session_id is not None):
            from .activity import ActivityTracker

            self.activity = ActivityTracker(user_id=user_id, session_id=session_id,
                                            registry=registry, by_route=users_by_route)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                return await self._websocket(scope, receive, send)
            return await self.app(scope, receive, send)
        if self.exclude and scope["path"].startswith(self.exclude):
            return await self.app(scope, receive, send)
        start = perf_counter()
        metrics = self.metrics
        method = scope["method"]
        if method not in METHODS:
            method = "_OTHER"
        # One object is the request's Work (what monitors below read), its entry among
        # the running requests, and its route once resolved.
        request = _Request(scope, method)
        inflight = metrics.inflight
        inflight[id(request)] = request
        status = 0
        size = 0
        end = 0.0
        streamed = False
        settle = self._settle_on_start

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status, size, end, streamed
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if not message.get("more_body", False):
                    end = perf_counter()
                elif not streamed:
                    streamed = True
                    label = request.route() or self.unmatched
                    if label is not None:
                        metrics.first_byte(method, label, perf_counter() - start)
            elif message["type"] == "http.response.start":
                status = message["status"]
                if settle:
                    request.settle(metrics)
            await send(message)

        token = _WORK.set(request)
        user = None
        if self.activity is not None:
            user = self.activity.see(scope)
        error = ""
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            name = type(exc).__name__
            if name in DISCONNECTS or (isinstance(exc, OSError) and status):
                status, error = 499, ""
            else:
                error = error_type(exc)
                if not status or not end:
                    status = 500
                if EXCEPTION_HOOKS:
                    run_exception_hooks(exc, request)
            raise
        finally:
            _WORK.reset(token)
            del inflight[id(request)]
            child = request.child
            if child is not None:
                child.dec()
            if not end:
                end = perf_counter()
                if not error and status != 500:
                    status = 499  # the app gave up on a response the client left
            elif not error and status >= 500:
                caught = scope.get(EXC_KEY)  # a framework turned it into this response
                error = error_type(caught) if caught is not None else status_label(status)
            label = request._name or request.route() or self.unmatched
            if user is not None:
                self.activity.see_route(label or UNMATCHED, user)
            if label is not None:
                length = None
                if method not in _NO_BODY:
                    length = _content_length(scope)
                metrics.record(method, label, status, scope.get("scheme", "http"), error,
                               end - start, length, size)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        ws = self._ws
        if ws is None:
            ws = self._ws = websocket_metrics(self.registry, self.max_series)
        root = scope.get("root_path", "")
        start = perf_counter()
        counts = [0, 0]
        close = ["1000"]
        state: list[Any] = [None]

        def route() -> Any:
            if state[0] is None:
                label = scope_route(scope, root)
                if label is not None:
                    state[0] = label
                    ws.active.labels(label).inc()
            return state[0]

        async def receive_wrapper() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "websocket.receive":
                counts[0] += 1
            elif message["type"] == "websocket.disconnect":
                close[0] = str(message.get("code", 1000))
            return message

        async def send_wrapper(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "websocket.send":
                counts[1] += 1
            elif kind == "websocket.accept":
                route()
            elif kind == "websocket.close":
                close[0] = str(message.get("code", 1000))
            await send(message)

        token = set_work(Work("http", resolve=lambda: scope_route(scope, root)))
        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BaseException:
            close[0] = "1011"
            raise
        finally:
            reset_work(token)
            label = state[0]
            if label is not None:
                ws.active.labels(label).dec()
                ws.duration.labels(label, close[0]).observe(perf_counter() - start)
                if counts[0]:
                    ws.messages.labels(label, "received").inc(counts[0])
                if counts[1]:
                    ws.messages.labels(label, "sent").inc(counts[1])


def _content_length(scope: dict[str, Any]) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def litestar_after_exception(exc: BaseException, scope: dict[str, Any]) -> None:
    """Litestar turns a handler's exception into a 500 response itself; this
    ``after_exception`` hook keeps its type for ``error_type`` and hands it to the error
    capture (``Litestar(..., after_exception=[litestar_after_exception])``)."""
    if getattr(exc, "status_code", 500) < 500:  # NotFound, validation...: not errors
        return
    scope[EXC_KEY] = exc
    if EXCEPTION_HOOKS:
        run_exception_hooks(exc, _WORK.get())
