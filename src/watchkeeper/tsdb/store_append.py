"""The full store's append path: samples into the head and into what the next commit writes
to the WAL (``Store`` holds the lock, the head and the WAL; this is a mixin of it).

Series are looked up outside the store's lock and the lock is taken once per part of a
batch, or once per columnar append, so writers cost busy readers a few hand-offs, not one
per sample.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from watchkeeper.tsdb.api import LabelsLike
from watchkeeper.tsdb.columns import Handles, PendingSamples, accept_columns, check_columns
from watchkeeper.tsdb.errors import StoreClosedError
from watchkeeper.tsdb.head import MAX_HEAD_TIME, Head, Series, in_order_after
from watchkeeper.tsdb.wal import encode_batch, encode_series


def _in_range(ts_ms: int) -> None:
    if not -MAX_HEAD_TIME < ts_ms < MAX_HEAD_TIME:
        raise ValueError(f"timestamp {ts_ms} ms is out of range")


class StoreAppend:
    """Appending to a ``Store``."""

    _lock: threading.RLock
    head: Head
    _closed: bool
    _pending: PendingSamples  # samples for the next commit's sample record
    _pending_records: list[tuple[int, bytes]]  # series and batch records before it

    def _commit_locked(self) -> None:
        raise NotImplementedError

    def resolve(self, labels: LabelsLike) -> Series:
        return self._series_for(labels)

    def resolve_many(self, labels: Sequence[LabelsLike]) -> Handles:
        epoch = self.head.forgotten  # read first: a series forgotten meanwhile is renewed
        return Handles(self, [self._series_for(lb) for lb in labels], epoch)

    def _series_for(self, labels: LabelsLike | Series) -> Series:
        if type(labels) is Series:  # a handle from resolve(): still this head's?
            if self.head.by_id.get(labels.id) is labels:
                return labels
            labels = labels.labels
        s = self.head.lookup(labels)
        if s is None:
            with self._lock:
                s, created = self.head.get_or_create(labels)
                if created:
                    self._pending_records.append(encode_series(s.id, s.labels))
        return s

    def append(self, labels: LabelsLike, ts_ms: int, value: float) -> bool:
        _in_range(ts_ms)
        s = self._series_for(labels)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if not self.head.accept(s, ts_ms, value):
                return False
            p = self._pending
            p.ids.append(s.id)
            p.ts.append(ts_ms)
            p.vals.append(value)
            return True

    def _append_part(self, part: list[tuple[LabelsLike, int, float]]) -> int:
        # the series are looked up outside the lock; a scrape of 10,000 series then takes
        # the lock 10 times, where 10,000 acquisitions queued behind every query's read
        found = []
        for labels, ts_ms, value in part:
            _in_range(ts_ms)
            found.append((self._series_for(labels), ts_ms, value))
        accept = self.head.accept
        kept = 0
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            # read under the lock: a commit replaces these lists
            p = self._pending
            ids, stamps, vals = p.ids, p.ts, p.vals
            by_id = self.head.by_id
            for s, ts_ms, value in found:
                if by_id.get(s.id) is not s:  # forgotten while empty, before this part
                    s, created = self.head.get_or_create(s.labels)
                    if created:
                        self._pending_records.append(encode_series(s.id, s.labels))
                if accept(s, ts_ms, value):
                    ids.append(s.id)
                    stamps.append(ts_ms)
                    vals.append(value)
                    kept += 1
        return kept

    def append_columns(self, handles: Handles, ts_ms: int | np.ndarray,
                       values: np.ndarray) -> int:
        if handles.owner is not self:
            raise ValueError("handles resolved by another store")
        ts, vals = check_columns(handles, ts_ms, values)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if handles.epoch != self.head.forgotten:
                handles.renew(self.head, self._series_for)
            rejected = accept_columns(handles.series, ts, ts_ms, vals, self.head.accept)
            return self._pending.add_kept(handles.ids, ts, ts_ms, vals, rejected)

    def append_array(self, labels: LabelsLike, ts_ms: np.ndarray, values: np.ndarray) -> int:
        ts = np.ascontiguousarray(ts_ms, dtype=np.int64)
        vals = np.ascontiguousarray(values, dtype=np.float64)
        if ts.shape != vals.shape or ts.ndim != 1:
            raise ValueError("timestamps and values must be 1-d arrays of equal length")
        if ts.size and not (int(ts.min()) > -MAX_HEAD_TIME and int(ts.max()) < MAX_HEAD_TIME):
            raise ValueError("timestamps out of range")
        s = self._series_for(labels)
        with self._lock:
            if self._closed:
                raise StoreClosedError("store is closed")
            if in_order_after(ts, s.last_ts):
                kept = self.head.accept_array(s, ts, vals)
                self._pending_records.append(encode_batch(s.id, ts, vals))
            else:  # some samples may be rejected: log exactly the ones kept
                kept = 0
                p = self._pending
                for t, v in zip(ts.tolist(), vals.tolist(), strict=True):
                    if self.head.accept(s, t, v):
                        kept += 1
                        p.ids.append(s.id)
                        p.ts.append(t)
                        p.vals.append(v)
            self._commit_locked()
            return kept
