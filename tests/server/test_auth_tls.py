"""Auth on everything but the liveness probe, hashed basic passwords, TLS, JSON logs."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import httpx
import pytest
from serve_process import ServeProcess

from watchkeeper.server.auth import Authenticator, hash_password, verify_password


def test_password_hashes_verify_only_the_right_password() -> None:
    encoded = hash_password("correct horse", n=2**10)
    assert encoded.startswith("scrypt$") and "correct horse" not in encoded
    assert verify_password("correct horse", encoded)
    assert not verify_password("wrong", encoded)
    assert not verify_password("x", "garbage")


def test_hash_password_command() -> None:
    out = subprocess.run([sys.executable, "-m", "watchkeeper.cli.main", "serve",
                          "--hash-password"], input="pw\n", capture_output=True, text=True,
                         check=True).stdout.strip()
    assert verify_password("pw", out)


def test_authenticator_bearer_and_basic() -> None:
    import base64

    auth = Authenticator(["tok"], {"ops": hash_password("pw", n=2**10)})
    assert auth.allows(b"Bearer tok")
    assert not auth.allows(b"Bearer other") and not auth.allows(b"")
    assert auth.allows(b"Basic " + base64.b64encode(b"ops:pw"))
    assert not auth.allows(b"Basic " + base64.b64encode(b"ops:nope"))
    assert not auth.allows(b"Basic !!!")


def test_served_routes_need_credentials_except_liveness(tmp_path) -> None:
    config = {"web": {"auth": {"bearer_tokens": ["tok-123"],
                               "basic_auth_users": {"ops": hash_password("pw", n=2**10)}}},
              "checks": [{"type": "memory"}]}
    server = ServeProcess(tmp_path, config, args=("--log-format", "json"))
    with server:
        anon = httpx.Client(base_url=server.url, timeout=10)
        assert anon.get("/health/live").status_code == 200
        for path in ("/health", "/health/ready", "/metrics", "/api/v1/query?query=up",
                     "/api/v1/status/config"):
            assert anon.get(path).status_code == 401, path
        assert anon.post("/-/reload").status_code == 401
        assert anon.get("/metrics", headers={"Authorization": "Bearer tok-123"}).status_code \
            == 200
        assert anon.get("/health", auth=("ops", "pw")).status_code == 200
        assert anon.get("/health", auth=("ops", "bad")).status_code == 401
        text = anon.get("/api/v1/status/config", auth=("ops", "pw")).json()["data"]["yaml"]
        assert "tok-123" not in text and "scrypt$" not in text
        big = anon.post("/api/v1/import/prometheus", content=b"x" * (33 * 2**20),
                        headers={"Authorization": "Bearer tok-123"})
        assert big.status_code == 413
        anon.close()
    lines = [line for line in server.log().splitlines() if line.startswith("{")]
    assert lines and all("level" in json.loads(line) for line in lines)
    assert "tok-123" not in server.log()


def test_tls_from_cert_and_key_files(tmp_path) -> None:
    openssl = subprocess.run(["openssl", "version"], capture_output=True, check=False)
    if openssl.returncode != 0:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, check=True)
    config = {"web": {"tls_cert_file": str(cert), "tls_key_file": str(key)},
              "checks": [{"type": "memory"}]}
    server = ServeProcess(tmp_path / "s", config)
    server.url = server.url.replace("http://", "https://")
    trust = ssl.create_default_context(cafile=str(cert))
    server.client = httpx.Client(base_url=server.url, timeout=10, verify=trust)
    with server:
        assert server.client.get("/health/ready").status_code == 200
