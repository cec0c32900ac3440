"""Outgoing HTTP: transport-level hooks for httpx, requests and aiohttp.

    client = httpx.Client(transport=HTTPXTransport())              # or instrument_httpx(client)
    client = httpx.AsyncClient(transport=AsyncHTTPXTransport())
    instrument_requests(session)                                  # mounts a MetricsAdapter
    aiohttp.ClientSession(trace_configs=[aiohttp_trace_config()])

One shape for all three: ``http_client_request_duration_seconds{http_request_method,
server_address, http_response_status_code, error_type}`` (time to the response headers) and
``http_client_active_requests{http_request_method, server_address}``. ``server_address``
keeps the first 50 hosts seen and folds the rest into ``_other`` (a host never moves), so a
crawler cannot mint series. A timeout, a refused connection and a 5xx each have their own
``error_type``: the exception's type, or the status code.
"""

from __future__ import annotations

import threading
import weakref
from time import perf_counter
from typing import Any

from ..metrics import Gauge, Histogram
from ..metrics.registry import REGISTRY, CollectorRegistry
from .httpmetrics import _STATUS, METHODS, SEMCONV_BUCKETS, error_type

OTHER = "_other"
MAX_HOSTS = 50


class ClientMetrics:
    def __init__(self, registry: CollectorRegistry | None, max_hosts: int = MAX_HOSTS) -> None:
        labels = ["http_request_method", "server_address"]
        self.duration = Histogram(
            "http_client_request_duration_seconds", "Duration of HTTP client requests.",
            [*labels, "http_response_status_code", "error_type"], buckets=SEMCONV_BUCKETS,
            registry=registry, max_label_sets=10_000)
        self.active = Gauge("http_client_active_requests", "HTTP client requests in flight.",
                            labels, registry=registry, multiprocess_mode="livesum",
                            max_label_sets=10_000)
        self.max_hosts = max_hosts
        self.pools = PoolCollector()
        if registry is not None:
            registry.register(self.pools)
        self._hosts: dict[str | bytes, str] = {}
        self._labels: set[str] = set()
        self._targets: dict[tuple[str, str | bytes], _Target] = {}
        self._by_label: dict[tuple[str, str], _Target] = {}
        self._lock = threading.Lock()

    def host(self, host: str | bytes) -> str:
        label = self._hosts.get(host)  # type: ignore[arg-type]
        if label is None:
            with self._lock:
                label = self._hosts.get(host)
                if label is None:
                    name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
                    label = self._hosts.get(name)  # type: ignore[assignment]
                    if label is None:
                        label = name if len(self._labels) < self.max_hosts else OTHER
                        if label is not OTHER:
                            self._labels.add(label)
                    if len(self._hosts) < 10 * self.max_hosts:
                        self._hosts[host] = label  # type: ignore[index]
                        self._hosts[name] = label
        return label

    def target(self, method: str, host: str | bytes) -> _Target:
        """The bound children of one (method, host): a repeat request is one dict lookup."""
        target = self._targets.get((method, host))
        if target is None:
            label = method if method in METHODS else "_OTHER"
            server = self._hosts.get(host) or self.host(host)  # type: ignore[arg-type]
            target = self._by_label.get((label, server))
            if target is None:
                with self._lock:
                    target = self._by_label.setdefault((label, server),
                                                       _Target(self, label, server))
            if len(self._targets) < 20 * self.max_hosts:
                self._targets[(method, host)] = target
        return target

    def start(self, method: str, host: str | bytes) -> tuple[_Target, float]:
        """A request begins: counted as active; give the state to :meth:`end`."""
        target = self.target(method, host)
        target.active.inc()
        return target, perf_counter()

    def end(self, state: tuple[_Target, float], status: int,
            exc: BaseException | None = None) -> None:
        target, start = state
        if exc is None:
            target.done(status, start)
        else:
            target.failed(exc, start)


