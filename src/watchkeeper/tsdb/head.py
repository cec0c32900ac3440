"""The head: samples appended since the last checkpoint, per series, in memory.

Why one interleaved array of doubles per series: 16 bytes per sample and one small
object per series (Python lists of floats would cost ~70 bytes a sample). Millisecond
timestamps are exact as doubles (below 2**53, i.e. for the next 285,000 years); values
are copied as raw doubles, so NaN payloads survive. A series without head samples
keeps no array at all.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Mapping, Sequence

import numpy as np

from watchkeeper.tsdb.index import LabelIndex
from watchkeeper.tsdb.labels import Labels

NO_TIME = -(2**63)
MAX_HEAD_TIME = 2**53
_PACK_D = struct.Struct("<d").pack


class Series:
    """One series: identity, head samples and what the append path must know."""

    __slots__ = ("id", "labels", "last_bits", "last_ts", "samples", "sorted")

    def __init__(self, series_id: int, labels: Labels, last_ts: int = NO_TIME) -> None:
        self.id = series_id
        self.labels = labels
        self.last_ts = last_ts  # newest timestamp ever accepted (head or persisted)
        self.last_bits: float | None = None  # value at last_ts, for duplicate detection
        self.samples: array | None = None  # t0, v0, t1, v1, ...
        self.sorted = True  # False once an out-of-order sample entered the head

    def add(self, ts: int, value: float) -> None:
        samples = self.samples
        if samples is None:
            samples = self.samples = array("d")
        samples.append(ts)
        samples.append(value)

    def extend(self, ts: np.ndarray, vals: np.ndarray) -> None:
        pairs = np.empty((ts.size, 2), dtype=np.float64)
        pairs[:, 0] = ts
        pairs[:, 1].view(np.int64)[:] = np.ascontiguousarray(vals, dtype=np.float64).view(np.int64)
        if self.samples is None:
            self.samples = array("d")
        self.samples.frombytes(pairs.tobytes())

    def _pairs(self) -> np.ndarray:
        """A private copy of the head as (t, v) rows.

        Copied in one C call, so no buffer export outlives it: a view would pin the
        array (the next append raises BufferError) and let a reader's writes reach the
        stored samples.
        """
        return np.array(self.samples, dtype=np.float64).reshape(-1, 2)

    def head_len(self) -> int:
        return 0 if self.samples is None else len(self.samples) // 2

    def head_span(self) -> tuple[int, int] | None:
        """(oldest, newest) head timestamp, or None without head samples."""
        if not self.head_len():
            return None
        ts = self._pairs()[:, 0]
        return int(ts.min()), int(ts.max())

    def head_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Head samples sorted by time, first write winning on equal timestamps."""
        if not self.head_len():
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return pairs_to_arrays(self._pairs(), self.sorted)

    def clear_head(self) -> None:
        self.samples = None
        self.sorted = True

    def drop_oldest(self, count: int) -> None:
        """Forget the first ``count`` samples appended (a checkpoint persisted them);
        samples appended since stay."""
        if self.samples is None:
            return
        del self.samples[: 2 * count]
        if not self.samples:
            self.clear_head()


def pairs_to_arrays(pairs: np.ndarray, in_order: bool) -> tuple[np.ndarray, np.ndarray]:
    """(t, v) rows of a head into time-sorted int64 timestamps and float64 values."""
    ts = pairs[:, 0].astype(np.int64)
    vals = np.ascontiguousarray(pairs[:, 1].view(np.int64)).view(np.float64)
    if not in_order:
        ts, vals = sort_dedupe(ts, vals)
    return ts, vals


