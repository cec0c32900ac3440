"""``errors_total`` and the alerting gauges of a server's error store.

The group label is capped to the top ``k`` groups by count at each collection; every other
group adds into ``error_group="_other"``. Membership changes as counts change, so
``_other`` is kept monotonic: it only ever gains what non-top groups gained since the last
collection, and a group entering the top never takes anything back from it (a counter that
went down would read as a reset to ``rate()``).

``watchkeeper_error_group_first_seen_timestamp_seconds`` and
``watchkeeper_error_group_regressed`` (per group, the top ``k`` plus any group that is new
in the last day or regressed) are what the ``errors`` rule pack alerts on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from watchkeeper.integrations.errors.capture import OTHER

DEFAULT_TOP = 100
NEW_WINDOW = 86400.0


class ErrorStoreCollector:
    def __init__(self, store: Any, k: int = DEFAULT_TOP) -> None:
        self.store = store
        self.k = k
        self._prev: dict[tuple[str, str, str], int] = {}
        self._other: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Any]:
        from watchkeeper.metrics.family import CounterMetricFamily

        store = self.store() if callable(self.store) else self.store
        if store is None:
            return
        rows = store.counts()
        totals: dict[str, int] = {}
        for gid, _etype, _route, n in rows:
            totals[gid] = totals.get(gid, 0) + n
        top = set(sorted(totals, key=lambda g: (-totals[g], g))[:self.k])
        family = CounterMetricFamily(
            "errors", "Errors stored, by group (top groups by count; the rest _other), "
            "type and route.", labels=["error_group", "error_type", "http_route"])
        prev, other = self._prev, self._other
        current: dict[tuple[str, str, str], int] = {}
        for gid, etype, route, n in rows:
            current[(gid, etype, route)] = n
            if gid in top:
                family.add_metric([gid, etype, route], n)
            else:
                gained = n - prev.get((gid, etype, route), 0)
                if gained > 0:
                    other[(etype, route)] = other.get((etype, route), 0) + gained
        self._prev = current
        for (etype, route), n in sorted(other.items()):
            family.add_metric([OTHER, etype, route], n)
        yield family
        yield from self._gauges(store, top)

    def _gauges(self, store: Any, top: set[str]) -> Iterator[Any]:
        from watchkeeper.metrics.family import GaugeMetricFamily

        first = GaugeMetricFamily(
            "watchkeeper_error_group_first_seen_timestamp_seconds",
            "When the error group was first seen.", labels=["error_group", "error_type"])
        regressed = GaugeMetricFamily(
            "watchkeeper_error_group_regressed",
            "1 while a resolved error group that came back is not resolved again.",
            labels=["error_group", "error_type"])
        rows = store.alerting_rows(top, time.time() - NEW_WINDOW)
        for gid, etype, first_seen, is_regressed in rows[:10 * self.k]:
            first.add_metric([gid, etype], first_seen)
            regressed.add_metric([gid, etype], 1.0 if is_regressed else 0.0)
        yield first
        yield regressed
        groups = GaugeMetricFamily("watchkeeper_error_groups", "Error groups by status.",
                                   labels=["status"])
        for status, n in store.summary().items():
            groups.add_metric([status], n)
        yield groups