class _Target:
    """One (method, server) pair: its active gauge and its duration children by status."""

    __slots__ = ("_by_status", "_metrics", "active", "method", "server")

    def __init__(self, metrics: ClientMetrics, method: str, server: str) -> None:
        self._metrics = metrics
        self.method = method
        self.server = server
        self.active = metrics.active.labels(method, server)
        self._by_status: dict[int, Any] = {}

    def done(self, status: int, start: float) -> None:
        elapsed = perf_counter() - start
        self.active.dec()
        observe = self._by_status.get(status)
        if observe is None:
            code = _STATUS.get(status) or str(status)
            observe = self._metrics.duration.labels(
                self.method, self.server, code, code if status >= 500 else "").observe
            if len(self._by_status) < 100:
                self._by_status[status] = observe
        observe(elapsed)

    def failed(self, exc: BaseException, start: float) -> None:
        elapsed = perf_counter() - start
        self.active.dec()
        self._metrics.duration.labels(self.method, self.server, "",
                                      error_type(exc)).observe(elapsed)


def _httpx_pool(transport: Any) -> tuple[int, int]:
    connections = list(getattr(getattr(transport, "_pool", None), "connections", ()))
    idle = sum(1 for c in connections if c.is_idle())
    return idle, len(connections) - idle


def _requests_pool(adapter: Any) -> tuple[int, int]:
    idle = 0
    for key in list(adapter.poolmanager.pools.keys()):
        pool = adapter.poolmanager.pools.get(key)
        queue = getattr(getattr(pool, "pool", None), "queue", ())
        idle += sum(1 for conn in list(queue) if conn is not None)
    return idle, -1  # urllib3 does not tell connections in use


def _aiohttp_pool(connector: Any) -> tuple[int, int]:
    idle = sum(len(conns) for conns in list(getattr(connector, "_conns", {}).values()))
    return idle, len(getattr(connector, "_acquired", ()))


class PoolCollector:
    """``http_client_pool_connections{library, state}``: idle and in-use connections of the
    instrumented clients' pools, read at scrape time (nothing on the request path)."""

    def __init__(self) -> None:
        self._sources: weakref.WeakKeyDictionary[Any, tuple[str, Any]] = (
            weakref.WeakKeyDictionary())

    def watch(self, obj: Any, library: str, reader: Any) -> None:
        try:
            if obj not in self._sources:
                self._sources[obj] = (library, reader)
        except TypeError:  # not weakly referenceable: not watched
            pass

    def collect(self) -> list[Any]:
        from ..metrics.family import GaugeMetricFamily

        totals: dict[tuple[str, str], float] = {}
        for obj, (library, reader) in list(self._sources.items()):
            try:
                idle, active = reader(obj)
            except Exception:  # a library changed its internals: skip, never fail a scrape
                continue
            totals[(library, "idle")] = totals.get((library, "idle"), 0) + idle
            if active >= 0:
                totals[(library, "in_use")] = totals.get((library, "in_use"), 0) + active
        family = GaugeMetricFamily("http_client_pool_connections",
                                   "Connections in the instrumented clients' pools.",
                                   labels=["library", "state"])
        for (library, state), value in sorted(totals.items()):
            family.add_metric([library, state], value)
        return [family]


_lock = threading.Lock()
_sets: weakref.WeakKeyDictionary[Any, ClientMetrics] = weakref.WeakKeyDictionary()


def client_metrics(registry: CollectorRegistry | None = REGISTRY) -> ClientMetrics:
    with _lock:
        if registry is None:
            return ClientMetrics(None)
        found = _sets.get(registry)
        if found is None:
            found = _sets[registry] = ClientMetrics(registry)
        return found


# -- httpx ------------------------------------------------------------------------------------

def _httpx_transports() -> tuple[type, type]:
    import httpx

    class HTTPXTransport(httpx.BaseTransport):
        """Wraps an httpx transport (default ``httpx.HTTPTransport()``)."""

        def __init__(self, transport: Any = None, *, registry: Any = REGISTRY,
                     **kwargs: Any) -> None:
            self.transport = transport or httpx.HTTPTransport(**kwargs)
            self.metrics = client_metrics(registry)
            self.metrics.pools.watch(self.transport, "httpx", _httpx_pool)

        def handle_request(self, request: Any) -> Any:
            target = self.metrics.target(request.method, request.url.raw_host)
            target.active.inc()
            start = perf_counter()
            try:
                response = self.transport.handle_request(request)
            except BaseException as exc:
                target.failed(exc, start)
                raise
            target.done(response.status_code, start)
            return response

        def close(self) -> None:
            self.transport.close()

    class AsyncHTTPXTransport(httpx.AsyncBaseTransport):
        """Wraps an async httpx transport (default ``httpx.AsyncHTTPTransport()``)."""

        def __init__(self, transport: Any = None, *, registry: Any = REGISTRY,
                     **kwargs: Any) -> None:
            self.transport = transport or httpx.AsyncHTTPTransport(**kwargs)
            self.metrics = client_metrics(registry)
            self.metrics.pools.watch(self.transport, "httpx", _httpx_pool)

        async def handle_async_request(self, request: Any) -> Any:
            target = self.metrics.target(request.method, request.url.raw_host)
            target.active.inc()
            start = perf_counter()
            try:
                response = await self.transport.handle_async_request(request)
            except BaseException as exc:
                target.failed(exc, start)
                raise
            target.done(response.status_code, start)
            return response

        async def aclose(self) -> None:
            await self.transport.aclose()

    return HTTPXTransport, AsyncHTTPXTransport


