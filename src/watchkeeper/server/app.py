"""The server's ASGI app: routes that call the rooms, behind auth and a body limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute

from watchkeeper.health.asgi import starlette_routes

from . import (
    metadata,
    openapi,
    routes_analysis,
    routes_errors,
    routes_host,
    routes_operations,
    routes_otlp,
    routes_push,
    routes_reports,
    routes_resources,
    routes_sentry,
    routes_status,
)
from .auth import AuthMiddleware, BodyLimitMiddleware
from .lifecycle import Service
from .mcp_mount import McpMount
from .redaction import RedactResponses
from .stream import Streamer

VERSION = "0.1.0"
log = logging.getLogger("watchkeeper.server")


def create_app(service: Service, config_path: str | None = None) -> Any:
    """The whole server as one ASGI app; its lifespan starts and stops ``service``."""
    from watchkeeper.promql.http_api import create_app as promql_app

    status = routes_status.make_routes(service, config_path)
    push = routes_push.make_routes(service)
    meta = metadata.make_routes(service)
    state: dict[str, Any] = {}
    errors = routes_errors.ErrorRoutes(service)
    service.error_store = errors.store
    service.registry.register(errors.collector())

    def streamer() -> Streamer:
        return state["streamer"]

    async def ws_stream(ws: Any) -> None:
        await streamer().websocket(ws)

    async def sse_stream(request: Request) -> Any:
        return await streamer().sse(request)

    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(openapi.document(VERSION))

    routes: list[Any] = [
        Route("/metrics", _ASGI(service.exposition), methods=["GET", "HEAD"]),
        *routes_resources.make_routes(service),
        *starlette_routes("/health", service.runner, service_id="watchkeeper",
                          version=VERSION),
        Route("/-/healthy", status["healthy"], methods=["GET", "HEAD"]),
        Route("/-/ready", status["ready"], methods=["GET", "HEAD"]),
        Route("/-/reload", status["reload"], methods=["POST", "PUT"]),
        Route("/api/v1/targets", status["targets"]),
        Route("/api/v1/targets/metadata", meta["targets_metadata"]),
        Route("/api/v1/metadata", meta["metadata"]),
        Route("/api/v1/status/config", status["status_config"]),
        Route("/api/v1/status/flags", status["status_flags"]),
        Route("/api/v1/status/tsdb", status["status_tsdb"]),
        Route("/api/v1/status/runtimeinfo", status["runtimeinfo"]),
        Route("/api/v1/status/remote_write", status["status_remote_write"]),
        Route("/api/v1/status/host", routes_host.host_status),
        Route("/api/v1/operations", routes_operations.make_route(service)),
        *routes_analysis.make_routes(service),
        Route("/api/v1/write", push["remote_write"], methods=["POST"]),
        Route("/api/v1/import/prometheus", push["import_prometheus"], methods=["POST"]),
        Route("/v1/metrics", routes_otlp.make_route(service), methods=["POST"]),
        Route("/api/v1/openapi.json", openapi_json),
        Route("/api/v1/stream/sse", sse_stream),
        WebSocketRoute("/api/v1/stream", ws_stream),
        *errors.routes(),
        *routes_reports.make_routes(service, errors.store),
        *routes_sentry.SentryRoutes(errors).routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stack = contextlib.AsyncExitStack()
        await service.start()
        assert service.store is not None
        engine = service.engine
        state["streamer"] = service.streamer = Streamer(service, engine)
        if service.alerting is not None:
            app.router.routes.extend(service.alerting.routes())
        api = promql_app(service.store, engine, version=VERSION)
        app.router.routes.extend(api.routes)
        mcp = McpMount(lambda: _mcp_endpoint(app, service), lambda: _mcp_settings(service))
        await mcp.start(stack)  # rebuilt when a reload changes what it depends on
        state["mcp"] = mcp
        app.router.routes.append(Route("/.well-known/oauth-protected-resource{rest:path}",
                                       _ASGI(mcp.extras)))
        app.router.routes.append(Route("/mcp", _ASGI(mcp), methods=["GET", "POST", "DELETE"]))
        page = _DashboardPage(service)
        page.current()  # built now, not on the first visitor's request
        app.router.routes.append(Mount("/", app=page))
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(
                _reload_logged(service, config_path)))
        try:
            yield
        finally:
            await stack.aclose()
            await service.stop()
            errors.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    limited = BodyLimitMiddleware(app, lambda: service.config.web.max_body_bytes)
    redacted = RedactResponses(_cross_site_guard(limited), lambda: service.redactor)
    authed = AuthMiddleware(redacted, lambda: service.auth, lambda: _mcp_open_paths(service))
    return routes_sentry.SentryKeyAuth(authed)


@contextlib.asynccontextmanager
async def _mcp_endpoint(app: Any, service: Service) -> AsyncIterator[Any]:
    """``/mcp`` when the config allows it and the ``mcp`` extra is installed; a server
    listening beyond localhost serves it only behind its auth."""
    web = service.config.web
    if not web.mcp.enabled:
        yield None
        return
    host = web.host_port[0]
    if (host not in ("127.0.0.1", "localhost", "::1") and not web.auth.enabled
            and web.mcp.oauth is None):
        log.warning("/mcp is off: %s is reachable beyond localhost and neither web.auth "
                    "(a bearer token or user) nor web.mcp.oauth is set", web.listen_address)
        yield None
        return
    try:
        from watchkeeper.mcp.http import mcp_endpoint
    except ImportError as e:
        log.info("/mcp is off: the mcp extra is not installed (%s)", e)
        yield None
        return
    if web.mcp.oauth is not None:
        from watchkeeper.mcp.oauth import check

        try:
            check(web.mcp.oauth)
        except ValueError as e:  # an OAuth setting that cannot be safe: no /mcp at all
            log.error("/mcp is off: %s", e)
            yield None
            return
    async with mcp_endpoint(app, web.listen_address, write=web.mcp.write,
                            redactor=lambda: service.redactor, prefix=web.mcp.tool_prefix,
                            allow=set(web.mcp.allow) if web.mcp.allow else None,
                            oauth=web.mcp.oauth, engine=lambda: service.engine) as served:
        yield served


def _mcp_settings(service: Service) -> Any:
    """What ``/mcp`` is built from: a reload that changes any of it rebuilds it."""
    web = service.config.web
    return (web.mcp.model_dump(), web.listen_address, web.auth.enabled)


def _mcp_open_paths(service: Service) -> frozenset[str]:
    """With OAuth at ``/mcp``, its tokens are checked there, not by the server's auth."""
    oauth = service.config.web.mcp.oauth
    if oauth is None:
        return frozenset()
    from watchkeeper.mcp.oauth import open_paths

    return open_paths(oauth.resource_url or "/mcp")


