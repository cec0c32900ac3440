"""A stand-in Docker Engine on a unix socket (no Docker daemon on test machines): answers
each request by its path, one connection per request as the Engine API client makes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def docker_engine(path: str, answers: dict[str, tuple[int, bytes]]) -> Iterator[list[bytes]]:
    """Serve ``answers`` ({request path: (status, body)}) at ``path``; yields the request
    lines received."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(4)
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed: done
                return
            with conn:
                line = conn.recv(4096).split(b"\r\n", 1)[0]
                received.append(line)
                status, body = answers.get(line.split()[1].decode(), (404, b"{}"))
                conn.sendall(b"HTTP/1.0 %d X\r\nContent-Type: application/json\r\n\r\n"
                             % status + body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes the accept() (closing alone may not)
        server.close()
        thread.join(5)
