"""A local webhook receiver for tests: records every POSTed JSON body, can be made to fail."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        self.hold: threading.Event | None = None  # when set: record, then wait before answering
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if outer.status < 300:
                    outer.bodies.append(body)
                    outer.headers.append(dict(self.headers))
                    outer.arrived.set()
                hold = outer.hold
                if hold is not None:
                    hold.wait(30)
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float = 20.0) -> list[Any]:
        import time
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
