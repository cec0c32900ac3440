"""Samples into the store: from metric families (collectors, pushed text) or label dicts."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping

from watchkeeper.metrics.family import Metric
from watchkeeper.tsdb.api import TimeSeriesStore

Sample = tuple[Mapping[str, str], int, float]


class Ingester:
    """Appends batches and commits them; counts what the store kept and refused."""

    def __init__(self, store: TimeSeriesStore, external_labels: Mapping[str, str] | None = None):
        self.store = store
        self.external_labels = dict(external_labels or {})
        self.appended = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def write(self, samples: Iterable[Sample]) -> int:
        """Append and commit; returns how many were kept (out-of-order ones are refused)."""
        kept = refused = 0
        extra = self.external_labels
        append = self.store.append
        with self._lock:
            for labels, ts, value in samples:
                if extra:
                    labels = {**extra, **labels}
                try:
                    ok = append(labels, ts, value)
                except BufferError:  # a reader still holds the head's buffer: try again
                    ok = self._retry(labels, ts, value)
                if ok:
                    kept += 1
                else:
                    refused += 1
            self.store.commit()
            self.appended += kept
            self.rejected += refused
        return kept


    def _retry(self, labels: Mapping[str, str], ts: int, value: float) -> bool:
        for attempt in range(1, 21):
            time.sleep(0.001 * attempt)
            try:
                return self.store.append(labels, ts, value)
            except BufferError:
                continue
        raise BufferError("the store's head stayed in use by a reader; sample not appended")


def family_samples(families: Iterable[Metric], target_labels: Mapping[str, str],
                   now_ms: int) -> list[Sample]:
    """Flatten families into samples, target labels overriding (as honor_labels: false)."""
    out: list[Sample] = []
    for family in families:
        for s in family.samples:
            labels = {"__name__": s.name, **s.labels, **target_labels}
            ts = now_ms
            if s.timestamp is not None and math.isfinite(s.timestamp):
                ts = int(s.timestamp * 1000)
            out.append((labels, ts, float(s.value)))
    return out
