"""Sentry SDK ingest: ``POST /api/{project}/envelope/`` and the legacy ``/store/``.

Code that calls ``sentry_sdk.init(dsn="http://KEY@127.0.0.1:9090/1")`` reports here
unchanged. Auth: the SDK sends its DSN key in ``X-Sentry-Auth``, not ``Authorization``, so
:class:`SentryKeyAuth` hands that key (and the DSN secret, if any) to the server's auth as a
bearer token (or basic credentials): with auth on, the DSN's key must be a token of the
server. The raw body is capped by the server's body limit before anything is decompressed,
and decompression stops at ``MAX_DECOMPRESSED``.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_PATH = re.compile(r"^/api/[^/]+/(?:envelope|store)/?$")


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"status": "error", "errorType": "bad_data", "error": message,
                         "detail": message}, status_code=status)


class SentryRoutes:
    def __init__(self, errors: Any) -> None:
        self.errors = errors  # routes_errors.ErrorRoutes: the store, opened on first use

    async def _ingest(self, request: Request, envelope: bool) -> JSONResponse:
        from watchkeeper.errorstore.envelope import (
            EnvelopeError,
            decompress,
            parse_envelope,
            parse_store,
        )

        body = await request.body()
        try:
            raw = decompress(body, request.headers.get("content-encoding", ""))
            if envelope:
                header, events, skipped = parse_envelope(raw)
            else:
                header, events, skipped = {}, [parse_store(raw)], 0
        except EnvelopeError as e:
            return _error(str(e), e.status)
        project = request.path_params["project"]
        for event in events:
            tags = event.get("tags")
            if isinstance(tags, dict):
                tags.setdefault("project", project)
        stored: list[dict[str, Any]] = []
        if events:
            store = await asyncio.to_thread(self.errors.store)
            stored = await asyncio.to_thread(store.add_events, events)
        event_id = header.get("event_id") if isinstance(header.get("event_id"), str) else \
            (events[0].get("event_id") if events else None)
        return JSONResponse({"id": event_id, "accepted": len(stored), "skipped": skipped,
                             "groups": [s["group"] for s in stored]})

    async def envelope(self, request: Request) -> JSONResponse:
        return await self._ingest(request, True)

    async def store(self, request: Request) -> JSONResponse:
        return await self._ingest(request, False)

    def routes(self) -> list[Route]:
        return [Route("/api/{project}/envelope/", self.envelope, methods=["POST"]),
                Route("/api/{project}/store/", self.store, methods=["POST"])]


class SentryKeyAuth:
    """On the Sentry ingest paths only: a DSN key becomes the ``Authorization`` the
    server's auth checks (``Bearer KEY``, or basic ``KEY:SECRET`` when the DSN has one)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _PATH.match(scope.get("path", "")):
            headers = list(scope.get("headers") or [])
            names = {k for k, _ in headers}
            if b"authorization" not in names or _is_sentry(headers):
                credential = _credential(dict(headers), scope.get("query_string", b""))
                if credential is not None:
                    headers = [(k, v) for k, v in headers if k != b"authorization"]
                    headers.append((b"authorization", credential))
                    scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def _is_sentry(headers: list[tuple[bytes, bytes]]) -> bool:
    value = dict(headers).get(b"authorization", b"")
    return value[:7].lower() == b"sentry "


def _credential(headers: dict[bytes, bytes], query: bytes) -> bytes | None:
    from watchkeeper.errorstore.envelope import sentry_auth

    params = sentry_auth(headers, query.decode("latin-1"))
    key, secret = params.get("sentry_key"), params.get("sentry_secret")
    if not key:
        return None
    if secret:
        return b"Basic " + base64.b64encode(f"{key}:{secret}".encode())
    return f"Bearer {key}".encode("latin-1", "replace")
