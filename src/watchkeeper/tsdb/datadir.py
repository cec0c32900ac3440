"""The data directory: its exclusive lock and what may live in it.

Why: two writers on one directory corrupt each other, and files we did not write
(another program's data, a stray backup) must be reported, never silently deleted.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from watchkeeper.tsdb.errors import DataDirError, StoreLockedError
from watchkeeper.tsdb.wal import SEGMENT_RE

DB_NAME = "tsdb.sqlite3"
LOCK_NAME = "LOCK"
WAL_DIR = "wal"
AGENT_IDS = "agent_series_ids"  # agent mode's reserved series ids (the same directory)
_OURS = {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", LOCK_NAME, WAL_DIR,
         AGENT_IDS}


def foreign_files(root: Path) -> list[str]:
    """Names in the data directory (and its wal/) that the store did not create."""
    found = [p.name for p in root.iterdir() if p.name not in _OURS] if root.is_dir() else []
    wal = root / WAL_DIR
    if wal.is_dir():
        found += [f"{WAL_DIR}/{p.name}" for p in wal.iterdir() if not SEGMENT_RE.match(p.name)]
    elif wal.exists():
        found.append(f"{WAL_DIR} (not a directory)")
    return sorted(found)


def check_usable(root: Path) -> None:
    """Refuse a directory that is clearly someone else's (files but none of ours)."""
    if root.exists() and not root.is_dir():
        raise DataDirError(f"{root} is not a directory")
    if not root.exists():
        return
    names = {p.name for p in root.iterdir()}
    if names and DB_NAME not in names and not names <= _OURS:
        strangers = ", ".join(sorted(names - _OURS)[:5])
        raise DataDirError(
            f"{root} is not an empty or watchkeeper data directory "
            f"(found {strangers}); refusing to write into it"
        )


class DirLock:
    """An exclusive flock on DIR/LOCK, released on close or process death."""

    def __init__(self, root: Path) -> None:
        self.fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise StoreLockedError(
                f"{root} is in use by another process (lock on {LOCK_NAME})"
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1
