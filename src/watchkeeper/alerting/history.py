"""Alert history and incidents: every state change kept, acknowledgements and manual
resolution, with a timeline per incident.

An incident is one episode of one label set of one rule, from pending (or firing) until
it resolves; its id is what ``watchkeeper alerts ack ID`` takes.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from watchkeeper.alerting.routing import matches_all
from watchkeeper.alerting.state import INACTIVE, StateChange
from watchkeeper.metrics.family import Metric, SummaryMetricFamily
from watchkeeper.tsdb.matchers import Matcher

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL, rule TEXT NOT NULL,
  labels TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL, value REAL,
  started_ms INTEGER NOT NULL, resolved_ms INTEGER, resolved_by TEXT,
  acked_ms INTEGER, acked_by TEXT, ack_comment TEXT);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (fingerprint, resolved_ms);
CREATE TABLE IF NOT EXISTS incident_events (
  incident INTEGER NOT NULL, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, state TEXT,
  value REAL, who TEXT, comment TEXT);
CREATE INDEX IF NOT EXISTS incident_events_by ON incident_events (incident, ts_ms);
"""
_COLUMNS = ("id", "fingerprint", "rule", "labels", "severity", "state", "value", "started_ms",
            "resolved_ms", "resolved_by", "acked_ms", "acked_by", "ack_comment")


class IncidentError(LookupError):
    """No such incident, or an action that does not apply to it."""


def _fingerprint(labels: Mapping[str, str]) -> str:
    from watchkeeper.alerting.dispatcher import fingerprint
    return fingerprint(dict(labels))


