"""Evaluate a PromQL syntax tree over a TimeSeriesStore, for all steps of a query at once.

Semantics follow Prometheus 2.42: a 5-minute lookback for instant selectors, stale
markers end a series, range windows include both ends, ``offset`` and ``@`` move the
window, subqueries evaluate on a grid aligned to their step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from watchkeeper.promql import aggregations, ast, binops, calls
from watchkeeper.promql.errors import PromQLEvalError
from watchkeeper.promql.limits import MAX_POINTS, RESOLUTION_ERROR, Budget, QueryLimits
from watchkeeper.promql.parser import parse
from watchkeeper.promql.rollup_reads import rollup_over_time, rollup_selector
from watchkeeper.promql.values import (
    RangeData,
    RangeSeries,
    Scalar,
    String,
    Vector,
    drop_name,
    is_stale,
)
from watchkeeper.promql.windows import block_windows, window_bounds
from watchkeeper.tsdb.api import SeriesBlock, TimeSeriesStore
from watchkeeper.tsdb.labels import Labels

DEFAULT_LOOKBACK_MS = 300_000
DEFAULT_SUBQUERY_STEP_MS = 60_000
_NO_TS = np.empty(0, np.int64)
_NO_VALUES = np.empty(0, np.float64)


@dataclass
class Result:
    """What a query returns: ``kind`` is vector, matrix, scalar or string (as the API)."""

    kind: str
    value: object  # Vector | RangeData | Scalar | String
    times: np.ndarray


class Engine:
    """Runs instant and range queries against one store."""

    def __init__(self, store: TimeSeriesStore, lookback_ms: int = DEFAULT_LOOKBACK_MS,
                 subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS, rollups: bool = True,
                 limits: QueryLimits | None = None) -> None:
        self.store = store
        self.limits = limits or QueryLimits()
        # range queries at coarse, aligned steps read rollups where their answer is the
        # raw one (see rollup_reads); rollups=False always reads raw samples
        self.rollups = rollups
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms

    def budget(self, timeout_s: float | None = None) -> Budget:
        """A fresh budget under this engine's limits (a caller may keep it to cancel)."""
        return Budget(self.limits, timeout_s)

    def instant(self, query: str | ast.Expr, time_ms: int, budget: Budget | None = None,
                ) -> Result:
        expr = parse(query) if isinstance(query, str) else query
        times = np.array([time_ms], dtype=np.int64)
        value = _Evaluator(self, time_ms, time_ms, budget).run(expr, times)
        kinds = {Vector: "vector", RangeData: "matrix", Scalar: "scalar", String: "string"}
        return Result(kinds[type(value)], value, times)

    def range(self, query: str | ast.Expr, start_ms: int, end_ms: int, step_ms: int,
              budget: Budget | None = None) -> Result:
        if step_ms <= 0:
            raise PromQLEvalError("zero or negative query resolution step widths are not "
                                  "accepted. Try a positive integer")
        if end_ms < start_ms:
            raise PromQLEvalError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms > MAX_POINTS:
            raise PromQLEvalError(RESOLUTION_ERROR)
        expr = parse(query) if isinstance(query, str) else query
        if expr.type not in (ast.SCALAR, ast.VECTOR):
            raise PromQLEvalError(f'invalid expression type "{ast.TYPE_NAMES[expr.type]}" for '
                                  "range query, must be Scalar or instant Vector")
        times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        evaluator = _Evaluator(self, start_ms, end_ms, budget)
        evaluator.query_step = step_ms if self.rollups and len(times) > 1 else 0
        value = evaluator.run(expr, times)
        return Result("matrix", value, times)


