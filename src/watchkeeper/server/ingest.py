"""Samples into the store: from metric families (collectors, pushed text) or label dicts."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from watchkeeper.metrics.family import Metric
from watchkeeper.metrics.naming import LABEL_NAME_RE, METRIC_NAME_RE
from watchkeeper.scrape.cache import CachedSamples
from watchkeeper.tsdb.api import TimeSeriesStore
from watchkeeper.tsdb.head import MAX_HEAD_TIME

Sample = tuple[Mapping[str, str], int, float]


class SampleError(ValueError):
    """A pushed sample the store cannot take; the message names the series and why."""


@dataclass(frozen=True)
class SampleLimits:
    """What one pushed series may carry (``web.max_labels_per_series`` and
    ``web.max_label_value_bytes``)."""

    max_labels: int = 512
    max_name_bytes: int = 1024
    max_value_bytes: int = 64 << 10


def _describe(labels: Mapping[str, str]) -> str:
    name = str(labels.get("__name__", ""))[:100]
    rest = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in list(labels.items())[:6]
                     if k != "__name__")
    return f"{name}{{{rest}{', ...' if len(labels) > 7 else ''}}}"


def check_labels(labels: Mapping[str, str], limits: SampleLimits) -> None:
    if len(labels) > limits.max_labels:
        raise SampleError(f"series {_describe(labels)} has {len(labels)} labels; the limit "
                          f"is {limits.max_labels}")
    name = labels.get("__name__", "")
    if not METRIC_NAME_RE.fullmatch(name):
        raise SampleError(f"series {_describe(labels)}: invalid metric name {name[:100]!r}")
    for key, value in labels.items():
        if len(key) > limits.max_name_bytes or not LABEL_NAME_RE.fullmatch(key):
            raise SampleError(f"series {_describe(labels)}: invalid label name {key[:100]!r}")
        if limits.max_value_bytes and len(value) > limits.max_value_bytes:
            raise SampleError(f"series {_describe(labels)}: label {key} has a value of "
                              f"{len(value)} characters; the limit is {limits.max_value_bytes}")


def check_samples(samples: Iterable[Sample], limits: SampleLimits = SampleLimits()) -> None:
    """Refuse the whole batch before any of it is written: nothing half-accepted."""
    last: object = None
    for labels, ts, _value in samples:
        if labels is not last:  # the points of one series share its labels
            check_labels(labels, limits)
            last = labels
        if not -MAX_HEAD_TIME < ts < MAX_HEAD_TIME:
            raise SampleError(f"series {_describe(labels)}: timestamp {ts} ms is out of "
                              f"range (at most ±2^53 ms)")


class Ingester:
    """Appends batches and commits them; counts what the store kept and refused."""

    def __init__(self, store: TimeSeriesStore, external_labels: Mapping[str, str] | None = None):
        self.store = store
        self.external_labels = dict(external_labels or {})
        self.appended = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def write(self, samples: Iterable[Sample] | CachedSamples) -> int:
        """Append and commit; returns how many were kept (out-of-order ones are refused).

        A scrape from its target's cache (``CachedSamples``) has the series of the scrape
        before, in order: the store's handles for them are resolved once per change of
        series, kept in the scrape's ``refs`` slot, and its values appended as columns."""
        if isinstance(samples, CachedSamples):
            return self._write_columns(samples)
        extra = self.external_labels
        batch = list(samples) if not extra else [({**extra, **labels}, ts, value)
                                                  for labels, ts, value in samples]
        with self._lock:
            kept = self.store.append_many(batch)
            self.store.commit()
            self.appended += kept
            self.rejected += len(batch) - kept
        return kept

    def _write_columns(self, samples: CachedSamples) -> int:
        store, extra, slot = self.store, self.external_labels, samples.refs
        handles = slot.refs if slot.owner is store else None
        if handles is None or len(handles) != len(samples.labels):
            handles = store.resolve_many([{**extra, **labels} if extra else labels
                                          for labels in samples.labels])
            slot.owner, slot.refs = store, handles
        rest = samples.rest if not extra else [({**extra, **labels}, ts, value)
                                               for labels, ts, value in samples.rest]
        with self._lock:
            kept = store.append_columns(handles, samples.ts, samples.values)
            kept += store.append_many(rest)
            store.commit()
            self.appended += kept
            self.rejected += len(samples) - kept
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
