"""SQLite file: exists, opens read-only, answers a query; optionally ``PRAGMA quick_check``."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..check import Check, slug
from ..model import CheckError, Outcome, Status


class SQLiteCheck(Check):
    type = "sqlite"

    def __init__(self, *, path: str, quick_check: bool = False, **common: Any) -> None:
        common.setdefault("name", slug(f"sqlite-{Path(path).stem}"))
        super().__init__(**common)
        self.path, self.quick_check = path, quick_check

    def check(self) -> Outcome:
        if not os.path.isfile(self.path):
            raise CheckError(f"SQLite database {self.path} does not exist")
        uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout)
        except sqlite3.Error as e:
            raise CheckError(f"cannot open SQLite database {self.path}: {e}") from None
        try:
            (tables,) = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
            details = f"{self.path}: {tables} tables, {os.path.getsize(self.path)} bytes"
            if self.quick_check:
                rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
                if rows != ["ok"]:
                    return Outcome(Status.UNHEALTHY, f"{self.path}: quick_check: {rows[0]}",
                                   measurement="integrity", component_type="datastore")
                details += ", quick_check ok"
        except sqlite3.Error as e:
            raise CheckError(f"SQLite database {self.path} unreadable: {e}") from None
        finally:
            conn.close()
        return Outcome(Status.HEALTHY, details, measurement="connection",
                       component_type="datastore")
