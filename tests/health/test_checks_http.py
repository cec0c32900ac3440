"""HTTP and TCP checks against real local servers: answering, refusing, hanging, TLS."""

import base64
import json
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from peers import free_port, require_binary
from watchkeeper.health import Runner, Status, create_check


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/auth":
            expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
            self.send_response(200 if self.headers.get("Authorization") == expected else 401)
            self.end_headers()
            return
        if self.path == "/fail":
            self.send_response(500)
            self.end_headers()
            return
        body = json.dumps({"status": {"db": "up"}, "items": [1, 2]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(context=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def http_server():
    server = serve()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_one(check):
    return Runner([check]).run_sync()[0]


def test_http_endpoint_answering_as_expected(http_server):
    result = run_one(create_check("http", {
        "url": f"{http_server}/ok", "expected_status": [200], "body_contains": '"db"',
        "json_path": "$.status.db", "json_equals": "up"}))
    assert result.status is Status.HEALTHY, result.details
    assert result.observed_unit == "ms" and result.measurement == "responseTime"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"path": "/fail"}, "answered 500, expected 2xx or 3xx"),
        ({"expected_status": [204]}, "answered 200, expected 204"),
        ({"body_contains": "nowhere"}, "lacks 'nowhere'"),
        ({"json_path": "$.status.db", "json_equals": "down"},
         "$.status.db is 'up', expected 'down'"),
        ({"json_path": "items[5]"}, "items[5] not found"),
    ],
)
def test_http_conditions_that_fail(http_server, params, fragment):
    path = params.pop("path", "/ok")
    result = run_one(create_check("http", {"url": f"{http_server}{path}", **params}))
    assert result.status is Status.UNHEALTHY
    assert fragment in result.details


def test_a_port_nobody_listens_on():
    port = free_port()
    http = run_one(create_check("http", {"url": f"http://127.0.0.1:{port}/"}))
    tcp = run_one(create_check("tcp", {"host": "127.0.0.1", "port": port}))
    for result in (http, tcp):
        assert result.status is Status.UNHEALTHY
        assert f"cannot connect to 127.0.0.1:{port}: connection refused" in result.details


def test_a_server_that_accepts_and_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes handshakes; nobody ever reads or answers
        port = silent.getsockname()[1]
        result = run_one(create_check("http", {"url": f"http://127.0.0.1:{port}/"},
                                      timeout=1))
    assert result.status is Status.UNHEALTHY
    assert "accepted the connection but did not answer" in result.details


def test_tcp_port_open(http_server):
    port = int(http_server.rsplit(":", 1)[1])
    result = run_one(create_check("tcp", {"host": "127.0.0.1", "port": port}))
    assert result.status is Status.HEALTHY


def test_dns_resolves_localhost_and_checks_expected_addresses():
    ok = run_one(create_check("dns", {"hostname": "localhost", "family": "ipv4",
                                      "expected": ["127.0.0.1"]}))
    assert ok.status is Status.HEALTHY and "127.0.0.1" in ok.observed_value
    wrong = run_one(create_check("dns", {"hostname": "localhost", "family": "ipv4",
                                         "expected": ["10.9.9.9"]}))
    assert wrong.status is Status.UNHEALTHY and "not to expected 10.9.9.9" in wrong.details


@pytest.fixture(scope="module")
def short_lived_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 expiring in 3 days."""
    openssl = require_binary("openssl")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "3", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def https_server(short_lived_cert):
    cert, key = short_lived_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = serve(context)
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_certificate_expiring_in_3_days_is_degraded(https_server, short_lived_cert):
    cert, _ = short_lived_cert
    trusted = run_one(create_check("http", {"url": f"{https_server}/ok", "ca_file": str(cert)}))
    assert trusted.status is Status.DEGRADED, trusted.details
    assert "certificate expires in 2.9 days" in trusted.details \
        or "certificate expires in 3.0 days" in trusted.details
    unverified = run_one(create_check("http", {"url": f"{https_server}/ok",
                                               "verify_tls": False}))
    assert unverified.status is Status.DEGRADED, unverified.details
    relaxed = run_one(create_check("http", {"url": f"{https_server}/ok", "verify_tls": False,
                                            "cert_degraded_days": 1}))
    assert relaxed.status is Status.HEALTHY, relaxed.details


def test_untrusted_certificate_is_unhealthy(https_server):
    result = run_one(create_check("http", {"url": f"{https_server}/ok"}))
    assert result.status is Status.UNHEALTHY
    assert "certificate" in result.details and "rejected" in result.details


def test_credentials_in_the_url_are_sent_and_never_shown(http_server):
    url = http_server.replace("http://", "http://user:s3cret@") + "/auth"
    ok = run_one(create_check("http", {"url": url}))
    assert ok.status is Status.HEALTHY, ok.details
    assert "s3cret" not in ok.details and "user:***@" in ok.details
    wrong = run_one(create_check("http", {"url": url.replace("s3cret", "guess")}))
    assert wrong.status is Status.UNHEALTHY and "answered 401" in wrong.details
    assert "guess" not in wrong.details


def test_latency_thresholds_degrade(http_server):
    port = int(http_server.rsplit(":", 1)[1])
    # any answer takes at least 0 s, so a zero threshold always trips
    slow_http = run_one(create_check("http", {"url": f"{http_server}/ok",
                                              "degraded_latency": 0.0}))
    assert slow_http.status is Status.DEGRADED and "slower than 0 s" in slow_http.details
    slow_tcp = run_one(create_check("tcp", {"host": "127.0.0.1", "port": port,
                                            "degraded_latency": 0.0}))
    assert slow_tcp.status is Status.DEGRADED


def test_default_names_are_valid_for_ipv6_hosts():
    http = create_check("http", {"url": "http://[::1]:9/"})
    tcp = create_check("tcp", {"host": "::1", "port": 9})
    assert (http.name, tcp.name) == ("http-1", "tcp-1-9")
    result = run_one(tcp)
    assert result.status is Status.UNHEALTHY and "cannot connect to ::1:9" in result.details
