"""Serving /metrics through ASGI, WSGI and the stdlib server: negotiation, gzip, filters."""

from __future__ import annotations

import asyncio
import gzip
import ssl
import subprocess
import threading
import urllib.request

import httpx
import pytest

from peers import free_port, require_binary
from watchkeeper.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_OPENMETRICS,
    choose_encoder,
    gzip_accepted,
    make_asgi_app,
    make_wsgi_app,
    start_http_server,
    start_wsgi_server,
    write_to_textfile,
)
from watchkeeper.metrics import CollectorRegistry, Counter, Gauge

OM = "application/openmetrics-text; version=1.0.0"


def _registry():
    reg = CollectorRegistry()
    c = Counter("hits", "Hits", ["path"], registry=reg)
    c.labels("/a").inc(3, exemplar={"trace_id": "t1"})
    Gauge("temp", "T", registry=reg).set(1.5)
    return reg


def test_choose_encoder_and_gzip_accepted():
    assert choose_encoder(None)[1] == CONTENT_TYPE_LATEST
    assert choose_encoder("text/plain;version=0.0.4")[1] == CONTENT_TYPE_LATEST
    assert choose_encoder(f"{OM};q=0.9,text/plain;q=0.5")[1] == CONTENT_TYPE_OPENMETRICS
    assert choose_encoder("application/openmetrics-text")[1] == CONTENT_TYPE_OPENMETRICS
    assert choose_encoder("application/openmetrics-text; version=2.0.0")[1] == (
        CONTENT_TYPE_LATEST)
    assert gzip_accepted("deflate, GZIP;q=0.8")
    assert not gzip_accepted("gzip;q=0")
    assert not gzip_accepted(None)


async def _asgi_get(app, path="/metrics", headers=None, method="GET"):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers or {})


def test_asgi_negotiates_format_and_gzip():
    app = make_asgi_app(_registry())
    r = asyncio.run(_asgi_get(app))
    assert r.status_code == 200
    assert r.headers["content-type"] == CONTENT_TYPE_LATEST
    assert 'hits_total{path="/a"} 3.0' in r.text and "trace_id" not in r.text
    r = asyncio.run(_asgi_get(app, headers={"Accept": OM, "Accept-Encoding": "gzip"}))
    assert r.headers["content-type"] == CONTENT_TYPE_OPENMETRICS
    assert r.headers["content-encoding"] == "gzip"
    assert '# {trace_id="t1"} 3.0' in r.text and r.text.endswith("# EOF\n")
    r = asyncio.run(_asgi_get(app, "/metrics?name[]=temp"))
    assert "temp 1.5" in r.text and "hits" not in r.text
    assert asyncio.run(_asgi_get(app, method="POST")).status_code == 405
    head = asyncio.run(_asgi_get(app, method="HEAD"))
    assert head.status_code == 200 and head.content == b""


def test_asgi_renders_off_the_event_loop():
    """A collector blocks until the event loop itself releases it: that can only happen if
    the render runs in another thread."""
    released = threading.Event()
    blocked_loop = []

    class Waiting:
        def collect(self):
            if not released.wait(timeout=10):
                blocked_loop.append(True)
            return []

    reg = CollectorRegistry()
    reg.register(Waiting())

    async def main():
        scrape = asyncio.create_task(_asgi_get(make_asgi_app(reg)))
        await asyncio.sleep(0.05)
        released.set()
        return await scrape

    assert asyncio.run(main()).status_code == 200
    assert not blocked_loop


def test_wsgi_app_directly():
    app = make_wsgi_app(_registry())
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics",
                         "QUERY_STRING": "", "HTTP_ACCEPT_ENCODING": "gzip"}, start_response))
    assert seen["status"] == "200 OK" and seen["headers"]["Content-Encoding"] == "gzip"
    assert b'hits_total{path="/a"} 3.0' in gzip.decompress(body)
    app({"REQUEST_METHOD": "DELETE", "PATH_INFO": "/"}, start_response)
    assert seen["status"].startswith("405")


@pytest.mark.parametrize("start", [start_http_server, start_wsgi_server])
def test_real_server_on_a_free_port(start):
    port = free_port()
    httpd, thread = start(port, registry=_registry())
    try:
        assert thread.daemon
        req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                     headers={"Accept": OM, "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.headers["Content-Type"] == CONTENT_TYPE_OPENMETRICS
            text = gzip.decompress(resp.read()).decode()
        assert 'hits_total{path="/a"} 3.0' in text and text.endswith("# EOF\n")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
            assert b"temp 1.5" in resp.read()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_write_to_textfile(tmp_path):
    path = tmp_path / "metrics.prom"
    write_to_textfile(str(path), _registry())
    assert 'hits_total{path="/a"} 3.0' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.prom"]


def test_https_with_certfile(tmp_path):
    openssl = require_binary("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    httpd, _ = start_http_server(port, registry=_registry(), certfile=str(cert),
                                 keyfile=str(key))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=10,
                                    context=context) as resp:
            assert b'hits_total{path="/a"} 3.0' in resp.read()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_mounted_in_fastapi():
    fastapi = pytest.importorskip("fastapi")
    app = fastapi.FastAPI()
    app.mount("/metrics", make_asgi_app(_registry()))
    r = asyncio.run(_asgi_get(app, "/metrics/", headers={"Accept-Encoding": "gzip"}))
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert 'hits_total{path="/a"} 3.0' in r.text
