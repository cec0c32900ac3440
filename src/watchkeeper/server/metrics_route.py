"""``/metrics`` of the server, answered from the collection the collector loop already made.

Why: rendering the registry anew for every request made /metrics cost a full collection and
render each time (about 1,000 requests/s), while the collector loop collects the same
families every ``collect_interval`` anyway. Each collection is rendered at most once per
format (text 0.0.4 or OpenMetrics, plain or gzip), on the first request that wants it, and
every later request until the next collection is a dictionary lookup and a send. The body is
at most one collection interval old, as a scrape of the store would be. ``?name[]=`` filters
and requests before the first collection render the live registry as before.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from watchkeeper.exposition.asgi import make_asgi_app
from watchkeeper.exposition.negotiation import choose_encoder, gzip_accepted


class _Collected:
    """One collection's families as a collector, so the renderers take it as a registry."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        return self.families


class CachedExposition:
    """The latest collection and its rendered bodies, one per (format, gzip)."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.live = make_asgi_app(registry)
        self.renders = 0  # bodies rendered (for tests and the bench: not one per request)
        # the collection and its bodies, replaced as one (the collector loop is a thread)
        self._state: tuple[_Collected, dict[tuple[Callable[..., bytes], bool], Any]] | None = None

    def update(self, families: list[Any]) -> None:
        """A new collection (any thread): later requests render and serve this one."""
        self._state = (_Collected(list(families)), {})

    def _render(self, collected: _Collected, encoder: Callable[..., bytes],
                compress: bool) -> bytes:
        body = encoder(collected)
        self.renders += 1
        return gzip.compress(body, compresslevel=6) if compress else body

    async def body(self, encoder: Callable[..., bytes], compress: bool) -> bytes:
        """This collection's body, rendered once however many requests ask at the same time."""
        assert self._state is not None
        collected, bodies = self._state
        key = (encoder, compress)
        found = bodies.get(key)
        if found is None:
            found = bodies[key] = asyncio.ensure_future(
                asyncio.to_thread(self._render, collected, encoder, compress))
        if isinstance(found, bytes):
            return found
        body = await found
        if bodies.get(key) is found:
            bodies[key] = body
        return body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or self._state is None
                or scope.get("method", "GET") not in ("GET", "HEAD")
                or (b"name" in scope.get("query_string", b"") and
                parse_qs(scope["query_string"].decode("latin-1")).get("name[]"))):
            await self.live(scope, receive, send)
            return
        accept = encoding = None
        for k, v in scope.get("headers", ()):
            if k == b"accept":
                accept = v.decode("latin-1")
            elif k == b"accept-encoding":
                encoding = v.decode("latin-1")
        encoder, content_type = choose_encoder(accept)
        compress = gzip_accepted(encoding)
        body = await self.body(encoder, compress)
        headers = [(b"content-type", content_type.encode("latin-1")),
                   (b"content-length", str(len(body)).encode())]
        if compress:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})
