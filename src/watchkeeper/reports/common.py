"""What every section shares: the period as PromQL writes it, a chart's step, medians of
durations from the alert history, and a section that records what it could not read."""

from __future__ import annotations

import contextlib
import logging
import statistics
from collections.abc import Iterator
from typing import Any

from .model import Section
from .period import Period
from .source import Source

log = logging.getLogger("watchkeeper.reports")

def median_seconds(pairs: list[tuple[Any, Any]]) -> float | None:
    """The median of ``later - earlier`` (milliseconds) over the pairs where both are set."""
    spans = [(b - a) / 1000.0 for a, b in pairs if a is not None and b is not None]
    return statistics.median(spans) if spans else None


@contextlib.contextmanager
def guarded(section: Section, what: str) -> Iterator[None]:
    """Run one part of a section; a failure becomes a line in the report, not a crash."""
    try:
        yield
    except Exception as e:  # a report with a hole beats no report
        log.warning("report: %s failed: %s", what, e)
        section.problems.append(f"{what}: {e}")


def incidents(source: Source, period: Period) -> list[dict[str, Any]]:
    """Alert incidents that overlap the period, from the alert history (none without it)."""
    if source.history is None:
        return []
    return source.history.list(start_ms=int(period.start * 1000),
                               end_ms=int(period.end * 1000), limit=100_000)
