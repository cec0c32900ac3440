"""Per-check history: the last N results, when the status last changed, how often.

Flapping shows as many status changes within a window; an operator reads it here rather
than guessing from one snapshot.
"""

from __future__ import annotations

import time
from collections import deque

from .model import CheckResult, Status

DEFAULT_SIZE = 100
FLAP_WINDOW = 600.0
FLAP_THRESHOLD = 4


class CheckHistory:
    """Bounded record of one check's results and status transitions."""

    __slots__ = ("_changes", "_results", "failures", "last_change", "runs")

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._results: deque[CheckResult] = deque(maxlen=size)
        self._changes: deque[float] = deque(maxlen=max(size, 16))
        self.last_change: float | None = None
        self.runs = 0
        self.failures = 0

    def add(self, result: CheckResult) -> None:
        previous = self._results[-1].status if self._results else None
        if previous is not None and previous is not result.status:
            self._changes.append(result.timestamp)
            self.last_change = result.timestamp
        elif previous is None:
            self.last_change = result.timestamp
        self._results.append(result)
        self.runs += 1
        if result.status is Status.UNHEALTHY:
            self.failures += 1

    @property
    def latest(self) -> CheckResult | None:
        return self._results[-1] if self._results else None

    def results(self) -> list[CheckResult]:
        """Oldest first."""
        return list(self._results)

    def changes_within(self, window: float = FLAP_WINDOW, now: float | None = None) -> int:
        """How many times the status changed in the last ``window`` seconds."""
        since = (time.time() if now is None else now) - window
        return sum(1 for t in self._changes if t >= since)

    def is_flapping(
        self, window: float = FLAP_WINDOW, threshold: int = FLAP_THRESHOLD,
        now: float | None = None,
    ) -> bool:
        return self.changes_within(window, now) >= threshold
