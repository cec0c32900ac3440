"""The server's error store: groups, samples and statuses in SQLite, Sentry ingest."""

from __future__ import annotations

from .store import ACTIONS, STATUSES, ErrorStore, UnknownGroup

__all__ = ["ACTIONS", "STATUSES", "ErrorStore", "UnknownGroup"]
