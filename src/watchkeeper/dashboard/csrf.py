"""Refuse cross-site state changes: the guard a server with a browser UI and basic auth needs.

Once a user has logged in with basic auth, the browser attaches the credentials to every
request to the server, including a form another site submits. So a state-changing request
(POST, PUT, PATCH, DELETE) is refused with 403 when the browser says it came from elsewhere:
an ``Origin`` that is not the server's own, or ``Sec-Fetch-Site`` of ``cross-site`` or
``same-site``. Non-browser clients (curl, amtool, remote write) send neither header and pass.
The dashboard's own requests are same-origin and also carry ``X-Requested-With``.
"""

from __future__ import annotations

from typing import Any

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BODY = b'{"status":"error","errorType":"forbidden","error":"cross-site request refused"}'


def _own_origins(scope: dict[str, Any], headers: dict[bytes, bytes]) -> set[str]:
    """The origins this server answers as: its Host under its scheme (and a proxy's)."""
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        name, port = scope["server"]
        host = f"{name}:{port}"
    schemes = {scope.get("scheme", "http")}
    forwarded = headers.get(b"x-forwarded-proto")
    if forwarded:
        schemes.add(forwarded.decode("latin-1").split(",")[0].strip())
    return {f"{scheme}://{host}" for scheme in schemes}


def is_cross_site(scope: dict[str, Any]) -> bool:
    """Whether an unsafe request was sent by a page of another site."""
    if scope.get("type") != "http" or scope.get("method", "GET") not in UNSAFE:
        return False
    headers = dict(scope.get("headers") or [])
    fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = headers.get(b"origin")
    if origin is None:
        return False
    text = origin.decode("latin-1")
    return text == "null" or text not in _own_origins(scope, headers)


class CrossSiteGuard:
    """ASGI middleware: 403 for cross-site state changes, everything else passes through."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if is_cross_site(scope):
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(_BODY)).encode())]})
            await send({"type": "http.response.body", "body": _BODY})
            return
        await self.app(scope, receive, send)
