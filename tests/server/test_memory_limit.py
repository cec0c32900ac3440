"""``watchkeeper serve`` under an address-space limit: decompression bombs, huge declared
lengths, many labels, huge label values and huge bodies are each refused with 400/413,
and the server is alive after every one (a 4 GiB allocation attempt would kill it)."""

from __future__ import annotations

import gzip
import socket
import sys
import time
from pathlib import Path

import cramjam
import pytest
import zstandard
from serve_process import ServeProcess

from watchkeeper.server.remote_write import encode_write_request

pytestmark = pytest.mark.peer

LIMIT_AS = 1 << 30  # the interpreter, numpy and the store need ~350 MiB of address space
MIB = 1 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    launcher = [sys.executable, str(Path(__file__).with_name("rlimit_launcher.py")),
                str(LIMIT_AS)]
    proc = ServeProcess(tmp_path_factory.mktemp("rlimit"), {"collect_host": False},
                        launcher=launcher, env={"MALLOC_ARENA_MAX": "2"})
    with proc:
        yield proc
        log = proc.log()
        assert "MemoryError" not in log and "Traceback" not in log, log[-3000:]


def _alive(server: ServeProcess) -> None:
    assert server.proc is not None and server.proc.poll() is None, server.log()[-3000:]
    assert server.client.get("/health/live").status_code == 200


def _snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def _post(server: ServeProcess, path: str, body: bytes, encoding: str) -> tuple[int, str]:
    response = server.client.post(path, content=body, headers={"Content-Encoding": encoding})
    return response.status_code, response.text


def test_the_server_runs_under_the_limit_and_takes_real_work(server) -> None:
    now = int(time.time() * 1000)
    body = _snappy(encode_write_request([({"__name__": "under_limit", "i": str(i)}, now, 1.0)
                                         for i in range(20_000)]))
    assert _post(server, "/api/v1/write", body, "snappy")[0] == 204
    assert len(server.query("under_limit")) == 20_000
    _alive(server)


def test_bombs_and_declared_lengths(server) -> None:
    cases = {
        # 37 bytes declaring 4 GiB - 16: the decompressor alone would abort the process
        "snappy declaring 4 GiB": ("/api/v1/write", b"\xf0\xff\xff\xff\x0f" + b"\0" * 32,
                                   "snappy", 413),
        "snappy declaring 33 MiB": ("/api/v1/write", _snappy(b"\0" * (33 * MIB)), "snappy",
                                    413),
        "snappy of 30 MiB (under the cap)": ("/api/v1/write", _snappy(b"\x07" * (30 * MIB)),
                                             "snappy", 400),
        "gzip of 256 MiB": ("/api/v1/import/prometheus",
                          gzip.compress(b"\0" * (256 * MIB), compresslevel=1), "gzip", 413),
        "zstd declaring 2 GiB": ("/api/v1/import/prometheus",
                                 zstandard.ZstdCompressor().compress(b"\0" * (64 * MIB))[:64],
                                 "zstd", 413),
        "zstd of 64 MiB": ("/api/v1/import/prometheus",
                           zstandard.ZstdCompressor().compress(b"#" * (64 * MIB)), "zstd", 413),
        "sentry gzip of 256 MiB": ("/api/1/envelope/",
                                   gzip.compress(b"{}" + b" " * (256 * MIB), compresslevel=1),
                                   "gzip", 413),
    }
    for name, (path, body, encoding, expected) in cases.items():
        status, text = _post(server, path, body, encoding)
        assert status == expected, (name, status, text[:300])
        _alive(server)


def test_a_huge_declared_content_length_is_refused_without_reading(server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\n"
                     b"Content-Length: 10737418240\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    _alive(server)


def test_huge_bodies_many_labels_and_huge_label_values(server) -> None:
    def chunks():
        for _ in range(40):
            yield b"#" * MIB

    response = server.client.post("/api/v1/import/prometheus", content=chunks())
    assert response.status_code == 413
    _alive(server)
    now = int(time.time() * 1000)
    many = {"__name__": "many", **{f"l{i}": "v" for i in range(100_000)}}
    huge = {"__name__": "huge", "v": "x" * (20 * MIB)}
    for labels, expected in ((many, "100001 labels"), (huge, "has a value of")):
        status, text = _post(server, "/api/v1/write",
                             _snappy(encode_write_request([(labels, now, 1.0)])), "snappy")
        assert status == 400 and expected in text, text[:300]
        _alive(server)
    text = "huge_text{v=\"" + "x" * (20 * MIB) + "\"} 1\n"
    status, answer = _post(server, "/api/v1/import/prometheus",
                           gzip.compress(text.encode(), compresslevel=1), "gzip")
    assert status == 400 and "has a value of" in answer, answer[:300]
    _alive(server)
