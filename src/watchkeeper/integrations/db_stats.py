"""The figures of every instrumented connection pool, named as the OpenTelemetry database
conventions translated to Prometheus, and the pool score.

Series (label ``pool_name``): ``db_client_connection_count{state="idle"|"used"}``,
``db_client_connection_idle_max``, ``db_client_connection_idle_min``,
``db_client_connection_max``, ``db_client_connection_pending_requests``,
``db_client_connection_timeouts_total``, ``db_client_connection_create_time_seconds``,
``db_client_connection_wait_time_seconds``, ``db_client_connection_use_time_seconds``
(histograms), ``db_client_operation_duration_seconds{db_system_name, db_operation_name}``
(the conventions' buckets), ``db_client_connection_overflow`` (connections beyond the
pool size, never negative), ``db_client_connection_utilization`` (used over max),
``db_client_connection_invalidations_total``, ``db_client_connection_leaks_total`` and
``db_client_connection_hold_seconds{work}`` (a summary: how long each route or task held
connections, from the shared work context).

Score (component ``pool``): 100 minus ``utilization`` (40 x how far use is past 70% of max,
over the remaining 30%), ``pending`` (20 x waiters per allowed connection, capped),
``wait_time`` (20 x the mean wait since the previous score over 100 ms, capped) and
``errors`` (20 x timeouts and invalidations per checkout since the previous score x 10,
capped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from .resources import Hist, track_score
from .scores import Score, score_from_penalties

#: db.client.operation.duration's advised buckets
OPERATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, float("inf"))
#: create, wait and use times start well under a millisecond
CONNECTION_BUCKETS = (0.0001, 0.0005, *OPERATION_BUCKETS)
MAX_WORKS = 100
OVERFLOW = "__overflow__"


class PoolStats:
    """One pool's counters and the gauges read from the pool when scraped."""

    def __init__(self, name: str, system: str) -> None:
        self.name = name
        self.system = system
        self.pending = self.timeouts = self.invalidations = self.leaks = self.checkouts = 0
        self.wait = Hist(CONNECTION_BUCKETS)
        self.create = Hist(CONNECTION_BUCKETS)
        self.use = Hist(CONNECTION_BUCKETS)
        self.operations: dict[str, Hist] = {}
        self.hold: dict[str, list[float]] = {}
        #: used, idle, max, idle_max, idle_min, overflow -> callables read when scraped
        self.gauges: dict[str, Callable[[], float]] = {}
        self._last = (0, 0, 0, 0.0)

    def held(self, work: str, seconds: float) -> None:
        h = self.hold.get(work)
        if h is None:
            if len(self.hold) >= MAX_WORKS:
                work = OVERFLOW
            h = self.hold.setdefault(work, [0, 0.0])
        h[0] += 1
        h[1] += seconds

    def operation(self, name: str, seconds: float) -> None:
        h = self.operations.get(name)
        if h is None:
            h = self.operations.setdefault(name, Hist(OPERATION_BUCKETS))
        h.observe(seconds)

    def figure(self, what: str) -> float:
        fn = self.gauges.get(what)
        try:
            return float(fn()) if fn is not None else -1.0
        except Exception:  # a closed pool answers nothing useful
            return -1.0


def pool_score(s: PoolStats) -> Score:
    """The documented formula above; each call consumes the window since the last."""
    used, most = s.figure("used"), s.figure("max")
    penalties = {"utilization": 0.0, "pending": 0.0, "wait_time": 0.0, "errors": 0.0}
    if most > 0:
        util = max(0.0, used) / most
        penalties["utilization"] = min(40.0, 40.0 * max(0.0, util - 0.7) / 0.3)
        penalties["pending"] = min(20.0, 20.0 * s.pending / most)
    checkouts, errors, waits, wsum = (s.checkouts, s.timeouts + s.invalidations, s.wait.count,
                                      s.wait.sum)
    c0, e0, w0, ws0 = s._last
    s._last = (checkouts, errors, waits, wsum)
    if waits > w0:
        penalties["wait_time"] = min(20.0, 20.0 * (wsum - ws0) / (waits - w0) / 0.1)
    if errors > e0:
        penalties["errors"] = min(20.0, 200.0 * (errors - e0) / max(1, checkouts - c0))
    return score_from_penalties("pool", s.name, penalties)