def __getattr__(name: str) -> Any:
    if name in ("HTTPXTransport", "AsyncHTTPXTransport"):
        sync, asyn = _httpx_transports()
        globals().update(HTTPXTransport=sync, AsyncHTTPXTransport=asyn)
        return globals()[name]
    if name == "MetricsAdapter":
        globals()["MetricsAdapter"] = _requests_adapter()
        return globals()[name]
    raise AttributeError(name)


def instrument_httpx(client: Any, registry: CollectorRegistry | None = REGISTRY) -> Any:
    """Wrap an existing ``httpx.Client`` or ``AsyncClient``'s transport; returns the client."""
    import httpx

    sync, asyn = __getattr__("HTTPXTransport"), __getattr__("AsyncHTTPXTransport")
    cls = asyn if isinstance(client, httpx.AsyncClient) else sync
    if not isinstance(client._transport, cls):
        client._transport = cls(client._transport, registry=registry)
    return client


# -- requests ---------------------------------------------------------------------------------

def _requests_adapter() -> type:
    from requests.adapters import HTTPAdapter

    class MetricsAdapter(HTTPAdapter):
        """An ``HTTPAdapter`` that measures every request it sends."""

        def __init__(self, *args: Any, registry: Any = REGISTRY, **kwargs: Any) -> None:
            self.metrics = client_metrics(registry)
            super().__init__(*args, **kwargs)
            self.metrics.pools.watch(self, "requests", _requests_pool)

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            from urllib.parse import urlsplit

            state = self.metrics.start(request.method or "GET",
                                       urlsplit(request.url).hostname or "")
            try:
                response = super().send(request, *args, **kwargs)
            except BaseException as exc:
                self.metrics.end(state, 0, exc)
                raise
            self.metrics.end(state, response.status_code)
            return response

    return MetricsAdapter


def instrument_requests(session: Any, registry: CollectorRegistry | None = REGISTRY,
                        **adapter_kwargs: Any) -> Any:
    """Mount a :class:`MetricsAdapter` on ``session`` for http:// and https://."""
    adapter = __getattr__("MetricsAdapter")(registry=registry, **adapter_kwargs)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- aiohttp ----------------------------------------------------------------------------------

def aiohttp_trace_config(registry: CollectorRegistry | None = REGISTRY) -> Any:
    """An ``aiohttp.TraceConfig`` measuring each request of the sessions it is given to."""
    import aiohttp

    metrics = client_metrics(registry)
    config = aiohttp.TraceConfig()

    async def on_start(session: Any, ctx: Any, params: Any) -> None:
        connector = session.connector
        if connector is not None and connector not in metrics.pools._sources:
            metrics.pools.watch(connector, "aiohttp", _aiohttp_pool)
        ctx.watchkeeper = metrics.start(params.method, params.url.host or "")

    async def on_end(session: Any, ctx: Any, params: Any) -> None:
        state = getattr(ctx, "watchkeeper", None)
        if state is not None:
            ctx.watchkeeper = None
            metrics.end(state, params.response.status)

    async def on_exception(session: Any, ctx: Any, params: Any) -> None:
        state = getattr(ctx, "watchkeeper", None)
        if state is not None:
            ctx.watchkeeper = None
            metrics.end(state, 0, params.exception)

    config.on_request_start.append(on_start)
    config.on_request_end.append(on_end)
    config.on_request_exception.append(on_exception)
    return config
