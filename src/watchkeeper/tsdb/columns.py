"""Columnar appends: a group of series handles, and the samples waiting for the next commit.

Why: a scrape of thousands of series that come back every interval used to reach the store
as one Python tuple per sample, a label lookup per sample and one list append per column.
Those tuples outlived the young garbage-collector generations and set off a full
collection of the whole heap about once a second at 100,000 samples/s, which cost more
than the appending itself. A writer that sends the same series again resolves them once
(``resolve_many``) and then appends a scrape as three columns (``append_columns``): the
handles' ids, the timestamps and the values, with no object per sample.

Both stores keep what awaits the next commit in a ``PendingSamples``: per-sample appends go
to its lists, columnar ones as array chunks, and the commit writes them, in order, as the
same single WAL sample record the per-sample path writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from watchkeeper.tsdb.head import MAX_HEAD_TIME, Head, Series
from watchkeeper.tsdb.wal import encode_samples


class Handles:
    """The handles of many series, in a writer's order, as one store resolved them: the
    series themselves, their ids as an array, and the head's ``forgotten`` count at the
    time (when it moved, the store checks every handle again before using them)."""

    __slots__ = ("epoch", "ids", "owner", "series")

    def __init__(self, owner: Any, series: list[Series], epoch: int) -> None:
        self.owner = owner
        self.series = series
        self.ids = np.fromiter((s.id for s in series), dtype=np.int64, count=len(series))
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.series)

    def renew(self, head: Head, find: Any) -> None:
        """Replace the handles whose series ``head`` forgot by ``find(labels)``'s (the
        store's lookup, creating the series again); called under the store's lock."""
        by_id = head.by_id
        self.series = [s if by_id.get(s.id) is s else find(s.labels) for s in self.series]
        self.ids = np.fromiter((s.id for s in self.series), dtype=np.int64,
                               count=len(self.series))
        self.epoch = head.forgotten


def check_columns(handles: Handles, ts_ms: int | np.ndarray, values: np.ndarray
                  ) -> tuple[np.ndarray | None, np.ndarray]:
    """The timestamps (None when one is shared) and values of ``append_columns``, checked
    as ``append`` checks one sample."""
    vals = np.ascontiguousarray(values, dtype=np.float64)
    if vals.shape != (len(handles),):
        raise ValueError("values must be a 1-d array with one value per handle")
    if isinstance(ts_ms, np.ndarray):
        ts = np.ascontiguousarray(ts_ms, dtype=np.int64)
        if ts.shape != vals.shape:
            raise ValueError("timestamps must be an int or an array as long as values")
        if ts.size and not (int(ts.min()) > -MAX_HEAD_TIME and int(ts.max()) < MAX_HEAD_TIME):
            raise ValueError("timestamps out of range")
        return ts, vals
    if not -MAX_HEAD_TIME < int(ts_ms) < MAX_HEAD_TIME:
        raise ValueError(f"timestamp {ts_ms} ms is out of range")
    return None, vals


class PendingSamples:
    """Samples appended since the last commit, in append order. Hot loops append to
    ``ids``, ``ts`` and ``vals`` directly (under the store's lock); ``add_columns`` keeps
    arrays whole."""

    __slots__ = ("chunks", "count", "ids", "ts", "vals")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.ts: list[int] = []
        self.vals: list[float] = []
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.count = 0  # samples in chunks

    def __len__(self) -> int:
        return self.count + len(self.ids)

    def _close_lists(self) -> None:
        if self.ids:
            self.chunks.append((np.array(self.ids, dtype=np.int64),
                                np.array(self.ts, dtype=np.int64),
                                np.array(self.vals, dtype=np.float64)))
            self.count += len(self.ids)
            self.ids, self.ts, self.vals = [], [], []

    def add_columns(self, ids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        self._close_lists()
        self.chunks.append((ids, ts, vals))
        self.count += int(ids.size)

    def add_kept(self, ids: np.ndarray, ts: np.ndarray | None, ts_ms: int | np.ndarray,
                 vals: np.ndarray, rejected: Sequence[int]) -> int:
        """Add the samples of ``append_columns`` but the ``rejected`` positions; how many
        were added."""
        if ts is None:
            ts = np.full(ids.size, int(ts_ms), dtype=np.int64)  # type: ignore[arg-type]
        if rejected:
            keep = np.ones(ids.size, dtype=bool)
            keep[list(rejected)] = False
            ids, ts, vals = ids[keep], ts[keep], vals[keep]
        if ids.size:
            self.add_columns(ids, ts, vals)
        return int(ids.size)

    def take(self) -> tuple[int, bytes] | None:
        """The WAL sample record of everything pending (None if nothing), and empty."""
        if not self.chunks:
            if not self.ids:
                return None
            record = encode_samples(self.ids, self.ts, self.vals)
            self.ids, self.ts, self.vals = [], [], []
            return record
        self._close_lists()
        chunks, self.chunks, self.count = self.chunks, [], 0
        if len(chunks) == 1:
            return encode_samples(*chunks[0])
        return encode_samples(*(np.concatenate(col) for col in zip(*chunks, strict=True)))


def accept_columns(series: Sequence[Series], ts: np.ndarray | None, ts_ms: int | np.ndarray,
                   values: np.ndarray, accept: Callable[[Series, int, float], bool]
                   ) -> list[int]:
    """Apply ``accept`` (a store's rule for one sample) to each sample in order; the
    positions it refused. In order, so a series twice in one call is treated as two
    appends one after the other."""
    rejected: list[int] = []
    if ts is None:
        t = int(ts_ms)  # type: ignore[arg-type]
        for i, (s, v) in enumerate(zip(series, values.tolist(), strict=True)):
            if not accept(s, t, v):
                rejected.append(i)
    else:
        for i, (s, t, v) in enumerate(zip(series, ts.tolist(), values.tolist(), strict=True)):
            if not accept(s, t, v):
                rejected.append(i)
    return rejected
