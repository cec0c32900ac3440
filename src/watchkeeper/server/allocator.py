"""glibc's allocator told to give freed memory back: why the server's RSS stays flat.

Why: the server frees most of what it allocates within a second (query arrays, decoded
chunks, scrape bodies), on some 40 threads. glibc gives each thread an arena of its own
(up to 8 per core) and raises its mmap threshold after the first large free, so arrays of
a few MB land inside the arenas too; what they leave free in the middle of an arena stays
resident. Under the soak's mixed load that free-but-resident memory kept growing while the
live Python objects stayed flat. Two measures, both no-ops off glibc:

- ``limit_arenas`` (at start, before the threads): at most ``MAX_ARENAS`` arenas, unless
  ``MALLOC_ARENA_MAX`` is set in the environment (the operator's choice wins);
- ``trim`` (every ``TRIM_INTERVAL_S`` seconds, off the event loop): ``malloc_trim(0)``
  returns the free pages of every arena to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h
MAX_ARENAS = 2
TRIM_INTERVAL_S = 60.0


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - musl has no malloc_trim: not glibc
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def rss_bytes() -> int:
    """Resident set size of this process now (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def limit_arenas(count: int = MAX_ARENAS) -> bool:
    """Cap glibc's arenas at ``count``; True if set (False off glibc or when the
    environment already chose)."""
    if _LIBC is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, count))


@dataclass
class TrimStats:
    """What trimming gave back, for the server's own metrics."""

    runs: int = 0
    released_bytes: int = 0  # RSS before minus after, summed (never negative per run)
    seconds: float = 0.0


STATS = TrimStats()


def trim() -> int:
    """Return the free pages of every arena to the system; bytes of RSS released (0 off
    glibc). Takes the arenas' locks for a few milliseconds: call it off the event loop."""
    if _LIBC is None:
        return 0
    before = rss_bytes()
    started = time.perf_counter()
    _LIBC.malloc_trim(0)
    STATS.seconds += time.perf_counter() - started
    released = max(0, before - rss_bytes())
    STATS.runs += 1
    STATS.released_bytes += released
    return released


def available() -> bool:
    """True where the allocator can be tuned (glibc)."""
    return _LIBC is not None