class _Evaluator:
    def __init__(self, engine: Engine, start_ms: int, end_ms: int, budget: Budget | None,
                 ) -> None:
        self.store = engine.store
        self.budget = budget or engine.budget()
        self.lookback = engine.lookback_ms
        self.sub_step = engine.subquery_step_ms
        self.start_ms, self.end_ms = start_ms, end_ms
        self.query_step = 0  # the outer range query's step when rollups may be read

    def run(self, expr: ast.Expr, times: np.ndarray) -> object:
        previous = self.budget.activate()  # deep loops check it through checkpoint()
        try:
            return self.eval(expr, times)
        finally:
            self.budget.restore(previous)

    def _window_ends(self, times: np.ndarray, offset_ms: int, at: ast.AtModifier | None,
                     ) -> np.ndarray:
        if at is None:
            return times - offset_ms
        if at.preprocessor == "start":
            fixed = self.start_ms
        elif at.preprocessor == "end":
            fixed = self.end_ms
        else:
            fixed = at.timestamp_ms or 0
        return np.full(len(times), fixed - offset_ms, dtype=np.int64)

    def eval(self, node: ast.Expr, times: np.ndarray) -> object:
        self.budget.check()
        held = self.budget.samples  # what this node's operands load is released after it
        steps = len(times)
        if isinstance(node, ast.NumberLiteral):
            return Scalar(np.full(steps, node.value))
        if isinstance(node, ast.StringLiteral):
            return String(node.value)
        if isinstance(node, ast.ParenExpr):
            return self.eval(node.expr, times)
        if isinstance(node, ast.UnaryExpr):
            inner = self.eval(node.expr, times)
            if isinstance(inner, Scalar):
                return Scalar(-inner.values)
            assert isinstance(inner, Vector)
            return Vector([drop_name(lab) for lab in inner.labels], -inner.values, inner.mask)
        if isinstance(node, ast.VectorSelector):
            return self.select_instant(node, times)
        if isinstance(node, ast.MatrixSelector):
            return self.select_range(node, times)
        if isinstance(node, ast.SubqueryExpr):
            return self.subquery(node, times)
        if isinstance(node, ast.BinaryExpr):
            return self._settled(held, self.binary(node, times))
        if isinstance(node, ast.AggregateExpr):
            vec = self.eval(node.expr, times)
            param = None
            if node.param is not None:
                pv = self.eval(node.param, times)
                param = pv.value if isinstance(pv, String) else pv.values  # type: ignore[union-attr]
            return self._settled(held, aggregations.aggregate(  # type: ignore[arg-type]
                node.op, vec, node.grouping, node.without, param))
        if isinstance(node, ast.Call):
            if self.query_step and len(times) > 1 and times[1] - times[0] == self.query_step \
                    and isinstance(node.args[0] if node.args else None, ast.MatrixSelector):
                sel = node.args[0].vector  # type: ignore[attr-defined]
                ends = self._window_ends(times, sel.offset_ms, sel.at)
                done = rollup_over_time(self.store, node, ends, self.query_step)
                if done is not None:
                    return done
            return self._settled(held, calls.call(node, lambda a: self.eval(a, times), times))
        raise PromQLEvalError(f"cannot evaluate {type(node).__name__}")

    def _settled(self, held: int, value: object) -> object:
        """``value`` computed: its operands' samples are freed, its own are held (as
        Prometheus counts ``max_samples``: the samples in memory at once, not all loaded)."""
        if isinstance(value, (Vector, Scalar)):
            self.budget.settle(held, value.values.size)
        return value

    # ------------------------------------------------------------------ selectors
    def select_instant(self, node: ast.VectorSelector, times: np.ndarray) -> Vector:
        ends = self._window_ends(times, node.offset_ms, node.at)
        steps = len(times)
        if self.query_step and steps > 1 and times[1] - times[0] == self.query_step:
            done = rollup_selector(self.store, node, ends, self.query_step, self.lookback)
            if done is not None:
                self.budget.add_samples(steps * len(done.labels))
                return done
        # rows written into growing 2-D arrays: three small arrays kept per series until
        # the end were three Python objects per series per query held at once, and at 20
        # concurrent queries over thousands of series that peak set the allocator's
        # high-water mark (its small-object arenas are rarely given back)
        labels: list[Labels] = []
        out_v = np.empty((0, steps), dtype=np.float64)
        out_m = np.empty((0, steps), dtype=bool)
        out_t = np.empty((0, steps), dtype=np.int64)
        lo_t, hi_t = int(ends.min()) - self.lookback, int(ends.max())
        seen = counted = 0
        for series in self.store.select(node.matchers, lo_t, hi_t):
            seen += 1
            if seen - counted == 1024:  # a check per batch of series, not per series
                self.budget.add_samples(steps * (seen - counted))
                counted = seen
            ts, vals = series.timestamps, series.values
            idx = np.searchsorted(ts, ends, "right") - 1
            safe = np.maximum(idx, 0)
            ok = (idx >= 0) & (ts[safe] >= ends - self.lookback) & ~is_stale(vals[safe])
            if not ok.any():
                continue
            row = len(labels)
            if row == len(out_v):
                out_v, out_m, out_t = (_grown(a, max(64, 2 * row)) for a in (out_v, out_m, out_t))
            labels.append(series.labels)
            out_v[row] = vals[safe]
            out_m[row] = ok
            out_t[row] = ts[safe]
        self.budget.add_samples(steps * (seen - counted))
        if not labels:
            return Vector.empty(steps)
        n = len(labels)
        if n < len(out_v):  # not a view of the larger buffer: a result may be kept
            out_v, out_m, out_t = out_v[:n].copy(), out_m[:n].copy(), out_t[:n].copy()
        return Vector(labels, out_v, out_m, out_t)

    def select_range(self, node: ast.MatrixSelector, times: np.ndarray) -> RangeData:
        sel = node.vector
        ends = self._window_ends(times, sel.offset_ms, sel.at)
        blocks = []
        for block in self.store.select_blocks(sel.matchers, int(ends.min()) - node.range_ms,
                                              int(ends.max())):
            self.budget.add_samples(len(block.timestamps))
            blocks.append(block)
        if len(blocks) == 1:
            block = blocks[0]
        else:
            block = SeriesBlock([lab for b in blocks for lab in b.labels],
                                np.concatenate([b.timestamps for b in blocks] or [_NO_TS]),
                                np.concatenate([b.values for b in blocks] or [_NO_VALUES]),
                                np.concatenate([b.sizes for b in blocks] or [_NO_TS]))
        columns, batch = block_windows(block, ends, node.range_ms)
        self.budget.add_samples(len(block.labels) * len(times))  # a window per series and step
        return RangeData(None, node.range_ms, ends, times, batch, columns)

    def subquery(self, node: ast.SubqueryExpr, times: np.ndarray) -> RangeData:
        step = node.step_ms or self.sub_step
        ends = self._window_ends(times, node.offset_ms, node.at)
        first = int(ends.min()) - node.range_ms
        start = (first // step) * step
        if start < first:
            start += step
        # refused before the grid is allocated: [30d:1ms] would be 2.6 G points
        self.budget.check_points(node.range_ms // step)
        self.budget.add_samples(max(0, (int(ends.max()) - start) // step + 1))
        inner_times = np.arange(start, int(ends.max()) + 1, step, dtype=np.int64)
        if len(inner_times) == 0:
            inner_times = np.array([start], dtype=np.int64)
        inner = self.eval(node.expr, inner_times)
        if isinstance(inner, Scalar):
            inner = Vector([Labels.of({})], inner.values[None, :],
                           np.ones((1, len(inner_times)), dtype=bool))
        out = []
        for lab, vals, mask in zip(inner.labels, inner.values, inner.mask, strict=True):  # type: ignore[union-attr]
            ts, vs = inner_times[mask], vals[mask]
            lo, hi = window_bounds(ts, ends, node.range_ms)
            out.append(RangeSeries(lab, ts, vs, lo, hi))
        return RangeData(out, node.range_ms, ends, times)

    # ------------------------------------------------------------------ operators
    def binary(self, node: ast.BinaryExpr, times: np.ndarray) -> object:
        lhs = self.eval(node.lhs, times)
        rhs = self.eval(node.rhs, times)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            return binops.scalar_scalar(node.op, lhs, rhs)
        if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
            return binops.vector_scalar(node.op, lhs, rhs.values, False, node.return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
            return binops.vector_scalar(node.op, rhs, lhs.values, True, node.return_bool)
        assert isinstance(lhs, Vector) and isinstance(rhs, Vector)
        if node.op in ("and", "or", "unless"):
            return binops.set_op(node.op, lhs, rhs, node.matching)
        return binops.vector_vector(node.op, lhs, rhs, node.matching or ast.VectorMatching(),
                                    node.return_bool)


def _grown(rows: np.ndarray, capacity: int) -> np.ndarray:
    """``rows`` in a 2-D array of ``capacity`` rows (the rows beyond are uninitialised)."""
    out = np.empty((capacity, rows.shape[1]), dtype=rows.dtype)
    out[: len(rows)] = rows
    return out
