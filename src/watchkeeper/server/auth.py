"""Bearer-token or basic auth (hashed passwords) for every route but ``/health/live``,
and a request body limit, as plain ASGI middleware.

Password hashes are ``scrypt$N$r$p$salt_hex$hash_hex`` (``hash_password`` makes one), so the
config file never holds a password. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

OPEN_PATHS = frozenset({"/health/live"})


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """A scrypt hash to put in ``web.auth.basic_auth_users``."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(bytes.fromhex(digest)))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


class Authenticator:
    """Checks an Authorization header against tokens and users; remembers good logins."""

    def __init__(self, tokens: list[str], users: dict[str, str]) -> None:
        self.tokens = [t.encode() for t in tokens]
        self.users = users
        self._good: set[bytes] = set()  # sha256 of headers already verified (scrypt is slow)

    @property
    def enabled(self) -> bool:
        return bool(self.tokens or self.users)

    def allows(self, header: bytes) -> bool:
        if not self.enabled:
            return True
        key = hashlib.sha256(header).digest()
        if key in self._good:
            return True
        ok = False
        scheme, _, credentials = header.partition(b" ")
        if scheme.lower() == b"bearer" and self.tokens:
            ok = any(hmac.compare_digest(credentials.strip(), t) for t in self.tokens)
        elif scheme.lower() == b"basic" and self.users:
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            encoded = self.users.get(user)
            ok = encoded is not None and verify_password(password, encoded)
        if ok and len(self._good) < 1000:
            self._good.add(key)
        return ok


async def _reply(send: Any, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"status": "error", "errorType": "unauthorized" if status == 401
                       else "bad_data", "error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """401 without valid credentials (WebSocket upgrades too), except the liveness probe."""

    def __init__(self, app: Any, get_auth: Any, get_open: Any = None) -> None:
        self.app = app
        self.get_auth = get_auth  # a callable, so a reload swaps credentials in place
        self.get_open = get_open  # paths that check their own credentials (OAuth at /mcp)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope["type"] in ("http", "websocket") and scope["path"] not in OPEN_PATHS
                and not (self.get_open is not None and scope["path"] in self.get_open())):
            auth: Authenticator = self.get_auth()
            if auth.enabled:
                header = dict(scope.get("headers") or []).get(b"authorization", b"")
                if not auth.allows(header):
                    if scope["type"] == "websocket":
                        await send({"type": "websocket.close", "code": 1008})
                        return
                    challenge = [(b"www-authenticate", b'Basic realm="watchkeeper"')]
                    await _reply(send, 401, "authentication required", challenge)
                    return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """413 for a request body over the limit, declared or streamed.

    A declared length is checked up front (the HTTP server never delivers more than it).
    A chunked body is read here, up to the limit, before the route sees any of it: a 413
    found half-way through a route's read could only be answered as a 500."""

    def __init__(self, app: Any, get_limit: Any) -> None:
        self.app = app
        self.get_limit = get_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.get_limit()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if limit and declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, f"request body over {limit} bytes")
            return
        if not limit or b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        buffered, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            seen += len(message.get("body", b""))
            if seen > limit:
                await _reply(send, 413, f"request body over {limit} bytes")
                return
            buffered.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> dict:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)
