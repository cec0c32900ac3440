"""Evaluated values over a grid of steps: scalars, instant vectors and range data.

Why a grid: a range query evaluates every node once for all steps, as numpy arrays of
shape (series, steps) with a presence mask, instead of once per step as Prometheus does.
An instant query is the one-step case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress

import numpy as np

from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.tsdb.labels import METRIC_NAME, Labels

STALE_NAN_BITS = 0x7FF0000000000002


def is_stale(values: np.ndarray) -> np.ndarray:
    """True where a value is Prometheus's staleness marker (a NaN with a fixed payload)."""
    return values.view(np.int64) == STALE_NAN_BITS


def drop_name(labels: Labels) -> Labels:
    """``labels`` without ``__name__``. Labels are sorted by name, so the search stops at
    the first name past it: for lowercase label names, at the first pair."""
    if labels and labels[0][0] == METRIC_NAME:  # the usual case: lowercase names follow
        return tuple.__new__(Labels, labels[1:])
    for i, (name, _) in enumerate(labels):
        if name == METRIC_NAME:
            return tuple.__new__(Labels, labels[:i] + labels[i + 1 :])
        if name > METRIC_NAME:
            break
    return labels


@dataclass
class Scalar:
    values: np.ndarray  # (steps,)


@dataclass
class String:
    value: str


@dataclass
class Vector:
    """Rows are series; ``mask`` says at which steps a row has a sample."""

    labels: list[Labels]
    values: np.ndarray  # (rows, steps) float64
    mask: np.ndarray  # (rows, steps) bool
    sample_ts: np.ndarray | None = None  # (rows, steps) int64 ms, for timestamp()
    sort: str | None = field(default=None)  # "asc" / "desc" from sort() / sort_desc()

    @classmethod
    def empty(cls, steps: int) -> Vector:
        return cls([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))

    def __len__(self) -> int:
        return len(self.labels)

    def compact(self) -> Vector:
        """Drop rows that have no sample at any step."""
        keep = self.mask.any(axis=1)
        if keep.all():
            return self
        idx = np.flatnonzero(keep)
        return Vector([self.labels[i] for i in idx], self.values[idx], self.mask[idx],
                      None if self.sample_ts is None else self.sample_ts[idx], self.sort)


@dataclass
class RangeSeries:
    labels: Labels
    ts: np.ndarray  # int64 ms, no stale markers
    values: np.ndarray
    lo: np.ndarray  # per step: first index in the window
    hi: np.ndarray  # per step: one past the last index


@dataclass
class Columns:
    """Range data as arrays: series end to end (``sizes`` samples each, from ``first``),
    windows as absolute indexes (series, steps)."""

    labels: list[Labels]
    ts: np.ndarray
    values: np.ndarray
    first: np.ndarray
    sizes: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


class RangeData:
    """A range vector over the steps: each series with its per-step window bounds.

    Built either from RangeSeries or from Columns; the other form is made on demand
    (a query over 50,000 series need not build 50,000 objects to count their samples)."""

    def __init__(self, series: list[RangeSeries] | None, range_ms: int, ends: np.ndarray,
                 eval_times: np.ndarray, batch: RangeSeries | None = None,
                 columns: Columns | None = None) -> None:
        self._series = series
        self.range_ms = range_ms
        self.ends = ends  # per step, the window's end (eval time minus offset, or @)
        self.eval_times = eval_times  # per step, the evaluation time itself
        # the series with samples laid end to end (windows offset to match), when built so
        self.batch = batch
        self.columns = columns

    @property
    def series(self) -> list[RangeSeries]:
        if self._series is None:
            c = self.columns
            assert c is not None
            self._series = [
                RangeSeries(lab, c.ts[a : a + n], c.values[a : a + n], lo - a, hi - a)
                for lab, a, n, lo, hi in zip(c.labels, c.first.tolist(), c.sizes.tolist(),
                                             c.lo, c.hi, strict=True)]
        return self._series

    def labels_with_samples(self) -> list[Labels]:
        """Labels of the series that have samples, in order (the rows of ``batch``)."""
        if self.columns is not None:
            return list(compress(self.columns.labels, (self.columns.sizes > 0).tolist()))
        return [s.labels for s in self.series if len(s.ts)]


def merge_duplicates(labels: list[Labels], values: np.ndarray, mask: np.ndarray) -> Vector:
    """Rows with equal labels become one row; overlapping samples are an error (Prometheus)."""
    seen: dict[Labels, int] = {}
    dup = False
    for i, lab in enumerate(labels):
        if lab in seen:
            dup = True
            break
        seen[lab] = i
    if not dup:
        return Vector(labels, values, mask)
    order: dict[Labels, list[int]] = {}
    for i, lab in enumerate(labels):
        order.setdefault(lab, []).append(i)
    out_labels, out_vals, out_mask = [], [], []
    for lab, rows in order.items():
        v, m = values[rows[0]].copy(), mask[rows[0]].copy()
        for r in rows[1:]:
            if (m & mask[r]).any():
                raise PromQLEvalError("vector cannot contain metrics with the same labelset")
            v = np.where(mask[r], values[r], v)
            m |= mask[r]
        out_labels.append(lab)
        out_vals.append(v)
        out_mask.append(m)
    steps = values.shape[1]
    return Vector(out_labels, np.array(out_vals).reshape(-1, steps),
                  np.array(out_mask, dtype=bool).reshape(-1, steps))
