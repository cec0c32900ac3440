"""``/mcp`` on a running ``watchkeeper serve``, through the real client SDK over streamable
HTTP: stateless, behind the server's auth, refusing foreign Host headers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from serve_process import ServeProcess

pytestmark = pytest.mark.peer

TOKEN = "mcp-test-token-1234"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = {"checks": [{"type": "tcp", "name": "ledger", "critical": True,
                          "parameters": {"host": "127.0.0.1", "port": 1}}],
              "web": {"auth": {"bearer_tokens": [TOKEN]}},
              "global": {"collect_interval": "1s"}}
    with ServeProcess(tmp_path_factory.mktemp("mcphttp"), config,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as server:
        yield server


def _call(url: str, token: str | None, name: str, args: dict) -> object:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from mcp import ClientSession

    async def run() -> object:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
                streamable_http_client(f"{url}/mcp", http_client=http) as streams, \
                ClientSession(streams[0], streams[1]) as s:
            await s.initialize()
            tools = await s.list_tools()
            return [t.name for t in tools.tools], await s.call_tool(name, args)

    return asyncio.run(asyncio.wait_for(run(), 60))


def test_tools_over_streamable_http(served):
    names, result = _call(served.url, TOKEN, "health", {})
    assert "status" in names and len(names) == 10
    assert not result.is_error
    checks = {c["check"]: c for c in result.structured_content["checks"]}
    assert checks["ledger"]["status"] == "fail"
    _, q = _call(served.url, TOKEN, "query", {"expr": "up{job=\"watchkeeper\""})
    assert q.is_error and "parse error" in q.content[0].text


def test_mcp_needs_the_servers_credentials(served):
    r = httpx.post(f"{served.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 401


def test_a_foreign_host_header_is_refused(served):
    r = httpx.post(f"{served.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                   headers={"Accept": "application/json, text/event-stream",
                            "Authorization": f"Bearer {TOKEN}",
                            "Host": "evil.example:80"})
    assert r.status_code in (400, 403, 421)


def test_no_mcp_beyond_localhost_without_auth(caplog):
    from types import SimpleNamespace

    from watchkeeper.config import parse_config
    from watchkeeper.server.app import _mcp_endpoint

    async def endpoint(text: str) -> object:
        service = SimpleNamespace(config=parse_config(text, "<config>").config)
        async with _mcp_endpoint(None, service) as ep:
            return ep

    assert asyncio.run(endpoint("web: {listen_address: '0.0.0.0:9797'}\n")) is None
    assert "reachable beyond localhost" in caplog.text
    assert asyncio.run(endpoint("web: {mcp: {enabled: false}}\n")) is None


def test_tool_calls_are_counted_on_the_servers_metrics(served):
    _call(served.url, TOKEN, "query", {"expr": "rate(up[5m"})
    counted = 'watchkeeper_mcp_tool_calls_total{tool="query",outcome="error"}'
    text = served.wait_until(lambda: (lambda t: t if counted in t else None)(
        served.client.get("/metrics").text), 30, "the calls to reach /metrics")
    assert 'watchkeeper_mcp_tool_calls_total{tool="health",outcome="ok"}' in text
    assert 'watchkeeper_mcp_tool_calls_total{tool="query",outcome="error"}' in text
    assert 'watchkeeper_mcp_result_bytes_bucket{tool="health",le="2048.0"}' in text
    assert "watchkeeper_mcp_tool_duration_seconds_count" in text


def test_the_sdk_is_imported_only_by_the_server():
    import subprocess
    import sys

    code = ("import sys, watchkeeper, watchkeeper.metrics, watchkeeper.health, "
            "watchkeeper.exposition, watchkeeper.mcp.tools, watchkeeper.mcp.status, "
            "watchkeeper.cli.mcp; print(sorted(m for m in sys.modules "
            "if m == 'mcp' or m.startswith('mcp.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={"PYTHONPATH": ":".join(sys.path)})
    assert out.stdout.strip() == "[]", out.stderr


def test_a_reload_rebuilds_mcp(tmp_path):
    """Prefix, allowlist and on/off follow the config a reload brings, with no restart;
    the first server's settings are gone once the reload is answered."""
    config = {"web": {"auth": {"bearer_tokens": [TOKEN]},
                      "mcp": {"allow": ["status", "health"]}}}
    with ServeProcess(tmp_path, config, headers={"Authorization": f"Bearer {TOKEN}"}) as server:
        names, _ = _call(server.url, TOKEN, "health", {})
        assert sorted(names) == ["health", "status"]

        def reload(mcp: dict) -> None:
            server.config["web"]["mcp"] = mcp
            server.write_config(server.config)
            r = server.client.post("/-/reload")
            assert r.status_code == 200, r.text

        reload({"tool_prefix": "wk_"})
        names, result = _call(server.url, TOKEN, "wk_health", {})
        assert len(names) == 10 and all(n.startswith("wk_") for n in names)
        assert not result.is_error
        reload({"enabled": False})
        off = server.client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                 headers={"Accept": "application/json, text/event-stream"})
        assert off.status_code == 404
        reload({"allow": ["status"]})
        names, _ = _call(server.url, TOKEN, "status", {})
        assert names == ["status"]
        assert "Traceback" not in server.log()
