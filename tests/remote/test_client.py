"""The shared client reads answers by each protocol's rules: remote write resends 5xx (and
429 when configured, after its Retry-After), OTLP/HTTP resends 429/502/503/504 after their
Retry-After; every other non-2xx answer is refused for good."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from watchkeeper.config.models import OTLPExportConfig, RemoteWriteConfig
from watchkeeper.remote.client import Client, Refused, Retry, auth_header


@pytest.fixture
def answering():
    """A local server answering each POST with the status and headers queued for it."""
    queued: list[tuple[int, dict[str, str]]] = []
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(dict(self.headers))
            status, headers = queued.pop(0)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            body = b"why"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/write"
    yield url, queued, seen
    server.shutdown()
    server.server_close()


def _outcome(client: Client, queued, status: int, headers=None):
    queued.append((status, headers or {}))
    try:
        return ("ok", client.post(b"body"))
    except Retry as e:
        return ("retry", e.delay)
    except Refused as e:
        return ("refused", str(e))


def test_remote_write_rules(answering) -> None:
    url, queued, seen = answering
    plain = Client(RemoteWriteConfig(url=url, basic_auth={"username": "u", "password": "p"}))
    assert _outcome(plain, queued, 200) == ("ok", b"why")
    assert _outcome(plain, queued, 500, {"Retry-After": "7"}) == ("retry", None)
    assert _outcome(plain, queued, 503) == ("retry", None)
    assert _outcome(plain, queued, 429, {"Retry-After": "7"}) == ("refused", "HTTP 429: why")
    assert _outcome(plain, queued, 400)[0] == "refused"
    assert _outcome(plain, queued, 302)[0] == "refused"  # as Prometheus: only 5xx recover
    on_429 = Client(RemoteWriteConfig(url=url, queue_config={"retry_on_http_429": True}))
    assert _outcome(on_429, queued, 429, {"Retry-After": "7"}) == ("retry", 7.0)
    assert seen[0]["Content-Encoding"] == "snappy"
    assert seen[0]["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert seen[0]["Authorization"] == "Basic dTpw"
    assert seen[0]["User-Agent"].startswith("watchkeeper/")


def test_otlp_rules(answering) -> None:
    url, queued, seen = answering
    cfg = OTLPExportConfig(url=url, authorization={"credentials": "tok"})
    otlp = Client(cfg, timeout=cfg.timeout, headers={"Content-Type": "application/x-protobuf"},
                  retryable=frozenset({429, 502, 503, 504}).__contains__)
    for status in (429, 502, 503, 504):
        assert _outcome(otlp, queued, status, {"Retry-After": "2"}) == ("retry", 2.0)
    assert _outcome(otlp, queued, 500)[0] == "refused"
    assert _outcome(otlp, queued, 400)[0] == "refused"
    assert seen[0]["Authorization"] == "Bearer tok" == auth_header(cfg)
    assert "Content-Encoding" not in seen[0]


def test_a_connection_error_is_retried(answering) -> None:
    from tests.peers import free_port

    client = Client(RemoteWriteConfig(url=f"http://127.0.0.1:{free_port()}/write"))
    with pytest.raises(Retry, match="connection error"):
        client.post(b"body")
