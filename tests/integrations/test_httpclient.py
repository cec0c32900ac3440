import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import httpx
import pytest
import requests

from peers import free_port
from watchkeeper.integrations import httpclient
from watchkeeper.integrations.httpclient import (
    aiohttp_trace_config,
    instrument_httpx,
    instrument_requests,
)
from watchkeeper.metrics import CollectorRegistry

DUR = "http_client_request_duration_seconds_count"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: connections go back to the client's pool
    disable_nagle_algorithm = True
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(1.0)
        status = 503 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the client timed out on /slow: the late write fails, as expected


@pytest.fixture(scope="module")
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def outcomes(reg):
    out = {}
    for fam in reg.collect():
        for s in fam.samples:
            if s.name == DUR:
                key = (s.labels["server_address"], s.labels["http_response_status_code"],
                       s.labels["error_type"])
                out[key] = out.get(key, 0) + s.value
    return out


def expected(error_types):
    timeout, refused = error_types
    return {("127.0.0.1", "200", ""): 2, ("127.0.0.1", "503", "503"): 1,
            ("127.0.0.1", "", timeout): 1, ("127.0.0.1", "", refused): 1}


def test_httpx_sync(server):
    reg = CollectorRegistry()
    client = instrument_httpx(httpx.Client(timeout=30), registry=reg)
    client.get(server + "/ok")
    client.get(server + "/ok")
    pool = {"library": "httpx", "state": "idle"}
    assert reg.get_sample_value("http_client_pool_connections", pool) == 1
    client.get(server + "/fail")
    with pytest.raises(httpx.ReadTimeout):
        client.get(server + "/slow", timeout=0.2)
    with pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{free_port()}/")
    assert outcomes(reg) == expected(("httpx.ReadTimeout", "httpx.ConnectError"))
    client.close()
    assert reg.get_sample_value("http_client_pool_connections", pool) == 0
    assert reg.get_sample_value("http_client_active_requests", {
        "http_request_method": "GET", "server_address": "127.0.0.1"}) == 0


def test_httpx_async(server):
    reg = CollectorRegistry()

    async def go():
        transport = httpclient.AsyncHTTPXTransport(registry=reg)
        async with httpx.AsyncClient(transport=transport, timeout=30) as client:
            await client.get(server + "/ok")
            await client.get(server + "/ok")
            await client.get(server + "/fail")
            with pytest.raises(httpx.ReadTimeout):
                await client.get(server + "/slow", timeout=0.2)
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{free_port()}/")
    asyncio.run(go())
    assert outcomes(reg) == expected(("httpx.ReadTimeout", "httpx.ConnectError"))


def test_requests_adapter(server):
    reg = CollectorRegistry()
    session = instrument_requests(requests.Session(), registry=reg)
    session.get(server + "/ok", timeout=30)
    session.get(server + "/ok", timeout=30)
    assert reg.get_sample_value("http_client_pool_connections",
                                {"library": "requests", "state": "idle"}) == 1
    session.get(server + "/fail", timeout=30)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(server + "/slow", timeout=0.2)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"http://127.0.0.1:{free_port()}/", timeout=30)
    assert outcomes(reg) == expected(("requests.exceptions.ReadTimeout",
                                      "requests.exceptions.ConnectionError"))


def test_aiohttp_trace_config(server):
    reg = CollectorRegistry()

    async def go():
        # only the slow request has a short timeout: a loaded machine may take longer than
        # 0.2 s for the others, which must not time out
        async with aiohttp.ClientSession(trace_configs=[aiohttp_trace_config(reg)],
                                         timeout=aiohttp.ClientTimeout(total=30)) as session:
            for path in ("/ok", "/ok", "/fail"):
                async with session.get(server + path) as response:
                    await response.read()
            with pytest.raises(asyncio.TimeoutError):
                await session.get(server + "/slow", timeout=aiohttp.ClientTimeout(total=0.2))
            with pytest.raises(aiohttp.ClientConnectorError):
                await session.get(f"http://127.0.0.1:{free_port()}/")
            return reg.get_sample_value("http_client_pool_connections",
                                        {"library": "aiohttp", "state": "in_use"})
    assert asyncio.run(go()) == 0
    result = outcomes(reg)
    timeouts = [k for k in result if k[2].endswith("TimeoutError")]
    assert len(timeouts) == 1
    assert result == expected((timeouts[0][2], "aiohttp.client_exceptions."
                               "ClientConnectorError"))


def test_server_address_capped_to_fifty_hosts():
    metrics = httpclient.ClientMetrics(None)
    labels = {metrics.host(f"h{i}.example") for i in range(500)}
    assert len(labels) == 51 and "_other" in labels
    assert metrics.host("h3.example") == "h3.example"
