"""State shared by several servers that notify directly (no Alertmanager): PostgreSQL.

    alerting:
      shared_state: {url: "postgresql://wk@db/watchkeeper", lock_key: 7301}

Every server evaluates the same rules; one of them, the leader, sends the notifications.
Leadership is a PostgreSQL session advisory lock (``pg_try_advisory_lock``) held on a
connection of its own: when the leader dies its session ends and the lock is free at once
(the server side's TCP keepalives are shortened, so a host that vanishes is noticed within
seconds too); the others try for it every ``poll`` seconds. Silences, thresholds,
acknowledgements and the notification log live in tables every server reads, so a new
leader knows what the old one already sent and notifies nothing twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_LOCK_KEY = 0x77_6B_6E_74  # "wknt"
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS wk_silences (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS wk_thresholds (name TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS wk_threshold_changes (name TEXT, at DOUBLE PRECISION, "
    "who TEXT, action TEXT, body TEXT)",
    "CREATE TABLE IF NOT EXISTS wk_notification_log (integration TEXT NOT NULL, "
    "group_key TEXT NOT NULL, firing TEXT NOT NULL, resolved TEXT NOT NULL, "
    "sent_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (integration, group_key))",
    "CREATE TABLE IF NOT EXISTS wk_acks (fingerprint TEXT NOT NULL, started_ms BIGINT NOT "
    "NULL, at_ms BIGINT NOT NULL, who TEXT NOT NULL, comment TEXT NOT NULL, "
    "PRIMARY KEY (fingerprint, started_ms))",
    "CREATE TABLE IF NOT EXISTS wk_versions (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
]
# a server noticing a dead client host: idle 2 s, then 2 probes 1 s apart
_KEEPALIVES = ("SET tcp_keepalives_idle = 2", "SET tcp_keepalives_interval = 1",
               "SET tcp_keepalives_count = 2")


class SharedState:
    """One server's connections to the shared database, and its bid for leadership."""

    def __init__(self, url: str, lock_key: int = DEFAULT_LOCK_KEY, poll: float = 1.0) -> None:
        import psycopg

        self.url, self.lock_key, self.poll = url, int(lock_key), poll
        self._psycopg = psycopg
        self.db: Any = None
        self.lock = threading.Lock()
        try:
            with self.lock:
                self._connect()
        except psycopg.Error as e:  # evaluate anyway; notify once the database is there
            log.warning("shared state database unreachable (%s); not notifying until it "
                        "answers", " ".join(str(e).split())[:200])
        self._leader_conn: Any = None
        self.is_leader = False
        self.leader_since = 0.0
        self.transitions = 0
        self._versions: dict[str, int] = {}
        self._versions_read = False
        self.on_change: dict[str, Callable[[], None]] = {}
        self.on_lead: Callable[[], None] | None = None  # called when this server takes over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ queries
    def _connect(self) -> None:
        """Open the query connection and create the tables (one server at a time)."""
        if self.db is not None:
            self.db.close()
        self.db = self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key + 1,))
            for statement in _SCHEMA:
                self.db.execute(statement)

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; the rows it returns (none for writes). A connection that broke
        (the database restarted) is opened again once before giving up."""
        psycopg = self._psycopg
        with self.lock:
            for attempt in (1, 2):
                try:
                    if self.db is None or self.db.closed:
                        self._connect()
                    cursor = self.db.execute(sql, args)
                    return cursor.fetchall() if cursor.description else []
                except psycopg.OperationalError:
                    if self.db is not None:
                        self.db.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def bump(self, name: str) -> None:
        """Tell the other servers that ``name`` (silences, thresholds) changed."""
        self.execute("INSERT INTO wk_versions VALUES (%s, 1) ON CONFLICT (name) DO UPDATE "
                     "SET version = wk_versions.version + 1", (name,))

    # ------------------------------------------------------------------ notification log
    def last_sent(self, integration: str, group_key: str) -> tuple[set[str], set[str], float]:
        rows = self.execute("SELECT firing, resolved, sent_at FROM wk_notification_log "
                            "WHERE integration=%s AND group_key=%s", (integration, group_key))
        if not rows:
            return set(), set(), 0.0
        firing, resolved, sent_at = rows[0]
        return set(json.loads(firing)), set(json.loads(resolved)), float(sent_at)

    def log_sent(self, integration: str, group_key: str, firing: list[str],
                 resolved: list[str], sent_at: float) -> None:
        self.execute("INSERT INTO wk_notification_log VALUES (%s, %s, %s, %s, %s) "
                     "ON CONFLICT (integration, group_key) DO UPDATE SET firing=excluded.firing, "
                     "resolved=excluded.resolved, sent_at=excluded.sent_at",
                     (integration, group_key, json.dumps(firing), json.dumps(resolved),
                      sent_at))

    # ------------------------------------------------------------------ acknowledgements
    def acknowledge(self, fingerprint: str, started_ms: int, who: str, comment: str,
                    at_ms: int) -> None:
        self.execute("INSERT INTO wk_acks VALUES (%s, %s, %s, %s, %s) ON CONFLICT "
                     "(fingerprint, started_ms) DO UPDATE SET at_ms=excluded.at_ms, "
                     "who=excluded.who, comment=excluded.comment",
                     (fingerprint, started_ms, at_ms, who, comment))
        self.bump("acks")

    def acks(self) -> dict[tuple[str, int], tuple[int, str, str]]:
        """(fingerprint, started ms) → (acknowledged at ms, who, comment)."""
        return {(fp, int(started)): (int(at), who, comment) for fp, started, at, who, comment
                in self.execute("SELECT fingerprint, started_ms, at_ms, who, comment "
                                "FROM wk_acks")}

    # ------------------------------------------------------------------ leadership
    def _try_lead(self) -> None:
        psycopg = self._psycopg
        try:
            if self._leader_conn is None or self._leader_conn.closed:
                self._leader_conn = psycopg.connect(self.url, autocommit=True,
                                                    connect_timeout=5)
                for statement in _KEEPALIVES:
                    try:
                        self._leader_conn.execute(statement)
                    except psycopg.Error:
                        pass
            if self.is_leader:
                self._leader_conn.execute("SELECT 1")  # still our session, still the lock
                return
            got = self._leader_conn.execute("SELECT pg_try_advisory_lock(%s)",
                                            (self.lock_key,)).fetchone()[0]
        except psycopg.Error as e:
            if self.is_leader:
                log.warning("lost the connection holding the leader lock: %s", e)
            self._set_leader(False)
            if self._leader_conn is not None:
                self._leader_conn.close()
            self._leader_conn = None
            return
        self._set_leader(bool(got))

    def _set_leader(self, leader: bool) -> None:
        gained = leader and not self.is_leader
        if leader != self.is_leader:
            self.transitions += 1
            self.leader_since = time.time() if leader else 0.0
            log.info("this server %s the notification leader", "is now" if leader else
                     "is no longer")
        self.is_leader = leader
        if gained and self.on_lead is not None:
            try:
                self.on_lead()
            except Exception:
                log.exception("taking over the notifications failed")

    def _watch_versions(self) -> None:
        try:
            rows = self.execute("SELECT name, version FROM wk_versions")
        except self._psycopg.Error:
            return
        first = self._versions_read is False
        self._versions_read = True
        changed = {name for name, version in rows if self._versions.get(name) != version}
        if first:  # the first answer (maybe after a start without the database): reload all
            changed = set(self.on_change)
        for name in sorted(changed):
            callback = self.on_change.get(name)
            if callback is not None:
                try:
                    callback()
                except Exception:
                    log.exception("reloading shared %s failed", name)
        self._versions.update(rows)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._try_lead()
            self._watch_versions()
            self._stop.wait(self.poll)

    def start(self) -> None:
        self._watch_versions()
        self._try_lead()
        self._thread = threading.Thread(target=self._run, name="shared-state", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for conn in (self._leader_conn, self.db):
            if conn is not None:
                conn.close()  # the lock goes with the session
        self._set_leader(False)


def shared_state_from(config: Mapping[str, Any] | None) -> SharedState | None:
    """The ``alerting.shared_state`` section as a SharedState (None when unset)."""
    if not config:
        return None
    url = config.get("url") if isinstance(config, Mapping) else None
    if not url:
        raise ValueError("alerting.shared_state needs a url (postgresql://...)")
    return SharedState(str(url), int(config.get("lock_key", DEFAULT_LOCK_KEY)),
                       float(config.get("poll", 1.0)))
