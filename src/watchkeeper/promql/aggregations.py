"""sum, avg, min, max, count, group, stddev, stdvar, topk, bottomk, quantile, count_values.

Groups are folded series by series, vectorised over steps, in the same order and with the
same running arithmetic as Prometheus 2.42 (running mean for avg, Welford for stddev).
"""

from __future__ import annotations

import numpy as np

from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.formatting import format_value
from watchkeeper.promql.functions_range import quantile_of
from watchkeeper.promql.values import Vector, merge_duplicates
from watchkeeper.tsdb.labels import METRIC_NAME, Labels


def _groups(vec: Vector, grouping: list[str], without: bool) -> dict[Labels, list[int]]:
    if not vec.labels:
        return {}
    if not grouping and not without:  # sum(x): every series in one group
        return {Labels.of(()): list(range(len(vec.labels)))}
    # by: keep these names; without: drop these (and the metric name)
    names = set(grouping) | {METRIC_NAME} if without else set(grouping)
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(vec.labels):
        key = tuple.__new__(Labels, tuple(p for p in lab if (p[0] in names) != without))
        groups.setdefault(key, []).append(i)
    return groups


def _in_order_sum(vals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sum of present values, added row after row exactly as the running loop adds them.

    Absent cells add -0.0, the one value that changes no sum (not even -0.0); cumsum
    adds strictly in order, a block of rows at a time, unlike sum()'s pairwise tree."""
    block = max(1, 4_000_000 // max(vals.shape[1], 1))
    acc: np.ndarray | None = None
    with np.errstate(all="ignore"):
        for a in range(0, len(vals), block):
            part = np.where(mask[a : a + block], vals[a : a + block], -0.0)
            if acc is not None:
                part = np.concatenate((acc[None, :], part))
            acc = np.cumsum(part, axis=0)[-1]
    return acc if acc is not None else np.zeros(vals.shape[1])


def _fold(op: str, vals: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    steps = vals.shape[1]
    if op in ("sum", "count", "group"):  # no running state beyond the total
        count = mask.sum(axis=0)
        acc = _in_order_sum(vals, mask) if op == "sum" else np.ones(steps)
        return (count.astype(np.float64) if op == "count" else acc), count > 0
    count = np.zeros(steps)
    acc = np.zeros(steps)
    mean = np.zeros(steps)
    with np.errstate(all="ignore"):
        for v, m in zip(vals, mask, strict=True):
            first = m & (count == 0)
            later = m & (count > 0)
            count = count + m
            if op == "sum":
                acc = np.where(first, v, np.where(later, acc + v, acc))
            elif op == "min":
                take = first | (later & ((acc > v) | np.isnan(acc)))
                acc = np.where(take, v, acc)
            elif op == "max":
                take = first | (later & ((acc < v) | np.isnan(acc)))
                acc = np.where(take, v, acc)
            elif op == "avg":
                skip = np.isinf(mean) & ((np.isinf(v) & ((mean > 0) == (v > 0)))
                                         | (~np.isinf(v) & ~np.isnan(v)))
                upd = later & ~skip
                mean = np.where(first, v, np.where(upd, mean + v / count - mean / count, mean))
            elif op in ("stddev", "stdvar"):
                delta = v - mean
                new_mean = mean + delta / count
                mean = np.where(m, new_mean, mean)
                acc = np.where(m, acc + delta * (v - new_mean), acc)
        present = count > 0
        if op == "avg":
            acc = mean
        elif op in ("count", "group"):
            acc = count if op == "count" else np.ones(steps)
        elif op == "stdvar":
            acc = acc / count
        elif op == "stddev":
            acc = np.sqrt(acc / count)
    return acc, present


def aggregate(op: str, vec: Vector, grouping: list[str], without: bool,
              param: np.ndarray | str | None) -> Vector:
    """Aggregate ``vec`` by its grouping labels; param is k / q (per step) or a label name."""
    steps = vec.values.shape[1]
    groups = _groups(vec, grouping, without)
    if op in ("topk", "bottomk"):
        return _top(op, vec, groups, param)  # type: ignore[arg-type]
    if op == "count_values":
        return _count_values(vec, groups, str(param))
    labels, rows_v, rows_m = [], [], []
    for key, rows in groups.items():
        vals, mask = vec.values[rows], vec.mask[rows]
        if op == "quantile":
            q = param
            out = np.full(steps, np.nan)
            present = mask.any(axis=0)
            for s in np.flatnonzero(present):
                out[s] = quantile_of(float(q[s]), vals[mask[:, s], s])  # type: ignore[index]
        else:
            out, present = _fold(op, vals, mask)
        labels.append(key)
        rows_v.append(out)
        rows_m.append(present)
    if not labels:
        return Vector.empty(steps)
    return Vector(labels, np.array(rows_v), np.array(rows_m, dtype=bool))


def _top(op: str, vec: Vector, groups: dict[Labels, list[int]], k: np.ndarray) -> Vector:
    keep = np.zeros(vec.mask.shape, dtype=bool)
    bad = ~np.isfinite(k) | (np.abs(k) >= 2.0**63)
    if bad.any():
        raise PromQLEvalError(f"Scalar value {format_value(float(k[bad][0]))} overflows int64")
    kk = k.astype(np.int64)
    for rows in groups.values():
        rows_a = np.array(rows)
        vals, mask = vec.values[rows_a], vec.mask[rows_a]
        # every step at once: rows sorted down each column by (absent last, NaN last,
        # value, row), a stable sort, and the first k of each column kept
        with np.errstate(invalid="ignore"):
            nan = np.isnan(vals)
            key = np.where(nan, np.inf if op == "bottomk" else -np.inf, vals)
            order = np.lexsort((-key if op == "topk" else key, nan, ~mask), axis=0)
        first_k = np.arange(len(rows))[:, None] < kk[None, :]
        chosen = np.zeros(mask.shape, dtype=bool)
        np.put_along_axis(chosen, order, first_k, axis=0)
        keep[rows_a] = chosen & mask
    out = Vector(list(vec.labels), vec.values, vec.mask & keep)
    return out.compact()


def _count_values(vec: Vector, groups: dict[Labels, list[int]], label: str) -> Vector:
    if not label or not label.replace("_", "a").isalnum() or label[0].isdigit():
        raise PromQLEvalError(f"invalid label name {label!r}")
    steps = vec.values.shape[1]
    counts: dict[Labels, np.ndarray] = {}
    for key, rows in groups.items():
        base = {k: v for k, v in key if k != label}
        for r in rows:
            for s in np.flatnonzero(vec.mask[r]):
                text = format_value(float(vec.values[r, s]))
                lab = Labels.of({**base, label: text})
                if lab not in counts:
                    counts[lab] = np.zeros(steps)
                counts[lab][s] += 1
    if not counts:
        return Vector.empty(steps)
    labels = list(counts)
    vals = np.array([counts[lab] for lab in labels])
    return merge_duplicates(labels, vals, vals > 0)
