"""Each receiver delivers to a real peer on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from receiver_server import WebhookReceiver

from peers import free_port, require_binary
from watchkeeper.alerting.receivers import build_integrations
from watchkeeper.alerting.receivers.base import DeliveryError

PAYLOAD = {
    "receiver": "team", "status": "firing", "version": "4", "groupKey": "{}:{}",
    "truncatedAlerts": 0, "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
    "commonAnnotations": {}, "externalURL": "",
    "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical",
                                               "host": "db1"},
                "annotations": {"summary": "disk 97% full on db1"},
                "startsAt": "2026-01-01T00:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "", "fingerprint": "0123456789abcdef"}],
}


def test_smtp_delivers_an_email() -> None:
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        [email] = build_integrations({"name": "team", "email_configs": [{
            "to": "oncall@example.org", "from": "wk@example.org",
            "smarthost": f"127.0.0.1:{port}"}]})
        email.send(PAYLOAD)
    finally:
        controller.stop()
    assert len(received) == 1
    text = received[0].content.decode()
    assert "Subject: [FIRING:1] alertname=DiskFull" in text
    assert "disk 97% full on db1" in text
    assert received[0].rcpt_tos == ["oncall@example.org"]


def test_smtp_down_is_a_retryable_error() -> None:
    [email] = build_integrations({"name": "t", "email_configs": [{
        "to": "a@example.org", "from": "b@example.org", "smarthost": f"127.0.0.1:{free_port()}"}]})
    with pytest.raises(DeliveryError) as info:
        email.send(PAYLOAD)
    assert info.value.retry


def test_apprise_json_url_reaches_a_local_endpoint() -> None:
    receiver = WebhookReceiver()
    try:
        [apprise] = build_integrations({"name": "t", "apprise_configs": [{
            "urls": [f"json://127.0.0.1:{receiver.port}/notify"]}]})
        apprise.send(PAYLOAD)
        [body] = receiver.wait(1)
    finally:
        receiver.close()
    assert "DiskFull" in body["title"] and "disk 97% full on db1" in body["message"]


def test_webhook_client_error_is_not_retried() -> None:
    receiver = WebhookReceiver(status=400)
    try:
        [hook] = build_integrations({"name": "t", "webhook_configs": [{"url": receiver.url}]})
        with pytest.raises(DeliveryError) as info:
            hook.send(PAYLOAD)
        assert not info.value.retry
        receiver.status = 503
        with pytest.raises(DeliveryError) as info:
            hook.send(PAYLOAD)
        assert info.value.retry
    finally:
        receiver.close()


@pytest.fixture
def alertmanager(tmp_path: Path):
    """A real Alertmanager on 127.0.0.1 with a temporary config and storage."""
    binary = require_binary("prometheus-alertmanager")
    port = free_port()
    config = tmp_path / "am.yml"
    config.write_text('route:\n  receiver: "none"\nreceivers:\n  - name: "none"\n')
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.peer
def test_forwarding_to_a_real_alertmanager(alertmanager: str) -> None:
    [forward] = build_integrations({"name": "am", "alertmanager_configs": [{"url": alertmanager}]})
    forward.send(PAYLOAD)
    alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert len(alerts) == 1
    assert alerts[0]["labels"] == PAYLOAD["alerts"][0]["labels"]
    assert alerts[0]["annotations"] == {"summary": "disk 97% full on db1"}
    assert alerts[0]["status"]["state"] == "active"


@pytest.mark.peer
def test_forwarded_alerts_carry_external_labels_then_alert_relabeling(
        alertmanager: str) -> None:
    """As Prometheus's notifier: external labels under the alert's own, then
    alert_relabel_configs (an HA pair drops its replica label; a dropped alert is not sent)."""
    from watchkeeper.alerting.service import forward_targets

    config = {"external_labels": {"replica": "a", "site": "eu", "severity": "ignored"},
              "alertmanagers": [alertmanager],
              "alert_relabel_configs": [
                  {"regex": "replica", "action": "labeldrop"},
                  {"source_labels": ["alertname"], "regex": "Noise", "action": "drop"}]}
    [forward] = build_integrations({"name": "am",
                                    "alertmanager_configs": forward_targets(config)})
    noise = {**PAYLOAD["alerts"][0], "labels": {"alertname": "Noise"}}
    forward.send({**PAYLOAD, "alerts": [*PAYLOAD["alerts"], noise]})
    [alert] = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    assert alert["labels"] == {**PAYLOAD["alerts"][0]["labels"], "site": "eu"}
    with pytest.raises(ValueError, match="alert_relabel_configs"):
        build_integrations({"name": "am", "alertmanager_configs": forward_targets(
            {**config, "alert_relabel_configs": [{"action": "keep"}]})})


@pytest.mark.peer
def test_rules_firing_and_resolving_reach_a_real_alertmanager(alertmanager: str,
                                                              tmp_path: Path) -> None:
    from watchkeeper.alerting.service import AlertingService
    from watchkeeper.promql.engine import Engine
    from watchkeeper.tsdb import Store

    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: HighLoad\n        expr: load > 5\n")
    store = Store.open(tmp_path / "data", background=False)
    service = AlertingService(store, Engine(store), {
        "rule_files": ["rules.yml"], "alertmanagers": [alertmanager]}, tmp_path / "alerting",
        base_dir=tmp_path)
    now = int(time.time() * 1000) - 30_000  # so the resolution lies in the past

    def cycle(ts: int, value: float) -> list:
        store.append({"__name__": "load", "host": "a"}, ts, value)
        store.commit()
        service.evaluator.evaluate_all(ts)
        service.dispatcher.flush_due(ts)
        for integration in service.delivery.integrations:
            service.delivery.send_due(integration)
        return httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()

    try:
        [alert] = cycle(now, 9)
        assert alert["labels"] == {"alertname": "HighLoad", "host": "a"}
        assert cycle(now + 15_000, 1) == []  # resolved: Alertmanager no longer lists it
    finally:
        service.stop()
        store.close()


@pytest.mark.peer
def test_webhook_payload_has_alertmanagers_shape(tmp_path: Path) -> None:
    """A real Alertmanager posts its webhook to a local receiver; ours has the same fields."""
    from watchkeeper.alerting.delivery import Delivery
    from watchkeeper.alerting.dispatcher import Dispatcher, NotifiableAlert
    from watchkeeper.alerting.routing import build_route
    from watchkeeper.alerting.silences import SilenceStore

    binary = require_binary("prometheus-alertmanager")
    theirs_hook, ours_hook = WebhookReceiver(), WebhookReceiver()
    port = free_port()
    (tmp_path / "am.yml").write_text(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\n"
        f"receivers:\n  - name: hook\n    webhook_configs:\n      - url: {theirs_hook.url}\n")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        [forward] = build_integrations({"name": "am", "alertmanager_configs": [{"url": base}]})
        forward.send(PAYLOAD)
        [theirs] = theirs_hook.wait(1, timeout=30)
        integrations = build_integrations({"name": "hook",
                                           "webhook_configs": [{"url": ours_hook.url}]})
        delivery = Delivery(tmp_path / "q.db", integrations)
        silences = SilenceStore(tmp_path / "s.db")
        dispatcher = Dispatcher(build_route({"receiver": "hook", "group_by": ["alertname"],
                                             "group_wait": "0s"}), delivery, silences,
                                receivers={"hook": [i.id for i in integrations]})
        labels = PAYLOAD["alerts"][0]["labels"]
        dispatcher.receive([NotifiableAlert(dict(labels), {"summary": "disk 97% full on db1"},
                                            int(time.time() * 1000), 0)])
        dispatcher.flush_due()
        delivery.send_due(integrations[0].id)
        [ours] = ours_hook.wait(1)
        delivery.close()
        silences.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        theirs_hook.close()
        ours_hook.close()
    # Alertmanager's fields, plus the two that let a receiver drop a repeat after a crash
    assert sorted(ours) == sorted([*theirs, "idempotencyKey", "sequence"])
    assert sorted(ours["alerts"][0]) == sorted(theirs["alerts"][0])
    for key in ("version", "status", "receiver", "groupLabels", "commonLabels",
                "commonAnnotations", "truncatedAlerts"):
        assert ours[key] == theirs[key], key
    for key in ("status", "labels", "annotations", "endsAt"):
        assert ours["alerts"][0][key] == theirs["alerts"][0][key], key