class PoolRegistry:
    """Every instrumented pool's stats; a collector on the default registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[str, PoolStats] = {}
        self._registered = False
        #: called before each collection (leak scans)
        self.before_collect: list[Callable[[], None]] = []

    def stats(self, name: str, system: str) -> PoolStats:
        with self._lock:
            found = self._stats[name] = PoolStats(name, system)
            track_score("pool", name, lambda s=found: pool_score(s),
                        key=lambda s=found: (s.checkouts, s.timeouts, s.invalidations,
                                             s.pending, s.figure("used")))
            if not self._registered:
                from ..metrics.registry import REGISTRY

                REGISTRY.register(self)
                self._registered = True
        return found

    def all(self) -> list[PoolStats]:
        return sorted(list(self._stats.values()), key=lambda s: s.name)

    def collect(self) -> Iterator[Any]:
        from ..metrics.family import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
            SummaryMetricFamily,
        )

        for scan in list(self.before_collect):
            scan()
        stats = self.all()
        p = ["pool_name"]
        count = GaugeMetricFamily("db_client_connection_count", "Connections by state.",
                                  labels=["pool_name", "state"])
        gauges = {w: GaugeMetricFamily(f"db_client_connection_{w}", doc, labels=p)
                  for w, doc in (("idle_max", "Most idle connections the pool keeps."),
                                 ("idle_min", "Fewest idle connections the pool keeps."),
                                 ("max", "Most connections the pool allows."),
                                 ("pending_requests", "Requests waiting for a connection."),
                                 ("overflow", "Connections open beyond the pool size."),
                                 ("utilization", "Used connections over the maximum (0-1)."))}
        counters = {w: CounterMetricFamily(f"db_client_connection_{w}", doc, labels=p)
                    for w, doc in (("timeouts", "Checkouts that timed out."),
                                   ("invalidations", "Connections invalidated (dropped)."),
                                   ("leaks", "Connections held past the leak threshold."))}
        hists = {w: HistogramMetricFamily(f"db_client_connection_{w}_time_seconds", doc,
                                          labels=p)
                 for w, doc in (("create", "Time to open a new connection."),
                                ("wait", "Time to obtain a connection from the pool."),
                                ("use", "Time between checkout and return."))}
        ops = HistogramMetricFamily("db_client_operation_duration_seconds",
                                    "Duration of database operations.",
                                    labels=["pool_name", "db_system_name", "db_operation_name"])
        hold = SummaryMetricFamily("db_client_connection_hold_seconds",
                                   "Connection hold time by route or task.",
                                   labels=["pool_name", "work"])
        for s in stats:
            used, idle = s.figure("used"), s.figure("idle")
            count.add_metric([s.name, "idle"], max(0.0, idle))
            count.add_metric([s.name, "used"], max(0.0, used))
            most = s.figure("max")
            values = {"idle_max": s.figure("idle_max"), "idle_min": s.figure("idle_min"),
                      "max": most, "pending_requests": float(max(0, s.pending)),
                      "overflow": max(0.0, s.figure("overflow")),
                      "utilization": max(0.0, used) / most if most > 0 else 0.0}
            for w, v in values.items():
                if v >= 0:
                    gauges[w].add_metric([s.name], v)
            for w, v in (("timeouts", s.timeouts), ("invalidations", s.invalidations),
                         ("leaks", s.leaks)):
                counters[w].add_metric([s.name], v)
            for w, h in (("create", s.create), ("wait", s.wait), ("use", s.use)):
                hists[w].add_metric([s.name], h.buckets(), h.sum)
            for op, h in sorted(s.operations.items()):
                ops.add_metric([s.name, s.system, op], h.buckets(), h.sum)
            for work, (n, total) in sorted(s.hold.items()):
                hold.add_metric([s.name, work], n, total)
        yield from (count, *gauges.values(), *counters.values(), *hists.values(), ops, hold)


POOLS = PoolRegistry()

