"""Notifications survive a receiver that is down and a kill -9 of the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from receiver_server import WebhookReceiver

from peers import free_port
from watchkeeper.alerting.delivery import Delivery
from watchkeeper.alerting.receivers import build_integrations

SCRIPT = Path(__file__).parent / "alerting_process.py"
HOSTS = 5


def payload(fp: str) -> dict:
    return {"status": "firing", "alerts": [{"status": "firing", "fingerprint": fp,
                                            "labels": {"alertname": "A"}}]}


def test_receiver_down_then_up_across_kill_9(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([sys.executable, str(SCRIPT), str(tmp_path), url, str(HOSTS),
                              "queue"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert first.stdout.readline().strip() == "queued"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    receiver = WebhookReceiver(port)
    try:
        second = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), url, str(HOSTS),
                                 "drain"], capture_output=True, text=True, env=env, timeout=120)
        assert second.stdout.strip() == "drained", second.stderr[-2000:]
    finally:
        receiver.close()
    hosts = sorted(b["groupLabels"]["host"] for b in receiver.bodies)
    assert hosts == [f"h{i}" for i in range(HOSTS)]  # every alert, each once


def test_retries_then_delivers_and_logs(tmp_path: Path) -> None:
    receiver = WebhookReceiver(status=503)
    try:
        integrations = build_integrations({"name": "r", "webhook_configs": [{"url": receiver.url}]})
        delivery = Delivery(tmp_path / "q.db", integrations, initial_backoff=0.0)
        [iid] = delivery.integrations
        delivery.enqueue(iid, "g1", payload("f1"))
        assert delivery.send_due(iid) is not None  # failed, rescheduled
        assert delivery.queued() == {iid: 1} and delivery.failed[iid] >= 1
        receiver.status = 200
        assert delivery.send_due(iid) is None
        assert delivery.queued() == {iid: 0} and delivery.sent[iid] == 1
        assert delivery.last_sent(iid, "g1")[0] == {"f1"}
        metrics = {s.name: s.value for m in delivery.collect() for s in m.samples}
        assert metrics["watchkeeper_notifications_total"] == 1
        assert metrics["watchkeeper_notifications_queued"] == 0
        delivery.close()
    finally:
        receiver.close()
    assert len(receiver.bodies) == 1


def test_order_is_kept_across_an_outage(tmp_path: Path) -> None:
    receiver = WebhookReceiver(status=503)
    try:
        integrations = build_integrations({"name": "r", "webhook_configs": [{"url": receiver.url}]})
        delivery = Delivery(tmp_path / "q.db", integrations, initial_backoff=0.0)
        [iid] = delivery.integrations
        delivery.enqueue(iid, "g1", payload("firing-first"))
        delivery.send_due(iid)  # fails and is rescheduled
        delivery.enqueue(iid, "g1", payload("then-resolved"))
        receiver.status = 200
        for _ in range(10):  # bounded: each pass sends or reschedules
            if delivery.send_due(iid) is None:
                break
        delivery.close()
    finally:
        receiver.close()
    assert [b["alerts"][0]["fingerprint"] for b in receiver.bodies] == ["firing-first",
                                                                         "then-resolved"]
