"""Delivery that does not lose notifications: a queue on disk, retries, a notification log.

Why SQLite: a notification is committed to the queue before anyone tries to send it, so
a receiver that is down for minutes, a restart or a ``kill -9`` loses nothing; the
notification log (what each integration last got for each group) keeps a group from
being notified twice with the same content.

Exactly once across a crash: each notification gets a sequence number per integration and
group, and the send log records it as "sending" (committed) before the request and "sent"
after. A ``kill -9`` between the two leaves it queued, so it goes out once more, with the
same idempotency key (the group key and the sequence, in the payload and in an
``Idempotency-Key`` header) by which the receiver can drop the repeat.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from watchkeeper.alerting.receivers.base import DeliveryError, Integration
from watchkeeper.metrics.family import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT, integration TEXT NOT NULL, group_key TEXT NOT NULL,
  payload TEXT NOT NULL, digest TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL, created REAL NOT NULL, last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS queue_due ON queue (integration, next_attempt);
CREATE TABLE IF NOT EXISTS notification_log (
  integration TEXT NOT NULL, group_key TEXT NOT NULL, firing TEXT NOT NULL,
  resolved TEXT NOT NULL, sent_at REAL NOT NULL, PRIMARY KEY (integration, group_key));
CREATE TABLE IF NOT EXISTS notification_seq (
  integration TEXT NOT NULL, group_key TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (integration, group_key));
CREATE TABLE IF NOT EXISTS notification_sends (
  integration TEXT NOT NULL, group_key TEXT NOT NULL, seq INTEGER NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL, sending_at REAL NOT NULL, sent_at REAL,
  PRIMARY KEY (integration, group_key, seq));
"""
SEND_LOG_DAYS = 7  # how long "sent" entries of the send log are kept


def idempotency_key(group_key: str, seq: int) -> str:
    """What a receiver dedups on: the same for every attempt of one notification."""
    return f"{group_key}#{seq}"


