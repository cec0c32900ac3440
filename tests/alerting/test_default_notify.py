"""With no receiver configured, alerts still reach someone: WATCHKEEPER_NOTIFY (any
Apprise URL) gets every alert, and the server says how to add a receiver."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from receiver_server import WebhookReceiver
from starlette.applications import Starlette
from starlette.testclient import TestClient

from watchkeeper.alerting.notify import NOTIFY_ENV, RECEIVER_HINT, notify_receiver
from watchkeeper.alerting.service import AlertingService
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
RULES = """
groups:
  - name: g
    rules:
      - alert: DiskFull
        expr: disk_used_ratio > 0.95
        labels: {severity: critical}
        annotations: {summary: "disk {{ $labels.mount }} is full"}
"""


def make(tmp_path: Path, **extra) -> AlertingService:
    (tmp_path / "rules.yml").write_text(RULES)
    store = Store.open(tmp_path / "data", background=False)
    store.append({"__name__": "disk_used_ratio", "mount": "/var"}, T0, 0.99)
    store.commit()
    config = {"rule_files": [str(tmp_path / "rules.yml")], "evaluation_interval": "1s",
              "default_rules": {"enabled": False}, **extra}
    service = AlertingService(store, Engine(store), config, tmp_path / "alerting")
    service.store = store
    return service


def close(service: AlertingService) -> None:
    service.stop()
    service.store.close()


def test_the_environment_variable_notifies_every_alert_through_apprise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("apprise")
    receiver = WebhookReceiver()
    monkeypatch.setenv(NOTIFY_ENV, f"json://127.0.0.1:{receiver.port}/hook")
    service = make(tmp_path)
    try:
        service.evaluator.evaluate_all(T0)
        service.dispatcher.flush_due(T0 + 10_000)  # the notify route waits 10 s to group
        for integration in service.delivery.integrations:
            service.delivery.send_due(integration)
        [body] = receiver.wait(1)
        assert body["type"] == "failure" and "DiskFull" in body["title"]
        assert "disk /var is full" in body["message"]
        status = TestClient(Starlette(routes=service.routes())).get(
            "/api/v1/notifications").json()["data"]
        assert status["configured"] and status["notifyEnv"] and status["hint"] == ""
        assert status["integrations"][0]["sent"] == 1
        assert "127.0.0.1" not in str(status)  # an Apprise URL may hold a token
    finally:
        close(service)
        receiver.close()


def test_without_any_receiver_the_start_says_how_to_add_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(NOTIFY_ENV, raising=False)
    service = make(tmp_path)
    try:
        with caplog.at_level(logging.INFO, logger="watchkeeper.alerting.service"):
            service.start()
        assert RECEIVER_HINT in caplog.text and NOTIFY_ENV in RECEIVER_HINT
        service.evaluator.evaluate_all(T0)
        client = TestClient(Starlette(routes=service.routes()))
        status = client.get("/api/v1/notifications").json()["data"]
        assert status == {"receivers": [], "notifyEnv": False, "configured": False,
                          "integrations": [], "firing": 1, "hint": RECEIVER_HINT}
        [alert] = client.get("/api/v1/alerts").json()["data"]["alerts"]
        assert alert["labels"]["alertname"] == "DiskFull" and alert["state"] == "firing"
    finally:
        close(service)


def test_a_configured_receiver_needs_no_hint(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NOTIFY_ENV, raising=False)
    service = make(tmp_path, receivers=[{"name": "ops", "webhook_configs": [
        {"url": "http://127.0.0.1:9/hook"}]}])
    try:
        status = TestClient(Starlette(routes=service.routes())).get(
            "/api/v1/notifications").json()["data"]
        assert status["receivers"] == ["ops"] and status["configured"] and not status["hint"]
    finally:
        close(service)


def test_several_urls_and_blank_values() -> None:
    assert notify_receiver({NOTIFY_ENV: " "}) is None and notify_receiver({}) is None
    assert notify_receiver({NOTIFY_ENV: "ntfy://a, dbus://"})["apprise_configs"] == [
        {"urls": ["ntfy://a", "dbus://"]}]
