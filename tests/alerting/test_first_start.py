"""Done when: a fresh ``watchkeeper serve`` evaluates the default rules, and a planted
condition (a scrape target that is down) fires one and reaches a local webhook."""

from __future__ import annotations

import subprocess
import sys
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
