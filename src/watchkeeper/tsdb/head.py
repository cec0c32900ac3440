"""The head: samples appended since the last checkpoint, per series, in memory.

Why one interleaved array of doubles per series: 16 bytes per sample and one small
object per series (Python lists of floats would cost ~70 bytes a sample). Millisecond
timestamps are exact as doubles (below 2**53, i.e. for the next 285,000 years); values
are copied as raw doubles, so NaN payloads survive. A series without head samples
keeps no array at all.
"""

from __future__ import annotations

from array import array

import numpy as np

from watchkeeper.tsdb.labels import Labels

NO_TIME = -(2**63)
MAX_HEAD_TIME = 2**53


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

    def head_len(self) -> int:
        return 0 if self.samples is None else len(self.samples) // 2

    def head_span(self) -> tuple[int, int] | None:
        """(oldest, newest) head timestamp, or None without head samples."""
        if not self.head_len():
            return None
        ts = np.frombuffer(self.samples, dtype=np.float64)[0::2]  # type: ignore[arg-type]
        return int(ts.min()), int(ts.max())

    def head_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Head samples sorted by time, first write winning on equal timestamps."""
        if not self.head_len():
            return np.empty(0, np.int64), np.empty(0, np.float64)
        pairs = np.frombuffer(self.samples, dtype=np.float64).reshape(-1, 2)  # type: ignore[arg-type]
        ts = pairs[:, 0].astype(np.int64)
        vals = np.ascontiguousarray(pairs[:, 1].view(np.int64)).view(np.float64)
        if not self.sorted:
            ts, vals = sort_dedupe(ts, vals)
        return ts, vals

    def clear_head(self) -> None:
        self.samples = None
        self.sorted = True


def sort_dedupe(ts: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by time (stable) and keep the first sample of each timestamp."""
    if ts.size > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = np.ones(ts.size, dtype=bool)
        keep[1:] = ts[1:] != ts[:-1]
        ts, vals = ts[keep], vals[keep]
    return ts, vals
