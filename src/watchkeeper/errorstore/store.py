"""Error groups and their last sample events in one SQLite file.

One row per group: first and last seen, count, users affected (a HyperLogLog sketch, never
an id), first and last release, status (open, resolved, ignored) and whether it regressed
(a resolved group that came back reopens, flagged). Counts per (group, type, route) feed
``errors_total``. The last ``samples`` events of each group are kept with secrets redacted;
the user's id is dropped from a sample once it has been counted.

Every event goes through ``components_of_event``: events from ``capture_exception`` and
from the Sentry SDK are grouped by the same function.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from watchkeeper.integrations.errors.grouping import components_of_event, explain, group_id
from watchkeeper.integrations.errors.hll import HyperLogLog
from watchkeeper.integrations.errors.redact import redact

STATUSES = ("open", "resolved", "ignored")
#: What the API and the CLI call the status changes.
ACTIONS = {"resolve": "resolved", "ignore": "ignored", "reopen": "open"}
DEFAULT_SAMPLES = 10
USERS_PRECISION = 12  # 4 KiB a group, 1.6 % standard error
TITLE_LIMIT = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS error_groups (
    id TEXT PRIMARY KEY, error_type TEXT NOT NULL, title TEXT NOT NULL,
    culprit TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    count INTEGER NOT NULL, users BLOB, first_release TEXT, last_release TEXT,
    status TEXT NOT NULL DEFAULT 'open', regressed INTEGER NOT NULL DEFAULT 0,
    regressed_at REAL, status_changed_at REAL, explanation TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS error_groups_last ON error_groups(last_seen);
CREATE TABLE IF NOT EXISTS error_counts (
    group_id TEXT NOT NULL, error_type TEXT NOT NULL, http_route TEXT NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (group_id, error_type, http_route));
CREATE TABLE IF NOT EXISTS error_samples (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, time REAL NOT NULL,
    event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS error_samples_group ON error_samples(group_id, seq);
"""


class UnknownGroup(KeyError):
    """No group with that id."""


def _title(event: dict[str, Any], etype: str) -> str:
    values = (event.get("exception") or {}).get("values") if isinstance(
        event.get("exception"), dict) else None
    if isinstance(values, list) and values and isinstance(values[-1], dict):
        value = values[-1].get("value")
        text = f"{etype}: {value}" if isinstance(value, str) and value else etype
    else:
        entry = event.get("logentry")
        text = (entry.get("formatted") or entry.get("message") if isinstance(entry, dict)
                else None) or event.get("message") or etype
    return str(text)[:TITLE_LIMIT]


def _user_key(event: dict[str, Any]) -> str | None:
    user = event.get("user")
    if isinstance(user, dict):
        for key in ("id", "email", "username", "ip_address"):
            value = user.get(key)
            if value not in (None, ""):
                return f"{key}:{value}"
    return None


def _route(event: dict[str, Any]) -> str:
    tags = event.get("tags")
    if isinstance(tags, dict):
        route = tags.get("http_route") or tags.get("transaction")
    elif isinstance(tags, list):  # Sentry also sends [[key, value], ...]
        route = next((p[1] for p in tags if isinstance(p, list) and len(p) == 2
                      and p[0] in ("http_route", "transaction")), None)
    else:
        route = None
    route = route or event.get("transaction") or ""
    return str(route)[:200]


def _timestamp(event: dict[str, Any], now: float) -> float:
    ts = event.get("timestamp")
    if isinstance(ts, (int, float)) and 0 < ts < now + 86400:
        return float(ts)
    if isinstance(ts, str):
        from datetime import datetime

        try:
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now