class Delivery:
    """Queues notifications per integration and sends them from one thread each."""

    def __init__(self, path: str | Path, integrations: list[Integration], *,
                 initial_backoff: float = 1.0, max_backoff: float = 60.0,
                 max_age: float = 7 * 86400.0, shared: Any = None) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                  timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        if "seq" not in {r[1] for r in self.db.execute("PRAGMA table_info(queue)")}:
            self.db.execute("ALTER TABLE queue ADD COLUMN seq INTEGER NOT NULL DEFAULT 0")
        self.lock = threading.Lock()
        # several servers sharing state (shared_state.SharedState): only the leader queues
        # and sends, and the notification log they read is the shared one
        self.shared = shared
        self.interrupted = self.db.execute(  # "sending" when the process died: resent once
            "SELECT count(*) FROM notification_sends s JOIN queue q ON q.integration="
            "s.integration AND q.group_key=s.group_key AND q.seq=s.seq "
            "WHERE s.state='sending'").fetchone()[0]
        if self.interrupted:
            log.warning("%d notifications were being sent when the process stopped; they go "
                        "out once more with the same idempotency key", self.interrupted)
        self._queued: tuple[int, list[tuple[str, int]]] = (-1, [])  # (db changes, counts)
        self.integrations = {i.id: i for i in integrations}
        self.initial_backoff, self.max_backoff, self.max_age = initial_backoff, max_backoff, max_age
        self.sent: dict[str, int] = dict.fromkeys(self.integrations, 0)
        self.failed: dict[str, int] = dict.fromkeys(self.integrations, 0)
        self.dropped: dict[str, int] = dict.fromkeys(self.integrations, 0)
        self._wake = {i: threading.Event() for i in self.integrations}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ queue
    def last_sent(self, integration: str, group_key: str) -> tuple[set[str], set[str], float]:
        """Firing and resolved fingerprints last sent for a group, and when (0 if never)."""
        if self.shared is not None:
            return self.shared.last_sent(integration, group_key)
        with self.lock:
            row = self.db.execute("SELECT firing, resolved, sent_at FROM notification_log "
                                  "WHERE integration=? AND group_key=?",
                                  (integration, group_key)).fetchone()
        if row is None:
            return set(), set(), 0.0
        return set(json.loads(row[0])), set(json.loads(row[1])), row[2]

    def last_known(self, integration: str,
                   group_key: str) -> tuple[set[str] | None, set[str], float]:
        """What the integration has (or will have, once its queue drains) for a group:
        the newest queued notification if any, else the log; firing is None if never."""
        with self.lock:
            row = self.db.execute("SELECT digest, created FROM queue WHERE integration=? AND "
                                  "group_key=? ORDER BY id DESC LIMIT 1",
                                  (integration, group_key)).fetchone()
        if row is not None:
            firing, resolved = json.loads(row[0])
            return set(firing), set(resolved), row[1]
        firing_set, resolved_set, sent_at = self.last_sent(integration, group_key)
        if not sent_at:
            return None, set(), 0.0
        return firing_set, resolved_set, sent_at

    def enqueue(self, integration: str, group_key: str, payload: Mapping[str, Any]) -> None:
        """Durably queue one notification (committed before this returns); a server that
        is not the leader of a shared-state group queues nothing."""
        if self.shared is not None and not self.shared.is_leader:
            return
        firing = sorted(a["fingerprint"] for a in payload["alerts"] if a["status"] == "firing")
        resolved = sorted(a["fingerprint"] for a in payload["alerts"]
                          if a["status"] == "resolved")
        digest = json.dumps([firing, resolved])
        now = time.time()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO notification_seq VALUES (?, ?, 1) ON CONFLICT DO "
                            "UPDATE SET seq=seq+1", (integration, group_key))
            seq = self.db.execute("SELECT seq FROM notification_seq WHERE integration=? AND "
                                  "group_key=?", (integration, group_key)).fetchone()[0]
            self.db.execute("INSERT INTO queue (integration, group_key, payload, digest, "
                            "next_attempt, created, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (integration, group_key, json.dumps(payload), digest, now, now,
                             seq))
            self.db.execute("COMMIT")
        event = self._wake.get(integration)
        if event is not None:
            event.set()

    def queued(self) -> dict[str, int]:
        """Per integration; counted again only after the queue changed, so a /metrics
        scrape does not contend with the senders for the database on every request."""
        with self.lock:
            changes = self.db.total_changes
            if self._queued[0] != changes:
                self._queued = (changes, self.db.execute(
                    "SELECT integration, count(*) FROM queue GROUP BY 1").fetchall())
            rows = self._queued[1]
        counts = dict.fromkeys(self.integrations, 0)
        counts.update(dict(rows))
        return counts

    # ------------------------------------------------------------------ sending
    def send_due(self, integration_id: str) -> float | None:
        """Send one integration's notifications strictly in the order they were queued,
        until one fails; returns when to try again (None if its queue is empty). Keeping
        the order means a receiver back from an outage never sees a group's "resolved"
        before the "firing" queued ahead of it."""
        integration = self.integrations[integration_id]
        while not self._stop.is_set():
            if self.shared is not None and not self.shared.is_leader:
                return time.time() + 1.0  # what is queued waits for this server to lead
            with self.lock:
                row = self.db.execute(
                    "SELECT id, group_key, payload, digest, attempts, next_attempt, created, "
                    "seq FROM queue WHERE integration=? ORDER BY id LIMIT 1",
                    (integration_id,)).fetchone()
            if row is None:
                return None
            qid, group_key, payload_text, digest, attempts, due, created, seq = row
            now = time.time()
            if due > now:
                return due
            payload = json.loads(payload_text)
            payload["sequence"] = seq
            payload["idempotencyKey"] = idempotency_key(group_key, seq)
            self._log_send(integration_id, group_key, seq, now)
            try:
                if integration.wants(payload):
                    integration.send(payload)
            except DeliveryError as e:
                return self._failed(integration_id, qid, attempts, created, e)
            except Exception as e:  # a receiver bug must not kill the worker
                log.exception("integration %s crashed", integration_id)
                return self._failed(integration_id, qid, attempts, created,
                                    DeliveryError(str(e)))
            firing, resolved = json.loads(digest)
            if self.shared is not None:
                self.shared.log_sent(integration_id, group_key, firing, resolved, time.time())
            with self.lock:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute("INSERT OR REPLACE INTO notification_log VALUES (?, ?, ?, ?, ?)",
                                (integration_id, group_key, json.dumps(firing),
                                 json.dumps(resolved), time.time()))
                self.db.execute("DELETE FROM queue WHERE id=?", (qid,))
                self.db.execute("UPDATE notification_sends SET state='sent', sent_at=? WHERE "
                                "integration=? AND group_key=? AND seq=?",
                                (time.time(), integration_id, group_key, seq))
                self.db.execute("COMMIT")
            self.sent[integration_id] += 1
        return None

    def _log_send(self, integration_id: str, group_key: str, seq: int, now: float) -> None:
        """Record an attempt as "sending" (committed, synced) before the request goes out."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO notification_sends VALUES (?, ?, ?, 'sending', 1, ?, "
                            "NULL) ON CONFLICT DO UPDATE SET state='sending', "
                            "attempts=attempts+1, sending_at=excluded.sending_at",
                            (integration_id, group_key, seq, now))
            self.db.execute("DELETE FROM notification_sends WHERE state!='sending' AND "
                            "sending_at < ?", (now - SEND_LOG_DAYS * 86400,))
            self.db.execute("COMMIT")

    def send_log(self, integration_id: str, group_key: str) -> list[dict[str, Any]]:
        """Every attempt recorded for a group: sequence, state, attempts, when."""
        with self.lock:
            rows = self.db.execute("SELECT seq, state, attempts, sending_at, sent_at FROM "
                                   "notification_sends WHERE integration=? AND group_key=? "
                                   "ORDER BY seq", (integration_id, group_key)).fetchall()
        return [dict(zip(("seq", "state", "attempts", "sending_at", "sent_at"), r,
                         strict=True)) for r in rows]

    def _failed(self, integration_id: str, qid: int, attempts: int, created: float,
                error: DeliveryError) -> float:
        """Reschedule (or drop) a failed notification; returns when to try next."""
        self.failed[integration_id] += 1
        now = time.time()
        with self.lock:
            give_up = not error.retry or now - created > self.max_age
            self.db.execute("UPDATE notification_sends SET state=? WHERE (integration, "
                            "group_key, seq) = (SELECT integration, group_key, seq FROM queue "
                            "WHERE id=?)", ("dropped" if give_up else "failed", qid))
            if give_up:
                log.error("dropping notification %s for %s: %s", qid, integration_id, error)
                self.dropped[integration_id] += 1
                self.db.execute("DELETE FROM queue WHERE id=?", (qid,))
                return now
            backoff = min(self.max_backoff, self.initial_backoff * 2 ** min(attempts, 30))
            self.db.execute("UPDATE queue SET attempts=?, next_attempt=?, last_error=? "
                            "WHERE id=?", (attempts + 1, now + backoff, str(error), qid))
        log.warning("notification to %s failed (attempt %d, next in %.0fs): %s",
                    integration_id, attempts + 1, backoff, error)
        return now + backoff

    def _worker(self, integration_id: str) -> None:
        wake = self._wake[integration_id]
        while not self._stop.is_set():
            wake.clear()
            try:
                due = self.send_due(integration_id)
            except sqlite3.Error:
                log.exception("delivery queue error")
                due = time.time() + 1
            timeout = 5.0 if due is None else max(0.0, min(due - time.time(), 5.0))
            wake.wait(timeout)

    def start(self) -> None:
        self._stop.clear()
        for integration_id in self.integrations:
            thread = threading.Thread(target=self._worker, args=(integration_id,),
                                      name=f"notify-{integration_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for thread in self._threads:
            thread.join(timeout=2)  # a send in flight stays queued
        self._threads = []

    def close(self) -> None:
        self.stop()
        self.db.close()

    def collect(self) -> Iterator[Metric]:
        """Sent, failed and queued notifications per integration (collector protocol)."""
        sent = CounterMetricFamily("watchkeeper_notifications", "Notifications delivered.",
                                   labels=["integration"])
        failed = CounterMetricFamily("watchkeeper_notifications_failed",
                                     "Delivery attempts that failed.", labels=["integration"])
        dropped = CounterMetricFamily("watchkeeper_notifications_dropped",
                                      "Notifications given up on.", labels=["integration"])
        queued = GaugeMetricFamily("watchkeeper_notifications_queued",
                                   "Notifications waiting in the queue.", labels=["integration"])
        for name, count in self.queued().items():
            sent.add_metric([name], self.sent.get(name, 0))
            failed.add_metric([name], self.failed.get(name, 0))
            dropped.add_metric([name], self.dropped.get(name, 0))
            queued.add_metric([name], count)
        yield from (sent, failed, dropped, queued)
