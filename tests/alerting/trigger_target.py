"""A scrape target whose values a test sets, and the alert rules that fire on them: for the
tests of servers that must notify once between them (HA pair, shared state)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ALERTS = [f"HaAlert{i:02d}" for i in range(1, 11)]


class Target:
    """A scrape target: ha_trigger{n} for each alert, and ha_failover, set by the test."""

    def __init__(self) -> None:
        self.failover = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                lines = [f'ha_trigger{{n="{i:02d}"}} 1' for i in range(1, 11)]
                lines.append(f"ha_failover {target.failover}")
                body = ("# TYPE ha_trigger gauge\n" + "\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def alert_rules(path: Path) -> Path:
    """A rule file: one alert per ALERTS name on ha_trigger{n}, and HaFailover."""
    rules = [f'      - alert: {name}\n        expr: ha_trigger{{n="{name[-2:]}"}} > 0\n'
             for name in ALERTS]
    rules.append("      - alert: HaFailover\n        expr: ha_failover > 0\n")
    path.write_text("groups:\n  - name: ha\n    rules:\n" + "".join(rules))
    return path
