"""What the server analyses on its own, on a timer: anomaly scores and time until full.

Every ``interval`` (30 s) each selected query is evaluated at now, every series it returns
is scored by the streaming scorer, and the top ones are written to the store as
``watchkeeper:anomaly_score{expr="<query>", <the series' labels>}`` (the series' own name,
if it had one, in ``metric``). Every ``capacity_interval`` (5 min) the time until full of
everything that can run out (disks, inodes, memory, file descriptors, pools, the config's
gauges with a limit) is written as ``watchkeeper:time_until_full_seconds{resource="disk",
<the series' labels>}`` (growing ones) and ``watchkeeper:growth_per_day`` (all, in the
resource's unit): the dashboard's capacity table.
A series that leaves either set gets a stale marker, as a recording rule's would.

The server's default queries are the panels of the built-in dashboards: what a user looks at
is what is watched. ``max_series`` bounds the scorer (44 bytes a series).
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .streaming import StreamScorer

log = logging.getLogger(__name__)
STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
SCORE_METRIC = "watchkeeper:anomaly_score"
FULL_METRIC = "watchkeeper:time_until_full_seconds"
GROWTH_METRIC = "watchkeeper:growth_per_day"


@dataclass
class Scored:
    """One series' latest score: what the API lists and the store records."""

    expr: str
    labels: dict[str, str]
    score: float
    value: float


@dataclass
class AnalysisWatch:
    """Scores and capacity on timers, written into ``store`` through ``engine``'s queries."""

    store: Any
    engine: Any
    queries: list[str]
    interval_s: float = 30.0
    max_series: int = 10_000
    record_top: int = 20
    capacity_interval_s: float = 300.0
    scorer: StreamScorer = field(init=False)
    top: list[Scored] = field(default_factory=list, init=False)
    capacity: list[dict[str, Any]] = field(default_factory=list, init=False)
    ticks: int = field(default=0, init=False)
    tick_seconds: float = field(default=0.0, init=False)
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.scorer = StreamScorer(self.max_series)
        self._written: dict[str, set[Any]] = {name: set() for name in (
            SCORE_METRIC, FULL_METRIC, GROWTH_METRIC)}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_capacity = 0.0

    # ------------------------------------------------------------------ anomaly scores
    def _collect(self, ts_ms: int) -> tuple[list[tuple[str, Any]], np.ndarray]:
        """(query, labels) of every series the queries return now, and their values."""
        idents: list[tuple[str, Any]] = []
        values: list[np.ndarray] = []
        for expr in self.queries:
            try:
                value = self.engine.instant(expr, ts_ms).value
            except Exception as e:  # one broken query must not stop the others
                self.failures += 1
                log.debug("anomaly query %r failed: %s", expr, e)
                continue
            if not hasattr(value, "mask") or not len(value):
                continue
            present = np.flatnonzero(value.mask[:, 0])
            idents.extend((expr, value.labels[i]) for i in present)
            values.append(value.values[present, 0])
        return idents, (np.concatenate(values) if values else np.zeros(0))

    def score_tick(self, ts_ms: int) -> list[Scored]:
        """Score every selected series at ``ts_ms``; record and return the top ones."""
        started = time.perf_counter()
        idents, values = self._collect(ts_ms)
        keys = np.fromiter((hash(i) for i in idents), dtype=np.int64, count=len(idents))
        scores = self.scorer.update(keys, values)
        self.scorer.forget(idle_ticks=20)  # series gone for ten minutes start afresh
        order = np.argsort(-scores, kind="stable")[:self.record_top]
        top = [Scored(idents[i][0], dict(idents[i][1]), float(scores[i]), float(values[i]))
               for i in order if scores[i] > 0]
        self._write(SCORE_METRIC, ((_score_labels(s), s.score) for s in top), ts_ms)
        with self._lock:
            self.top = top
        self.ticks += 1
        self.tick_seconds = time.perf_counter() - started
        return top

    # ------------------------------------------------------------------ capacity
    def capacity_tick(self, ts_ms: int) -> list[dict[str, Any]]:
        """Time until full of every resource now, recorded for those that grow."""
        from .views import capacity

        rows = capacity(self.engine, ts_ms)
        samples, growth = [], []
        for row in rows:
            labels = row["labels"]  # its resource among them
            growth.append(({**labels, "__name__": GROWTH_METRIC}, row["growth_per_day"]))
            if row["seconds"] is not None:
                samples.append(({**labels, "__name__": FULL_METRIC}, row["seconds"]))
        self._write(FULL_METRIC, samples, ts_ms)
        self._write(GROWTH_METRIC, growth, ts_ms)
        with self._lock:
            self.capacity = rows
        return rows

    def _write(self, name: str, samples: Iterable[tuple[dict[str, str], float]],
               ts_ms: int) -> None:
        from watchkeeper.tsdb.labels import Labels

        written = set()
        for labels, value in samples:
            key = Labels.of(labels)
            self.store.append(key, ts_ms, float(value))
            written.add(key)
        for key in self._written[name] - written:
            self.store.append(key, ts_ms, STALE_NAN)
        self._written[name] = written
        self.store.commit()

    # ------------------------------------------------------------------ the timer
    def run_once(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        ts_ms = int(now * 1000)
        self.score_tick(ts_ms)
        if now >= self._next_capacity:
            self._next_capacity = now + self.capacity_interval_s
            self.capacity_tick(ts_ms)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="analysis", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        # the first tick at the next boundary, not at start-up, when everything else starts
        self._stop.wait(self.interval_s - time.time() % self.interval_s)
        while not self._stop.is_set():
            now = time.time()
            try:
                self.run_once(now)
            except Exception:  # a failed tick (a closing store) waits for the next
                self.failures += 1
                log.exception("analysis tick failed")
            due = (now // self.interval_s + 1) * self.interval_s
            self._stop.wait(max(0.0, due - time.time()))

    def latest(self) -> list[Scored]:
        with self._lock:
            return list(self.top)


def _score_labels(s: Scored) -> dict[str, str]:
    labels = {k: v for k, v in s.labels.items() if k != "__name__"}
    if "__name__" in s.labels:
        labels["metric"] = s.labels["__name__"]
    return {**labels, "expr": s.expr, "__name__": SCORE_METRIC}
