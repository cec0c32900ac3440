"""Silences, thresholds and acknowledgements kept in the shared PostgreSQL database
(``shared_state.SharedState``), with the same interfaces as the SQLite stores: a change
made through any server is seen by every other within one poll (``wk_versions``)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from typing import Any

from watchkeeper.alerting.history import AlertHistory, IncidentError
from watchkeeper.alerting.rules import RuleGroup
from watchkeeper.alerting.shared_state import SharedState
from watchkeeper.alerting.silences import MaintenanceWindow, Silence, SilenceStore
from watchkeeper.alerting.thresholds import GROUP_NAME, Threshold, ThresholdStore

ACK_SLACK_MS = 60_000  # servers open the same incident up to an evaluation apart


class SharedSilenceStore(SilenceStore):
    def __init__(self, shared: SharedState,
                 windows: list[MaintenanceWindow] | None = None) -> None:
        self.shared = shared
        self.lock = threading.Lock()
        self.windows = windows or []
        self._cache = self._read()
        shared.on_change["silences"] = self.reload

    def _read(self) -> list[Silence]:
        try:
            rows = self.shared.execute("SELECT body FROM wk_silences")
        except self.shared._psycopg.Error:  # read again once the database answers
            return getattr(self, "_cache", [])
        return [self._load(body) for (body,) in rows]

    def reload(self) -> None:
        self._cache = self._read()

    def put(self, silence: Silence) -> str:
        self.shared.execute("INSERT INTO wk_silences VALUES (%s, %s) ON CONFLICT (id) DO "
                            "UPDATE SET body=excluded.body", (silence.id, self._dump(silence)))
        with self.lock:
            self._cache = [s for s in self._cache if s.id != silence.id] + [silence]
        self.shared.bump("silences")
        return silence.id

    def close(self) -> None:
        pass  # the shared connection belongs to SharedState


class SharedThresholdStore(ThresholdStore):
    def __init__(self, shared: SharedState) -> None:
        self.shared = shared
        self.lock = threading.Lock()

    def list(self) -> list[Threshold]:
        return [Threshold(**json.loads(b)) for (b,) in self.shared.execute(
            "SELECT body FROM wk_thresholds ORDER BY name")]

    def get(self, name: str) -> Threshold | None:
        rows = self.shared.execute("SELECT body FROM wk_thresholds WHERE name=%s", (name,))
        return Threshold(**json.loads(rows[0][0])) if rows else None

    def put(self, threshold: Threshold, who: str) -> Threshold:
        threshold.validate()
        threshold.updated_by, threshold.updated_at = who, time.time()
        body = json.dumps(asdict(threshold))
        self.shared.execute("INSERT INTO wk_thresholds VALUES (%s, %s) ON CONFLICT (name) DO "
                            "UPDATE SET body=excluded.body", (threshold.name, body))
        self.shared.execute("INSERT INTO wk_threshold_changes VALUES (%s, %s, %s, 'put', %s)",
                            (threshold.name, threshold.updated_at, who, body))
        self.shared.bump("thresholds")
        return threshold

    def delete(self, name: str, who: str) -> bool:
        gone = self.shared.execute("DELETE FROM wk_thresholds WHERE name=%s RETURNING name",
                                   (name,))
        if gone:
            self.shared.execute("INSERT INTO wk_threshold_changes VALUES (%s, %s, %s, "
                                "'delete', NULL)", (name, time.time(), who))
            self.shared.bump("thresholds")
        return bool(gone)

    def changes(self, name: str) -> list[dict[str, Any]]:
        rows = self.shared.execute("SELECT at, who, action FROM wk_threshold_changes WHERE "
                                   "name=%s ORDER BY at", (name,))
        return [{"at": at, "who": who, "action": action} for at, who, action in rows]

    def rule_group(self, interval_ms: int | None = None) -> RuleGroup:
        """The thresholds as rules; none while the database does not answer (they are
        compiled in when it does: the first answer reloads everything)."""
        try:
            return super().rule_group(interval_ms)
        except self.shared._psycopg.Error:
            return RuleGroup(GROUP_NAME, [], interval_ms, 0, "thresholds")

    def close(self) -> None:
        pass


class SharedAckHistory(AlertHistory):
    """The local incident history, with acknowledgements shared: an incident acknowledged
    through one server is acknowledged on every server that has it open."""

    def __init__(self, path: Any, shared: SharedState) -> None:
        super().__init__(path)
        self.shared = shared
        shared.on_change["acks"] = self.apply_shared_acks

    def acknowledge(self, incident: int, who: str, comment: str = "",
                    now_ms: int | None = None) -> dict[str, Any]:
        out = super().acknowledge(incident, who, comment, now_ms)
        self.shared.acknowledge(out["fingerprint"], out["started_ms"], who, comment,
                                out["acked_ms"])
        return out

    def apply_shared_acks(self) -> None:
        for (fingerprint, _started), (at_ms, who, comment) in self.shared.acks().items():
            with self.lock:
                rows = self.db.execute(
                    "SELECT id FROM incidents WHERE fingerprint=? AND resolved_ms IS NULL AND "
                    "acked_ms IS NULL AND started_ms <= ?",
                    (fingerprint, at_ms + ACK_SLACK_MS)).fetchall()
            for (incident,) in rows:
                try:
                    AlertHistory.acknowledge(self, incident, who, comment, at_ms)
                except IncidentError:
                    pass
