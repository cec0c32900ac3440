"""``/mcp`` as an OAuth resource server (the MCP authorization spec), through the real client
SDK against a running ``watchkeeper serve``: tokens introspected at an authorization server
(RFC 7662), checked for audience, expiry and scope, the RFC 9728 metadata served, and every
failure, an unreachable authorization server included, a refusal."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx
import pytest
from serve_process import ServeProcess

from peers import free_port

pytestmark = pytest.mark.peer

STATIC = "static-web-token-93"  # the server's own web.auth token
CLIENT = ("watchkeeper-rs", "rs-secret-4417")


class Introspection(BaseHTTPRequestHandler):
    """An authorization server's RFC 7662 endpoint: what each token is, and who asked."""

    tokens: dict[str, dict] = {}
    callers: list[str] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        token = parse_qs(body).get("token", [""])[0]
        Introspection.callers.append(self.headers.get("authorization", ""))
        answer = json.dumps(self.tokens.get(token, {"active": False})).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    port = free_port()
    auth_server = ThreadingHTTPServer(("127.0.0.1", port), Introspection)
    threading.Thread(target=auth_server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{port}"
    server = ServeProcess(tmp_path_factory.mktemp("oauth"), {
        "web": {"auth": {"bearer_tokens": [STATIC]},
                "mcp": {"oauth": {"issuer_url": issuer,
                                  "introspection_url": f"{issuer}/introspect",
                                  "client_id": CLIENT[0], "client_secret": CLIENT[1],
                                  "required_scopes": ["mcp:read"]}}}},
        headers={"Authorization": f"Bearer {STATIC}"})
    resource = f"{server.url}/mcp"
    later = int(time.time()) + 3600
    good = {"active": True, "aud": resource, "scope": "mcp:read", "exp": later,
            "client_id": "claude", "sub": "alice", "iss": issuer}
    Introspection.tokens.update({
        "good-token": good,
        "late-token": good,
        "other-audience": {**good, "aud": "https://elsewhere.example/mcp"},
        "expired": {**good, "exp": int(time.time()) - 5},
        "no-scope": {**good, "scope": "profile"},
        "inactive": {**good, "active": False},
    })
    with server:
        yield server, issuer, auth_server
    auth_server.shutdown()


def _tools(url: str, token: str) -> tuple[list[str], object]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from mcp import ClientSession

    async def run() -> tuple[list[str], object]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                      timeout=30) as http, \
                streamable_http_client(f"{url}/mcp", http_client=http) as streams, \
                ClientSession(streams[0], streams[1]) as s:
            await s.initialize()
            names = [t.name for t in (await s.list_tools()).tools]
            return names, await s.call_tool("status", {})

    return asyncio.run(asyncio.wait_for(run(), 60))


def _post(url: str, token: str | None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/mcp", headers=headers, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}})


def test_an_introspected_token_reaches_the_tools_through_the_sdk(setup):
    server, _, _ = setup
    names, result = _tools(server.url, "good-token")
    assert "status" in names and not result.is_error
    assert "health" in result.structured_content
    user, password = base64.b64decode(Introspection.callers[-1].split()[1]).decode().split(":")
    assert (user, password) == CLIENT  # the server authenticates to the introspection


def test_refusals_point_to_the_metadata(setup):
    server, issuer, _ = setup
    r = _post(server.url, None)
    assert r.status_code == 401
    metadata_url = f"{server.url}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in r.headers["www-authenticate"]
    metadata = httpx.get(metadata_url).json()  # readable before the client has a token
    assert metadata["resource"] == f"{server.url}/mcp"
    assert metadata["authorization_servers"] == [issuer]
    assert metadata["scopes_supported"] == ["mcp:read"]
    for token in ("other-audience", "expired", "inactive", "never-issued", STATIC):
        assert _post(server.url, token).status_code == 401, token
    r = _post(server.url, "no-scope")
    assert r.status_code == 403 and "insufficient_scope" in r.headers["www-authenticate"]


def test_oauth_tokens_open_only_mcp(setup):
    server, _, _ = setup
    assert httpx.get(f"{server.url}/api/v1/query", params={"query": "up"},
                     headers={"Authorization": "Bearer good-token"}).status_code == 401
    assert server.client.get("/api/v1/query", params={"query": "up"}).status_code == 200


def test_an_unreachable_authorization_server_fails_closed(setup):
    server, _, auth_server = setup
    auth_server.shutdown()
    auth_server.server_close()
    assert _post(server.url, "late-token").status_code == 401


def test_oauth_alone_lets_mcp_listen_beyond_localhost(caplog):
    from types import SimpleNamespace

    from watchkeeper.config import parse_config
    from watchkeeper.server.app import _mcp_endpoint

    async def endpoint(text: str) -> object:
        service = SimpleNamespace(config=parse_config(text, "<config>").config,
                                  redactor=None)
        async with _mcp_endpoint(None, service) as ep:
            return ep

    oauth = ("web: {listen_address: '0.0.0.0:9797', mcp: {oauth: {issuer_url: "
             "'https://auth.example', introspection_url: '%s'}}}\n")
    assert asyncio.run(endpoint(oauth % "https://auth.example/introspect")) is not None
    assert asyncio.run(endpoint(oauth % "http://auth.example/introspect")) is None
    assert "must be https" in caplog.text
