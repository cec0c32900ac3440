"""The re-entrant thread lock of ``locks``: counts and times only the outermost hold.

The underlying ``RLock`` already knows how deep its owner is (``_recursion_count()``), so
the wrapper keeps no depth of its own: an acquisition is counted when that count is 1, and
a ``with`` block leaves through the lock's own ``__exit__`` (see ``TrackedLock``) except
the sampled one, which asks the count again to find the outermost release. A wrapped lock
without ``_recursion_count`` (``multiprocessing.RLock``) keeps the depth itself.
"""

from __future__ import annotations

import threading
from typing import Any

from .locks import _MASK, TrackedLock, _OwnExit


def _locked(lock: Any) -> bool:
    """Whether anyone holds ``lock``: ``locked()`` where the RLock has one (Python 3.14),
    else its repr, which both RLock implementations start with ``<locked`` or
    ``<unlocked`` (``_is_owned`` answers only for the calling thread)."""
    locked = getattr(lock, "locked", None)
    if locked is not None:
        return bool(locked())
    return repr(lock).startswith("<locked")


class TrackedRLock(TrackedLock):
    """A re-entrant lock over an RLock with ``_recursion_count()`` (both of ``threading``'s)."""

    __slots__ = ("_count",)

    def __init__(self, name: str, lock: Any = None, *, kind: str = "thread") -> None:
        lock = threading.RLock() if lock is None else lock
        self._count = lock._recursion_count
        super().__init__(name, lock, kind=kind)

    def holding(self) -> int:
        return 1 if _locked(self._lock) else 0

    def locked(self) -> bool:
        return _locked(self._lock)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._acquire(False):
            if self._count() == 1:  # the outermost: a nested one finds the count above 1
                n = self.acquired = self.acquired + 1
                if n & _MASK < 2:
                    self._sample(n)
            return True
        return self._wait(blocking, timeout)  # another thread holds it: got is outermost

    def release(self) -> None:
        if self._since and self._count() == 1:
            self._timed()
        self._release()

    def _timed_exit(self, etype: object = None, exc: object = None, tb: object = None) -> None:
        if self._since and self._count() == 1:
            self._timed()
        self._release()

    def __enter__(self) -> bool:
        if self._acquire(False):
            if self._count() == 1:
                n = self.acquired = self.acquired + 1
                if n & _MASK < 2:
                    self._sample(n)
            return True
        return self._wait(True, -1)


class _DepthRLock(_OwnExit):
    """A re-entrant lock that cannot say how deep its owner is: the wrapper counts."""

    __slots__ = ("_depth",)

    def __init__(self, name: str, lock: Any, *, kind: str = "thread") -> None:
        self._depth = 0
        super().__init__(name, lock, kind=kind)

    def holding(self) -> int:
        return 1 if self._depth > 0 else 0

    def locked(self) -> bool:
        return self._depth > 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._acquire(False):
            d = self._depth = self._depth + 1  # only the owner gets here: never raced
            if d == 1:
                n = self.acquired = self.acquired + 1
                if n & _MASK == 1:
                    self._sample(n)
            return True
        got = self._wait(blocking, timeout)
        if got:
            self._depth = 1
        return got

    def release(self) -> None:
        d = self._depth = self._depth - 1
        if not d and self._since:
            self._timed()
        self._release()

    def __enter__(self) -> bool:
        return self.acquire()


def tracked_rlock(name: str, lock: Any = None) -> TrackedLock:
    """A counting ``threading.RLock``, or a wrapper of the re-entrant ``lock``."""
    if lock is None or hasattr(lock, "_recursion_count"):
        return TrackedRLock(name, lock)
    return _DepthRLock(name, lock)


