"""Exactly once across a crash: "sending" is recorded before the request and "sent" after;
a kill -9 between the two means one more delivery, with the same idempotency key in the
payload and the Idempotency-Key header, so the receiver can drop it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from receiver_server import WebhookReceiver

from watchkeeper.alerting.delivery import Delivery, idempotency_key
from watchkeeper.alerting.receivers import build_integrations

SCRIPT = Path(__file__).parent / "alerting_process.py"


def _sends(tmp_path: Path) -> list[tuple]:
    db = sqlite3.connect(tmp_path / "alerting" / "alerting.db")
    try:
        return db.execute("SELECT group_key, seq, state, attempts FROM notification_sends "
                          "ORDER BY seq").fetchall()
    finally:
        db.close()


def test_kill_9_between_sending_and_sent_delivers_once_more_with_the_same_key(
        tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    receiver.hold = threading.Event()  # record the notification, then never answer
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, str(SCRIPT), str(tmp_path), receiver.url, "1", "drain", "60"]
    try:
        first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env)
        try:
            assert len(receiver.wait(1, timeout=60)) == 1
        finally:
            first.send_signal(signal.SIGKILL)  # the receiver has it; "sent" was never written
            first.wait(timeout=10)
        [(group_key, seq, state, attempts)] = _sends(tmp_path)
        assert (seq, state, attempts) == (1, "sending", 1)
        held, receiver.hold = receiver.hold, None
        held.set()
        second = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        assert second.stdout.strip() == "drained", second.stderr[-2000:]
        assert "once more with the same idempotency key" in second.stderr
    finally:
        receiver.close()
    key = idempotency_key(group_key, 1)
    assert len(receiver.bodies) == 2  # at most once more
    assert [b["idempotencyKey"] for b in receiver.bodies] == [key, key]
    assert [b["sequence"] for b in receiver.bodies] == [1, 1]
    assert [h["Idempotency-Key"] for h in receiver.headers] == [key, key]
    assert receiver.bodies[0]["groupKey"] == group_key
    assert _sends(tmp_path) == [(group_key, 1, "sent", 2)]


def test_each_notification_of_a_group_has_the_next_sequence(tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    [hook] = build_integrations({"name": "hook", "webhook_configs": [{"url": receiver.url}]})
    delivery = Delivery(tmp_path / "q.db", [hook])
    try:
        for fp in ("a", "b"):
            delivery.enqueue(hook.id, "{}:{g=\"ü\"}", {
                "status": "firing", "groupKey": "{}:{g=\"ü\"}",
                "alerts": [{"status": "firing", "fingerprint": fp}]})
        delivery.send_due(hook.id)
        assert [b["idempotencyKey"] for b in receiver.wait(2)] == ['{}:{g="ü"}#1',
                                                                    '{}:{g="ü"}#2']
        # a header is ASCII: anything else is percent-encoded
        assert receiver.headers[1]["Idempotency-Key"] == '{}:{g="%C3%BC"}#2'
        assert [s["state"] for s in delivery.send_log(hook.id, '{}:{g="ü"}')] == ["sent"] * 2
    finally:
        delivery.close()
        receiver.close()
