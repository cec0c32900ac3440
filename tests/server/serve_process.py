"""``watchkeeper serve`` as a real subprocess on a free port, and a test app to scrape.

Every wait is bounded; the process is always stopped (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from peers import free_port


class ServeProcess:
    def __init__(self, workdir: Path, config: dict[str, Any] | None = None,
                 args: tuple[str, ...] = (), headers: dict[str, str] | None = None,
                 launcher: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = copy.deepcopy(config or {})  # one dict may configure several servers
        self.config.setdefault("web", {})["listen_address"] = f"127.0.0.1:{self.port}"
        self.config_path = self.workdir / "watchkeeper.yml"
        self.data = self.workdir / "data"
        self.log_path = self.workdir / "serve.log"
        self.args = args
        self.headers = headers or {}
        # what runs `watchkeeper` (e.g. a wrapper that sets resource limits first)
        self.launcher = launcher or [sys.executable, "-m", "watchkeeper.cli.main"]
        self.env = env or {}
        self.client = httpx.Client(base_url=self.url, timeout=10, headers=self.headers)
        self.proc: subprocess.Popen | None = None

    def write_config(self, config: dict[str, Any] | str) -> None:
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        self.config_path.write_text(text)

    def start(self, timeout: float = 30.0) -> ServeProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.client.is_closed:
            self.client = httpx.Client(base_url=self.url, timeout=10, headers=self.headers)
        ours = not self.config_path.exists()  # a config this object wrote may change port
        if ours:
            self.write_config(self.config)
        for attempt in range(3):
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            try:
                self.wait_until(self._live, timeout, "the server to answer /health/live")
                return self
            except AssertionError:
                lost_port = "address already in use" in self.log()[log_start:]
                if not (ours and lost_port and attempt < 2):
                    raise
            # another process took the free port between choosing and binding: a new one
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.config.setdefault("web", {})["listen_address"] = f"127.0.0.1:{self.port}"
            self.write_config(self.config)
            self.client.close()
            self.client = httpx.Client(base_url=self.url, timeout=10, headers=self.headers)
        return self

    def _spawn(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(
            [*self.launcher, "serve", "--config",
             str(self.config_path), "--data", str(self.data), *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        log.close()

    def _live(self) -> bool:
        try:
            return self.client.get("/health/live").status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, probe: Any, timeout: float = 30.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"serve exited ({self.proc.returncode}):\n{self.log()}")
            try:
                result = probe()
            except (httpx.HTTPError, KeyError, IndexError, ValueError):
                result = None
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting for {what or probe}:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = self.client.get("/api/v1/query", params={"query": expr}).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def terminate(self, timeout: float = 10.0) -> float:
        """SIGTERM; returns how long the process took to exit."""
        assert self.proc is not None
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - start

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.client.close()

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


GOOD_BODY = (b"# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\n"
             b'app_requests_total{route="/a"} 7\napp_requests_total{route="/b"} 3\n'
             b"# TYPE go_goroutines gauge\ngo_goroutines 12\n"
             b'# TYPE labelled gauge\nlabelled{job="inner",instance="x"} 1\n')


def _huge_body(series: int) -> bytes:
    head = b"# TYPE huge gauge\n"
    return head + b"".join(b'huge{i="%d"} 1\n' % i for i in range(series))


class TargetApp:
    """Endpoints that behave well and badly: /good, /hang, /garbage, /huge, /secret."""

    def __init__(self, huge_series: int = 1_000_000) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.stop_event = threading.Event()
        self.garbage = os.urandom(10 * 1024 * 1024)
        self.huge = _huge_body(huge_series)
        self.hits: dict[str, int] = {}
        self.queries: dict[str, str] = {}  # path -> query string of its latest request
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: bytes, ctype: str = "text/plain; version=0.0.4") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                app.hits[path] = app.hits.get(path, 0) + 1
                app.queries[path] = query
                if path == "/good":
                    self._send(GOOD_BODY)
                elif path == "/hang":
                    app.stop_event.wait(60)
                elif path == "/garbage":
                    self._send(app.garbage)
                elif path == "/huge":
                    self._send(app.huge)
                elif path == "/secret":
                    if self.headers.get("Authorization") == "Bearer s3cret-token":
                        self._send(GOOD_BODY)
                    else:
                        self.send_response(401)
                        self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TargetApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
