"""Done when: a fresh ``watchkeeper serve`` evaluates the default rules, and a planted
condition (a scrape target that is down) fires one and reaches a local webhook."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from receiver_server import WebhookReceiver

from peers import free_port
from watchkeeper.alerting.packs import load_pack

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))
from serve_process import ServeProcess

pytestmark = pytest.mark.peer


def test_a_fresh_server_shows_the_default_rules_and_says_how_to_add_a_receiver(
        tmp_path: Path) -> None:
    with ServeProcess(tmp_path) as server:
        groups = server.client.get("/api/v1/rules").json()["data"]["groups"]
        served = {r["name"] for g in groups for r in g["rules"]}
        shipped = {r.alert for g in load_pack("defaults") for r in g.rules}
        assert shipped <= served and "TargetDown" in served
        status = server.client.get("/api/v1/notifications").json()["data"]
        assert status["configured"] is False and "WATCHKEEPER_NOTIFY" in status["hint"]
        server.wait_until(lambda: "no alert receiver is configured" in server.log(), 10,
                          "the hint in the log")
        listed = subprocess.run(
            [sys.executable, "-m", "watchkeeper.cli.main", "rules", "list", "--url",
             server.url, "--json"], capture_output=True, text=True, timeout=60)
        rows = {r["name"]: r for r in json.loads(listed.stdout)}
        assert rows["TargetDown"]["source"] == "pack defaults", listed.stderr
        assert rows["TargetDown"]["state"] == "inactive" and rows["TargetDown"]["for"] == "5m"


def test_a_down_target_fires_the_default_rule_and_reaches_the_webhook(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    config = {
        "global": {"evaluation_interval": "1s", "scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "api", "static_configs": [
            {"targets": [f"127.0.0.1:{free_port()}"]}]}],  # nothing listens there
        "default_rules": {"override": {"TargetDown": {"for": "2s"}}},
        "alerting": {
            "route": {"receiver": "ops", "group_by": ["alertname"], "group_wait": "0s",
                      "group_interval": "1s"},
            "receivers": [{"name": "ops", "webhook_configs": [{"url": receiver.url}]}]},
    }
    try:
        with ServeProcess(tmp_path, config) as server:
            server.wait_until(lambda: any(
                b["groupLabels"].get("alertname") == "TargetDown" for b in receiver.bodies),
                60, "TargetDown at the webhook")
            body = next(b for b in receiver.bodies
                        if b["groupLabels"].get("alertname") == "TargetDown")
            [alert] = body["alerts"]
            assert alert["labels"]["job"] == "api" and alert["labels"]["severity"] == "warning"
            assert alert["annotations"]["runbook_url"] == "docs/runbooks.md#targetdown"
            assert body["idempotencyKey"] == f"{body['groupKey']}#1"
            listed = subprocess.run(
                [sys.executable, "-m", "watchkeeper.cli.main", "alerts", "--url", server.url,
                 "list"], capture_output=True, text=True, timeout=60)
            assert "TargetDown" in listed.stdout, listed.stderr
    finally:
        receiver.close()


class _Metrics(BaseHTTPRequestHandler):
    body = "".join(f'items{{n="{i}"}} {i}\n' for i in range(95)).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_target_near_its_sample_limit_fires_before_it_is_refused(tmp_path: Path) -> None:
    target = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    config = {
        "global": {"evaluation_interval": "1s", "scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "big", "sample_limit": 100, "static_configs": [
            {"targets": [f"127.0.0.1:{target.server_address[1]}"]}]}],
        "default_rules": {"override": {"ScrapeSampleLimitHit": {"for": "1s"}}},
    }
    try:
        with ServeProcess(tmp_path, config) as server:
            alert = server.wait_until(lambda: next((
                a for a in server.client.get("/api/v1/alerts").json()["data"]["alerts"]
                if a["labels"]["alertname"] == "ScrapeSampleLimitHit"
                and a["state"] == "firing"), None), 60, "ScrapeSampleLimitHit firing")
            assert alert["labels"]["job"] == "big" and float(alert["value"]) == 0.95
    finally:
        target.shutdown()
        target.server_close()
