"""One report's reads of the store, each decoded once.

A report asks for the same selector over the same span more than once: the latency panel's
p50, p95 and p99 each select the request histogram's buckets, an error ratio reads the
request count in its numerator and its denominator. The store decodes compressed chunks on
every read, and the buckets of a busy service are most of a report's work; kept here for
the report's life, a repeat costs nothing, and a read inside a kept one (the week's p95
inside the week's chart) is a slice of it. Bounded: at most ``BUDGET`` samples are kept
(the oldest read goes first), so a report over a huge store holds no more than ~80 MB.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from watchkeeper.tsdb.api import MAX_TIME, MIN_TIME

BUDGET = 5_000_000  # samples (16 bytes each): at most ~80 MB while a report is built


class ReadOnce:
    """A store wrapper: ``select`` answers a repeat from memory; everything else passes
    through."""

    def __init__(self, store: Any, budget: int = BUDGET) -> None:
        self.store = store
        self.budget = budget
        self.kept = 0
        self.hits = 0
        self._reads: OrderedDict[tuple, tuple[list[Any], int]] = OrderedDict()

    def select(self, matchers: Sequence[Any], start_ms: int = MIN_TIME,
               end_ms: int = MAX_TIME) -> Iterator[Any]:
        key = (tuple(matchers), start_ms, end_ms)
        for (kept_matchers, lo, hi), (series, _) in self._reads.items():
            if kept_matchers == key[0] and lo <= start_ms and end_ms <= hi:
                self.hits += 1
                self._reads.move_to_end((kept_matchers, lo, hi))
                if (lo, hi) == (start_ms, end_ms):
                    return iter(series)
                return _within(series, start_ms, end_ms)
        series = list(self.store.select(matchers, start_ms, end_ms))
        size = sum(len(s.timestamps) for s in series)
        if size <= self.budget:
            self._reads[key] = (series, size)
            self.kept += size
            while self.kept > self.budget:
                _, (_, dropped) = self._reads.popitem(last=False)
                self.kept -= dropped
        return iter(series)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _within(series: list[Any], start_ms: int, end_ms: int) -> Iterator[Any]:
    """The samples of a kept read inside ``[start_ms, end_ms]``, as the store would answer
    (a series without any there is left out)."""
    for s in series:
        lo = int(np.searchsorted(s.timestamps, start_ms, "left"))
        hi = int(np.searchsorted(s.timestamps, end_ms, "right"))
        if hi > lo:
            yield type(s)(s.labels, s.timestamps[lo:hi], s.values[lo:hi])


def report_engine(engine: Any) -> Any:
    """``engine``'s settings over a ``ReadOnce`` of its store."""
    from watchkeeper.promql.engine import Engine

    return Engine(ReadOnce(engine.store), engine.lookback_ms, engine.subquery_step_ms,
                  engine.rollups, engine.limits)