async def _reload_logged(service: Service, config_path: str | None) -> None:
    """SIGHUP's reload: nobody awaits it, so any failure is logged here."""
    try:
        await service.reload(config_path)
    except Exception:
        log.exception("config reload failed")  # the log filter hides any secret in it


class _DashboardPage:
    """The dashboard at ``/`` with the config's dashboards, rebuilt when a reload changes
    them; the API keeps serving if the page cannot load."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._built_for: Any = None
        self._app: Any = None

    def current(self) -> Any:
        dashboards = self.service.loaded.dashboards
        if self._app is None or dashboards is not self._built_for:
            try:
                from watchkeeper.dashboard import dashboard_app

                self._app = dashboard_app(dashboards)
            except Exception as e:
                log.error("dashboard unavailable: %s", e)
                self._app = PlainTextResponse("dashboard unavailable (see the log)\n", 503)
            self._built_for = dashboards
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.current()(scope, receive, send)


def _cross_site_guard(app: Any) -> Any:
    """Refuse cross-site state changes (a page elsewhere posting to /-/reload)."""
    try:
        from watchkeeper.dashboard.csrf import CrossSiteGuard
    except Exception as e:
        log.error("cross-site guard unavailable: %s", e)
        return app
    return CrossSiteGuard(app)


class _ASGI:
    """Wraps an ASGI function so Starlette's Route calls it as an app, not an endpoint."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
