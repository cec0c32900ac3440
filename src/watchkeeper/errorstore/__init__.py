"""The server's error store: groups, samples and statuses in SQLite, Sentry ingest."""

from __future__ import annotations

from .store import STATUSES, ErrorStore, UnknownGroup

__all__ = ["STATUSES", "ErrorStore", "UnknownGroup"]
