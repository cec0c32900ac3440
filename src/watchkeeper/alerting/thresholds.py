"""Thresholds: the simple form of an alert for people who do not write PromQL.

A threshold is a metric or expression, a warning and/or critical level, a direction
(above/below), a duration and an enabled flag. It lives in SQLite, can be changed at run
time (who and when kept), and compiles to ordinary alerting rules, one per level.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from watchkeeper.alerting.rules import Rule, RuleGroup, format_duration_ms, parse_duration_ms
from watchkeeper.promql import PromQLError, parse

_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,127}")
GROUP_NAME = "watchkeeper-thresholds"


class ThresholdError(ValueError):
    """A threshold that cannot be stored, naming the field at fault."""


@dataclass
class Threshold:
    name: str
    expr: str
    warning: float | None = None
    critical: float | None = None
    direction: str = "above"
    duration: str = "0s"
    enabled: bool = True
    description: str = ""
    updated_by: str = ""
    updated_at: float = 0.0

    def validate(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ThresholdError(f"name {self.name!r}: letters, digits, _ . - only")
        if self.direction not in ("above", "below"):
            raise ThresholdError(f"direction {self.direction!r}: want above or below")
        if self.warning is None and self.critical is None:
            raise ThresholdError("give a warning level, a critical level or both")
        if self.warning is not None and self.critical is not None:
            wrong = self.critical < self.warning if self.direction == "above" \
                else self.critical > self.warning
            if wrong:
                raise ThresholdError(f"critical {self.critical} is less severe than warning "
                                     f"{self.warning} for direction {self.direction}")
        try:
            parse_duration_ms(self.duration)
        except ValueError as e:
            raise ThresholdError(f"duration: {e}") from None
        try:
            parse(self.expr)
        except PromQLError as e:
            raise ThresholdError(f"expr: {e}") from None

    def rules(self) -> list[Rule]:
        """One alerting rule per level; warning is left out while critical holds."""
        op = ">" if self.direction == "above" else "<"
        out = []
        title = "".join(p.capitalize() for p in re.split(r"[_.-]", self.name))
        for severity, level in (("critical", self.critical), ("warning", self.warning)):
            if level is None:
                continue
            expr = f"({self.expr}) {op} {level!r}"
            if severity == "warning" and self.critical is not None:
                expr += f" unless ({self.expr}) {op} {self.critical!r}"
            out.append(Rule(expr=expr, alert=f"Threshold{title}",
                            for_ms=parse_duration_ms(self.duration),
                            labels={"severity": severity, "threshold": self.name},
                            annotations={"summary": f"{self.name} is {{{{ $value | humanize }}}}, "
                                         f"{self.direction} the {severity} level {level:g}",
                                         "description": self.description}))
        return out


class ThresholdStore:
    """Thresholds in SQLite, with the history of every change."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS thresholds (name TEXT PRIMARY KEY, "
                        "body TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS threshold_changes (name TEXT, at REAL, "
                        "who TEXT, action TEXT, body TEXT)")
        self.lock = threading.Lock()

    def list(self) -> list[Threshold]:
        with self.lock:
            rows = self.db.execute("SELECT body FROM thresholds ORDER BY name").fetchall()
        return [Threshold(**json.loads(b)) for (b,) in rows]

    def get(self, name: str) -> Threshold | None:
        with self.lock:
            row = self.db.execute("SELECT body FROM thresholds WHERE name=?", (name,)).fetchone()
        return Threshold(**json.loads(row[0])) if row else None

    def put(self, threshold: Threshold, who: str) -> Threshold:
        threshold.validate()
        threshold.updated_by, threshold.updated_at = who, time.time()
        body = json.dumps(asdict(threshold))
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO thresholds VALUES (?, ?)",
                            (threshold.name, body))
            self.db.execute("INSERT INTO threshold_changes VALUES (?, ?, ?, 'put', ?)",
                            (threshold.name, threshold.updated_at, who, body))
        return threshold

    def delete(self, name: str, who: str) -> bool:
        with self.lock:
            gone = self.db.execute("DELETE FROM thresholds WHERE name=?", (name,)).rowcount
            if gone:
                self.db.execute("INSERT INTO threshold_changes VALUES (?, ?, ?, 'delete', NULL)",
                                (name, time.time(), who))
        return bool(gone)

    def changes(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT at, who, action FROM threshold_changes WHERE name=? "
                                   "ORDER BY at", (name,)).fetchall()
        return [{"at": at, "who": who, "action": action} for at, who, action in rows]

    def rule_group(self, interval_ms: int | None = None) -> RuleGroup:
        """Every enabled threshold as ordinary rules, in one group."""
        rules = [r for t in self.list() if t.enabled for r in t.rules()]
        return RuleGroup(GROUP_NAME, rules, interval_ms, 0, "thresholds")

    def close(self) -> None:
        self.db.close()


def threshold_from_json(name: str, body: dict[str, Any]) -> Threshold:
    known = {"expr", "metric", "warning", "critical", "direction", "duration", "enabled",
             "description"}
    unknown = set(body) - known
    if unknown:
        raise ThresholdError(f"unknown field(s) {sorted(unknown)}")
    expr = body.get("expr") or body.get("metric")
    if not expr:
        raise ThresholdError("give expr (or metric)")

    def level(key: str) -> float | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ThresholdError(f"{key}: {value!r} is not a number") from None
    duration = body.get("duration", "0s")
    if isinstance(duration, int | float):
        duration = format_duration_ms(int(duration * 1000))
    return Threshold(name, str(expr), level("warning"), level("critical"),
                     str(body.get("direction", "above")), str(duration),
                     bool(body.get("enabled", True)), str(body.get("description", "")))