class AlertHistory:
    """Incidents and their timelines in SQLite; fed by the evaluator's state changes."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None,
                                  timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()
        self._durations: tuple[int, list[list[tuple]]] = (-1, [])  # (db changes, rows)

    def record(self, changes: list[StateChange]) -> None:
        """Keep a batch of transitions (called after each group evaluation)."""
        with self.lock:
            # IMMEDIATE: the write lock up front (waiting up to the timeout for it), so a
            # commit by another connection to the same file between this batch's reads and
            # its writes cannot fail it at once with "database is locked"; and a failed
            # batch is rolled back, never left open to fail every later one
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for change in changes:
                    self._record_one(change)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _record_one(self, change: StateChange) -> None:
        alert = change.alert
        labels = dict(alert.labels)
        fp = _fingerprint(labels)
        value = alert.value if math.isfinite(alert.value) else None
        row = self.db.execute("SELECT id, started_ms FROM incidents WHERE fingerprint=? AND "
                              "resolved_ms IS NULL ORDER BY id DESC LIMIT 1", (fp,)).fetchone()
        state = "resolved" if change.new == INACTIVE else change.new
        if row is None:
            if state == "resolved":
                return
            cursor = self.db.execute(
                "INSERT INTO incidents (fingerprint, rule, labels, severity, state, value, "
                "started_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (fp, change.rule, json.dumps(labels, sort_keys=True),
                 labels.get("severity", ""), state, value, change.ts_ms))
            incident = cursor.lastrowid
        else:
            incident = row[0]
            if state == "resolved":
                self.db.execute("UPDATE incidents SET state='resolved', resolved_ms=?, "
                                "resolved_by='rule' WHERE id=?", (change.ts_ms, incident))
            else:
                self.db.execute("UPDATE incidents SET state=?, value=? WHERE id=?",
                                (state, value, incident))
        self.db.execute("INSERT INTO incident_events VALUES (?, ?, 'state', ?, ?, NULL, NULL)",
                        (incident, change.ts_ms, state, value))

    def _get(self, incident: int) -> dict[str, Any]:
        row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM incidents WHERE id=?",
                              (incident,)).fetchone()
        if row is None:
            raise IncidentError(f"no incident {incident}")
        out = dict(zip(_COLUMNS, row, strict=True))
        out["labels"] = json.loads(out["labels"])
        return out

    def acknowledge(self, incident: int, who: str, comment: str = "",
                    now_ms: int | None = None) -> dict[str, Any]:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.lock:
            current = self._get(incident)
            if current["acked_ms"] is not None:
                raise IncidentError(f"incident {incident} was acknowledged by "
                                    f"{current['acked_by']}")
            self.db.execute("UPDATE incidents SET acked_ms=?, acked_by=?, ack_comment=? "
                            "WHERE id=?", (now, who, comment, incident))
            self.db.execute("INSERT INTO incident_events VALUES (?, ?, 'ack', NULL, NULL, ?, ?)",
                            (incident, now, who, comment))
            return self._get(incident)

    def resolve(self, incident: int, who: str, comment: str = "",
                now_ms: int | None = None) -> dict[str, Any]:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self.lock:
            current = self._get(incident)
            if current["resolved_ms"] is not None:
                raise IncidentError(f"incident {incident} is already resolved")
            self.db.execute("UPDATE incidents SET state='resolved', resolved_ms=?, "
                            "resolved_by=? WHERE id=?", (now, who, incident))
            self.db.execute("INSERT INTO incident_events VALUES (?, ?, 'resolve', 'resolved', "
                            "NULL, ?, ?)", (incident, now, who, comment))
            return self._get(incident)

    def close_stale(self, live: set[str], rules: set[str], ts_ms: int,
                    who: str = "restart") -> list[dict[str, Any]]:
        """Resolve open incidents of ``rules`` whose alert is no longer active (it ended
        while the process was down); returns them as they were."""
        with self.lock:
            rows = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM incidents WHERE "
                                   "resolved_ms IS NULL").fetchall()
            stale = [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
            stale = [r for r in stale if r["rule"] in rules and r["fingerprint"] not in live]
            for r in stale:
                r["labels"] = json.loads(r["labels"])
                self.db.execute("UPDATE incidents SET state='resolved', resolved_ms=?, "
                                "resolved_by=? WHERE id=?", (ts_ms, who, r["id"]))
                self.db.execute("INSERT INTO incident_events VALUES (?, ?, 'resolve', "
                                "'resolved', NULL, ?, NULL)", (r["id"], ts_ms, who))
        return stale

    def incident(self, incident: int) -> dict[str, Any]:
        """One incident with its timeline (state changes, ack, manual resolve)."""
        with self.lock:
            out = self._get(incident)
            rows = self.db.execute("SELECT ts_ms, kind, state, value, who, comment FROM "
                                   "incident_events WHERE incident=? ORDER BY ts_ms, rowid",
                                   (incident,)).fetchall()
        out["timeline"] = [dict(zip(("ts_ms", "kind", "state", "value", "who", "comment"), r,
                                    strict=True)) for r in rows]
        return out

    def list(self, state: str | None = None, severity: str | None = None,
             start_ms: int | None = None, end_ms: int | None = None,
             matchers: list[Matcher] | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Incidents newest first, filtered by state, severity, time overlap and matchers."""
        where, args = [], []
        if state:
            where.append("state=?")
            args.append(state)
        if severity:
            where.append("severity=?")
            args.append(severity)
        if start_ms is not None:
            where.append("(resolved_ms IS NULL OR resolved_ms>=?)")
            args.append(start_ms)
        if end_ms is not None:
            where.append("started_ms<=?")
            args.append(end_ms)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM incidents"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        out = []
        for row in rows:
            item = dict(zip(_COLUMNS, row, strict=True))
            item["labels"] = json.loads(item["labels"])
            if matchers and not matches_all(matchers, item["labels"]):
                continue
            out.append(item)
            if len(out) >= limit:
                break
        return out

    def collect(self) -> Iterator[Metric]:
        """Time to acknowledge and time to resolve, over every incident kept (so the
        figures survive a restart), per severity."""
        figures = (("watchkeeper_alert_time_to_ack_seconds", "acked_ms",
                    "From an incident's start to its acknowledgement."),
                   ("watchkeeper_alert_time_to_resolve_seconds", "resolved_ms",
                    "From an incident's start to its resolution."))
        with self.lock:  # summed again only after incidents changed, not on every scrape
            changes = self.db.total_changes
            if self._durations[0] != changes:
                self._durations = (changes, [self.db.execute(
                    f"SELECT severity, count(*), sum({column} - started_ms) / 1000.0 FROM "
                    f"incidents WHERE {column} IS NOT NULL GROUP BY severity").fetchall()
                    for _, column, _ in figures])
            per_figure = self._durations[1]
        for (name, _, doc), rows in zip(figures, per_figure, strict=True):
            family = SummaryMetricFamily(name, doc, labels=["severity"])
            for severity, count, total in rows:
                family.add_metric([severity], count, total or 0.0)
            yield family

    def close(self) -> None:
        self.db.close()
