"""Alerts reach a local webhook grouped, silenced and inhibited as Alertmanager would."""

from __future__ import annotations

from pathlib import Path

import pytest
from receiver_server import WebhookReceiver

from watchkeeper.alerting.service import AlertingService
from watchkeeper.promql.engine import Engine
from watchkeeper.tsdb import Store

T0 = 1_700_000_000_000
RULES = """
groups:
  - name: g
    interval: 1s
    rules:
      - alert: HighLoad
        expr: load > 5
        labels: {severity: critical}
        annotations: {summary: "load {{ $value }} on {{ $labels.host }}"}
      - alert: LoadWarning
        expr: load > 3
        labels: {severity: warning}
"""


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def make_service(tmp_path: Path, receiver: WebhookReceiver, **extra) -> AlertingService:
    (tmp_path / "rules.yml").write_text(RULES)
    store = Store.open(tmp_path / "data", background=False)
    config = {
        "rule_files": [str(tmp_path / "rules.yml")],
        "evaluation_interval": "1s",
        "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "hook", "webhook_configs": [{"url": receiver.url}]}],
        **extra,
    }
    service = AlertingService(store, Engine(store), config, tmp_path / "alerting")
    service.store = store
    return service


def push(service: AlertingService, ts: int, value: float, host: str = "a") -> None:
    service.store.append({"__name__": "load", "host": host}, ts, value)
    service.store.commit()


def cycle(service: AlertingService, ts: int) -> None:
    """One evaluation, one dispatch pass and one delivery pass, at ``ts``."""
    service.evaluator.evaluate_all(ts)
    service.dispatcher.flush_due(ts)
    for integration in service.delivery.integrations:
        service.delivery.send_due(integration)


def test_firing_then_resolved_reach_the_webhook_in_v4_shape(tmp_path: Path,
                                                           receiver: WebhookReceiver) -> None:
    service = make_service(tmp_path, receiver)
    try:
        push(service, T0, 9)
        cycle(service, T0)
        bodies = receiver.wait(2)
        high = next(b for b in bodies if b["groupLabels"] == {"alertname": "HighLoad"})
        assert high["version"] == "4" and high["status"] == "firing"
        assert high["receiver"] == "hook"
        alert = high["alerts"][0]
        assert alert["labels"] == {"alertname": "HighLoad", "host": "a", "severity": "critical"}
        assert alert["annotations"] == {"summary": "load 9 on a"}
        assert alert["endsAt"] == "0001-01-01T00:00:00Z" and len(alert["fingerprint"]) == 16
        push(service, T0 + 1000, 1)
        cycle(service, T0 + 1000)
        cycle(service, T0 + 2000)
        resolved = [b for b in receiver.wait(4) if b["status"] == "resolved"]
        assert {b["groupLabels"]["alertname"] for b in resolved} == {"HighLoad", "LoadWarning"}
    finally:
        service.stop()
        service.store.close()


def test_nothing_is_sent_twice(tmp_path: Path, receiver: WebhookReceiver) -> None:
    service = make_service(tmp_path, receiver)
    try:
        for i in range(5):
            push(service, T0 + i * 1000, 9)
            cycle(service, T0 + i * 1000)
        assert len(receiver.wait(2)) == 2  # one per group, repeat interval not reached
    finally:
        service.stop()
        service.store.close()


def test_silence_and_inhibition_mute(tmp_path: Path, receiver: WebhookReceiver) -> None:
    service = make_service(tmp_path, receiver, inhibit_rules=[{
        "source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
        "equal": ["host"]}])
    try:
        push(service, T0, 9)
        cycle(service, T0)
        names = {b["groupLabels"]["alertname"] for b in receiver.wait(1)}
        assert names == {"HighLoad"}  # LoadWarning inhibited by HighLoad on the same host
    finally:
        service.stop()
        service.store.close()


def test_an_alert_that_ended_while_down_is_resolved_after_restart(
        tmp_path: Path, receiver: WebhookReceiver) -> None:
    service = make_service(tmp_path, receiver)
    push(service, T0, 9)
    cycle(service, T0)
    assert {b["status"] for b in receiver.wait(2)} == {"firing"}
    service.stop()
    service.store.close()
    # while down, load fell; after the restart the rules find nothing to fire
    service = make_service(tmp_path, receiver)
    try:
        push(service, T0 + 60_000, 1)
        cycle(service, T0 + 60_000)
        service.dispatcher.flush_due(T0 + 60_000)
        for integration in service.delivery.integrations:
            service.delivery.send_due(integration)
        resolved = [b for b in receiver.wait(4) if b["status"] == "resolved"]
        assert {b["groupLabels"]["alertname"] for b in resolved} == {"HighLoad", "LoadWarning"}
        incidents = service.history.list()
        assert {i["resolved_by"] for i in incidents} == {"restart"}
    finally:
        service.stop()
        service.store.close()
