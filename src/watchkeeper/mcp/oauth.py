"""``/mcp`` as an OAuth 2.1 resource server, as the MCP authorization spec asks: a bearer
token is checked by RFC 7662 introspection at the authorization server, must be active,
unexpired, issued for this server (its audience is ``resource_url``, RFC 8707) and carry
the required scopes. Anything else, including an authorization server that cannot be
reached, is a 401 with the RFC 9728 metadata URL: it fails closed."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("watchkeeper.mcp")

#: A verified token is trusted this long before it is introspected again (seconds).
CACHE_SECONDS = 60.0
CACHE_SIZE = 1000
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _same_resource(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def check(oauth: Any) -> None:
    """ValueError when ``oauth`` cannot be safe (introspection in clear off localhost)."""
    host = urlsplit(oauth.introspection_url).hostname or ""
    if not oauth.introspection_url.startswith("https://") and host not in LOCAL_HOSTS:
        raise ValueError(f"introspection_url {oauth.introspection_url!r} must be https (or "
                         "on localhost): tokens would cross the network in clear")


class IntrospectionVerifier:
    """The SDK's ``TokenVerifier``: RFC 7662 introspection with audience and expiry checks,
    positive answers cached for a minute (never past the token's expiry)."""

    def __init__(self, introspection_url: str, resource_url: str, client_id: str = "",
                 client_secret: str = "", timeout: float = 5.0) -> None:
        self.url = introspection_url
        self.resource = resource_url
        self.auth = (client_id, client_secret) if client_id else None
        self.timeout = timeout
        self._cache: dict[bytes, tuple[float, Any]] = {}

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        key = hashlib.sha256(token.encode()).digest()
        now = time.time()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        claims = await self._introspect(token)
        if claims is None or claims.get("active") is not True:
            return None
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp <= now:
            return None
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else list(aud or [])
        if not any(_same_resource(str(a), self.resource) for a in audiences):
            log.warning("/mcp refused a token issued for %s, not %s", audiences, self.resource)
            return None
        access = AccessToken(token=token, client_id=str(claims.get("client_id") or "unknown"),
                             scopes=str(claims.get("scope") or "").split(),
                             expires_at=int(exp) if isinstance(exp, int | float) else None,
                             resource=self.resource, subject=claims.get("sub"),
                             claims={"iss": claims.get("iss")} if claims.get("iss") else None)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        until = now + CACHE_SECONDS
        self._cache[key] = (min(until, exp) if isinstance(exp, int | float) else until, access)
        return access

    async def _introspect(self, token: str) -> dict[str, Any] | None:
        import httpx

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                r = await client.post(self.url, data={"token": token,
                                                      "token_type_hint": "access_token"},
                                      auth=self.auth)
            if r.status_code != 200:
                log.warning("token introspection answered HTTP %s", r.status_code)
                return None
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            log.warning("token introspection failed (%s): the token is refused", e)
            return None
        return body if isinstance(body, dict) else None


def protect(endpoint: Any, oauth: Any, listen: str) -> tuple[Any, list[Any]]:
    """``endpoint`` behind the SDK's bearer middleware with ``oauth``'s verifier, and the
    RFC 9728 protected resource metadata routes to add to the server."""
    from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
    from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
    from mcp.server.auth.routes import (
        build_resource_metadata_url,
        create_protected_resource_routes,
    )
    from mcp.server.auth.settings import AuthSettings
    from starlette.middleware.authentication import AuthenticationMiddleware

    resource = oauth.resource_url or f"http://{listen}/mcp"
    verifier = IntrospectionVerifier(oauth.introspection_url, resource, oauth.client_id,
                                     oauth.client_secret.get_secret_value())
    # The SDK's settings keep a path-less issuer as written (issuers compare exactly).
    settings = AuthSettings(issuer_url=oauth.issuer_url, resource_server_url=resource,
                            required_scopes=list(oauth.required_scopes),
                            validate_token_resource=False)  # the verifier checks audience
    resource_url = settings.resource_server_url
    assert resource_url is not None
    guarded = AuthenticationMiddleware(
        AuthContextMiddleware(RequireAuthMiddleware(
            endpoint, list(oauth.required_scopes), build_resource_metadata_url(resource_url))),
        backend=BearerAuthBackend(verifier))
    routes = create_protected_resource_routes(
        resource_url, [settings.issuer_url],
        scopes_supported=list(oauth.required_scopes) or None,
        resource_name="watchkeeper")
    return guarded, routes


def open_paths(resource_url: str) -> frozenset[str]:
    """The paths the server's own auth must let through: ``/mcp`` checks its tokens here,
    and clients read the metadata before they have one."""
    path = urlsplit(resource_url).path.rstrip("/")
    return frozenset({"/mcp", f"/.well-known/oauth-protected-resource{path}"})
