"""The alert history shares one SQLite file with silences, thresholds and the notification
log: another connection committing meanwhile must not cost it a single state change."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.state import Alert, StateChange
from watchkeeper.tsdb.labels import Labels


def _change(i: int, new: str) -> StateChange:
    alert = Alert(Labels.of({"alertname": "Busy", "i": str(i)}), {}, 1.0, new, i)
    return StateChange("Busy", alert, "inactive" if new == "firing" else "firing", new, i)


def test_every_change_is_kept_while_another_connection_writes(tmp_path: Path) -> None:
    path = tmp_path / "alerting.db"
    history = AlertHistory(path)
    stop = threading.Event()

    def other_writer() -> None:  # as the silence or threshold store does, on its own connection
        db = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        db.execute("CREATE TABLE IF NOT EXISTS other (x)")
        while not stop.is_set():
            db.execute("INSERT INTO other VALUES (1)")
        db.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    try:
        for i in range(300):  # each batch reads the open incident, then writes
            history.record([_change(i % 30, "firing" if i < 150 else "inactive")])
    finally:
        stop.set()
        writer.join()
    assert len(history.list(state="firing")) == 0
    assert len(history.list()) == 30  # one incident per label set, each opened and resolved


def test_a_failed_batch_leaves_no_transaction_open(tmp_path: Path) -> None:
    history = AlertHistory(tmp_path / "alerting.db")
    bad = _change(1, "firing")
    object.__setattr__(bad, "alert", None)  # breaks inside the batch, after BEGIN
    try:
        history.record([_change(0, "firing"), bad])
    except AttributeError:
        pass
    history.record([_change(2, "firing")])  # would fail: "transaction within a transaction"
    assert [i["labels"]["i"] for i in history.list(state="firing")] == ["2"]
