"""WSGI app for /metrics, and a stdlib HTTP server running it in a daemon thread."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..metrics.registry import REGISTRY
from .negotiation import bake_output


def make_wsgi_app(registry: Any = REGISTRY, disable_compression: bool = False) -> Callable:
    """A WSGI app serving the registry on any path (content negotiation, gzip, name[])."""

    def metrics_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        allow = [("Allow", "OPTIONS,GET,HEAD")]
        if method == "OPTIONS":
            start_response("200 OK", allow)
            return [b""]
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", allow)
            return [f"# HTTP 405 Method Not Allowed: {method}; use OPTIONS or GET\n".encode()]
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [])
            return [b""]
        params = parse_qs(environ.get("QUERY_STRING", ""))
        headers, body = bake_output(registry, environ.get("HTTP_ACCEPT"),
                                    environ.get("HTTP_ACCEPT_ENCODING"), params.get("name[]"),
                                    disable_compression)
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else body]

    return metrics_app


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are frequent; do not log each one."""


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _family(addr: str, port: int) -> socket.AddressFamily:
    infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    return infos[0][0]


def start_wsgi_server(
    port: int,
    addr: str = "127.0.0.1",
    registry: Any = REGISTRY,
    certfile: str | None = None,
    keyfile: str | None = None,
    disable_compression: bool = False,
) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics on ``addr:port`` from a daemon thread; returns (server, thread).

    Listens on 127.0.0.1 unless told otherwise: exposing metrics is a choice. With
    ``certfile`` (and ``keyfile``) it serves HTTPS.
    """
    server_cls = type("_Server", (_ThreadingWSGIServer,),
                      {"address_family": _family(addr, port)})
    app = make_wsgi_app(registry, disable_compression)
    httpd = make_server(addr, port, app, server_cls, handler_class=_SilentHandler)
    if certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name="watchkeeper-metrics",
                              daemon=True)
    thread.start()
    return httpd, thread


start_http_server = start_wsgi_server
