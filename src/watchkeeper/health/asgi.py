"""The health endpoints as an ASGI app, mountable anywhere (Starlette, FastAPI, ...).

Mounted at ``/health`` it serves ``/health``, ``/health/live`` and ``/health/ready``;
it also works as a whole app. Checks run in the runner's background loop, never in the
request path unless ``?fresh=1`` asks for it.
"""

from __future__ import annotations

from typing import Any

from .endpoints import NOT_ALLOWED, NOT_FOUND, HealthEndpoints, Response, kind_of
from .runner import Runner

Scope = dict[str, Any]


class HealthASGIApp:
    def __init__(self, endpoints: HealthEndpoints) -> None:
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        kind = kind_of(path)
        if kind is None:
            response = NOT_FOUND
        elif scope.get("method", "GET") not in ("GET", "HEAD"):
            response = NOT_ALLOWED
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            response = await self.endpoints.handle_async(kind, query)
        await _send(send, response, scope.get("method") == "HEAD")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.endpoints.runner.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.endpoints.runner.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


_encoded: dict[int, tuple[Response, list[tuple[bytes, bytes]]]] = {}


def _raw_headers(response: Response) -> list[tuple[bytes, bytes]]:
    """Encoded headers, memoised per response object (responses are cached and reused)."""
    hit = _encoded.get(id(response))
    if hit is not None and hit[0] is response:
        return hit[1]
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.all_headers()]
    if len(_encoded) > 256:
        _encoded.clear()
    _encoded[id(response)] = (response, raw)
    return raw


async def _send(send: Any, response: Response, head: bool) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": _raw_headers(response)})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


def make_asgi_app(runner: Runner | None = None, **options: Any) -> HealthASGIApp:
    """An ASGI app for the runner's checks (default: the ``@check``-decorated ones).

    ``options`` (service_id, version, description) go into the health+json document.
    """
    return HealthASGIApp(HealthEndpoints(runner, **options))


def starlette_routes(prefix: str = "/health", runner: Runner | None = None,
                     **options: Any) -> list[Any]:
    """Exact Starlette/FastAPI routes for ``prefix``, ``prefix/live`` and ``prefix/ready``.

    ``app.mount(prefix, make_asgi_app())`` also works, but answers ``prefix`` itself with a
    redirect to ``prefix/``; these routes answer all three paths directly.
    """
    from starlette.routing import Route

    app = make_asgi_app(runner, **options)
    base = "/" + prefix.strip("/")
    return [Route(base, app), Route(f"{base}/live", app), Route(f"{base}/ready", app)]
