"""Is the worker that wrote a file still running? Its file lock says so.

A worker holds a shared ``flock`` on each of its value files for as long as it runs; the
kernel drops the lock when the process ends, however it ends (exit, crash, SIGKILL).
A file nobody holds a lock on therefore belongs to a dead worker and can be compacted
without any hook from the server (uvicorn ``--workers`` has none). Unlike checking a
pid, this works when workers sit in other pid namespaces and cannot be fooled by a pid
the kernel handed out again.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # pragma: no cover - no flock: liveness is unknown, nothing is compacted
    fcntl = None  # type: ignore[assignment]

SUPPORTED = fcntl is not None


def create_locked(path: str, content: bytes, size: int) -> int | None:
    """Create ``path`` already holding ``content`` and our lock; None if it exists.

    The file is built under a temporary name and linked into place, so no reader or
    compaction ever sees it empty or unlocked.
    """
    temp = f"{path}.new-{os.getpid()}-{os.urandom(4).hex()}"
    fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
        os.ftruncate(fd, size)
        os.pwrite(fd, content, 0)
        try:
            os.link(temp, path)
        except FileExistsError:
            os.close(fd)
            return None
        except OSError:  # a file system without hard links: the plain way
            os.close(fd)
            return open_locked(path)
        return fd
    finally:
        os.unlink(temp)


def open_locked(path: str) -> int:
    """Open (creating if needed) a value file and hold it as a live worker's.

    Waits while a compaction holds the file, then makes sure the name still points at the
    file it locked: if the compaction deleted it meanwhile, a fresh file is created.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is None:
            return fd
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def claim_if_dead(path: str) -> int | None:
    """A descriptor holding ``path`` exclusively if no live worker holds it, else None.

    Keep the descriptor open while compacting the file: a process reusing the dead
    worker's pid then waits in ``open_locked`` instead of writing into a file being
    deleted.
    """
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd
