"""Dispatch of PromQL function calls to their implementations."""

from __future__ import annotations

from collections.abc import Callable
from itertools import compress

import numpy as np

from watchkeeper.promql import ast
from watchkeeper.promql import functions_instant as fi
from watchkeeper.promql import functions_range as fr
from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.values import (
    RangeData,
    RangeSeries,
    Scalar,
    String,
    Vector,
    drop_name,
    merge_duplicates,
)
from watchkeeper.tsdb.labels import METRIC_NAME, Labels

Evaluate = Callable[[ast.Expr], object]
_RANGE_FUNCS = {"rate", "increase", "delta", "irate", "idelta", "changes", "resets", "deriv",
                "predict_linear", "holt_winters", "quantile_over_time"}


def _range_vector(rd: RangeData, steps: int, keep_name: bool, compute) -> Vector:  # type: ignore[no-untyped-def]
    """Run ``compute(series, tile)`` once over all series laid end to end.

    Windows never cross a series' edges, so one concatenated array answers for every
    series at once; ``tile`` repeats a per-step argument for each series.
    """
    labels_in = rd.labels_with_samples()
    if not labels_in:
        return Vector.empty(steps)
    batch = rd.batch
    if batch is None:
        series = [s for s in rd.series if len(s.ts)]
        sizes = np.array([len(s.ts) for s in series])
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        batch = RangeSeries(
            Labels.of({}),
            np.concatenate([s.ts for s in series]),
            np.concatenate([s.values for s in series]),
            np.concatenate([s.lo + o for s, o in zip(series, starts, strict=True)]),
            np.concatenate([s.hi + o for s, o in zip(series, starts, strict=True)]),
        )
    # an empty window of series i sits at lo == hi == its start: harmless for every function

    def tile(per_step: np.ndarray) -> np.ndarray:
        return np.tile(per_step, len(labels_in))

    with np.errstate(all="ignore"):
        values, ok = compute(batch, tile)
    values = np.asarray(values, dtype=np.float64).reshape(len(labels_in), steps)
    ok = np.asarray(ok, dtype=bool).reshape(len(labels_in), steps)
    keep = ok.any(axis=1)
    labels = list(compress(labels_in, keep.tolist()))
    if not keep_name:
        labels = [drop_name(lab) for lab in labels]
    if not labels:
        return Vector.empty(steps)
    return merge_duplicates(labels, values[keep], ok[keep])


def _absent_labels(node: ast.Expr) -> Labels:
    while isinstance(node, ast.ParenExpr):
        node = node.expr
    if isinstance(node, ast.MatrixSelector):
        node = node.vector
    if not isinstance(node, ast.VectorSelector):
        return Labels.of({})
    pairs: dict[str, str] = {}
    dup: set[str] = set()
    for m in node.matchers:
        if m.op == "=" and m.name != METRIC_NAME:
            if m.name in pairs:
                dup.add(m.name)
            pairs[m.name] = m.value
    return Labels.of({k: v for k, v in pairs.items() if k not in dup})


def call(node: ast.Call, evaluate: Evaluate, times: np.ndarray) -> object:
    name, args = node.func, node.args
    steps = len(times)
    if name == "time":
        return Scalar(times / 1000.0)
    if name == "pi":
        return Scalar(np.full(steps, np.pi))
    values = [evaluate(a) for a in args]

    def scalar(i: int, default: float | None = None) -> np.ndarray:
        if i >= len(values):
            return np.full(steps, default)
        return values[i].values  # type: ignore[union-attr]

    if name in fi.MATH:
        return fi.math_function(name, values[0])  # type: ignore[arg-type]
    if name in ("day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour",
                "minute", "month", "year"):
        vec = values[0] if values else Vector([Labels.of({})], times[None, :] / 1000.0,
                                              np.ones((1, steps), dtype=bool))
        return fi.date_function(name, vec)  # type: ignore[arg-type]
    if name == "round":
        return fi.round_to(values[0], scalar(1, 1.0))  # type: ignore[arg-type]
    if name == "clamp":
        return fi.clamp(values[0], scalar(1), scalar(2))  # type: ignore[arg-type]
    if name == "clamp_min":
        return fi.clamp(values[0], scalar(1), None)  # type: ignore[arg-type]
    if name == "clamp_max":
        return fi.clamp(values[0], None, scalar(1))  # type: ignore[arg-type]
    if name == "vector":
        return Vector([Labels.of({})], scalar(0)[None, :].copy(), np.ones((1, steps), bool))
    if name == "scalar":
        vec = values[0]
        count = vec.mask.sum(axis=0)  # type: ignore[union-attr]
        picked = np.where(vec.mask, vec.values, 0).sum(axis=0)  # type: ignore[union-attr]
        return Scalar(np.where(count == 1, picked, np.nan))
    if name in ("sort", "sort_desc"):
        vec = values[0]
        return Vector(vec.labels, vec.values, vec.mask, vec.sample_ts,  # type: ignore[union-attr]
                      "asc" if name == "sort" else "desc")
    if name == "timestamp":
        vec = values[0]
        ts = vec.sample_ts if vec.sample_ts is not None else np.broadcast_to(  # type: ignore[union-attr]
            times, vec.values.shape)  # type: ignore[union-attr]
        return fi.map_values(vec, ts / 1000.0)  # type: ignore[arg-type]
    if name == "absent":
        vec = values[0]
        missing = ~vec.mask.any(axis=0)  # type: ignore[union-attr]
        return Vector([_absent_labels(args[0])], np.ones((1, steps)), missing[None, :]).compact()
    if name == "label_replace":
        return fi.label_replace(values[0], *(v.value for v in values[1:]))  # type: ignore[arg-type, union-attr]
    if name == "label_join":
        return fi.label_join(values[0], values[1].value, values[2].value,  # type: ignore[arg-type, union-attr]
                             [v.value for v in values[3:]])  # type: ignore[union-attr]
    if name == "histogram_quantile":
        return fi.histogram_quantile(scalar(0), values[1])  # type: ignore[arg-type]
    return _call_range(name, args, values, steps, scalar)


def _call_range(name, args, values, steps, scalar):  # type: ignore[no-untyped-def]
    index = 1 if name == "quantile_over_time" else 0
    rd: RangeData = values[index]
    ends, rng = rd.ends, rd.range_ms
    if name == "absent_over_time":
        any_present = np.zeros(steps, dtype=bool)
        for s in rd.series:
            any_present |= (s.hi - s.lo) > 0
        return Vector([_absent_labels(args[0])], np.ones((1, steps)),
                      ~any_present[None, :]).compact()
    if name.endswith("_over_time"):
        param = scalar(0) if name == "quantile_over_time" else np.zeros(steps)
        return _range_vector(rd, steps, name == "last_over_time", lambda s, tile: fr.over_time(
            name, s.ts, s.values, s.lo, s.hi, tile(param)))
    if name in ("rate", "increase", "delta"):
        return _range_vector(rd, steps, False, lambda s, tile: fr.extrapolated(
            s.ts, s.values, s.lo, s.hi, tile(ends), rng, name != "delta", name == "rate"))
    if name in ("irate", "idelta"):
        return _range_vector(rd, steps, False, lambda s, tile: fr.instant_delta(
            s.ts, s.values, s.lo, s.hi, name == "irate"))
    if name == "changes":
        return _range_vector(rd, steps, False,
                             lambda s, tile: fr.changes(s.ts, s.values, s.lo, s.hi))
    if name == "resets":
        return _range_vector(rd, steps, False,
                             lambda s, tile: fr.resets(s.ts, s.values, s.lo, s.hi))
    if name == "deriv":
        def deriv(s, tile):  # type: ignore[no-untyped-def]
            first = s.ts[np.minimum(s.lo, len(s.ts) - 1)]
            slope, _, ok = fr.linear_regression(s.ts, s.values, s.lo, s.hi, first)
            return slope, ok
        return _range_vector(rd, steps, False, deriv)
    if name == "predict_linear":
        horizon = scalar(1)

        def predict(s, tile):  # type: ignore[no-untyped-def]
            slope, intercept, ok = fr.linear_regression(s.ts, s.values, s.lo, s.hi,
                                                        tile(rd.eval_times))
            return slope * tile(horizon) + intercept, ok
        return _range_vector(rd, steps, False, predict)
    if name == "holt_winters":
        sf, tf = scalar(1), scalar(2)
        bad = (sf <= 0) | (sf >= 1)
        if bad.any():
            raise PromQLEvalError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: "
                                  f"{sf[bad][0]:f}")
        bad = (tf <= 0) | (tf >= 1)
        if bad.any():
            raise PromQLEvalError(f"invalid trend factor. Expected: 0 < tf < 1, got: "
                                  f"{tf[bad][0]:f}")
        return _range_vector(rd, steps, False, lambda s, tile: fr.holt_winters(
            s.values, s.lo, s.hi, tile(sf), tile(tf)))
    raise PromQLEvalError(f"function {name!r} is not implemented")


__all__ = ["String", "call"]
