"""Silences (Alertmanager's API shapes, kept in SQLite) and recurring maintenance windows.

A silence mutes alerts whose labels match all its matchers between start and end;
a maintenance window mutes matching alerts on given weekdays between two times of day.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watchkeeper.alerting.routing import matches_all, parse_matchers
from watchkeeper.tsdb.matchers import Matcher

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class SilenceError(ValueError):
    """A silence that cannot be stored: says what is wrong with it."""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def parse_iso(text: str) -> int:
    if not isinstance(text, str):
        raise SilenceError(f"bad time {text!r}: want RFC 3339")
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise SilenceError(f"bad time {text!r}: want RFC 3339") from None


@dataclass
class Silence:
    id: str
    matchers: list[Matcher]
    starts_at_ms: int
    ends_at_ms: int
    created_by: str
    comment: str
    updated_at_ms: int = 0

    def state(self, now_ms: int) -> str:
        if now_ms < self.starts_at_ms:
            return "pending"
        return "active" if now_ms < self.ends_at_ms else "expired"

    def to_api(self, now_ms: int) -> dict[str, Any]:
        """Alertmanager's v2 ``gettableSilence``."""
        return {"id": self.id, "status": {"state": self.state(now_ms)},
                "updatedAt": iso(self.updated_at_ms),
                "matchers": [{"name": m.name, "value": m.value, "isRegex": "~" in m.op,
                              "isEqual": not m.op.startswith("!")} for m in self.matchers],
                "startsAt": iso(self.starts_at_ms), "endsAt": iso(self.ends_at_ms),
                "createdBy": self.created_by, "comment": self.comment}


def silence_from_api(body: Mapping[str, Any]) -> Silence:
    """A ``postableSilence`` (Alertmanager's JSON) checked and turned into a Silence."""
    if not isinstance(body, Mapping):
        raise SilenceError("a silence is a JSON object")
    raw = body.get("matchers")
    if not raw or not isinstance(raw, list):
        raise SilenceError("silence needs a list of at least one matcher")
    matchers = []
    for m in raw:
        if not isinstance(m, Mapping) or not isinstance(m.get("name"), str) or \
                not _LABEL_NAME.fullmatch(m["name"]):
            raise SilenceError(f"bad matcher {m!r}: want an object with a label name")
        try:
            regex, equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
            op = ("=" if equal else "!=") if not regex else ("=~" if equal else "!~")
            matchers.append(Matcher(str(m["name"]), op, str(m.get("value", ""))))
        except (KeyError, AttributeError, ValueError) as e:
            raise SilenceError(f"bad matcher {m!r}: {e}") from None
    if all(m.matches_empty for m in matchers):
        raise SilenceError("at least one matcher must not match the empty string")
    now = int(time.time() * 1000)
    starts = parse_iso(body["startsAt"]) if body.get("startsAt") else now
    if not body.get("endsAt"):
        raise SilenceError("silence needs endsAt")
    ends = parse_iso(body["endsAt"])
    if ends <= starts:
        raise SilenceError("endsAt must be after startsAt")
    if not body.get("createdBy"):
        raise SilenceError("silence needs createdBy")
    return Silence(str(body.get("id") or uuid.uuid4()), matchers, starts, ends,
                   str(body["createdBy"]), str(body.get("comment", "")), now)


@dataclass
class MaintenanceWindow:
    """Every ``weekdays`` from ``start`` to ``end`` (HH:MM in ``timezone``, default UTC),
    matching alerts are muted."""

    name: str
    matchers: list[Matcher]
    weekdays: set[int] = field(default_factory=lambda: set(range(7)))
    start_minute: int = 0
    end_minute: int = 24 * 60
    timezone: tzinfo = UTC

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MaintenanceWindow:
        def minutes(text: str) -> int:
            hours, _, mins = str(text).partition(":")
            return int(hours) * 60 + int(mins or 0)
        try:
            days = {WEEKDAYS.index(str(d).lower()) for d in config.get("weekdays") or WEEKDAYS}
            zone = ZoneInfo(str(config["timezone"])) if config.get("timezone") else UTC
            start = minutes(config.get("start_time", "00:00"))
            end = minutes(config.get("end_time", "24:00"))
        except (ValueError, ZoneInfoNotFoundError) as e:
            raise ValueError(f"maintenance window {config.get('name', '')!r}: {e}") from None
        return cls(str(config.get("name", "")), parse_matchers(config), days, start, end, zone)

    def active(self, now_ms: int) -> bool:
        moment = datetime.fromtimestamp(now_ms / 1000, tz=self.timezone)
        minute = moment.hour * 60 + moment.minute
        return moment.weekday() in self.weekdays and self.start_minute <= minute < self.end_minute


class SilenceStore:
    """Silences in SQLite, cached in memory for the per-alert check."""

    def __init__(self, path: str | Path, windows: list[MaintenanceWindow] | None = None) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT)")
        self.lock = threading.Lock()
        self.windows = windows or []
        self._cache = [self._load(body) for (body,) in self.db.execute("SELECT body FROM silences")]

    @staticmethod
    def _load(body: str) -> Silence:
        d = json.loads(body)
        return Silence(d["id"], [Matcher(*m) for m in d["matchers"]], d["starts"], d["ends"],
                       d["by"], d["comment"], d["updated"])

    @staticmethod
    def _dump(silence: Silence) -> str:
        return json.dumps({"id": silence.id, "starts": silence.starts_at_ms,
                           "ends": silence.ends_at_ms, "by": silence.created_by,
                           "comment": silence.comment, "updated": silence.updated_at_ms,
                           "matchers": [[m.name, m.op, m.value] for m in silence.matchers]})

    def put(self, silence: Silence) -> str:
        body = self._dump(silence)
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO silences VALUES (?, ?)", (silence.id, body))
            self._cache = [s for s in self._cache if s.id != silence.id] + [silence]
        return silence.id

    def get(self, silence_id: str) -> Silence | None:
        return next((s for s in self._cache if s.id == silence_id), None)

    def list(self) -> list[Silence]:
        return sorted(self._cache, key=lambda s: s.starts_at_ms)

    def expire(self, silence_id: str, now_ms: int | None = None) -> bool:
        silence = self.get(silence_id)
        if silence is None:
            return False
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        if silence.state(now) == "expired":
            return True
        silence.ends_at_ms = max(now, silence.starts_at_ms)
        silence.updated_at_ms = now
        self.put(silence)
        return True

    def muted_by(self, labels: Mapping[str, str], now_ms: int) -> list[str]:
        """Ids of active silences (and names of open maintenance windows) muting ``labels``."""
        hits = [s.id for s in self._cache
                if s.state(now_ms) == "active" and matches_all(s.matchers, labels)]
        hits += [f"window:{w.name}" for w in self.windows
                 if w.active(now_ms) and matches_all(w.matchers, labels)]
        return hits

    def close(self) -> None:
        self.db.close()
