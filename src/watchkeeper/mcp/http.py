"""``/mcp`` on ``watchkeeper serve``: the same tools over streamable HTTP, stateless, so
any replica can answer. The tools read the server's own routes in-process (no second
connection, no credentials to hold); ``/mcp`` itself sits behind the server's auth, and the
SDK's DNS-rebinding protection allows only the listen address as Host and Origin."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from .backend import Backend


class _InProcess:
    """A sync client for the tools (which the SDK runs in worker threads) that sends each
    request through the app on the server's own event loop."""

    def __init__(self, app: Any) -> None:
        import httpx

        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://watchkeeper.internal")

    def get(self, path: str, params: Any = None) -> Any:
        import anyio.from_thread

        return anyio.from_thread.run(lambda: self._client.get(path, params=params))

    def post(self, path: str, json: Any = None) -> Any:
        import anyio.from_thread

        return anyio.from_thread.run(lambda: self._client.post(path, json=json))

    async def aclose(self) -> None:
        await self._client.aclose()


@contextlib.asynccontextmanager
async def mcp_endpoint(app: Any, listen: str, write: bool = False,
                       redactor: Callable[[], Any] | None = None, prefix: str = "",
                       allow: set[str] | None = None, oauth: Any = None,
                       engine: Callable[[], Any] | None = None,
                       ) -> AsyncIterator[tuple[Any, list[Any]]]:
    """Yields the ASGI app to route at ``/mcp`` (and any routes to add beside it) while the
    SDK's session manager runs; ``redactor`` returns the running config's (a reload swaps
    it); with ``oauth``, ``/mcp`` takes OAuth tokens (see ``oauth.py``)."""
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings

    from .server import build

    client = _InProcess(app)
    server = build(Backend(client, engine=engine), write=write, redactor=redactor, prefix=prefix,
                   allow=allow)
    host = listen.rsplit(":", 1)[0] or "127.0.0.1"
    hosts = {host, "127.0.0.1", "localhost", "[::1]"}
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:*" for h in sorted(hosts)],
        allowed_origins=[f"http://{h}:*" for h in sorted(hosts)]
        + [f"https://{h}:*" for h in sorted(hosts)])
    server.streamable_http_app(stateless_http=True, json_response=True,
                               transport_security=security)
    manager = server.session_manager
    async with manager.run():
        try:
            endpoint: Any = StreamableHTTPASGIApp(manager)
            routes: list[Any] = []
            if oauth is not None:
                from .oauth import protect

                endpoint, routes = protect(endpoint, oauth, listen)
            yield endpoint, routes
        finally:
            await client.aclose()
