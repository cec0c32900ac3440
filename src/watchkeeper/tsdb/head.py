"""The head: samples appended since the last checkpoint, per series, in memory.

Why typed arrays: 16 bytes per sample and cheap appends, where Python lists of floats
would cost ~70; a series without head samples keeps no arrays at all.
"""

from __future__ import annotations

from array import array

import numpy as np

from watchkeeper.tsdb.labels import Labels

NO_TIME = -(2**63)


class Series:
    """One series: identity, head samples and what the append path must know."""

    __slots__ = ("id", "labels", "last_bits", "last_ts", "sorted", "ts", "vals")

    def __init__(self, series_id: int, labels: Labels, last_ts: int = NO_TIME) -> None:
        self.id = series_id
        self.labels = labels
        self.last_ts = last_ts  # newest timestamp ever accepted (head or persisted)
        self.last_bits: float | None = None  # value at last_ts, for duplicate detection
        self.ts: array | None = None
        self.vals: array | None = None
        self.sorted = True  # False once an out-of-order sample entered the head

    def add(self, ts: int, value: float) -> None:
        if self.ts is None:
            self.ts = array("q")
            self.vals = array("d")
        self.ts.append(ts)
        self.vals.append(value)  # type: ignore[union-attr]

    def extend(self, ts: np.ndarray, vals: np.ndarray) -> None:
        if self.ts is None:
            self.ts = array("q")
            self.vals = array("d")
        self.ts.frombytes(np.ascontiguousarray(ts, dtype=np.int64).tobytes())
        self.vals.frombytes(np.ascontiguousarray(vals, dtype=np.float64).tobytes())  # type: ignore[union-attr]

    def head_len(self) -> int:
        return 0 if self.ts is None else len(self.ts)

    def head_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Head samples sorted by time, first write winning on equal timestamps."""
        if self.ts is None or not len(self.ts):
            return np.empty(0, np.int64), np.empty(0, np.float64)
        ts = np.frombuffer(self.ts, dtype=np.int64).copy()
        vals = np.frombuffer(self.vals, dtype=np.float64).copy()  # type: ignore[arg-type]
        if not self.sorted:
            ts, vals = sort_dedupe(ts, vals)
        return ts, vals

    def clear_head(self) -> None:
        self.ts = None
        self.vals = None
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