def sort_dedupe(ts: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by time (stable) and keep the first sample of each timestamp."""
    if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = np.ones(ts.size, dtype=bool)
        keep[1:] = ts[1:] != ts[:-1]
        ts, vals = ts[keep], vals[keep]
    return ts, vals


def in_order_after(ts: np.ndarray, last_ts: int) -> bool:
    """Strictly increasing and newer than last_ts: the fast path of batch appends."""
    return bool(ts.size) and int(ts[0]) > last_ts and bool(np.all(ts[1:] > ts[:-1]))


class Head:
    """Every known series, its head samples and the rules for accepting a sample.

    Not thread-safe on its own: the store calls it under its lock, except lookup(),
    which only reads dictionaries.
    """

    def __init__(self, ooo_window_ms: int = 0) -> None:
        self.ooo_window_ms = ooo_window_ms
        self.by_labels: dict[Labels, Series] = {}
        self.by_id: dict[int, Series] = {}
        self.index = LabelIndex(universe=self.by_id)
        self.unsaved: dict[int, Series] = {}  # created since the last checkpoint
        self.samples = 0
        self.max_t = NO_TIME
        self.next_id = 1
        self.rejected = {"out_of_order": 0, "duplicate": 0}
        self.forgotten = 0  # series forgotten so far: handles resolved before it may be stale
        # two-level cache for dict labels: label names (shared) -> label values -> series
        self._cache: dict[tuple[str, ...], dict[tuple[str, ...], Series]] = {}
        self._cache_size = 0

    def register(self, series_id: int, labels: Labels, last_ts: int = NO_TIME) -> Series:
        labels = self.index.intern(labels)
        s = Series(series_id, labels, last_ts)
        self.by_labels[labels] = s
        self.by_id[series_id] = s
        self.index.add(series_id, labels)
        self.next_id = max(self.next_id, series_id + 1)
        return s

    def lookup(self, labels: Labels | Mapping[str, str]) -> Series | None:
        if type(labels) is Labels:
            return self.by_labels.get(labels)
        by_values = self._cache.get(tuple(labels))
        values = tuple(labels.values())  # type: ignore[union-attr]
        if by_values is not None:
            s = by_values.get(values)
            if s is not None:
                return s
        s = self.by_labels.get(Labels.of(labels))
        if s is not None:
            if self._cache_size > 2 * len(self.by_id) + 1024:
                self.clear_cache()
            self._cache.setdefault(tuple(labels), {})[values] = s
            self._cache_size += 1
        return s

    def get_or_create(self, labels: Labels | Mapping[str, str]) -> tuple[Series, bool]:
        key = Labels.of(labels)
        s = self.by_labels.get(key)
        if s is not None:
            return s, False
        s = self.register(self.next_id, key)
        self.unsaved[s.id] = s
        return s, True

    def clear_cache(self) -> None:
        self._cache.clear()
        self._cache_size = 0

    def forget(self, s: Series) -> None:
        self.index.remove(s.id, s.labels)
        del self.by_id[s.id]
        del self.by_labels[s.labels]
        self.forgotten += 1
        self.clear_cache()

    def accept(self, s: Series, ts: int, value: float, count: bool = True) -> bool:
        """Prometheus's rules: newer is appended; an identical resend is ignored; another
        value at the same time is a duplicate; older is out of order unless it falls
        in the out-of-order window. Rejections are counted."""
        if ts > s.last_ts:
            s.last_ts = ts
            s.last_bits = value
            if ts > self.max_t:
                self.max_t = ts
        elif ts == s.last_ts:
            if s.last_bits is not None and _PACK_D(s.last_bits) == _PACK_D(value):
                return False
            if count:
                self.rejected["duplicate"] += 1
            return False
        elif self.ooo_window_ms and ts >= self.max_t - self.ooo_window_ms:
            s.sorted = False
        else:
            if count:
                self.rejected["out_of_order"] += 1
            return False
        s.add(ts, value)
        self.samples += 1
        return True

    def accept_array(self, s: Series, ts: np.ndarray, vals: np.ndarray, count: bool = True) -> int:
        if in_order_after(ts, s.last_ts):
            s.extend(ts, vals)
            s.last_ts = int(ts[-1])
            s.last_bits = float(vals[-1])
            self.max_t = max(self.max_t, s.last_ts)
            self.samples += ts.size
            return int(ts.size)
        return sum(
            self.accept(s, t, v, count) for t, v in zip(ts.tolist(), vals.tolist(), strict=True)
        )

    def copy_heads(self, ids: Sequence[int], start: int, end: int,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Head samples of many series, copied in one go: shared timestamp and value
        arrays, private to the reader, and for each of ids the [from, to) of its samples
        within [start, end] there (disjoint from the others'; in-order heads only).

        Why: a query over 50,000 series would otherwise pay a few numpy calls per series."""
        samples = [self.by_id[i].samples for i in ids]
        sizes = np.fromiter((0 if a is None else len(a) // 2 for a in samples), np.int64,
                            len(samples))
        raw = b"".join([a.tobytes() for a in samples if a is not None])
        ts, vals = pairs_to_arrays(np.frombuffer(raw, np.float64).reshape(-1, 2), True)
        first = np.cumsum(sizes) - sizes
        bounds = []
        for before in (ts < start, ts <= end):  # counted per series: a sorted head's offset
            running = np.zeros(ts.size + 1, dtype=np.int64)
            np.cumsum(before, out=running[1:])
            bounds.append(first + running[first + sizes] - running[first])
        return ts, vals, bounds[0], bounds[1]

    def delete_samples(self, ids: Sequence[int], start: int, end: int) -> None:
        for sid in ids:
            s = self.by_id.get(sid)
            if s is None or s.samples is None:
                continue
            ts, vals = s.head_arrays()
            keep = (ts < start) | (ts > end)
            self.samples -= int(ts.size - np.count_nonzero(keep))
            s.clear_head()
            if keep.any():
                s.extend(ts[keep], vals[keep])

    def replay(self, record: tuple, report: object) -> None:
        """Apply one decoded WAL record (see wal.decode) during recovery."""
        kind = record[0]
        if kind == "series":
            _, series_id, labels = record
            if series_id not in self.by_id:
                self.unsaved[series_id] = self.register(series_id, labels)
                report.series += 1  # type: ignore[attr-defined]
        elif kind == "samples":
            _, ids, ts, vals = record
            for sid, t, v in zip(ids.tolist(), ts.tolist(), vals.tolist(), strict=True):
                s = self.by_id.get(sid)
                if s is not None and self.accept(s, t, v, count=False):
                    report.samples += 1  # type: ignore[attr-defined]
        elif kind == "batch":
            _, sid, ts, vals = record
            s = self.by_id.get(sid)
            if s is not None:
                report.samples += self.accept_array(s, ts, vals, count=False)  # type: ignore[attr-defined]
        elif kind == "delete":
            _, ids, start, end = record
            self.delete_samples(ids, start, end)