class ErrorStore:
    """The groups database; safe to share between threads (one connection, one lock)."""

    def __init__(self, path: str | Path, samples: int = DEFAULT_SAMPLES) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.samples = samples
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def attach(self) -> ErrorStore:
        """Store this process's captured exceptions here (the capture's sink)."""
        from watchkeeper.integrations.errors.capture import CAPTURE

        CAPTURE.add_sink(self.add_events)
        return self

    # -- writing -----------------------------------------------------------------------
    def add_events(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Group and store events; returns per event its group, and whether the group is
        new or regressed by it."""
        now = time.time()
        out: list[dict[str, Any]] = []
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")  # see AlertHistory.record: no failed lock upgrade
            try:
                sketches: dict[str, HyperLogLog] = {}
                events = list(events)
                keep = self._kept(events)
                for i, event in enumerate(events):
                    out.append(self._add(db, event, now, sketches, i in keep))
                for gid, sketch in sketches.items():
                    db.execute("UPDATE error_groups SET users=? WHERE id=?",
                               (sketch.to_bytes(), gid))
                self._trim(db, {r["group"] for r in out})
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return out

    def _kept(self, events: list[dict[str, Any]]) -> set[int]:
        """Which events of a batch become samples: the last ``samples`` of each group
        (the rest would be trimmed at once; redacting and encoding them is wasted)."""
        if len(events) <= self.samples:
            return set(range(len(events)))
        per: dict[str, int] = {}
        keep: set[int] = set()
        for i in range(len(events) - 1, -1, -1):
            gid = group_id(components_of_event(events[i]))
            if per.get(gid, 0) < self.samples:
                per[gid] = per.get(gid, 0) + 1
                keep.add(i)
        return keep

    def _add(self, db: sqlite3.Connection, event: dict[str, Any], now: float,
             sketches: dict[str, HyperLogLog], sample: bool = True) -> dict[str, Any]:
        components = components_of_event(event)
        gid = group_id(components)
        etype = components.types[-1] if components.types else "Error"
        when = _timestamp(event, now)
        release = event.get("release") if isinstance(event.get("release"), str) else None
        culprit = components.frames[-1] if components.frames else ""
        row = db.execute("SELECT status, users FROM error_groups WHERE id=?",
                         (gid,)).fetchone()
        new = row is None
        regressed = False
        if new:
            db.execute(
                "INSERT INTO error_groups (id, error_type, title, culprit, first_seen, "
                "last_seen, count, first_release, last_release, explanation) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (gid, etype, _title(event, etype), culprit, when, when, release, release,
                 json.dumps(explain(components))))
        else:
            regressed = row["status"] == "resolved"
            db.execute(
                "UPDATE error_groups SET count=count+1, last_seen=max(last_seen, ?), "
                "title=?, last_release=coalesce(?, last_release) WHERE id=?",
                (when, _title(event, etype), release, gid))
            if regressed:
                db.execute("UPDATE error_groups SET status='open', regressed=1, "
                           "regressed_at=?, status_changed_at=? WHERE id=?", (now, now, gid))
        user = _user_key(event)
        if user is not None:
            sketch = sketches.get(gid)
            if sketch is None:
                blob = None if new else row["users"]
                sketch = HyperLogLog.from_bytes(blob) if blob else HyperLogLog(
                    USERS_PRECISION)
                sketches[gid] = sketch
            sketch.add(user)
        route = _route(event)
        db.execute("INSERT INTO error_counts VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE "
                   "SET count=count+1", (gid, etype, route))
        if sample:
            kept = redact({k: v for k, v in event.items() if k != "user"})
            kept["group_id"] = gid
            db.execute("INSERT INTO error_samples (group_id, time, event) VALUES (?, ?, ?)",
                       (gid, when, json.dumps(kept, default=str)))
        return {"group": gid, "new": new, "regressed": regressed, "error_type": etype,
                "http_route": route}

    def _trim(self, db: sqlite3.Connection, groups: set[str]) -> None:
        for gid in groups:
            db.execute("DELETE FROM error_samples WHERE group_id=? AND seq NOT IN (SELECT "
                       "seq FROM error_samples WHERE group_id=? ORDER BY seq DESC LIMIT ?)",
                       (gid, gid, self.samples))

    def set_status(self, gid: str, status: str) -> dict[str, Any]:
        """Resolve, ignore or reopen a group; resolving clears the regression flag."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self._lock:
            cur = self._db.execute(
                "UPDATE error_groups SET status=?, status_changed_at=?, "
                "regressed=CASE WHEN ?='resolved' THEN 0 ELSE regressed END WHERE id=?",
                (status, time.time(), status, gid))
            if cur.rowcount == 0:
                raise UnknownGroup(gid)
        return self.group(gid)

    # -- reading -----------------------------------------------------------------------
    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        users = row["users"]
        return {"id": row["id"], "error_type": row["error_type"], "title": row["title"],
                "culprit": row["culprit"], "first_seen": row["first_seen"],
                "last_seen": row["last_seen"], "count": row["count"],
                "users": HyperLogLog.from_bytes(users).count() if users else 0,
                "first_release": row["first_release"], "last_release": row["last_release"],
                "status": row["status"], "regressed": bool(row["regressed"]),
                "regressed_at": row["regressed_at"]}

    def groups(self, status: str | None = None, limit: int = 100, offset: int = 0,
               sort: str = "last_seen") -> list[dict[str, Any]]:
        order = {"last_seen": "last_seen DESC", "first_seen": "first_seen DESC",
                 "count": "count DESC"}.get(sort)
        if order is None:
            raise ValueError("sort must be last_seen, first_seen or count")
        where, args = ("WHERE status=?", [status]) if status else ("", [])
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM error_groups {where} ORDER BY {order}, id LIMIT ? OFFSET ?",
                (*args, limit, offset)).fetchall()
        return [self._row(r) for r in rows]

    def group(self, gid: str, with_samples: bool = False) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT * FROM error_groups WHERE id=?",
                                   (gid,)).fetchone()
            if row is None:
                raise UnknownGroup(gid)
            out = self._row(row)
            out["explanation"] = json.loads(row["explanation"])
            routes = self._db.execute(
                "SELECT http_route, sum(count) AS n FROM error_counts WHERE group_id=? "
                "GROUP BY http_route ORDER BY n DESC LIMIT 50", (gid,)).fetchall()
            out["routes"] = {r["http_route"]: r["n"] for r in routes}
            if with_samples:
                samples = self._db.execute(
                    "SELECT event FROM error_samples WHERE group_id=? ORDER BY seq DESC",
                    (gid,)).fetchall()
                out["samples"] = [json.loads(s["event"]) for s in samples]
        return out

    def counts(self) -> list[tuple[str, str, str, int]]:
        """(group, type, route, count) of every group, for ``errors_total``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT group_id, error_type, http_route, count FROM error_counts").fetchall()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def alerting_rows(self, groups: set[str], since: float) -> list[tuple[str, str, float, bool]]:
        """(id, type, first seen, regressed) of the given groups and of every group new
        since ``since`` or regressed: what the alert gauges need, without the sketches."""
        marks = ",".join("?" * len(groups))
        with self._lock:
            rows = self._db.execute(
                "SELECT id, error_type, first_seen, regressed FROM error_groups WHERE "
                f"first_seen >= ? OR regressed = 1 OR id IN ({marks}) ORDER BY id",
                (since, *sorted(groups))).fetchall()
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def summary(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT status, count(*) FROM error_groups GROUP BY status").fetchall()
        out = dict.fromkeys(STATUSES, 0)
        out.update({r[0]: r[1] for r in rows})
        return out
