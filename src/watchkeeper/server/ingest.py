"""Samples into the store: from metric families (collectors, pushed text) or label dicts."""

from __future__ import annotations

import math
import threading
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
                if append(labels, ts, value):
                    kept += 1
                else:
                    refused += 1
            self.store.commit()
            self.appended += kept
            self.rejected += refused
        return kept


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
